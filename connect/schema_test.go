package connect

import (
	"errors"
	"strings"
	"testing"
)

func TestTypeStringParseAndPrimitive(t *testing.T) {
	tests := []struct {
		typ       Type
		name      string
		primitive bool
	}{
		{TypeInt8, "INT8", true},
		{TypeInt16, "INT16", true},
		{TypeInt32, "INT32", true},
		{TypeInt64, "INT64", true},
		{TypeFloat32, "FLOAT32", true},
		{TypeFloat64, "FLOAT64", true},
		{TypeBoolean, "BOOLEAN", true},
		{TypeString, "STRING", true},
		{TypeBytes, "BYTES", true},
		{TypeArray, "ARRAY", false},
		{TypeMap, "MAP", false},
		{TypeStruct, "STRUCT", false},
	}
	if len(tests) != 12 {
		t.Fatalf("expected the twelve Connect types, table has %d", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.typ.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if got := tc.typ.IsPrimitive(); got != tc.primitive {
				t.Errorf("IsPrimitive() = %v, want %v", got, tc.primitive)
			}
			for _, in := range []string{tc.name, strings.ToLower(tc.name), strings.ToUpper(tc.name[:1]) + strings.ToLower(tc.name[1:])} {
				got, err := ParseType(in)
				if err != nil {
					t.Fatalf("ParseType(%q): %v", in, err)
				}
				if got != tc.typ {
					t.Errorf("ParseType(%q) = %v, want %v", in, got, tc.typ)
				}
			}
		})
	}
}

func TestTypeInvalid(t *testing.T) {
	for _, tc := range []struct {
		typ  Type
		want string
	}{
		{0, "Type(0)"},
		{13, "Type(13)"},
		{255, "Type(255)"},
	} {
		if got := tc.typ.String(); got != tc.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tc.typ), got, tc.want)
		}
		if tc.typ.IsPrimitive() {
			t.Errorf("Type(%d).IsPrimitive() = true", uint8(tc.typ))
		}
	}
	for _, in := range []string{"", "INT128", "int 32", "Type(0)", "LIST", "STRUCT "} {
		got, err := ParseType(in)
		if err == nil {
			t.Errorf("ParseType(%q) = %v, want error", in, got)
			continue
		}
		if got != 0 {
			t.Errorf("ParseType(%q) returned type %v with error", in, got)
		}
		if !strings.Contains(err.Error(), "unknown schema type") || !strings.Contains(err.Error(), "\""+in+"\"") {
			t.Errorf("ParseType(%q) error %q does not name the input", in, err)
		}
	}
}

func TestPredefinedSchemas(t *testing.T) {
	tests := []struct {
		name     string
		s        *Schema
		typ      Type
		optional bool
	}{
		{"Int8", Int8Schema, TypeInt8, false},
		{"Int16", Int16Schema, TypeInt16, false},
		{"Int32", Int32Schema, TypeInt32, false},
		{"Int64", Int64Schema, TypeInt64, false},
		{"Float32", Float32Schema, TypeFloat32, false},
		{"Float64", Float64Schema, TypeFloat64, false},
		{"Boolean", BooleanSchema, TypeBoolean, false},
		{"String", StringSchema, TypeString, false},
		{"Bytes", BytesSchema, TypeBytes, false},
		{"OptionalInt8", OptionalInt8Schema, TypeInt8, true},
		{"OptionalInt16", OptionalInt16Schema, TypeInt16, true},
		{"OptionalInt32", OptionalInt32Schema, TypeInt32, true},
		{"OptionalInt64", OptionalInt64Schema, TypeInt64, true},
		{"OptionalFloat32", OptionalFloat32Schema, TypeFloat32, true},
		{"OptionalFloat64", OptionalFloat64Schema, TypeFloat64, true},
		{"OptionalBoolean", OptionalBooleanSchema, TypeBoolean, true},
		{"OptionalString", OptionalStringSchema, TypeString, true},
		{"OptionalBytes", OptionalBytesSchema, TypeBytes, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			if s.Type != tc.typ || s.Optional != tc.optional {
				t.Fatalf("got type %v optional %v, want %v %v", s.Type, s.Optional, tc.typ, tc.optional)
			}
			if s.Name != "" || s.Version != 0 || s.Doc != "" || s.Default != nil || s.Parameters != nil ||
				s.Fields != nil || s.KeySchema != nil || s.ValueSchema != nil {
				t.Errorf("predefined schema has extra attributes: %+v", *s)
			}
			if IsLogical(s) {
				t.Error("predefined schema reported as logical")
			}
			// Equal to a freshly built schema of the same type and optionality.
			b := NewSchemaBuilder(tc.typ)
			if tc.optional {
				b.Optional()
			}
			if built := b.MustBuild(); !s.Equal(built) || !built.Equal(s) {
				t.Errorf("predefined %v not Equal to built %v", s, built)
			}
			wantStr := "Schema{" + tc.typ.String()
			if tc.optional {
				wantStr += ",optional"
			}
			wantStr += "}"
			if got := s.String(); got != wantStr {
				t.Errorf("String() = %q, want %q", got, wantStr)
			}
		})
	}
}

func TestSchemaBuilderStruct(t *testing.T) {
	address := StructBuilder().Name("com.acme.Address").
		Field("zip", StringSchema).
		Field("city", OptionalStringSchema).
		MustBuild()
	s, err := StructBuilder().
		Name("com.acme.Customer").
		Version(3).
		Doc("a customer").
		Field("id", Int64Schema).
		Field("name", StringSchema).
		Field("address", address).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != TypeStruct || s.Name != "com.acme.Customer" || s.Version != 3 || s.Doc != "a customer" || s.Optional {
		t.Fatalf("unexpected schema attributes: %+v", *s)
	}
	wantFields := []struct {
		name   string
		schema *Schema
	}{{"id", Int64Schema}, {"name", StringSchema}, {"address", address}}
	if len(s.Fields) != len(wantFields) {
		t.Fatalf("got %d fields, want %d", len(s.Fields), len(wantFields))
	}
	for i, w := range wantFields {
		f := s.Fields[i]
		if f.Name != w.name || f.Index != i || f.Schema != w.schema {
			t.Errorf("Fields[%d] = {%q %d %v}, want {%q %d %v}", i, f.Name, f.Index, f.Schema, w.name, i, w.schema)
		}
		got := s.Field(w.name)
		if got == nil {
			t.Fatalf("Field(%q) = nil", w.name)
		}
		if got != &s.Fields[i] {
			t.Errorf("Field(%q) does not point into Fields", w.name)
		}
	}
	if got := s.Field("ID"); got != nil {
		t.Errorf("Field lookup must be case-sensitive, got %+v", got)
	}
	if got := s.Field("missing"); got != nil {
		t.Errorf("Field(missing) = %+v, want nil", got)
	}
	if got := Int32Schema.Field("id"); got != nil {
		t.Errorf("Field on non-struct = %+v, want nil", got)
	}
	var nilSchema *Schema
	if got := nilSchema.Field("id"); got != nil {
		t.Errorf("Field on nil schema = %+v, want nil", got)
	}
	if got := s.String(); got != "Schema{com.acme.Customer:STRUCT}" {
		t.Errorf("String() = %q", got)
	}
	if got := s.Field("address").Schema.Field("city").Schema; got != OptionalStringSchema {
		t.Errorf("nested lookup = %v", got)
	}
}

func TestSchemaBuilderArrayAndMap(t *testing.T) {
	arr, err := ArrayBuilder(Int32Schema).Optional().Doc("scores").Build()
	if err != nil {
		t.Fatal(err)
	}
	if arr.Type != TypeArray || !arr.Optional || arr.ValueSchema != Int32Schema || arr.KeySchema != nil || arr.Doc != "scores" {
		t.Errorf("array schema = %+v", *arr)
	}
	m, err := MapBuilder(StringSchema, OptionalInt64Schema).Name("counts").Build()
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeMap || m.Optional || m.KeySchema != StringSchema || m.ValueSchema != OptionalInt64Schema || m.Name != "counts" {
		t.Errorf("map schema = %+v", *m)
	}
	if got := m.String(); got != "Schema{counts:MAP}" {
		t.Errorf("String() = %q", got)
	}
	nested := ArrayBuilder(ArrayBuilder(StringSchema).MustBuild()).MustBuild()
	if nested.ValueSchema.Type != TypeArray || nested.ValueSchema.ValueSchema != StringSchema {
		t.Errorf("nested array = %+v", *nested)
	}
	// Optional then Required: last call wins.
	if s := NewSchemaBuilder(TypeString).Optional().Required().MustBuild(); s.Optional {
		t.Error("Required() after Optional() left the schema optional")
	}
}

func TestSchemaBuilderErrors(t *testing.T) {
	tests := []struct {
		name    string
		b       *SchemaBuilder
		want    string
		invalid bool // error wraps a *ValidationError (invalid default)
	}{
		{"field on int32", NewSchemaBuilder(TypeInt32).Field("x", StringSchema), `cannot add field "x" to a INT32 schema`, false},
		{"field on array", ArrayBuilder(StringSchema).Field("x", StringSchema), `cannot add field "x" to a ARRAY schema`, false},
		{"field on map", MapBuilder(StringSchema, StringSchema).Field("x", StringSchema), `cannot add field "x" to a MAP schema`, false},
		{"duplicate field", StructBuilder().Field("a", Int32Schema).Field("b", Int32Schema).Field("a", StringSchema), `duplicate field "a"`, false},
		{"empty field name", StructBuilder().Field("", Int32Schema), "field name must not be empty", false},
		{"nil field schema", StructBuilder().Field("a", nil), `field "a" has no schema`, false},
		{"first error wins", StructBuilder().Field("a", Int32Schema).Field("a", Int32Schema).Field("", nil), `duplicate field "a"`, false},
		{"array without element", ArrayBuilder(nil), "array schema needs an element schema", false},
		{"map without key", MapBuilder(nil, StringSchema), "map schema needs key and value schemas", false},
		{"map without value", MapBuilder(StringSchema, nil), "map schema needs key and value schemas", false},
		{"zero type", NewSchemaBuilder(0), "invalid schema type 0", false},
		{"type out of range", NewSchemaBuilder(13), "invalid schema type 13", false},
		{"int32 default as int", NewSchemaBuilder(TypeInt32).DefaultValue(5), "invalid default value", true},
		{"int32 default as int64", NewSchemaBuilder(TypeInt32).DefaultValue(int64(5)), "expects Go type int32, got int64", true},
		{"string default as []byte", NewSchemaBuilder(TypeString).DefaultValue([]byte("x")), "expects Go type string, got []uint8", true},
		{"float32 default as float64", NewSchemaBuilder(TypeFloat32).DefaultValue(1.5), "expects Go type float32, got float64", true},
		{"array default with bad element", ArrayBuilder(Int32Schema).DefaultValue([]any{int32(1), "two"}), `field "[1]"`, true},
		{"decimal default wrong scale", DecimalBuilder(2).DefaultValue(NewDecimal(1, 3)), "Decimal has scale 3, schema has scale 2", true},
		{"date default as int32", DateBuilder().DefaultValue(int32(1)), "expects Go type time.Time, got int32", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.b.Build()
			if err == nil {
				t.Fatalf("Build() = %+v, want error containing %q", *s, tc.want)
			}
			if s != nil {
				t.Errorf("Build() returned a schema with the error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ve *ValidationError
			if got := errors.As(err, &ve); got != tc.invalid {
				t.Errorf("errors.As(*ValidationError) = %v, want %v (err %v)", got, tc.invalid, err)
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("MustBuild did not panic")
					}
				}()
				tc.b.MustBuild()
			}()
		})
	}
}

func TestSchemaBuilderValidDefaults(t *testing.T) {
	dec := NewDecimal(12345, 2)
	tests := []struct {
		name string
		b    *SchemaBuilder
		def  any
	}{
		{"int8", NewSchemaBuilder(TypeInt8), int8(-1)},
		{"int16", NewSchemaBuilder(TypeInt16), int16(300)},
		{"int32", NewSchemaBuilder(TypeInt32), int32(42)},
		{"int64", NewSchemaBuilder(TypeInt64), int64(1) << 40},
		{"float32", NewSchemaBuilder(TypeFloat32), float32(1.5)},
		{"float64", NewSchemaBuilder(TypeFloat64), 2.25},
		{"boolean", NewSchemaBuilder(TypeBoolean), true},
		{"string", NewSchemaBuilder(TypeString), "NL"},
		{"bytes", NewSchemaBuilder(TypeBytes), []byte{1, 2}},
		{"array", ArrayBuilder(StringSchema), []any{"a", "b"}},
		{"map", MapBuilder(StringSchema, Int32Schema), map[string]any{"a": int32(1)}},
		{"decimal", DecimalBuilder(2), dec},
		{"date", DateBuilder(), DaysToDate(10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.b.DefaultValue(tc.def).Build()
			if err != nil {
				t.Fatal(err)
			}
			if !ValuesEqual(s.Default, tc.def) {
				t.Errorf("Default = %v, want %v", s.Default, tc.def)
			}
			// A required schema with a default accepts nil.
			if err := ValidateValue(s, nil); err != nil {
				t.Errorf("ValidateValue(nil) with default: %v", err)
			}
		})
	}
	// DefaultValue(nil) means no default.
	s := NewSchemaBuilder(TypeInt32).DefaultValue(nil).MustBuild()
	if s.Default != nil {
		t.Errorf("Default = %v, want nil", s.Default)
	}
}

func TestSchemaBuilderParameters(t *testing.T) {
	b := NewSchemaBuilder(TypeString).
		Parameter("b", "1").
		Parameter("a", "2").
		Parameter("c", "3").
		Parameter("b", "replaced")
	s := b.MustBuild()
	want := Parameters{{"b", "replaced"}, {"a", "2"}, {"c", "3"}}
	if len(s.Parameters) != len(want) {
		t.Fatalf("Parameters = %v, want %v", s.Parameters, want)
	}
	for i := range want {
		if s.Parameters[i] != want[i] {
			t.Errorf("Parameters[%d] = %v, want %v", i, s.Parameters[i], want[i])
		}
	}
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{{"a", "2", true}, {"b", "replaced", true}, {"c", "3", true}, {"d", "", false}, {"B", "", false}} {
		v, ok := s.Parameters.Get(tc.key)
		if v != tc.val || ok != tc.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tc.key, v, ok, tc.val, tc.ok)
		}
	}

	// The built schema does not share parameter storage with the builder.
	b.Parameter("a", "changed").Parameter("z", "new")
	if v, _ := s.Parameters.Get("a"); v != "2" {
		t.Errorf("builder change leaked into built schema: a=%q", v)
	}
	if _, ok := s.Parameters.Get("z"); ok || len(s.Parameters) != 3 {
		t.Errorf("builder append leaked into built schema: %v", s.Parameters)
	}

	if s := NewSchemaBuilder(TypeString).MustBuild(); s.Parameters != nil {
		t.Errorf("schema without parameters has Parameters = %#v, want nil", s.Parameters)
	}
	var none Parameters
	if v, ok := none.Get("a"); v != "" || ok {
		t.Errorf("nil Parameters Get = %q, %v", v, ok)
	}
}

func TestSchemaBuilderReuseDoesNotAlias(t *testing.T) {
	b := StructBuilder().Field("a", Int32Schema)
	s1 := b.MustBuild()
	b.Field("b", StringSchema)
	s2 := b.MustBuild()
	if len(s1.Fields) != 1 || len(s2.Fields) != 2 {
		t.Fatalf("fields: s1=%d s2=%d, want 1 and 2", len(s1.Fields), len(s2.Fields))
	}
	if s1.Field("b") != nil {
		t.Error("field added after Build leaked into the earlier schema")
	}
	if s2.Fields[1].Index != 1 {
		t.Errorf("second field index = %d", s2.Fields[1].Index)
	}
}

func TestFromSchema(t *testing.T) {
	orig := StructBuilder().Name("v1").Version(1).Parameter("p", "1").
		Field("id", Int64Schema).MustBuild()
	derived := FromSchema(orig).Name("v2").Version(2).Parameter("p", "2").Parameter("q", "x").
		Field("extra", OptionalStringSchema).Optional().MustBuild()

	if orig.Name != "v1" || orig.Version != 1 || orig.Optional || len(orig.Fields) != 1 {
		t.Errorf("original changed: %+v", *orig)
	}
	if v, _ := orig.Parameters.Get("p"); v != "1" || len(orig.Parameters) != 1 {
		t.Errorf("original parameters changed: %v", orig.Parameters)
	}
	if derived.Name != "v2" || derived.Version != 2 || !derived.Optional || len(derived.Fields) != 2 {
		t.Errorf("derived = %+v", *derived)
	}
	if f := derived.Field("extra"); f == nil || f.Index != 1 {
		t.Errorf("derived extra field = %+v", f)
	}
	if v, _ := derived.Parameters.Get("p"); v != "2" {
		t.Errorf("derived p = %q", v)
	}
	if derived.Equal(orig) {
		t.Error("derived Equal original")
	}
	if same := FromSchema(orig).MustBuild(); !same.Equal(orig) || same == orig {
		t.Errorf("FromSchema(orig).Build() = %+v, want an equal copy", *same)
	}
	if _, err := FromSchema(Int32Schema).Field("x", Int32Schema).Build(); err == nil {
		t.Error("FromSchema(INT32).Field: want error")
	}
}

func TestSchemaEqual(t *testing.T) {
	base := func() *SchemaBuilder {
		return StructBuilder().Name("n").Version(1).Doc("d").Parameter("k", "v").
			Field("a", Int32Schema).
			Field("m", MapBuilder(StringSchema, ArrayBuilder(Int64Schema).MustBuild()).MustBuild())
	}
	ref := base().MustBuild()
	tests := []struct {
		name  string
		other *Schema
		equal bool
	}{
		{"same pointer", ref, true},
		{"rebuilt", base().MustBuild(), true},
		{"nil", nil, false},
		{"optional", base().Optional().MustBuild(), false},
		{"name", base().Name("other").MustBuild(), false},
		{"version", base().Version(2).MustBuild(), false},
		{"doc", base().Doc("other").MustBuild(), false},
		{"parameter value", base().Parameter("k", "w").MustBuild(), false},
		{"extra parameter", base().Parameter("k2", "v").MustBuild(), false},
		{"extra field", base().Field("b", Int32Schema).MustBuild(), false},
		{"type", NewSchemaBuilder(TypeMap).Name("n").Version(1).Doc("d").Parameter("k", "v").MustBuild(), false},
		{"field name", StructBuilder().Name("n").Version(1).Doc("d").Parameter("k", "v").
			Field("A", Int32Schema).
			Field("m", MapBuilder(StringSchema, ArrayBuilder(Int64Schema).MustBuild()).MustBuild()).MustBuild(), false},
		{"field schema", StructBuilder().Name("n").Version(1).Doc("d").Parameter("k", "v").
			Field("a", OptionalInt32Schema).
			Field("m", MapBuilder(StringSchema, ArrayBuilder(Int64Schema).MustBuild()).MustBuild()).MustBuild(), false},
		{"nested map key", StructBuilder().Name("n").Version(1).Doc("d").Parameter("k", "v").
			Field("a", Int32Schema).
			Field("m", MapBuilder(Int32Schema, ArrayBuilder(Int64Schema).MustBuild()).MustBuild()).MustBuild(), false},
		{"nested array element", StructBuilder().Name("n").Version(1).Doc("d").Parameter("k", "v").
			Field("a", Int32Schema).
			Field("m", MapBuilder(StringSchema, ArrayBuilder(Int32Schema).MustBuild()).MustBuild()).MustBuild(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ref.Equal(tc.other); got != tc.equal {
				t.Errorf("ref.Equal(other) = %v, want %v", got, tc.equal)
			}
			if got := tc.other.Equal(ref); got != tc.equal {
				t.Errorf("other.Equal(ref) = %v, want %v (not symmetric)", got, tc.equal)
			}
		})
	}

	var n1, n2 *Schema
	if !n1.Equal(n2) {
		t.Error("nil.Equal(nil) = false")
	}
	// Defaults are compared by value (bytes by content).
	d1 := NewSchemaBuilder(TypeBytes).DefaultValue([]byte{1, 2}).MustBuild()
	d2 := NewSchemaBuilder(TypeBytes).DefaultValue([]byte{1, 2}).MustBuild()
	d3 := NewSchemaBuilder(TypeBytes).DefaultValue([]byte{1, 3}).MustBuild()
	if !d1.Equal(d2) || d1.Equal(d3) || d1.Equal(BytesSchema) {
		t.Error("defaults not compared by content")
	}
	// Decimal logical schemas with different scales differ.
	if DecimalSchema(2).Equal(DecimalSchema(3)) || !DecimalSchema(2).Equal(DecimalSchema(2)) {
		t.Error("Decimal schemas compared wrongly")
	}
}

func TestSchemaStringNil(t *testing.T) {
	var s *Schema
	if got := s.String(); got != "Schema{null}" {
		t.Errorf("nil String() = %q", got)
	}
	if got := DecimalBuilder(2).Optional().MustBuild().String(); got != "Schema{"+DecimalName+":BYTES,optional}" {
		t.Errorf("String() = %q", got)
	}
}

// TestSchemaEmptyMetadataSet checks that a name or doc of "" and a version of
// 0 set through the builder are kept apart from none, as Kafka Connect's
// SchemaBuilder and ConnectSchema.equals (Objects.equals: "" ≠ null,
// 0 ≠ null) do, and that struct literals without the flags keep their
// meaning.
func TestSchemaEmptyMetadataSet(t *testing.T) {
	none := NewSchemaBuilder(TypeInt32).MustBuild()
	if none.NameSet() || none.VersionSet() || none.DocSet() {
		t.Fatalf("builder without metadata: NameSet %v VersionSet %v DocSet %v, want all false",
			none.NameSet(), none.VersionSet(), none.DocSet())
	}
	empty := NewSchemaBuilder(TypeInt32).Name("").Version(0).Doc("").MustBuild()
	if !empty.HasName || !empty.HasVersion || !empty.HasDoc || !empty.NameSet() || !empty.VersionSet() || !empty.DocSet() {
		t.Fatalf("Name(\"\").Version(0).Doc(\"\"): %+v, want all three set", *empty)
	}
	if none.Equal(empty) || empty.Equal(none) {
		t.Fatal("schema with name \"\", version 0, doc \"\" equals one without metadata")
	}
	for _, tc := range []struct {
		name string
		b    *SchemaBuilder
	}{
		{"name", NewSchemaBuilder(TypeInt32).Name("")},
		{"version", NewSchemaBuilder(TypeInt32).Version(0)},
		{"doc", NewSchemaBuilder(TypeInt32).Doc("")},
	} {
		s := tc.b.MustBuild()
		if s.Equal(none) || none.Equal(s) {
			t.Errorf("%s set to its zero value equals unset", tc.name)
		}
		if s.Equal(empty) {
			t.Errorf("only %s set equals all three set", tc.name)
		}
		if !s.Equal(tc.b.MustBuild()) {
			t.Errorf("%s set to its zero value does not equal itself", tc.name)
		}
	}
	if !empty.Equal(&Schema{Type: TypeInt32, HasName: true, HasVersion: true, HasDoc: true}) {
		t.Error("builder schema with \"\"/0 metadata differs from the literal with the flags")
	}
	if !none.Equal(Int32Schema) {
		t.Error("builder schema without metadata differs from Int32Schema")
	}

	// A non-zero value is set whatever its flag says; setting one clears
	// the flag, so such schemas equal the literals written before the
	// flags existed.
	named := NewSchemaBuilder(TypeInt32).Name("").Name("n").Version(0).Version(3).Doc("").Doc("d").MustBuild()
	if named.HasName || named.HasVersion || named.HasDoc {
		t.Errorf("non-zero metadata after zero values: flags %v %v %v, want cleared", named.HasName, named.HasVersion, named.HasDoc)
	}
	literal := &Schema{Type: TypeInt32, Name: "n", Version: 3, Doc: "d"}
	if !named.Equal(literal) || !literal.Equal(&Schema{Type: TypeInt32, Name: "n", Version: 3, Doc: "d", HasName: true, HasVersion: true, HasDoc: true}) {
		t.Error("non-zero metadata compared by flag, want by value")
	}
	if !literal.NameSet() || !literal.VersionSet() || !literal.DocSet() {
		t.Error("literal with non-zero metadata not set")
	}

	// FromSchema copies the flags; nested schemas are compared the same way.
	if c := FromSchema(empty).MustBuild(); !c.Equal(empty) || !c.HasName || !c.HasVersion || !c.HasDoc {
		t.Errorf("FromSchema lost the flags: %+v", *c)
	}
	s1 := StructBuilder().Field("f", empty).MustBuild()
	s2 := StructBuilder().Field("f", none).MustBuild()
	if s1.Equal(s2) {
		t.Error("structs whose field schemas differ only in \"\"/0 metadata are equal")
	}

	// String prints a set "" name as Kafka Connect's ConnectSchema.toString.
	if got := NewSchemaBuilder(TypeStruct).Name("").MustBuild().String(); got != "Schema{:STRUCT}" {
		t.Errorf("String of a STRUCT named \"\" = %q, want Schema{:STRUCT}", got)
	}
	if got := StructBuilder().MustBuild().String(); got != "Schema{STRUCT}" {
		t.Errorf("String of an unnamed STRUCT = %q, want Schema{STRUCT}", got)
	}
}
