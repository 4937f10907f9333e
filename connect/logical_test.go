package connect

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
)

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad big.Int literal %q", s)
	}
	return x
}

func TestParseDecimalRoundTrip(t *testing.T) {
	tests := []struct {
		in       string
		unscaled string
		scale    int32
	}{
		{"0", "0", 0},
		{"0.0", "0", 1},
		{"0.000", "0", 3},
		{"1", "1", 0},
		{"-1", "-1", 0},
		{"42", "42", 0},
		{"-0.01", "-1", 2},
		{"0.01", "1", 2},
		{"123.450", "123450", 3},
		{"-12.340", "-12340", 3},
		{"100", "100", 0},
		{"9223372036854775808", "9223372036854775808", 0}, // MaxInt64+1
		{"1234567890123456789012345678901234567890", "1234567890123456789012345678901234567890", 0},
		{"-1234567890123456789012345678901234567890", "-1234567890123456789012345678901234567890", 0},
		{"12345678901234567890.12345678901234567890", "1234567890123456789012345678901234567890", 20},
		{"-98765432109876543210.98765432109876543210", "-9876543210987654321098765432109876543210", 20},
		{"-0.0000000000000000000000000000000000000001", "-1", 40},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDecimal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Unscaled.String() != tc.unscaled || d.Scale != tc.scale {
				t.Errorf("ParseDecimal(%q) = %s×10^-%d, want %s×10^-%d", tc.in, d.Unscaled, d.Scale, tc.unscaled, tc.scale)
			}
			if got := d.String(); got != tc.in {
				t.Errorf("String() = %q, want %q", got, tc.in)
			}
			want := Decimal{Unscaled: bigInt(t, tc.unscaled), Scale: tc.scale}
			if !d.Equal(want) {
				t.Errorf("Equal(%v) = false", want)
			}
		})
	}
}

func TestParseDecimalNormalizes(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"+5", "5"},
		{"+0.50", "0.50"},
		{".5", "0.5"},
		{"-.5", "-0.5"},
		{"5.", "5"},
		{"-0", "0"},       // BigDecimal has no negative zero
		{"-0.00", "0.00"}, // nor at any scale
		{"007", "7"},
		{"-007.10", "-7.10"},
	} {
		d, err := ParseDecimal(tc.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tc.in, err)
			continue
		}
		if got := d.String(); got != tc.out {
			t.Errorf("ParseDecimal(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestParseDecimalInvalid(t *testing.T) {
	for _, in := range []string{"", "-", "+", ".", "-.", "1.2.3", "abc", "1e3", "1E+3", "1,5", " 1", "1 ", "--1", "+-1", "0x10", "½", "١"} {
		d, err := ParseDecimal(in)
		if err == nil {
			t.Errorf("ParseDecimal(%q) = %v, want error", in, d)
			continue
		}
		if want := `connect: invalid decimal "` + in + `"`; err.Error() != want {
			t.Errorf("ParseDecimal(%q) error = %q, want %q", in, err, want)
		}
	}
}

func TestDecimalString(t *testing.T) {
	tests := []struct {
		d    Decimal
		want string
	}{
		{Decimal{}, "0"},
		{Decimal{Scale: 3}, "0.000"},
		{Decimal{Scale: -2}, "0"}, // BigDecimal.toPlainString of 0E+2 is "0"
		{NewDecimal(0, -5), "0"},
		{NewDecimal(5, -2), "500"},
		{NewDecimal(-5, -2), "-500"},
		{NewDecimal(-5, 3), "-0.005"},
		{NewDecimal(-1234, 2), "-12.34"},
		{NewDecimal(1234, 4), "0.1234"},
		{NewDecimal(1234, 5), "0.01234"},
		{NewDecimal(math.MinInt64, 0), "-9223372036854775808"},
		{NewDecimal(math.MinInt64, 19), "-0.9223372036854775808"},
		// Plain up to |Scale| 1000, BigDecimal.toString beyond.
		{NewDecimal(-12, 1000), "-0." + strings.Repeat("0", 998) + "12"},
		{NewDecimal(12, -1000), "12" + strings.Repeat("0", 1000)},
		{NewDecimal(-12, 1001), "-1.2E-1000"},
		{NewDecimal(12, -1001), "1.2E+1002"},
		{NewDecimal(0, -1001), "0E+1001"},
		{NewDecimal(5, -2000000000), "5E+2000000000"},
		{NewDecimal(5, 2000000000), "5E-2000000000"},
	}
	for _, tc := range tests {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("Decimal{%v, %d}.String() = %q, want %q", tc.d.Unscaled, tc.d.Scale, got, tc.want)
		}
	}
}

func TestDecimalEqual(t *testing.T) {
	tests := []struct {
		a, b Decimal
		want bool
	}{
		{NewDecimal(10, 1), NewDecimal(10, 1), true},
		{NewDecimal(10, 1), NewDecimal(100, 2), false}, // 1.0 != 1.00, as BigDecimal.equals
		{NewDecimal(1, 0), NewDecimal(-1, 0), false},
		{Decimal{}, NewDecimal(0, 0), true},
		{Decimal{Scale: 2}, NewDecimal(0, 2), true},
		{Decimal{Scale: 2}, Decimal{}, false},
	}
	for _, tc := range tests {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%v(scale %d).Equal(%v(scale %d)) = %v, want %v", tc.a, tc.a.Scale, tc.b, tc.b.Scale, got, tc.want)
		}
	}
}

func TestDecimalRescale(t *testing.T) {
	tests := []struct {
		in    string
		scale int32
		want  string // "" = error
	}{
		{"1.5", 3, "1.500"},
		{"1.500", 1, "1.5"},
		{"1.500", 0, ""},
		{"1.55", 1, ""},
		{"-1.50", 1, "-1.5"},
		{"-1.55", 1, ""},
		{"-0.01", 5, "-0.01000"},
		{"12", 2, "12.00"},
		{"120", -1, "120"},
		{"12", -1, ""},
		{"0.00", 0, "0"},
		{"7", 0, "7"},
		{"1234567890123456789012345678901234567890.000", 0, "1234567890123456789012345678901234567890"},
	}
	for _, tc := range tests {
		d, err := ParseDecimal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		before := d.String()
		got, err := d.Rescale(tc.scale)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s.Rescale(%d) = %v, want error", tc.in, tc.scale, got)
			} else if !strings.Contains(err.Error(), "cannot be rescaled to scale") || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("%s.Rescale(%d) error %q", tc.in, tc.scale, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.Rescale(%d): %v", tc.in, tc.scale, err)
			continue
		}
		if got.Scale != tc.scale || got.String() != tc.want {
			t.Errorf("%s.Rescale(%d) = %q (scale %d), want %q", tc.in, tc.scale, got, got.Scale, tc.want)
		}
		if got.Rat().Cmp(d.Rat()) != 0 {
			t.Errorf("%s.Rescale(%d) changed the value: %v", tc.in, tc.scale, got.Rat())
		}
		if d.String() != before {
			t.Errorf("Rescale mutated the receiver: %s -> %s", before, d)
		}
	}
}

func TestDecimalRatAndFloat64(t *testing.T) {
	tests := []struct {
		d     Decimal
		rat   string
		float float64
	}{
		{Decimal{}, "0/1", 0},
		{NewDecimal(-1, 2), "-1/100", -0.01},
		{NewDecimal(123450, 3), "2469/20", 123.45},
		{NewDecimal(5, -2), "500/1", 500},
		{NewDecimal(1, 0), "1/1", 1},
		{NewDecimal(1, 1), "1/10", 0.1},
	}
	for _, tc := range tests {
		if got := tc.d.Rat().String(); got != tc.rat {
			t.Errorf("%v.Rat() = %s, want %s", tc.d, got, tc.rat)
		}
		if got := tc.d.Float64(); got != tc.float {
			t.Errorf("%v.Float64() = %v, want %v", tc.d, got, tc.float)
		}
	}
	huge, _ := ParseDecimal("1" + strings.Repeat("0", 400))
	if got := huge.Float64(); !math.IsInf(got, 1) {
		t.Errorf("1e400.Float64() = %v, want +Inf", got)
	}
	// Float64 rounds correctly and saturates whatever the scale.
	for _, tc := range []struct {
		d    Decimal
		want float64
	}{
		{NewDecimal(-5, 2), -0.05},
		{NewDecimal(0, -2000000000), 0},
		{NewDecimal(0, 2000000000), 0},
		{NewDecimal(17976931348623157, -292), math.MaxFloat64},
		{NewDecimal(17976931348623159, -292), math.Inf(1)},
		{NewDecimal(-49, 325), -5e-324},
		{NewDecimal(24, 325), 0},
		{NewDecimal(3, -2000000000), math.Inf(1)},
		{NewDecimal(-3, -2000000000), math.Inf(-1)},
		{NewDecimal(3, 2000000000), 0},
		{NewDecimal(3, math.MaxInt32), 0},
		{NewDecimal(3, math.MinInt32), math.Inf(1)},
		{Decimal{bigInt(t, "1"+strings.Repeat("0", 2000)), 2000}, 1},
		{Decimal{bigInt(t, "123"+strings.Repeat("0", 2000)), 2002}, 1.23},
	} {
		if got := tc.d.Float64(); got != tc.want || math.Signbit(got) != math.Signbit(tc.want) {
			t.Errorf("%v.Float64() = %v, want %v", tc.d, got, tc.want)
		}
	}
	if got := NewDecimal(-3, 2000000000).Float64(); got != 0 || !math.Signbit(got) {
		t.Errorf("-3E-2000000000.Float64() = %v, want -0", got)
	}
}

func TestDecimalRatBeyondMaxExpansion(t *testing.T) {
	exact := NewDecimal(7, maxDecimalExpansion)
	want := new(big.Rat).SetFrac(big.NewInt(7), new(big.Int).Exp(big.NewInt(10), big.NewInt(maxDecimalExpansion), nil))
	if exact.Rat().Cmp(want) != 0 {
		t.Errorf("Rat at scale %d is not exact", maxDecimalExpansion)
	}
	for _, tc := range []struct {
		d    Decimal
		want *big.Rat
	}{
		{NewDecimal(0, -2000000000), new(big.Rat)},
		{NewDecimal(0, 2000000000), new(big.Rat)},
		{NewDecimal(7, maxDecimalExpansion+1), new(big.Rat)},
		{NewDecimal(7, -maxDecimalExpansion-1), new(big.Rat).SetFloat64(math.MaxFloat64)},
		{NewDecimal(-7, -2000000000), new(big.Rat).SetFloat64(-math.MaxFloat64)},
		{Decimal{bigInt(t, "15"+strings.Repeat("0", 200000)), 200001}, big.NewRat(3, 2)},
	} {
		if got := tc.d.Rat(); got.Cmp(tc.want) != 0 {
			t.Errorf("%v.Rat() = %v, want %v", tc.d, got.FloatString(3), tc.want.FloatString(3))
		}
	}
}

func TestDecimalRescaleBounds(t *testing.T) {
	tests := []struct {
		d     Decimal
		scale int32
		want  string // "" = error containing err
		err   string
	}{
		{NewDecimal(0, -2000000000), 2000000000, "ok", ""},
		{NewDecimal(5, 0), maxDecimalExpansion, "ok", ""},
		{NewDecimal(5, 0), maxDecimalExpansion + 1, "", "more than the limit of 100000"},
		{NewDecimal(5, -2000000000), 2000000000, "", "more than the limit"},
		{NewDecimal(5, math.MinInt32), math.MaxInt32, "", "more than the limit"},
		{NewDecimal(5, 2000000000), -2000000000, "", "without rounding"},
		{NewDecimal(5, math.MaxInt32), math.MinInt32, "", "without rounding"},
		{NewDecimal(1000, 3), 0, "1", ""},
		{NewDecimal(1000, 4), 0, "", "without rounding"},
		{NewDecimal(-1<<62, 62), 0, "", "without rounding"},
	}
	for _, tc := range tests {
		got, err := tc.d.Rescale(tc.scale)
		switch {
		case tc.want == "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "cannot be rescaled to scale") {
				t.Errorf("%s.Rescale(%d) = %v, %v; want error %q", tc.d, tc.scale, got, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s.Rescale(%d): %v", tc.d, tc.scale, err)
		case got.Scale != tc.scale || got.Rat().Cmp(tc.d.Rat()) != 0:
			t.Errorf("%s.Rescale(%d) = %v (scale %d)", tc.d, tc.scale, got, got.Scale)
		}
	}
}

// TestDecimalHugeScaleIsCheap checks that a scale read off the wire (a JSON
// schema may say "scale":"-2000000000") cannot make formatting, converting or
// validating a Decimal allocate in proportion to the scale.
func TestDecimalHugeScaleIsCheap(t *testing.T) {
	const budget = 64 << 10 // bytes per call
	for _, scale := range []int32{-2000000000, 2000000000, math.MinInt32, math.MaxInt32} {
		d := Decimal{Unscaled: big.NewInt(-123456789), Scale: scale}
		schema := DecimalSchema(scale)
		ops := []struct {
			name string
			f    func()
		}{
			{"String", func() { _ = d.String() }},
			{"javafmt.BigDecimalString", func() { _ = javafmt.BigDecimalString(d.Unscaled, d.Scale) }},
			{"Sprint", func() { _ = fmt.Sprint(d) }},

			{"Float64", func() { _ = d.Float64() }},
			{"Rat", func() { _ = d.Rat() }},
			{"Rescale", func() { _, _ = d.Rescale(-scale) }},
			{"Rescale+1", func() { _, _ = d.Rescale(scale/2 + 1) }},
			{"ValidateValue", func() {
				if err := ValidateValue(schema, d); err != nil {
					t.Error(err)
				}
			}},
			{"ValuesEqual", func() { _ = ValuesEqual(map[any]any{d: d}, map[any]any{Decimal{big.NewInt(-123456789), scale}: d}) }},
			{"DecimalToBytes", func() { _, _ = DecimalToBytes(schema, d) }},
		}
		for _, op := range ops {
			start := time.Now()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			op.f()
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > budget {
				t.Errorf("scale %d: %s allocated %d bytes", scale, op.name, n)
			}
			if allocs := testing.AllocsPerRun(10, op.f); allocs > 40 {
				t.Errorf("scale %d: %s made %v allocations", scale, op.name, allocs)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("scale %d: %s took %v", scale, op.name, el)
			}
		}
	}
}

func TestDecimalBytes(t *testing.T) {
	s2 := DecimalSchema(2)
	tests := []struct {
		dec  string
		want []byte
	}{
		{"0.00", []byte{0x00}},
		{"1.27", []byte{0x7f}},
		{"1.28", []byte{0x00, 0x80}},
		{"-0.01", []byte{0xff}},
		{"-1.28", []byte{0x80}},
		{"-1.29", []byte{0xff, 0x7f}},
		{"2.56", []byte{0x01, 0x00}},
	}
	for _, tc := range tests {
		d, err := ParseDecimal(tc.dec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecimalToBytes(s2, d)
		if err != nil {
			t.Fatalf("DecimalToBytes(%s): %v", tc.dec, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("DecimalToBytes(%s) = % x, want % x", tc.dec, got, tc.want)
		}
		back, err := DecimalFromBytes(s2, got)
		if err != nil {
			t.Fatal(err)
		}
		if back.String() != tc.dec || back.Scale != 2 {
			t.Errorf("DecimalFromBytes(% x) = %s (scale %d), want %s", got, back, back.Scale, tc.dec)
		}
	}
	if got, err := DecimalToBytes(s2, Decimal{Scale: 2}); err != nil || !bytes.Equal(got, []byte{0}) {
		t.Errorf("zero-value Decimal = % x, %v", got, err)
	}

	// Scale mismatch is an error, never a silent rescale.
	_, err := DecimalToBytes(s2, NewDecimal(1234, 3))
	if err == nil || err.Error() != "connect: Decimal has scale 3 but its schema has scale 2" {
		t.Errorf("scale mismatch error = %v", err)
	}
	noScale := NewSchemaBuilder(TypeBytes).Name(DecimalName).MustBuild()
	if _, err := DecimalToBytes(noScale, NewDecimal(1, 0)); err == nil || !strings.Contains(err.Error(), "no scale parameter") {
		t.Errorf("missing scale: %v", err)
	}
	if _, err := DecimalFromBytes(noScale, []byte{1}); err == nil || !strings.Contains(err.Error(), "no scale parameter") {
		t.Errorf("missing scale: %v", err)
	}
	badScale := NewSchemaBuilder(TypeBytes).Name(DecimalName).Parameter(DecimalScale, "99999999999").MustBuild()
	if _, err := DecimalScaleOf(badScale); err == nil || !strings.Contains(err.Error(), `invalid scale "99999999999"`) {
		t.Errorf("out-of-range scale: %v", err)
	}
	neg := NewSchemaBuilder(TypeBytes).Name(DecimalName).Parameter(DecimalScale, "-3").MustBuild()
	if sc, err := DecimalScaleOf(neg); err != nil || sc != -3 {
		t.Errorf("DecimalScaleOf(-3) = %d, %v", sc, err)
	}
}

func TestLogicalSchemas(t *testing.T) {
	tests := []struct {
		name   string
		s      *Schema
		typ    Type
		lname  string
		params Parameters
	}{
		{"decimal", DecimalSchema(5), TypeBytes, DecimalName, Parameters{{DecimalScale, "5"}}},
		{"decimal negative scale", DecimalSchema(-2), TypeBytes, DecimalName, Parameters{{DecimalScale, "-2"}}},
		{"date", DateSchema, TypeInt32, DateName, nil},
		{"time", TimeSchema, TypeInt32, TimeName, nil},
		{"timestamp", TimestampSchema, TypeInt64, TimestampName, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			if s.Type != tc.typ || s.Name != tc.lname || s.Version != 1 || s.Optional {
				t.Errorf("schema = %+v", *s)
			}
			if len(s.Parameters) != len(tc.params) {
				t.Fatalf("Parameters = %v, want %v", s.Parameters, tc.params)
			}
			for i := range tc.params {
				if s.Parameters[i] != tc.params[i] {
					t.Errorf("Parameters[%d] = %v, want %v", i, s.Parameters[i], tc.params[i])
				}
			}
			if !IsLogical(s) {
				t.Error("IsLogical = false")
			}
		})
	}
	for _, tc := range []struct {
		name string
		s    *Schema
	}{
		{"nil", nil},
		{"int32", Int32Schema},
		{"decimal name on INT32", NewSchemaBuilder(TypeInt32).Name(DecimalName).MustBuild()},
		{"date name on INT64", NewSchemaBuilder(TypeInt64).Name(DateName).MustBuild()},
		{"timestamp name on INT32", NewSchemaBuilder(TypeInt32).Name(TimestampName).MustBuild()},
		{"other name", NewSchemaBuilder(TypeBytes).Name("com.acme.Decimal").MustBuild()},
	} {
		if IsLogical(tc.s) {
			t.Errorf("IsLogical(%s) = true", tc.name)
		}
	}
	if s := DateBuilder().Optional().MustBuild(); !s.Optional || !IsLogical(s) {
		t.Errorf("optional date = %+v", *s)
	}
}

func utc(y int, m time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, m, d, h, mi, s, ns, time.UTC)
}

func TestDate(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		days int32
	}{
		{"epoch", utc(1970, 1, 1, 0, 0, 0, 0), 0},
		{"day after epoch", utc(1970, 1, 2, 0, 0, 0, 0), 1},
		{"day before epoch", utc(1969, 12, 31, 0, 0, 0, 0), -1},
		{"1900-01-01", utc(1900, 1, 1, 0, 0, 0, 0), -25567},
		{"0001-01-01", utc(1, 1, 1, 0, 0, 0, 0), -719162},
		{"2000-01-01", utc(2000, 1, 1, 0, 0, 0, 0), 10957},
		{"leap day 2024", utc(2024, 2, 29, 0, 0, 0, 0), 19782},
		{"2038-01-19", utc(2038, 1, 19, 0, 0, 0, 0), 24855},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DateToDays(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.days {
				t.Errorf("DateToDays(%s) = %d, want %d", tc.t, got, tc.days)
			}
			back := DaysToDate(tc.days)
			if !back.Equal(tc.t) || back.Location() != time.UTC {
				t.Errorf("DaysToDate(%d) = %s, want %s UTC", tc.days, back, tc.t)
			}
		})
	}
	// Midnight UTC expressed in another zone is still midnight UTC.
	plus2 := time.FixedZone("+02", 2*3600)
	if got, err := DateToDays(time.Date(1970, 1, 2, 2, 0, 0, 0, plus2)); err != nil || got != 1 {
		t.Errorf("midnight UTC in +02 = %d, %v; want 1", got, err)
	}
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"one second past midnight", utc(1970, 1, 1, 0, 0, 1, 0)},
		{"noon before epoch", utc(1969, 12, 31, 12, 0, 0, 0)},
		{"one ms before midnight before epoch", utc(1969, 12, 31, 23, 59, 59, 999_000_000)},
		{"one ms past midnight", utc(2024, 1, 1, 0, 0, 0, 1_000_000)},
		{"sub-millisecond past midnight", utc(2024, 1, 1, 0, 0, 0, 500)},
		{"sub-millisecond past midnight before epoch", utc(1969, 12, 31, 0, 0, 0, 1)},
		{"local midnight in +02", time.Date(1970, 1, 2, 0, 0, 0, 0, plus2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DateToDays(tc.t)
			if err == nil {
				t.Fatalf("DateToDays(%s) = %d, want error", tc.t, got)
			}
			if !strings.Contains(err.Error(), "has a time of day") || !strings.Contains(err.Error(), "must be midnight UTC") {
				t.Errorf("error %q is not clear", err)
			}
			if !strings.Contains(err.Error(), tc.t.Format(time.RFC3339Nano)) {
				t.Errorf("error %q does not show the value", err)
			}
		})
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		ms   int32
	}{
		{"midnight", utc(1970, 1, 1, 0, 0, 0, 0), 0},
		{"one ms", utc(1970, 1, 1, 0, 0, 0, 1_000_000), 1},
		{"afternoon", utc(1970, 1, 1, 12, 34, 56, 789_000_000), 45296789},
		{"last ms", utc(1970, 1, 1, 23, 59, 59, 999_000_000), 86399999},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TimeToMillis(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.ms {
				t.Errorf("TimeToMillis = %d, want %d", got, tc.ms)
			}
			back := MillisToTime(tc.ms)
			if !back.Equal(tc.t) || back.Location() != time.UTC {
				t.Errorf("MillisToTime(%d) = %s, want %s", tc.ms, back, tc.t)
			}
		})
	}
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"next day", utc(1970, 1, 2, 0, 0, 0, 1_000_000)},
		{"day before epoch", utc(1969, 12, 31, 23, 59, 59, 999_000_000)},
		{"today", utc(2024, 5, 1, 10, 0, 0, 0)},
		{"zero time.Time", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TimeToMillis(tc.t)
			if err == nil {
				t.Fatalf("TimeToMillis(%s) = %d, want error", tc.t, got)
			}
			if !strings.Contains(err.Error(), "has a date") || !strings.Contains(err.Error(), "1970-01-01 UTC") {
				t.Errorf("error %q is not clear", err)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		t  time.Time
		ms int64
	}{
		{utc(1970, 1, 1, 0, 0, 0, 0), 0},
		{utc(1969, 12, 31, 23, 59, 59, 999_000_000), -1},
		{utc(1900, 1, 1, 0, 0, 0, 0), -2208988800000},
		{utc(2024, 2, 29, 12, 0, 0, 123_000_000), 1709208000123},
	}
	for _, tc := range tests {
		if got := TimestampToMillis(tc.t); got != tc.ms {
			t.Errorf("TimestampToMillis(%s) = %d, want %d", tc.t, got, tc.ms)
		}
		if got := TimestampToMillis(tc.t.In(time.FixedZone("-05", -5*3600))); got != tc.ms {
			t.Errorf("TimestampToMillis in -05 = %d, want %d", got, tc.ms)
		}
		back := MillisToTimestamp(tc.ms)
		if !back.Equal(tc.t) || back.Location() != time.UTC {
			t.Errorf("MillisToTimestamp(%d) = %s, want %s", tc.ms, back, tc.t)
		}
	}
}

func TestFromToLogicalRoundTrip(t *testing.T) {
	dec, _ := ParseDecimal("-1.29")
	tests := []struct {
		name     string
		schema   *Schema
		logical  any
		physical any
	}{
		{"decimal", DecimalSchema(2), dec, []byte{0xff, 0x7f}},
		{"date", DateSchema, utc(1969, 12, 31, 0, 0, 0, 0), int32(-1)},
		{"time", TimeSchema, utc(1970, 1, 1, 12, 34, 56, 789_000_000), int32(45296789)},
		{"timestamp", TimestampSchema, utc(1969, 12, 31, 23, 59, 59, 999_000_000), int64(-1)},
		{"optional timestamp", TimestampBuilder().Optional().MustBuild(), utc(2000, 1, 1, 0, 0, 0, 0), int64(946684800000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromLogical(tc.schema, tc.logical)
			if err != nil {
				t.Fatal(err)
			}
			if !ValuesEqual(p, tc.physical) {
				t.Errorf("FromLogical = %#v, want %#v", p, tc.physical)
			}
			l, err := ToLogical(tc.schema, p)
			if err != nil {
				t.Fatal(err)
			}
			if !ValuesEqual(l, tc.logical) {
				t.Errorf("ToLogical = %v, want %v", l, tc.logical)
			}
			// nil passes through both ways.
			if v, err := FromLogical(tc.schema, nil); v != nil || err != nil {
				t.Errorf("FromLogical(nil) = %v, %v", v, err)
			}
			if v, err := ToLogical(tc.schema, nil); v != nil || err != nil {
				t.Errorf("ToLogical(nil) = %v, %v", v, err)
			}
		})
	}
	// Non-logical schemas pass values through unchanged.
	for _, tc := range []struct {
		s *Schema
		v any
	}{{Int32Schema, int32(5)}, {BytesSchema, []byte{1}}, {nil, "x"}, {StringSchema, 42}} {
		if v, err := FromLogical(tc.s, tc.v); err != nil || !ValuesEqual(v, tc.v) {
			t.Errorf("FromLogical(%v, %v) = %v, %v", tc.s, tc.v, v, err)
		}
		if v, err := ToLogical(tc.s, tc.v); err != nil || !ValuesEqual(v, tc.v) {
			t.Errorf("ToLogical(%v, %v) = %v, %v", tc.s, tc.v, v, err)
		}
	}
}

func TestFromToLogicalErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (any, error)
		want string
	}{
		{"from decimal float", func() (any, error) { return FromLogical(DecimalSchema(2), 1.5) }, "Decimal schema expects a connect.Decimal, got float64"},
		{"from decimal wrong scale", func() (any, error) { return FromLogical(DecimalSchema(2), NewDecimal(1, 1)) }, "Decimal has scale 1 but its schema has scale 2"},
		{"from date int32", func() (any, error) { return FromLogical(DateSchema, int32(1)) }, "Date schema expects a time.Time, got int32"},
		{"from date non-midnight", func() (any, error) { return FromLogical(DateSchema, utc(2024, 1, 1, 1, 0, 0, 0)) }, "has a time of day"},
		{"from time int32", func() (any, error) { return FromLogical(TimeSchema, int32(1)) }, "Time schema expects a time.Time, got int32"},
		{"from time dated", func() (any, error) { return FromLogical(TimeSchema, utc(2024, 1, 1, 1, 0, 0, 0)) }, "has a date"},
		{"from timestamp int64", func() (any, error) { return FromLogical(TimestampSchema, int64(1)) }, "Timestamp schema expects a time.Time, got int64"},
		{"to decimal string", func() (any, error) { return ToLogical(DecimalSchema(2), "1.00") }, "Decimal schema expects []byte, got string"},
		{"to date int64", func() (any, error) { return ToLogical(DateSchema, int64(1)) }, DateName + " schema expects int32, got int64"},
		{"to time int", func() (any, error) { return ToLogical(TimeSchema, 1) }, TimeName + " schema expects int32, got int"},
		{"to timestamp int32", func() (any, error) { return ToLogical(TimestampSchema, int32(1)) }, "Timestamp schema expects int64, got int32"},
		{"to timestamp time", func() (any, error) { return ToLogical(TimestampSchema, time.Now()) }, "Timestamp schema expects int64, got time.Time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.fn()
			if err == nil {
				t.Fatalf("got %v, want error containing %q", v, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
