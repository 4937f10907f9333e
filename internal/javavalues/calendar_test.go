package javavalues

import "testing"

func TestFloorDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{
		{7, 2, 3}, {-7, 2, -4}, {7, -2, -4}, {-7, -2, 3}, {-8, 2, -4}, {0, 5, 0}, {-1, 146097, -1},
	} {
		if got := FloorDiv(tc.a, tc.b); got != tc.want {
			t.Errorf("FloorDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestHybridCalendar: days since 1970-01-01 as java.util.GregorianCalendar
// (UTC) counts them: Gregorian from 1582-10-15, Julian before; the Java
// values are getTimeInMillis()/86400000 from Java 17.
func TestHybridCalendar(t *testing.T) {
	for _, tc := range []struct{ y, m, d, days int64 }{
		{1970, 1, 1, 0},
		{2024, 2, 29, 19782},
		{1582, 10, 15, -141427}, // the first Gregorian day
		{1582, 10, 4, -141428},  // the last Julian day, the day before
		{1, 1, 1, -719164},      // new GregorianCalendar(1, 0, 1): -62135769600000 ms
		{1500, 2, 29, -171596},  // a Julian leap day Gregorian has not
	} {
		if got := HybridDays(tc.y, tc.m, tc.d); got != tc.days {
			t.Errorf("HybridDays(%d, %d, %d) = %d, want %d", tc.y, tc.m, tc.d, got, tc.days)
		}
		if y, m, d := HybridDate(tc.days); y != tc.y || m != tc.m || d != tc.d {
			t.Errorf("HybridDate(%d) = %d-%d-%d, want %d-%d-%d", tc.days, y, m, d, tc.y, tc.m, tc.d)
		}
	}
	// Lenient months and days overflow into the next year/month.
	if got, want := HybridDays(2024, 13, 2), HybridDays(2025, 1, 2); got != want {
		t.Errorf("HybridDays(2024, 13, 2) = %d, want %d", got, want)
	}
	// HybridDate inverts HybridDays on every day from 4713 BC to AD 3000.
	for days := int64(-2440588); days < 376200; days++ {
		y, m, d := HybridDate(days)
		if back := HybridDays(y, m, d); back != days {
			t.Fatalf("HybridDays(HybridDate(%d) = %d-%d-%d) = %d", days, y, m, d, back)
		}
	}
}

func TestParseLiteral(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ok       bool
		unscaled string
		scale    int32
	}{
		{"1.50", true, "150", 2},
		{"-0.0", true, "0", 1},
		{"5E3", true, "5", -3},
		{"1e-2", true, "1", 2},
		{"+1", true, "1", 0},
		{"1e", false, "", 0},
		{".5", true, "5", 1},
		{"1.", true, "1", 0},
		{"abc", false, "", 0},
	} {
		lit, ok := ParseLiteral(tc.in)
		if ok != tc.ok {
			t.Errorf("ParseLiteral(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		d, ok := lit.BigDecimal()
		if !ok || d.Unscaled.String() != tc.unscaled || d.Scale != tc.scale {
			t.Errorf("ParseLiteral(%q).BigDecimal() = %v (%v), want %se%d", tc.in, d, ok, tc.unscaled, -tc.scale)
		}
	}
}
