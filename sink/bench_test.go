package sink_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// noopTask counts records and signals when it saw want of them.
type noopTask struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (t *noopTask) Start(context.Context, sink.TaskContext) error { return nil }
func (t *noopTask) Stop(context.Context) error                    { return nil }
func (t *noopTask) Put(_ context.Context, recs []connect.Record) error {
	if t.n.Add(int64(len(recs))) == t.want {
		close(t.done)
	}
	return nil
}

// BenchmarkSinkNoop measures the sink path (fetch, ByteArray conversion,
// batching, Put, commit) with a task that does nothing: b.N records over 4
// partitions are produced first, then consumed by one task. It reports
// records/s and, through ReportAllocs, allocations per record (the whole
// process, sarama's fetch path included). The timing includes joining the
// group, so use a large -benchtime (e.g. 1000000x).
func BenchmarkSinkNoop(b *testing.B) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.Topic(b)
	const parts = 4
	kafkatest.CreateTopic(b, brokers, topic, parts, nil)
	per := max(b.N/parts, 1)
	produce(b, brokers, topic, parts, per)
	want := int64(per * parts)

	task := &noopTask{want: want, done: make(chan struct{})}
	cfg := baseConfig(b, brokers, topic, topic, func() sink.Task { return task })
	p, err := sink.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { errc <- p.Run(ctx) }()
	select {
	case <-task.done:
	case <-time.After(5 * time.Minute):
		b.Fatal("timed out")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(want)/elapsed.Seconds(), "records/s")
}
