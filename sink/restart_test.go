package sink_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// startFailTask fails its Start when fail is set.
type startFailTask struct {
	*recTask
	fail bool
}

func (t startFailTask) Start(ctx context.Context, tc sink.TaskContext) error {
	if t.fail {
		return errors.New("output is a directory")
	}
	return t.recTask.Start(ctx, tc)
}

// TestFailedTaskKeepsPipelineRunningAndRestartsInPlace: as Kafka Connect,
// a task that fails leaves the pipeline (the connector) RUNNING and Run
// going, even when it was the only task; RestartTask brings it back with a
// new instance, leaving the other tasks' instances alone; an unknown task
// is an error; Run returns the FAILED tasks' errors after the stop.
func TestFailedTaskKeepsPipelineRunningAndRestartsInPlace(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	var instances atomic.Int32
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task {
		// The second instance fails its start; the others work.
		return startFailTask{recTask: newRecTask(), fail: instances.Add(1) == 2}
	})
	cfg.TasksMax = 2
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()

	var failed int
	waitFor(t, 60*time.Second, "one task FAILED, one RUNNING", func() bool {
		st := p.PipelineStatus()
		if len(st.Tasks) != 2 {
			return false
		}
		n, running := 0, 0
		for _, ts := range st.Tasks {
			if ts.State == connect.StateFailed && ts.Err != nil && strings.Contains(ts.Err.Error(), "output is a directory") {
				n++
				failed = ts.ID
			}
			if ts.State == connect.StateRunning && !ts.Started.IsZero() {
				running++
			}
		}
		return n == 1 && running == 1
	})
	st := p.PipelineStatus()
	if st.State != connect.StateRunning || st.Err != nil {
		t.Fatalf("pipeline %s (%v) with a FAILED task, want RUNNING", st.State, st.Err)
	}
	healthy := st.Tasks[1-failed].Started
	select {
	case err := <-errc:
		t.Fatalf("Run returned (%v) although only a task failed", err)
	default:
	}
	if err := p.RestartTask(7); err == nil {
		t.Fatal("RestartTask(7) of a two-task pipeline: no error")
	}
	if err := p.RestartTask(failed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "both tasks RUNNING", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 2 && st.Tasks[0].State == connect.StateRunning && st.Tasks[1].State == connect.StateRunning
	})
	st = p.PipelineStatus()
	if !st.Tasks[1-failed].Started.Equal(healthy) || instances.Load() != 3 {
		t.Fatalf("the healthy task restarted too (%d instances)", instances.Load())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v after every task recovered", err)
	}
}
