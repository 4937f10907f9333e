package connect

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// ValidationError reports a value that does not match its schema. Path names
// the offending field ("customer.address.zip", "items[3]", "tags{k}") and is
// empty for the top-level value.
type ValidationError struct {
	Path   string
	Schema *Schema
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return "connect: invalid value: " + e.Reason
	}
	return fmt.Sprintf("connect: invalid value for field %q: %s", e.Path, e.Reason)
}

// ValidateValue reports whether v is a valid value for schema s: the Go type
// matches the schema type (see the package doc), required values are present
// (or have a default), and nested arrays, maps and structs are valid. A nil
// schema accepts any value (schemaless data). The returned error is a
// *ValidationError naming the offending field.
func ValidateValue(s *Schema, v any) error { return validate(s, v) }

// within prefixes the path of a *ValidationError with the enclosing field,
// element or entry. Paths are built only on failure, so validating a good
// value allocates nothing.
func within(prefix string, err error) error {
	if ve, ok := err.(*ValidationError); ok {
		switch {
		case ve.Path == "":
			ve.Path = prefix
		case ve.Path[0] == '[' || ve.Path[0] == '{':
			ve.Path = prefix + ve.Path
		default:
			ve.Path = prefix + "." + ve.Path
		}
	}
	return err
}

func validate(s *Schema, v any) error {
	const path = ""
	if s == nil {
		return nil
	}
	if v == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return &ValidationError{path, s, fmt.Sprintf("null used for required %s", describe(s))}
	}
	if IsLogical(s) {
		switch s.Name {
		case DecimalName:
			d, ok := v.(Decimal)
			if !ok {
				return typeErr(path, s, v, "connect.Decimal")
			}
			if scale, err := DecimalScaleOf(s); err != nil {
				return &ValidationError{path, s, err.Error()}
			} else if d.Scale != scale {
				return &ValidationError{path, s, fmt.Sprintf("Decimal has scale %d, schema has scale %d", d.Scale, scale)}
			}
		default:
			if _, ok := v.(time.Time); !ok {
				return typeErr(path, s, v, "time.Time")
			}
		}
		return nil
	}
	ok := true
	switch s.Type {
	case TypeInt8:
		_, ok = v.(int8)
	case TypeInt16:
		_, ok = v.(int16)
	case TypeInt32:
		_, ok = v.(int32)
	case TypeInt64:
		_, ok = v.(int64)
	case TypeFloat32:
		_, ok = v.(float32)
	case TypeFloat64:
		_, ok = v.(float64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeBytes:
		_, ok = v.([]byte)
	case TypeArray:
		a, isArr := v.([]any)
		if !isArr {
			return typeErr(path, s, v, "[]any")
		}
		for i, e := range a {
			if err := validate(s.ValueSchema, e); err != nil {
				return within(fmt.Sprintf("[%d]", i), err)
			}
		}
	case TypeMap:
		switch m := v.(type) {
		case map[string]any:
			if s.KeySchema != nil && s.KeySchema.Type != TypeString {
				return &ValidationError{path, s, fmt.Sprintf("map[string]any used for a map with %s keys; use map[any]any", s.KeySchema.Type)}
			}
			for k, e := range m {
				if err := validate(s.ValueSchema, e); err != nil {
					return within("{"+k+"}", err)
				}
			}
		case map[any]any:
			for k, e := range m {
				if err := validate(s.KeySchema, k); err != nil {
					return within(fmt.Sprintf("{key %v}", k), err)
				}
				if err := validate(s.ValueSchema, e); err != nil {
					return within(fmt.Sprintf("{%v}", k), err)
				}
			}
		default:
			return typeErr(path, s, v, "map[string]any or map[any]any")
		}
	case TypeStruct:
		st, isStruct := v.(*Struct)
		if !isStruct || st == nil {
			return typeErr(path, s, v, "*connect.Struct")
		}
		if st.schema != s && !st.schema.Equal(s) {
			return &ValidationError{path, s, fmt.Sprintf("struct schema %s does not match field schema %s", st.schema, s)}
		}
		return st.Validate()
	default:
		return &ValidationError{path, s, fmt.Sprintf("unknown schema type %s", s.Type)}
	}
	if !ok {
		return typeErr(path, s, v, goTypeName(s.Type))
	}
	return nil
}

func describe(s *Schema) string {
	if s.Name != "" {
		return fmt.Sprintf("%s schema %s", s.Type, s.Name)
	}
	return s.Type.String() + " schema"
}

func typeErr(path string, s *Schema, v any, want string) error {
	return &ValidationError{path, s, fmt.Sprintf("%s expects Go type %s, got %T", describe(s), want, v)}
}

func goTypeName(t Type) string {
	switch t {
	case TypeInt8:
		return "int8"
	case TypeInt16:
		return "int16"
	case TypeInt32:
		return "int32"
	case TypeInt64:
		return "int64"
	case TypeFloat32:
		return "float32"
	case TypeFloat64:
		return "float64"
	case TypeBoolean:
		return "bool"
	case TypeString:
		return "string"
	case TypeBytes:
		return "[]byte"
	}
	return t.String()
}

// ValuesEqual reports whether two Connect values are deeply equal: byte
// slices by content, Decimals by unscaled value and scale, times by instant,
// Structs by schema and values, arrays and maps element-wise, and floats as
// Java's Double.equals and Float.equals (so as Kafka Connect compares
// schema defaults and Structs): NaN equals NaN, 0.0 differs from -0.0.
func ValuesEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && javaFloatEqual(x, y)
	case float32:
		y, ok := b.(float32)
		return ok && javaFloatEqual(float64(x), float64(y))
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case Decimal:
		y, ok := b.(Decimal)
		return ok && x.Equal(y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *Struct:
		y, ok := b.(*Struct)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !ValuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !ValuesEqual(v, w) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		return ok && anyMapsEqual(x, y)
	default:
		return a == b
	}
}

// javaFloatEqual is Double.equals: equal bits after NaN canonicalisation.
func javaFloatEqual(x, y float64) bool {
	if x != x || y != y {
		return x != x && y != y
	}
	return x == y && math.Signbit(x) == math.Signbit(y)
}

// anyMapsEqual compares maps whose keys may be equal by ValuesEqual but not
// by Go's ==: Decimals (their *big.Int), times (their *time.Location) and
// Structs compare by pointer as map keys, so two maps decoded separately hold
// different keys for the same entries. Entries found by direct lookup are
// compared first; the rest are paired by an O(n²) search.
func anyMapsEqual(x, y map[any]any) bool {
	if len(x) != len(y) {
		return false
	}
	type entry struct{ k, v any }
	var rest []entry
	for k, v := range x {
		if w, ok := y[k]; ok && ValuesEqual(v, w) {
			continue
		}
		rest = append(rest, entry{k, v})
	}
	if len(rest) == 0 {
		return true
	}
	// The entries of y not matched above. Matching entry to entry is an
	// equivalence, so pairing greedily finds a pairing if there is one.
	others := make([]entry, 0, len(rest))
	for k, w := range y {
		if v, ok := x[k]; ok && ValuesEqual(v, w) {
			continue
		}
		others = append(others, entry{k, w})
	}
	if len(others) != len(rest) {
		return false
	}
	for _, e := range rest {
		found := false
		for i, o := range others {
			if ValuesEqual(e.k, o.k) && ValuesEqual(e.v, o.v) {
				others[i] = others[len(others)-1]
				others = others[:len(others)-1]
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
