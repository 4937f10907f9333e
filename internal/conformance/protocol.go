// Package conformance is Sluice's differential tester against Kafka Connect:
// it generates random converter and SMT cases, runs each through Kafka
// Connect's own classes (a Java harness, java/ConnectDiff.java, fed JSON
// lines) and through Sluice, and compares the results. Divergences are
// minimised and kept in a corpus (testdata/corpus.jsonl) that go test replays
// without Java.
//
// Both sides read the same case in a canonical, type-tagged JSON form (see
// /java/ConnectDiff.java's header and Value/Schema here) and build their input
// with their own decoder; both write their result in that form, which the
// driver normalises (map entries sorted) and compares: bytes for
// serialisation, the canonical (schema, value) or record otherwise, and
// "failed" against "succeeded" for errors (messages are not compared).
package conformance

import "encoding/json"

// Op names a request kind.
type Op string

// The request kinds.
const (
	// OpConvert serialises schema+value with a Converter, then reads the
	// bytes back with the same converter.
	OpConvert Op = "convert"
	// OpParse reads bytes with a Converter.
	OpParse Op = "parse"
	// OpHeaderConvert serialises one header value with a HeaderConverter and
	// reads it back.
	OpHeaderConvert Op = "headerConvert"
	// OpHeaderParse reads header bytes with a HeaderConverter.
	OpHeaderParse Op = "headerParse"
	// OpTransform applies one SMT (optionally gated by a predicate).
	OpTransform Op = "transform"
	// OpPredicate tests one predicate.
	OpPredicate Op = "predicate"
)

// Request is one case, as sent to both sides. Members not used by an Op are
// omitted.
type Request struct {
	ID     string            `json:"id"`
	Op     Op                `json:"op"`
	Class  string            `json:"class"`
	Config map[string]string `json:"config"`

	IsKey bool   `json:"isKey,omitempty"`
	Topic string `json:"topic,omitempty"`
	// Key is the header key (header ops).
	Key string `json:"key,omitempty"`

	// Schema and Value are the input of convert/headerConvert. HasInput
	// distinguishes a null value from an absent one only in Go.
	Schema *Schema `json:"schema,omitempty"`
	Value  *Value  `json:"value,omitempty"`
	// Data is the input of parse/headerParse: standard base64, or nil for
	// null bytes.
	Data *string `json:"data,omitempty"`

	Record    *Record    `json:"record,omitempty"`
	Predicate *Predicate `json:"predicate,omitempty"`
}

// Predicate gates a transform in a transform request.
type Predicate struct {
	Class  string            `json:"class"`
	Config map[string]string `json:"config"`
	Negate bool              `json:"negate"`
}

// SchemaValue is a (schema, value) result.
type SchemaValue struct {
	Schema *Schema `json:"schema"`
	Value  *Value  `json:"value"`
}

// Response is one side's result of a Request.
type Response struct {
	ID string `json:"id"`
	// Bytes is the serialised form (convert ops), standard base64; nil
	// (without an error in phase "from") is null bytes.
	Bytes  *string      `json:"bytes,omitempty"`
	Back   *SchemaValue `json:"back,omitempty"`
	Record *Record      `json:"record,omitempty"`
	Result *bool        `json:"result,omitempty"`

	// Error is the failure ("<type>: <message>") and Phase where it
	// happened: configure, from, to, apply, predicate.
	Error string `json:"error,omitempty"`
	Phase string `json:"phase,omitempty"`
	// InputError means the side could not build the case's input (the
	// case is skipped, not compared).
	InputError   string `json:"inputError,omitempty"`
	HarnessError string `json:"harnessError,omitempty"`
}

// Schema is the canonical schema form (null = schemaless).
type Schema struct {
	Type        string      `json:"type"`
	Optional    bool        `json:"optional"`
	Name        *string     `json:"name"`
	Version     *int32      `json:"version"`
	Doc         *string     `json:"doc"`
	Parameters  [][2]string `json:"parameters"`
	Default     *Value      `json:"default,omitempty"`
	Fields      []Field     `json:"fields,omitempty"`
	KeySchema   *Schema     `json:"keySchema,omitempty"`
	ValueSchema *Schema     `json:"valueSchema,omitempty"`
}

// Field is one STRUCT field.
type Field struct {
	Name   string  `json:"name"`
	Schema *Schema `json:"schema"`
}

// Value is the canonical, type-tagged value form; a nil *Value is null.
// Exactly one member is set.
type Value struct {
	Int8    *int8         `json:"int8,omitempty"`
	Int16   *int16        `json:"int16,omitempty"`
	Int32   *int32        `json:"int32,omitempty"`
	Int64   *string       `json:"int64,omitempty"`
	Float32 *string       `json:"float32,omitempty"`
	Float64 *string       `json:"float64,omitempty"`
	Boolean *bool         `json:"boolean,omitempty"`
	String  *string       `json:"string,omitempty"`
	Bytes   *string       `json:"bytes,omitempty"`
	Array   *[]*Value     `json:"array,omitempty"`
	Map     *[][2]*Value  `json:"map,omitempty"`
	Struct  *StructValue  `json:"struct,omitempty"`
	Date    *string       `json:"date,omitempty"`
	Decimal *DecimalValue `json:"decimal,omitempty"`
	Other   *string       `json:"other,omitempty"`
}

// StructValue is a Struct: its schema and its fields in schema order.
type StructValue struct {
	Schema *Schema      `json:"schema"`
	Fields []FieldValue `json:"fields"`
}

// FieldValue is one struct field's value, ["name", value] in JSON.
type FieldValue struct {
	Name  string
	Value *Value
}

// MarshalJSON writes ["name", value].
func (f FieldValue) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{f.Name, f.Value})
}

// UnmarshalJSON reads ["name", value].
func (f *FieldValue) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[0], &f.Name); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &f.Value)
}

// DecimalValue is a BigDecimal.
type DecimalValue struct {
	Unscaled string `json:"unscaled"`
	Scale    int32  `json:"scale"`
}

// Record is the canonical record form of transform requests and results.
type Record struct {
	Topic       string   `json:"topic"`
	Partition   *int32   `json:"partition"`
	KeySchema   *Schema  `json:"keySchema"`
	Key         *Value   `json:"key"`
	ValueSchema *Schema  `json:"valueSchema"`
	Value       *Value   `json:"value"`
	Timestamp   *string  `json:"timestamp"`
	Headers     []Header `json:"headers"`
	Sink        *Sink    `json:"sink"`
}

// Header is one record header.
type Header struct {
	Key    string  `json:"key"`
	Schema *Schema `json:"schema"`
	Value  *Value  `json:"value"`
}

// Sink marks a sink record and carries its Kafka coordinates.
type Sink struct {
	Offset        string `json:"offset"`
	TimestampType string `json:"timestampType"`
}
