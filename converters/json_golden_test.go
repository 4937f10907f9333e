package converters

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// The expected bytes below are what Kafka Connect's JsonConverter writes for
// the same data: compact Jackson output, schema members in asJsonSchema's
// order (type; items | keys, values | fields; optional; name; version; doc;
// parameters; default; and "field" last in struct fields), doubles and floats
// as Double.toString / Float.toString. Many come straight from the facts
// asserted by Kafka's JsonConverterTest (the values 12, "test-string", the
// Decimal 1.56 = "AJw=", Date 10000, Time 14400000, Timestamp 4000000000, the
// "bool" metadata schema) and from the envelope in Kafka Connect's docs.

var ctx = context.Background()

type golden struct {
	name   string
	cfg    JSONConfig
	schema *connect.Schema
	value  any
	want   string
	// noRoundTrip skips reading want back (values that read back
	// differently, e.g. a default written for a null).
	noRoundTrip bool
	// readBack is the value expected when reading want, if it differs from
	// value.
	readBack any
}

func goldens() []golden {
	order := connect.StructBuilder().Name("com.acme.Order").
		Field("id", connect.Int32Schema).
		Field("amt", connect.DecimalBuilder(2).Optional().MustBuild()).
		MustBuild()
	note := connect.StructBuilder().Field("note", connect.OptionalStringSchema).MustBuild()
	withDefault := connect.StructBuilder().
		Field("n", connect.NewSchemaBuilder(connect.TypeInt32).Optional().DefaultValue(int32(42)).MustBuild()).
		MustBuild()
	dec2 := connect.DecimalSchema(2)
	dec2Default := connect.DecimalBuilder(2).DefaultValue(connect.NewDecimal(156, 2)).MustBuild()
	intIntMap := connect.MapBuilder(connect.Int32Schema, connect.Int32Schema).MustBuild()
	return []golden{
		{
			name:   "docs envelope",
			schema: order,
			value:  connect.NewStruct(order).MustPut("id", int32(1)).MustPut("amt", connect.NewDecimal(222, 2)),
			want:   `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"amt"}],"optional":false,"name":"com.acme.Order"},"payload":{"id":1,"amt":"AN4="}}`,
		},
		{name: "int8", schema: connect.Int8Schema, value: int8(12), want: `{"schema":{"type":"int8","optional":false},"payload":12}`},
		{name: "int16", schema: connect.Int16Schema, value: int16(-12), want: `{"schema":{"type":"int16","optional":false},"payload":-12}`},
		{name: "int64", schema: connect.Int64Schema, value: int64(4398046511104), want: `{"schema":{"type":"int64","optional":false},"payload":4398046511104}`},
		{name: "boolean", schema: connect.BooleanSchema, value: true, want: `{"schema":{"type":"boolean","optional":false},"payload":true}`},
		{name: "string", schema: connect.StringSchema, value: "test-string", want: `{"schema":{"type":"string","optional":false},"payload":"test-string"}`},
		{name: "string escapes", schema: connect.StringSchema, value: "q\"b\\s/\n\t\x01é€", want: `{"schema":{"type":"string","optional":false},"payload":"q\"b\\s/\n\t\u0001é€"}`},
		{name: "bytes base64", schema: connect.BytesSchema, value: []byte("test-string"), want: `{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}`},
		{
			name:   "array",
			schema: connect.ArrayBuilder(connect.Int32Schema).MustBuild(),
			value:  []any{int32(1), int32(2), int32(3)},
			want:   `{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}`,
		},
		{
			name:   "map string keys",
			schema: connect.MapBuilder(connect.StringSchema, connect.Int32Schema).MustBuild(),
			value:  map[string]any{"key2": int32(15), "key1": int32(12)},
			want:   `{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}`,
		},
		{
			name:   "map int keys as pairs",
			schema: intIntMap,
			value:  map[any]any{int32(2): int32(15), int32(1): int32(12)},
			want:   `{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}`,
		},
		{
			name:   "date",
			schema: connect.DateSchema,
			value:  connect.DaysToDate(10000),
			want:   `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}`,
		},
		{
			name:   "time",
			schema: connect.TimeSchema,
			value:  connect.MillisToTime(14400000),
			want:   `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":14400000}`,
		},
		{
			name:   "timestamp",
			schema: connect.TimestampSchema,
			value:  time.UnixMilli(4000000000).UTC(),
			want:   `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}`,
		},
		{
			name:   "decimal base64",
			schema: dec2,
			value:  connect.NewDecimal(156, 2),
			want:   `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}`,
		},
		{
			name:   "decimal numeric",
			cfg:    JSONConfig{DecimalFormat: DecimalNumeric},
			schema: dec2,
			value:  connect.NewDecimal(156, 2),
			want:   `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}`,
		},
		{
			name:   "decimal numeric trailing zeros",
			cfg:    JSONConfig{DecimalFormat: DecimalNumeric},
			schema: connect.DecimalSchema(4),
			value:  connect.NewDecimal(15600, 4),
			want:   `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"4"}},"payload":1.5600}`,
		},
		{
			name:   "decimal numeric exponent form",
			cfg:    JSONConfig{DecimalFormat: DecimalNumeric},
			schema: connect.DecimalSchema(9),
			value:  connect.NewDecimal(-5, 9),
			want:   `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"9"}},"payload":-5E-9}`,
		},
		{
			name:   "decimal default",
			schema: dec2Default,
			value:  connect.NewDecimal(156, 2),
			want:   `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"default":"AJw="},"payload":"AJw="}`,
		},
		{
			name:   "optional null field",
			schema: note,
			value:  connect.NewStruct(note),
			want:   `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"note"}],"optional":false},"payload":{"note":null}}`,
		},
		{
			name:     "null field replaced by default",
			schema:   withDefault,
			value:    connect.NewStruct(withDefault),
			want:     `{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":42,"field":"n"}],"optional":false},"payload":{"n":42}}`,
			readBack: connect.NewStruct(withDefault).MustPut("n", int32(42)),
		},
		{
			name:   "null field kept (replace.null.with.default=false)",
			cfg:    JSONConfig{KeepNulls: true},
			schema: withDefault,
			value:  connect.NewStruct(withDefault),
			want:   `{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"default":42,"field":"n"}],"optional":false},"payload":{"n":null}}`,
		},
		{
			name:   "boolean default",
			schema: connect.NewSchemaBuilder(connect.TypeBoolean).DefaultValue(true).MustBuild(),
			value:  true,
			want:   `{"schema":{"type":"boolean","optional":false,"default":true},"payload":true}`,
		},
		{
			name:   "schema metadata",
			schema: connect.NewSchemaBuilder(connect.TypeBoolean).Name("bool").Version(3).Doc("the documentation").Parameter("foo", "bar").MustBuild(),
			value:  true,
			want:   `{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}`,
		},
		{name: "double 1.0E10", schema: connect.Float64Schema, value: 1e10, want: `{"schema":{"type":"double","optional":false},"payload":1.0E10}`},
		{name: "double 12.34", schema: connect.Float64Schema, value: 12.34, want: `{"schema":{"type":"double","optional":false},"payload":12.34}`},
		{name: "double 1.0", schema: connect.Float64Schema, value: 1.0, want: `{"schema":{"type":"double","optional":false},"payload":1.0}`},
		{name: "double small", schema: connect.Float64Schema, value: 0.0001, want: `{"schema":{"type":"double","optional":false},"payload":1.0E-4}`},
		{name: "double negative zero", schema: connect.Float64Schema, value: math.Copysign(0, -1), want: `{"schema":{"type":"double","optional":false},"payload":-0.0}`},
		{name: "double NaN", schema: connect.Float64Schema, value: math.NaN(), want: `{"schema":{"type":"double","optional":false},"payload":"NaN"}`, noRoundTrip: true},
		{name: "double MIN_VALUE", schema: connect.Float64Schema, value: 4.9e-324, want: `{"schema":{"type":"double","optional":false},"payload":4.9E-324}`},
		{name: "float 12.34", schema: connect.Float32Schema, value: float32(12.34), want: `{"schema":{"type":"float","optional":false},"payload":12.34}`},
		{name: "float 1.0E7", schema: connect.Float32Schema, value: float32(1e7), want: `{"schema":{"type":"float","optional":false},"payload":1.0E7}`},
		{
			name:   "schemaless map in envelope",
			schema: nil,
			value:  map[string]any{"key1": int32(12), "key2": "string", "key3": true},
			want:   `{"schema":null,"payload":{"key1":12,"key2":"string","key3":true}}`,
			// Schemaless integers read back as int64.
			readBack: map[string]any{"key1": int64(12), "key2": "string", "key3": true},
		},
		{
			name:     "schemaless map with non-string keys",
			schema:   nil,
			value:    map[any]any{"string": int32(12), int32(52): "string", false: true},
			want:     `{"schema":null,"payload":[[false,true],[52,"string"],["string",12]]}`,
			readBack: []any{[]any{false, true}, []any{int64(52), "string"}, []any{"string", int64(12)}},
		},
		{
			name:     "schemas disabled",
			cfg:      JSONConfig{SchemasDisabled: true},
			schema:   order,
			value:    connect.NewStruct(order).MustPut("id", int32(1)).MustPut("amt", connect.NewDecimal(222, 2)),
			want:     `{"id":1,"amt":"AN4="}`,
			readBack: map[string]any{"id": int64(1), "amt": "AN4="},
		},
	}
}

func TestJSONGolden(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			c, err := NewJSON(g.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second write uses the cached schema prefix.
			for i := 0; i < 2; i++ {
				got, err := c.FromConnect(ctx, "topic", nil, g.schema, g.value)
				if err != nil {
					t.Fatalf("FromConnect: %v", err)
				}
				if string(got) != g.want {
					t.Fatalf("FromConnect:\n got %s\nwant %s", got, g.want)
				}
			}
			if g.noRoundTrip {
				return
			}
			sv, err := c.ToConnect(ctx, "topic", nil, []byte(g.want))
			if err != nil {
				t.Fatalf("ToConnect: %v", err)
			}
			want := g.value
			if g.readBack != nil {
				want = g.readBack
			}
			if !g.cfg.SchemasDisabled && g.schema != nil && !sv.Schema.Equal(g.schema) {
				t.Errorf("schema read back as %+v, want %+v", sv.Schema, g.schema)
			}
			if !connect.ValuesEqual(sv.Value, want) {
				t.Errorf("value read back as %#v, want %#v", sv.Value, want)
			}
		})
	}
}

// TestJSONKafkaConnectInputs reads envelopes written by hand in Kafka's
// JsonConverterTest (whitespace, "field" first, missing "optional").
func TestJSONKafkaConnectInputs(t *testing.T) {
	c, _ := NewJSON(JSONConfig{})
	structSchema := connect.StructBuilder().Field("field1", connect.BooleanSchema).Field("field2", connect.StringSchema).MustBuild()
	optStruct := connect.StructBuilder().Field("optional", connect.OptionalStringSchema).Field("required", connect.StringSchema).MustBuild()
	tests := []struct {
		in     string
		schema *connect.Schema
		value  any
	}{
		{`{ "schema": { "type": "boolean" }, "payload": true }`, connect.BooleanSchema, true},
		{`{ "schema": { "type": "boolean", "optional": true }, "payload": null }`, connect.OptionalBooleanSchema, nil},
		{`{ "schema": { "type": "boolean", "default": true }, "payload": null }`, connect.NewSchemaBuilder(connect.TypeBoolean).DefaultValue(true).MustBuild(), true},
		{`{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }`,
			connect.NewSchemaBuilder(connect.TypeBoolean).Name("bool").Version(2).Doc("the documentation").Parameter("foo", "bar").MustBuild(), true},
		{`{ "schema": { "type": "int8" }, "payload": 12 }`, connect.Int8Schema, int8(12)},
		{`{ "schema": { "type": "int16" }, "payload": 12 }`, connect.Int16Schema, int16(12)},
		{`{ "schema": { "type": "int32" }, "payload": 12 }`, connect.Int32Schema, int32(12)},
		{`{ "schema": { "type": "int64" }, "payload": 4398046511104 }`, connect.Int64Schema, int64(4398046511104)},
		{`{ "schema": { "type": "float" }, "payload": 12.34 }`, connect.Float32Schema, float32(12.34)},
		{`{ "schema": { "type": "double" }, "payload": 12.34 }`, connect.Float64Schema, 12.34},
		{`{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }`, connect.BytesSchema, []byte("test-string")},
		{`{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }`, connect.StringSchema, "foo-bar-baz"},
		{`{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }`,
			connect.ArrayBuilder(connect.Int32Schema).MustBuild(), []any{int32(1), int32(2), int32(3)}},
		{`{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }`,
			connect.MapBuilder(connect.Int32Schema, connect.Int32Schema).MustBuild(), map[any]any{int32(1): int32(12), int32(2): int32(15)}},
		{`{ "schema": { "type": "struct", "fields": [{ "field": "field1", "type": "boolean" }, { "field": "field2", "type": "string" }] }, "payload": { "field1": true, "field2": "string" } }`,
			structSchema, connect.NewStruct(structSchema).MustPut("field1", true).MustPut("field2", "string")},
		{`{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }`,
			optStruct, connect.NewStruct(optStruct).MustPut("required", "required")},
		{`{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }`,
			connect.DecimalSchema(2), connect.NewDecimal(156, 2)},
		{`{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": 1.56 }`,
			connect.DecimalSchema(2), connect.NewDecimal(156, 2)},
		{`{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }`,
			connect.DecimalSchema(17), mustDecimal("1.23456789123456789")},
		{`{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }`,
			connect.DecimalBuilder(2).DefaultValue(connect.NewDecimal(156, 2)).MustBuild(), connect.NewDecimal(156, 2)},
		{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }`,
			connect.DateSchema, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 10000)},
		{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "optional": true, "default": 0 }, "payload": null }`,
			connect.DateBuilder().Optional().DefaultValue(time.Unix(0, 0).UTC()).MustBuild(), time.Unix(0, 0).UTC()},
		{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }`,
			connect.TimeSchema, time.UnixMilli(14400000).UTC()},
		{`{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }`,
			connect.TimestampBuilder().Optional().DefaultValue(time.UnixMilli(42).UTC()).MustBuild(), time.UnixMilli(42).UTC()},
		{`{ "schema": null, "payload": null }`, nil, nil},
		{`{ "schema": null, "payload": [1, "2", 3] }`, nil, []any{int64(1), "2", int64(3)}},
		{`{ "schema": null, "payload": 12.24 }`, nil, 12.24},
		{`{"payload": 12, "schema": {"type": "int32"}}`, connect.Int32Schema, int32(12)},
	}
	for _, tc := range tests {
		sv, err := c.ToConnect(ctx, "topic", nil, []byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !sv.Schema.Equal(tc.schema) {
			t.Errorf("%s: schema %+v, want %+v", tc.in, sv.Schema, tc.schema)
		}
		if !connect.ValuesEqual(sv.Value, tc.value) {
			t.Errorf("%s: value %#v, want %#v", tc.in, sv.Value, tc.value)
		}
	}
}

func mustDecimal(s string) connect.Decimal {
	d, err := connect.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}
