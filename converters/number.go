package converters

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/connect"
)

// Number is one of Kafka Connect's fixed-width converters (BooleanConverter,
// ShortConverter, IntegerConverter, LongConverter, FloatConverter,
// DoubleConverter), which store a single primitive the way Kafka's client
// serializers do: big-endian two's complement integers of 2, 4 or 8 bytes,
// IEEE 754 floats of 4 or 8 bytes, and booleans as one byte 0x00/0x01.
// As Kafka's serializers, DoubleConverter writes every NaN as the canonical
// 7ff8000000000000 (Double.doubleToLongBits; Go's math.NaN() has other
// bits) and FloatConverter a NaN's raw bits; reading keeps the bits.
//
// It is a Converter and a HeaderConverter, has no configuration and is safe
// for concurrent use. Reading yields the Go type of the converter (bool,
// int16, int32, int64, float32, float64) with the optional schema of that
// type; nil data yields a nil value with that schema; data of the wrong
// length, or a boolean byte other than 0 and 1, is a *DataError. Writing
// ignores the schema (as Kafka Connect does), except that BooleanConverter,
// as Kafka Connect's, refuses a non-nil schema of another type than
// BOOLEAN (even for a nil value); it requires the value to be of
// the converter's Go type exactly; nil yields nil bytes.
type Number struct {
	typ    connect.Type
	schema *connect.Schema
	name   string
	size   int
}

var (
	_ Converter       = (*Number)(nil)
	_ HeaderConverter = (*Number)(nil)
)

// NewNumber returns the fixed-width converter for t, which must be one of
// TypeBoolean, TypeInt16, TypeInt32, TypeInt64, TypeFloat32 or TypeFloat64.
func NewNumber(t connect.Type) (*Number, error) {
	switch t {
	case connect.TypeBoolean:
		return &Number{t, connect.OptionalBooleanSchema, "BooleanConverter", 1}, nil
	case connect.TypeInt16:
		return &Number{t, connect.OptionalInt16Schema, "ShortConverter", 2}, nil
	case connect.TypeInt32:
		return &Number{t, connect.OptionalInt32Schema, "IntegerConverter", 4}, nil
	case connect.TypeInt64:
		return &Number{t, connect.OptionalInt64Schema, "LongConverter", 8}, nil
	case connect.TypeFloat32:
		return &Number{t, connect.OptionalFloat32Schema, "FloatConverter", 4}, nil
	case connect.TypeFloat64:
		return &Number{t, connect.OptionalFloat64Schema, "DoubleConverter", 8}, nil
	}
	return nil, fmt.Errorf("converters: no fixed-width converter for schema type %s", t)
}

func mustNumber(t connect.Type) *Number {
	n, err := NewNumber(t)
	if err != nil {
		panic(err)
	}
	return n
}

// NewBoolean returns Kafka Connect's BooleanConverter (1 byte, 0x00 or 0x01).
func NewBoolean() *Number { return mustNumber(connect.TypeBoolean) }

// NewShort returns Kafka Connect's ShortConverter (int16, 2 bytes).
func NewShort() *Number { return mustNumber(connect.TypeInt16) }

// NewInteger returns Kafka Connect's IntegerConverter (int32, 4 bytes).
func NewInteger() *Number { return mustNumber(connect.TypeInt32) }

// NewLong returns Kafka Connect's LongConverter (int64, 8 bytes).
func NewLong() *Number { return mustNumber(connect.TypeInt64) }

// NewFloat returns Kafka Connect's FloatConverter (float32, 4 bytes).
func NewFloat() *Number { return mustNumber(connect.TypeFloat32) }

// NewDouble returns Kafka Connect's DoubleConverter (float64, 8 bytes).
func NewDouble() *Number { return mustNumber(connect.TypeFloat64) }

// Type returns the Connect type the converter handles.
func (c *Number) Type() connect.Type { return c.typ }

// FromConnect serialises value (see the type's doc).
func (c *Number) FromConnect(_ context.Context, _ string, _ *connect.Headers, schema *connect.Schema, value any) ([]byte, error) {
	if err := c.checkSchema(schema); err != nil {
		return nil, err
	}
	return c.encode(value)
}

// FromConnectHeader is FromConnect for a header value.
func (c *Number) FromConnectHeader(_ context.Context, _, _ string, schema *connect.Schema, value any) ([]byte, error) {
	if err := c.checkSchema(schema); err != nil {
		return nil, err
	}
	return c.encode(value)
}

// checkSchema refuses, for the BooleanConverter only, a schema of another
// type, null value or not, as Kafka Connect's BooleanConverter does (its
// numeric converters do not look at the schema).
func (c *Number) checkSchema(schema *connect.Schema) error {
	if c.typ == connect.TypeBoolean && schema != nil && schema.Type != connect.TypeBoolean {
		return &DataError{Converter: c.name, Reason: fmt.Sprintf("invalid schema type %s", schema.Type),
			Message: "Invalid schema type for BooleanConverter: " + schema.Type.String()}
	}
	return nil
}

// HeadersIgnored implements HeadersIgnorer: ToConnect does not read
// its headers.
func (c *Number) HeadersIgnored() bool { return true }

// ToConnect deserialises data (see the type's doc).
func (c *Number) ToConnect(_ context.Context, _ string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	return c.decode(data)
}

// ToConnectHeader is ToConnect for a header value.
func (c *Number) ToConnectHeader(_ context.Context, _, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.decode(data)
}

func (c *Number) encode(value any) ([]byte, error) {
	if value == nil {
		return nil, nil
	}
	b := make([]byte, c.size)
	ok := true
	switch c.typ {
	case connect.TypeBoolean:
		var v bool
		if v, ok = value.(bool); ok && v {
			b[0] = 1
		}
	case connect.TypeInt16:
		var v int16
		v, ok = value.(int16)
		binary.BigEndian.PutUint16(b, uint16(v))
	case connect.TypeInt32:
		var v int32
		v, ok = value.(int32)
		binary.BigEndian.PutUint32(b, uint32(v))
	case connect.TypeInt64:
		var v int64
		v, ok = value.(int64)
		binary.BigEndian.PutUint64(b, uint64(v))
	case connect.TypeFloat32:
		var v float32
		v, ok = value.(float32)
		binary.BigEndian.PutUint32(b, math.Float32bits(v))
	case connect.TypeFloat64:
		var v float64
		v, ok = value.(float64)
		bits := math.Float64bits(v)
		if v != v {
			// Kafka's DoubleSerializer writes Double.doubleToLongBits:
			// every NaN as the canonical 0x7ff8000000000000. (Its
			// FloatSerializer writes the raw bits.)
			bits = 0x7ff8000000000000
		}
		binary.BigEndian.PutUint64(b, bits)
	}
	if !ok {
		return nil, &DataError{Converter: c.name, Reason: fmt.Sprintf("expected Go type %s, got %T", goTypeName(c.typ), value), Message: c.serializeMessage(value)}
	}
	return b, nil
}

// javaTypeName is the type name Kafka Connect's NumberConverter subclasses
// pass to their base class ("integer" for IntegerConverter, …), which its
// messages quote; "boolean" for BooleanConverter.
func (c *Number) javaTypeName() string {
	switch c.typ {
	case connect.TypeBoolean:
		return "boolean"
	case connect.TypeInt16:
		return "short"
	case connect.TypeInt32:
		return "integer"
	case connect.TypeInt64:
		return "long"
	case connect.TypeFloat32:
		return "float"
	}
	return "double"
}

// deserializeMessage is Kafka Connect's message when the bytes do not
// decode: NumberConverter's "Failed to deserialize <type>: ",
// BooleanConverter's "Failed to deserialize boolean: ".
func (c *Number) deserializeMessage() string {
	return "Failed to deserialize " + c.javaTypeName() + ": "
}

// serializeMessage is Kafka Connect's message for a value of the wrong
// class: NumberConverter's "Failed to serialize to <type> (was <class>): "
// (its ClassCastException branch), BooleanConverter's "BooleanConverter is
// not compatible with objects of type <class>".
func (c *Number) serializeMessage(value any) string {
	if c.typ == connect.TypeBoolean {
		return "BooleanConverter is not compatible with objects of type " + javaClassOf(value)
	}
	return "Failed to serialize to " + c.javaTypeName() + " (was " + javaClassOf(value) + "): "
}

func goTypeName(t connect.Type) string {
	switch t {
	case connect.TypeBoolean:
		return "bool"
	case connect.TypeInt16:
		return "int16"
	case connect.TypeInt32:
		return "int32"
	case connect.TypeInt64:
		return "int64"
	case connect.TypeFloat32:
		return "float32"
	}
	return "float64"
}

func (c *Number) decode(data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{Schema: c.schema}, nil
	}
	if len(data) != c.size {
		return connect.SchemaAndValue{}, &DataError{Converter: c.name, Reason: fmt.Sprintf("expected %d bytes, got %d", c.size, len(data)), Message: c.deserializeMessage()}
	}
	var v any
	switch c.typ {
	case connect.TypeBoolean:
		switch data[0] {
		case 0:
			v = false
		case 1:
			v = true
		default:
			return connect.SchemaAndValue{}, &DataError{Converter: c.name, Reason: fmt.Sprintf("expected byte 0x00 or 0x01, got 0x%02x", data[0]), Message: c.deserializeMessage()}
		}
	case connect.TypeInt16:
		v = int16(binary.BigEndian.Uint16(data))
	case connect.TypeInt32:
		v = int32(binary.BigEndian.Uint32(data))
	case connect.TypeInt64:
		v = int64(binary.BigEndian.Uint64(data))
	case connect.TypeFloat32:
		v = math.Float32frombits(binary.BigEndian.Uint32(data))
	case connect.TypeFloat64:
		v = math.Float64frombits(binary.BigEndian.Uint64(data))
	}
	return connect.SchemaAndValue{Schema: c.schema, Value: v}, nil
}
