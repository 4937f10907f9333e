package converters

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/javafmt"
)

// decimalEdgeValues are unscaled values around every byte-length boundary
// of the two's-complement encoding, the int64 limits and beyond them.
func decimalEdgeValues() []*big.Int {
	var out []*big.Int
	for shift := uint(0); shift <= 80; shift++ {
		p := new(big.Int).Lsh(big.NewInt(1), shift)
		for _, d := range []int64{-2, -1, 0, 1} {
			v := new(big.Int).Add(p, big.NewInt(d))
			out = append(out, v, new(big.Int).Neg(v))
		}
	}
	return append(out, big.NewInt(0), big.NewInt(math.MaxInt64), big.NewInt(math.MinInt64), big.NewInt(1999950), big.NewInt(-1999950))
}

// TestAppendDecimalBase64MatchesTwosComplement: the allocation-free BASE64
// Decimal encoding writes the bytes of javafmt.TwosComplement (Java's
// BigInteger.toByteArray) for every value, inside and outside int64.
func TestAppendDecimalBase64MatchesTwosComplement(t *testing.T) {
	for _, v := range decimalEdgeValues() {
		want := string(appendBase64(nil, javafmt.TwosComplement(v)))
		if got := string(appendDecimalBase64(nil, v)); got != want {
			t.Errorf("%s: got %s, want %s", v, got, want)
		}
	}
	if got := string(appendDecimalBase64(nil, nil)); got != `"AA=="` {
		t.Errorf("nil: got %s, want \"AA==\"", got)
	}
}

// TestFromTwosComplementMatchesJavafmt: the one-allocation decoding reads
// every encoding (minimal or sign-padded, empty) as javafmt does, and its
// result is an ordinary big.Int that arithmetic may modify.
func TestFromTwosComplementMatchesJavafmt(t *testing.T) {
	inputs := [][]byte{nil, {}, {0}, {0xFF}, {0xFF, 0xFF}, {0, 0, 0x80}, {0x80}, {0x80, 0, 0, 0, 0, 0, 0, 0}, {0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}
	for _, v := range decimalEdgeValues() {
		inputs = append(inputs, javafmt.TwosComplement(v))
	}
	for _, b := range inputs {
		want := javafmt.FromTwosComplement(b)
		got := fromTwosComplement(b)
		if got.Cmp(want) != 0 {
			t.Errorf("% x: got %s, want %s", b, got, want)
		}
		got.Add(got, big.NewInt(1))
		if want.Add(want, big.NewInt(1)); got.Cmp(want) != 0 {
			t.Errorf("% x: after +1 got %s, want %s", b, got, want)
		}
	}
}

// TestJSONSharedStrings: strings read from a payload share one copy of the
// record's text (scanner.share), which must not change any value, must not
// alias the input (overwriting it afterwards changes nothing) and must
// also hold for strings far from the end of a long record (beyond
// maxSharedText), escaped strings, empty strings and map keys.
func TestJSONSharedStrings(t *testing.T) {
	long := strings.Repeat("x", maxSharedText)
	docs := []string{
		`{"schema":{"type":"struct","fields":[{"type":"string","field":"a"},{"type":"string","field":"b"},{"type":"array","items":{"type":"string"},"field":"c"},{"type":"map","keys":{"type":"string"},"values":{"type":"string"},"field":"d"}]},"payload":{"a":"x\u00e9\ty","b":"","c":["p","` + long + `","q\"r",""],"d":{"k1":"v1","k\n2":"","":"v3"}}}`,
		`{"payload":{"a":"late","b":"schema","c":[],"d":{"k":"v"}},"schema":{"type":"struct","fields":[{"type":"string","field":"a"},{"type":"string","field":"b"},{"type":"array","items":{"type":"string"},"field":"c"},{"type":"map","keys":{"type":"string"},"values":{"type":"string"},"field":"d"}]}}`,
		`{"schema":null,"payload":{"a":["` + long + `","y",{"` + long + `":"z"}],"b":"w"}}`,
	}
	plain := []string{
		`{"a":"` + long + `","b":["c","d\u0041"],"e":{"f":"g"},"":""}`,
		`"solo"`,
		`["` + long + long + `","tail"]`,
	}
	check := func(c *JSON, doc string) {
		t.Helper()
		data := []byte(doc)
		got, err := c.ToConnect(ctx, "t", nil, data)
		if err != nil {
			t.Fatalf("%.60s: %v", doc, err)
		}
		// The same document decoded without sharing.
		var want connect.SchemaAndValue
		shareStrings = false
		want, err = c.ToConnect(ctx, "t", nil, []byte(doc))
		shareStrings = true
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] = '#'
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%.60s: got %v, want %v", doc, got.Value, want.Value)
		}
	}
	withSchemas, noSchemas := mustJSON(t, JSONConfig{}), mustJSON(t, JSONConfig{SchemasDisabled: true})
	for _, d := range docs {
		check(withSchemas, d)
	}
	for _, d := range plain {
		check(noSchemas, d)
	}
}

// TestJSONValuePlan: values written with a cached schema's plan (member
// keys quoted once per schema) are byte-identical to values written
// without one, for structs nested in structs, arrays, map values and map
// keys, and field names that need escaping.
func TestJSONValuePlan(t *testing.T) {
	inner := connect.StructBuilder().Name("In").
		Field("a\"b", connect.Int32Schema).
		Field("é\n", connect.OptionalStringSchema).
		MustBuild()
	s := connect.StructBuilder().
		Field("x", inner).
		Field("arr", connect.ArrayBuilder(inner).MustBuild()).
		Field("m", connect.MapBuilder(connect.StringSchema, inner).MustBuild()).
		Field("mk", connect.MapBuilder(inner, connect.ArrayBuilder(inner).MustBuild()).Optional().MustBuild()).
		Field("😀", connect.Int64Schema).
		MustBuild()
	in := func(n int32) *connect.Struct {
		return connect.NewStruct(inner).MustPut("a\"b", n).MustPut("é\n", "v\u0001")
	}
	v := connect.NewStruct(s).
		MustPut("x", in(1)).
		MustPut("arr", []any{in(2), in(3)}).
		MustPut("m", map[string]any{"k": in(4), "j": in(5)}).
		MustPut("mk", map[any]any{in(6): []any{in(7)}}).
		MustPut("😀", int64(8))
	for _, cfg := range []JSONConfig{{}, {SchemasDisabled: true}} {
		c := mustJSON(t, cfg)
		got, err := c.FromConnect(ctx, "t", nil, s, v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.appendValue(nil, s, nil, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.SchemasDisabled {
			e, err := c.encodedSchema(s)
			if err != nil {
				t.Fatal(err)
			}
			if e.plan == nil {
				t.Fatal("no plan built for a struct schema")
			}
			want = append(append(append([]byte(nil), e.prefix...), want...), '}')
		}
		if string(got) != string(want) {
			t.Errorf("schemas.enable=%v:\n got %s\nwant %s", !cfg.SchemasDisabled, got, want)
		}
	}
}

// TestJSONSchemalessObjects: objects read without a schema (collected
// before the map is made at its size) keep every member, the last of
// duplicate keys (as Jackson's ObjectNode), and nested objects, for
// objects smaller and larger than the collecting buffer.
func TestJSONSchemalessObjects(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	var big strings.Builder
	want := map[string]any{}
	big.WriteString("{")
	for i := range 40 {
		if i > 0 {
			big.WriteString(",")
		}
		k := "k" + strconv.Itoa(i%30) // keys 0..9 appear twice
		big.WriteString(`"` + k + `":` + strconv.Itoa(i))
		want[k] = int64(i)
	}
	big.WriteString(`,"o":{"a":1,"a":2,"b":{}}}`)
	want["o"] = map[string]any{"a": int64(2), "b": map[string]any{}}
	got, err := c.ToConnect(ctx, "t", nil, []byte(big.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Value, want) {
		t.Errorf("got %v, want %v", got.Value, want)
	}
}

// TestJSONFromConnectOneAllocation pins the encoder's allocations: once
// its schema is cached, a record costs one allocation (the returned bytes,
// which the producer keeps, so no buffer is reused), sized from earlier
// records with little slack, with and without schemas.
func TestJSONFromConnectOneAllocation(t *testing.T) {
	s, v := benchRecord()
	for _, cfg := range []JSONConfig{{}, {SchemasDisabled: true}} {
		c := mustJSON(t, cfg)
		out, err := c.FromConnect(ctx, "t", nil, s, v)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			out, err = c.FromConnect(ctx, "t", nil, s, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 1 {
			t.Errorf("schemas.enable=%v: %v allocations per record, want 1", !cfg.SchemasDisabled, allocs)
		}
		// Size classes round 1424 bytes up to 1536; a hint with 1/8
		// slack would take 1792.
		if len(out) > 1000 && cap(out) > len(out)*9/8 {
			t.Errorf("schemas.enable=%v: %d bytes in a buffer of %d", !cfg.SchemasDisabled, len(out), cap(out))
		}
	}
}

// TestJSONSchemalessFromConnectOneAllocation: a schemaless record whose
// maps have up to smallKeys keys costs one allocation too (the keys are
// sorted in a stack array), and larger maps are still written sorted.
func TestJSONSchemalessFromConnectOneAllocation(t *testing.T) {
	v := schemalessRecord()
	for _, cfg := range []JSONConfig{{}, {SchemasDisabled: true}} {
		c := mustJSON(t, cfg)
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			_, err = c.FromConnect(ctx, "t", nil, nil, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 1 {
			t.Errorf("schemas.enable=%v: %v allocations per record, want 1", !cfg.SchemasDisabled, allocs)
		}
	}
	big := map[string]any{}
	var want strings.Builder
	want.WriteString("{")
	for i := range smallKeys + 5 {
		k := fmt.Sprintf("k%02d", i)
		big[k] = int64(i)
		if i > 0 {
			want.WriteString(",")
		}
		fmt.Fprintf(&want, `"%s":%d`, k, i)
	}
	want.WriteString("}")
	got, err := mustJSON(t, JSONConfig{SchemasDisabled: true}).FromConnect(ctx, "t", nil, nil, big)
	if err != nil || string(got) != want.String() {
		t.Errorf("got %s, %v; want %s", got, err, want.String())
	}
}

// TestJSONToConnectAllocations pins the decoder's allocations for the
// bench record with schemas: what the data model needs (each boxed
// non-constant value, each Struct and its values, the array, the Decimal)
// plus one shared copy of the strings' text.
func TestJSONToConnectAllocations(t *testing.T) {
	s, v := benchRecord()
	c := mustJSON(t, JSONConfig{})
	data, err := c.FromConnect(ctx, "t", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, err = c.ToConnect(ctx, "t", nil, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs > 20 {
		t.Errorf("%v allocations per record, want at most 20", allocs)
	}
}

// FuzzJSONSharedStrings: whatever the input, reading it with strings
// sharing one copy of the text gives the same result (or error) as
// reading it with a string allocation each, and the result does not
// change when the input is overwritten afterwards.
func FuzzJSONSharedStrings(f *testing.F) {
	for _, g := range goldens() {
		f.Add([]byte(g.want))
	}
	for _, s := range []string{
		`{"schema":{"type":"struct","fields":[{"type":"string","field":"a"},{"type":"map","keys":{"type":"string"},"values":{"type":"string"},"field":"m"}]},"payload":{"a":"x\ty","m":{"k":"v","k\u00e9":""}}}`,
		`{"payload":{"a":"late"},"schema":{"type":"struct","fields":[{"type":"string","field":"a"}]}}`,
		`{"schema":null,"payload":{"a":["b","c\n",{"d":"e"}]}}`,
		`{"a":"b","c":["d","e"],"f":{"g":"h"}}`, `"x"`, `["a","\u0041",""]`,
	} {
		f.Add([]byte(s))
	}
	convs := []*JSON{mustJSON(f, JSONConfig{}), mustJSON(f, JSONConfig{SchemasDisabled: true})}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range convs {
			in := bytes.Clone(data)
			got, gerr := c.ToConnect(ctx, "t", nil, in)
			for i := range in {
				in[i] = '"'
			}
			shareStrings = false
			want, werr := c.ToConnect(ctx, "t", nil, data)
			shareStrings = true
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Fatalf("error %v, without sharing %v", gerr, werr)
			}
			if got.Schema != want.Schema || !connect.ValuesEqual(got.Value, want.Value) {
				t.Fatalf("read %#v, without sharing %#v", got.Value, want.Value)
			}
		}
	})
}
