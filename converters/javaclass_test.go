package converters

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// TestJavaClassOfBuiltins: every built-in converter, built from the registry
// by Kafka Connect's class name or by alias, reports that class through
// connect.ClassName, as Kafka Connect puts the converter plugin's class in
// the dead-letter queue's __connect.errors.class.name header.
func TestJavaClassOfBuiltins(t *testing.T) {
	r := DefaultRegistry()
	cases := map[string]string{
		"json": ClassJSON, ClassJSON: ClassJSON,
		"string": ClassString, "bytearray": ClassByteArray,
		"boolean": ClassBoolean, "short": ClassShort, "int": ClassInteger, "long": ClassLong,
		"float": ClassFloat, "double": ClassDouble,
	}
	for class, want := range cases {
		c, err := r.New(class, nil, false)
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		if got := connect.ClassName(c); got != want {
			t.Errorf("ClassName(%s) = %q, want %q", class, got, want)
		}
	}
	for _, class := range []string{"simple", ClassSimpleHeader, "json"} {
		h, err := r.NewHeader(class, nil)
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		want := ClassSimpleHeader
		if class == "json" {
			want = ClassJSON
		}
		if got := connect.ClassName(h); got != want {
			t.Errorf("header ClassName(%s) = %q, want %q", class, got, want)
		}
	}
}

// TestDataErrorJavaMessages: the converters' data failures are Kafka
// Connect's org.apache.kafka.connect.errors.DataException with the message
// Kafka Connect's converter gives for the same input (byte for byte, trailing
// spaces included), read from the classes:
// connect-json-4.3.1.jar JsonConverter.toConnectData (serialization error
// and schemas.enable envelope texts), connect-runtime-4.3.1.jar
// NumberConverter.toConnectData/fromConnectData ("Failed to deserialize
// <type>: ", "Failed to serialize to <type> (was <class>): "),
// BooleanConverter ("Failed to deserialize boolean: ", "Invalid schema type
// for BooleanConverter: <TYPE>", "BooleanConverter is not compatible with
// objects of type <class>"), ByteArrayConverter.fromConnectData.
// Error keeps Sluice's detailed text.
func TestDataErrorJavaMessages(t *testing.T) {
	ctx := context.Background()
	jsonPlain, _ := NewJSON(JSONConfig{SchemasDisabled: true})
	jsonEnv, _ := NewJSON(JSONConfig{})
	second := func(_ any, err error) error { return err }
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"json not JSON", second(jsonPlain.ToConnect(ctx, "t", nil, []byte("not json"))),
			"Converting byte[] to Kafka Connect data failed due to serialization error: "},
		{"json cut short", second(jsonEnv.ToConnect(ctx, "t", nil, []byte(`{"schema":{"type":"int32"},"payload":`))),
			"Converting byte[] to Kafka Connect data failed due to serialization error: "},
		{"json bad payload", second(jsonEnv.ToConnect(ctx, "t", nil, []byte(`{"schema":{"type":"int32"},"payload":x}`))),
			"Converting byte[] to Kafka Connect data failed due to serialization error: "},
		{"json header", second(jsonPlain.ToConnectHeader(ctx, "t", "h", []byte("{"))),
			"Converting byte[] to Kafka Connect data failed due to serialization error: "},
		{"json no envelope", second(jsonEnv.ToConnect(ctx, "t", nil, []byte(`{"id":1}`))),
			`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`},
		{"integer short", second(NewInteger().ToConnect(ctx, "t", nil, []byte{1, 2})), "Failed to deserialize integer: "},
		{"long short", second(NewLong().ToConnect(ctx, "t", nil, []byte{1})), "Failed to deserialize long: "},
		{"boolean byte", second(NewBoolean().ToConnect(ctx, "t", nil, []byte{7})), "Failed to deserialize boolean: "},
		{"integer from string", second(NewInteger().FromConnect(ctx, "t", nil, nil, "x")), "Failed to serialize to integer (was class java.lang.String): "},
		{"double from int64", second(NewDouble().FromConnect(ctx, "t", nil, nil, int64(1))), "Failed to serialize to double (was class java.lang.Long): "},
		{"boolean schema", second(NewBoolean().FromConnect(ctx, "t", nil, connect.Int32Schema, true)), "Invalid schema type for BooleanConverter: INT32"},
		{"boolean from string", second(NewBoolean().FromConnect(ctx, "t", nil, nil, "x")), "BooleanConverter is not compatible with objects of type class java.lang.String"},
		{"bytearray schema", second(NewByteArray().FromConnect(ctx, "t", nil, connect.StringSchema, []byte("x"))), "Invalid schema type for ByteArrayConverter: STRING"},
		{"bytearray from string", second(NewByteArray().FromConnect(ctx, "t", nil, nil, "x")), "ByteArrayConverter is not compatible with objects of type class java.lang.String"},
	}
	for _, c := range cases {
		var de *DataError
		if !errors.As(c.err, &de) {
			t.Errorf("%s: %v, want a *DataError", c.name, c.err)
			continue
		}
		if de.JavaClass() != "org.apache.kafka.connect.errors.DataException" {
			t.Errorf("%s: JavaClass %q", c.name, de.JavaClass())
		}
		if got := de.JavaMessage(); got != c.want {
			t.Errorf("%s: JavaMessage %q, want %q", c.name, got, c.want)
		}
		if de.Error() == c.want && c.want[len(c.want)-1] == ' ' {
			t.Errorf("%s: Error lost Sluice's detail: %q", c.name, de.Error())
		}
	}
	// Without a Kafka Connect wording, JavaMessage is the Go text.
	e := &DataError{Converter: "JsonConverter", Reason: "expected an integer"}
	if e.JavaMessage() != e.Error() {
		t.Errorf("JavaMessage %q, want Error %q", e.JavaMessage(), e.Error())
	}
}
