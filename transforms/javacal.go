package transforms

import "time"

// Kafka Connect formats and parses dates with java.util.GregorianCalendar
// (through SimpleDateFormat), which is Julian before the Gregorian cutover:
// 1582-10-04 (Julian) is followed by 1582-10-15 (Gregorian). These helpers
// give the same calendar fields.

// gregorianCutoverDay is 1582-10-15, the first Gregorian day, in days since
// the Unix epoch.
const gregorianCutoverDay = -141427

// javaEpochDay returns the days since the Unix epoch of the date year,
// month0 (0-based), day as a lenient GregorianCalendar computes it: month0
// and day may be out of range and roll over; a year after 1582 is
// Gregorian, one before is Julian, and in 1582 the Gregorian date is used
// when it falls on or after the cutover, else the Julian one.
func javaEpochDay(year, month0, day int64) int64 {
	switch {
	case year > 1582:
		return gregorianEpochDay(year, month0, day)
	case year < 1582:
		return julianEpochDay(year, month0, day)
	}
	if g := gregorianEpochDay(year, month0, day); g >= gregorianCutoverDay {
		return g
	}
	return julianEpochDay(year, month0, day)
}

func gregorianEpochDay(year, month0, day int64) int64 {
	year += floorDiv(month0, 12)
	month0 = floorMod(month0, 12)
	// days from civil (Howard Hinnant's algorithm), proleptic Gregorian.
	y := year
	m := month0 + 1
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp + 2) / 5
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468 + day - 1
}

func julianEpochDay(year, month0, day int64) int64 {
	year += floorDiv(month0, 12)
	month0 = floorMod(month0, 12)
	y := year
	m := month0 + 1
	if m <= 2 {
		y--
	}
	// Julian: 4-year cycles of 1461 days; day 0 = 0000-03-01 (Julian).
	era := floorDiv(y, 4)
	yoe := y - era*4
	mp := (m + 9) % 12
	doy := (153*mp + 2) / 5
	doe := yoe*365 + doy
	return era*1461 + doe + julianMarch1Year0 + day - 1
}

// julianMarch1Year0 is the epoch day of 0000-03-01 in the Julian calendar
// (= 0000-02-29 proleptic Gregorian, two days before Gregorian 0000-03-01).
const julianMarch1Year0 = -719468 - 2

// javaDateFields returns the calendar year, month (1–12), day of month and
// day of year of the epoch day as GregorianCalendar shows them: Julian
// before the cutover.
func javaDateFields(epochDay int64) (year, month, day, yearDay int) {
	if epochDay >= gregorianCutoverDay {
		t := time.Unix(epochDay*86400, 0).UTC()
		return t.Year(), int(t.Month()), t.Day(), t.YearDay()
	}
	z := epochDay - julianMarch1Year0
	era := floorDiv(z, 1461)
	doe := z - era*1461
	yoe := doe / 365
	if yoe == 4 {
		yoe = 3
	}
	doy := doe - yoe*365
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := era*4 + yoe
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d), int(epochDay-julianEpochDay(y, 0, 1)) + 1
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
