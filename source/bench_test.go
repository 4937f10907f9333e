package source_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// memTask emits n records of a fixed 100-byte value over 4 source
// partitions, reusing one value buffer (a trivial in-memory source).
type memTask struct {
	topic string
	n     int
	sent  int
	value []byte
	parts [4]map[string]any
}

func (m *memTask) Start(context.Context, source.TaskContext) error {
	m.value = make([]byte, 100)
	for i := range m.parts {
		m.parts[i] = map[string]any{"p": int64(i)}
	}
	return nil
}

func (m *memTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if m.sent >= m.n {
		<-ctx.Done()
		return nil, nil
	}
	n := min(500, m.n-m.sent)
	out := make([]connect.Record, n)
	for i := range out {
		out[i] = connect.Record{
			Topic:           m.topic,
			ValueSchema:     connect.OptionalBytesSchema,
			Value:           m.value,
			SourcePartition: m.parts[(m.sent+i)%4],
			SourceOffset:    map[string]any{"o": int64(m.sent + i)},
		}
	}
	m.sent += n
	return out, nil
}

func (m *memTask) Stop(context.Context) error { return nil }

// BenchmarkSourcePipeline measures the source path with the byte converter
// and no transforms: one op is one record polled, produced, acknowledged and
// tracked for offset commit. Allocations include sarama's.
func BenchmarkSourcePipeline(b *testing.B) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.Topic(b)
	kafkatest.CreateTopic(b, brokers, topic, 4, nil)
	task := &memTask{topic: topic, n: b.N}
	p, err := source.New(source.Config{
		Name:        "bench",
		Brokers:     brokers,
		NewTask:     func() source.Task { return task },
		Sarama:      kafkatest.SaramaConfig(b),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		OffsetStore: offsets.NewMemoryStore(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { done <- p.Run(ctx) }()
	for {
		st := p.PipelineStatus()
		if len(st.Tasks) > 0 && st.Tasks[0].RecordsOut >= int64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
}
