package sink

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kfetch"
	"github.com/sluicehq/sluice/transforms"
)

// convertRunner is a task runner with just what convert needs: the
// converters (ByteArray unless given), the transforms and an error handler
// (errors.tolerance=all, so that a failed record is skipped).
func convertRunner(tb testing.TB, key, value converters.Converter, tr transforms.Transformation) *taskRunner {
	tb.Helper()
	if key == nil {
		key = converters.NewByteArray()
	}
	if value == nil {
		value = converters.NewByteArray()
	}
	p := &Pipeline{cfg: Config{
		Name: "conv", KeyConverter: key, ValueConverter: value, HeaderConverter: converters.NewSimpleHeader(),
		Transforms: tr, Logger: slog.New(slog.DiscardHandler),
	}}
	r := newTaskRunner(p, 0, nil)
	r.taskCtx = context.Background()
	r.handler = errhandler.New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll}, "conv", 0,
		errhandler.WithLogger(slog.New(slog.DiscardHandler)))
	return r
}

// kmsg is m as the task's fetcher hands it on.
func kmsg(m *sarama.ConsumerMessage) *kfetch.Msg {
	k := kfetch.NewMsg(m.Topic, m.Partition, m.Offset, m.Timestamp, m.Key, m.Value, m.Headers)
	return &k
}

// kmsgs is kmsg of each of ms.
func kmsgs(ms []*sarama.ConsumerMessage) []kfetch.Msg {
	out := make([]kfetch.Msg, len(ms))
	for i, m := range ms {
		out[i] = *kmsg(m)
	}
	return out
}

// fetchedMsgs returns n messages of topic t partition 0 from offset 0, as
// sarama decodes them: keys and values are slices of one shared buffer (the
// fetch response), back to back. Every third record has a nil key.
func fetchedMsgs(n, size int) ([]*sarama.ConsumerMessage, []byte) {
	buf := make([]byte, 0, n*(size+8))
	type span struct{ k0, k1, v0, v1 int }
	spans := make([]span, n)
	for i := range n {
		var s span
		s.k0 = len(buf)
		if i%3 != 0 {
			buf = fmt.Appendf(buf, "k%d", i)
		}
		s.k1, s.v0 = len(buf), len(buf)
		buf = append(buf, bytes.Repeat([]byte{byte('a' + i%26)}, size)...)
		s.v1 = len(buf)
		spans[i] = s
	}
	ts := time.UnixMilli(1700000000000)
	msgs := make([]*sarama.ConsumerMessage, n)
	for i, s := range spans {
		m := &sarama.ConsumerMessage{Topic: "t", Partition: 0, Offset: int64(i), Timestamp: ts, Value: buf[s.v0:s.v1]}
		if i%3 != 0 {
			m.Key = buf[s.k0:s.k1]
		}
		msgs[i] = m
	}
	return msgs, buf
}

// TestConvertByteArrayOwnsConsumedBytes: with the ByteArrayConverter the
// records get the consumed key and value bytes themselves (no copy), with
// the converter's schema, nil for a nil key, and their capacity capped, so
// that appending to one record's value cannot overwrite the next record's
// bytes in the fetch buffer.
func TestConvertByteArrayOwnsConsumedBytes(t *testing.T) {
	r := convertRunner(t, nil, nil, nil)
	msgs, buf := fetchedMsgs(6, 10)
	orig := bytes.Clone(buf)
	r.raw = append(r.raw, kmsgs(msgs)...)
	if !r.convert() {
		t.Fatal("convert failed")
	}
	if len(r.pending) != len(msgs) {
		t.Fatalf("%d records, want %d", len(r.pending), len(msgs))
	}
	ctx := context.Background()
	for i, rec := range r.pending {
		m := msgs[i]
		wantK, _ := converters.NewByteArray().ToConnect(ctx, "t", nil, m.Key)
		wantV, _ := converters.NewByteArray().ToConnect(ctx, "t", nil, m.Value)
		if rec.KeySchema != wantK.Schema || !reflect.DeepEqual(rec.Key, wantK.Value) ||
			rec.ValueSchema != wantV.Schema || !reflect.DeepEqual(rec.Value, wantV.Value) {
			t.Fatalf("record %d: key %v %#v value %v %#v, want %v %#v, %v %#v", i,
				rec.KeySchema, rec.Key, rec.ValueSchema, rec.Value, wantK.Schema, wantK.Value, wantV.Schema, wantV.Value)
		}
		if rec.Topic != "t" || rec.Offset != int64(i) || rec.OriginalOffset != int64(i) || !rec.HasPartition || rec.TimestampType != connect.CreateTime {
			t.Fatalf("record %d: coordinates %+v", i, rec)
		}
		v := rec.Value.([]byte)
		if &v[0] != &m.Value[0] {
			t.Fatalf("record %d: the value is a copy, want the consumed bytes", i)
		}
		if cap(v) != len(v) {
			t.Fatalf("record %d: value capacity %d, want its length %d", i, cap(v), len(v))
		}
		if m.Key == nil {
			if rec.Key != nil {
				t.Fatalf("record %d: nil key converted to %#v", i, rec.Key)
			}
			continue
		}
		if k := rec.Key.([]byte); cap(k) != len(k) {
			t.Fatalf("record %d: key capacity %d, want its length %d", i, cap(k), len(k))
		}
	}
	for i := range r.pending {
		v := r.pending[i].Value.([]byte)
		r.pending[i].Value = append(v, "XXXXXXXXXXXXXXXXXXXX"...)
		if k, ok := r.pending[i].Key.([]byte); ok {
			r.pending[i].Key = append(k, "YYYYYYYYYYYYYYYYYYYY"...)
		}
	}
	if !bytes.Equal(buf, orig) {
		t.Fatal("appending to the records' keys and values wrote into the fetch buffer")
	}
}

// dropOdd filters the records with an odd offset and prefixes the others'
// topic, returning a record of its own.
type dropOdd struct{}

func (dropOdd) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	if rec.Offset%2 == 1 {
		return nil, nil
	}
	out := *rec
	out.Topic = "x-" + rec.Topic
	return &out, nil
}

// failValue is a value converter that fails on the value "fail", else converts like the ByteArrayConverter.
type failValue struct{ converters.ByteArray }

func (c *failValue) ToConnect(ctx context.Context, topic string, h connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	if string(data) == "fail" {
		return connect.SchemaAndValue{}, &converters.DataError{Converter: "failValue", Reason: "fail"}
	}
	return c.ByteArray.ToConnect(ctx, topic, h, data)
}

// TestConvertBuildsInPlace: records built in place in the batch come out
// right when others are filtered by the transforms or skipped after a
// conversion failure (their slots are reused by the next delivered record,
// with nothing left over), and the batch's offsets cover them all.
func TestConvertBuildsInPlace(t *testing.T) {
	t.Run("filtered", func(t *testing.T) {
		r := convertRunner(t, nil, nil, dropOdd{})
		msgs, _ := fetchedMsgs(7, 4)
		for _, m := range msgs[1:] {
			m.Headers = []*sarama.RecordHeader{{Key: []byte("h"), Value: []byte("1")}}
		}
		r.raw = append(r.raw, kmsgs(msgs)...)
		if !r.convert() {
			t.Fatal("convert failed")
		}
		if got := r.filtered.Load(); got != 3 {
			t.Fatalf("filtered %d, want 3", got)
		}
		if len(r.pending) != 4 || len(r.pendingMsgs) != 4 {
			t.Fatalf("%d records (%d messages), want 4", len(r.pending), len(r.pendingMsgs))
		}
		for i, rec := range r.pending {
			want := int64(2 * i)
			if rec.Offset != want || rec.Topic != "x-t" || r.pendingMsgs[i].Offset != msgs[want].Offset || !bytes.Equal(rec.Value.([]byte), msgs[want].Value) {
				t.Fatalf("record %d: offset %d topic %q value %q, want offset %d", i, rec.Offset, rec.Topic, rec.Value, want)
			}
			if wantH := len(msgs[want].Headers); len(rec.Headers) != wantH {
				t.Fatalf("record %d: %d headers, want %d", i, len(rec.Headers), wantH)
			}
		}
		if full := r.pending[:cap(r.pending)]; len(full) > 4 {
			for i, rec := range full[4:] {
				if !reflect.DeepEqual(rec, connect.Record{}) {
					t.Fatalf("slot %d past the batch holds %+v", 4+i, rec)
				}
			}
		}
		if len(r.pendingOff) != 1 || r.pendingOff[0].first != 0 || r.pendingOff[0].next != 7 {
			t.Fatalf("batch ranges %+v, want offsets 0..6", r.pendingOff)
		}
	})
	t.Run("skipped", func(t *testing.T) {
		r := convertRunner(t, nil, &failValue{}, nil)
		msgs, _ := fetchedMsgs(4, 4)
		msgs[2].Value = []byte("fail")
		msgs[2].Headers = []*sarama.RecordHeader{{Key: []byte("h"), Value: []byte("1")}}
		r.raw = append(r.raw, kmsgs(msgs)...)
		if !r.convert() {
			t.Fatal("convert failed")
		}
		if got := r.skipped.Load(); got != 1 {
			t.Fatalf("skipped %d, want 1", got)
		}
		if len(r.pending) != 3 {
			t.Fatalf("%d records, want 3", len(r.pending))
		}
		for i, want := range []int64{0, 1, 3} {
			rec := r.pending[i]
			if rec.Offset != want || !bytes.Equal(rec.Value.([]byte), msgs[want].Value) || rec.Headers != nil {
				t.Fatalf("record %d: offset %d value %q headers %v, want offset %d", i, rec.Offset, rec.Value, rec.Headers, want)
			}
		}
	})
}

// TestConvertAllocations pins the allocations of converting a batch of 256
// 100-byte records with the ByteArrayConverter: one per record with a
// non-nil key or value (boxing the []byte into the record's Value: the
// bytes are not copied), plus the batch's record slice and its offset
// ranges.
func TestConvertAllocations(t *testing.T) {
	const n = 256
	r := convertRunner(t, nil, nil, nil)
	msgs, _ := fetchedMsgs(n, 100)
	for _, m := range msgs {
		m.Key = nil
	}
	km := kmsgs(msgs)
	run := func() {
		r.raw = append(r.raw, km...)
		if !r.convert() {
			t.Fatal("convert failed")
		}
		r.clearPending()
	}
	run() // the reused buffers (raw, msgBuf) reach their size
	if got := testing.AllocsPerRun(20, run); got != n+2 {
		t.Fatalf("%v allocations for a batch of %d records, want %d", got, n, n+2)
	}
}

// setTopic is a transformation that changes the record's topic in place.
type setTopic struct{}

func (setTopic) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	rec.Topic = "renamed"
	return rec, nil
}

// TestConvertTransformAllocations: running the transforms costs the batch
// no allocation of its own (the chain's copy of each record is the task
// goroutine's scratch record), and each record gets its own transformed
// copy.
func TestConvertTransformAllocations(t *testing.T) {
	const n = 256
	r := convertRunner(t, nil, nil, setTopic{})
	msgs, _ := fetchedMsgs(n, 100)
	for _, m := range msgs {
		m.Key = nil
	}
	km := kmsgs(msgs)
	run := func() {
		r.raw = append(r.raw, km...)
		if !r.convert() {
			t.Fatal("convert failed")
		}
		r.clearPending()
	}
	run()
	if got := testing.AllocsPerRun(20, run); got != n+2 {
		t.Fatalf("%v allocations for a batch of %d transformed records, want %d", got, n, n+2)
	}
	r.raw = append(r.raw, kmsgs(msgs)...)
	if !r.convert() {
		t.Fatal("convert failed")
	}
	for i, rec := range r.pending {
		if rec.Topic != "renamed" || rec.OriginalTopic != "t" || rec.Offset != int64(i) || !bytes.Equal(rec.Value.([]byte), msgs[i].Value) {
			t.Fatalf("record %d: topic %q original %q offset %d", i, rec.Topic, rec.OriginalTopic, rec.Offset)
		}
	}
	if !reflect.DeepEqual(r.scratch, connect.Record{}) {
		t.Fatal("the scratch record keeps a record's data after the batch")
	}
}

// BenchmarkConvert measures convert (the task goroutine's per-record work
// between take and Put: converters, batch bookkeeping) for batches of 500
// records of 100 B with the ByteArray and the JSON value converter;
// ns/op and allocs/op are per batch, and the per-record figures are
// reported.
func BenchmarkConvert(b *testing.B) {
	const n = 500
	jsonConv := func() converters.Converter {
		c, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	for _, bc := range []struct {
		name  string
		value func() converters.Converter
		data  []byte
	}{
		{"ByteArray", func() converters.Converter { return converters.NewByteArray() }, bytes.Repeat([]byte("x"), 100)},
		{"JSON", jsonConv, []byte(`{"id":12345,"name":"a record of about 100 bytes","ok":true,"n":[1,2,3],"s":"xxxxxxxxxxxxxxxxx"}`)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := convertRunner(b, nil, bc.value(), nil)
			msgs, _ := fetchedMsgs(n, 1)
			for _, m := range msgs {
				m.Key, m.Value = nil, bc.data
			}
			km := kmsgs(msgs)
			b.ReportAllocs()
			for b.Loop() {
				r.raw = append(r.raw, km...)
				if !r.convert() {
					b.Fatal("convert failed")
				}
				r.clearPending()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}
