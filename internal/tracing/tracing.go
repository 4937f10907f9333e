// Package tracing holds the W3C trace-context plumbing source and sink
// pipelines share: the traceparent header written into records by sources
// and read back by sinks, so one trace follows a record across processes.
// A traced source writes it on every record unless its configuration opts
// out (source.Config.DisableTraceparent, sluice.tracing.propagate=false)
// for consumers that cannot take the header.
package tracing

import (
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
)

// HeaderKey is the record header carrying the W3C traceparent.
const HeaderKey = "traceparent"

// Traceparent renders sc as a W3C traceparent value
// ("00-<trace id>-<span id>-<flags>"), or nil when sc is invalid.
func Traceparent(sc trace.SpanContext) []byte {
	if !sc.IsValid() {
		return nil
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, []byte{byte(sc.TraceFlags())})
	return b
}

// Parse reads a W3C traceparent value; ok is false when it is malformed.
func Parse(v []byte) (sc trace.SpanContext, ok bool) {
	if len(v) != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || string(v[:2]) == "ff" {
		return trace.SpanContext{}, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if _, err := hex.Decode(tid[:], v[3:35]); err != nil {
		return trace.SpanContext{}, false
	}
	if _, err := hex.Decode(sid[:], v[36:52]); err != nil {
		return trace.SpanContext{}, false
	}
	if _, err := hex.Decode(flags[:], v[53:55]); err != nil {
		return trace.SpanContext{}, false
	}
	sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]), Remote: true})
	return sc, sc.IsValid()
}
