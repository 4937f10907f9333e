package tracing

import (
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestTraceparentRoundTrip(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	got := string(Traceparent(sc))
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; got != want {
		t.Fatalf("Traceparent = %s, want %s (the W3C example)", got, want)
	}
	back, ok := Parse([]byte(got))
	if !ok || back.TraceID() != tid || back.SpanID() != sid || !back.IsSampled() || !back.IsRemote() {
		t.Fatalf("Parse: %v %v", back, ok)
	}
	for _, bad := range []string{"", "00-xyz", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"} {
		if _, ok := Parse([]byte(bad)); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if Traceparent(trace.SpanContext{}) != nil {
		t.Error("invalid span context rendered")
	}
}
