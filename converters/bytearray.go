package converters

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/connect"
)

// ByteArray is Kafka Connect's ByteArrayConverter: bytes pass through
// unchanged. It is a Converter and a HeaderConverter, has no configuration
// and is safe for concurrent use.
//
// Writing accepts a []byte (or nil) with a nil or BYTES schema; it returns
// the value's own slice, without copying, since record values are immutable
// once handed to the runtime. Any other schema type or Go type is a
// *DataError (a Decimal, although its schema is BYTES, must go through a
// converter that understands it).
//
// Reading returns a copy of the data (never aliasing it) with
// connect.OptionalBytesSchema; nil data yields a nil value with that schema.
type ByteArray struct{}

var (
	_ Converter       = (*ByteArray)(nil)
	_ HeaderConverter = (*ByteArray)(nil)
)

// NewByteArray returns a byte-array converter.
func NewByteArray() *ByteArray { return &ByteArray{} }

// FromConnect returns value's bytes (see the type's doc).
func (c *ByteArray) FromConnect(_ context.Context, _ string, _ *connect.Headers, schema *connect.Schema, value any) ([]byte, error) {
	return byteArrayFrom(schema, value)
}

// FromConnectHeader is FromConnect for a header value.
func (c *ByteArray) FromConnectHeader(_ context.Context, _, _ string, schema *connect.Schema, value any) ([]byte, error) {
	return byteArrayFrom(schema, value)
}

// HeadersIgnored implements HeadersIgnorer: ToConnect does not read
// its headers.
func (c *ByteArray) HeadersIgnored() bool { return true }

// ToConnect returns a copy of data with connect.OptionalBytesSchema. It never
// fails.
func (c *ByteArray) ToConnect(_ context.Context, _ string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	return byteArrayTo(data), nil
}

// ToConnectHeader is ToConnect for a header value.
func (c *ByteArray) ToConnectHeader(_ context.Context, _, _ string, data []byte) (connect.SchemaAndValue, error) {
	return byteArrayTo(data), nil
}

const byteArrayName = "ByteArrayConverter"

func byteArrayFrom(schema *connect.Schema, value any) ([]byte, error) {
	if schema != nil && schema.Type != connect.TypeBytes {
		return nil, &DataError{Converter: byteArrayName, Reason: fmt.Sprintf("invalid schema type %s: only BYTES (or no schema) is supported", schema.Type),
			Message: "Invalid schema type for ByteArrayConverter: " + schema.Type.String()}
	}
	switch v := value.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	}
	return nil, &DataError{Converter: byteArrayName, Reason: fmt.Sprintf("expected Go type []byte, got %T", value),
		Message: "ByteArrayConverter is not compatible with objects of type " + javaClassOf(value)}
}

func byteArrayTo(data []byte) connect.SchemaAndValue {
	if data == nil {
		return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema}
	}
	return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema, Value: append(make([]byte, 0, len(data)), data...)}
}
