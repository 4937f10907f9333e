package transforms

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

var maskSchema = connect.StructBuilder().
	Field("magic", connect.Int32Schema).
	Field("bool", connect.BooleanSchema).
	Field("byte", connect.Int8Schema).
	Field("short", connect.Int16Schema).
	Field("int", connect.Int32Schema).
	Field("long", connect.Int64Schema).
	Field("float", connect.Float32Schema).
	Field("double", connect.Float64Schema).
	Field("string", connect.StringSchema).
	Field("bytes", connect.BytesSchema).
	Field("date", connect.DateSchema).
	Field("time", connect.TimeSchema).
	Field("timestamp", connect.TimestampSchema).
	Field("decimal", connect.DecimalSchema(2)).
	Field("array", connect.ArrayBuilder(connect.Int32Schema).MustBuild()).
	Field("map", connect.MapBuilder(connect.StringSchema, connect.StringSchema).MustBuild()).
	Field("optional", connect.OptionalStringSchema).
	MustBuild()

func maskValues() map[string]any {
	return map[string]any{"magic": int32(42), "bool": true, "byte": int8(42), "short": int16(42), "int": int32(42),
		"long": int64(42), "float": float32(42), "double": float64(42), "string": "55.121.20.20", "bytes": []byte{1},
		"date": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "time": time.Date(1970, 1, 1, 1, 0, 0, 0, time.UTC),
		"timestamp": time.UnixMilli(1700000000000).UTC(), "decimal": connect.NewDecimal(4242, 2),
		"array": []any{int32(1), int32(2)}, "map": map[string]any{"k": "v"}}
}

func maskStruct() *connect.Struct {
	st := connect.NewStruct(maskSchema)
	for k, v := range maskValues() {
		st.MustPut(k, v)
	}
	return st
}

func TestMaskField(t *testing.T) {
	// bytes is not masked: Kafka Connect fails the record on it
	// (TestMaskFieldBytesFails).
	all := "bool,byte,short,int,long,float,double,string,date,time,timestamp,decimal,array,map,optional"
	want := map[string]any{"magic": int32(42), "bool": false, "byte": int8(0), "short": int16(0), "int": int32(0),
		"long": int64(0), "float": float32(0), "double": float64(0), "string": "", "bytes": []byte{1},
		"date": time.Unix(0, 0), "time": time.Unix(0, 0), "timestamp": time.Unix(0, 0), "decimal": connect.NewDecimal(0, 2),
		"array": []any{}, "map": map[string]any{}, "optional": nil}
	both(t, func(t *testing.T, p Part) {
		tr := must(maskFieldFactory(p)(map[string]string{"fields": all}))
		orig := maskStruct()
		out := mustApply(t, tr, withPart(sinkRec("t", maskSchema, orig), p))
		checkOther(t, out, p)
		s, v := p.get(out)
		if s != maskSchema {
			t.Fatal("schema changed")
		}
		for k, w := range want {
			eq(t, get(t, v, k), w)
		}
		if err := v.(*connect.Struct).Validate(); err != nil {
			t.Fatal(err)
		}
		eq(t, get(t, orig, "int"), int32(42))

		m := maskValues()
		out = mustApply(t, tr, withPart(sinkRec("t", nil, m), p))
		_, v = p.get(out)
		for k, w := range want {
			if k == "decimal" {
				w = connect.NewDecimal(0, 0) // schemaless: BigDecimal.ZERO, as Kafka Connect
			}
			eq(t, get(t, v, k), w)
		}
		if _, ok := v.(map[string]any)["optional"]; !ok {
			t.Fatal("absent masked field not set to null, as Kafka Connect does")
		}
		eq(t, m["int"], int32(42))
		// A null key or value fails (TestMaskFieldNullFails).
	})
}

func TestMaskFieldReplacement(t *testing.T) {
	for _, tc := range []struct {
		field string
		want  any
	}{
		{"byte", int8(123)}, {"short", int16(123)}, {"int", int32(123)}, {"long", int64(123)},
		{"float", float32(123)}, {"double", float64(123)}, {"string", "123"}, {"decimal", connect.NewDecimal(12300, 2)},
	} {
		tr := must(NewMaskField(MaskFieldConfig{Fields: []string{tc.field}, Replacement: "123"}, Value))
		eq(t, get(t, mustApply(t, tr, sinkRec("t", maskSchema, maskStruct())).Value, tc.field), tc.want)
		if tc.field != "decimal" {
			eq(t, get(t, mustApply(t, tr, sinkRec("t", nil, maskValues())).Value, tc.field), tc.want)
		}
	}
	for _, field := range []string{"bool", "date", "time", "timestamp", "array", "map", "bytes"} {
		tr := must(NewMaskField(MaskFieldConfig{Fields: []string{field}, Replacement: "123"}, Value))
		_, err := tr.Apply(ctx, sinkRec("t", maskSchema, maskStruct()))
		wantErr(t, err, "with custom replacement")
	}
	tr := must(NewMaskField(MaskFieldConfig{Fields: []string{"int"}, Replacement: "foo"}, Value))
	_, err := tr.Apply(ctx, sinkRec("t", nil, maskValues()))
	wantErr(t, err, "unable to convert foo (string) to number")
	tr = must(NewMaskField(MaskFieldConfig{Fields: []string{"decimal"}, Replacement: "1.234"}, Value))
	_, err = tr.Apply(ctx, sinkRec("t", maskSchema, maskStruct()))
	wantErr(t, err, "cannot be rescaled")
	_, err = maskFieldFactory(Value)(map[string]string{"fields": "a", "replacement": ""})
	wantErr(t, err, "replacement: must be non-empty")
	_, err = maskFieldFactory(Value)(map[string]string{})
	wantErr(t, err, "fields: missing required configuration")
	tr = must(NewMaskField(MaskFieldConfig{Fields: []string{"x"}}, Value))
	_, err = tr.Apply(ctx, sinkRec("t", nil, map[string]any{"x": struct{}{}}))
	wantErr(t, err, "cannot mask value of type: struct {}")
}

func TestSetSchemaMetadata(t *testing.T) {
	both(t, func(t *testing.T, p Part) {
		tr := must(setSchemaMetadataFactory(p)(map[string]string{"schema.name": "foo", "schema.version": "42"}))
		out := mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p))
		checkOther(t, out, p)
		s, v := p.get(out)
		if s.Name != "foo" || s.Version != 42 || s.Doc != "a person" || len(s.Fields) != 4 || personSchema.Name != "com.acme.Person" {
			t.Fatalf("schema %+v", s)
		}
		st := v.(*connect.Struct)
		if st.Schema() != s {
			t.Fatal("struct not rebuilt on the new schema")
		}
		eq(t, get(t, st, "name"), "Ann")
		eq(t, get(t, st, "age"), int32(18))
		if s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", personSchema, person()), p))); s2 != s {
			t.Fatal("schema not cached")
		}
		nameOnly := must(NewSetSchemaMetadata(SetSchemaMetadataConfig{SchemaName: "n"}, p))
		// Kafka Connect 4.3.1 lists the fields of any schema, failing
		// on every non-STRUCT one; Sluice fails alike.
		_, err := nameOnly.Apply(ctx, withPart(sinkRec("t", connect.OptionalInt64Schema, int64(5)), p))
		wantErr(t, err, "cannot list fields on non-struct type")
		out = mustApply(t, nameOnly, withPart(sinkRec("t", personSchema, nil), p))
		if s, v := p.get(out); s.Name != "n" || v != nil {
			t.Fatal("null value")
		}
		_, err = nameOnly.Apply(ctx, withPart(sinkRec("t", nil, map[string]any{}), p))
		wantErr(t, err, "schema required for [updating schema metadata]")
	})
	_, err := setSchemaMetadataFactory(Value)(map[string]string{})
	wantErr(t, err, "neither schema name nor version configured")
	_, err = setSchemaMetadataFactory(Value)(map[string]string{"schema.version": "x"})
	wantErr(t, err, `schema.version: invalid value "x": not a number of type INT`)
}

func TestFlatten(t *testing.T) {
	inner := connect.StructBuilder().Field("c", connect.Int32Schema).
		Field("d", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("dflt").MustBuild()).MustBuild()
	optInner := connect.StructBuilder().Optional().Field("x", connect.Int32Schema).MustBuild()
	arr := connect.ArrayBuilder(connect.Int32Schema).MustBuild()
	s := connect.StructBuilder().Name("Outer").
		Field("a", connect.Int32Schema).
		Field("b", connect.StructBuilder().Field("inner", inner).Field("dec", connect.DecimalSchema(2)).MustBuild()).
		Field("opt", optInner).
		Field("arr", arr).
		MustBuild()
	bSchema := s.Field("b").Schema
	st := connect.NewStruct(s).MustPut("a", int32(1)).
		MustPut("b", connect.NewStruct(bSchema).MustPut("inner", connect.NewStruct(inner).MustPut("c", int32(3))).MustPut("dec", connect.NewDecimal(1, 2))).
		MustPut("arr", []any{int32(1)})
	both(t, func(t *testing.T, p Part) {
		tr := must(flattenFactory(p)(map[string]string{"delimiter": "_"}))
		out := mustApply(t, tr, withPart(sinkRec("t", s, st), p))
		checkOther(t, out, p)
		os, v := p.get(out)
		names := []string{}
		for _, f := range os.Fields {
			names = append(names, f.Name)
		}
		if got := names; len(got) != 6 || got[0] != "a" || got[1] != "b_inner_c" || got[2] != "b_inner_d" || got[3] != "b_dec" || got[4] != "opt_x" || got[5] != "arr" {
			t.Fatalf("fields %v", names)
		}
		if os.Name != "Outer" || !os.Field("opt_x").Schema.Optional || os.Field("b_inner_c").Schema.Optional ||
			os.Field("b_inner_d").Schema.Default != "dflt" || os.Field("b_dec").Schema.Name != connect.DecimalName {
			t.Fatalf("field schemas wrong")
		}
		eq(t, get(t, v, "a"), int32(1))
		eq(t, get(t, v, "b_inner_c"), int32(3))
		eq(t, get(t, v, "b_inner_d"), "dflt")
		eq(t, get(t, v, "b_dec"), connect.NewDecimal(1, 2))
		eq(t, get(t, v, "opt_x"), nil)
		eq(t, get(t, v, "arr"), []any{int32(1)})
		if err := v.(*connect.Struct).Validate(); err != nil {
			t.Fatal(err)
		}
		if s2, _ := p.get(mustApply(t, tr, withPart(sinkRec("t", s, st), p))); s2 != os {
			t.Fatal("schema not cached")
		}

		m := map[string]any{"a": int32(1), "b": map[string]any{"inner": map[string]any{"c": int32(3)}, "n": nil}, "arr": []any{map[string]any{"k": 1}}}
		out = mustApply(t, tr, withPart(sinkRec("t", nil, m), p))
		_, v = p.get(out)
		eq(t, v, map[string]any{"a": int32(1), "b_inner_c": int32(3), "b_n": nil, "arr": []any{map[string]any{"k": 1}}})

		for _, sch := range []*connect.Schema{nil, s} {
			out = mustApply(t, tr, withPart(sinkRec("t", sch, nil), p))
			if os, v := p.get(out); os != sch || v != nil {
				t.Fatal("tombstone")
			}
		}
		_, err := tr.Apply(ctx, withPart(sinkRec("t", nil, map[string]any{"t": time.Now()}), p))
		wantErr(t, err, "Flatten transformation was passed a value of type time.Time")
	})
	def := must(NewFlatten(FlattenConfig{}, Value))
	out := mustApply(t, def, sinkRec("t", nil, map[string]any{"a": map[string]any{"b": int32(1)}}))
	eq(t, out.Value, map[string]any{"a.b": int32(1)})
}
