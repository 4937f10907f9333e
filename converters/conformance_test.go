package converters

import (
	"encoding/hex"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// The expectations in this file were produced by running Kafka Connect
// 4.3.1's own classes (JsonConverter, StringConverter, SimpleHeaderConverter,
// Values) from the jars in bench/kafka-connect/lib on the same inputs.

func TestConformanceJSONLenientInput(t *testing.T) {
	off := mustJSON(t, JSONConfig{SchemasDisabled: true})
	on := mustJSON(t, JSONConfig{})
	for _, tc := range []struct {
		c    *JSON
		in   string
		want any
	}{
		{off, "007", int64(7)},
		{off, "-0", int64(0)},
		{off, "01.5", 1.5},
		{off, "-01", int64(-1)},
		{off, "\uFEFF1", int64(1)},
		{off, "\uFEFF[1]", []any{int64(1)}},
		{on, `{"schema":{"type":"int32"},"payload":01}`, int32(1)},
		{on, "\uFEFF" + `{"schema":{"type":"int32"},"payload":1}`, int32(1)},
		{on, `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400000}`, connect.MillisToTime(86400000)},
	} {
		sv, err := tc.c.ToConnect(ctx, "t", nil, []byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !connect.ValuesEqual(sv.Value, tc.want) {
			t.Errorf("%q: got %#v, want %#v", tc.in, sv.Value, tc.want)
		}
	}
}

// TestConformanceStringDate checks the String converter's rendering of a
// time.Time against testdata/string_date_kc431.tsv: epoch milliseconds and
// what Kafka Connect 4.3.1's StringConverter wrote for a java.util.Date of
// them (java.util.Date.toString, JVM time zone UTC; Julian calendar before
// 1582-10-15).
func TestConformanceStringDate(t *testing.T) {
	data, err := os.ReadFile("testdata/string_date_kc431.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 50 {
		t.Fatalf("only %d cases", len(lines))
	}
	c := NewString()
	for _, line := range lines {
		msText, want, _ := strings.Cut(line, "\t")
		ms, err := strconv.ParseInt(msText, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.FromConnect(ctx, "t", nil, connect.TimestampSchema, connect.MillisToTimestamp(ms))
		if err != nil || string(got) != want {
			t.Errorf("%d: got %q %v, want %q", ms, got, err, want)
		}
	}
}

// TestConformanceJSONStrings checks string escaping against
// testdata/json_string_kc431.tsv: a code point (hex) and what Kafka Connect
// 4.3.1's JsonConverter (schemas.enable=false) wrote for "a<it>b". Jackson
// escapes controls (upper-case hex) and writes characters outside the BMP as
// their surrogate pair's escapes.
func TestConformanceJSONStrings(t *testing.T) {
	data, err := os.ReadFile("testdata/json_string_kc431.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 260 {
		t.Fatalf("only %d cases", len(lines))
	}
	c := mustJSON(t, JSONConfig{SchemasDisabled: true})
	for _, line := range lines {
		hex, want, _ := strings.Cut(line, "\t")
		cp, err := strconv.ParseInt(hex, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.FromConnect(ctx, "t", nil, nil, "a"+string(rune(cp))+"b")
		if err != nil || string(got) != want {
			t.Errorf("U+%04X: got %s %v, want %s", cp, got, err, want)
		}
	}
}

// TestConformanceNaNMapKey: a map with a NaN key keeps its value, as in
// Kafka Connect 4.3.1 (JsonConverter [["NaN",5]], StringConverter {NaN=5},
// SimpleHeaderConverter {NaN:5}).
func TestConformanceNaNMapKey(t *testing.T) {
	m := map[any]any{math.NaN(): int64(5)}
	ms := connect.MapBuilder(connect.Float64Schema, connect.Int64Schema).MustBuild()
	for _, tc := range []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"json schemaless", func() ([]byte, error) {
			return mustJSON(t, JSONConfig{SchemasDisabled: true}).FromConnect(ctx, "t", nil, nil, m)
		}, `[["NaN",5]]`},
		{"json schema", func() ([]byte, error) {
			return mustJSON(t, JSONConfig{}).FromConnect(ctx, "t", nil, ms, m)
		}, `{"schema":{"type":"map","keys":{"type":"double","optional":false},"values":{"type":"int64","optional":false},"optional":false},"payload":[["NaN",5]]}`},
		{"string", func() ([]byte, error) { return NewString().FromConnect(ctx, "t", nil, nil, m) }, `{NaN=5}`},
		{"simple header", func() ([]byte, error) { return NewSimpleHeader().FromConnectHeader(ctx, "t", "h", nil, m) }, `{NaN:5}`},
	} {
		b, err := tc.got()
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.name, b, err, tc.want)
		}
	}
}

// TestConformanceValuesToString: SimpleHeaderConverter and StringConverter
// output of Kafka Connect 4.3.1 for values with escapes, non-finite and
// signed-zero floats, Decimals and structs with defaults.
func TestConformanceValuesToString(t *testing.T) {
	st := connect.StructBuilder().Field("a", connect.Int32Schema).Field("s", connect.StringSchema).
		Field("d", connect.NewSchemaBuilder(connect.TypeString).Optional().DefaultValue("dv").MustBuild()).
		Field("f", connect.OptionalFloat64Schema).MustBuild()
	for _, tc := range []struct {
		v            any
		header, text string
	}{
		{[]any{"a\"b", "c\\d", nil, float32(1.5), math.NaN(), math.Inf(-1), connect.Decimal{Unscaled: big.NewInt(1), Scale: -3}},
			`["a\"b","c\\d",null,1.5,NaN,-Infinity,1E+3]`, `[a"b, c\d, null, 1.5, NaN, -Infinity, 1E+3]`},
		{map[string]any{"k": []any{int32(1), int32(2)}}, `{"k":[1,2]}`, `{k=[1, 2]}`},
		{connect.NewStruct(st).MustPut("a", int32(1)).MustPut("s", `q"\`).MustPut("f", math.Copysign(0, -1)),
			`{"a":1,"s":"q\"\\","d":"dv","f":-0.0}`, `Struct{a=1,s=q"\,f=-0.0}`},
		{float32(math.Copysign(0, -1)), `-0.0`, `-0.0`},
		{1e-7, `1.0E-7`, `1.0E-7`},
		{123456789.0, `1.23456789E8`, `1.23456789E8`},
		{connect.NewDecimal(1, 8), `1E-8`, `1E-8`},
		{int16(-5), `-5`, `-5`},
	} {
		h, err := NewSimpleHeader().FromConnectHeader(ctx, "t", "h", nil, tc.v)
		if err != nil || string(h) != tc.header {
			t.Errorf("%#v: header %s %v, want %s", tc.v, h, err, tc.header)
		}
		s, err := NewString().FromConnect(ctx, "t", nil, nil, tc.v)
		if err != nil || string(s) != tc.text {
			t.Errorf("%#v: string %s %v, want %s", tc.v, s, err, tc.text)
		}
	}
}

// TestConformanceJSONDecimalNumericScale: with decimal.format=NUMERIC Kafka
// Connect 4.3.1 writes a Decimal whatever its scale.
func TestConformanceJSONDecimalNumericScale(t *testing.T) {
	c := mustJSON(t, JSONConfig{DecimalFormat: DecimalNumeric})
	b, err := c.FromConnect(ctx, "t", nil, connect.DecimalSchema(2), connect.NewDecimal(15, 1))
	want := `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.5}`
	if err != nil || string(b) != want {
		t.Errorf("got %s %v, want %s", b, err, want)
	}
	// BASE64 needs the schema's scale, in Kafka Connect as in Sluice.
	if _, err := mustJSON(t, JSONConfig{}).FromConnect(ctx, "t", nil, connect.DecimalSchema(2), connect.NewDecimal(15, 1)); err == nil {
		t.Error("BASE64 wrote a Decimal at another scale")
	}
}

// TestConformanceJSONTimeEndOfDay: Kafka Connect 4.3.1 writes (and reads) a
// Time of 86400000 ms; so does Sluice, also with schemas.cache.size=0.
func TestConformanceJSONTimeEndOfDay(t *testing.T) {
	cfg, err := JSONConfigFromProps(map[string]string{PropSchemasCacheSize: "0"})
	if err != nil {
		t.Fatal(err)
	}
	c := mustJSON(t, cfg)
	b, err := c.FromConnect(ctx, "t", nil, connect.TimeSchema, connect.MillisToTime(86400000))
	want := `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":86400000}`
	if err != nil || string(b) != want {
		t.Fatalf("got %s %v, want %s", b, err, want)
	}
	sv, err := c.ToConnect(ctx, "t", nil, b)
	if err != nil || !connect.ValuesEqual(sv.Value, connect.MillisToTime(86400000)) {
		t.Errorf("read back %#v %v", sv.Value, err)
	}
	if _, err := c.FromConnect(ctx, "t", nil, connect.TimeSchema, connect.MillisToTime(86400001)); err == nil {
		t.Error("wrote a Time of 86400001 ms")
	}
}

// TestConformanceJSONInvalidUTF8: Kafka Connect 4.3.1's JsonConverter
// (Jackson) refuses invalid UTF-8 in a string ("Invalid UTF-8 start byte
// 0xff"); so does Sluice, instead of replacing it.
func TestConformanceJSONInvalidUTF8(t *testing.T) {
	off := mustJSON(t, JSONConfig{SchemasDisabled: true})
	for _, in := range []string{"\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", "{\"a\xff\":1}", "[\"ok\",\"\\n\xff\"]"} {
		if sv, err := off.ToConnect(ctx, "t", nil, []byte(in)); err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
			t.Errorf("%q: got %#v, %v", in, sv.Value, err)
		}
	}
	// An unpaired surrogate escape is valid JSON; Java keeps it, a Go string
	// cannot: U+FFFD.
	sv, err := off.ToConnect(ctx, "t", nil, []byte(`"a\uD800b"`))
	if err != nil || sv.Value != "a\uFFFDb" {
		t.Errorf("unpaired surrogate: %#v %v", sv.Value, err)
	}
}

// TestConformanceStringEncodings: StringConverter with converter.encoding
// set, against what Kafka Connect 4.3.1 wrote and read (Java's charsets:
// '?' for what a set lacks, U+FFFD for what it cannot decode, UTF-16's byte
// order mark).
func TestConformanceStringEncodings(t *testing.T) {
	in := "aé€😀z"
	for _, tc := range []struct {
		enc, want string
		reads     map[string]string // hex data → decoded text
	}{
		{"UTF-16", "feff006100e920acd83dde00007a", map[string]string{
			"": "", "feff0061": "a", "fffe6100": "a", "006100": "a\uFFFD", "d8000061": "\uFFFD", "e96180": "\ue961\uFFFD",
			"d80000610062": "\uFFFDb", "dc0000610062": "\uFFFDab", "d800": "\uFFFD", "d80000": "\uFFFD", "feff": "", "fffe0061": "\u6100",
			"00610062feff": "ab\ufeff", "d83dde00": "😀",
		}},
		{"UTF-16BE", "006100e920acd83dde00007a", map[string]string{"feff": "\ufeff", "fffe0061": "\ufffea"}},
		{"UTF-16LE", "6100e900ac203dd800de7a00", map[string]string{
			"feff0061": "\ufffe\u6100", "fffe6100": "\ufeffa", "d80000610062": "\u00d8\u6100\u6200", "00": "\uFFFD", "3dd800de": "😀",
		}},
		{"ISO-8859-1", "61e93f3f7a", map[string]string{"feff0061": "\u00fe\u00ff\u0000a", "e96180": "\u00e9a\u0080"}},
		{"latin1", "61e93f3f7a", nil},
		{"US-ASCII", "613f3f3f7a", map[string]string{"feff0061": "\uFFFD\uFFFD\u0000a", "e96180": "\uFFFDa\uFFFD"}},
		{"ascii", "613f3f3f7a", nil},
		{"utf8", "61c3a9e282acf09f98807a", nil},
	} {
		c, err := StringFromProps(map[string]string{PropConverterEncoding: tc.enc})
		if err != nil {
			t.Errorf("%s: %v", tc.enc, err)
			continue
		}
		b, err := c.FromConnect(ctx, "t", nil, nil, in)
		if err != nil || hexString(b) != tc.want {
			t.Errorf("%s: wrote %s %v, want %s", tc.enc, hexString(b), err, tc.want)
		}
		if b, _ := c.FromConnect(ctx, "t", nil, nil, ""); len(b) != 0 {
			t.Errorf("%s: empty string wrote %x", tc.enc, b)
		}
		for data, want := range tc.reads {
			raw := mustHex(t, data)
			sv, err := c.ToConnect(ctx, "t", nil, raw)
			if err != nil || sv.Value != want {
				t.Errorf("%s: read %s as %+q %v, want %+q", tc.enc, data, sv.Value, err, want)
			}
		}
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformanceTimestampExtremes: the smallest and largest Java
// timestamps (Long.MIN_VALUE and Long.MAX_VALUE ms) read and write back as
// the same instant, never as a zero time.Time or null; Kafka Connect 4.3.1
// writes them as the plain longs.
func TestConformanceTimestampExtremes(t *testing.T) {
	c := mustJSON(t, JSONConfig{})
	for _, ms := range []int64{math.MinInt64, math.MaxInt64, -62135596800000} {
		in := `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":` + strconv.FormatInt(ms, 10) + `}`
		sv, err := c.ToConnect(ctx, "t", nil, []byte(in))
		if err != nil {
			t.Fatalf("%d: %v", ms, err)
		}
		tm, ok := sv.Value.(time.Time)
		if !ok || tm.UnixMilli() != ms {
			t.Fatalf("%d: read %#v", ms, sv.Value)
		}
		out, err := c.FromConnect(ctx, "t", nil, sv.Schema, sv.Value)
		if err != nil || string(out) != in {
			t.Errorf("%d: wrote %s %v, want %s", ms, out, err, in)
		}
	}
}

// TestConformanceJSONNaNDefaultStruct: a Struct whose schema has a NaN
// default is written under an equal schema built separately, as Kafka
// Connect 4.3.1 does (Double.equals treats NaN as equal to itself).
func TestConformanceJSONNaNDefaultStruct(t *testing.T) {
	inner := func() *connect.Schema {
		return connect.StructBuilder().Field("d", connect.FromSchema(connect.OptionalFloat64Schema).DefaultValue(math.NaN()).MustBuild()).MustBuild()
	}
	outer := connect.StructBuilder().Field("s", inner()).MustBuild()
	v := connect.NewStruct(outer).MustPut("s", connect.NewStruct(inner()))
	b, err := mustJSON(t, JSONConfig{}).FromConnect(ctx, "t", nil, outer, v)
	want := `{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"double","optional":true,"default":"NaN","field":"d"}],"optional":false,"field":"s"}],"optional":false},"payload":{"s":{"d":"NaN"}}}`
	if err != nil || string(b) != want {
		t.Errorf("got %s %v, want %s", b, err, want)
	}
}
