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
// partitions in batches of batch (0: 500), reusing one value buffer (a
// trivial in-memory source). Once done, Poll blocks until the task stops,
// or with idle returns no records every millisecond (so that an interval
// transaction boundary is checked).
type memTask struct {
	topic string
	n     int
	batch int
	idle  bool
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
		if m.idle {
			select {
			case <-ctx.Done():
			case <-time.After(time.Millisecond):
			}
			return nil, nil
		}
		<-ctx.Done()
		return nil, nil
	}
	batch := m.batch
	if batch <= 0 {
		batch = 500
	}
	n := min(batch, m.n-m.sent)
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

// BenchmarkSourcePipelineExactlyOnce is BenchmarkSourcePipeline with
// exactly-once delivery and batches of 2000 (the FileStream source's
// batch.size): one op is one record polled, produced and committed in a
// transaction with its source offset, in a Kafka offsets store created
// before the timer starts. Sub-benchmarks: the poll boundary (the default:
// one transaction per Poll, or the Polls made while the previous one
// commits) and interval boundaries. It reports
// records/s, transactions/s and records per transaction; compare with
// BenchmarkSourcePipelineKafkaOffsets, the same at-least-once.
func BenchmarkSourcePipelineExactlyOnce(b *testing.B) {
	for _, bc := range []struct {
		name     string
		boundary source.TransactionBoundary
		interval time.Duration
	}{
		{"poll", source.BoundaryPoll, 0},
		{"interval=20ms", source.BoundaryInterval, 20 * time.Millisecond},
		{"interval=100ms", source.BoundaryInterval, 100 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchKafkaOffsets(b, &source.ExactlyOnce{Enabled: true, GroupID: "bench", Boundary: bc.boundary, BoundaryInterval: bc.interval})
		})
	}
}

// BenchmarkSourcePipelineKafkaOffsets is the at-least-once baseline of
// BenchmarkSourcePipelineExactlyOnce: the same batches and Kafka offsets
// store.
func BenchmarkSourcePipelineKafkaOffsets(b *testing.B) {
	benchKafkaOffsets(b, nil)
}

func benchKafkaOffsets(b *testing.B, eo *source.ExactlyOnce) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.Topic(b)
	kafkatest.CreateTopic(b, brokers, topic, 4, nil)
	offsetsTopic := topic + "-offsets"
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := offsets.NewKafkaStore(ctx, offsets.KafkaStoreConfig{Brokers: brokers, Topic: offsetsTopic, Sarama: kafkatest.SaramaConfig(b), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	task := &memTask{topic: topic, n: b.N, batch: 2000, idle: true}
	cfg := source.Config{
		Name:          "bench",
		Brokers:       brokers,
		NewTask:       func() source.Task { return task },
		Sarama:        kafkatest.SaramaConfig(b),
		Logger:        logger,
		OffsetStorage: offsets.Storage{Topic: offsetsTopic},
	}
	if eo != nil {
		cfg.ExactlyOnce = *eo
	}
	p, err := source.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { done <- p.Run(ctx) }()
	var last connect.TaskStatus
	deadline := time.Now().Add(2*time.Minute + time.Duration(b.N)*50*time.Microsecond)
	for {
		if time.Now().After(deadline) {
			b.Fatalf("timed out: %+v", last)
		}
		st := p.PipelineStatus()
		if len(st.Tasks) > 0 {
			last = st.Tasks[0]
			committed := last.RecordsOut
			if eo != nil {
				committed = int64(last.TransactionSizeAvg*float64(last.Transactions) + 0.5)
			}
			if last.RecordsOut >= int64(b.N) && committed >= int64(b.N) {
				break
			}
		}
		select {
		case err := <-done:
			b.Fatalf("pipeline ended early: %v (%+v)", err, last)
		case <-time.After(time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	if eo != nil && last.Transactions > 0 {
		b.ReportMetric(float64(last.Transactions)/elapsed.Seconds(), "txns/s")
		b.ReportMetric(last.TransactionSizeAvg, "records/txn")
	}
}
