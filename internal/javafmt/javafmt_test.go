package javafmt

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestAppendFloat(t *testing.T) {
	doubles := map[float64]string{
		0: "0.0", 1: "1.0", -1: "-1.0", 0.1: "0.1", 100: "100.0", 1e7: "1.0E7", 9999999: "9999999.0",
		1234567.5: "1234567.5", 0.001: "0.001", 0.00099: "9.9E-4", 1e-5: "1.0E-5", 1.0e21: "1.0E21",
		math.MaxFloat64: "1.7976931348623157E308", 4.9e-324: "4.9E-324", 123456789012: "1.23456789012E11",
		-1.5e-10: "-1.5E-10", 2e-3: "0.002", math.Inf(1): "Infinity", math.NaN(): "NaN",
		-1.5: "-1.5", 0.0001: "1.0E-4", 1234567: "1234567.0", 12345678: "1.2345678E7",
		math.Inf(-1): "-Infinity", math.Copysign(0, -1): "-0.0",
	}
	for f, want := range doubles {
		if got := string(AppendFloat(nil, f, 64)); got != want {
			t.Errorf("Double.toString(%v) = %s, want %s", f, got, want)
		}
	}
	floats := map[float32]string{
		1.1: "1.1", 12.34: "12.34", 3.4028235e38: "3.4028235E38", 1.4e-45: "1.4E-45", 1e7: "1.0E7",
		0.3: "0.3", 16777216: "1.6777216E7", 100: "100.0", 0.1: "0.1", 3.4e38: "3.4E38",
	}
	for f, want := range floats {
		if got := string(AppendFloat(nil, float64(f), 32)); got != want {
			t.Errorf("Float.toString(%v) = %s, want %s", f, got, want)
		}
	}
	if got := string(AppendFloat([]byte("x="), 2.5, 64)); got != "x=2.5" {
		t.Errorf("appending to a prefix: %q", got)
	}
}

func TestBigDecimalString(t *testing.T) {
	decimals := []struct {
		u     int64
		scale int32
		want  string
	}{
		{123, 0, "123"}, {-123, 2, "-1.23"}, {123, -1, "1.23E+3"}, {123, 10, "1.23E-8"}, {1, 6, "0.000001"},
		{1, 7, "1E-7"}, {0, 0, "0"}, {0, 2, "0.00"}, {0, -2, "0E+2"}, {0, 8, "0E-8"}, {-5, 9, "-5E-9"},
		{12345, 3, "12.345"}, {5, 1, "0.5"}, {1, -1, "1E+1"}, {123, -2, "1.23E+4"},
		{math.MinInt64, 19, "-0.9223372036854775808"}, {math.MinInt64, -1, "-9.223372036854775808E+19"},
		{5, -2000000000, "5E+2000000000"}, {-15, 2000000000, "-1.5E-1999999999"},
		{1, math.MinInt32, "1E+2147483648"}, {0, math.MaxInt32, "0E-2147483647"},
	}
	for _, d := range decimals {
		u := big.NewInt(d.u)
		if got := BigDecimalString(u, d.scale); got != d.want {
			t.Errorf("BigDecimal(%d, %d).toString() = %s, want %s", d.u, d.scale, got, d.want)
		}
		if got := string(AppendBigDecimal([]byte("x="), u, d.scale)); got != "x="+d.want {
			t.Errorf("BigDecimal(%d, %d) appended: %s", d.u, d.scale, got)
		}
	}
	if got := BigDecimalString(nil, 3); got != "0.000" {
		t.Errorf("nil Unscaled: %q", got)
	}
}

// Facts from Java: new BigInteger(x).toByteArray().
var javaToByteArray = []struct {
	x    string
	want []byte
}{
	{"0", []byte{0x00}},
	{"1", []byte{0x01}},
	{"127", []byte{0x7f}},
	{"128", []byte{0x00, 0x80}},
	{"255", []byte{0x00, 0xff}},
	{"256", []byte{0x01, 0x00}},
	{"32767", []byte{0x7f, 0xff}},
	{"32768", []byte{0x00, 0x80, 0x00}},
	{"-1", []byte{0xff}},
	{"-127", []byte{0x81}},
	{"-128", []byte{0x80}},
	{"-129", []byte{0xff, 0x7f}},
	{"-255", []byte{0xff, 0x01}},
	{"-256", []byte{0xff, 0x00}},
	{"-257", []byte{0xfe, 0xff}},
	{"-32768", []byte{0x80, 0x00}},
	{"-32769", []byte{0xff, 0x7f, 0xff}},
	{"9223372036854775807", []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	{"-9223372036854775808", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
	{"18446744073709551616", []byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0}},                         // 2^64
	{"-18446744073709551616", []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0}},                        // -2^64
	{"18446744073709551615", []byte{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, // 2^64-1
}

func TestTwosComplementJavaFacts(t *testing.T) {
	for _, tc := range javaToByteArray {
		x := bigInt(t, tc.x)
		got := TwosComplement(x)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("TwosComplement(%s) = % x, want % x", tc.x, got, tc.want)
		}
		if back := FromTwosComplement(tc.want); back.Cmp(x) != 0 {
			t.Errorf("FromTwosComplement(% x) = %s, want %s", tc.want, back, tc.x)
		}
		if x.String() != tc.x {
			t.Errorf("TwosComplement mutated its argument: %s", x)
		}
	}
}

func TestFromTwosComplementNonMinimal(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want int64
	}{
		{nil, 0},
		{[]byte{}, 0},
		{[]byte{0x00, 0x00}, 0},
		{[]byte{0x00, 0x00, 0x01}, 1},
		{[]byte{0xff, 0xff}, -1},
		{[]byte{0xff, 0xff, 0x80}, -128},
		{[]byte{0x80, 0x00}, -32768},
	} {
		if got := FromTwosComplement(tc.in); got.Int64() != tc.want || !got.IsInt64() {
			t.Errorf("FromTwosComplement(% x) = %s, want %d", tc.in, got, tc.want)
		}
	}
}

// int64ToByteArray is an independent reference for BigInteger.toByteArray on
// int64 values: 8 big-endian bytes with redundant sign-extension bytes dropped.
func int64ToByteArray(v int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	out := b[:]
	for len(out) > 1 && ((out[0] == 0x00 && out[1]&0x80 == 0) || (out[0] == 0xff && out[1]&0x80 != 0)) {
		out = out[1:]
	}
	return out
}

func TestTwosComplementRandomProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		// int64 range: compare against the independent reference.
		v := int64(r.Uint64()) >> r.IntN(64)
		if got, want := TwosComplement(big.NewInt(v)), int64ToByteArray(v); !bytes.Equal(got, want) {
			t.Fatalf("TwosComplement(%d) = % x, want % x", v, got, want)
		}

		// Arbitrary size: round trip, minimal length, sign bit.
		raw := make([]byte, 1+r.IntN(40))
		for j := range raw {
			raw[j] = byte(r.UintN(256))
		}
		x := new(big.Int).SetBytes(raw)
		if r.IntN(2) == 0 {
			x.Neg(x)
		}
		b := TwosComplement(x)
		if back := FromTwosComplement(b); back.Cmp(x) != 0 {
			t.Fatalf("round trip of %s: % x -> %s", x, b, back)
		}
		if (b[0]&0x80 != 0) != (x.Sign() < 0) {
			t.Fatalf("sign bit of % x wrong for %s", b, x)
		}
		if len(b) > 1 && ((b[0] == 0x00 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
			t.Fatalf("TwosComplement(%s) = % x is not minimal", x, b)
		}
	}
}

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad big.Int literal %q", s)
	}
	return x
}
