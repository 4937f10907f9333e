package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// memTask emits n records of a fixed 100-byte value over 4 source
// partitions (the source package's benchmark task).
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

// BenchmarkRunnerSource measures a source pipeline (byte converter, no
// transforms) under a Runner, without metrics and with a MeterProvider whose
// reader collects every 10 ms (far more often than any scrape). One op is
// one record polled, produced, acknowledged and tracked for commit. The
// metrics are observable instruments read from the pipeline's status at
// collection time, so the record path is identical in both. The third
// variant adds tracing through an SDK TracerProvider with no exporter: a
// span per poll batch and a traceparent header on every record. Compare the
// records/s of the sub-benchmarks (run with -count to average). With the
// in-process broker, the broker's work on the header's bytes counts here
// too; the harness's observed-source test (go run ./bench) measures the same
// against Apache Kafka, with repetitions paired, and holds Sluice to its
// bound net of the header's cost, measured with a bare sarama producer
// sending the same header. The fourth variant traces without writing the
// header (sluice.tracing.propagate=false).
func BenchmarkRunnerSource(b *testing.B) {
	for _, v := range []struct {
		name                       string
		metrics, tracing, noHeader bool
	}{
		{"metrics=off", false, false, false},
		{"metrics=on", true, false, false},
		{"metrics=on,tracing=on", true, true, false},
		{"metrics=on,tracing=on,propagate=false", true, true, true},
	} {
		b.Run(v.name, func(b *testing.B) { benchRunnerSource(b, v.metrics, v.tracing, v.noHeader) })
	}
}

func benchRunnerSource(b *testing.B, withMetrics, withTracing, noHeader bool) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.Topic(b)
	kafkatest.CreateTopic(b, brokers, topic, 4, nil)
	cfg := runner.Config{Logger: quiet()}
	var stopCollect func()
	if withMetrics {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		cfg.MeterProvider = mp
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			var rm metricdata.ResourceMetrics
			for {
				select {
				case <-done:
					return
				case <-t.C:
					_ = reader.Collect(context.Background(), &rm)
				}
			}
		}()
		stopCollect = func() { close(done); wg.Wait() }
	}
	r, err := runner.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	task := &memTask{topic: topic, n: b.N}
	var tp trace.TracerProvider
	if withTracing {
		sdk := sdktrace.NewTracerProvider() // no exporter
		defer func() { _ = sdk.Shutdown(context.Background()) }()
		tp = sdk
	}
	err = r.AddPipeline("bench", nil, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: "bench", Brokers: brokers,
			NewTask:            func() source.Task { return task },
			Sarama:             kafkatest.SaramaConfig(b),
			Logger:             quiet(),
			TracerProvider:     tp,
			DisableTraceparent: noHeader,
			OffsetStore:        offsets.NewMemoryStore(),
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	for {
		st, _ := r.Status("bench")
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
	if stopCollect != nil {
		stopCollect()
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
}
