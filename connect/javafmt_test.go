package connect

import (
	"math"
	"testing"
)

func TestAppendJavaFloat(t *testing.T) {
	doubles := map[float64]string{
		0: "0.0", 1: "1.0", -1: "-1.0", 0.1: "0.1", 100: "100.0", 1e7: "1.0E7", 9999999: "9999999.0",
		1234567.5: "1234567.5", 0.001: "0.001", 0.00099: "9.9E-4", 1e-5: "1.0E-5", 1.0e21: "1.0E21",
		math.MaxFloat64: "1.7976931348623157E308", 4.9e-324: "4.9E-324", 123456789012: "1.23456789012E11",
		-1.5e-10: "-1.5E-10", 2e-3: "0.002", math.Inf(1): "Infinity", math.NaN(): "NaN",
		-1.5: "-1.5", 0.0001: "1.0E-4", 1234567: "1234567.0", 12345678: "1.2345678E7",
		math.Inf(-1): "-Infinity", math.Copysign(0, -1): "-0.0",
	}
	for f, want := range doubles {
		if got := string(AppendJavaFloat(nil, f, 64)); got != want {
			t.Errorf("Double.toString(%v) = %s, want %s", f, got, want)
		}
	}
	floats := map[float32]string{
		1.1: "1.1", 12.34: "12.34", 3.4028235e38: "3.4028235E38", 1.4e-45: "1.4E-45", 1e7: "1.0E7",
		0.3: "0.3", 16777216: "1.6777216E7", 100: "100.0", 0.1: "0.1", 3.4e38: "3.4E38",
	}
	for f, want := range floats {
		if got := string(AppendJavaFloat(nil, float64(f), 32)); got != want {
			t.Errorf("Float.toString(%v) = %s, want %s", f, got, want)
		}
	}
	if got := string(AppendJavaFloat([]byte("x="), 2.5, 64)); got != "x=2.5" {
		t.Errorf("appending to a prefix: %q", got)
	}
}

func TestDecimalJavaString(t *testing.T) {
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
		dec := NewDecimal(d.u, d.scale)
		if got := dec.JavaString(); got != d.want {
			t.Errorf("BigDecimal(%d, %d).toString() = %s, want %s", d.u, d.scale, got, d.want)
		}
		if got := string(dec.AppendJava([]byte("x="))); got != "x="+d.want {
			t.Errorf("BigDecimal(%d, %d) appended: %s", d.u, d.scale, got)
		}
	}
	if got := (Decimal{Scale: 3}).JavaString(); got != "0.000" {
		t.Errorf("nil Unscaled: %q", got)
	}
}
