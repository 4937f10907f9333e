package connect

import (
	"fmt"
	"strings"
)

// Struct is a value of a STRUCT schema: one value per field, in field order.
// Put validates each value against its field schema; Validate checks the whole
// struct (required fields present, nested structs valid). A Struct is not safe
// for concurrent mutation; once handed to the runtime (returned from Poll, or
// set on a record) it must not be modified.
type Struct struct {
	schema *Schema
	values []any
}

// NewStruct returns an empty struct of schema s. It panics if s is not a
// STRUCT schema: that is a programming error, not a data error.
func NewStruct(s *Schema) *Struct {
	if s == nil || s.Type != TypeStruct {
		panic(fmt.Sprintf("connect: NewStruct needs a STRUCT schema, got %s", s))
	}
	return &Struct{schema: s, values: make([]any, len(s.Fields))}
}

// Schema returns the struct's schema.
func (s *Struct) Schema() *Schema { return s.schema }

func (s *Struct) field(name string) (*Field, error) {
	f := s.schema.Field(name)
	if f == nil {
		return nil, fmt.Errorf("connect: %s has no field %q", s.schema, name)
	}
	return f, nil
}

// Put sets field name to v after validating v against the field's schema. The
// error names the field; the struct is unchanged on error.
func (s *Struct) Put(name string, v any) error {
	f, err := s.field(name)
	if err != nil {
		return err
	}
	return s.PutField(f, v)
}

// PutField is Put for a field already looked up (f must belong to the
// struct's schema).
func (s *Struct) PutField(f *Field, v any) error {
	if err := validate(f.Schema, v); err != nil {
		return within(f.Name, err)
	}
	s.values[f.Index] = v
	return nil
}

// MustPut is Put that panics on error, for building structs in tests and
// examples: connect.NewStruct(s).MustPut("id", int32(1)).MustPut("name", "x").
func (s *Struct) MustPut(name string, v any) *Struct {
	if err := s.Put(name, v); err != nil {
		panic(err)
	}
	return s
}

// Get returns the value of field name, or the field's default when the value
// is nil.
func (s *Struct) Get(name string) (any, error) {
	f, err := s.field(name)
	if err != nil {
		return nil, err
	}
	if v := s.values[f.Index]; v != nil {
		return v, nil
	}
	return f.Schema.Default, nil
}

// GetWithoutDefault returns the value of field name as set, nil if unset.
func (s *Struct) GetWithoutDefault(name string) (any, error) {
	f, err := s.field(name)
	if err != nil {
		return nil, err
	}
	return s.values[f.Index], nil
}

// At returns the value at field index i as set (no default), for code that
// walks Schema().Fields. It panics if i is out of range.
func (s *Struct) At(i int) any { return s.values[i] }

// GetAs returns field name of st as type T (the field's default when unset).
// It fails if the field is missing or holds another type.
func GetAs[T any](st *Struct, name string) (T, error) {
	var zero T
	v, err := st.Get(name)
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("connect: field %q holds %T, not %T", name, v, zero)
	}
	return t, nil
}

// Validate checks every field: required fields without a default must be set,
// and every value (recursively) must match its schema. The error names the
// first offending field by its path.
func (s *Struct) Validate() error {
	for i, f := range s.schema.Fields {
		if err := validate(f.Schema, s.values[i]); err != nil {
			return within(f.Name, err)
		}
	}
	return nil
}

// Equal reports whether s and o have equal schemas and values.
func (s *Struct) Equal(o *Struct) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil || !s.schema.Equal(o.schema) {
		return false
	}
	for i := range s.values {
		if !ValuesEqual(s.values[i], o.values[i]) {
			return false
		}
	}
	return true
}

// String formats the struct as Struct{a=1,b=x}, as Kafka Connect does
// (unset fields omitted).
func (s *Struct) String() string {
	var b strings.Builder
	b.WriteString("Struct{")
	first := true
	for i, f := range s.schema.Fields {
		if s.values[i] == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%s=%v", f.Name, s.values[i])
	}
	b.WriteByte('}')
	return b.String()
}
