package transforms

import (
	"testing"
	"time"
)

// SimpleDateFormat("yyyy-MM-dd F W w D") on Kafka Connect's JVM (UTC, en)
// around the Gregorian cutover: October 1582 has 21 days, and F (day of
// week in month) and W (week of month) count from its real first day.
func TestKCCutoverMonthWeekFields(t *testing.T) {
	d, err := compileDateFormat("yyyy-MM-dd F W w D")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		epochDay int64
		want     string
	}{
		{-141428, "1582-10-04 1 1 40 277"},
		{-141427, "1582-10-15 1 1 40 278"},
		{-141425, "1582-10-17 1 2 41 280"},
		{-141424, "1582-10-18 2 2 41 281"},
		{-141411, "1582-10-31 3 4 43 294"},
		{-141410, "1582-11-01 1 1 43 295"},
	} {
		if got := string(d.appendFormat(nil, time.UnixMilli(c.epochDay*86400000))); got != c.want {
			t.Errorf("epoch day %d: got %q, want %q", c.epochDay, got, c.want)
		}
	}
}

// SimpleDateFormat takes a parsed number's intValue() and GregorianCalendar
// overflows its long milliseconds silently: Kafka Connect 4.3.1 turned
// "20201231235959" with pattern "y" into year 246380723 (the year truncated
// to 2000042871, the instant overflowed). Sluice refuses both.
func TestSimpleDateFormatRefusesSilentOverflow(t *testing.T) {
	for _, c := range []struct{ pattern, in, want string }{
		{"y", "20201231235959", "out of Java's int range"},
		{"S", "3000000000", "out of Java's int range"},
		{"y", "2147483647", "beyond the range of epoch milliseconds"},
		{"y", "NaN", "unparseable date"},
	} {
		d, err := compileDateFormat(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.parse(c.in)
		wantErr(t, err, c.want)
	}
	d, _ := compileDateFormat("y")
	if got, err := d.parse("292000000"); err != nil || got.Year() != 292000000 {
		t.Fatalf("year 292000000: got %v, %v", got, err)
	}
}

// SimpleDateFormat("G yyyy-MM-dd Y w") on Kafka Connect's JVM before 1 AD:
// GregorianCalendar.getWeekYear looks for the next year's first week in the
// wrong year (YEAR+1 on a BC calendar), so the week year (Y) of the last
// days of December does not follow the week of year (w).
func TestKCWeekYearBeforeOneAD(t *testing.T) {
	d, err := compileDateFormat("G yyyy-MM-dd Y w")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		epochDay int64
		want     string
	}{
		{-1449671, "BC 2001-12-25 -2000 52"},
		{-1449670, "BC 2001-12-26 -1999 52"},
		{-735607, "BC 0046-12-26 -45 52"},
		{-735606, "BC 0046-12-27 -44 1"},
		{-24654368, "BC 65532-12-26 -65531 1"},
	} {
		if got := string(d.appendFormat(nil, time.UnixMilli(c.epochDay*86400000))); got != c.want {
			t.Errorf("epoch day %d: got %q, want %q", c.epochDay, got, c.want)
		}
	}
}
