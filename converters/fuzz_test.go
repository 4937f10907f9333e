package converters

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
)

// The fuzz targets check that the decoders never panic on arbitrary bytes
// and that whatever they accept can be written back.

func FuzzJSONEnvelopeToConnect(f *testing.F) {
	for _, g := range goldens() {
		f.Add([]byte(g.want))
	}
	for _, s := range []string{
		`{"schema":{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"map","keys":{"type":"int64"},"values":{"type":"string","optional":true},"field":"m"}]},"payload":{"a":1,"m":[[1,"x"],[2,null]]}}`,
		`{"schema":{"type":"array","items":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3"}}},"payload":["AQ==",1.5,-2e3]}`,
		`{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","default":42,"optional":true},"payload":null}`,
		`{"payload":[1,{"a":"\u00e9\ud83d\ude00"}],"schema":null}`,
		`{"schema":{"type":"float"},"payload":"NaN"}`,
		`{"schema":{"type":"int8"},"payload":1e2}`,
		`{"schema":{"type":"struct","fields":[{"type":"int8","field":"a","default":1}],"default":{"a":2}},"payload":{}}`,
		`{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int32","name":"org.apache.kafka.connect.data.Date"}},"payload":{"a":-1}}`,
		`{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400000}`,
		`{"schema":{"type":"boolean"},"payload":tru}`,
		`{"schema":{"type":"string"},"payload":"\ud800"}`,
		`{"schema":{"type":"string"},"payload":"a"} `,
		`{"a":1}`, `[`, `{"schema":`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	c := mustJSON(f, JSONConfig{})
	keep := mustJSON(f, JSONConfig{DecimalFormat: DecimalNumeric, KeepNulls: true})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []*JSON{c, keep} {
			in := bytes.Clone(data)
			sv, err := c.ToConnect(ctx, "t", nil, in)
			if err != nil {
				if _, ok := err.(*DataError); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			if !bytes.Equal(in, data) {
				t.Fatal("ToConnect modified its input")
			}
			if sv.Value == nil {
				continue
			}
			if err := connect.ValidateValue(sv.Schema, sv.Value); err != nil {
				t.Fatalf("read an invalid value: %v", err)
			}
			out, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
			if err != nil {
				t.Fatalf("cannot write back what was read: %v", err)
			}
			sv2, err := c.ToConnect(ctx, "t", nil, out)
			if err != nil {
				t.Fatalf("cannot read back what was written: %v\n%s", err, out)
			}
			a, err1 := c.SchemaJSON(sv.Schema)
			b, err2 := c.SchemaJSON(sv2.Schema)
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
				t.Fatalf("schema changed in a round trip:\n%s\n%s", a, b)
			}
		}
	})
}

func FuzzJSONSchemalessToConnect(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":2.5,"c":[1,"x",null,true],"d":{"e":{}}}`, `12`, `-0`, `1e400`, `12345678901234567890`,
		`"\u00e9\ud83d\ude00\ud800"`, `[[[[]]]]`, `{"a":1,"a":2}`, `true`, `null`, `  `, `{"a":}`, `"abc`, "\"\xff\"",
		`-1.5E-7`, `0.1`, `{"x":[1,{"y":null}]}`,
	} {
		f.Add([]byte(s))
	}
	c := mustJSON(f, JSONConfig{SchemasDisabled: true})
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := c.ToConnect(ctx, "t", nil, data)
		if err != nil {
			if _, ok := err.(*DataError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if sv.Schema != nil {
			t.Fatal("schemaless read returned a schema")
		}
		out, err := c.FromConnect(ctx, "t", nil, nil, sv.Value)
		if err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
		sv2, err := c.ToConnect(ctx, "t", nil, out)
		if err != nil {
			t.Fatalf("cannot read back %s: %v", out, err)
		}
		if !connect.ValuesEqual(sv.Value, sv2.Value) {
			t.Fatalf("round trip changed the value: %#v → %s → %#v", sv.Value, out, sv2.Value)
		}
	})
}

func FuzzNumericToConnect(f *testing.F) {
	for _, s := range [][]byte{nil, {}, {0}, {1}, {2}, {0xff, 0xfe}, {1, 2, 3, 4}, {0x7f, 0xc0, 0, 0}, {0xff, 0xf8, 0, 0, 0, 0, 0, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		f.Add(s)
	}
	convs := []*Number{NewBoolean(), NewShort(), NewInteger(), NewLong(), NewFloat(), NewDouble()}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range convs {
			sv, err := c.ToConnect(ctx, "t", nil, data)
			if err != nil {
				if len(data) == c.size && c.typ != connect.TypeBoolean {
					t.Fatalf("%s rejected %d bytes: %v", c.name, len(data), err)
				}
				continue
			}
			if sv.Schema != c.schema {
				t.Fatalf("%s: schema %v", c.name, sv.Schema)
			}
			out, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
			if err != nil {
				t.Fatalf("%s: cannot write back: %v", c.name, err)
			}
			if f, ok := sv.Value.(float64); ok && f != f {
				// Every NaN is written as Java's canonical one.
				data = []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("%s: %x → %v → %x", c.name, data, sv.Value, out)
			}
		}
	})
}

func FuzzSimpleHeaderToConnect(f *testing.F) {
	for _, s := range []string{
		"", "null", "true", " false", "0", "-128", "32768", "9223372036854775808", "1.5", "3.141592653589793",
		"1e400", "1e-400", "1e999999999", "2024-01-02", "03:04:05.678Z", "2024-01-02T03:04:05.678Z", "[1,2]",
		`{"a":1}`, "hello", "+", "-.5", "5.", "\xff", "  7  ", "0000000001", "1E+2147483648",
	} {
		f.Add([]byte(s))
	}
	c := NewSimpleHeader()
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := c.ToConnectHeader(ctx, "t", "h", data)
		if err != nil {
			t.Fatalf("read failed: %v", err)
		}
		if sv.Value == nil {
			return
		}
		if err := connect.ValidateValue(sv.Schema, sv.Value); err != nil {
			t.Fatalf("read an invalid value: %v", err)
		}
		out, err := c.FromConnectHeader(ctx, "t", "h", sv.Schema, sv.Value)
		if err != nil {
			t.Fatalf("cannot write back %#v: %v", sv.Value, err)
		}
		sv2, err := c.ToConnectHeader(ctx, "t", "h", out)
		if err != nil {
			t.Fatal(err)
		}
		if tm, ok := sv.Value.(time.Time); ok && tm.UnixMilli() < 86_400_000 {
			// Kafka Connect's Values picks the text form from the instant:
			// anything before 1970-01-02 is written as a time of day, so a
			// Date or Timestamp before then reads back as a Time, in Kafka
			// Connect as here.
			return
		}
		if tm, ok := sv.Value.(time.Time); ok {
			// Values writes a Date, Time or Timestamp in the form the
			// instant picks (a multiple of a day: yyyy-MM-dd, else
			// yyyy-MM-dd'T'HH:mm:ss.SSS'Z'), whatever its schema, and reads
			// temporal text only of exactly its pattern's length. So the
			// Time "70:00:00.000Z" (70 hours) comes back as a Timestamp,
			// and the Date "10000-1-01", written "10000-01-01", as a
			// STRING, in Kafka Connect 4.3.1 as here.
			want := connect.TimestampSchema
			if tm.UnixMilli()%86_400_000 == 0 {
				want = connect.DateSchema
			}
			switch {
			case len(out) != len("2006-01-02") && len(out) != len("2006-01-02T15:04:05.000Z"):
				if sv2.Schema.Type != connect.TypeString || string(out) != sv2.Value {
					t.Fatalf("%q: %#v → %q → %v %#v", data, sv.Value, out, sv2.Schema, sv2.Value)
				}
			case !want.Equal(sv2.Schema) || !connect.ValuesEqual(sv.Value, sv2.Value):
				t.Fatalf("%q: %v %#v → %q → %v %#v", data, sv.Schema, sv.Value, out, sv2.Schema, sv2.Value)
			}
			return
		}
		switch sv.Schema.Type {
		case connect.TypeBytes:
			// Bytes (not UTF-8) are written as base64 text, which reads
			// back as a STRING, as in Kafka Connect.
		case connect.TypeFloat32, connect.TypeFloat64:
			// A FLOAT64 may come back as FLOAT32 when its shortest form is
			// exact in float32; the value is then the same decimal.
		case connect.TypeString:
			// Text that parsed as nothing else is written as it is, so it
			// reads back identically.
			if !connect.ValuesEqual(sv.Value, sv2.Value) {
				t.Fatalf("%q: %#v → %q → %#v", data, sv.Value, out, sv2.Value)
			}
		default:
			if !sv.Schema.Equal(sv2.Schema) || !connect.ValuesEqual(sv.Value, sv2.Value) {
				t.Fatalf("%q: %v %#v → %q → %v %#v", data, sv.Schema, sv.Value, out, sv2.Schema, sv2.Value)
			}
		}
	})
}

func FuzzStringToConnect(f *testing.F) {
	for _, s := range []string{"", "hello", "\xff\xfe", "héllo", "null"} {
		f.Add([]byte(s))
	}
	c := NewString()
	f.Fuzz(func(t *testing.T, data []byte) {
		sv, err := c.ToConnect(ctx, "t", nil, data)
		if err != nil {
			t.Fatal(err)
		}
		// Valid UTF-8 round-trips byte for byte; malformed sequences read
		// as U+FFFD, as in Kafka Connect, and the result is valid UTF-8
		// that round-trips from then on.
		out, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
		if err != nil || (utf8.Valid(data) && !bytes.Equal(out, data)) || !utf8.Valid(out) {
			t.Fatalf("%q → %q %v", data, out, err)
		}
		sv2, _ := c.ToConnect(ctx, "t", nil, out)
		if sv2.Value != sv.Value {
			t.Fatalf("%q → %q → %q", data, sv.Value, sv2.Value)
		}
	})
}
