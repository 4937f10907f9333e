package converters

import (
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// The Avro benchmarks use benchRecord (bench_test.go), the record the JSON
// benchmarks use, against an in-process registry; after the first record
// the converter makes no registry calls, so they measure the steady path.

func BenchmarkAvroEncode(b *testing.B) {
	reg, cnt := startSRFake(b)
	c := mustAvro(b, AvroConfig{URLs: []string{reg.URL()}}, false)
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
	c := mustAvro(b, AvroConfig{URLs: []string{reg.URL()}}, false)
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
	c := mustAvro(b, AvroConfig{URLs: []string{reg.URL()}}, false)
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
	w := mustAvro(b, AvroConfig{URLs: []string{reg.URL()}}, false)
	v1, v2 := evolutionSchemas()
	st := connect.NewStruct(v1).MustPut("id", int64(1)).MustPut("name", "ann")
	data, err := w.FromConnect(avroCtx, "t", nil, v1, st)
	if err != nil {
		b.Fatal(err)
	}
	r := mustAvro(b, AvroConfig{URLs: []string{reg.URL()}, ReaderSchema: avroTextOfTB(b, v2)}, false)
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
