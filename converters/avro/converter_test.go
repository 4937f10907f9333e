package avro

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
)

var avroCtx = context.Background()

// srCounter counts the requests an srfake registry receives, by method and
// path.
type srCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *srCounter) count(w http.ResponseWriter, r *http.Request) bool {
	c.mu.Lock()
	c.n[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	return false
}

func (c *srCounter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *srCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func startSRFake(t testing.TB, opts ...srfake.Option) (*srfake.Registry, *srCounter) {
	t.Helper()
	reg := srfake.New(opts...)
	t.Cleanup(reg.Close)
	c := &srCounter{n: map[string]int{}}
	reg.Intercept(c.count)
	return reg, c
}

func mustAvro(t testing.TB, cfg Config, isKey bool) *Converter {
	t.Helper()
	c, err := New(cfg, isKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func avroRoundTrip(t *testing.T, c *Converter, topic string, s *connect.Schema, v any) (connect.SchemaAndValue, []byte) {
	t.Helper()
	b, err := c.FromConnect(avroCtx, topic, nil, s, v)
	if err != nil {
		t.Fatalf("FromConnect: %v", err)
	}
	sv, err := c.ToConnect(avroCtx, topic, nil, b)
	if err != nil {
		t.Fatalf("ToConnect(%x): %v", b, err)
	}
	return sv, b
}

// withVersion returns a copy of s with the given version, the version Kafka
// Connect's AvroConverter gives a schema without connect.version when
// reading it (its version under the subject).
func withVersion(s *connect.Schema, v int32) *connect.Schema {
	c := *s
	c.Version = v
	return &c
}

// avroEverything is a struct exercising every Connect type the Avro mapping
// supports, with optional and default variants.
func avroEverything() (*connect.Schema, *connect.Struct) {
	addr := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	optAddr := connect.FromSchema(addr).Optional().MustBuild()
	anon := connect.StructBuilder().Field("x", connect.Int32Schema).MustBuild()
	anon2 := connect.StructBuilder().Field("y", connect.OptionalFloat64Schema).MustBuild()
	// A general union field gets a null default in Avro, which Confluent
	// (and Sluice) read back with the field.default flag parameter.
	union := connect.StructBuilder().Name(avroUnionName).Optional().Parameter(avroFieldDefaultFlag, "true").
		Field("int", connect.OptionalInt32Schema).
		Field("string", connect.OptionalStringSchema).
		Field("Address", optAddr).
		MustBuild()
	fixed := connect.NewSchemaBuilder(connect.TypeBytes).Name("com.acme.MD5").Parameter(avroFixedSizeParam, "4").MustBuild()
	precise := connect.DecimalBuilder(3).Parameter(avroDecimalPrecision, "10").MustBuild()
	s := connect.StructBuilder().Name("com.acme.Everything").Version(7).Doc("all the types").
		Parameter("custom", "yes").
		Field("i8", connect.Int8Schema).
		Field("i16", connect.Int16Schema).
		Field("i32", connect.Int32Schema).
		Field("i64", connect.Int64Schema).
		Field("f32", connect.Float32Schema).
		Field("f64", connect.Float64Schema).
		Field("b", connect.BooleanSchema).
		Field("s", connect.StringSchema).
		Field("bytes", connect.BytesSchema).
		Field("dec", connect.DecimalSchema(2)).
		Field("dec_precise", precise).
		Field("date", connect.DateSchema).
		Field("time", connect.TimeSchema).
		Field("ts", connect.TimestampSchema).
		Field("o_i8", connect.OptionalInt8Schema).
		Field("o_i16", connect.OptionalInt16Schema).
		Field("o_i32", connect.OptionalInt32Schema).
		Field("o_i64", connect.OptionalInt64Schema).
		Field("o_f32", connect.OptionalFloat32Schema).
		Field("o_f64", connect.OptionalFloat64Schema).
		Field("o_b", connect.OptionalBooleanSchema).
		Field("o_s", connect.OptionalStringSchema).
		Field("o_bytes", connect.OptionalBytesSchema).
		Field("o_dec", connect.DecimalBuilder(4).Optional().MustBuild()).
		Field("o_date", connect.DateBuilder().Optional().MustBuild()).
		Field("o_ts", connect.TimestampBuilder().Optional().MustBuild()).
		Field("null_s", connect.OptionalStringSchema).
		Field("def_i32", connect.NewSchemaBuilder(connect.TypeInt32).DefaultValue(int32(42)).MustBuild()).
		Field("def_s", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("dflt").MustBuild()).
		Field("def_f32", connect.NewSchemaBuilder(connect.TypeFloat32).DefaultValue(float32(1.1)).MustBuild()).
		Field("def_bytes", connect.NewSchemaBuilder(connect.TypeBytes).DefaultValue([]byte{0, 1, 0xff}).MustBuild()).
		Field("doc_field", connect.NewSchemaBuilder(connect.TypeString).Doc("documented").Name("com.acme.Text").Version(2).Parameter("p", "v").MustBuild()).
		Field("arr", connect.ArrayBuilder(connect.Int32Schema).MustBuild()).
		Field("arr_opt", connect.ArrayBuilder(connect.OptionalStringSchema).MustBuild()).
		Field("arr_struct", connect.ArrayBuilder(addr).MustBuild()).
		Field("empty_arr", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		Field("map_s", connect.MapBuilder(connect.StringSchema, connect.Int64Schema).MustBuild()).
		Field("map_i", connect.MapBuilder(connect.Int32Schema, connect.StringSchema).MustBuild()).
		Field("map_opt_key", connect.MapBuilder(connect.OptionalStringSchema, connect.StringSchema).MustBuild()).
		Field("map_dec", connect.MapBuilder(connect.DecimalSchema(1), connect.OptionalBooleanSchema).MustBuild()).
		Field("map_struct", connect.MapBuilder(connect.StringSchema, addr).Optional().MustBuild()).
		Field("o_map", connect.MapBuilder(connect.Int64Schema, connect.Int64Schema).Optional().MustBuild()).
		Field("addr", addr).
		Field("o_addr", optAddr).
		Field("o_addr_null", optAddr).
		Field("anon", anon).
		Field("anon2", anon2).
		Field("union", union).
		Field("union_null", union).
		Field("fixed", fixed).
		Field("nested_arr", connect.ArrayBuilder(connect.ArrayBuilder(connect.Float64Schema).MustBuild()).MustBuild()).
		MustBuild()
	a := func(street string) *connect.Struct {
		return connect.NewStruct(addr).MustPut("street", street).MustPut("zip", "NW1")
	}
	v := connect.NewStruct(s).
		MustPut("i8", int8(-128)).
		MustPut("i16", int16(32767)).
		MustPut("i32", int32(-2147483648)).
		MustPut("i64", int64(math.MaxInt64)).
		MustPut("f32", float32(3.25)).
		MustPut("f64", math.Inf(-1)).
		MustPut("b", true).
		MustPut("s", "héllo 😀 \x00").
		MustPut("bytes", []byte{0, 1, 2, 0xfe}).
		MustPut("dec", connect.NewDecimal(-123456789, 2)).
		MustPut("dec_precise", connect.NewDecimal(1234567, 3)).
		MustPut("date", connect.DaysToDate(-719162)).
		MustPut("time", connect.MillisToTime(86399999)).
		MustPut("ts", time.UnixMilli(-1).UTC()).
		MustPut("o_i8", int8(7)).
		MustPut("o_i16", int16(-7)).
		MustPut("o_i32", int32(0)).
		MustPut("o_i64", int64(-1)).
		MustPut("o_f32", float32(-0.5)).
		MustPut("o_f64", 0.1).
		MustPut("o_b", false).
		MustPut("o_s", "").
		MustPut("o_bytes", []byte{}).
		MustPut("o_dec", connect.Decimal{Unscaled: new(big.Int).Lsh(big.NewInt(1), 100), Scale: 4}).
		MustPut("o_date", connect.DaysToDate(19000)).
		MustPut("o_ts", time.UnixMilli(1700000000123).UTC()).
		MustPut("def_i32", int32(1)).
		MustPut("def_f32", float32(2.5)).
		MustPut("def_bytes", []byte("x")).
		MustPut("doc_field", "text").
		MustPut("arr", []any{int32(1), int32(2), int32(3)}).
		MustPut("arr_opt", []any{"a", nil, "c"}).
		MustPut("arr_struct", []any{a("1 Main St"), a("2 Main St")}).
		MustPut("empty_arr", []any{}).
		MustPut("map_s", map[string]any{"b": int64(2), "a": int64(1)}).
		MustPut("map_i", map[any]any{int32(3): "three", int32(-1): "minus one"}).
		MustPut("map_opt_key", map[string]any{"k": "v"}).
		MustPut("map_dec", map[any]any{connect.NewDecimal(15, 1): true, connect.NewDecimal(-5, 1): nil}).
		MustPut("map_struct", map[string]any{"home": a("3 Home Rd")}).
		MustPut("addr", a("4 Road")).
		MustPut("o_addr", connect.NewStruct(optAddr).MustPut("street", "5 Lane")).
		MustPut("anon", connect.NewStruct(anon).MustPut("x", int32(9))).
		MustPut("anon2", connect.NewStruct(anon2)).
		MustPut("union", connect.NewStruct(union).MustPut("string", "in a union")).
		MustPut("fixed", []byte{1, 2, 3, 4}).
		MustPut("nested_arr", []any{[]any{1.5, 2.5}, []any{}})
	return s, v
}

func TestAvroRoundTripEverything(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s, v := avroEverything()
	sv, b := avroRoundTrip(t, c, "everything", s, v)
	if !sv.Schema.Equal(s) {
		t.Errorf("schema differs after the round trip:\n got %s\nwant %s", dumpAvroSchema(sv.Schema), dumpAvroSchema(s))
	}
	// The default of a null field is written, as Struct.Get returns it.
	want := copyStructTo(v, s).MustPut("def_s", "dflt")
	if !connect.ValuesEqual(sv.Value, want) {
		t.Errorf("value differs after the round trip:\n got %v\nwant %v", sv.Value, want)
	}
	if err := connect.ValidateValue(sv.Schema, sv.Value); err != nil {
		t.Errorf("decoded value is invalid: %v", err)
	}
	// The read value must not alias the input.
	st := sv.Value.(*connect.Struct)
	got, _ := st.Get("bytes")
	for i := range b {
		b[i] = 0xAA
	}
	if string(got.([]byte)) != "\x00\x01\x02\xfe" {
		t.Error("decoded bytes alias the input")
	}
}

func TestAvroFloatSpecials(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	for _, v := range []any{float32(math.NaN()), math.NaN(), float32(math.Inf(1)), math.Copysign(0, -1)} {
		s := connect.Float64Schema
		if _, ok := v.(float32); ok {
			s = connect.Float32Schema
		}
		sv, _ := avroRoundTrip(t, c, "floats", s, v)
		if fmt.Sprint(sv.Value) != fmt.Sprint(v) || math.Signbit(toF64(sv.Value)) != math.Signbit(toF64(v)) {
			t.Errorf("%v read back as %v", v, sv.Value)
		}
	}
}

func toF64(v any) float64 {
	if f, ok := v.(float32); ok {
		return float64(f)
	}
	return v.(float64)
}

// dumpAvroSchema renders a schema for failure messages.
func dumpAvroSchema(s *connect.Schema) string {
	var b strings.Builder
	var walk func(s *connect.Schema, indent string)
	walk = func(s *connect.Schema, indent string) {
		fmt.Fprintf(&b, "%s opt=%v name=%q v=%d doc=%q params=%v default=%v", s.Type, s.Optional, s.Name, s.Version, s.Doc, s.Parameters, s.Default)
		for _, f := range s.Fields {
			fmt.Fprintf(&b, "\n%s  %s: ", indent, f.Name)
			walk(f.Schema, indent+"  ")
		}
		if s.KeySchema != nil {
			fmt.Fprintf(&b, "\n%s  key: ", indent)
			walk(s.KeySchema, indent+"  ")
		}
		if s.ValueSchema != nil {
			fmt.Fprintf(&b, "\n%s  value: ", indent)
			walk(s.ValueSchema, indent+"  ")
		}
	}
	walk(s, "")
	return b.String()
}

func TestAvroRoundTripTopLevel(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, true)
	for i, tc := range []struct {
		schema *connect.Schema
		value  any
	}{
		{connect.Int8Schema, int8(1)},
		{connect.Int16Schema, int16(-300)},
		{connect.Int32Schema, int32(123456)},
		{connect.Int64Schema, int64(-1)},
		{connect.Float32Schema, float32(1.5)},
		{connect.Float64Schema, 2.25},
		{connect.BooleanSchema, true},
		{connect.StringSchema, "key"},
		{connect.OptionalStringSchema, "opt"},
		{connect.BytesSchema, []byte("raw bytes")},
		{connect.OptionalBytesSchema, []byte{1}},
		{connect.DecimalSchema(3), connect.NewDecimal(-1, 3)},
		{connect.DateSchema, connect.DaysToDate(1)},
		{connect.TimeSchema, connect.MillisToTime(1)},
		{connect.TimestampSchema, time.UnixMilli(1).UTC()},
		{connect.ArrayBuilder(connect.StringSchema).MustBuild(), []any{"x"}},
		{connect.MapBuilder(connect.StringSchema, connect.Int32Schema).MustBuild(), map[string]any{"x": int32(1)}},
		{connect.MapBuilder(connect.BooleanSchema, connect.Int32Schema).MustBuild(), map[any]any{true: int32(1)}},
	} {
		topic := fmt.Sprintf("t%d", i)
		sv, b := avroRoundTrip(t, c, topic, tc.schema, tc.value)
		// Required read schemas get their version under the subject (1),
		// as in Kafka Connect; optional ones (nullable unions) do not.
		want := tc.schema
		if want.Version == 0 && !want.Optional {
			want = withVersion(want, 1)
		}
		if !sv.Schema.Equal(want) {
			t.Errorf("%s: schema %s, want %s", tc.schema, dumpAvroSchema(sv.Schema), dumpAvroSchema(want))
		}
		if !connect.ValuesEqual(sv.Value, tc.value) {
			t.Errorf("%s: value %v, want %v", tc.schema, sv.Value, tc.value)
		}
		if tc.schema.Type == connect.TypeBytes && !tc.schema.Optional {
			// Confluent writes top-level bytes without a length.
			var p []byte
			if tc.schema.Name == connect.DecimalName {
				p = []byte{0xff}
			} else {
				p = tc.value.([]byte)
			}
			if string(b[5:]) != string(p) {
				t.Errorf("%s: payload %x, want raw bytes %x", tc.schema, b[5:], p)
			}
		}
	}
}

func TestAvroTombstonesAndNulls(t *testing.T) {
	reg, cnt := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	for _, s := range []*connect.Schema{nil, connect.OptionalStringSchema} {
		b, err := c.FromConnect(avroCtx, "t", nil, s, nil)
		if err != nil || b != nil {
			t.Errorf("FromConnect(%v, nil) = %x, %v; want a tombstone", s, b, err)
		}
	}
	_, err := c.FromConnect(avroCtx, "t", nil, connect.StringSchema, nil)
	var de *converters.DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "null value") {
		t.Errorf("null for a required schema: %v, want a data error", err)
	}
	sv, err := c.ToConnect(avroCtx, "t", nil, nil)
	if err != nil || sv.Schema != nil || sv.Value != nil {
		t.Errorf("ToConnect(nil) = %v, %v", sv, err)
	}
	if _, err := c.FromConnect(avroCtx, "t", nil, nil, "schemaless"); !errors.As(err, &de) {
		t.Errorf("schemaless value: %v, want a data error", err)
	}
	if n := cnt.total(); n != 0 {
		t.Errorf("%d registry calls, want none", n)
	}
}

// TestAvroSchemaText checks the registered schema text against what
// Confluent's AvroData and Avro Java's Schema.toString produce.
func TestAvroSchemaText(t *testing.T) {
	value := connect.StructBuilder().Name("dbserver1.inventory.customers.Value").Optional().
		Field("id", connect.Int32Schema).
		Field("first_name", connect.StringSchema).
		Field("email", connect.OptionalStringSchema).
		MustBuild()
	source := connect.StructBuilder().Name("io.debezium.connector.mysql.Source").
		Field("version", connect.StringSchema).
		Field("connector", connect.StringSchema).
		Field("ts_ms", connect.Int64Schema).
		Field("snapshot", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("false").
			Name("io.debezium.data.Enum").Version(1).Parameter("allowed", "true,last,false,incremental").MustBuild()).
		MustBuild()
	envelope := connect.StructBuilder().Name("dbserver1.inventory.customers.Envelope").Version(1).
		Field("before", value).
		Field("after", connect.FromSchema(value).MustBuild()).
		Field("source", source).
		Field("op", connect.StringSchema).
		Field("ts_ms", connect.OptionalInt64Schema).
		MustBuild()
	anon := connect.StructBuilder().
		Field("a", connect.StructBuilder().Field("x", connect.Int32Schema).MustBuild()).
		Field("b", connect.StructBuilder().Field("y", connect.StringSchema).MustBuild()).
		Field("m", connect.MapBuilder(connect.Int32Schema, connect.StringSchema).MustBuild()).
		Field("n", connect.NewSchemaBuilder(connect.TypeInt32).DefaultValue(int32(5)).MustBuild()).
		Field("f", connect.NewSchemaBuilder(connect.TypeFloat32).DefaultValue(float32(1.1)).MustBuild()).
		Field("i8", connect.Int8Schema).
		Field("named_map", connect.MapBuilder(connect.StringSchema, connect.StringSchema).Optional().Name("com.x.Labels").MustBuild()).
		Field("named_entries", connect.MapBuilder(connect.Int64Schema, connect.StringSchema).Name("com.x.Pairs").MustBuild()).
		Field("inner", connect.StructBuilder().Name("Inner").Field("z", connect.BooleanSchema).MustBuild()).
		MustBuild()
	for _, tc := range []struct {
		name   string
		schema *connect.Schema
		want   string
	}{
		{"decimal", connect.DecimalSchema(2),
			`{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"decimal precision", connect.DecimalBuilder(2).Parameter(avroDecimalPrecision, "10").MustBuild(),
			`{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"decimal negative scale", connect.DecimalSchema(-2),
			`{"type":"bytes","scale":-2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"-2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"date", connect.DateSchema,
			`{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}`},
		{"time", connect.TimeSchema,
			`{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}`},
		{"timestamp", connect.TimestampBuilder().Optional().MustBuild(),
			`["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}]`},
		{"int16", connect.Int16Schema, `{"type":"int","connect.type":"int16"}`},
		{"string", connect.StringSchema, `"string"`},
		{"debezium envelope", envelope,
			`{"type":"record","name":"Envelope","namespace":"dbserver1.inventory.customers","fields":[` +
				`{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":"int"},{"name":"first_name","type":"string"},{"name":"email","type":["null","string"],"default":null}],"connect.name":"dbserver1.inventory.customers.Value"}],"default":null},` +
				`{"name":"after","type":["null","Value"],"default":null},` +
				`{"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.mysql","fields":[{"name":"version","type":"string"},{"name":"connector","type":"string"},{"name":"ts_ms","type":"long"},{"name":"snapshot","type":[{"type":"string","connect.version":1,"connect.parameters":{"allowed":"true,last,false,incremental"},"connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"default":"false"}],"connect.name":"io.debezium.connector.mysql.Source"}},` +
				`{"name":"op","type":"string"},` +
				`{"name":"ts_ms","type":["null","long"],"default":null}],` +
				`"connect.version":1,"connect.name":"dbserver1.inventory.customers.Envelope"}`},
		{"default names", anon,
			`{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[` +
				`{"name":"a","type":{"type":"record","name":"ConnectDefault2","fields":[{"name":"x","type":"int"}]}},` +
				`{"name":"b","type":{"type":"record","name":"ConnectDefault3","fields":[{"name":"y","type":"string"}]}},` +
				`{"name":"m","type":{"type":"array","items":{"type":"record","name":"MapEntry","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}},` +
				`{"name":"n","type":{"type":"int","connect.default":5},"default":5},` +
				`{"name":"f","type":{"type":"float","connect.default":1.1},"default":1.100000023841858},` +
				`{"name":"i8","type":{"type":"int","connect.type":"int8"}},` +
				`{"name":"named_map","type":["null",{"type":"map","values":"string","connect.name":"com.x.Labels"}],"default":null},` +
				`{"name":"named_entries","type":{"type":"array","items":{"type":"record","name":"Pairs","namespace":"com.x","fields":[{"name":"key","type":"long"},{"name":"value","type":"string"}],"connect.internal.type":"MapEntry"},"connect.name":"com.x.Pairs"}},` +
				`{"name":"inner","type":{"type":"record","name":"Inner","namespace":"","fields":[{"name":"z","type":"boolean"}],"connect.name":"Inner"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := avroFromConnect(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			got, err := emitAvroSchema(a)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("schema text\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Error("not valid JSON")
			}
			// Parsing and emitting again is the identity.
			p, err := parseAvroSchema(got)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := emitAvroSchema(p); err != nil || again != got {
				t.Errorf("re-emitted\n got %s (%v)\nwant %s", again, err, got)
			}
		})
	}
}

func TestAvroSchemaErrors(t *testing.T) {
	bad := []*connect.Schema{
		connect.StructBuilder().Field("bad-name", connect.Int32Schema).MustBuild(),
		connect.StructBuilder().Name("com.acme.9lives").Field("a", connect.Int32Schema).MustBuild(),
		// Two different structs of one name.
		connect.StructBuilder().
			Field("a", connect.StructBuilder().Name("com.x.S").Field("a", connect.Int32Schema).MustBuild()).
			Field("b", connect.StructBuilder().Name("com.x.S").Field("b", connect.Int32Schema).MustBuild()).
			MustBuild(),
	}
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	for _, s := range bad {
		_, err := c.FromConnect(avroCtx, "t", nil, s, connect.NewStruct(s))
		var de *converters.DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "topic t") {
			t.Errorf("%s: %v, want a data error naming the topic", dumpAvroSchema(s), err)
		}
	}
}

func TestAvroWriteErrors(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s := connect.StructBuilder().Name("com.acme.R").
		Field("a", connect.Int32Schema).
		Field("b", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		MustBuild()
	other := connect.StructBuilder().Name("com.acme.Other").Field("a", connect.Int32Schema).MustBuild()
	for _, tc := range []struct {
		value any
		want  string
	}{
		{connect.NewStruct(s).MustPut("b", []any{}), `converting field "a": null value`},
		{connect.NewStruct(s).MustPut("a", int32(1)).MustPut("b", []any{"x"}), ""},
		{map[string]any{"a": 1}, "expects Go type *connect.Struct"},
		{connect.NewStruct(other).MustPut("a", int32(1)), "does not match"},
	} {
		_, err := c.FromConnect(avroCtx, "orders", nil, s, tc.value)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.value, err)
			}
			continue
		}
		var de *converters.DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "subject orders-value") {
			t.Errorf("%v: %v, want a data error with %q naming the subject", tc.value, err, tc.want)
		}
	}
	// Values the encoder meets unvalidated.
	for _, tc := range []struct {
		schema *connect.Schema
		value  any
		want   string
	}{
		{connect.ArrayBuilder(connect.StringSchema).MustBuild(), []any{"x", nil}, `converting field "[1]": null value`},
		{connect.Int32Schema, int64(1), "expects Go type int32, got int64"},
		{connect.DecimalSchema(2), connect.NewDecimal(1, 3), "scale 3"},
		{connect.MapBuilder(connect.StringSchema, connect.Int32Schema).MustBuild(), map[string]any{"k": "v"}, `converting field "{k}"`},
		{connect.TimeSchema, time.Unix(100000, 0), "has a date"},
	} {
		_, err := c.FromConnect(avroCtx, "orders", nil, tc.schema, tc.value)
		var de *converters.DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a data error with %q", tc.value, err, tc.want)
		}
	}
}

func TestAvroDecodeErrors(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s := connect.StructBuilder().Name("com.acme.R").
		Field("s", connect.StringSchema).
		Field("i8", connect.Int8Schema).
		MustBuild()
	good, err := c.FromConnect(avroCtx, "orders", nil, s, connect.NewStruct(s).MustPut("s", "abc").MustPut("i8", int8(1)))
	if err != nil {
		t.Fatal(err)
	}
	id := string(good[1:5])
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic", append([]byte{1}, good[1:]...), "unknown magic byte 0x01"},
		{"empty", []byte{}, "too few"},
		{"short", []byte{0, 0, 0}, "too few"},
		{"truncated", good[:len(good)-2], "unexpected end of data"},
		{"negative length", []byte("\x00" + id + "\x01"), "negative length"},
		{"long length", []byte("\x00" + id + "\x7e"), "unexpected end of data"},
		{"int8 range", []byte("\x00" + id + "\x00\x80\x04"), "out of range for INT8"},
		{"unknown id", []byte{0, 0, 0, 0x30, 0x39, 0}, "unknown schema id 12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ToConnect(avroCtx, "orders", nil, tc.data)
			var de *converters.DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want a *converters.DataError", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "topic orders") || !strings.Contains(msg, "subject orders-value") {
				t.Errorf("error %q, want %q naming topic and subject", msg, tc.want)
			}
			if connect.IsRetriable(err) {
				t.Error("a data error is retriable")
			}
		})
	}
}

func TestAvroRegistersOnce(t *testing.T) {
	reg, cnt := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s, v := benchRecord()
	var first []byte
	for i := 0; i < 100; i++ {
		// A structurally equal schema built anew each time hits the cache too.
		s2 := s
		if i%2 == 1 {
			s2 = connect.FromSchema(s).MustBuild()
			v = copyStructTo(v, s2)
		}
		b, err := c.FromConnect(avroCtx, "orders", nil, s2, v)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if string(b) != string(first) {
			t.Fatal("output changed between records")
		}
		if _, err := c.ToConnect(avroCtx, "orders", nil, b); err != nil {
			t.Fatal(err)
		}
	}
	if n := cnt.get("POST /subjects/orders-value/versions"); n != 1 {
		t.Errorf("registered %d times, want once", n)
	}
	calls := cnt.total()
	for i := 0; i < 1000; i++ {
		b, _ := c.FromConnect(avroCtx, "orders", nil, s, v)
		if _, err := c.ToConnect(avroCtx, "orders", nil, b); err != nil {
			t.Fatal(err)
		}
	}
	if n := cnt.total() - calls; n != 0 {
		t.Errorf("%d registry calls on the steady path, want none", n)
	}
	// A second converter registering the identical schema gets the same id.
	c2 := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	b, err := c2.FromConnect(avroCtx, "orders", nil, s, v)
	if err != nil || string(b[:5]) != string(first[:5]) {
		t.Errorf("second converter wrote id %x (%v), want %x", b[:5], err, first[:5])
	}
	if versions, _ := reg.GetSchema("orders-value", 2); versions.ID != 0 {
		t.Error("the identical schema was registered as a new version")
	}
}

// copyStructTo copies the values of v into a struct of the equal schema s.
func copyStructTo(v *connect.Struct, s *connect.Schema) *connect.Struct {
	out := connect.NewStruct(s)
	for i, f := range s.Fields {
		if x := v.At(i); x != nil {
			out.MustPut(f.Name, x)
		}
	}
	return out
}

func TestAvroConcurrent(t *testing.T) {
	reg, cnt := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s, v := avroEverything()
	want := copyStructTo(v, s).MustPut("def_s", "dflt")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				topic := fmt.Sprintf("topic%d", i%3)
				b, err := c.FromConnect(avroCtx, topic, nil, s, v)
				if err != nil {
					t.Error(err)
					return
				}
				sv, err := c.ToConnect(avroCtx, topic, nil, b)
				if err != nil {
					t.Error(err)
					return
				}
				if !connect.ValuesEqual(sv.Value, want) {
					t.Error("value differs")
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		if n := cnt.get(fmt.Sprintf("POST /subjects/topic%d-value/versions", i)); n != 1 {
			t.Errorf("topic%d: registered %d times, want once", i, n)
		}
	}
}

func TestAvroCacheBounded(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}, SchemasCacheSize: 4}, false)
	for i := 0; i < 20; i++ {
		s := connect.StructBuilder().Name(fmt.Sprintf("com.acme.R%d", i)).Field("a", connect.Int32Schema).MustBuild()
		b, err := c.FromConnect(avroCtx, "t", nil, s, connect.NewStruct(s).MustPut("a", int32(i)))
		if err != nil {
			t.Fatal(err)
		}
		sv, err := c.ToConnect(avroCtx, "t", nil, b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := sv.Value.(*connect.Struct).Get("a"); got != int32(i) {
			t.Fatalf("record %d read back as %v", i, got)
		}
	}
	if n := c.writers.Len(); n > 4 {
		t.Errorf("writer cache holds %d entries, bound 4", n)
	}
	if n := c.ids.Len(); n > 4 {
		t.Errorf("id cache holds %d entries, bound 4", n)
	}
}

// TestAvroVersionFromRegistry checks that a schema without connect.version
// is read with its version under the subject, as Kafka Connect does.
func TestAvroVersionFromRegistry(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	v1 := connect.StructBuilder().Name("com.acme.User").Field("id", connect.Int64Schema).MustBuild()
	v2 := connect.StructBuilder().Name("com.acme.User").Field("id", connect.Int64Schema).
		Field("name", connect.OptionalStringSchema).MustBuild()
	for i, s := range []*connect.Schema{v1, v2} {
		sv, _ := avroRoundTrip(t, c, "users", s, connect.NewStruct(s).MustPut("id", int64(1)))
		if sv.Schema.Version != int32(i+1) {
			t.Errorf("version %d, want %d", sv.Schema.Version, i+1)
		}
	}
	// An explicit Connect version wins.
	v3 := connect.FromSchema(v2).Version(10).MustBuild()
	sv, _ := avroRoundTrip(t, c, "users", v3, connect.NewStruct(v3).MustPut("id", int64(1)))
	if sv.Schema.Version != 10 {
		t.Errorf("version %d, want 10", sv.Schema.Version)
	}
}

func evolutionSchemas() (v1, v2 *connect.Schema) {
	v1 = connect.StructBuilder().Name("com.acme.User").Version(1).
		Field("id", connect.Int64Schema).
		Field("name", connect.StringSchema).
		MustBuild()
	v2 = connect.StructBuilder().Name("com.acme.User").Version(2).
		Field("id", connect.Int64Schema).
		Field("name", connect.StringSchema).
		Field("country", connect.NewSchemaBuilder(connect.TypeString).DefaultValue("NL").MustBuild()).
		MustBuild()
	return v1, v2
}

func avroTextOf(t *testing.T, s *connect.Schema) string {
	t.Helper()
	a, err := avroFromConnect(s)
	if err != nil {
		t.Fatal(err)
	}
	text, err := emitAvroSchema(a)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestAvroEvolution(t *testing.T) {
	reg, _ := startSRFake(t)
	w := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	v1, v2 := evolutionSchemas()
	d1, err := w.FromConnect(avroCtx, "users", nil, v1, connect.NewStruct(v1).MustPut("id", int64(1)).MustPut("name", "ann"))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := w.FromConnect(avroCtx, "users", nil, v2, connect.NewStruct(v2).MustPut("id", int64(2)).MustPut("name", "bob").MustPut("country", "BE"))
	if err != nil {
		t.Fatal(err)
	}
	if string(d1[1:5]) == string(d2[1:5]) {
		t.Fatal("v1 and v2 got the same id")
	}

	t.Run("v2 reader reads v1", func(t *testing.T) {
		r := mustAvro(t, Config{URLs: []string{reg.URL()}, ReaderSchema: avroTextOf(t, v2)}, false)
		sv, err := r.ToConnect(avroCtx, "users", nil, d1)
		if err != nil {
			t.Fatal(err)
		}
		if !sv.Schema.Equal(v2) {
			t.Errorf("schema %s, want v2", dumpAvroSchema(sv.Schema))
		}
		want := connect.NewStruct(v2).MustPut("id", int64(1)).MustPut("name", "ann").MustPut("country", "NL")
		if !connect.ValuesEqual(sv.Value, want) {
			t.Errorf("value %v, want %v", sv.Value, want)
		}
	})
	t.Run("v1 reader reads v2", func(t *testing.T) {
		r := mustAvro(t, Config{URLs: []string{reg.URL()}, ReaderSchema: avroTextOf(t, v1)}, false)
		sv, err := r.ToConnect(avroCtx, "users", nil, d2)
		if err != nil {
			t.Fatal(err)
		}
		want := connect.NewStruct(v1).MustPut("id", int64(2)).MustPut("name", "bob")
		if !sv.Schema.Equal(v1) || !connect.ValuesEqual(sv.Value, want) {
			t.Errorf("read %v (%s), want %v", sv.Value, dumpAvroSchema(sv.Schema), want)
		}
	})
	t.Run("use.latest.version reader", func(t *testing.T) {
		r := mustAvro(t, Config{URLs: []string{reg.URL()}, UseLatestVersion: true}, false)
		for _, d := range [][]byte{d1, d2} {
			sv, err := r.ToConnect(avroCtx, "users", nil, d)
			if err != nil {
				t.Fatal(err)
			}
			if !sv.Schema.Equal(v2) {
				t.Errorf("schema %s, want the latest, v2", dumpAvroSchema(sv.Schema))
			}
			if c, _ := sv.Value.(*connect.Struct).Get("country"); c != "NL" && c != "BE" {
				t.Errorf("country %v", c)
			}
		}
	})
	t.Run("use.latest.version writer", func(t *testing.T) {
		lw := mustAvro(t, Config{URLs: []string{reg.URL()}, AutoRegisterDisabled: true, UseLatestVersion: true}, false)
		b, err := lw.FromConnect(avroCtx, "users", nil, v1, connect.NewStruct(v1).MustPut("id", int64(3)).MustPut("name", "cy"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b[1:5]) != string(d2[1:5]) {
			t.Errorf("wrote id %x, want the latest schema's id %x", b[1:5], d2[1:5])
		}
		sv, err := w.ToConnect(avroCtx, "users", nil, b)
		if err != nil {
			t.Fatal(err)
		}
		want := connect.NewStruct(v2).MustPut("id", int64(3)).MustPut("name", "cy").MustPut("country", "NL")
		if !connect.ValuesEqual(sv.Value, want) {
			t.Errorf("read %v, want %v", sv.Value, want)
		}
	})
	t.Run("incompatible reader", func(t *testing.T) {
		bad := connect.StructBuilder().Name("com.acme.User").Field("id", connect.StringSchema).Field("age", connect.Int32Schema).MustBuild()
		r := mustAvro(t, Config{URLs: []string{reg.URL()}, ReaderSchema: avroTextOf(t, bad)}, false)
		_, err := r.ToConnect(avroCtx, "users", nil, d1)
		var de *converters.DataError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "cannot be read") {
			t.Errorf("%v, want a data error", err)
		}
	})
}

func TestAvroLookupWithoutAutoRegister(t *testing.T) {
	reg, cnt := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}, AutoRegisterDisabled: true}, false)
	s, v := benchRecord()
	_, err := c.FromConnect(avroCtx, "orders", nil, s, v)
	var de *converters.DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "not registered under subject orders-value") {
		t.Fatalf("%v, want a data error saying the schema is not registered", err)
	}
	if cnt.get("POST /subjects/orders-value/versions") != 0 {
		t.Error("registered although auto.register.schemas=false")
	}
	id, _, err := reg.RegisterSchema("orders-value", sr.Schema{Schema: avroTextOf(t, s)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.FromConnect(avroCtx, "orders", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(b[4]); got != id {
		t.Errorf("id %d, want %d", got, id)
	}
}

func TestAvroSubjectStrategies(t *testing.T) {
	s, v := benchRecord()
	for _, tc := range []struct {
		strategy SubjectNameStrategy
		isKey    bool
		want     string
	}{
		{"", false, "orders-value"},
		{"", true, "orders-key"},
		{RecordNameStrategy, false, "com.acme.Order"},
		{"io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", true, "orders-com.acme.Order"},
	} {
		reg, _ := startSRFake(t)
		c := mustAvro(t, Config{URLs: []string{reg.URL()}, SubjectNameStrategy: tc.strategy}, tc.isKey)
		sv, _ := avroRoundTrip(t, c, "orders", s, v)
		if !reg.SubjectExists(tc.want) {
			t.Errorf("%s: subject %s not registered", tc.strategy, tc.want)
		}
		if !connect.ValuesEqual(sv.Value, v) {
			t.Errorf("%s: round trip changed the value", tc.strategy)
		}
	}
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}, SubjectNameStrategy: RecordNameStrategy}, false)
	_, err := c.FromConnect(avroCtx, "t", nil, connect.StringSchema, "x")
	var de *converters.DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "must be an Avro record") {
		t.Errorf("RecordNameStrategy with a string: %v", err)
	}
}

func TestAvroRegistryErrors(t *testing.T) {
	s, v := benchRecord()

	t.Run("unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		c := mustAvro(t, Config{URLs: []string{dead.URL}}, false)
		_, err := c.FromConnect(avroCtx, "orders", nil, s, v)
		var re *RegistryError
		if !connect.IsRetriable(err) || !errors.As(err, &re) || re.Status != 0 {
			t.Fatalf("%v, want a retriable *RegistryError", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "orders-value") || !strings.Contains(msg, "topic orders") {
			t.Errorf("%q does not name topic and subject", msg)
		}
		_, err = c.ToConnect(avroCtx, "orders", nil, []byte{0, 0, 0, 0, 1, 2})
		if !connect.IsRetriable(err) {
			t.Errorf("read: %v, want retriable", err)
		}
	})

	t.Run("failover", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		reg, _ := startSRFake(t)
		c := mustAvro(t, Config{URLs: []string{dead.URL, reg.URL()}}, false)
		if _, err := c.FromConnect(avroCtx, "orders", nil, s, v); err != nil {
			t.Fatal(err)
		}
		if c.reg.preferred.Load() != 1 {
			t.Error("the answering URL did not become preferred")
		}
	})

	t.Run("incompatible", func(t *testing.T) {
		const msg = `Schema being registered is incompatible with an earlier schema for subject "orders-value", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'x' at path '/fields/0' in the new schema has no default value and is missing in the old schema'}]`
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(map[string]any{"error_code": 409, "message": msg})
		}))
		defer srv.Close()
		c := mustAvro(t, Config{URLs: []string{srv.URL}}, false)
		_, err := c.FromConnect(avroCtx, "orders", nil, s, v)
		var re *RegistryError
		if !connect.IsFatal(err) || connect.IsRetriable(err) || !errors.As(err, &re) {
			t.Fatalf("%v, want a fatal *RegistryError", err)
		}
		if re.Status != 409 || re.Code != 409 || re.Message != msg {
			t.Errorf("status %d code %d message %q", re.Status, re.Code, re.Message)
		}
		if m := err.Error(); !strings.Contains(m, msg) || !strings.Contains(m, `subject "orders-value"`) || !strings.Contains(m, "topic orders") {
			t.Errorf("%q does not include the registry's message, subject and topic", m)
		}
	})

	for _, tc := range []struct {
		status, code int
		retriable    bool
		fatal        bool
	}{
		{500, 50001, true, false},
		{503, 0, true, false},
		{429, 0, true, false},
		{401, 40101, false, true},
		{403, 40301, false, true},
		{422, 42201, false, false},
	} {
		t.Run(fmt.Sprintf("HTTP %d", tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				if tc.code != 0 {
					json.NewEncoder(w).Encode(map[string]any{"error_code": tc.code, "message": "boom"})
				} else {
					w.Write([]byte("<html>proxy error</html>"))
				}
			}))
			defer srv.Close()
			c := mustAvro(t, Config{URLs: []string{srv.URL}}, false)
			_, err := c.FromConnect(avroCtx, "orders", nil, s, v)
			var re *RegistryError
			if !errors.As(err, &re) || re.Status != tc.status {
				t.Fatalf("%v, want a *RegistryError with status %d", err, tc.status)
			}
			if connect.IsRetriable(err) != tc.retriable || connect.IsFatal(err) != tc.fatal {
				t.Errorf("%v: retriable %v fatal %v", err, connect.IsRetriable(err), connect.IsFatal(err))
			}
		})
	}

	t.Run("context", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(block)
		c := mustAvro(t, Config{URLs: []string{srv.URL}}, false)
		ctx, cancel := context.WithTimeout(avroCtx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.FromConnect(ctx, "orders", nil, s, v)
		if !errors.Is(err, context.DeadlineExceeded) || !connect.IsRetriable(err) {
			t.Errorf("%v, want a retriable context.DeadlineExceeded", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Error("the request did not honour the context")
		}
	})
}

func TestAvroAuth(t *testing.T) {
	s, v := benchRecord()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:s3cret"))
	reg, _ := startSRFake(t, srfake.WithAuth(basic))
	u := strings.Replace(reg.URL(), "http://", "http://ann:s3cret@", 1)
	for _, cfg := range []Config{
		{URLs: []string{u}},
		{URLs: []string{reg.URL()}, BasicAuthCredentialsSource: "USER_INFO", BasicAuthUserInfo: "ann:s3cret"},
	} {
		c := mustAvro(t, cfg, false)
		if _, err := c.FromConnect(avroCtx, "orders", nil, s, v); err != nil {
			t.Errorf("%+v: %v", cfg.BasicAuthCredentialsSource, err)
		}
	}
	c := mustAvro(t, Config{URLs: []string{reg.URL()}, BasicAuthCredentialsSource: "USER_INFO", BasicAuthUserInfo: "ann:wrong"}, false)
	_, err := c.FromConnect(avroCtx, "orders", nil, s, v)
	if !connect.IsFatal(err) {
		t.Errorf("wrong password: %v, want fatal", err)
	}
	if strings.Contains(fmt.Sprint(err), "s3cret") {
		t.Error("the error leaks the password")
	}

	bearer, _ := startSRFake(t, srfake.WithAuth("Bearer tok"))
	c = mustAvro(t, Config{URLs: []string{bearer.URL()}, BearerAuthToken: "tok", RequestHeaders: map[string]string{"X-Tenant": "acme"}}, false)
	var gotTenant string
	bearer.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		gotTenant = r.Header.Get("X-Tenant")
		return false
	})
	if _, err := c.FromConnect(avroCtx, "orders", nil, s, v); err != nil {
		t.Error(err)
	}
	if gotTenant != "acme" {
		t.Errorf("request header X-Tenant = %q", gotTenant)
	}
}

func TestAvroConfig(t *testing.T) {
	cfg, err := ConfigFromProps(map[string]string{
		"schema.registry.url":           " http://a:8081 , https://b:8081,",
		"basic.auth.credentials.source": "user_info",
		"basic.auth.user.info":          "u:p",
		"auto.register.schemas":         "FALSE",
		"use.latest.version":            "true",
		"latest.cache.ttl.sec":          "60",
		"key.subject.name.strategy":     "io.confluent.kafka.serializers.subject.RecordNameStrategy",
		"value.subject.name.strategy":   "TopicRecordNameStrategy",
		"schemas.cache.size":            "10",
		"request.header.X-A":            "1",
		"unknown.property":              "ignored",
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URLs:                       []string{"http://a:8081", "https://b:8081"},
		BasicAuthCredentialsSource: "USER_INFO",
		BasicAuthUserInfo:          "u:p",
		AutoRegisterDisabled:       true,
		UseLatestVersion:           true,
		LatestCacheTTL:             time.Minute,
		SubjectNameStrategy:        RecordNameStrategy,
		SchemasCacheSize:           10,
		RequestHeaders:             map[string]string{"X-A": "1"},
	}
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}
	back, err := ConfigFromProps(cfg.Props(true), true)
	if err != nil || fmt.Sprint(back) != fmt.Sprint(cfg) {
		t.Errorf("Props round trip: %+v, %v", back, err)
	}
	def, err := ConfigFromProps(map[string]string{"schema.registry.url": "http://a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	c := mustAvro(t, def, false)
	if got := c.Config(); got.AutoRegisterDisabled || got.UseLatestVersion || got.SubjectNameStrategy != TopicNameStrategy || got.SchemasCacheSize != 1000 || got.BasicAuthCredentialsSource != "URL" {
		t.Errorf("defaults: %+v", got)
	}

	for _, tc := range []struct {
		props map[string]string
		key   string
	}{
		{map[string]string{}, "schema.registry.url"},
		{map[string]string{"schema.registry.url": ""}, "schema.registry.url"},
		{map[string]string{"schema.registry.url": "ftp://x"}, "schema.registry.url"},
		{map[string]string{"schema.registry.url": "http://x", "auto.register.schemas": "yes"}, "auto.register.schemas"},
		{map[string]string{"schema.registry.url": "http://x", "use.latest.version": "1"}, "use.latest.version"},
		{map[string]string{"schema.registry.url": "http://x", "value.subject.name.strategy": "Nope"}, "value.subject.name.strategy"},
		{map[string]string{"schema.registry.url": "http://x", "basic.auth.credentials.source": "SASL_INHERIT"}, "basic.auth.credentials.source"},
		{map[string]string{"schema.registry.url": "http://x", "basic.auth.credentials.source": "USER_INFO"}, "basic.auth.user.info"},
		{map[string]string{"schema.registry.url": "http://x", "schemas.cache.size": "0"}, "schemas.cache.size"},
		{map[string]string{"schema.registry.url": "http://x", "latest.cache.ttl.sec": "0"}, "latest.cache.ttl.sec"},
		{map[string]string{"schema.registry.url": "http://x", "reader.schema": `{"type":"nope"}`}, "reader.schema"},
		{map[string]string{"schema.registry.url": "http://x", "bearer.auth.credentials.source": "OAUTHBEARER"}, "bearer.auth.credentials.source"},
	} {
		_, err := ConfigFromProps(tc.props, false)
		var ce *converters.ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%v: %v, want a *converters.ConfigError for %s", tc.props, err, tc.key)
		}
	}
	if _, err := New(Config{}, false); err == nil {
		t.Error("New accepted a config without URLs")
	}
}

func TestAvroRegisterInRegistry(t *testing.T) {
	reg, _ := startSRFake(t)
	r := converters.NewRegistry()
	Register(r)
	for _, name := range []string{Class, "AvroConverter", "avro"} {
		c, err := r.New(name, map[string]string{"schema.registry.url": reg.URL()}, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := c.(*Converter); !ok {
			t.Fatalf("%s built %T", name, c)
		}
	}
	if _, err := r.NewHeader("avro", map[string]string{"schema.registry.url": reg.URL()}); err == nil {
		t.Error("the Avro converter is not a header converter")
	}
	_, err := r.New("avro", map[string]string{}, false)
	var ce *converters.ConfigError
	if !errors.As(err, &ce) || ce.Key != PropSchemaRegistryURL {
		t.Errorf("missing URL: %v", err)
	}
}

// TestAvroResolution reads data written with one Avro schema through a
// different reader schema, by the Avro resolution rules.
func TestAvroResolution(t *testing.T) {
	long := func(vs ...int64) []byte {
		var b []byte
		for _, v := range vs {
			b = appendAvroLong(b, v)
		}
		return b
	}
	str := func(s string) []byte { return appendAvroString(nil, s) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	const linkedList = `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}`
	for _, tc := range []struct {
		name           string
		writer, reader string
		data           []byte
		want           any    // a Connect value, or a func checking it
		err            string // expected error, if any
	}{
		{"int to long", `"int"`, `"long"`, long(-5), int64(-5), ""},
		{"int to double", `"int"`, `"double"`, long(7), float64(7), ""},
		{"long to float", `"long"`, `"float"`, long(1 << 40), float32(1 << 40), ""},
		{"string to bytes", `"string"`, `"bytes"`, str("hi"), []byte("hi"), ""},
		{"bytes to string", `["null","bytes"]`, `"string"`, cat(long(1), str("hé")), "hé", ""},
		{"enum default", `{"type":"enum","name":"E","symbols":["A","B","C"]}`, `{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}`, long(2), "A", ""},
		{"enum unknown", `{"type":"enum","name":"E","symbols":["A","B","C"]}`, `{"type":"enum","name":"E","symbols":["A","B"]}`, long(2), nil, `enum symbol "C" is unknown`},
		{"union branch", `["null","int","string"]`, `["null","long"]`, long(1, 21), int64(21), ""},
		{"union null", `["null","int","string"]`, `["null","long"]`, long(0), nil, ""},
		{"union bad branch", `["null","int","boolean"]`, `["null","long"]`, cat(long(2), []byte{1}), nil, "cannot be read"},
		{"into union", `"int"`, `["null","long"]`, long(3), int64(3), ""},
		{"into general union", `"string"`, `["null","int","string"]`, str("u"), func(v any) bool {
			st, ok := v.(*connect.Struct)
			return ok && st.At(1) == "u"
		}, ""},
		{"skip recursive", `{"type":"record","name":"R","fields":[{"name":"list","type":` + linkedList + `},{"name":"a","type":"int"}]}`,
			`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`,
			cat(long(1, 1, 2, 1, 3, 0), long(9)), func(v any) bool {
				st, ok := v.(*connect.Struct)
				return ok && st.At(0) == int32(9)
			}, ""},
		{"alias", `{"type":"record","name":"R","fields":[{"name":"name","type":"string"}]}`,
			`{"type":"record","name":"R","fields":[{"name":"full_name","aliases":["name"],"type":"string"},{"name":"n","type":"int","default":4}]}`,
			str("ann"), func(v any) bool {
				st, ok := v.(*connect.Struct)
				return ok && st.At(0) == "ann" && st.At(1) == int32(4)
			}, ""},
		{"missing without default", `{"type":"record","name":"R","fields":[]}`, `{"type":"record","name":"R","fields":[{"name":"x","type":"int"}]}`, nil, nil, "has no default"},
		{"fixed size", `{"type":"fixed","name":"F","size":2}`, `{"type":"fixed","name":"F","size":3}`, []byte{1, 2}, nil, "cannot be read"},
		{"time range", `{"type":"int","logicalType":"time-millis"}`, `{"type":"int","logicalType":"time-millis"}`, long(-1), nil, "not a number of milliseconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, _ := startSRFake(t)
			id, _, err := reg.RegisterSchema("t-value", sr.Schema{Schema: tc.writer})
			if err != nil {
				t.Fatal(err)
			}
			c := mustAvro(t, Config{URLs: []string{reg.URL()}, ReaderSchema: tc.reader}, false)
			data := append([]byte{0, 0, 0, 0, byte(id)}, tc.data...)
			sv, err := c.ToConnect(avroCtx, "t", nil, data)
			if tc.err != "" {
				var de *converters.DataError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%v, want a data error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if check, ok := tc.want.(func(any) bool); ok {
				if !check(sv.Value) {
					t.Errorf("read %v", sv.Value)
				}
			} else if !connect.ValuesEqual(sv.Value, tc.want) {
				t.Errorf("read %#v, want %#v", sv.Value, tc.want)
			}
			if err := connect.ValidateValue(sv.Schema, sv.Value); err != nil {
				t.Errorf("invalid value: %v", err)
			}
		})
	}
}

// TestAvroDecimalMapKeys checks that equal Decimal keys make one map entry,
// as BigDecimal keys do in Kafka Connect, and that output stays
// deterministic.
func TestAvroDecimalMapKeys(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s := connect.MapBuilder(connect.DecimalSchema(1), connect.Int32Schema).MustBuild()
	v := map[any]any{connect.NewDecimal(15, 1): int32(1), connect.NewDecimal(15, 1): int32(2), connect.NewDecimal(-3, 1): int32(3)}
	first, err := c.FromConnect(avroCtx, "t", nil, s, v)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if b, _ := c.FromConnect(avroCtx, "t", nil, s, v); string(b) != string(first) {
			t.Fatal("output depends on map iteration order")
		}
	}
	sv, err := c.ToConnect(avroCtx, "t", nil, first)
	if err != nil {
		t.Fatal(err)
	}
	m := sv.Value.(map[any]any)
	if len(m) != 2 {
		t.Errorf("read %v, want 2 entries", m)
	}
}

// TestAvroDefaults round-trips schemas whose fields have default values of
// every type; defaults travel in connect.default and the Avro field default.
func TestAvroDefaults(t *testing.T) {
	inner := connect.StructBuilder().Name("com.acme.Inner").
		Field("a", connect.Int32Schema).
		Field("b", connect.OptionalStringSchema).
		MustBuild()
	def := func(b *connect.SchemaBuilder, v any) *connect.Schema { return b.DefaultValue(v).MustBuild() }
	s := connect.StructBuilder().Name("com.acme.Defaults").Version(1).
		Field("i8", def(connect.NewSchemaBuilder(connect.TypeInt8), int8(-1))).
		Field("i16", def(connect.NewSchemaBuilder(connect.TypeInt16), int16(300))).
		Field("i64", def(connect.NewSchemaBuilder(connect.TypeInt64), int64(math.MaxInt64))).
		Field("f64", def(connect.NewSchemaBuilder(connect.TypeFloat64), 0.1)).
		Field("bool", def(connect.NewSchemaBuilder(connect.TypeBoolean), true)).
		Field("bytes", def(connect.NewSchemaBuilder(connect.TypeBytes).Optional(), []byte{0x80, 0})).
		Field("dec", def(connect.DecimalBuilder(2), connect.NewDecimal(-12345, 2))).
		Field("date", def(connect.DateBuilder(), connect.DaysToDate(10))).
		Field("ts", def(connect.TimestampBuilder().Optional(), time.UnixMilli(42).UTC())).
		Field("arr", def(connect.ArrayBuilder(connect.Int32Schema), []any{int32(1), int32(2)})).
		Field("map", def(connect.MapBuilder(connect.StringSchema, connect.Float32Schema), map[string]any{"k": float32(0.5)})).
		MustBuild()
	_ = inner
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	sv, _ := avroRoundTrip(t, c, "defaults", s, connect.NewStruct(s))
	for i, f := range s.Fields {
		g := sv.Schema.Fields[i].Schema
		if !g.Equal(f.Schema) {
			t.Errorf("%s: read %s, want %s", f.Name, dumpAvroSchema(g), dumpAvroSchema(f.Schema))
		}
		if v, _ := sv.Value.(*connect.Struct).Get(f.Name); !connect.ValuesEqual(v, f.Schema.Default) {
			t.Errorf("%s: value %v, want the default %v", f.Name, v, f.Schema.Default)
		}
	}
	text, _ := reg.GetSchema("defaults-value", 1)
	for _, want := range []string{
		// Jackson escapes only control characters below U+0020.
		"{\"name\":\"bytes\",\"type\":[{\"type\":\"bytes\",\"connect.default\":\"\u0080\\u0000\"},\"null\"],\"default\":\"\u0080\\u0000\"}",
		`"connect.default":"ÏÇ"`,
	} {
		if !strings.Contains(text.Schema.Schema, want) {
			t.Errorf("schema lacks %s:\n%s", want, text.Schema.Schema)
		}
	}
}

// TestAvroEmptySchemaMetadata checks that a doc of "" and a version of 0
// survive an Avro round trip, as Confluent's AvroData writes connect.doc and
// connect.version whenever they are not null.
func TestAvroEmptySchemaMetadata(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	inner := connect.NewSchemaBuilder(connect.TypeInt32).Version(0).Doc("").MustBuild()
	s := connect.StructBuilder().Name("com.acme.R").Version(0).Doc("").Field("a", inner).Field("c", connect.Int64Schema).MustBuild()
	v := connect.NewStruct(s).MustPut("a", int32(7)).MustPut("c", int64(5))
	sv, _ := avroRoundTrip(t, c, "emptymeta", s, v)
	if !sv.Schema.VersionSet() || !sv.Schema.DocSet() || sv.Schema.Version != 0 || sv.Schema.Doc != "" {
		t.Fatalf("record lost version 0 / doc \"\": %s", dumpAvroSchema(sv.Schema))
	}
	if a := sv.Schema.Field("a").Schema; !a.VersionSet() || !a.DocSet() {
		t.Fatalf("field a lost version 0 / doc \"\": %s", dumpAvroSchema(sv.Schema))
	}
	if cs := sv.Schema.Field("c").Schema; cs.VersionSet() || cs.DocSet() {
		t.Fatalf("field c gained metadata: %s", dumpAvroSchema(sv.Schema))
	}
}

// TestAvroHostileLengths feeds length and count prefixes far larger than the
// data that follows (what a hostile or corrupt record carries): each must be
// a *converters.DataError, found before anything of that size is allocated.
// (hamba/avro v2.31.0 with its default Config allocates 160 MB for the
// "array" case and returns no error.)
func TestAvroHostileLengths(t *testing.T) {
	long := func(vs ...int64) []byte {
		var b []byte
		for _, v := range vs {
			b = appendAvroLong(b, v)
		}
		return b
	}
	for _, tc := range []struct {
		name, schema string
		body         []byte
	}{
		{"bytes", `{"type":"record","name":"R","fields":[{"name":"b","type":"bytes"}]}`, long(1 << 40)},
		{"string", `"string"`, long(1 << 30)},
		{"array", `{"type":"array","items":"long"}`, long(10_000_000)},
		{"array block size", `{"type":"array","items":"long"}`, long(-10_000_000, 1<<40)},
		{"array of empty records", `{"type":"array","items":{"type":"record","name":"E","fields":[]}}`, long(100_000_000)},
		{"map", `{"type":"map","values":"long"}`, long(10_000_000)},
		{"nested arrays", `{"type":"array","items":{"type":"array","items":"long"}}`, long(1, 1_000_000_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, _ := startSRFake(t)
			id, _, err := reg.RegisterSchema("t-value", sr.Schema{Schema: tc.schema})
			if err != nil {
				t.Fatal(err)
			}
			c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
			data := append([]byte{0, 0, 0, 0, byte(id)}, tc.body...)
			if _, err := c.ToConnect(avroCtx, "t", nil, data); err == nil { // builds and caches the read plan
				t.Fatal("decoded a value from a hostile length")
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = c.ToConnect(avroCtx, "t", nil, data)
			runtime.ReadMemStats(&after)
			var de *converters.DataError
			if !errors.As(err, &de) {
				t.Fatalf("%v (%T), want a *converters.DataError", err, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("allocated %d bytes for a %d-byte record", n, len(data))
			}
		})
	}
}

// TestAvroUnionStructBranch: a Confluent union whose set member is a record
// (a struct carrying the member field's optional schema, as Confluent's
// AvroData builds and reads it, and as the data model requires) writes and
// reads back. The fuzzer found it refused.
func TestAvroUnionStructBranch(t *testing.T) {
	reg, _ := startSRFake(t)
	c := mustAvro(t, Config{URLs: []string{reg.URL()}}, false)
	s, v := avroEverything()
	us := s.Field("union").Schema
	member := us.Field("Address").Schema
	for _, as := range []*connect.Schema{member} {
		addr := connect.NewStruct(as).MustPut("street", "Main St").MustPut("zip", "12345")
		v.MustPut("union", connect.NewStruct(us).MustPut("Address", addr))
		out, err := c.FromConnect(avroCtx, "union", nil, s, v)
		if err != nil {
			t.Fatalf("member schema %v: %v", as, err)
		}
		sv, err := c.ToConnect(avroCtx, "union", nil, out)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := sv.Value.(*connect.Struct).Get("union")
		got, _ := u.(*connect.Struct).Get("Address")
		if st := got.(*connect.Struct); !st.Schema().Equal(member) || st.At(0) != "Main St" {
			t.Fatalf("read back %v %v", st.Schema(), st)
		}
	}
}
