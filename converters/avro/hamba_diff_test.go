package avro

import (
	"fmt"
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/connect"
)

// diffSchema has every Avro type the two decoders share a reading of (no
// logical types: hamba maps those to its own Go types).
const diffSchema = `{"type":"record","name":"R","fields":[
 {"name":"b","type":"boolean"},
 {"name":"i","type":"int"},
 {"name":"l","type":"long"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"s","type":"string"},
 {"name":"y","type":"bytes"},
 {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}},
 {"name":"x","type":{"type":"fixed","name":"F","size":3}},
 {"name":"a","type":{"type":"array","items":"long"}},
 {"name":"m","type":{"type":"map","values":"string"}},
 {"name":"u","type":["null","string"]},
 {"name":"g","type":["int","string",{"type":"record","name":"S","fields":[{"name":"z","type":"long"}]}]}
]}`

// FuzzAvroAgainstHamba decodes random bytes with the converter's decoder and
// with hamba/avro (a widely used Go implementation, through its Reader so
// that a truncated value is an error): both must accept the same inputs and
// read the same values. The one known difference: a 5-byte int whose value
// does not fit 32 bits is an error here, while hamba (and Avro Java) drop
// the excess bits.
func FuzzAvroAgainstHamba(f *testing.F) {
	a, err := parseAvroSchema(diffSchema)
	if err != nil {
		f.Fatal(err)
	}
	cs, err := connectFromAvro(a, 0)
	if err != nil {
		f.Fatal(err)
	}
	dec, err := compileAvroDecoder(a, a, cs)
	if err != nil {
		f.Fatal(err)
	}
	hs, err := hamba.ParseWithCache(diffSchema, "", &hamba.SchemaCache{})
	if err != nil {
		f.Fatal(err)
	}
	api := hamba.Config{MaxByteSliceSize: 1 << 16, MaxSliceAllocSize: 1 << 16}.Freeze()
	good, err := api.Marshal(hs, map[string]any{
		"b": true, "i": -5, "l": int64(1 << 40), "f": float32(1.5), "d": -2.25,
		"s": "hé", "y": []byte{0, 0xff}, "e": "C", "x": [3]byte{1, 2, 3},
		"a": []any{int64(1), int64(-1)}, "m": map[string]any{"k": "v"},
		"u": "x", "g": map[string]any{"S": map[string]any{"z": int64(7)}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		ours, oerr := dec(body)
		var theirs any
		r := hamba.NewReader(nil, 0, hamba.WithReaderConfig(api))
		r.Reset(body)
		r.ReadVal(hs, &theirs)
		herr := r.Error
		switch {
		case oerr != nil && herr != nil:
		case oerr != nil:
			if strings.Contains(oerr.Error(), "invalid int encoding") {
				return
			}
			t.Fatalf("rejected what hamba reads as %v: %v", theirs, oerr)
		case herr != nil:
			t.Fatalf("read %v from what hamba rejects: %v", ours, herr)
		default:
			if o, h := canonOurs(ours), canonHamba(theirs); o != h {
				t.Fatalf("read\n%s\nhamba read\n%s", o, h)
			}
		}
	})
}

// canonOurs renders a decoded Connect value of diffSchema in the form
// canonHamba renders hamba's.
func canonOurs(v any) string {
	st := v.(*connect.Struct)
	m := map[string]any{}
	for i, fl := range st.Schema().Fields {
		x := st.At(i)
		switch fl.Name {
		case "i":
			x = int64(x.(int32))
		case "g":
			u := x.(*connect.Struct)
			for j := range u.Schema().Fields {
				if w := u.At(j); w != nil {
					x = w
				}
			}
			if s, ok := x.(*connect.Struct); ok {
				x = map[string]any{"z": s.At(0)}
			}
			if n, ok := x.(int32); ok {
				x = int64(n)
			}
		}
		m[fl.Name] = x
	}
	return fmt.Sprintf("%v", m)
}

// canonHamba renders hamba's generic value of diffSchema.
func canonHamba(v any) string {
	m := v.(map[string]any)
	out := map[string]any{}
	for k, x := range m {
		switch k {
		case "i":
			x = int64(x.(int))
		case "x":
			fx := x.([3]byte)
			x = fx[:]
		case "u":
			if u, ok := x.(map[string]any); ok {
				x = u["string"]
			}
		case "g":
			for _, w := range x.(map[string]any) {
				x = w
			}
			if n, ok := x.(int); ok {
				x = int64(n)
			}
		}
		out[k] = x
	}
	return fmt.Sprintf("%v", out)
}
