package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

// TestPipelinePanicFailsTheTaskNotTheProcess: a panic in connector code the
// pipeline calls outside the task's own callbacks (a transform, as a
// converter would) or in the task factory fails the task (FAILED, the panic
// and its stack in the error), never the process; after a transform panic
// no offset at or past the record it panicked on is committed.
func TestPipelinePanicFailsTheTaskNotTheProcess(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, in := range []string{"transform", "NewTask"} {
		t.Run(in, func(t *testing.T) {
			topic := kafkatest.Topic(t)
			const bad = 30
			task := &genTask{topic: topic, parts: 1, perPart: 100, batch: 10}
			store := offsets.NewMemoryStore()
			cfg := baseConfig(t, brokers, "pipeline-panic-"+in, task)
			cfg.OffsetStore = store
			cfg.OffsetFlushInterval = 10 * time.Millisecond
			want := "boom in " + in
			switch in {
			case "transform":
				cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
					if n, _ := asInt64(r.SourceOffset["seq"]); n == bad {
						panic(want)
					}
					return r, nil
				})
			case "NewTask":
				cfg.NewTask = func() source.Task { panic(want) }
			}
			p, err := source.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			runErr := runUntilFailed(ctx, p)
			if runErr == nil || !strings.Contains(runErr.Error(), want) || !strings.Contains(runErr.Error(), "panicked") ||
				!strings.Contains(runErr.Error(), "goroutine") {
				t.Fatalf("Run: %v; want the panic value %q and its stack trace", runErr, want)
			}
			st := p.PipelineStatus()
			if st.State != connect.StateStopped || len(st.Tasks) != 1 {
				t.Fatalf("pipeline %s with %d tasks, want STOPPED (a task failure leaves the connector running) with 1", st.State, len(st.Tasks))
			}
			if ts := st.Tasks[0]; ts.State != connect.StateFailed || ts.Err == nil || !strings.Contains(ts.Err.Error(), want) {
				t.Fatalf("task %s err %v; want FAILED with the panic", ts.State, ts.Err)
			}
			off, err := store.Get(context.Background(), cfg.Name, map[string]any{"part": "p0"})
			if err != nil {
				t.Fatal(err)
			}
			if off != nil {
				if n, _ := asInt64(off["seq"]); in == "NewTask" || n >= bad {
					t.Fatalf("committed offset %v; want none at or past seq %d (the record the transform panicked on)", off, bad)
				}
			}
		})
	}
}
