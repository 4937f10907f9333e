package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

func TestTracingSpansAndTraceparentHeaders(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(t.Context())
	task := &genTask{topic: topic, parts: 1, perPart: 20, batch: 10}
	cfg := baseConfig(t, brokers, "src-trace", task)
	cfg.TracerProvider = tp
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "20 acks", 30*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	batches := map[string]bool{}
	commits := 0
	for _, s := range exp.GetSpans() {
		switch s.Name {
		case "sluice.source.batch":
			batches[s.SpanContext.TraceID().String()+"/"+s.SpanContext.SpanID().String()] = true
		case "sluice.source.commit":
			commits++
		}
	}
	if len(batches) != 2 || commits == 0 {
		t.Fatalf("spans: %d batch spans (want 2, one per poll batch), %d commit spans", len(batches), commits)
	}
	for _, m := range readAll(t, brokers, topic) {
		var tp []byte
		for _, h := range m.Headers {
			if string(h.Key) == tracing.HeaderKey {
				tp = h.Value
			}
		}
		sc, ok := tracing.Parse(tp)
		if !ok || !batches[sc.TraceID().String()+"/"+sc.SpanID().String()] {
			t.Fatalf("record %q carries traceparent %q, not one of its batch spans", m.Value, tp)
		}
	}
}

func TestNoTracingAddsNoHeaders(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	task := &genTask{topic: topic, parts: 1, perPart: 5}
	p, err := source.New(baseConfig(t, brokers, "src-notrace", task))
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "5 acks", 30*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, m := range readAll(t, brokers, topic) {
		if len(m.Headers) != 0 {
			t.Fatalf("headers %v without tracing", m.Headers)
		}
	}
}

// TestDisableTraceparentKeepsSpans: with DisableTraceparent (property
// sluice.tracing.propagate=false) batch spans are still recorded but no
// record carries a traceparent header; headers of the record's own are
// still written.
func TestDisableTraceparentKeepsSpans(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(t.Context())
	task := &genTask{topic: topic, parts: 1, perPart: 20, batch: 10}
	cfg := baseConfig(t, brokers, "src-trace-off", task)
	cfg.TracerProvider = tp
	cfg.DisableTraceparent = true
	cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		if strings.HasSuffix(string(r.Value.([]byte)), "5") {
			r.Headers.AddString("own", "h")
		}
		return r, nil
	})
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "20 acks", 30*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	batches := 0
	for _, s := range exp.GetSpans() {
		if s.Name == "sluice.source.batch" {
			batches++
		}
	}
	if batches != 2 {
		t.Fatalf("%d batch spans, want 2: spans are still recorded", batches)
	}
	own := 0
	for _, m := range readAll(t, brokers, topic) {
		for _, h := range m.Headers {
			switch string(h.Key) {
			case tracing.HeaderKey:
				t.Fatalf("record %q carries traceparent %q with DisableTraceparent", m.Value, h.Value)
			case "own":
				own++
			}
		}
	}
	if own != 2 {
		t.Fatalf("%d records with their own header, want 2", own)
	}
}
