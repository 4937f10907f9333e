package sink_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestRestartTaskResumesFromCommitted: a task whose Put failed commits what
// it put before the failed batch and stays FAILED (the pipeline runs on);
// restarted in place (RestartTask, POST …/tasks/{id}/restart), the new
// instance resumes at exactly that committed offset — nothing skipped,
// nothing put twice before it — and commits to the end.
func TestRestartTaskResumesFromCommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 100)

	var mu sync.Mutex
	failed := false
	var failedAt int64 = -1
	var afterRestart []int64 // offsets put by the restarted instance
	task := newRecTask()
	task.onPut = func(_ context.Context, recs []connect.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if !failed {
			if recs[len(recs)-1].OriginalOffset >= 50 {
				failed, failedAt = true, recs[0].OriginalOffset
				return errors.New("disk full")
			}
			return nil
		}
		for _, r := range recs {
			afterRestart = append(afterRestart, r.OriginalOffset)
		}
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.BatchSize = 10
	cfg.OffsetFlushInterval = 100 * time.Millisecond
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 60*time.Second, "the task FAILED", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].State == connect.StateFailed
	})
	mu.Lock()
	want := failedAt
	mu.Unlock()
	if want <= 0 {
		t.Fatalf("the failed batch began at %d: nothing put before it", want)
	}
	if c := groupOffset(t, brokers, p, topic); c != want {
		t.Fatalf("committed %d after the failure; want %d, the records put before the failed batch", c, want)
	}
	if st := p.PipelineStatus(); st.State != connect.StateRunning {
		t.Fatalf("pipeline %s with a FAILED task, want RUNNING", st.State)
	}

	if err := p.RestartTask(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "everything committed after the restart", func() bool {
		return groupOffset(t, brokers, p, topic) == 100
	})
	mu.Lock()
	defer mu.Unlock()
	if len(afterRestart) == 0 || afterRestart[0] != want {
		t.Fatalf("the restarted task began at %v; want offset %d, the committed one", afterRestart[:min(len(afterRestart), 1)], want)
	}
	for i, o := range afterRestart {
		if o != want+int64(i) {
			t.Fatalf("the restarted task put offset %d at position %d; want %d (in order, no gap, no repeat)", o, i, want+int64(i))
		}
	}
	if int64(len(afterRestart)) != 100-want {
		t.Fatalf("the restarted task put %d records; want %d", len(afterRestart), 100-want)
	}
}
