package transforms

import "github.com/sluicehq/sluice/internal/javavalues"

// Kafka Connect formats and parses dates with java.util.GregorianCalendar
// (through SimpleDateFormat), which is Julian before the Gregorian cutover:
// 1582-10-04 (Julian) is followed by 1582-10-15 (Gregorian). These helpers
// give the same calendar fields, on internal/javavalues' hybrid calendar
// (the one SimpleHeaderConverter and StringConverter use).

// javaEpochDay returns the days since the Unix epoch of the date year,
// month0 (0-based), day as a lenient GregorianCalendar computes it: month0
// and day may be out of range and roll over; a year after 1582 is
// Gregorian, one before is Julian, and in 1582 the Gregorian date is used
// when it falls on or after the cutover, else the Julian one.
func javaEpochDay(year, month0, day int64) int64 {
	return javavalues.HybridDays(year, month0+1, day)
}

// javaDateFields returns the calendar year, month (1–12), day of month and
// day of year of the epoch day as GregorianCalendar shows them: Julian
// before the cutover.
func javaDateFields(epochDay int64) (year, month, day, yearDay int) {
	y, m, d := javavalues.HybridDate(epochDay)
	return int(y), int(m), int(d), int(epochDay-javavalues.HybridDays(y, 1, 1)) + 1
}

func floorDiv(a, b int64) int64 { return javavalues.FloorDiv(a, b) }

func floorMod(a, b int64) int64 { return a - javavalues.FloorDiv(a, b)*b }
