package transforms

import (
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

func TestCastWholeValue(t *testing.T) {
	ts := time.Date(2024, 1, 31, 12, 30, 0, 5e6, time.UTC)
	tests := []struct {
		spec       string
		schema     *connect.Schema // nil: schemaless
		in, want   any
		wantSchema *connect.Schema
	}{
		{"int8", connect.Int32Schema, int32(42), int8(42), connect.Int8Schema},
		{"int8", connect.Int32Schema, int32(300), int8(44), connect.Int8Schema}, // narrowing
		{"int16", connect.Int64Schema, int64(-70000), int16(-4464), connect.Int16Schema},
		{"int32", connect.Float64Schema, 3.99, int32(3), connect.Int32Schema},
		{"int32", connect.Float64Schema, 1e20, int32(math.MaxInt32), connect.Int32Schema},
		{"int8", connect.Float64Schema, 1e20, int8(-1), connect.Int8Schema},
		{"int64", connect.Float32Schema, float32(-2.5), int64(-2), connect.Int64Schema},
		{"int64", connect.Float64Schema, math.NaN(), int64(0), connect.Int64Schema},
		{"float32", connect.Int32Schema, int32(42), float32(42), connect.Float32Schema},
		{"float64", connect.Float32Schema, float32(0.1), float64(float32(0.1)), connect.Float64Schema},
		{"boolean", connect.Int32Schema, int32(42), true, connect.BooleanSchema},
		{"boolean", connect.Int32Schema, int32(0), false, connect.BooleanSchema},
		{"boolean", connect.Float64Schema, 0.5, false, connect.BooleanSchema}, // longValue() != 0
		{"int32", connect.BooleanSchema, true, int32(1), connect.Int32Schema},
		{"float64", connect.BooleanSchema, false, float64(0), connect.Float64Schema},
		{"string", connect.Int32Schema, int32(42), "42", connect.StringSchema},
		{"string", connect.Float64Schema, 42.0, "42.0", connect.StringSchema},
		{"string", connect.Float64Schema, 1e10, "1.0E10", connect.StringSchema},
		{"string", connect.Float32Schema, float32(0.0001), "1.0E-4", connect.StringSchema},
		{"string", connect.Float64Schema, 123.456, "123.456", connect.StringSchema},
		{"string", connect.BooleanSchema, true, "true", connect.StringSchema},
		{"string", connect.BytesSchema, []byte("hello"), "aGVsbG8=", connect.StringSchema},
		{"int32", connect.StringSchema, "42", int32(42), connect.Int32Schema},
		{"int8", connect.StringSchema, "-42", int8(-42), connect.Int8Schema},
		{"float32", connect.StringSchema, "1.5", float32(1.5), connect.Float32Schema},
		{"boolean", connect.StringSchema, "TRUE", true, connect.BooleanSchema},
		{"boolean", connect.StringSchema, "yes", false, connect.BooleanSchema},
		{"string", connect.DecimalSchema(2), connect.NewDecimal(4200, 2), "42.00", connect.StringSchema},
		{"string", connect.DecimalSchema(9), connect.NewDecimal(1, 9), "1E-9", connect.StringSchema},
		{"int32", connect.DecimalSchema(2), connect.NewDecimal(-4299, 2), int32(-42), connect.Int32Schema},
		{"float64", connect.DecimalSchema(2), connect.NewDecimal(4250, 2), 42.5, connect.Float64Schema},
		// Scales off the wire cost nothing in proportion to their size.
		{"int64", connect.DecimalSchema(-63), connect.NewDecimal(1, -63), int64(math.MinInt64), connect.Int64Schema},
		{"int64", connect.DecimalSchema(-2000000000), connect.NewDecimal(3, -2000000000), int64(0), connect.Int64Schema},
		{"int32", connect.DecimalSchema(2000000000), connect.NewDecimal(3, 2000000000), int32(0), connect.Int32Schema},
		{"float64", connect.DecimalSchema(-2000000000), connect.NewDecimal(-3, -2000000000), math.Inf(-1), connect.Float64Schema},
		{"string", connect.DecimalSchema(-2000000000), connect.NewDecimal(3, -2000000000), "3E+2000000000", connect.StringSchema},
		{"int64", connect.TimestampSchema, ts, ts.UnixMilli(), connect.Int64Schema},
		{"int32", connect.DateSchema, time.Date(1970, 1, 3, 0, 0, 0, 0, time.UTC), int32(2), connect.Int32Schema},
		{"string", connect.TimestampSchema, ts, "2024-01-31T12:30:00.005Z", connect.StringSchema},
		{"string", connect.DateSchema, time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), "2024-01-31", connect.StringSchema},
		{"string", connect.TimeSchema, time.Date(1970, 1, 1, 1, 2, 3, 4e6, time.UTC), "01:02:03.004Z", connect.StringSchema},
		// schemaless
		{"int8", nil, int32(42), int8(42), nil},
		{"string", nil, int64(42), "42", nil},
		{"boolean", nil, "true", true, nil},
		{"float64", nil, "1e3", 1000.0, nil},
	}
	for _, tc := range tests {
		both(t, func(t *testing.T, p Part) {
			tr := must(castFactory(p)(map[string]string{"spec": tc.spec}))
			out, err := tr.Apply(ctx, withPart(sinkRec("t", tc.schema, tc.in), p))
			if err != nil {
				t.Fatalf("%s %v → %s: %v", tc.schema, tc.in, tc.spec, err)
			}
			s, v := p.get(out)
			if !connect.ValuesEqual(v, tc.want) {
				t.Errorf("%s %v → %s: got %#v, want %#v", tc.schema, tc.in, tc.spec, v, tc.want)
			}
			if !s.Equal(tc.wantSchema) {
				t.Errorf("%s → %s: schema %v", tc.schema, tc.spec, s)
			}
		})
	}
}

func TestCastWholeValueSchemaBasics(t *testing.T) {
	in := connect.NewSchemaBuilder(connect.TypeInt32).Name("my.Int").Version(3).Doc("d").Parameter("k", "v").
		Optional().DefaultValue(int32(300)).MustBuild()
	tr := must(NewCast(CastConfig{Type: connect.TypeInt8}, Value))
	out := mustApply(t, tr, sinkRec("t", in, int32(1)))
	s := out.ValueSchema
	if s.Type != connect.TypeInt8 || s.Name != "my.Int" || s.Version != 3 || s.Doc != "d" || !s.Optional || s.Default != int8(44) {
		t.Fatalf("schema %+v", s)
	}
	if v, _ := s.Parameters.Get("k"); v != "v" {
		t.Fatal("parameters not copied")
	}
	if out2 := mustApply(t, tr, sinkRec("t", in, int32(2))); out2.ValueSchema != s {
		t.Fatal("schema not cached")
	}
	// A logical type's name is not carried onto the cast type.
	out = mustApply(t, must(NewCast(CastConfig{Type: connect.TypeString}, Value)), sinkRec("t", connect.TimestampSchema, time.UnixMilli(0)))
	if out.ValueSchema.Name != "" {
		t.Fatalf("logical name kept: %v", out.ValueSchema)
	}
}

var castSchema = connect.StructBuilder().Name("Rec").
	Field("int8", connect.Int8Schema).
	Field("int16", connect.OptionalInt16Schema).
	Field("int32", connect.NewSchemaBuilder(connect.TypeInt32).DefaultValue(int32(2)).MustBuild()).
	Field("int64", connect.Int64Schema).
	Field("float32", connect.Float32Schema).
	Field("float64", connect.Float64Schema).
	Field("boolean", connect.BooleanSchema).
	Field("string", connect.StringSchema).
	Field("bigdecimal", connect.DecimalSchema(1)).
	Field("timestamp", connect.TimestampSchema).
	Field("optional", connect.OptionalInt32Schema).
	Field("untouched", connect.StringSchema).
	MustBuild()

func TestCastFields(t *testing.T) {
	spec := "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32," +
		"bigdecimal:string,timestamp:int64,optional:int32"
	ts := time.UnixMilli(1700000000000).UTC()
	st := connect.NewStruct(castSchema).MustPut("int8", int8(8)).MustPut("int16", int16(16)).MustPut("int64", int64(64)).
		MustPut("float32", float32(32)).MustPut("float64", float64(-64)).MustPut("boolean", true).MustPut("string", "42").
		MustPut("bigdecimal", connect.NewDecimal(425, 1)).MustPut("timestamp", ts).MustPut("untouched", "x")
	m := map[string]any{"int8": int8(8), "int16": int16(16), "int32": int32(2), "int64": int64(64), "float32": float32(32),
		"float64": float64(-64), "boolean": true, "string": "42", "untouched": "x"}
	want := map[string]any{"int8": int16(8), "int16": int32(16), "int32": int64(2), "int64": true, "float32": float64(32),
		"float64": true, "boolean": int8(1), "string": int32(42), "untouched": "x"}
	both(t, func(t *testing.T, p Part) {
		tr := must(castFactory(p)(map[string]string{"spec": spec}))
		out := mustApply(t, tr, withPart(sinkRec("t", castSchema, st), p))
		checkOther(t, out, p)
		s, v := p.get(out)
		for name, w := range want {
			eq(t, get(t, v, name), w)
		}
		eq(t, get(t, v, "bigdecimal"), "42.5")
		eq(t, get(t, v, "timestamp"), int64(1700000000000))
		eq(t, get(t, v, "optional"), nil)
		if !s.Field("int16").Schema.Optional || s.Field("int8").Schema.Optional || s.Name != "Rec" {
			t.Fatal("optionality not kept")
		}
		if d := s.Field("int32").Schema.Default; d != int64(2) {
			t.Fatalf("default not cast: %#v", d)
		}
		if s.Field("untouched").Schema != connect.StringSchema {
			t.Fatal("untouched field schema changed")
		}
		if err := v.(*connect.Struct).Validate(); err != nil {
			t.Fatal(err)
		}
		s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", castSchema, st), p)))
		if s2 != s {
			t.Fatal("schema not cached")
		}

		out = mustApply(t, tr, withPart(sinkRec("t", nil, m), p))
		_, v = p.get(out)
		for name, w := range want {
			eq(t, get(t, v, name), w)
		}
		if len(m) != 9 || m["int8"] != int8(8) {
			t.Fatal("input modified")
		}
		// Null values pass through.
		out = mustApply(t, tr, withPart(sinkRec("t", castSchema, nil), p))
		if s, v := p.get(out); s != castSchema || v != nil {
			t.Fatal("null value")
		}
	})
}

func TestCastErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "spec: must specify at least one field to cast"},
		{"int32,int64", "may only specify a single cast"},
		{"a:int32,int64", "may only specify a single cast"},
		{"a:foo", "spec: invalid type found in casting spec: foo"},
		{"bytes", "Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"},
		{"a:b:c", `invalid cast mapping: "a:b:c"`},
	} {
		_, err := castFactory(Value)(map[string]string{"spec": tc.spec})
		wantErr(t, err, tc.want)
	}
	_, err := castFactory(Value)(map[string]string{})
	wantErr(t, err, `spec: missing required configuration "spec"`)

	for _, tc := range []struct {
		spec   string
		schema *connect.Schema
		v      any
		want   string
	}{
		{"int8", connect.StringSchema, "300", "value (300) was out of range for requested data type INT8"},
		{"int32", connect.StringSchema, "abc", "value (abc) was out of range"},
		{"int32", connect.BytesSchema, []byte{1}, "unexpected type in Cast transformation: []uint8"},
		{"int32", nil, []any{1}, "Cast transformation does not support casting from ARRAY"},
		{"int32", nil, time.Now(), "Cast transformation was passed a value of type time.Time which is not supported"},
		{"int32", connect.StructBuilder().Field("a", connect.Int32Schema).MustBuild(), nil, ""},
	} {
		tr := must(castFactory(Value)(map[string]string{"spec": tc.spec}))
		v := tc.v
		if tc.want == "" {
			v = connect.NewStruct(tc.schema).MustPut("a", int32(1))
			tc.want = "Cast transformation does not support casting from STRUCT"
		}
		_, err := tr.Apply(ctx, sinkRec("t", tc.schema, v))
		wantErr(t, err, tc.want)
	}
	tr := must(castFactory(Value)(map[string]string{"spec": "a:int32"}))
	_, err = tr.Apply(ctx, sinkRec("t", nil, "str"))
	wantErr(t, err, "[cast types], found: string")
}

// A schemaless map with keys of other types is a Map to Kafka Connect: the
// named entries are cast, the others kept.
func TestCastMapWithOtherKeys(t *testing.T) {
	tr := must(castFactory(Value)(map[string]string{"spec": "a:string,b:int32"}))
	out := mustApply(t, tr, &connect.Record{Topic: "t", Value: map[any]any{true: 1.5, "a": int64(5)}})
	got := out.Value.(map[any]any)
	if len(got) != 3 || got[true] != 1.5 || got["a"] != "5" || got["b"] != nil {
		t.Fatalf("cast %v", got)
	}
}

// A string cast to an integer type is read as Java's Byte/Short/Integer/
// Long.parseXxx reads it: any Unicode decimal digit of the BMP counts
// (Character.digit), as in Kafka Connect 4.3.1 ("൯" is 9); a character
// outside the BMP or a float form does not.
func TestCastStringUnicodeDigits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		typ  connect.Type
		want any
	}{
		{"൯", connect.TypeInt64, int64(9)},
		{"-١٢٣", connect.TypeInt32, int32(-123)},
		{"+١٢", connect.TypeInt16, int16(12)},
		{"１２７", connect.TypeInt8, int8(127)},
		{"１２８", connect.TypeInt8, nil},
		{"\U0001D7D7", connect.TypeInt32, nil}, // MATHEMATICAL BOLD DIGIT NINE: two UTF-16 units in Java
		{"1.0", connect.TypeInt32, nil},
		{"+", connect.TypeInt32, nil},
		{"0x10", connect.TypeInt64, nil},
		{"1_000", connect.TypeInt64, nil},
	} {
		got, err := castValue(connect.StringSchema, tc.in, tc.typ)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q to %s: %v, want an error", tc.in, tc.typ, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q to %s: %v (%T), %v; want %v", tc.in, tc.typ, got, got, err, tc.want)
		}
	}
}
