package offsets

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func mustKey(t *testing.T, connector string, p Partition) string {
	t.Helper()
	b, err := EncodeKey(connector, p)
	if err != nil {
		t.Fatalf("EncodeKey(%q, %v): %v", connector, p, err)
	}
	return string(b)
}

func mustValue(t *testing.T, o Offset) string {
	t.Helper()
	b, err := EncodeValue(o)
	if err != nil {
		t.Fatalf("EncodeValue(%v): %v", o, err)
	}
	return string(b)
}

// TestGoldenKafkaConnectBytes checks the exact bytes Kafka Connect's
// JsonConverter (schemas.enable=false) writes for a FileStreamSource
// offset.
func TestGoldenKafkaConnectBytes(t *testing.T) {
	if got, want := mustKey(t, "file-src", Partition{"filename": "test.txt"}), `["file-src",{"filename":"test.txt"}]`; got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
	if got, want := mustValue(t, Offset{"position": 30}), `{"position":30}`; got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
	if b, err := EncodeValue(nil); err != nil || b != nil {
		t.Errorf("EncodeValue(nil) = %q, %v; want nil (tombstone)", b, err)
	}
	if got, want := mustKey(t, "c", Partition{}), `["c",{}]`; got != want {
		t.Errorf("empty partition key = %s, want %s", got, want)
	}
}

func TestEncodeSortsMembers(t *testing.T) {
	p := Partition{"table": "t1", "db": "d", "schema": "public", "a": nil, "Z": true}
	want := `["conn",{"Z":true,"a":null,"db":"d","schema":"public","table":"t1"}]`
	for range 20 { // map iteration order varies; the output must not
		if got := mustKey(t, "conn", p); got != want {
			t.Fatalf("key = %s, want %s", got, want)
		}
	}
	// More members than the encoder's stack buffer.
	big := Partition{}
	for _, k := range strings.Split("j i h g f e d c b a", " ") {
		big[k] = 1
	}
	if got, want := mustValue(t, big), `{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1}`; got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
}

type namedInt int64
type namedString string
type namedFloat float64

func TestEncodeIntegers(t *testing.T) {
	o := Offset{
		"i": int(-1), "i8": int8(-8), "i16": int16(-16), "i32": int32(math.MinInt32), "i64": int64(math.MinInt64),
		"u": uint(1), "u8": uint8(255), "u16": uint16(65535), "u32": uint32(math.MaxUint32), "u64": uint64(math.MaxInt64),
		"n": namedInt(7), "s": namedString("x"), "f": namedFloat(0.5), "t": true, "F": false,
	}
	want := `{"F":false,"f":0.5,"i":-1,"i16":-16,"i32":-2147483648,"i64":-9223372036854775808,"i8":-8,"n":7,"s":"x","t":true,` +
		`"u":1,"u16":65535,"u32":4294967295,"u64":9223372036854775807,"u8":255}`
	if got := mustValue(t, o); got != want {
		t.Errorf("value =\n%s, want\n%s", got, want)
	}
}

// TestEncodeFloats checks Java's Double.toString / Float.toString (JDK 19+)
// formatting, which Jackson uses.
func TestEncodeFloats(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{30.0, "30.0"},
		{0.0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1.5, "1.5"},
		{-2.5, "-2.5"},
		{0.1, "0.1"},
		{0.001, "0.001"},
		{0.002, "0.002"},
		{1e-4, "1.0E-4"},
		{1.2345e-5, "1.2345E-5"},
		{100.0, "100.0"},
		{123456.789, "123456.789"},
		{1234567.0, "1234567.0"},
		{9999999.0, "9999999.0"},
		{1e7, "1.0E7"},
		{1e10, "1.0E10"},
		{1.5e300, "1.5E300"},
		{1e23, "1.0E23"},
		{1.0 / 3, "0.3333333333333333"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{math.SmallestNonzeroFloat64, "4.9E-324"}, // Java: closest of the 1- and 2-digit decimals
		{float32(0.1), "0.1"},
		{float32(1e10), "1.0E10"},
		{float32(16777216), "1.6777216E7"},
		{float32(math.SmallestNonzeroFloat32), "1.4E-45"},
		{float32(math.MaxFloat32), "3.4028235E38"},
	} {
		if got := mustValue(t, Offset{"x": tc.v}); got != `{"x":`+tc.want+`}` {
			t.Errorf("%T(%v) encodes as %s, want %s", tc.v, tc.v, got, tc.want)
		}
	}
}

func TestEncodeStringEscaping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a<b>&c/d`, `"a<b>&c/d"`},            // no HTML escaping, no / escaping
		{`say "hi" \o/`, `"say \"hi\" \\o/"`}, // quote and backslash
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},        // Jackson's short escapes
		{"\x00\x01\x1f", `"\u0000\u0001\u001F"`},
		{"\x7f", "\"\x7f\""},         // DEL is not escaped
		{"é€\u2028", "\"é€\u2028\""}, // BMP non-ASCII stays UTF-8
		// Outside the BMP: the surrogate pair's escapes, as Kafka Connect
		// 4.3.1's JsonConverter (Jackson) writes them.
		{"😀", `"\uD83D\uDE00"`},
		{"", `""`},
	} {
		got := mustValue(t, Offset{"s": tc.in})
		if want := `{"s":` + tc.want + `}`; got != want {
			t.Errorf("%q encodes as %s, want %s", tc.in, got, want)
		}
		back, err := DecodeValue([]byte(got))
		if err != nil || back["s"] != tc.in {
			t.Errorf("%q: decoded back as %q, %v", tc.in, back["s"], err)
		}
	}
	if got, want := mustKey(t, `we"ird`, Partition{"k\n": "v"}), `["we\"ird",{"k\n":"v"}]`; got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	x := 1
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"slice", []string{"a"}, "[]string"},
		{"map", map[string]any{"a": 1}, "map[string]interface {}"},
		{"struct", struct{ A int }{1}, "struct"},
		{"pointer", &x, "*int"},
		{"nan", math.NaN(), "NaN"},
		{"inf", math.Inf(1), "+Inf"},
		{"uint64", uint64(math.MaxUint64), "out of range"},
		{"utf8", "\xff", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeValue(Offset{"ok": 1, "bad": tc.v})
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Key != "bad" || fe.What != "source offset" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EncodeValue error = %v, want a *FormatError for key bad mentioning %q", err, tc.want)
			}
			_, err = EncodeKey("c", Partition{"bad": tc.v})
			if !errors.As(err, &fe) || fe.Key != "bad" || fe.What != "source partition" {
				t.Fatalf("EncodeKey error = %v, want a *FormatError for key bad", err)
			}
		})
	}
	if _, err := EncodeKey("", Partition{}); err == nil {
		t.Error("EncodeKey accepted an empty connector name")
	}
	if _, err := EncodeKey("c", nil); err == nil {
		t.Error("EncodeKey accepted a nil partition")
	}
}

func TestDecodeKey(t *testing.T) {
	// Kafka Connect wrote the members in HashMap order, not sorted.
	raw := []byte(`["c",{"b":1,"a":"x","f":2.5,"e":1.0E10,"n":null,"t":true}]`)
	conn, p, err := DecodeKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Partition{"a": "x", "b": int64(1), "f": 2.5, "e": 1e10, "n": nil, "t": true}
	if conn != "c" || !reflect.DeepEqual(p, want) {
		t.Fatalf("DecodeKey = %q, %#v; want c, %#v", conn, p, want)
	}
	// Canonical form: the same key as a Go map built in any order.
	if got, want := mustKey(t, conn, p), mustKey(t, "c", Partition{"t": true, "n": nil, "f": 2.5, "e": 1e10, "b": 1, "a": "x"}); got != want {
		t.Errorf("canonical %s != %s", got, want)
	}
	if got, want := mustKey(t, conn, p), `["c",{"a":"x","b":1,"e":1.0E10,"f":2.5,"n":null,"t":true}]`; got != want {
		t.Errorf("canonical = %s, want %s", got, want)
	}
}

func TestDecodeKeyIgnored(t *testing.T) {
	for _, raw := range []string{
		``, `not json`, `{"a":1}`, `"c"`, `[]`, `["c"]`, `["c",{},1]`, `[1,{}]`, `["",{}]`, `["c",[1]]`, `["c",null]`,
		`["c",{"n":{"x":1}}]`, `["c",{"n":[1]}]`, `["c",{}] x`, `["c",{"n":99999999999999999999}]`, "[\"c\xff\",{}]",
	} {
		_, _, err := DecodeKey([]byte(raw))
		var fe *FormatError
		if !errors.As(err, &fe) || fe.What != "offsets-topic key" || fe.Reason == "" {
			t.Errorf("DecodeKey(%q) error = %v, want a *FormatError with a reason", raw, err)
		}
	}
}

func TestDecodeValue(t *testing.T) {
	o, err := DecodeValue([]byte(`{"position":30,"f":1.5,"big":9223372036854775807,"s":"x"}`))
	want := Offset{"position": int64(30), "f": 1.5, "big": int64(math.MaxInt64), "s": "x"}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Fatalf("DecodeValue = %#v, %v; want %#v", o, err, want)
	}
	for _, raw := range [][]byte{nil, []byte("null"), []byte(" null ")} {
		if o, err := DecodeValue(raw); o != nil || err != nil {
			t.Errorf("DecodeValue(%q) = %v, %v; want nil, nil", raw, o, err)
		}
	}
	for _, raw := range []string{``, `[1]`, `1`, `"x"`, `{"a":{"b":1}}`, `{"a":1}{}`} {
		if _, err := DecodeValue([]byte(raw)); err == nil {
			t.Errorf("DecodeValue(%q) accepted", raw)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	o := Offset{"i": 42, "u": uint16(7), "f": 0.25, "f32": float32(1.5), "s": "a\"b\\c\u0001é", "b": false, "n": nil}
	b := mustValue(t, o)
	back, err := DecodeValue([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Offset{"i": int64(42), "u": int64(7), "f": 0.25, "f32": 1.5, "s": "a\"b\\c\u0001é", "b": false, "n": nil}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip = %#v, want %#v", back, want)
	}
	if again := mustValue(t, back); again != b {
		t.Errorf("re-encoding changed the bytes: %s -> %s", b, again)
	}
}

func BenchmarkEncodeKeyValue(b *testing.B) {
	p := Partition{"filename": "/var/log/app/server.log"}
	o := Offset{"position": int64(123456789)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeKey("file-src", p); err != nil {
			b.Fatal(err)
		}
		if _, err := EncodeValue(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeKeyMultiMember(b *testing.B) {
	p := Partition{"db": "inventory", "schema": "public", "table": "orders"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeKey("jdbc-src", p); err != nil {
			b.Fatal(err)
		}
	}
}
