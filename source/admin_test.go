package source_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

func TestOffsetsAdminRefusedWhileRunningAllowedWhenStopped(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	task := &genTask{topic: topic, parts: 2, perPart: 10}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "src-admin", task)
	cfg.OffsetStore = store
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var _ connect.Pipeline = p
	stop := runPipeline(t, p)
	waitFor(t, "20 acks", 30*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 20 && st.Tasks[0].RecordsIn == 20
	})
	ctx := context.Background()
	if err := p.AlterOffsets(ctx, []connect.OffsetEntry{{Partition: map[string]any{"part": "p0"}, Offset: map[string]any{"seq": 3}}}); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("AlterOffsets while running: %v, want ErrNotStopped", err)
	}
	if err := p.ResetOffsets(ctx); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("ResetOffsets while running: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	list, err := p.ListOffsets(ctx)
	if err != nil || len(list) != 2 || list[0].Offset["seq"] != int64(9) {
		t.Fatalf("ListOffsets: %v %v", list, err)
	}
	if err := p.AlterOffsets(ctx, []connect.OffsetEntry{{Partition: map[string]any{"part": "p0"}, Offset: map[string]any{"seq": 3}}}); err != nil {
		t.Fatalf("AlterOffsets when stopped: %v", err)
	}
	if got := committed(t, store, "src-admin", 2, task.part); got[0] != 3 || got[1] != 9 {
		t.Fatalf("after alter: %v", got)
	}
	if err := p.ResetOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, store, "src-admin", 2, task.part); got[0] != -1 || got[1] != -1 {
		t.Fatalf("after reset: %v", got)
	}
	st := p.PipelineStatus()
	if st.Type != connect.TypeSource || st.State != connect.StateStopped || st.Tasks[0].Lag != -1 || st.Tasks[0].Started.IsZero() {
		t.Fatalf("pipeline status %+v", st)
	}
}
