package sink_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestRestartTaskKeepsCounters: a task restarted in place (RestartTask, the
// REST task restart) gets a new runner, yet its cumulative counters carry
// on from the old one's instead of falling back to 0 (a counter reset for
// Prometheus; Kafka Connect's task counters live as long as the worker).
func TestRestartTaskKeepsCounters(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 50)
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return newRecTask() })
	cfg.OffsetFlushInterval = 50 * time.Millisecond
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	task0 := func() connect.TaskStatus {
		st := p.PipelineStatus()
		if len(st.Tasks) != 1 {
			return connect.TaskStatus{}
		}
		return st.Tasks[0]
	}
	waitFor(t, 60*time.Second, "50 records put and committed", func() bool {
		ts := task0()
		return ts.RecordsIn >= 50 && ts.RecordsOut >= 50 && ts.OffsetCommits > 0
	})
	before := task0()
	if err := p.RestartTask(0); err != nil {
		t.Fatal(err)
	}
	check := func(ts connect.TaskStatus) {
		t.Helper()
		if ts.RecordsIn < before.RecordsIn || ts.RecordsOut < before.RecordsOut || ts.OffsetCommits < before.OffsetCommits || ts.RecordsCommitted < before.RecordsCommitted {
			t.Fatalf("counters went back after a restart in place: in %d out %d commits %d committed %d, were %d %d %d %d",
				ts.RecordsIn, ts.RecordsOut, ts.OffsetCommits, ts.RecordsCommitted,
				before.RecordsIn, before.RecordsOut, before.OffsetCommits, before.RecordsCommitted)
		}
	}
	check(task0())
	produce(t, brokers, topic, 1, 20)
	waitFor(t, 60*time.Second, "the new runner puts 20 more records", func() bool {
		ts := task0()
		if ts.State == "" {
			return false // between the runners
		}
		check(ts)
		return ts.Started.After(before.Started) && ts.RecordsOut >= before.RecordsOut+20
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	check(task0())
}

// TestRestartPolicyKeepsCounters: a task the restart policy replaces after a
// failure keeps the failed instance's counters: RecordsOut is the records
// every instance put, not those of the last one alone.
func TestRestartPolicyKeepsCounters(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 50)
	var mu sync.Mutex
	var tasks []*recTask
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task {
		mu.Lock()
		defer mu.Unlock()
		rt := newRecTask()
		if len(tasks) == 0 { // the first instance fails its second Put
			var puts int
			rt.onPut = func(context.Context, []connect.Record) error {
				if puts++; puts == 2 {
					return errors.New("disk full")
				}
				return nil
			}
		}
		tasks = append(tasks, rt)
		return rt
	})
	cfg.BatchSize = 10
	cfg.OffsetFlushInterval = 50 * time.Millisecond
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	put := func() (n int64, instances int) {
		mu.Lock()
		defer mu.Unlock()
		for _, rt := range tasks {
			n += rt.n.Load()
		}
		return n, len(tasks)
	}
	waitFor(t, 60*time.Second, "the restarted instance put the rest", func() bool {
		st := p.PipelineStatus()
		if len(st.Tasks) != 1 || st.Tasks[0].Restarts != 1 {
			return false
		}
		n, instances := put()
		return instances == 2 && st.Tasks[0].RecordsOut == n && n >= 50
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ts := p.PipelineStatus().Tasks[0]
	n, _ := put()
	mu.Lock()
	first := tasks[0].n.Load()
	mu.Unlock()
	if ts.RecordsOut != n || first == 0 || ts.RecordsIn < n {
		t.Fatalf("RecordsOut %d RecordsIn %d, want %d put by both instances (the first put %d)", ts.RecordsOut, ts.RecordsIn, n, first)
	}
}
