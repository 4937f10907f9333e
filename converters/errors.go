package converters

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// DataError reports data that a converter cannot convert: bytes that do not
// decode (malformed JSON, a value of the wrong width) or a Connect value that
// does not match its schema. It is a permanent error for that record: the
// runtime handles it under errors.tolerance (skip and report, or fail the
// task); retrying the same input cannot succeed.
type DataError struct {
	// Converter names the converter that failed, as Kafka Connect's class
	// simple name ("JsonConverter", "IntegerConverter", …).
	Converter string
	// Path locates the offending value inside the record: "amount",
	// "customer.address.zip", "items[3]", "tags{k}". It is empty when the
	// whole value is at fault.
	Path string
	// Reason says what was expected and what was found.
	Reason string
	// Message, when set, is the message of the DataException Kafka
	// Connect's converter throws for the same failure, e.g. JsonConverter's
	// "Converting byte[] to Kafka Connect data failed due to serialization
	// error: " (the trailing space is Kafka Connect's; the detail is only
	// in its stack trace). The dead-letter queue's
	// __connect.errors.exception.message header carries it (see
	// JavaMessage); Error still returns Sluice's detailed text.
	Message string
}

// JavaClass returns connect.JavaDataException: Kafka Connect's converters
// report every data failure as org.apache.kafka.connect.errors.DataException
// (see connect.JavaClassNamer).
func (e *DataError) JavaClass() string { return connect.JavaDataException }

// JavaMessage returns Message, Kafka Connect's text for the failure, or
// Error when the failure has no Kafka Connect wording (see
// connect.JavaMessager).
func (e *DataError) JavaMessage() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Error()
}

// Error implements error, e.g.
// `JsonConverter: converting field "amount": expected a base64 string for Decimal, got number`.
func (e *DataError) Error() string {
	if e.Path == "" {
		if strings.HasPrefix(e.Reason, e.Converter+" ") {
			return e.Reason
		}
		return e.Converter + ": " + e.Reason
	}
	return fmt.Sprintf("%s: converting field %q: %s", e.Converter, e.Path, e.Reason)
}

func dataErr(converter, format string, args ...any) error {
	return &DataError{Converter: converter, Reason: fmt.Sprintf(format, args...)}
}

// within prefixes the path of err (a *DataError) with comp, the name of the
// enclosing struct field or an index/key selector such as "[3]" or "{k}".
// Errors of other types are returned unchanged.
func within(err error, comp string) error {
	e, ok := err.(*DataError)
	if !ok {
		return err
	}
	switch {
	case e.Path == "":
		e.Path = comp
	case e.Path[0] == '[' || e.Path[0] == '{':
		e.Path = comp + e.Path
	default:
		e.Path = comp + "." + e.Path
	}
	return err
}

// ConfigError reports an invalid converter property or config field. It is
// returned when a converter is built, never while converting.
type ConfigError struct {
	// Key is the Kafka Connect property name, without the
	// key.converter./value.converter./header.converter. prefix.
	Key string
	// Value is the rejected value as given.
	Value string
	// Reason says what is accepted ("want true or false").
	Reason string
}

// Error implements error, e.g. `schemas.enable: want true or false, got "yes"`.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: %s, got %q", e.Key, e.Reason, e.Value)
}

// propBool parses a Kafka ConfigDef BOOLEAN property: "true" or "false",
// case-insensitive, surrounding whitespace ignored. A missing key yields def.
func propBool(props map[string]string, key string, def bool) (bool, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &ConfigError{Key: key, Value: v, Reason: "want true or false"}
}

// Kafka Connect's DataException messages of its converters
// (connect-json-4.3.1.jar JsonConverter, connect-runtime-4.3.1.jar
// NumberConverter/BooleanConverter/ByteArrayConverter, connect-api-4.3.1.jar
// StringConverter), byte for byte: the "...error: " and "...: " texts end in
// a space, as Kafka Connect's constants do.
const (
	// msgJSONToConnect is JsonConverter.toConnectData's message when the
	// bytes are not JSON.
	msgJSONToConnect = "Converting byte[] to Kafka Connect data failed due to serialization error: "
	// msgStringFrom is StringConverter.fromConnectData's.
	msgStringFrom = "Failed to serialize to a string: "
)

// javaClassOf renders the Java class Kafka Connect would see for a Go
// value of the Connect data model, as String.valueOf(value.getClass())
// prints it ("class java.lang.String"); a Go type outside the model is
// named by its Go type.
func javaClassOf(v any) string {
	var c string
	switch v.(type) {
	case string:
		c = "java.lang.String"
	case bool:
		c = "java.lang.Boolean"
	case int8:
		c = "java.lang.Byte"
	case int16:
		c = "java.lang.Short"
	case int32:
		c = "java.lang.Integer"
	case int64:
		c = "java.lang.Long"
	case float32:
		c = "java.lang.Float"
	case float64:
		c = "java.lang.Double"
	case []byte:
		c = "[B"
	case *connect.Struct:
		c = "org.apache.kafka.connect.data.Struct"
	case []any:
		c = "java.util.ArrayList"
	case map[string]any, map[any]any:
		c = "java.util.HashMap"
	default:
		c = fmt.Sprintf("%T", v)
	}
	return "class " + c
}
