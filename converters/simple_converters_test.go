package converters

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

func TestNumberConverters(t *testing.T) {
	tests := []struct {
		c      *Number
		schema *connect.Schema
		value  any
		bytes  []byte
	}{
		{NewBoolean(), connect.OptionalBooleanSchema, true, []byte{1}},
		{NewBoolean(), connect.OptionalBooleanSchema, false, []byte{0}},
		{NewShort(), connect.OptionalInt16Schema, int16(-2), []byte{0xff, 0xfe}},
		{NewInteger(), connect.OptionalInt32Schema, int32(0x01020304), []byte{1, 2, 3, 4}},
		{NewInteger(), connect.OptionalInt32Schema, int32(math.MinInt32), []byte{0x80, 0, 0, 0}},
		{NewLong(), connect.OptionalInt64Schema, int64(-1), bytes.Repeat([]byte{0xff}, 8)},
		{NewFloat(), connect.OptionalFloat32Schema, float32(1.5), []byte{0x3f, 0xc0, 0, 0}},
		{NewDouble(), connect.OptionalFloat64Schema, 1.5, []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{NewDouble(), connect.OptionalFloat64Schema, math.Inf(-1), []byte{0xff, 0xf0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		b, err := tc.c.FromConnect(ctx, "t", nil, nil, tc.value)
		if err != nil || !bytes.Equal(b, tc.bytes) {
			t.Errorf("%s(%v): got %x %v, want %x", tc.c.name, tc.value, b, err, tc.bytes)
		}
		hb, err := tc.c.FromConnectHeader(ctx, "t", "h", tc.schema, tc.value)
		if err != nil || !bytes.Equal(hb, tc.bytes) {
			t.Errorf("%s header: got %x %v", tc.c.name, hb, err)
		}
		sv, err := tc.c.ToConnect(ctx, "t", nil, tc.bytes)
		if err != nil || sv.Schema != tc.schema || sv.Value != tc.value {
			t.Errorf("%s(%x): got %+v %v, want %v", tc.c.name, tc.bytes, sv, err, tc.value)
		}
		sv, err = tc.c.ToConnectHeader(ctx, "t", "h", tc.bytes)
		if err != nil || sv.Value != tc.value {
			t.Errorf("%s header read: got %+v %v", tc.c.name, sv, err)
		}
		// nil ⇄ nil
		if b, err := tc.c.FromConnect(ctx, "t", nil, tc.schema, nil); b != nil || err != nil {
			t.Errorf("%s nil: got %x %v", tc.c.name, b, err)
		}
		if sv, err := tc.c.ToConnect(ctx, "t", nil, nil); sv.Value != nil || sv.Schema != tc.schema || err != nil {
			t.Errorf("%s nil read: got %+v %v", tc.c.name, sv, err)
		}
		// Wrong length.
		_, err = tc.c.ToConnect(ctx, "t", nil, append(tc.bytes, 0))
		want := "expected " + string(rune('0'+tc.c.size)) + " bytes, got " + string(rune('0'+tc.c.size+1))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), tc.c.name+": ") {
			t.Errorf("%s long input: got %v, want %q", tc.c.name, err, want)
		}
		if _, err := tc.c.ToConnect(ctx, "t", nil, []byte{}); err == nil {
			t.Errorf("%s: empty input accepted", tc.c.name)
		}
		// Wrong Go type.
		if _, err := tc.c.FromConnect(ctx, "t", nil, nil, "x"); err == nil || !strings.Contains(err.Error(), "got string") {
			t.Errorf("%s wrong type: %v", tc.c.name, err)
		}
	}
	if _, err := NewBoolean().ToConnect(ctx, "t", nil, []byte{2}); err == nil || !strings.Contains(err.Error(), "0x02") {
		t.Errorf("boolean byte 2: %v", err)
	}
	if _, err := NewNumber(connect.TypeString); err == nil {
		t.Error("NewNumber(STRING) succeeded")
	}
	// Kafka's DoubleSerializer (Kafka Connect 4.3.1) writes every NaN as
	// 7ff8000000000000 (Go's math.NaN() is 7ff8000000000001); reading keeps
	// the bits. FloatSerializer writes the raw bits.
	nan := math.Float64frombits(0x7ff8000000000001)
	b, _ := NewDouble().FromConnect(ctx, "t", nil, nil, nan)
	if !bytes.Equal(b, []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("NaN written as %x", b)
	}
	sv, _ := NewDouble().ToConnect(ctx, "t", nil, []byte{0xff, 0xf8, 0, 0, 0, 0, 0, 1})
	if math.Float64bits(sv.Value.(float64)) != 0xfff8000000000001 {
		t.Error("NaN payload not read as it is")
	}
	b, _ = NewFloat().FromConnect(ctx, "t", nil, nil, math.Float32frombits(0x7fc00001))
	if !bytes.Equal(b, []byte{0x7f, 0xc0, 0, 1}) {
		t.Errorf("float NaN written as %x", b)
	}
	if NewLong().Type() != connect.TypeInt64 {
		t.Error("Type()")
	}
}

func TestStringConverter(t *testing.T) {
	c := NewString()
	big1, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	st := connect.StructBuilder().Field("a", connect.Int32Schema).Field("b", connect.OptionalStringSchema).Field("c", connect.StringSchema).MustBuild()
	tests := []struct {
		v    any
		want string
	}{
		{"héllo", "héllo"},
		{int8(-1), "-1"},
		{int64(math.MaxInt64), "9223372036854775807"},
		{float32(1.1), "1.1"},
		{1e10, "1.0E10"},
		{1.0, "1.0"},
		{true, "true"},
		{[]byte("raw"), "raw"},
		{connect.Decimal{Unscaled: big1, Scale: 35}, "0.00000123456789012345678901234567890"},
		{connect.Decimal{Unscaled: big1, Scale: 36}, "1.23456789012345678901234567890E-7"},
		{connect.NewDecimal(-150, 2), "-1.50"},
		{time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.FixedZone("x", 3600)), "Tue Jan 02 02:04:05 UTC 2024"}, // java.util.Date.toString, JVM in UTC (Kafka Connect 4.3.1)
		{[]any{int32(1), "a", nil}, "[1, a, null]"},
		{map[string]any{"b": int32(2), "a": 1.5}, "{a=1.5, b=2}"},
		{map[any]any{int32(2): "x", int32(1): "y"}, "{1=y, 2=x}"},
		{connect.NewStruct(st).MustPut("a", int32(1)).MustPut("c", "x"), "Struct{a=1,c=x}"},
	}
	for _, tc := range tests {
		b, err := c.FromConnect(ctx, "t", nil, nil, tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%#v: got %q %v, want %q", tc.v, b, err, tc.want)
		}
	}
	if b, err := c.FromConnect(ctx, "t", nil, connect.OptionalStringSchema, nil); b != nil || err != nil {
		t.Errorf("nil: %q %v", b, err)
	}
	if _, err := c.FromConnect(ctx, "t", nil, nil, struct{}{}); err == nil || !strings.HasPrefix(err.Error(), "StringConverter: ") {
		t.Errorf("unknown type: %v", err)
	}
	in := []byte("data\xff")
	sv, err := c.ToConnect(ctx, "t", nil, in)
	if err != nil || sv.Schema != connect.OptionalStringSchema || sv.Value != "data\uFFFD" {
		t.Errorf("read: %+v %v", sv, err)
	}
	in = []byte("data")
	sv, _ = c.ToConnect(ctx, "t", nil, in)
	in[0] = 'X'
	if sv.Value != "data" {
		t.Error("aliased input")
	}
	if sv, _ := c.ToConnect(ctx, "t", nil, nil); sv.Value != nil || sv.Schema != connect.OptionalStringSchema {
		t.Errorf("nil read: %+v", sv)
	}
	if sv, _ := c.ToConnectHeader(ctx, "t", "h", []byte{}); sv.Value != "" {
		t.Errorf("empty read: %+v", sv)
	}
	if b, _ := c.FromConnectHeader(ctx, "t", "h", nil, int16(7)); string(b) != "7" {
		t.Errorf("header write: %q", b)
	}
	for _, enc := range []string{"UTF-8", "utf8", " Utf-8 "} {
		if _, err := StringFromProps(map[string]string{"converter.encoding": enc}); err != nil {
			t.Errorf("%s: %v", enc, err)
		}
	}
	_, err = StringFromProps(map[string]string{"converter.encoding": "EBCDIC-XYZ"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "converter.encoding" || !strings.Contains(err.Error(), "want UTF-8, UTF-16") {
		t.Errorf("EBCDIC-XYZ: %v", err)
	}
}

func TestByteArrayConverter(t *testing.T) {
	c := NewByteArray()
	in := []byte{1, 2, 3}
	b, err := c.FromConnect(ctx, "t", nil, connect.BytesSchema, in)
	if err != nil || !bytes.Equal(b, in) {
		t.Errorf("write: %x %v", b, err)
	}
	if b, err := c.FromConnect(ctx, "t", nil, nil, in); err != nil || !bytes.Equal(b, in) {
		t.Errorf("write without schema: %x %v", b, err)
	}
	if b, err := c.FromConnect(ctx, "t", nil, connect.OptionalBytesSchema, nil); b != nil || err != nil {
		t.Errorf("nil: %x %v", b, err)
	}
	_, err = c.FromConnect(ctx, "t", nil, connect.StringSchema, "x")
	if err == nil || !strings.Contains(err.Error(), "ByteArrayConverter: invalid schema type STRING") {
		t.Errorf("string schema: %v", err)
	}
	if _, err := c.FromConnect(ctx, "t", nil, nil, "x"); err == nil || !strings.Contains(err.Error(), "expected Go type []byte, got string") {
		t.Errorf("string value: %v", err)
	}
	if _, err := c.FromConnectHeader(ctx, "t", "h", connect.DecimalSchema(2), connect.NewDecimal(1, 2)); err == nil {
		t.Error("Decimal accepted")
	}
	sv, err := c.ToConnect(ctx, "t", nil, in)
	if err != nil || sv.Schema != connect.OptionalBytesSchema || !bytes.Equal(sv.Value.([]byte), in) {
		t.Errorf("read: %+v %v", sv, err)
	}
	in[0] = 9
	if sv.Value.([]byte)[0] != 1 {
		t.Error("read aliases the input")
	}
	if sv, _ := c.ToConnectHeader(ctx, "t", "h", nil); sv.Value != nil || sv.Schema != connect.OptionalBytesSchema {
		t.Errorf("nil read: %+v", sv)
	}
	if sv, _ := c.ToConnect(ctx, "t", nil, []byte{}); sv.Value == nil || len(sv.Value.([]byte)) != 0 {
		t.Errorf("empty read: %#v", sv.Value)
	}
}

func TestSimpleHeaderRead(t *testing.T) {
	c := NewSimpleHeader()
	tests := []struct {
		in     string
		schema *connect.Schema
		value  any
	}{
		{"", connect.StringSchema, ""},
		{"null", nil, nil},
		{"true", connect.BooleanSchema, true},
		{" false ", connect.BooleanSchema, false},
		{"True", connect.StringSchema, "True"},
		{"0", connect.Int8Schema, int8(0)},
		{"-128", connect.Int8Schema, int8(-128)},
		{"128", connect.Int16Schema, int16(128)},
		{"+32767", connect.Int16Schema, int16(32767)},
		{"-32769", connect.Int32Schema, int32(-32769)},
		{"2147483648", connect.Int64Schema, int64(2147483648)},
		{"9223372036854775807", connect.Int64Schema, int64(math.MaxInt64)},
		{"1.0", connect.Int8Schema, int8(1)},
		{"1e3", connect.Int16Schema, int16(1000)},
		{" 42 ", connect.Int8Schema, int8(42)},
		{"1.5", connect.Float32Schema, float32(1.5)},
		{"3.14", connect.Float32Schema, float32(3.14)},
		{"-2.5E-3", connect.Float32Schema, float32(-0.0025)},
		// As Kafka Connect 4.3.1: any finite fraction float32 holds is a
		// FLOAT32, rounded (to 0 when it underflows).
		{"3.141592653589793", connect.Float32Schema, float32(3.1415927)},
		{"1.5e-50", connect.Float32Schema, float32(0)},
		{"1e39", connect.Float64Schema, 1e39},
		{"9223372036854775808", connect.DecimalSchema(0), mustDecimal("9223372036854775808")},
		{"1e400", connect.DecimalSchema(-400), connect.Decimal{Unscaled: big.NewInt(1), Scale: -400}},
		{"2024-01-02", connect.DateSchema, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"1969-12-31", connect.DateSchema, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"03:04:05.678Z", connect.TimeSchema, time.Date(1970, 1, 1, 3, 4, 5, 678e6, time.UTC)},
		{"2024-01-02T03:04:05.678Z", connect.TimestampSchema, time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)},
		// Kafka Connect 4.3.1's lenient SimpleDateFormat, its tokenizer
		// (a number ends at a delimiter) and its array and map literals.
		{"2024-13-02", connect.DateSchema, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"24:00:00.000Z", connect.TimeSchema, connect.MillisToTime(86400000)},
		{"1500-03-01", connect.DateSchema, time.UnixMilli(-14825808000000).UTC()}, // Julian
		{"1,2", connect.Int8Schema, int8(1)},
		{"[1,2]", &connect.Schema{Type: connect.TypeArray, ValueSchema: connect.Int8Schema}, []any{int8(1), int8(2)}},
		{`{"a":1}`, &connect.Schema{Type: connect.TypeMap, KeySchema: connect.StringSchema, ValueSchema: connect.Int8Schema}, map[string]any{"a": int8(1)}},
		{"[1,null]", connect.StringSchema, "[1,null]"},
		{".5", connect.StringSchema, ".5"},
		{"hello world", connect.StringSchema, "hello world"},
		{"-", connect.StringSchema, "-"},
		{"12abc", connect.StringSchema, "12abc"},
		{"NaN", connect.StringSchema, "NaN"},
		{"  ", connect.StringSchema, "  "},
	}
	for _, tc := range tests {
		sv, err := c.ToConnectHeader(ctx, "t", "h", []byte(tc.in))
		if err != nil || !sv.Schema.Equal(tc.schema) || !connect.ValuesEqual(sv.Value, tc.value) {
			t.Errorf("%q: got %v %#v %v, want %v %#v", tc.in, sv.Schema, sv.Value, err, tc.schema, tc.value)
		}
	}
	if sv, err := c.ToConnectHeader(ctx, "t", "h", nil); sv.Schema != nil || sv.Value != nil || err != nil {
		t.Errorf("nil: %+v %v", sv, err)
	}
	// Data that is not valid UTF-8 is decoded as Kafka Connect's new
	// String(data, UTF_8) decodes it (one U+FFFD per malformed sequence, as
	// Java 17 chooses them), then parsed; outputs from Kafka Connect 4.3.1.
	for _, tc := range []struct{ in, want string }{
		{"\xff\xfe", "\uFFFD\uFFFD"},
		{"12\xff", "12\uFFFD"},
		{"[1,\xff]", "[1,\uFFFD]"},
		{"\xed\xa0\x80", "\uFFFD"}, // an encoded surrogate is one sequence
		{"1\xc3", "1\uFFFD"},
	} {
		sv, err := c.ToConnectHeader(ctx, "t", "h", []byte(tc.in))
		if err != nil || !sv.Schema.Equal(connect.StringSchema) || sv.Value != tc.want {
			t.Errorf("invalid UTF-8 %q: got %v %#v %v, want STRING %q", tc.in, sv.Schema, sv.Value, err, tc.want)
		}
	}
}

func TestSimpleHeaderWrite(t *testing.T) {
	c := NewSimpleHeader()
	st := connect.StructBuilder().
		Field("a", connect.Int32Schema).
		Field("s", connect.StringSchema).
		Field("d", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("dv").MustBuild()).
		Field("n", connect.OptionalInt8Schema).
		Field("day", connect.DateSchema).
		MustBuild()
	tests := []struct {
		s    *connect.Schema
		v    any
		want string
	}{
		{connect.StringSchema, "plain \"text\"", `plain "text"`},
		{nil, int8(5), "5"},
		{nil, int64(-7), "-7"},
		{nil, float32(0.1), "0.1"},
		{nil, 1e10, "1.0E10"},
		{nil, true, "true"},
		{nil, []byte("hi"), "aGk="},
		{nil, connect.NewDecimal(-125, 2), "-1.25"},
		{nil, []any{int32(1), "a\\b", nil, []byte{1}}, `[1,"a\\b",null,"AQ=="]`},
		{nil, map[string]any{"b": int32(2), "a": "x"}, `{"a":"x","b":2}`},
		{nil, map[any]any{int32(2): true, int32(1): false}, `{1:false,2:true}`},
		{st, connect.NewStruct(st).MustPut("a", int32(1)).MustPut("s", `q"`).MustPut("day", connect.DaysToDate(1)), `{"a":1,"s":"q\"","d":"dv","n":null,"day":1970-01-02}`},
		{connect.DateSchema, connect.DaysToDate(19000), "2022-01-08"},
		{connect.TimeSchema, connect.MillisToTime(3723004), "01:02:03.004Z"},
		// Kafka Connect 4.3.1 picks the form from the instant, not the
		// schema (Values.dateFormatFor).
		{connect.TimestampSchema, time.UnixMilli(0).UTC(), "00:00:00.000Z"},
		{connect.DateSchema, connect.DaysToDate(0), "00:00:00.000Z"},
		{connect.DateSchema, connect.DaysToDate(-1), "00:00:00.000Z"},
		{connect.TimestampSchema, time.UnixMilli(86400000).UTC(), "1970-01-02"},
		{nil, time.UnixMilli(math.MinInt64).UTC(), "16:47:04.192Z"},
		{nil, time.UnixMilli(math.MaxInt64).UTC(), "292278994-08-17T07:12:55.807Z"},
		{nil, time.UnixMilli(253402300800000).UTC(), "10000-01-01"},
		{nil, connect.MillisToTime(3723004), "01:02:03.004Z"},
		{nil, connect.DaysToDate(19000), "2022-01-08"},
		{nil, time.UnixMilli(1700000000123).UTC(), "2023-11-14T22:13:20.123Z"},
		{nil, time.UnixMilli(-1).UTC(), "23:59:59.999Z"},
		{nil, map[any]any{math.NaN(): int64(5)}, "{NaN:5}"},
	}
	for _, tc := range tests {
		b, err := c.FromConnectHeader(ctx, "t", "h", tc.s, tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%#v: got %s %v, want %s", tc.v, b, err, tc.want)
		}
	}
	if b, err := c.FromConnectHeader(ctx, "t", "h", nil, nil); b != nil || err != nil {
		t.Errorf("nil: %q %v", b, err)
	}
	if b, err := c.FromConnectHeader(ctx, "t", "h", connect.StringSchema, ""); b == nil || len(b) != 0 || err != nil {
		t.Errorf("empty string must be empty, not null, bytes: %#v %v", b, err)
	}
	if _, err := c.FromConnectHeader(ctx, "t", "h", nil, struct{}{}); err == nil || !strings.HasPrefix(err.Error(), "SimpleHeaderConverter: ") {
		t.Errorf("unknown type: %v", err)
	}
	// What is written reads back as the same value for these types (not
	// for float64s float32 can hold, nor for dates before 1970-01-02, which
	// Kafka Connect writes as a time of day).
	for _, v := range []any{int8(-3), int16(300), int32(70000), int64(1 << 40), float32(2.5), true, "s",
		connect.DaysToDate(5), connect.MillisToTime(5), time.UnixMilli(1700000000123).UTC()} {
		b, _ := c.FromConnectHeader(ctx, "t", "h", nil, v)
		sv, _ := c.ToConnectHeader(ctx, "t", "h", b)
		if !connect.ValuesEqual(sv.Value, v) {
			t.Errorf("%#v: wrote %s, read %#v", v, b, sv.Value)
		}
	}
}

func TestRegistry(t *testing.T) {
	isType := func(v any, want string) bool { return fmt.Sprintf("%T", v) == want }
	for _, tc := range []struct{ class, typ string }{
		{"org.apache.kafka.connect.json.JsonConverter", "*converters.JSON"},
		{"JsonConverter", "*converters.JSON"},
		{"json", "*converters.JSON"},
		{" org.apache.kafka.connect.storage.StringConverter ", "*converters.String"},
		{"string", "*converters.String"},
		{"org.apache.kafka.connect.converters.ByteArrayConverter", "*converters.ByteArray"},
		{"bytes", "*converters.ByteArray"},
		{"org.apache.kafka.connect.converters.BooleanConverter", "*converters.Number"},
		{"org.apache.kafka.connect.converters.ShortConverter", "*converters.Number"},
		{"org.apache.kafka.connect.converters.IntegerConverter", "*converters.Number"},
		{"org.apache.kafka.connect.converters.LongConverter", "*converters.Number"},
		{"org.apache.kafka.connect.converters.FloatConverter", "*converters.Number"},
		{"DoubleConverter", "*converters.Number"},
	} {
		c, err := New(tc.class, nil, false)
		if err != nil || !isType(c, tc.typ) {
			t.Errorf("New(%q): %T %v", tc.class, c, err)
		}
		h, err := NewHeader(tc.class, map[string]string{})
		if err != nil || !isType(h, tc.typ) {
			t.Errorf("NewHeader(%q): %T %v", tc.class, h, err)
		}
	}
	if n, _ := New("org.apache.kafka.connect.converters.ShortConverter", nil, true); n.(*Number).Type() != connect.TypeInt16 {
		t.Error("ShortConverter is not INT16")
	}
	h, err := NewHeader("org.apache.kafka.connect.storage.SimpleHeaderConverter", nil)
	if err != nil || !isType(h, "*converters.SimpleHeader") {
		t.Errorf("SimpleHeaderConverter: %T %v", h, err)
	}
	if _, err := New("SimpleHeaderConverter", nil, false); err == nil || !strings.Contains(err.Error(), "header converter only") {
		t.Errorf("SimpleHeaderConverter as value converter: %v", err)
	}
	_, err = New("com.acme.Nope", nil, false)
	if err == nil || !strings.Contains(err.Error(), `unknown converter class "com.acme.Nope"`) ||
		!strings.Contains(err.Error(), "org.apache.kafka.connect.json.JsonConverter (JsonConverter, json)") ||
		!strings.Contains(err.Error(), "org.apache.kafka.connect.storage.SimpleHeaderConverter") {
		t.Errorf("unknown class: %v", err)
	}
	// Properties reach the converter; bad ones name the key.
	c, err := New("json", map[string]string{"schemas.enable": "false"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.FromConnect(ctx, "t", nil, connect.Int32Schema, int32(1)); string(b) != "1" {
		t.Errorf("schemas.enable=false not applied: %s", b)
	}
	_, err = New("org.apache.kafka.connect.json.JsonConverter", map[string]string{"schemas.enable": "yes"}, true)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "schemas.enable" || !strings.Contains(err.Error(), `schemas.enable: want true or false, got "yes"`) {
		t.Errorf("bad prop: %v", err)
	}
	if _, err := NewHeader("string", map[string]string{"converter.encoding": "UTF-7"}); !errors.As(err, &ce) {
		t.Errorf("bad encoding: %v", err)
	}

	// Custom registrations, independent registries, overriding.
	r := DefaultRegistry()
	r.Register("com.acme.Upper", Factory{
		Converter: func(props map[string]string, isKey bool) (Converter, error) { return NewString(), nil },
	}, "upper")
	if _, err := r.New("upper", nil, false); err != nil {
		t.Error(err)
	}
	if _, err := r.NewHeader("upper", nil); err == nil || !strings.Contains(err.Error(), "not a header converter") {
		t.Errorf("header from converter-only factory: %v", err)
	}
	if _, err := DefaultRegistry().New("upper", nil, false); err == nil {
		t.Error("registration leaked into another registry")
	}
	if _, err := New("upper", nil, false); err == nil {
		t.Error("registration leaked into the built-ins")
	}
	r.Register(ClassJSON, Factory{Converter: func(map[string]string, bool) (Converter, error) { return NewByteArray(), nil }}, "json")
	if c, _ := r.New("json", nil, false); !isType(c, "*converters.ByteArray") {
		t.Errorf("override: %T", c)
	}
	// JsonConverter alias was not re-registered: it still reaches the old factory.
	if c, _ := r.New("JsonConverter", nil, false); !isType(c, "*converters.JSON") {
		t.Errorf("old alias: %T", c)
	}
	names := r.Names()
	if len(names) != 11 || names[0] != ClassJSON || names[10] != "com.acme.Upper" {
		t.Errorf("Names() = %v", names)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Register with an empty factory did not panic")
			}
		}()
		r.Register("x", Factory{})
	}()
}

// TestStringReadsMalformedUTF8AsJava: the String converter replaces
// malformed UTF-8 with U+FFFD exactly as Kafka Connect (Java 17's new
// String(bytes, UTF_8)) does; the expected strings are Java's output.
func TestStringReadsMalformedUTF8AsJava(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A\xed\xa0\x80", "A\uFFFD"},                       // an encoded surrogate is one sequence
		{"A\xe0\x80", "A\uFFFD\uFFFD"},                     // E0 80 is not a prefix
		{"A\xf0\x90\x80", "A\uFFFD"},                       // truncated at the end: one
		{"A\xf0\x90\x80A", "A\uFFFDA"},                     // a maximal subpart
		{"A\xc0\xaf", "A\uFFFD\uFFFD"},                     // overlong
		{"A\xffB", "A\uFFFDB"},                             // never valid
		{"A\xe3", "A\uFFFD"},                               //
		{"A\xf4\x90\x80\x80", "A\uFFFD\uFFFD\uFFFD\uFFFD"}, // beyond U+10FFFF
		{"A\xed\xbf\xbfA", "A\uFFFDA"},
		{"\xbe\xde\x8c\xb7\x0b\xe4\xe3\x80", "\uFFFD\u078c\uFFFD\x0b\uFFFD\uFFFD"}, // from the differential tester
		{"ok \U0001F600", "ok \U0001F600"},
	}
	c := NewString()
	for _, tc := range tests {
		sv, err := c.ToConnect(t.Context(), "t", nil, []byte(tc.in))
		if err != nil || sv.Value != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, sv.Value, err, tc.want)
		}
	}
}

// TestBooleanRefusesOtherSchemaTypes: Kafka Connect's BooleanConverter
// checks the schema type before the value (a nil value included); the
// numeric converters do not look at the schema.
func TestBooleanRefusesOtherSchemaTypes(t *testing.T) {
	ctx := t.Context()
	b := NewBoolean()
	for _, v := range []any{nil, true} {
		if _, err := b.FromConnect(ctx, "t", nil, connect.OptionalInt64Schema, v); err == nil {
			t.Errorf("FromConnect(INT64 schema, %v): no error", v)
		}
		if _, err := b.FromConnectHeader(ctx, "t", "h", connect.OptionalInt64Schema, v); err == nil {
			t.Errorf("FromConnectHeader(INT64 schema, %v): no error", v)
		}
	}
	if out, err := b.FromConnect(ctx, "t", nil, connect.OptionalBooleanSchema, true); err != nil || len(out) != 1 || out[0] != 1 {
		t.Errorf("BOOLEAN schema: %v %v", out, err)
	}
	if out, err := b.FromConnect(ctx, "t", nil, nil, nil); err != nil || out != nil {
		t.Errorf("no schema, nil: %v %v", out, err)
	}
	if out, err := NewInteger().FromConnect(ctx, "t", nil, connect.OptionalBooleanSchema, nil); err != nil || out != nil {
		t.Errorf("IntegerConverter ignores the schema: %v %v", out, err)
	}
}
