package avro

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

// FuzzAvroToConnect feeds random bytes after a valid Confluent header (the
// id of a schema exercising every Connect type) to the decoder, directly
// and through schema resolution to a reader schema. Decoding must never
// panic, must fail only with a *converters.DataError, must not modify its input, and
// whatever it accepts must be valid Connect data that writes back to a
// fixed point.
func FuzzAvroToConnect(f *testing.F) {
	reg, _ := startSRFake(f)
	c := mustAvro(f, Config{URLs: []string{reg.URL()}}, false)
	s, v := avroEverything()
	good, err := c.FromConnect(avroCtx, "fuzz", nil, s, v)
	if err != nil {
		f.Fatal(err)
	}
	header := good[:5]
	v1, v2 := evolutionSchemas()
	d1, err := c.FromConnect(avroCtx, "fuzz", nil, v1, connect.NewStruct(v1).MustPut("id", int64(1)).MustPut("name", "x"))
	if err != nil {
		f.Fatal(err)
	}
	resolving := mustAvro(f, Config{URLs: []string{reg.URL()}, ReaderSchema: avroTextOfTB(f, v2)}, false)

	f.Add(good[5:])
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 20))
	f.Add(good[5 : len(good)/2])
	f.Add(d1[5:])

	check := func(t *testing.T, c *Converter, data []byte) {
		in := bytes.Clone(data)
		sv, err := c.ToConnect(avroCtx, "fuzz", nil, in)
		if !bytes.Equal(in, data) {
			t.Fatal("ToConnect modified its input")
		}
		if err != nil {
			var de *converters.DataError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if err := connect.ValidateValue(sv.Schema, sv.Value); err != nil {
			t.Fatalf("read an invalid value: %v", err)
		}
		out, err := c.FromConnect(avroCtx, "fuzz-out", nil, sv.Schema, sv.Value)
		if err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
		sv2, err := c.ToConnect(avroCtx, "fuzz-out", nil, out)
		if err != nil {
			t.Fatalf("cannot read back what was written: %v", err)
		}
		out2, err := c.FromConnect(avroCtx, "fuzz-out", nil, sv2.Schema, sv2.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("writing is not a fixed point:\n%x\n%x", out, out2)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append(bytes.Clone(header), body...)
		check(t, c, data)
		data = append(bytes.Clone(d1[:5]), body...)
		check(t, resolving, data)
	})
}

func avroTextOfTB(tb testing.TB, s *connect.Schema) string {
	a, err := avroFromConnect(s)
	if err != nil {
		tb.Fatal(err)
	}
	text, err := emitAvroSchema(a)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

// FuzzAvroSchemaParse checks that parsing arbitrary schema JSON and mapping
// it to Connect never panics, and that what maps can be decoded.
func FuzzAvroSchemaParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"]},{"name":"b","type":{"type":"map","values":"R"}}]}`,
		`{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}`,
		`["null","string",{"type":"fixed","name":"F","size":2}]`,
		`{"type":"array","items":{"type":"record","name":"io.confluent.connect.avro.MapEntry","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}`,
		`{"type":"bytes","logicalType":"decimal","scale":2,"precision":4}`,
		`{"type":"int","connect.type":"int8","connect.default":300}`,
		`{"type":"record","name":"D","fields":[{"name":"x","type":"int","default":1.5}]}`,
		`"long"`,
	} {
		f.Add(s, []byte{2, 4, 6})
	}
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		a, err := parseAvroSchema(text)
		if err != nil {
			return
		}
		cs, err := connectFromAvro(a, 0)
		if err != nil {
			return
		}
		dec, err := compileAvroDecoder(a, a, cs)
		if err != nil {
			return
		}
		v, err := dec(data)
		if err != nil {
			var de *converters.DataError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if err := connect.ValidateValue(cs, v); err != nil {
			t.Fatalf("decoded an invalid value: %v", err)
		}
	})
}
