package sink

import (
	"context"
	"log/slog"
	"reflect"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

// countingHeaders is a header converter that is not the
// SimpleHeaderConverter: it counts its calls.
type countingHeaders struct {
	*converters.SimpleHeader
	calls int
}

func (c *countingHeaders) ToConnectHeader(ctx context.Context, topic, key string, data []byte) (connect.SchemaAndValue, error) {
	c.calls++
	return c.SimpleHeader.ToConnectHeader(ctx, topic, key, data)
}

func headerRunner(hc converters.HeaderConverter) *taskRunner {
	p := &Pipeline{cfg: Config{Name: "hdrs", HeaderConverter: hc, Logger: slog.New(slog.DiscardHandler)}}
	return newTaskRunner(p, 0, nil)
}

func hdrMsg(kv ...string) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: "t"}
	for i := 0; i < len(kv); i += 2 {
		h := &sarama.RecordHeader{Key: []byte(kv[i])}
		if kv[i+1] != "<null>" {
			h.Value = []byte(kv[i+1])
		}
		m.Headers = append(m.Headers, h)
	}
	return m
}

// TestConvertHeadersReusesOnlyImmutableConversions: records repeating the
// previous record's headers get the same values as a fresh conversion;
// mutable values (bytes) are never shared between records; null
// and empty values stay apart; the memo does not alias the consumed bytes;
// and other header converters are called for every header.
func TestConvertHeadersReusesOnlyImmutableConversions(t *testing.T) {
	ctx := context.Background()
	simple := converters.NewSimpleHeader()
	r := headerRunner(simple)
	msgs := []*sarama.ConsumerMessage{
		hdrMsg("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "n", "42"),
		hdrMsg("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "n", "42"),
		hdrMsg("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", "n", "42"),
		hdrMsg("n", "42", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"),
		hdrMsg("k", "<null>"),
		hdrMsg("k", ""),
		hdrMsg("k", "<null>"),
		hdrMsg("list", "[1,2]"),
		hdrMsg("list", "[1,2]"),
		hdrMsg("big", "123456789012345678901234567890"),
		hdrMsg("big", "123456789012345678901234567890"),
		hdrMsg("ts", "2024-01-02T03:04:05.678Z", "b", "true"),
		hdrMsg("ts", "2024-01-02T03:04:05.678Z", "b", "true"),
	}
	recs := make([]connect.Record, len(msgs))
	for i, m := range msgs {
		if err := r.convertHeaders(ctx, kmsg(m), &recs[i]); err != nil {
			t.Fatal(err)
		}
		for j, h := range m.Headers {
			want, _ := simple.ToConnectHeader(ctx, "t", string(h.Key), h.Value)
			got := recs[i].Headers[j]
			if got.Key != string(h.Key) || !reflect.DeepEqual(got.Schema, want.Schema) || !reflect.DeepEqual(got.Value, want.Value) {
				t.Fatalf("record %d header %d: %q %v %#v, want %q %v %#v", i, j, got.Key, got.Schema, got.Value, h.Key, want.Schema, want.Value)
			}
		}
	}
	if recs[4].Headers[0].Value != nil || recs[5].Headers[0].Value != "" || recs[6].Headers[0].Value != nil {
		t.Fatalf("null/empty/null: %#v %#v %#v", recs[4].Headers[0].Value, recs[5].Headers[0].Value, recs[6].Headers[0].Value)
	}
	// Mutable values (an ARRAY header) are each record's own.
	recs[7].Headers[0].Value.([]any)[0] = int8(9)
	if recs[8].Headers[0].Value.([]any)[0] != int8(1) {
		t.Fatal("two records share one []any header value")
	}

	// The memo owns its bytes: overwriting a consumed record's buffer
	// changes neither its conversion nor the next record's.
	m1 := hdrMsg("ct", "json")
	var a, b connect.Record
	if err := r.convertHeaders(ctx, kmsg(m1), &a); err != nil {
		t.Fatal(err)
	}
	copy(m1.Headers[0].Value, "xxxx")
	if err := r.convertHeaders(ctx, kmsg(hdrMsg("ct", "xxxx")), &b); err != nil {
		t.Fatal(err)
	}
	if a.Headers[0].Value != "json" || b.Headers[0].Value != "xxxx" {
		t.Fatalf("after overwriting the consumed bytes: %#v, %#v", a.Headers[0].Value, b.Headers[0].Value)
	}

	// A repeated header costs no allocation per record: no conversion, and
	// the records' header slices come from a shared chunk.
	var rec connect.Record
	m := hdrMsg("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	km := kmsg(m)
	if n := testing.AllocsPerRun(100, func() { _ = r.convertHeaders(ctx, km, &rec) }); n != 0 {
		t.Fatalf("%v allocations per record with a repeated header, want 0", n)
	}

	// Records sharing a chunk do not see each other's appends.
	var c, d connect.Record
	if err := r.convertHeaders(ctx, kmsg(hdrMsg("a", "1")), &c); err != nil {
		t.Fatal(err)
	}
	if err := r.convertHeaders(ctx, kmsg(hdrMsg("b", "2")), &d); err != nil {
		t.Fatal(err)
	}
	c.Headers = append(c.Headers, connect.Header{Key: "added", Value: "x"})
	if d.Headers[0].Key != "b" || len(d.Headers) != 1 {
		t.Fatalf("appending to one record's headers changed the next record's: %+v", d.Headers)
	}

	// Other converters see every header.
	counting := &countingHeaders{SimpleHeader: simple}
	rc := headerRunner(counting)
	want := 0
	for i, m := range msgs {
		if err := rc.convertHeaders(ctx, kmsg(m), &recs[i]); err != nil {
			t.Fatal(err)
		}
		want += len(m.Headers)
	}
	if counting.calls != want {
		t.Fatalf("custom header converter called %d times, want %d", counting.calls, want)
	}
}
