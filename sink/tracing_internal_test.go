package sink

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/IBM/sarama"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/tracing"
)

// traceHeader is the traceparent header of a sampled remote span in trace
// n (span n).
func traceHeader(n byte) *sarama.RecordHeader {
	var tid trace.TraceID
	var sid trace.SpanID
	tid[0], tid[15], sid[7] = n, 0x42, n
	v := tracing.Traceparent(trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	return &sarama.RecordHeader{Key: []byte(tracing.HeaderKey), Value: v}
}

// TestPutSpanParentAndLinks: a Put span is a child of the first record's
// trace and links every other trace in the batch once, up to maxPutLinks;
// records repeating the previous record's header, records without one,
// other headers and malformed values change nothing.
func TestPutSpanParentAndLinks(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	p := &Pipeline{cfg: Config{Name: "links", TracerProvider: tp, Logger: slog.New(slog.DiscardHandler)}}
	r := newTaskRunner(p, 3, nil)
	r.taskCtx = context.Background()

	other := &sarama.RecordHeader{Key: []byte("other"), Value: []byte("x")}
	bad := &sarama.RecordHeader{Key: []byte(tracing.HeaderKey), Value: []byte("00-nonsense")}
	msg := func(hs ...*sarama.RecordHeader) *sarama.ConsumerMessage { return &sarama.ConsumerMessage{Headers: hs} }
	put := func(msgs ...*sarama.ConsumerMessage) sdktrace.ReadOnlySpan {
		t.Helper()
		exp.Reset()
		r.pendingMsgs, r.pending = kmsgs(msgs), make([]connect.Record, len(msgs))
		_, span := r.startPutSpan()
		span.End()
		spans := exp.GetSpans().Snapshots()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want 1", len(spans))
		}
		return spans[0]
	}

	// Parent: the first record with a valid header (the record before it has none, the one before a bad one).
	s := put(msg(), msg(other, bad), msg(traceHeader(1)), msg(traceHeader(1)), msg(traceHeader(2)), msg(traceHeader(1)),
		msg(other, traceHeader(3)), msg(traceHeader(2)), msg(traceHeader(3)))
	if got, want := s.Parent().TraceID(), parse(t, traceHeader(1)).TraceID(); got != want || !s.Parent().IsRemote() {
		t.Fatalf("parent %v (remote %v), want trace %v", got, s.Parent().IsRemote(), want)
	}
	if s.SpanContext().TraceID() != s.Parent().TraceID() {
		t.Fatal("the put span is not in its parent's trace")
	}
	var linked []trace.TraceID
	for _, l := range s.Links() {
		linked = append(linked, l.SpanContext.TraceID())
	}
	if want := []trace.TraceID{parse(t, traceHeader(2)).TraceID(), parse(t, traceHeader(3)).TraceID()}; !slices.Equal(linked, want) {
		t.Fatalf("links %v, want %v", linked, want)
	}

	// At most maxPutLinks links.
	var many []*sarama.ConsumerMessage
	for i := range 40 {
		many = append(many, msg(traceHeader(byte(i+1))))
	}
	if s := put(many...); len(s.Links()) != maxPutLinks {
		t.Fatalf("%d links, want %d", len(s.Links()), maxPutLinks)
	}

	// No trace context: a root span without links.
	if s := put(msg(), msg(other), msg(bad)); s.Parent().IsValid() || len(s.Links()) != 0 {
		t.Fatalf("parent %v, links %v: want a root span without links", s.Parent(), s.Links())
	}
}

func parse(t *testing.T, h *sarama.RecordHeader) trace.SpanContext {
	t.Helper()
	sc, ok := tracing.Parse(h.Value)
	if !ok {
		t.Fatalf("bad test header %q", h.Value)
	}
	return sc
}
