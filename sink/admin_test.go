package sink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

func sinkOffset(topic string, partition int64, offset any) connect.OffsetEntry {
	e := connect.OffsetEntry{Partition: map[string]any{sink.OffsetKeyTopic: topic, sink.OffsetKeyPartition: partition}}
	if offset != nil {
		e.Offset = map[string]any{sink.OffsetKeyOffset: offset}
	}
	return e
}

// TestOffsetsAdmin: ListOffsets lists the group's committed offsets in
// KIP-875's shape; AlterOffsets and ResetOffsets are refused while the
// pipeline runs and work once it stopped; a new pipeline of the same
// connector resumes from the altered offsets (and from auto.offset.reset
// where an offset was deleted).
func TestOffsetsAdmin(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const perPart = 50
	produce(t, brokers, topic, 2, perPart)
	ctx := context.Background()

	t1 := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return t1 })
	p1, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var _ connect.Pipeline = p1
	var _ connect.OffsetManager = p1
	if p1.Type() != connect.TypeSink {
		t.Fatalf("Type() = %q", p1.Type())
	}
	stop := start(t, p1)
	waitFor(t, 20*time.Second, "every record", func() bool { return t1.n.Load() == 2*perPart })
	if err := p1.AlterOffsets(ctx, []connect.OffsetEntry{sinkOffset(topic, 0, int64(3))}); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("AlterOffsets while running: %v, want ErrNotStopped", err)
	}
	if err := p1.ResetOffsets(ctx); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("ResetOffsets while running: %v, want ErrNotStopped", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	list, err := p1.ListOffsets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("ListOffsets: %v", list)
	}
	for i, e := range list {
		if e.Partition[sink.OffsetKeyTopic] != topic || e.Partition[sink.OffsetKeyPartition] != int64(i) || e.Offset[sink.OffsetKeyOffset] != int64(perPart) {
			t.Fatalf("ListOffsets entry %d: %v", i, e)
		}
	}

	// Refused entries change nothing.
	if err := p1.AlterOffsets(ctx, []connect.OffsetEntry{sinkOffset(topic, 0, int64(3)), sinkOffset(topic, -1, int64(3))}); err == nil {
		t.Fatal("AlterOffsets accepted a negative partition")
	}
	if err := p1.AlterOffsets(ctx, []connect.OffsetEntry{sinkOffset(topic, 0, "abc")}); err == nil {
		t.Fatal("AlterOffsets accepted a non-numeric offset")
	}
	// Partition 0 back to 20 (a JSON-decoded number), partition 1 deleted.
	if err := p1.AlterOffsets(ctx, []connect.OffsetEntry{sinkOffset(topic, 0, float64(20)), sinkOffset(topic, 1, nil)}); err != nil {
		t.Fatalf("AlterOffsets when stopped: %v", err)
	}
	if c := committed(t, brokers, p1.GroupID(), topic, 2); c[0] != 20 || c[1] != -1 {
		t.Fatalf("committed after alter: %v", c)
	}

	// A new pipeline of the connector resumes there.
	t2 := newRecTask()
	cfg.NewTask = func() sink.Task { return t2 }
	p2, _ := sink.New(cfg)
	stop = start(t, p2)
	waitFor(t, 20*time.Second, "the resumed records", func() bool { return t2.n.Load() == perPart-20+perPart })
	time.Sleep(100 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := t2.offsets()
	if o := got[connect.TopicPartition{Topic: topic, Partition: 0}]; len(o) != perPart-20 || o[0] != 20 {
		t.Fatalf("partition 0 resumed with %d records from %v, want %d from 20", len(o), head(o), perPart-20)
	}
	if o := got[connect.TopicPartition{Topic: topic, Partition: 1}]; len(o) != perPart || o[0] != 0 {
		t.Fatalf("partition 1 resumed with %d records from %v, want %d from 0", len(o), head(o), perPart)
	}

	if err := p2.ResetOffsets(ctx); err != nil {
		t.Fatalf("ResetOffsets: %v", err)
	}
	if list, err := p2.ListOffsets(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListOffsets after reset: %v %v", list, err)
	}
	if err := p2.ResetOffsets(ctx); err != nil {
		t.Fatalf("ResetOffsets of a group that is gone: %v", err)
	}
	st := p2.PipelineStatus()
	if st.Type != connect.TypeSink || st.State != connect.StateStopped || len(st.Tasks) != 1 || st.Tasks[0].RecordsOut != 2*perPart-20 || st.Tasks[0].LastCommit.IsZero() {
		t.Fatalf("pipeline status %+v", st)
	}
}
