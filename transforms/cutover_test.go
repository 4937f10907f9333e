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
