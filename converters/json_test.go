package converters

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/internal/javavalues"

	"github.com/sluicehq/sluice/connect"
)

func mustJSON(t testing.TB, cfg JSONConfig) *JSON {
	t.Helper()
	c, err := NewJSON(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// everything returns a struct schema using every schema type, logical type
// and nesting form, and a value of it.
func everything() (*connect.Schema, *connect.Struct) {
	big1, _ := new(big.Int).SetString("-123456789012345678901234567890123456789", 10)
	address := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	line := connect.StructBuilder().Name("com.acme.Line").
		Field("sku", connect.StringSchema).
		Field("qty", connect.Int16Schema).
		Field("price", connect.DecimalSchema(4)).
		MustBuild()
	s := connect.StructBuilder().Name("com.acme.Everything").Version(7).Doc("all the types").
		Field("i8", connect.Int8Schema).
		Field("i16", connect.Int16Schema).
		Field("i32", connect.Int32Schema).
		Field("i64", connect.Int64Schema).
		Field("f32", connect.Float32Schema).
		Field("f64", connect.Float64Schema).
		Field("bool", connect.BooleanSchema).
		Field("str", connect.StringSchema).
		Field("bytes", connect.BytesSchema).
		Field("optNull", connect.OptionalInt32Schema).
		Field("withDefault", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("dflt").MustBuild()).
		Field("decNeg", connect.DecimalSchema(2)).
		Field("decBig", connect.DecimalBuilder(10).Optional().MustBuild()).
		Field("decZero", connect.DecimalSchema(0)).
		Field("date", connect.DateSchema).
		Field("dateOld", connect.DateSchema).
		Field("time", connect.TimeSchema).
		Field("ts", connect.TimestampSchema).
		Field("tsOld", connect.TimestampBuilder().Optional().MustBuild()).
		Field("address", address).
		Field("optAddress", connect.StructBuilder().Name("com.acme.Address2").Field("x", connect.Int32Schema).Optional().MustBuild()).
		Field("lines", connect.ArrayBuilder(line).MustBuild()).
		Field("matrix", connect.ArrayBuilder(connect.ArrayBuilder(connect.OptionalFloat64Schema).MustBuild()).MustBuild()).
		Field("tags", connect.MapBuilder(connect.StringSchema, connect.OptionalStringSchema).MustBuild()).
		Field("byID", connect.MapBuilder(connect.Int64Schema, address).MustBuild()).
		Field("byDate", connect.MapBuilder(connect.DateSchema, connect.Int32Schema).Optional().MustBuild()).
		Field("nested", connect.MapBuilder(connect.StringSchema, connect.ArrayBuilder(connect.MapBuilder(connect.BooleanSchema, connect.StringSchema).MustBuild()).MustBuild()).MustBuild()).
		MustBuild()
	addr := connect.NewStruct(address).MustPut("street", "1 Main St").MustPut("zip", "12345")
	addr2 := connect.NewStruct(address).MustPut("street", "Ünïcødé \"quoted\"\n")
	v := connect.NewStruct(s).
		MustPut("i8", int8(-128)).
		MustPut("i16", int16(32767)).
		MustPut("i32", int32(math.MinInt32)).
		MustPut("i64", int64(math.MaxInt64)).
		MustPut("f32", float32(3.4028235e38)).
		MustPut("f64", -1.7976931348623157e308).
		MustPut("bool", false).
		MustPut("str", "").
		MustPut("bytes", []byte{0, 1, 2, 0xff}).
		MustPut("decNeg", connect.NewDecimal(-12345, 2)).
		MustPut("decBig", connect.Decimal{Unscaled: big1, Scale: 10}).
		MustPut("decZero", connect.NewDecimal(0, 0)).
		MustPut("date", connect.DaysToDate(19000)).
		MustPut("dateOld", time.Date(1901, 12, 13, 0, 0, 0, 0, time.UTC)).
		MustPut("time", connect.MillisToTime(86399999)).
		MustPut("ts", time.UnixMilli(1700000000123).UTC()).
		MustPut("tsOld", time.UnixMilli(-2208988800000).UTC()).
		MustPut("address", addr).
		MustPut("lines", []any{
			connect.NewStruct(line).MustPut("sku", "A").MustPut("qty", int16(1)).MustPut("price", connect.NewDecimal(19990, 4)),
			connect.NewStruct(line).MustPut("sku", "B").MustPut("qty", int16(-2)).MustPut("price", connect.NewDecimal(-1, 4)),
		}).
		MustPut("matrix", []any{[]any{1.5, nil}, []any{}, []any{0.1}}).
		MustPut("tags", map[string]any{"a": "x", "b": nil, "": "empty"}).
		MustPut("byID", map[any]any{int64(7): addr, int64(-1): addr2}).
		MustPut("byDate", map[any]any{connect.DaysToDate(-1): int32(1), connect.DaysToDate(1): int32(2)}).
		MustPut("nested", map[string]any{"k": []any{map[any]any{true: "t", false: "f"}, map[any]any{}}})
	return s, v
}

func TestJSONRoundTripEverything(t *testing.T) {
	s, v := everything()
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []JSONConfig{{}, {DecimalFormat: DecimalNumeric}, {KeepNulls: true}} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			c := mustJSON(t, cfg)
			b, err := c.FromConnect(ctx, "t", nil, s, v)
			if err != nil {
				t.Fatal(err)
			}
			sv, err := c.ToConnect(ctx, "t", nil, b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !sv.Schema.Equal(s) {
				t.Errorf("schema differs:\n got %s\nwant %s", mustSchemaJSON(c, sv.Schema), mustSchemaJSON(c, s))
			}
			got := sv.Value.(*connect.Struct)
			want := v
			if !cfg.KeepNulls {
				// The null field with a default reads back as the default.
				want = copyStruct(v)
				want.MustPut("withDefault", "dflt")
			}
			for _, f := range s.Fields {
				a, _ := got.GetWithoutDefault(f.Name)
				b, _ := want.GetWithoutDefault(f.Name)
				if !connect.ValuesEqual(a, b) {
					t.Errorf("field %s: got %#v, want %#v", f.Name, a, b)
				}
			}
			// Writing what was read gives the same bytes.
			b2, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
			if err != nil {
				t.Fatal(err)
			}
			if string(b2) != string(b) {
				t.Errorf("rewrite differs:\n%s\n%s", b, b2)
			}
			// A fresh converter (no cache) reads the same.
			sv2, err := mustJSON(t, cfg).ToConnect(ctx, "t", nil, b)
			if err != nil || !sv2.Schema.Equal(sv.Schema) || !sv2.Value.(*connect.Struct).Equal(got) {
				t.Errorf("fresh converter read differently: %v", err)
			}
		})
	}
}

func copyStruct(v *connect.Struct) *connect.Struct {
	out := connect.NewStruct(v.Schema())
	for i, f := range v.Schema().Fields {
		if x := v.At(i); x != nil {
			out.MustPut(f.Name, x)
		}
	}
	return out
}

func mustSchemaJSON(c *JSON, s *connect.Schema) string {
	b, err := c.SchemaJSON(s)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestJSONRoundTripTopLevel(t *testing.T) {
	var c *JSON
	tests := []struct {
		s *connect.Schema
		v any
	}{
		{connect.Int8Schema, int8(math.MaxInt8)},
		{connect.Int16Schema, int16(math.MinInt16)},
		{connect.Int32Schema, int32(0)},
		{connect.Int64Schema, int64(math.MinInt64)},
		{connect.Float32Schema, float32(math.SmallestNonzeroFloat32)},
		{connect.Float32Schema, float32(math.Inf(-1))},
		{connect.Float64Schema, math.Inf(1)},
		{connect.Float64Schema, math.Pi},
		{connect.BooleanSchema, true},
		{connect.StringSchema, strings.Repeat("x", 1000)},
		{connect.BytesSchema, []byte{}},
		{connect.DecimalSchema(-3), connect.NewDecimal(42, -3)},
		{connect.DecimalSchema(30), connect.Decimal{Unscaled: new(big.Int).Exp(big.NewInt(10), big.NewInt(40), nil), Scale: 30}},
		{connect.DateSchema, connect.DaysToDate(math.MinInt32)},
		{connect.TimestampSchema, time.UnixMilli(-1).UTC()},
		{connect.ArrayBuilder(connect.OptionalStringSchema).MustBuild(), []any{nil, "a", nil}},
		{connect.MapBuilder(connect.OptionalInt32Schema, connect.StringSchema).MustBuild(), map[any]any{nil: "null key", int32(1): "one"}},
		{connect.OptionalInt32Schema, int32(5)},
	}
	for _, cfg := range []JSONConfig{{}, {DecimalFormat: DecimalNumeric}} {
		c = mustJSON(t, cfg)
		for _, tc := range tests {
			b, err := c.FromConnect(ctx, "t", nil, tc.s, tc.v)
			if err != nil {
				t.Errorf("%s %v: %v", tc.s, tc.v, err)
				continue
			}
			sv, err := c.ToConnect(ctx, "t", nil, b)
			if err != nil {
				t.Errorf("%s: %v", b, err)
				continue
			}
			if !sv.Schema.Equal(tc.s) || !connect.ValuesEqual(sv.Value, tc.v) {
				t.Errorf("%s: read %v %#v, want %v %#v", b, sv.Schema, sv.Value, tc.s, tc.v)
			}
		}
	}
}

func TestJSONTombstones(t *testing.T) {
	for _, cfg := range []JSONConfig{{}, {SchemasDisabled: true}} {
		c := mustJSON(t, cfg)
		if b, err := c.FromConnect(ctx, "t", nil, nil, nil); err != nil || b != nil {
			t.Errorf("%+v: got %q, %v; want nil bytes (a tombstone)", cfg, b, err)
		}
		// With a schema, Kafka Connect writes the null: an envelope with a
		// null payload, or plain JSON null.
		want := `{"schema":{"type":"string","optional":true},"payload":null}`
		if cfg.SchemasDisabled {
			want = "null"
		}
		if b, err := c.FromConnect(ctx, "t", nil, connect.OptionalStringSchema, nil); err != nil || string(b) != want {
			t.Errorf("%+v: got %q, %v; want %s", cfg, b, err, want)
		}
		for _, in := range [][]byte{nil, {}, []byte(" \n")} {
			sv, err := c.ToConnect(ctx, "t", nil, in)
			if in != nil && !cfg.SchemasDisabled {
				// Kafka Connect 4.3.1: no JSON value fails the envelope
				// check; only nil data is a null.
				if err == nil || !strings.Contains(err.Error(), "schemas.enable=false") {
					t.Errorf("%+v %q: got %+v, %v; want the envelope error", cfg, in, sv, err)
				}
				continue
			}
			if err != nil || sv.Schema != nil || sv.Value != nil {
				t.Errorf("%+v %q: got %+v, %v; want null", cfg, in, sv, err)
			}
		}
		if _, err := c.FromConnect(ctx, "t", nil, connect.StringSchema, nil); err == nil {
			t.Errorf("%+v: nil for a required schema must fail", cfg)
		}
	}
	// A required schema with a default writes the default.
	c := mustJSON(t, JSONConfig{})
	s := connect.NewSchemaBuilder(connect.TypeInt32).DefaultValue(int32(7)).MustBuild()
	b, err := c.FromConnect(ctx, "t", nil, s, nil)
	if err != nil || string(b) != `{"schema":{"type":"int32","optional":false,"default":7},"payload":7}` {
		t.Errorf("got %s, %v", b, err)
	}
	// Reading a null payload with a default: the default, or (KeepNulls,
	// required) an error.
	if sv, err := c.ToConnect(ctx, "t", nil, []byte(`{"schema":{"type":"int32","default":7},"payload":null}`)); err != nil || sv.Value != int32(7) {
		t.Errorf("got %+v, %v", sv, err)
	}
	keep := mustJSON(t, JSONConfig{KeepNulls: true})
	if _, err := keep.ToConnect(ctx, "t", nil, []byte(`{"schema":{"type":"int32","default":7},"payload":null}`)); err == nil {
		t.Error("KeepNulls: null for a required field with a default must fail")
	}
	if sv, err := keep.ToConnect(ctx, "t", nil, []byte(`{"schema":{"type":"int32","optional":true,"default":7},"payload":null}`)); err != nil || sv.Value != nil {
		t.Errorf("KeepNulls optional: got %+v, %v", sv, err)
	}
}

func TestJSONSchemaless(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	in := `{"a":1,"b":2.5,"c":[1,"x",null,true],"d":{"e":{}},"f":-9223372036854775808,"g":1e3,"h":"\u00e9\ud83d\ude00","i":[]}`
	sv, err := c.ToConnect(ctx, "t", nil, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": int64(1), "b": 2.5, "c": []any{int64(1), "x", nil, true},
		"d": map[string]any{"e": map[string]any{}}, "f": int64(math.MinInt64), "g": 1000.0,
		"h": "é😀", "i": []any{},
	}
	if sv.Schema != nil || !connect.ValuesEqual(sv.Value, want) {
		t.Fatalf("got %#v", sv.Value)
	}
	b, err := c.FromConnect(ctx, "t", nil, nil, sv.Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":1,"b":2.5,"c":[1,"x",null,true],"d":{"e":{}},"f":-9223372036854775808,"g":1000.0,"h":"é\uD83D\uDE00","i":[]}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	for in, want := range map[string]any{"12": int64(12), "-0": int64(0), "12.0": 12.0, "\"s\"": "s", "true": true, "null": nil, " [ ] ": []any{}} {
		sv, err := c.ToConnect(ctx, "t", nil, []byte(in))
		if err != nil || !connect.ValuesEqual(sv.Value, want) {
			t.Errorf("%s: got %#v, %v; want %#v", in, sv.Value, err, want)
		}
	}
	// Numbers beyond int64 or float64 (what Kafka Connect writes for a
	// NUMERIC Decimal; it reads them back truncated or as Infinity) read as
	// exact Decimals, and write back as the same text.
	for in, want := range map[string]connect.Decimal{
		`12345678901234567890`: {Unscaled: mustBig("12345678901234567890"), Scale: 0},
		`-9223372036854775809`: {Unscaled: mustBig("-9223372036854775809"), Scale: 0},
		`1E+400`:               {Unscaled: big.NewInt(1), Scale: -400},
		`-2.5e400`:             {Unscaled: big.NewInt(-25), Scale: -399},
	} {
		sv, err := c.ToConnect(ctx, "t", nil, []byte(`{"id":`+in+`}`))
		if err != nil || !connect.ValuesEqual(sv.Value, map[string]any{"id": want}) {
			t.Errorf("%s: got %#v, %v", in, sv.Value, err)
			continue
		}
		b, err := c.FromConnect(ctx, "t", nil, nil, sv.Value)
		if wantText := `{"id":` + javafmt.BigDecimalString(want.Unscaled, want.Scale) + `}`; err != nil || string(b) != wantText {
			t.Errorf("%s: wrote back %s %v, want %s", in, b, err, wantText)
		}
	}
	// Schemaless writing of the Connect and common Go types.
	b, err = c.FromConnect(ctx, "t", nil, nil, map[string]any{
		"int": 3, "u8": uint8(255), "u64": uint64(math.MaxUint64), "f32": float32(0.1), "dec": connect.NewDecimal(-15, 1),
		"ts": time.UnixMilli(1234).UTC(), "bytes": []byte("hi"), "nan": math.NaN(),
	})
	if want := `{"bytes":"aGk=","dec":-1.5,"f32":0.1,"int":3,"nan":"NaN","ts":1234,"u64":18446744073709551615,"u8":255}`; err != nil || string(b) != want {
		t.Errorf("got %s, %v\nwant %s", b, err, want)
	}
	if _, err := c.FromConnect(ctx, "t", nil, nil, struct{}{}); err == nil || !strings.Contains(err.Error(), "struct {}") {
		t.Errorf("unknown Go type: %v", err)
	}
	// A struct without a schema is written with its own schema.
	s := connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild()
	b, err = c.FromConnect(ctx, "t", nil, nil, connect.NewStruct(s).MustPut("a", int32(1)))
	if err != nil || string(b) != `{"a":1}` {
		t.Errorf("got %s, %v", b, err)
	}
}

func TestJSONEnvelopeErrors(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	for _, in := range []string{
		`{"a":1}`, `[1,2]`, `12`, `"str"`, `{}`, `{"schema":null}`, `{"payload":1}`,
		`{"schema":null,"payload":1,"extra":2}`, `{"schema":null,"schema":null,"payload":1}`,
	} {
		_, err := c.ToConnect(ctx, "t", nil, []byte(in))
		var de *DataError
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), "schemas.enable=false") ||
			!strings.Contains(err.Error(), `requires "schema" and "payload" fields`) {
			t.Errorf("%s: got %v", in, err)
		}
		if strings.HasPrefix(err.Error(), "JsonConverter: JsonConverter") {
			t.Errorf("doubled prefix: %v", err)
		}
	}
	// Malformed JSON is a syntax error, not an envelope error.
	for _, in := range []string{`{"schema":`, `{"a":1`, `nul`, `{"schema":null,"payload":1} 2`, "\"\x01\"", `[1,]`, `{"a" 1}`, `1.`, `-`, `"\x"`} {
		_, err := c.ToConnect(ctx, "t", nil, []byte(in))
		if err == nil || !strings.Contains(err.Error(), "invalid JSON") {
			t.Errorf("%q: got %v", in, err)
		}
	}
}

// TestJSONTrailingData: Kafka Connect (Jackson's readTree) reads the first
// JSON value and ignores what follows it. Sluice accepts the same trailing
// data, except a second JSON value, which Kafka Connect would drop silently.
func TestJSONTrailingData(t *testing.T) {
	for _, schemas := range []bool{true, false} {
		c := mustJSON(t, JSONConfig{SchemasDisabled: !schemas})
		doc := `{"a":1}`
		if schemas {
			doc = `{"schema":{"type":"int32","optional":false},"payload":1}`
		}
		for _, tail := range []string{"", "\x00", " \x1a", "}", " x", "\t\x00{", "\n\r ", "]", ",", ":"} {
			sv, err := c.ToConnect(ctx, "t", nil, []byte(doc+tail))
			if err != nil {
				t.Errorf("schemas=%v %q: %v", schemas, doc+tail, err)
				continue
			}
			if schemas && sv.Value != int32(1) || !schemas && sv.Value.(map[string]any)["a"] != int64(1) {
				t.Errorf("schemas=%v %q: got %#v", schemas, doc+tail, sv.Value)
			}
		}
		for _, tail := range []string{` {"b":2}`, "\n[1]", `"x"`, " -1", " 7", " true", "\tfalse", "\r\nnull", "nope"} {
			_, err := c.ToConnect(ctx, "t", nil, []byte(doc+tail))
			if err == nil || !strings.Contains(err.Error(), "unexpected data after the JSON value") {
				t.Errorf("schemas=%v %q: got %v, want unexpected data after the JSON value", schemas, doc+tail, err)
			}
		}
	}
}

// TestJSONTopLevelNumberEnd: Jackson requires whitespace (or the end)
// after a top-level number; outputs from Kafka Connect 4.3.1 with
// schemas.enable=false.
func TestJSONTopLevelNumberEnd(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	for _, in := range []string{"1}", "-0}", "1.5x", "1e5]", "1/", "1\x0b", "1\x1a", "-1\x00", "12\x00", "1.5\x00", "4.25e+12}", "1\xc3\xa9"} {
		if sv, err := c.ToConnect(ctx, "t", nil, []byte(in)); err == nil {
			t.Errorf("%q: read %#v, want an error as Kafka Connect's", in, sv.Value)
		}
	}
	for _, in := range []string{"1 }", "1\t}", "1\n}", "1\r\x00", "1\x00", "0\x00", "7", "true}", "null}", `"s"}`, "[1]]", "true/"} {
		if _, err := c.ToConnect(ctx, "t", nil, []byte(in)); err != nil {
			t.Errorf("%q: %v, want it read as Kafka Connect reads it", in, err)
		}
	}
}

func TestJSONDataErrors(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	env := func(schema, payload string) []byte {
		return []byte(`{"schema":` + schema + `,"payload":` + payload + `}`)
	}
	order := `{"type":"struct","fields":[
		{"field":"amount","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},
		{"field":"raw","type":"bytes","optional":true},
		{"field":"customer","type":"struct","optional":true,"fields":[{"field":"address","type":"struct","fields":[{"field":"zip","type":"int32"}]}]},
		{"field":"items","type":"array","optional":true,"items":{"type":"struct","fields":[{"field":"qty","type":"int16"}]}},
		{"field":"tags","type":"map","optional":true,"keys":{"type":"string"},"values":{"type":"int8"}},
		{"field":"byID","type":"map","optional":true,"keys":{"type":"int32"},"values":{"type":"string"}}
	]}`
	tests := []struct{ payload, want string }{
		{`{"amount":true}`, `JsonConverter: converting field "amount": expected a base64 string or a number for Decimal, got boolean`},
		{`{"amount":1.234}`, `converting field "amount": number 1.234 does not fit a Decimal of scale 2 without rounding`},
		{`{"amount":"AN4=","raw":12}`, `JsonConverter: converting field "raw": expected a base64 string for BYTES, got number`},
		{`{"amount":"AN4=","raw":"!!"}`, `converting field "raw": expected a base64 string for BYTES`},
		{`{}`, `converting field "amount": null is not allowed for a required Decimal`},
		{`{"amount":"AN4=","customer":{"address":{"zip":"12345"}}}`, `converting field "customer.address.zip": expected an integer for INT32, got string`},
		{`{"amount":"AN4=","customer":{"address":{"zip":1.5}}}`, `converting field "customer.address.zip": expected an integer for INT32, got number 1.5`},
		{`{"amount":"AN4=","customer":{"address":{}}}`, `converting field "customer.address.zip": null is not allowed for a required INT32`},
		{`{"amount":"AN4=","items":[{"qty":1},{"qty":40000}]}`, `converting field "items[1].qty": number 40000 is out of range for INT16`},
		{`{"amount":"AN4=","items":{}}`, `converting field "items": expected an array for ARRAY, got object`},
		{`{"amount":"AN4=","tags":{"k":1000}}`, `converting field "tags{k}": number 1000 is out of range for INT8`},
		{`{"amount":"AN4=","tags":[]}`, `converting field "tags": expected an object for a MAP with STRING keys, got array`},
		{`{"amount":"AN4=","byID":{}}`, `converting field "byID": expected an array of [key,value] pairs for a MAP with INT32 keys, got object`},
		{`{"amount":"AN4=","byID":[[1,"a"],[2]]}`, `converting field "byID[1]": expected a [key,value] pair for a map entry, got an array of 1 element`},
		{`{"amount":"AN4=","byID":[[1,"a",3]]}`, `converting field "byID[0]": expected a [key,value] pair for a map entry, got an array of more than 2 elements`},
		{`{"amount":"AN4=","byID":[["x","a"]]}`, `converting field "byID[0][0]": expected an integer for INT32, got string`},
		{`{"amount":"AN4=","customer":{"address":{"zip":1}} "x"}`, `JsonConverter: invalid JSON at offset`},
		{`{"amount":"AN4=","items":[{"qty":1},{"qty":1,}]}`, `converting field "items[1]": invalid JSON`},
	}
	for _, tc := range tests {
		_, err := c.ToConnect(ctx, "t", nil, env(order, tc.payload))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.payload, err, tc.want)
		}
		var de *DataError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DataError", tc.payload, err)
		}
	}
	for _, tc := range []struct{ schema, payload, want string }{
		{`{"type":"int8"}`, `300`, `number 300 is out of range for INT8`},
		{`{"type":"int8"}`, `12.0`, ``},
		{`{"type":"int8"}`, `1e4000000001`, `expected an integer for INT8, got number 1e4000000001`},
		{`{"type":"int64"}`, `1e2000000000`, `number 1e2000000000 is out of range for INT64`},
		{`{"type":"int64"}`, `1e-2000000000`, `expected an integer for INT64`},
		{`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`, `1e4000000001`, `does not fit a Decimal of scale 2`},
		{`{"type":"int64"}`, `9223372036854775808`, `out of range for INT64`},
		{`{"type":"int32","name":"org.apache.kafka.connect.data.Date"}`, `4294967296`, `out of range for Date`},
		{`{"type":"int32","name":"org.apache.kafka.connect.data.Time"}`, `86400001`, `not a number of milliseconds within a day`},
		{`{"type":"double"}`, `1e400`, `out of range for FLOAT64`},
		{`{"type":"float"}`, `1e39`, `out of range for FLOAT32`},
		{`{"type":"float"}`, `"1.5"`, `expected a number for FLOAT32, got string "1.5"`},
		{`{"type":"boolean"}`, `1`, `expected true or false for BOOLEAN, got number`},
		{`{"type":"string"}`, `1`, `expected a string for STRING, got number`},
		{`{"type":"struct","fields":[]}`, `[]`, `expected an object for STRUCT, got array`},
		{`{"type":"map","keys":{"type":"bytes"},"values":{"type":"int8"}}`, `[["AA==",1]]`, `cannot be held in a Go map`},
		{`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"}`, `"AA=="`, `no scale parameter`},
		{`{"type":"wat"}`, `1`, `invalid schema: unknown schema type "wat"`},
		{`{"optional":true}`, `1`, `invalid schema: schema must contain a "type" string`},
		{`[]`, `1`, `invalid schema: expected an object with a "type", got array`},
		{`{"type":"array"}`, `[]`, `array schema did not specify the element type`},
		{`{"type":"map","keys":{"type":"string"}}`, `{}`, `map schema did not specify the value type`},
		{`{"type":"struct","fields":{}}`, `{}`, `struct schema's "fields" is not an array`},
		{`{"type":"struct","fields":[{"type":"int8"}]}`, `{}`, `invalid schema at fields[0]: struct field has no "field" name`},
		{`{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"a"}]}`, `{}`, `duplicate field "a"`},
		{`{"type":"struct","fields":[{"type":"array","field":"a","items":{"type":"x"}}]}`, `{}`, `invalid schema at fields[0].items: unknown schema type "x"`},
		{`{"type":"int8","parameters":{"a":1}}`, `1`, `schema parameter "a" must have a string value`},
		{`{"type":"int8","default":"x"}`, `1`, `invalid schema: default value: expected an integer for INT8, got string`},
		{`{"type":"int8","version":99999999999}`, `1`, `version 99999999999 is out of range`},
		{`{"type":"struct","fields":[{"type":"int8","field":"a"}],"default":{"a":1}}`, `{"a":1}`, `invalid default value`},
		// Members the type does not use are ignored, as in Kafka Connect.
		{`{"type":"int32","items":{"type":"bogus"},"fields":7,"keys":null}`, `1`, ``},
		{`{"type":"array","items":{"type":"int8" "x"}}`, `[]`, `invalid JSON at offset`},
		{`{"type":"struct","fields":[{"type":"int8","field":"a"},{"type":"int8","field":"b"]}`, `{}`, `invalid JSON at offset`},
	} {
		_, err := c.ToConnect(ctx, "t", nil, env(tc.schema, tc.payload))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s %s: %v", tc.schema, tc.payload, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s:\n got %v\nwant %s", tc.schema, tc.payload, err, tc.want)
		}
	}
}

func TestJSONWriteErrors(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	m := connect.MapBuilder(connect.StringSchema, connect.Int32Schema).MustBuild()
	s := connect.StructBuilder().Field("m", m).Field("a", connect.ArrayBuilder(connect.Int8Schema).MustBuild()).MustBuild()
	other := connect.StructBuilder().Field("x", connect.Int8Schema).MustBuild()
	tests := []struct {
		s    *connect.Schema
		v    any
		want string
	}{
		{connect.Int32Schema, int64(5), `JsonConverter: expected Go type int32 for INT32, got int64`},
		{connect.DecimalSchema(2), connect.NewDecimal(1, 3), `Decimal 0.001 has scale 3 but its schema has scale 2`},
		{connect.DecimalSchema(2), 1.5, `expected Go type connect.Decimal for Decimal, got float64`},
		{connect.DateSchema, time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC), `must be midnight UTC`},
		{connect.TimeSchema, int32(5), `expected Go type time.Time for Time, got int32`},
		{m, map[string]any{"k": "v"}, `converting field "{k}": expected Go type int32 for INT32, got string`},
		{m, map[any]any{1: int32(1)}, `expected Go type string for a STRING map key, got int`},
		{s, map[string]any{}, `expected Go type *connect.Struct for STRUCT, got map[string]interface {}`},
		{s, connect.NewStruct(other), `does not match the field's schema`},
		{connect.ArrayBuilder(connect.Int8Schema).MustBuild(), []any{int8(1), nil}, `converting field "[1]": null is not allowed for a required INT8`},
		{connect.MapBuilder(connect.Int32Schema, connect.Int8Schema).MustBuild(), map[string]any{}, `expected Go type map[any]any for a MAP with INT32 keys`},
	}
	for _, tc := range tests {
		_, err := c.FromConnect(ctx, "t", nil, tc.s, tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %#v:\n got %v\nwant %s", tc.s, tc.v, err, tc.want)
		}
	}
	// Values nested in a struct name their path.
	st := connect.NewStruct(s).MustPut("m", map[string]any{}).MustPut("a", []any{int8(1)})
	bad := connect.NewStruct(connect.StructBuilder().Field("inner", s).MustBuild())
	_ = bad.Put("inner", st)
	if _, err := c.FromConnect(ctx, "t", nil, bad.Schema(), bad); err != nil {
		t.Errorf("valid nested struct: %v", err)
	}
}

func TestJSONConfig(t *testing.T) {
	cfg, err := JSONConfigFromProps(nil)
	if err != nil || cfg != (JSONConfig{DecimalFormat: "", SchemasCacheSize: 1000}) {
		t.Errorf("defaults: %+v %v", cfg, err)
	}
	cfg, err = JSONConfigFromProps(map[string]string{
		"schemas.enable": " FALSE ", "decimal.format": "numeric", "replace.null.with.default": "false",
		"schemas.cache.size": "5", "converter.type": "value", "unknown.prop": "x",
	})
	want := JSONConfig{SchemasDisabled: true, DecimalFormat: DecimalNumeric, KeepNulls: true, SchemasCacheSize: 5}
	if err != nil || cfg != want {
		t.Errorf("got %+v %v, want %+v", cfg, err, want)
	}
	back, err := JSONConfigFromProps(want.Props())
	if err != nil || back != want {
		t.Errorf("Props round trip: %+v %v", back, err)
	}
	for props, msg := range map[string]string{
		"schemas.enable=yes":              `schemas.enable: want true or false, got "yes"`,
		"replace.null.with.default=1":     `replace.null.with.default: want true or false, got "1"`,
		"decimal.format=HEX":              `decimal.format: want BASE64 or NUMERIC, got "HEX"`,
		"decimal.format=":                 `decimal.format: want BASE64 or NUMERIC, got ""`,
		"schemas.cache.size=lots":         `schemas.cache.size: want an integer, got "lots"`,
		"schemas.cache.size=99999999999a": `schemas.cache.size`,
	} {
		k, v, _ := strings.Cut(props, "=")
		_, err := JSONConfigFromProps(map[string]string{k: v})
		var ce *ConfigError
		if err == nil || !errors.As(err, &ce) || ce.Key != k || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v", props, err)
		}
	}
	if err := (JSONConfig{DecimalFormat: "x"}).Validate(); err == nil {
		t.Error("Validate accepted decimal format x")
	}
	// Kafka Connect 4.3.1 accepts schemas.cache.size=0 and below (it then
	// caches nothing); so does Sluice.
	if err := (JSONConfig{SchemasCacheSize: -1}).Validate(); err != nil {
		t.Errorf("Validate refused a negative cache size: %v", err)
	}
	for _, v := range []string{"0", "-1", "-5", " 5 "} {
		cfg, err := JSONConfigFromProps(map[string]string{PropSchemasCacheSize: v})
		if err != nil {
			t.Errorf("schemas.cache.size=%q: %v", v, err)
			continue
		}
		if _, err := NewJSON(cfg); err != nil {
			t.Errorf("schemas.cache.size=%q: NewJSON: %v", v, err)
		}
	}
	if _, err := JSONConfigFromProps(map[string]string{PropSchemasCacheSize: "abc"}); err == nil {
		t.Error("schemas.cache.size=abc accepted")
	}
	if _, err := NewJSON(JSONConfig{DecimalFormat: "numeric"}); err != nil {
		t.Errorf("lower-case decimal format: %v", err)
	}
	if c := mustJSON(t, JSONConfig{}); c.Config() != (JSONConfig{DecimalFormat: DecimalBase64, SchemasCacheSize: 1000}) {
		t.Errorf("Config() = %+v", c.Config())
	}
}

func TestJSONSchemaCacheBounded(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasCacheSize: 3})
	for i := 0; i < 20; i++ {
		s := connect.NewSchemaBuilder(connect.TypeInt32).Name(fmt.Sprintf("n%d", i)).MustBuild()
		b, err := c.FromConnect(ctx, "t", nil, s, int32(i))
		if err != nil {
			t.Fatal(err)
		}
		sv, err := c.ToConnect(ctx, "t", nil, b)
		if err != nil || sv.Schema.Name != s.Name || sv.Value != int32(i) {
			t.Fatalf("got %+v %v", sv, err)
		}
	}
	if n := c.toJSON.Len(); n > 3 {
		t.Errorf("toJSON cache holds %d entries", n)
	}
	if n := c.toConnect.m.Len(); n > 3 {
		t.Errorf("toConnect cache holds %d entries", n)
	}
	// Cached reads return the same schema pointer.
	in := []byte(`{"schema":{"type":"string"},"payload":"x"}`)
	a, _ := c.ToConnect(ctx, "t", nil, in)
	b, _ := c.ToConnect(ctx, "t", nil, in)
	if a.Schema != b.Schema {
		t.Error("schema not cached")
	}
}

func TestJSONConcurrent(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasCacheSize: 4})
	s, v := everything()
	want, err := c.FromConnect(ctx, "t", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				b, err := c.FromConnect(ctx, "t", nil, s, v)
				if err != nil || string(b) != string(want) {
					t.Errorf("concurrent write differs: %v", err)
					return
				}
				if _, err := c.ToConnect(ctx, "t", nil, b); err != nil {
					t.Error(err)
					return
				}
				// Churn the caches.
				o := connect.NewSchemaBuilder(connect.TypeInt8).Name(fmt.Sprint(g, i)).MustBuild()
				ob, _ := c.FromConnect(ctx, "t", nil, o, int8(1))
				if _, err := c.ToConnect(ctx, "t", nil, ob); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestJSONHeaders(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	b, err := c.FromConnectHeader(ctx, "t", "h", connect.Int32Schema, int32(3))
	if err != nil || string(b) != `{"schema":{"type":"int32","optional":false},"payload":3}` {
		t.Fatalf("got %s %v", b, err)
	}
	sv, err := c.ToConnectHeader(ctx, "t", "h", b)
	if err != nil || sv.Value != int32(3) {
		t.Fatalf("got %+v %v", sv, err)
	}
}

func TestJSONDoesNotAliasInput(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	in := []byte(`{"schema":{"type":"struct","fields":[{"type":"string","field":"s"},{"type":"bytes","field":"b"}]},"payload":{"s":"hello","b":"aGk="}}`)
	sv, err := c.ToConnect(ctx, "t", nil, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	st := sv.Value.(*connect.Struct)
	if s, _ := st.Get("s"); s != "hello" {
		t.Errorf("string aliased input: %q", s)
	}
	if b, _ := st.Get("b"); string(b.([]byte)) != "hi" {
		t.Errorf("bytes aliased input: %q", b)
	}
}

func TestJSONSchemaParseIsLinear(t *testing.T) {
	// A schema nested 900 levels deep, with a large sibling at the bottom,
	// parses in one pass (a re-scanning parser would take ~900× longer).
	c := mustJSON(t, JSONConfig{})
	wide := `{"type":"string","doc":"` + strings.Repeat("x", 1<<20) + `"}`
	schema := strings.Repeat(`{"type":"array","items":`, 900) + wide + strings.Repeat(`}`, 900)
	start := time.Now()
	if _, err := c.ToConnect(ctx, "t", nil, []byte(`{"schema":`+schema+`,"payload":null}`)); err == nil || !strings.Contains(err.Error(), "null is not allowed") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("parsing took %v", d)
	}
}

func TestJSONDepthLimit(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	deep := strings.Repeat("[", 1001) + strings.Repeat("]", 1001)
	if _, err := c.ToConnect(ctx, "t", nil, []byte(deep)); err == nil || !strings.Contains(err.Error(), "nesting deeper than 1000") {
		t.Errorf("got %v", err)
	}
	ok := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, err := c.ToConnect(ctx, "t", nil, []byte(ok)); err != nil {
		t.Errorf("1000 levels: %v", err)
	}
	if _, err := c.ToConnect(ctx, "t", nil, []byte("1"+strings.Repeat("0", 1000))); err == nil || !strings.Contains(err.Error(), "longer than 1000") {
		t.Errorf("long number: %v", err)
	}
}

func TestDecimalLiteral(t *testing.T) {
	for in, want := range map[string]string{"1.50": "1.50", "1e3": "1000", "-0.0": "0.0", "1.5E+2": "150", "12": "12", "+7": "7"} {
		lit, ok := javavalues.ParseLiteral(in)
		if !ok {
			t.Errorf("%s: not parsed", in)
			continue
		}
		d, ok := lit.BigDecimal()
		if !ok {
			t.Errorf("%s: no decimal", in)
			continue
		}
		f, _ := d.Rat().Float64()
		w, _ := new(big.Rat).SetString(want)
		if d.Rat().Cmp(w) != 0 {
			t.Errorf("%s: got %v (%v), want %s", in, d, f, want)
		}
	}
	for _, in := range []string{"", "-", ".", "1e", "1e+", "1.2.3", "abc", "1x", "1e4000000001"} {
		if _, ok := javavalues.ParseLiteral(in); ok {
			t.Errorf("%q parsed", in)
		}
	}
	if lit, _ := javavalues.ParseLiteral("1e999999999"); func() bool { _, ok := lit.Decimal(2); return ok }() {
		t.Error("huge rescale accepted")
	}
}

func TestJSONMapKeyOrder(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	// Mixed key types sort by type name, then by value.
	b, err := c.FromConnect(ctx, "t", nil, nil, map[any]any{
		int64(10): 1, int64(2): 2, 1.5: 3, -0.5: 4, true: 5, false: 6, "b": 7, "a": 8, uint8(3): 9,
		time.UnixMilli(5).UTC(): 10, time.UnixMilli(1).UTC(): 11,
	})
	want := `[[false,6],[true,5],[-0.5,4],[1.5,3],[2,2],[10,1],["a",8],["b",7],[1,11],[5,10],[3,9]]`
	if err != nil || string(b) != want {
		t.Errorf("got %s %v\nwant %s", b, err, want)
	}
	// Decimal keys sort by unscaled value and never expand their scale
	// (10^2000000000 would not fit in memory).
	dec := connect.DecimalSchema(-2000000000)
	s := connect.MapBuilder(dec, connect.Int8Schema).MustBuild()
	k1 := connect.Decimal{Unscaled: big.NewInt(2), Scale: -2000000000}
	k2 := connect.Decimal{Unscaled: big.NewInt(-1), Scale: -2000000000}
	env := mustJSON(t, JSONConfig{DecimalFormat: DecimalNumeric})
	b, err = env.FromConnect(ctx, "t", nil, s, map[any]any{k1: int8(1), k2: int8(2)})
	if err != nil || !strings.HasSuffix(string(b), `"payload":[[-1E+2000000000,2],[2E+2000000000,1]]}`) {
		t.Errorf("got %s %v", b, err)
	}
	if _, err := env.FromConnect(ctx, "t", nil, s, map[any]any{k1: "x"}); err == nil || !strings.Contains(err.Error(), `"{2E+2000000000}"`) {
		t.Errorf("error path: %v", err)
	}
	sv, err := env.ToConnect(ctx, "t", nil, b)
	if err != nil || len(sv.Value.(map[any]any)) != 2 {
		t.Fatalf("read back: %+v %v", sv, err)
	}
	for k, v := range sv.Value.(map[any]any) {
		if d := k.(connect.Decimal); !(d.Equal(k1) && v == int8(1)) && !(d.Equal(k2) && v == int8(2)) {
			t.Errorf("read back %v → %v", javafmt.BigDecimalString(d.Unscaled, d.Scale), v)
		}
	}
	// Struct keys sort by their rendering.
	ks := connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild()
	sm := connect.MapBuilder(ks, connect.Int8Schema).MustBuild()
	b, err = mustJSON(t, JSONConfig{}).FromConnect(ctx, "t", nil, sm, map[any]any{
		connect.NewStruct(ks).MustPut("a", int32(2)): int8(2), connect.NewStruct(ks).MustPut("a", int32(1)): int8(1),
	})
	if err != nil || !strings.HasSuffix(string(b), `"payload":[[{"a":1},1],[{"a":2},2]]}`) {
		t.Errorf("struct keys: %s %v", b, err)
	}
	// A nil key of an optional STRING key schema is written as "null", as
	// Jackson's asText() of a null node.
	om := connect.MapBuilder(connect.OptionalStringSchema, connect.Int8Schema).MustBuild()
	b, err = mustJSON(t, JSONConfig{SchemasDisabled: true}).FromConnect(ctx, "t", nil, om, map[any]any{nil: int8(1), "a": int8(2)})
	if err != nil || string(b) != `{"null":1,"a":2}` {
		t.Errorf("nil key: %s %v", b, err)
	}
}

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad integer " + s)
	}
	return n
}

// TestJSONDetectsUTF16AndUTF32: JSON in UTF-16 or UTF-32, with or without
// a byte order mark, reads as Kafka Connect's Jackson reads it (encoding
// detected from the first bytes); the expected values are Kafka Connect
// 4.3.1's.
func TestJSONDetectsUTF16AndUTF32(t *testing.T) {
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	obj := map[string]any{"a": "é"}
	tests := []struct {
		name string
		data []byte
		want any
	}{
		{"UTF-16BE", []byte("\x00{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\x00\"\x00}"), obj},
		{"UTF-16LE", []byte("{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\x00\"\x00}\x00"), obj},
		{"UTF-16 BOM", []byte("\xfe\xff\x00{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\x00\"\x00}"), obj},
		{"UTF-32BE", []byte("\x00\x00\x00{\x00\x00\x00\"\x00\x00\x00a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\"\x00\x00\x00}"), obj},
		{"UTF-32 BOM", []byte("\x00\x00\xfe\xff\x00\x00\x00{\x00\x00\x00\"\x00\x00\x00a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\"\x00\x00\x00}"), obj},
		{"UTF-16BE string", []byte("\x00\"\x00x\x00\""), "x"},
		{"UTF-16BE one digit", []byte("\x001"), int64(1)},
		{"UTF-16LE two digits", []byte("1\x002\x00"), int64(12)},
		{"UTF-8 BOM", []byte("\xef\xbb\xbf12"), int64(12)},
	}
	for _, tc := range tests {
		sv, err := c.ToConnect(t.Context(), "t", nil, tc.data)
		if err != nil || !connect.ValuesEqual(sv.Value, tc.want) {
			t.Errorf("%s: got %#v, %v; want %#v", tc.name, sv.Value, err, tc.want)
		}
	}
}
