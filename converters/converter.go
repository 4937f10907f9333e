package converters

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// Converter converts between Connect data and the bytes of a Kafka record key
// or value. A converter is configured for keys or for values when it is
// built.
//
// Implementations must be safe for concurrent use: one converter may serve
// several tasks. Errors are data errors about the given input (the runtime
// handles them under errors.tolerance as a KEY_CONVERTER / VALUE_CONVERTER
// stage failure) unless marked retriable with connect.Retriable (for example a
// schema registry that cannot be reached), in which case the runtime retries.
type Converter interface {
	// FromConnect serialises value (of schema, which is nil for schemaless
	// data) for topic. A nil value with a nil schema yields nil bytes (a
	// tombstone); how a nil value with a schema is written is the
	// converter's choice (Kafka Connect's JSON writes it). headers may be nil; a converter may add headers
	// (e.g. a schema id) to a non-nil headers.
	FromConnect(ctx context.Context, topic string, headers *connect.Headers, schema *connect.Schema, value any) ([]byte, error)
	// ToConnect deserialises data read from topic. nil data yields a nil value
	// (with the converter's optional schema, if it has one). The returned
	// value must not alias data: the runtime may reuse the buffer. The sink
	// pipeline passes the record's Kafka headers as consumed, as Kafka
	// Connect passes ConsumerRecord.headers(): []byte values (nil for a null
	// value) with nil schemas, nil when the record has none; they must not
	// be kept or modified.
	ToConnect(ctx context.Context, topic string, headers connect.Headers, data []byte) (connect.SchemaAndValue, error)
}

// HeadersIgnorer is an optional interface of a Converter whose ToConnect
// never reads its headers argument. HeadersIgnored returning true lets the
// sink pipeline pass nil headers instead of building the record's raw Kafka
// headers for the converter (which costs allocations per record); the
// pipeline asks once per task, when the task starts, so the answer must not
// change. The built-in JSON, String, ByteArray, number and Avro converters
// implement it and return true. A type that embeds one of them and
// overrides ToConnect to read the headers must also override
// HeadersIgnored (to return false).
type HeadersIgnorer interface {
	HeadersIgnored() bool
}

// ReadsHeaders reports whether c's ToConnect may read the headers it is
// given: false only when c implements HeadersIgnorer and HeadersIgnored
// returns true.
func ReadsHeaders(c Converter) bool {
	hi, ok := c.(HeadersIgnorer)
	return !ok || !hi.HeadersIgnored()
}

// HeaderConverter converts between Connect header values and header bytes.
// Implementations must be safe for concurrent use. Errors are
// HEADER_CONVERTER stage failures.
type HeaderConverter interface {
	// FromConnectHeader serialises one header value (schema may be nil).
	FromConnectHeader(ctx context.Context, topic, key string, schema *connect.Schema, value any) ([]byte, error)
	// ToConnectHeader deserialises one header value; nil data yields a nil
	// value.
	ToConnectHeader(ctx context.Context, topic, key string, data []byte) (connect.SchemaAndValue, error)
}
