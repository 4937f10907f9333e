package source_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/source"
)

// TestRestartTaskKeepsCounters: a task restarted in place (RestartTask, the
// REST task restart) gets a new runner, yet its cumulative counters carry
// on from the old one's instead of falling back to 0 (a counter reset for
// Prometheus; Kafka Connect's task counters live as long as the worker).
func TestRestartTaskKeepsCounters(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	var instances atomic.Int32
	cfg := baseConfig(t, brokers, topic, nil)
	cfg.NewTask = func() source.Task {
		// The first instance writes seq 0..49, the next up to 69.
		per := int64(50)
		if instances.Add(1) > 1 {
			per = 70
		}
		return &genTask{topic: topic, parts: 1, perPart: per, batch: 10}
	}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	task0 := func() connect.TaskStatus {
		st := p.PipelineStatus()
		if len(st.Tasks) != 1 {
			return connect.TaskStatus{}
		}
		return st.Tasks[0]
	}
	waitFor(t, "50 records acknowledged", 60*time.Second, func() bool {
		ts := task0()
		return ts.RecordsIn >= 50 && ts.RecordsOut >= 50
	})
	before := task0()
	if err := p.RestartTask(0); err != nil {
		t.Fatal(err)
	}
	check := func(ts connect.TaskStatus) {
		t.Helper()
		if ts.RecordsIn < before.RecordsIn || ts.RecordsOut < before.RecordsOut || ts.RecordsWritten < before.RecordsWritten || ts.OffsetCommits < before.OffsetCommits {
			t.Fatalf("counters went back after a restart in place: in %d out %d written %d commits %d, were %d %d %d %d",
				ts.RecordsIn, ts.RecordsOut, ts.RecordsWritten, ts.OffsetCommits,
				before.RecordsIn, before.RecordsOut, before.RecordsWritten, before.OffsetCommits)
		}
	}
	check(task0())
	waitFor(t, "the new instance writes 20 more records", 60*time.Second, func() bool {
		ts := task0()
		if ts.State == "" {
			return false // between the runners
		}
		check(ts)
		return instances.Load() == 2 && ts.RecordsOut >= before.RecordsOut+20
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	check(task0())
}

// failingGen fails its Poll once, after two batches.
type failingGen struct{ *genTask }

func (f failingGen) Poll(ctx context.Context) ([]connect.Record, error) {
	if f.polls.Load() == 2 {
		f.polls.Add(1)
		return nil, errors.New("source database went away")
	}
	return f.genTask.Poll(ctx)
}

// TestRestartPolicyKeepsCounters: a task the restart policy replaces after a
// failure keeps the failed instance's counters: RecordsIn is the records
// every instance polled, not those of the last one alone.
func TestRestartPolicyKeepsCounters(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	var instances atomic.Int32
	cfg := baseConfig(t, brokers, topic, nil)
	cfg.NewTask = func() source.Task {
		g := &genTask{topic: topic, parts: 1, perPart: 50, batch: 10}
		if instances.Add(1) == 1 {
			return failingGen{g}
		}
		return g
	}
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	// The first instance polled 20 records; the second resumes after what
	// was committed and polls the rest: 50 or more in all.
	waitFor(t, "the restarted instance wrote every record", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].Restarts == 1 && instances.Load() == 2 &&
			st.Tasks[0].RecordsOut >= 50 && st.Tasks[0].InFlight == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ts := p.PipelineStatus().Tasks[0]
	if got := len(readAll(t, brokers, topic)); ts.RecordsIn < 50 || ts.RecordsOut != int64(got) {
		t.Fatalf("RecordsIn %d RecordsOut %d, want ≥ 50 and the %d records in the topic (both instances')", ts.RecordsIn, ts.RecordsOut, got)
	}
}
