package connect

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// validationErr asserts that err is a *ValidationError with the given path and
// a reason containing want.
func validationErr(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want *ValidationError at %q containing %q", path, want)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if ve.Path != path {
		t.Errorf("Path = %q, want %q (err: %v)", ve.Path, path, err)
	}
	if !strings.Contains(ve.Reason, want) {
		t.Errorf("Reason %q does not contain %q", ve.Reason, want)
	}
	if ve.Schema == nil {
		t.Error("ValidationError.Schema is nil")
	}
}

func TestValidateValuePrimitives(t *testing.T) {
	tests := []struct {
		name   string
		schema *Schema
		good   any
		bad    []any
		goType string
	}{
		{"int8", Int8Schema, int8(-128), []any{int(1), int16(1), uint8(1), "1"}, "int8"},
		{"int16", Int16Schema, int16(32767), []any{int(1), int8(1), int32(1)}, "int16"},
		{"int32", Int32Schema, int32(1), []any{int(1), int64(1), int16(1), float32(1), uint32(1)}, "int32"},
		{"int64", Int64Schema, int64(-1), []any{int(1), int32(1), uint64(1), 1.0}, "int64"},
		{"float32", Float32Schema, float32(0.5), []any{0.5, int32(1)}, "float32"},
		{"float64", Float64Schema, 0.5, []any{float32(0.5), int64(1)}, "float64"},
		{"boolean", BooleanSchema, false, []any{"true", 1}, "bool"},
		{"string", StringSchema, "", []any{[]byte("x"), 'x', Decimal{}}, "string"},
		{"bytes", BytesSchema, []byte{}, []any{"x", []int8{1}, [2]byte{}}, "[]byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateValue(tc.schema, tc.good); err != nil {
				t.Errorf("ValidateValue(%T) = %v, want nil", tc.good, err)
			}
			for _, bad := range tc.bad {
				err := ValidateValue(tc.schema, bad)
				validationErr(t, err, "", tc.schema.Type.String()+" schema expects Go type "+tc.goType)
				if err != nil && !strings.HasPrefix(err.Error(), "connect: invalid value: ") {
					t.Errorf("top-level error text %q", err)
				}
			}
		})
	}
}

func TestValidateValueNil(t *testing.T) {
	withDefault := NewSchemaBuilder(TypeString).DefaultValue("x").MustBuild()
	tests := []struct {
		name   string
		schema *Schema
		ok     bool
		reason string
	}{
		{"required primitive", StringSchema, false, "null used for required STRING schema"},
		{"optional primitive", OptionalStringSchema, true, ""},
		{"required with default", withDefault, true, ""},
		{"required struct", StructBuilder().Name("com.acme.X").MustBuild(), false, "null used for required STRUCT schema com.acme.X"},
		{"optional struct", StructBuilder().Optional().MustBuild(), true, ""},
		{"required array", ArrayBuilder(Int32Schema).MustBuild(), false, "null used for required ARRAY schema"},
		{"required decimal", DecimalSchema(2), false, "null used for required BYTES schema " + DecimalName},
		{"optional date", DateBuilder().Optional().MustBuild(), true, ""},
		{"nil schema (schemaless)", nil, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateValue(tc.schema, nil)
			if tc.ok {
				if err != nil {
					t.Errorf("ValidateValue(nil) = %v, want nil", err)
				}
				return
			}
			validationErr(t, err, "", tc.reason)
		})
	}
	// A nil schema accepts any value at all.
	for _, v := range []any{1, "x", struct{}{}, []int{1}} {
		if err := ValidateValue(nil, v); err != nil {
			t.Errorf("ValidateValue(nil schema, %T) = %v", v, err)
		}
	}
}

// orderSchemas holds the nested schemas used by the path tests:
//
//	Order{id int64, customer Customer{name, address Address{zip, city?}},
//	      items []Item{sku, qty int32}, scores []int32, matrix [][]string,
//	      tags map[string]string, byID map[int32]string}
type orderSchemas struct {
	address, customer, item, order *Schema
}

func newOrderSchemas() orderSchemas {
	var o orderSchemas
	o.address = StructBuilder().Name("com.acme.Address").
		Field("zip", StringSchema).
		Field("city", OptionalStringSchema).MustBuild()
	o.customer = StructBuilder().Name("com.acme.Customer").
		Field("name", StringSchema).
		Field("address", o.address).MustBuild()
	o.item = StructBuilder().Name("com.acme.Item").
		Field("sku", StringSchema).
		Field("qty", Int32Schema).MustBuild()
	o.order = StructBuilder().Name("com.acme.Order").
		Field("id", Int64Schema).
		Field("customer", o.customer).
		Field("items", ArrayBuilder(o.item).MustBuild()).
		Field("scores", ArrayBuilder(Int32Schema).Optional().MustBuild()).
		Field("matrix", ArrayBuilder(ArrayBuilder(StringSchema).MustBuild()).Optional().MustBuild()).
		Field("tags", MapBuilder(StringSchema, StringSchema).Optional().MustBuild()).
		Field("byID", MapBuilder(Int32Schema, StringSchema).Optional().MustBuild()).
		MustBuild()
	return o
}

func (o orderSchemas) item2(sku string, qty int32) *Struct {
	return NewStruct(o.item).MustPut("sku", sku).MustPut("qty", qty)
}

func (o orderSchemas) customerWithZip(zip any) *Struct {
	addr := NewStruct(o.address)
	addr.values[0] = zip // bypass Put to build invalid nested data
	return NewStruct(o.customer).MustPut("name", "Ada").withRaw("address", addr)
}

// withRaw sets a field without validation, to construct invalid values for
// the validation tests.
func (s *Struct) withRaw(name string, v any) *Struct {
	s.values[s.schema.Field(name).Index] = v
	return s
}

func TestValidateValueNestedPaths(t *testing.T) {
	o := newOrderSchemas()
	valid := func() *Struct {
		return NewStruct(o.order).
			MustPut("id", int64(7)).
			MustPut("customer", o.customerWithZip("1234")).
			MustPut("items", []any{o.item2("a", 1), o.item2("b", 2), o.item2("c", 3)})
	}
	if err := ValidateValue(o.order, valid()); err != nil {
		t.Fatalf("valid order: %v", err)
	}

	otherItem := StructBuilder().Name("com.acme.Other").Field("sku", StringSchema).Field("qty", Int32Schema).MustBuild()
	tests := []struct {
		name   string
		mutate func(*Struct)
		path   string
		reason string
	}{
		{"top-level field type", func(s *Struct) { s.withRaw("id", int32(7)) }, "id", "expects Go type int64, got int32"},
		{"deep field wrong type", func(s *Struct) { s.withRaw("customer", o.customerWithZip(1234)) }, "customer.address.zip", "expects Go type string, got int"},
		{"deep required field missing", func(s *Struct) { s.withRaw("customer", o.customerWithZip(nil)) }, "customer.address.zip", "null used for required STRING schema"},
		{"required nested struct missing", func(s *Struct) { s.withRaw("customer", nil) }, "customer", "null used for required STRUCT schema com.acme.Customer"},
		{"nested struct wrong Go type", func(s *Struct) { s.withRaw("customer", map[string]any{"name": "Ada"}) }, "customer", "expects Go type *connect.Struct, got map[string]interface {}"},
		{"nil *Struct", func(s *Struct) { s.withRaw("customer", (*Struct)(nil)) }, "customer", "expects Go type *connect.Struct"},
		{"array element wrong type", func(s *Struct) {
			s.withRaw("items", []any{o.item2("a", 1), o.item2("b", 2), "c"})
		}, "items[2]", "expects Go type *connect.Struct, got string"},
		{"array element other schema", func(s *Struct) {
			s.withRaw("items", []any{o.item2("a", 1), o.item2("b", 2), NewStruct(otherItem).MustPut("sku", "c").MustPut("qty", int32(3))})
		}, "items[2]", "struct schema Schema{com.acme.Other:STRUCT} does not match field schema Schema{com.acme.Item:STRUCT}"},
		{"array element field", func(s *Struct) {
			s.withRaw("items", []any{o.item2("a", 1), o.item2("b", 2), NewStruct(o.item).MustPut("sku", "c").withRaw("qty", int64(3))})
		}, "items[2].qty", "expects Go type int32, got int64"},
		{"array element null", func(s *Struct) { s.withRaw("items", []any{nil}) }, "items[0]", "null used for required STRUCT schema"},
		{"array as typed slice", func(s *Struct) { s.withRaw("items", []*Struct{o.item2("a", 1)}) }, "items", "expects Go type []any, got []*connect.Struct"},
		{"primitive array element", func(s *Struct) { s.withRaw("scores", []any{int32(1), int32(2), 3}) }, "scores[2]", "expects Go type int32, got int"},
		{"nested array element", func(s *Struct) {
			s.withRaw("matrix", []any{[]any{"a"}, []any{"b", 2}})
		}, "matrix[1][1]", "expects Go type string, got int"},
		{"nested array not []any", func(s *Struct) { s.withRaw("matrix", []any{[]string{"a"}}) }, "matrix[0]", "expects Go type []any, got []string"},
		{"map value", func(s *Struct) { s.withRaw("tags", map[string]any{"color": 1}) }, "tags{color}", "expects Go type string, got int"},
		{"map[any]any value", func(s *Struct) { s.withRaw("tags", map[any]any{"color": false}) }, "tags{color}", "expects Go type string, got bool"},
		{"map[any]any key", func(s *Struct) { s.withRaw("byID", map[any]any{"x": "y"}) }, "byID{key x}", "expects Go type int32, got string"},
		{"map[any]any null key", func(s *Struct) { s.withRaw("byID", map[any]any{nil: "y"}) }, "byID{key <nil>}", "null used for required INT32 schema"},
		{"map[string]any for non-string keys", func(s *Struct) { s.withRaw("byID", map[string]any{"1": "y"}) }, "byID", "map[string]any used for a map with INT32 keys; use map[any]any"},
		{"map wrong Go type", func(s *Struct) { s.withRaw("tags", map[string]string{"a": "b"}) }, "tags", "expects Go type map[string]any or map[any]any, got map[string]string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.mutate(s)
			err := ValidateValue(o.order, s)
			validationErr(t, err, tc.path, tc.reason)
			if err != nil && !strings.Contains(err.Error(), `field "`+tc.path+`"`) {
				t.Errorf("Error() %q does not quote the path", err)
			}
			// Struct.Validate reports the same path.
			validationErr(t, s.Validate(), tc.path, tc.reason)
		})
	}
}

func TestValidateValueMaps(t *testing.T) {
	strKeys := MapBuilder(StringSchema, Int32Schema).MustBuild()
	intKeys := MapBuilder(Int32Schema, Int32Schema).MustBuild()
	optStrKeys := MapBuilder(OptionalStringSchema, Int32Schema).MustBuild()
	tests := []struct {
		name   string
		schema *Schema
		v      any
		ok     bool
	}{
		{"string keys, map[string]any", strKeys, map[string]any{"a": int32(1)}, true},
		{"string keys, map[any]any", strKeys, map[any]any{"a": int32(1)}, true},
		{"string keys, map[any]any with int key", strKeys, map[any]any{1: int32(1)}, false},
		{"int keys, map[any]any", intKeys, map[any]any{int32(1): int32(1)}, true},
		{"int keys, map[any]any wrong key type", intKeys, map[any]any{int64(1): int32(1)}, false},
		{"int keys, map[string]any", intKeys, map[string]any{"1": int32(1)}, false},
		{"empty map[string]any for int keys", intKeys, map[string]any{}, false},
		{"optional string keys, map[string]any", optStrKeys, map[string]any{"a": int32(1)}, true},
		{"empty", strKeys, map[string]any{}, true},
		{"nil value for required values", strKeys, map[string]any{"a": nil}, false},
		{"map[string]int32", strKeys, map[string]int32{"a": 1}, false},
		{"schemaless key schema", &Schema{Type: TypeMap}, map[string]any{"a": "anything"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateValue(tc.schema, tc.v)
			if tc.ok && err != nil {
				t.Errorf("ValidateValue = %v, want nil", err)
			}
			if !tc.ok {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Errorf("ValidateValue = %v, want *ValidationError", err)
				}
			}
		})
	}
}

func TestValidateValueLogical(t *testing.T) {
	noScale := NewSchemaBuilder(TypeBytes).Name(DecimalName).MustBuild()
	badScale := NewSchemaBuilder(TypeBytes).Name(DecimalName).Parameter(DecimalScale, "two").MustBuild()
	midnight := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		schema *Schema
		v      any
		reason string // "" = valid
	}{
		{"decimal ok", DecimalSchema(2), NewDecimal(1234, 2), ""},
		{"decimal wrong scale", DecimalSchema(2), NewDecimal(1234, 3), "Decimal has scale 3, schema has scale 2"},
		{"decimal as bytes", DecimalSchema(2), []byte{1}, "expects Go type connect.Decimal, got []uint8"},
		{"decimal as *Decimal", DecimalSchema(2), &Decimal{}, "expects Go type connect.Decimal, got *connect.Decimal"},
		{"decimal without scale", noScale, NewDecimal(1, 0), "Decimal schema has no scale parameter"},
		{"decimal with invalid scale", badScale, NewDecimal(1, 0), `Decimal schema has invalid scale "two"`},
		{"date ok", DateSchema, midnight, ""},
		{"date as int32", DateSchema, int32(1), "INT32 schema " + DateName + " expects Go type time.Time, got int32"},
		{"time ok", TimeSchema, MillisToTime(1000), ""},
		{"time as int32", TimeSchema, int32(1000), "expects Go type time.Time"},
		{"timestamp ok", TimestampSchema, midnight.Add(time.Hour), ""},
		{"timestamp as int64", TimestampSchema, int64(0), "INT64 schema " + TimestampName + " expects Go type time.Time, got int64"},
		{"timestamp as *time.Time", TimestampSchema, &midnight, "got *time.Time"},
		// A name on the wrong physical type is not logical: plain INT32 rules.
		{"named but not logical", NewSchemaBuilder(TypeInt32).Name(DecimalName).MustBuild(), int32(1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateValue(tc.schema, tc.v)
			if tc.reason == "" {
				if err != nil {
					t.Errorf("ValidateValue = %v, want nil", err)
				}
				return
			}
			validationErr(t, err, "", tc.reason)
		})
	}
}

func TestValidateValueUnknownType(t *testing.T) {
	err := ValidateValue(&Schema{Type: 42}, "x")
	validationErr(t, err, "", "unknown schema type Type(42)")
}

func TestValidationErrorText(t *testing.T) {
	tests := []struct {
		e    ValidationError
		want string
	}{
		{ValidationError{Reason: "boom"}, "connect: invalid value: boom"},
		{ValidationError{Path: "customer.address.zip", Reason: "boom"}, `connect: invalid value for field "customer.address.zip": boom`},
		{ValidationError{Path: "items[2]", Reason: "x"}, `connect: invalid value for field "items[2]": x`},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestValuesEqual(t *testing.T) {
	s := StructBuilder().Field("a", Int32Schema).MustBuild()
	ts := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	d1 := NewDecimal(10, 1)
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"nil nil", nil, nil, true},
		{"nil vs value", nil, int32(0), false},
		{"value vs nil", int32(0), nil, false},
		{"int32", int32(1), int32(1), true},
		{"int32 vs int64", int32(1), int64(1), false},
		{"string", "a", "a", true},
		{"bytes by content", []byte{1, 2}, []byte{1, 2}, true},
		{"bytes differ", []byte{1, 2}, []byte{1, 3}, false},
		{"bytes vs string", []byte("a"), "a", false},
		{"empty vs nil bytes", []byte{}, []byte(nil), true},
		{"decimal", NewDecimal(100, 2), NewDecimal(100, 2), true},
		{"decimal scale differs", NewDecimal(10, 1), NewDecimal(100, 2), false},
		{"time same instant other zone", ts, ts.In(time.FixedZone("X", 3600)), true},
		{"time differs", ts, ts.Add(time.Millisecond), false},
		{"struct", NewStruct(s).MustPut("a", int32(1)), NewStruct(s).MustPut("a", int32(1)), true},
		{"struct differs", NewStruct(s).MustPut("a", int32(1)), NewStruct(s).MustPut("a", int32(2)), false},
		{"array", []any{[]byte{1}, "x"}, []any{[]byte{1}, "x"}, true},
		{"array length", []any{"x"}, []any{"x", "y"}, false},
		{"array element", []any{"x"}, []any{"y"}, false},
		{"map[string]any", map[string]any{"a": []byte{1}}, map[string]any{"a": []byte{1}}, true},
		{"map[string]any key", map[string]any{"a": 1}, map[string]any{"b": 1}, false},
		{"map[string]any vs map[any]any", map[string]any{"a": 1}, map[any]any{"a": 1}, false},
		{"map[any]any", map[any]any{int32(1): []any{"x"}}, map[any]any{int32(1): []any{"x"}}, true},
		{"map[any]any value", map[any]any{int32(1): "x"}, map[any]any{int32(1): "y"}, false},
		// Keys holding pointers (Decimal's *big.Int, time.Time's *Location,
		// *Struct) are equal by value, not by Go's ==.
		{"decimal keys", map[any]any{NewDecimal(1, 2): "a", NewDecimal(3, 0): []byte{1}}, map[any]any{NewDecimal(3, 0): []byte{1}, NewDecimal(1, 2): "a"}, true},
		{"decimal keys scale differs", map[any]any{NewDecimal(1, 2): "a"}, map[any]any{NewDecimal(10, 3): "a"}, false},
		{"decimal keys value differs", map[any]any{NewDecimal(1, 2): "a"}, map[any]any{NewDecimal(1, 2): "b"}, false},
		{"time keys", map[any]any{ts: 1}, map[any]any{ts.In(time.FixedZone("X", 3600)): 1}, true},
		{"struct keys", map[any]any{NewStruct(s).MustPut("a", int32(1)): 1, NewStruct(s).MustPut("a", int32(2)): 2},
			map[any]any{NewStruct(s).MustPut("a", int32(2)): 2, NewStruct(s).MustPut("a", int32(1)): 1}, true},
		{"struct keys swapped values", map[any]any{NewStruct(s).MustPut("a", int32(1)): 1, NewStruct(s).MustPut("a", int32(2)): 2},
			map[any]any{NewStruct(s).MustPut("a", int32(2)): 1, NewStruct(s).MustPut("a", int32(1)): 2}, false},
		{"mixed direct and fallback", map[any]any{"k": 1, int32(5): 2, NewDecimal(7, 1): 3}, map[any]any{NewDecimal(7, 1): 3, int32(5): 2, "k": 1}, true},
		// Equal keys twice on one side pair one to one: {1.0: a, 1.0: a} is
		// not {1.0: a, 2.0: a}, and {1.0: a, 1.0: b} is {1.0: b, 1.0: a}.
		{"repeated keys", map[any]any{d1: "a", NewDecimal(10, 1): "a"}, map[any]any{NewDecimal(10, 1): "a", NewDecimal(20, 1): "a"}, false},
		{"repeated keys other order", map[any]any{d1: "a", NewDecimal(10, 1): "b"}, map[any]any{d1: "b", NewDecimal(10, 1): "a"}, true},
		// Floats compare as Java's Double.equals (Kafka Connect compares
		// defaults and Structs with it): NaN equals NaN, -0.0 is not 0.0.
		{"NaN keys", map[any]any{math.NaN(): 1}, map[any]any{math.NaN(): 1}, true},
		{"NaN", math.NaN(), math.Float64frombits(0x7ff8000000000000), true},
		{"float32 NaN", float32(math.NaN()), float32(math.NaN()), true},
		{"signed zero", math.Copysign(0, -1), 0.0, false},
		{"float32 signed zero", float32(math.Copysign(0, -1)), float32(0), false},
		{"nested decimal keys", []any{map[any]any{NewDecimal(1, 0): map[any]any{NewDecimal(2, 0): nil}}},
			[]any{map[any]any{NewDecimal(1, 0): map[any]any{NewDecimal(2, 0): nil}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValuesEqual(tc.a, tc.b); got != tc.want {
				t.Errorf("ValuesEqual(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
	// A schema with a NaN default equals itself rebuilt, as in Kafka Connect
	// (a JsonConverter writing a Struct checks its schema so).
	nanDefault := func() *Schema { return FromSchema(OptionalFloat64Schema).DefaultValue(math.NaN()).MustBuild() }
	if !nanDefault().Equal(nanDefault()) {
		t.Error("schemas with a NaN default differ")
	}
}
