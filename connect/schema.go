package connect

import (
	"fmt"
	"strings"
)

// Type is one of the twelve Connect schema types.
type Type uint8

// The Connect schema types, in Kafka Connect's order. The first nine are
// primitive.
const (
	TypeInt8 Type = iota + 1
	TypeInt16
	TypeInt32
	TypeInt64
	TypeFloat32
	TypeFloat64
	TypeBoolean
	TypeString
	TypeBytes
	TypeArray
	TypeMap
	TypeStruct
)

var typeNames = [...]string{"", "INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING", "BYTES", "ARRAY", "MAP", "STRUCT"}

// String returns Kafka Connect's enum name of t, e.g. "INT32".
func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// IsPrimitive reports whether t is one of INT8 … BYTES.
func (t Type) IsPrimitive() bool { return t >= TypeInt8 && t <= TypeBytes }

// ParseType parses a Kafka Connect type name ("INT32", "int32", "STRUCT", …),
// case-insensitively.
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(s)
	for i, n := range typeNames {
		if i > 0 && n == u {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("connect: unknown schema type %q", s)
}

// Parameter is one schema parameter. Parameters keep their insertion order, as
// Kafka Connect's SchemaBuilder does, so that serialised schemas are
// byte-identical.
type Parameter struct {
	Key, Value string
}

// Parameters is an ordered list of schema parameters.
type Parameters []Parameter

// Get returns the value of key and whether it is present.
func (p Parameters) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Field is one field of a STRUCT schema. Index is its position in the
// schema's field list.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}

// Schema describes a Connect value. Build schemas with the predefined
// variables (Int32Schema, OptionalStringSchema, …), the SchemaBuilder, or the
// logical-type constructors (DecimalSchema, DateSchema, …). A Schema must not
// be modified after it has been handed to any other package: schemas are
// shared between records and goroutines.
type Schema struct {
	Type     Type
	Optional bool
	// Default is the default value (of the schema's Go type), or nil.
	Default any
	// Name is the fully-qualified schema name, or "" (e.g. the logical type
	// name "org.apache.kafka.connect.data.Decimal"). A non-empty Name is
	// always set; "" means no name (Kafka Connect: null) unless HasName.
	Name string
	// Version is the schema version. A non-zero Version is always set; 0
	// means no version (Kafka Connect: null) unless HasVersion.
	Version int32
	// Doc is the documentation string. A non-empty Doc is always set; ""
	// means no doc (Kafka Connect: null) unless HasDoc.
	Doc string
	// HasName, HasVersion and HasDoc mark a Name of "", a Version of 0 and
	// a Doc of "" as explicitly set, as Kafka Connect keeps "" and 0 apart
	// from null. They matter only for those zero values (a non-zero value
	// is set whatever its flag says), so struct literals without them keep
	// their meaning. SchemaBuilder.Name(""), Version(0) and Doc("") set
	// them (a non-zero value clears them); the converters write and read
	// such values as Kafka Connect does.
	HasName, HasVersion, HasDoc bool
	Parameters                  Parameters
	// Fields lists a STRUCT's fields in order.
	Fields []Field
	// KeySchema is a MAP's key schema.
	KeySchema *Schema
	// ValueSchema is a MAP's value schema or an ARRAY's element schema.
	ValueSchema *Schema
}

// Field returns the field called name, or nil if s is not a STRUCT or has no
// such field.
func (s *Schema) Field(name string) *Field {
	if s == nil {
		return nil
	}
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// String returns a short human-readable description such as
// "Schema{com.acme.Order:STRUCT}" for error messages.
func (s *Schema) String() string {
	if s == nil {
		return "Schema{null}"
	}
	var b strings.Builder
	b.WriteString("Schema{")
	if s.NameSet() {
		b.WriteString(s.Name)
		b.WriteByte(':')
	}
	b.WriteString(s.Type.String())
	if s.Optional {
		b.WriteString(",optional")
	}
	b.WriteByte('}')
	return b.String()
}

// NameSet reports whether s has a name (Kafka Connect: name() != null): a
// non-empty Name, or "" with HasName.
func (s *Schema) NameSet() bool { return s.Name != "" || s.HasName }

// VersionSet reports whether s has a version (Kafka Connect: version() !=
// null): a non-zero Version, or 0 with HasVersion.
func (s *Schema) VersionSet() bool { return s.Version != 0 || s.HasVersion }

// DocSet reports whether s has a doc (Kafka Connect: doc() != null): a
// non-empty Doc, or "" with HasDoc.
func (s *Schema) DocSet() bool { return s.Doc != "" || s.HasDoc }

// Equal reports whether s and o describe the same schema (type, optionality,
// default, name, version, doc, parameters in any order, and nested schemas).
// As Kafka Connect's ConnectSchema.equals, a name or doc of "" and a version
// of 0 that are set (HasName, HasVersion, HasDoc) differ from none.
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	if s.Type != o.Type || s.Optional != o.Optional || s.Name != o.Name || s.Version != o.Version || s.Doc != o.Doc ||
		s.NameSet() != o.NameSet() || s.VersionSet() != o.VersionSet() || s.DocSet() != o.DocSet() {
		return false
	}
	if len(s.Parameters) != len(o.Parameters) {
		return false
	}
	for _, kv := range s.Parameters {
		if v, ok := o.Parameters.Get(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	if len(s.Fields) != len(o.Fields) {
		return false
	}
	for i := range s.Fields {
		if s.Fields[i].Name != o.Fields[i].Name || !s.Fields[i].Schema.Equal(o.Fields[i].Schema) {
			return false
		}
	}
	if !s.KeySchema.Equal(o.KeySchema) || !s.ValueSchema.Equal(o.ValueSchema) {
		return false
	}
	return ValuesEqual(s.Default, o.Default)
}

// Predefined schemas, as Kafka Connect's Schema.INT8_SCHEMA … OPTIONAL_BYTES_SCHEMA.
var (
	Int8Schema    = &Schema{Type: TypeInt8}
	Int16Schema   = &Schema{Type: TypeInt16}
	Int32Schema   = &Schema{Type: TypeInt32}
	Int64Schema   = &Schema{Type: TypeInt64}
	Float32Schema = &Schema{Type: TypeFloat32}
	Float64Schema = &Schema{Type: TypeFloat64}
	BooleanSchema = &Schema{Type: TypeBoolean}
	StringSchema  = &Schema{Type: TypeString}
	BytesSchema   = &Schema{Type: TypeBytes}

	OptionalInt8Schema    = &Schema{Type: TypeInt8, Optional: true}
	OptionalInt16Schema   = &Schema{Type: TypeInt16, Optional: true}
	OptionalInt32Schema   = &Schema{Type: TypeInt32, Optional: true}
	OptionalInt64Schema   = &Schema{Type: TypeInt64, Optional: true}
	OptionalFloat32Schema = &Schema{Type: TypeFloat32, Optional: true}
	OptionalFloat64Schema = &Schema{Type: TypeFloat64, Optional: true}
	OptionalBooleanSchema = &Schema{Type: TypeBoolean, Optional: true}
	OptionalStringSchema  = &Schema{Type: TypeString, Optional: true}
	OptionalBytesSchema   = &Schema{Type: TypeBytes, Optional: true}
)

// SchemaBuilder builds a Schema fluently, like Kafka Connect's SchemaBuilder.
// Errors (a field added to a non-struct, a duplicate field name, a default
// value that does not match the schema) are collected and returned by Build.
// A SchemaBuilder is not safe for concurrent use.
type SchemaBuilder struct {
	s   Schema
	err error
}

// NewSchemaBuilder starts a schema of type t.
func NewSchemaBuilder(t Type) *SchemaBuilder { return &SchemaBuilder{s: Schema{Type: t}} }

// StructBuilder starts a STRUCT schema.
func StructBuilder() *SchemaBuilder { return NewSchemaBuilder(TypeStruct) }

// ArrayBuilder starts an ARRAY schema with the given element schema.
func ArrayBuilder(elem *Schema) *SchemaBuilder {
	b := NewSchemaBuilder(TypeArray)
	b.s.ValueSchema = elem
	if elem == nil {
		b.err = fmt.Errorf("connect: array schema needs an element schema")
	}
	return b
}

// MapBuilder starts a MAP schema with the given key and value schemas.
func MapBuilder(key, value *Schema) *SchemaBuilder {
	b := NewSchemaBuilder(TypeMap)
	b.s.KeySchema, b.s.ValueSchema = key, value
	if key == nil || value == nil {
		b.err = fmt.Errorf("connect: map schema needs key and value schemas")
	}
	return b
}

// FromSchema starts a builder holding a copy of s (its fields and parameters
// are copied, nested schemas shared), to derive a new schema from an existing
// one.
func FromSchema(s *Schema) *SchemaBuilder {
	b := &SchemaBuilder{s: *s}
	b.s.Fields = append([]Field(nil), s.Fields...)
	b.s.Parameters = append(Parameters(nil), s.Parameters...)
	return b
}

// Optional marks the schema optional (null allowed).
func (b *SchemaBuilder) Optional() *SchemaBuilder { b.s.Optional = true; return b }

// Required marks the schema required (the default).
func (b *SchemaBuilder) Required() *SchemaBuilder { b.s.Optional = false; return b }

// Name sets the schema name; "" is set as the empty name (HasName), as
// Kafka Connect's SchemaBuilder.name("") (for no name, do not call Name).
func (b *SchemaBuilder) Name(n string) *SchemaBuilder { b.s.Name, b.s.HasName = n, n == ""; return b }

// Version sets the schema version; 0 is set as version 0 (HasVersion), as
// Kafka Connect's SchemaBuilder.version(0) (for no version, do not call
// Version).
func (b *SchemaBuilder) Version(v int32) *SchemaBuilder {
	b.s.Version, b.s.HasVersion = v, v == 0
	return b
}

// Doc sets the documentation string; "" is set as the empty doc (HasDoc),
// as Kafka Connect's SchemaBuilder.doc("") (for no doc, do not call Doc).
func (b *SchemaBuilder) Doc(d string) *SchemaBuilder { b.s.Doc, b.s.HasDoc = d, d == ""; return b }

// Parameter sets a parameter, keeping insertion order (replacing in place when
// key is already present).
func (b *SchemaBuilder) Parameter(key, value string) *SchemaBuilder {
	for i := range b.s.Parameters {
		if b.s.Parameters[i].Key == key {
			b.s.Parameters[i].Value = value
			return b
		}
	}
	b.s.Parameters = append(b.s.Parameters, Parameter{key, value})
	return b
}

// DefaultValue sets the default value; it is validated against the schema by
// Build.
func (b *SchemaBuilder) DefaultValue(v any) *SchemaBuilder { b.s.Default = v; return b }

// Field appends a field to a STRUCT schema.
func (b *SchemaBuilder) Field(name string, s *Schema) *SchemaBuilder {
	switch {
	case b.err != nil:
	case b.s.Type != TypeStruct:
		b.err = fmt.Errorf("connect: cannot add field %q to a %s schema", name, b.s.Type)
	case name == "":
		b.err = fmt.Errorf("connect: field name must not be empty")
	case s == nil:
		b.err = fmt.Errorf("connect: field %q has no schema", name)
	default:
		for _, f := range b.s.Fields {
			if f.Name == name {
				b.err = fmt.Errorf("connect: duplicate field %q", name)
				return b
			}
		}
		b.s.Fields = append(b.s.Fields, Field{Name: name, Index: len(b.s.Fields), Schema: s})
	}
	return b
}

// Build returns the schema or the first error met while building.
func (b *SchemaBuilder) Build() (*Schema, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.s.Type < TypeInt8 || b.s.Type > TypeStruct {
		return nil, fmt.Errorf("connect: invalid schema type %d", b.s.Type)
	}
	s := b.s
	s.Fields = append([]Field(nil), b.s.Fields...)
	s.Parameters = append(Parameters(nil), b.s.Parameters...)
	if len(s.Parameters) == 0 {
		s.Parameters = nil
	}
	if s.Default != nil {
		if err := ValidateValue(&s, s.Default); err != nil {
			return nil, fmt.Errorf("connect: invalid default value: %w", err)
		}
	}
	return &s, nil
}

// MustBuild is Build for schemas known to be valid; it panics on error. Use
// it for package-level schema variables and tests.
func (b *SchemaBuilder) MustBuild() *Schema {
	s, err := b.Build()
	if err != nil {
		panic(err)
	}
	return s
}
