package avro

import (
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/connect"
)

// The benchmarks use benchRecord, a realistic record, against an
// in-process registry; after the first record the converter makes no
// registry calls, so they measure the steady path.

// benchRecord is a CDC-style order: a dozen fields of mixed types
// (optional, string, bytes, decimal, timestamp, date, a nested struct, an
// array and a map).
func benchRecord() (*connect.Schema, *connect.Struct) {
	addr := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("city", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	s := connect.StructBuilder().Name("com.acme.Order").Version(3).
		Field("id", connect.Int64Schema).
		Field("customer_id", connect.Int32Schema).
		Field("status", connect.StringSchema).
		Field("amount", connect.DecimalSchema(2)).
		Field("discount", connect.OptionalFloat64Schema).
		Field("paid", connect.BooleanSchema).
		Field("created_at", connect.TimestampSchema).
		Field("ship_date", connect.DateBuilder().Optional().MustBuild()).
		Field("note", connect.OptionalStringSchema).
		Field("payload", connect.BytesSchema).
		Field("address", addr).
		Field("tags", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		Field("attrs", connect.MapBuilder(connect.StringSchema, connect.StringSchema).MustBuild()).
		Field("qty", connect.Int16Schema).
		MustBuild()
	v := connect.NewStruct(s).
		MustPut("id", int64(1234567890123)).
		MustPut("customer_id", int32(4242)).
		MustPut("status", "SHIPPED").
		MustPut("amount", connect.NewDecimal(1999950, 2)).
		MustPut("discount", 0.15).
		MustPut("paid", true).
		MustPut("created_at", time.UnixMilli(1700000000123).UTC()).
		MustPut("ship_date", connect.DaysToDate(19700)).
		MustPut("payload", []byte("\x00\x01binary-payload\xff")).
		MustPut("address", connect.NewStruct(addr).MustPut("street", "221B Baker Street").MustPut("city", "London").MustPut("zip", "NW1 6XE")).
		MustPut("tags", []any{"priority", "gift"}).
		MustPut("attrs", map[string]any{"channel": "web", "region": "eu-west"}).
		MustPut("qty", int16(3))
	return s, v
}

func BenchmarkAvroEncode(b *testing.B) {
	reg, cnt := startSRFake(b)
	c := mustAvro(b, Config{URLs: []string{reg.URL()}}, false)
	s, v := benchRecord()
	out, err := c.FromConnect(avroCtx, "t", nil, s, v)
	if err != nil {
		b.Fatal(err)
	}
	calls := cnt.total()
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromConnect(avroCtx, "t", nil, s, v); err != nil {
			b.Fatal(err)
		}
	}
	if cnt.total() != calls {
		b.Fatal("registry calls on the steady path")
	}
}

func BenchmarkAvroDecode(b *testing.B) {
	reg, cnt := startSRFake(b)
	c := mustAvro(b, Config{URLs: []string{reg.URL()}}, false)
	s, v := benchRecord()
	data, err := c.FromConnect(avroCtx, "t", nil, s, v)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.ToConnect(avroCtx, "t", nil, data); err != nil {
		b.Fatal(err)
	}
	calls := cnt.total()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ToConnect(avroCtx, "t", nil, data); err != nil {
			b.Fatal(err)
		}
	}
	if cnt.total() != calls {
		b.Fatal("registry calls on the steady path")
	}
}

func BenchmarkAvroDecodeParallel(b *testing.B) {
	reg, _ := startSRFake(b)
	c := mustAvro(b, Config{URLs: []string{reg.URL()}}, false)
	s, v := benchRecord()
	data, err := c.FromConnect(avroCtx, "t", nil, s, v)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.ToConnect(avroCtx, "t", nil, data); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.ToConnect(avroCtx, "t", nil, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAvroDecodeResolving reads v1 records as v2 (schema resolution).
func BenchmarkAvroDecodeResolving(b *testing.B) {
	reg, _ := startSRFake(b)
	w := mustAvro(b, Config{URLs: []string{reg.URL()}}, false)
	v1, v2 := evolutionSchemas()
	st := connect.NewStruct(v1).MustPut("id", int64(1)).MustPut("name", "ann")
	data, err := w.FromConnect(avroCtx, "t", nil, v1, st)
	if err != nil {
		b.Fatal(err)
	}
	r := mustAvro(b, Config{URLs: []string{reg.URL()}, ReaderSchema: avroTextOfTB(b, v2)}, false)
	if _, err := r.ToConnect(avroCtx, "t", nil, data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ToConnect(avroCtx, "t", nil, data); err != nil {
			b.Fatal(err)
		}
	}
}

// The two benchmarks below measure hamba/avro/v2 (the library the golden
// tests check against) on the same record and bytes: generic decoding into
// map[string]any and encoding from the value it decoded. They are the lower
// bound of a hamba-based codec, which would still have to map those values
// to and from Connect (*connect.Struct, connect.Decimal, INT8/INT16, map
// entries, union structs); they are kept so the choice of the hand-written
// codec can be re-checked against a newer hamba.

func hambaBench(b *testing.B) (hamba.API, hamba.Schema, []byte) {
	s, v := benchRecord()
	node, err := avroFromConnect(s)
	if err != nil {
		b.Fatal(err)
	}
	text, err := emitAvroSchema(node)
	if err != nil {
		b.Fatal(err)
	}
	hs, err := hamba.ParseWithCache(text, "", &hamba.SchemaCache{})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := compileAvroEncoder(s, node)
	if err != nil {
		b.Fatal(err)
	}
	data, err := enc(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	// As javaLikeAvro (golden_test.go), with allocation bounds.
	api := hamba.Config{DisableBlockSizeHeader: true, BlockLength: 1 << 20, MaxByteSliceSize: 1 << 20, MaxSliceAllocSize: 1 << 20}.Freeze()
	return api, hs, data
}

func BenchmarkAvroDecodeHambaGeneric(b *testing.B) {
	api, hs, data := hambaBench(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var out any
		if err := api.Unmarshal(hs, data, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAvroEncodeHambaGeneric(b *testing.B) {
	api, hs, data := hambaBench(b)
	var v any
	if err := api.Unmarshal(hs, data, &v); err != nil {
		b.Fatal(err)
	}
	out, err := api.Marshal(hs, v)
	if err != nil {
		b.Fatal(err)
	}
	if len(out) != len(data) { // map order may differ
		b.Fatalf("hamba wrote %x, want %x", out, data)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := api.Marshal(hs, v); err != nil {
			b.Fatal(err)
		}
	}
}
