package sink

import (
	"context"
	"log/slog"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

// headerReader is a key converter that reads the headers it is given (it
// does not declare converters.HeadersIgnorer): it counts them.
type headerReader struct {
	*converters.String
	seen int
}

func (c *headerReader) HeadersIgnored() bool { return false }

func (c *headerReader) ToConnect(ctx context.Context, topic string, h connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	c.seen += len(h)
	return c.String.ToConnect(ctx, topic, h, data)
}

// TestConvertOneHeadersCostNothingWithBuiltInConverters: with the built-in
// String and JSON converters (which do not read headers), converting a
// record with two (repeated) headers allocates no more than converting it
// without headers, as before the key and value converters got the raw
// headers; a converter that reads headers still gets them.
func TestConvertOneHeadersCostNothingWithBuiltInConverters(t *testing.T) {
	ctx := context.Background()
	js, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{cfg: Config{
		Name: "allocs", KeyConverter: converters.NewString(), ValueConverter: js,
		HeaderConverter: converters.NewSimpleHeader(), Logger: slog.New(slog.DiscardHandler),
	}}
	r := newTaskRunner(p, 0, nil)
	with := &sarama.ConsumerMessage{Topic: "t", Key: []byte("k"), Value: []byte(`{"a":1}`)}
	with.Headers = []*sarama.RecordHeader{
		{Key: []byte("traceparent"), Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
		{Key: []byte("content-type"), Value: []byte("json")},
	}
	without := &sarama.ConsumerMessage{Topic: "t", Key: with.Key, Value: with.Value}
	allocs := func(m *sarama.ConsumerMessage) float64 {
		km := kmsg(m)
		return testing.AllocsPerRun(200, func() {
			var rec connect.Record
			if _, o := r.convertOne(ctx, &p.cfg, km, &rec); o != outDeliver {
				t.Fatalf("outcome %d", o)
			}
		})
	}
	base, got := allocs(without), allocs(with)
	if got > base {
		t.Fatalf("%v allocations per record with 2 headers, %v without: the headers cost %v", got, base, got-base)
	}

	reader := &headerReader{String: converters.NewString()}
	p.cfg.KeyConverter = reader
	r = newTaskRunner(p, 0, nil)
	var rec connect.Record
	if _, o := r.convertOne(ctx, &p.cfg, kmsg(with), &rec); o != outDeliver {
		t.Fatalf("outcome %d", o)
	}
	if reader.seen != 2 {
		t.Fatalf("a converter that reads headers got %d, want 2", reader.seen)
	}
}

// BenchmarkSinkConvertHeaders measures the conversion of one record with
// two headers (a repeated traceparent and content type) through the String
// key and JSON value converters and the SimpleHeaderConverter: the
// per-record cost of headers on the hot path.
func BenchmarkSinkConvertHeaders(b *testing.B) {
	ctx := context.Background()
	js, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
	if err != nil {
		b.Fatal(err)
	}
	p := &Pipeline{cfg: Config{
		Name: "bench", KeyConverter: converters.NewString(), ValueConverter: js,
		HeaderConverter: converters.NewSimpleHeader(), Logger: slog.New(slog.DiscardHandler),
	}}
	r := newTaskRunner(p, 0, nil)
	m := kmsg(&sarama.ConsumerMessage{Topic: "t", Key: []byte("k"), Value: []byte(`{"a":1}`), Headers: []*sarama.RecordHeader{
		{Key: []byte("traceparent"), Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
		{Key: []byte("content-type"), Value: []byte("json")},
	}})
	b.ReportAllocs()
	for b.Loop() {
		var rec connect.Record
		if _, o := r.convertOne(ctx, &p.cfg, m, &rec); o != outDeliver {
			b.Fatalf("outcome %d", o)
		}
	}
}
