package transforms

import (
	"fmt"
	"github.com/sluicehq/sluice/internal/javavalues"
	"math"
	"strconv"
	"strings"
	"time"
)

// dateFormat is a compiled java.text.SimpleDateFormat pattern, formatting and
// parsing in UTC as Kafka Connect's TimestampConverter and TimestampRouter
// do, on Java's calendar (Julian before 1582-10-15). Supported letters: all
// of SimpleDateFormat's, G y Y M L w W d D F E u a H k K h m s S z Z X,
// with the week fields (Y w W F) of the en locale Kafka Connect's JVM runs
// with (weeks start on Sunday, week 1 holds 1 January). Quoted literals
// ('T'; two single quotes for a quote).
//
// Parsing follows SimpleDateFormat's lenient defaults: numeric fields take
// as many digits as present unless another numeric field follows directly
// (then exactly as many as the letter count), after any spaces or tabs and
// an optional minus sign; out-of-range values roll over (month 13 is January
// of the next year); missing fields default to 1970-01-01T00:00:00.000; text
// after the pattern is ignored. Week dates (Y, w with E or u) resolve as
// SimpleDateFormat resolves them; W and F, and w mixed with month or day
// fields but no Y, do not parse. Time zones parse as Z, ±hh, ±hhmm, ±hh:mm,
// UTC, GMT, GMT±hh:mm; zone names such as PST are not supported. A number
// beyond Java's int range (which SimpleDateFormat truncates) or a date
// beyond the range of epoch milliseconds (which GregorianCalendar overflows)
// does not parse.
type dateFormat struct {
	pattern string
	toks    []dfToken
	// weekFields: the pattern has w, W, F or Y, which only some
	// combinations parse (weekParseSupported).
	weekFields bool
}

type dfToken struct {
	letter byte // 0: literal
	count  int
	lit    string
}

const (
	dfLetters      = "GyYMLwWdDFEuaHkKhmsSzZX"
	javaDateLetter = "GyMdkHmsSEDFwWahKzZYuXL"
)

// compileDateFormat compiles a SimpleDateFormat pattern.
func compileDateFormat(pattern string) (*dateFormat, error) {
	d := &dateFormat{pattern: pattern}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			d.toks = append(d.toks, dfToken{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			i++
			for {
				if i >= len(pattern) {
					return nil, fmt.Errorf("unterminated quote in pattern %q", pattern)
				}
				if pattern[i] == '\'' {
					if i+1 < len(pattern) && pattern[i+1] == '\'' {
						lit.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				lit.WriteByte(pattern[i])
				i++
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if !strings.ContainsRune(dfLetters, rune(c)) {
				if strings.ContainsRune(javaDateLetter, rune(c)) {
					return nil, fmt.Errorf("pattern letter '%c' of %q is not supported by Sluice", c, pattern)
				}
				return nil, fmt.Errorf("illegal pattern character '%c' in %q", c, pattern)
			}
			n := 1
			for i+n < len(pattern) && pattern[i+n] == c {
				n++
			}
			flush()
			d.toks = append(d.toks, dfToken{letter: c, count: n})
			d.weekFields = d.weekFields || strings.IndexByte("wWFY", c) >= 0
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return d, nil
}

// isNumeric reports whether the token formats and parses as a number.
func (t dfToken) isNumeric() bool {
	switch t.letter {
	case 0, 'G', 'E', 'a', 'z', 'Z', 'X':
		return false
	case 'M', 'L':
		return t.count <= 2
	}
	return true
}

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func appendPadded(b []byte, v, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// format formats t (converted to UTC).
func (d *dateFormat) format(t time.Time) string {
	var buf [64]byte
	return string(d.appendFormat(buf[:0], t))
}

func (d *dateFormat) appendFormat(b []byte, t time.Time) []byte {
	t = t.UTC()
	// The calendar date: Go's (proleptic Gregorian) from the cutover on,
	// Julian before it, as java.util.GregorianCalendar.
	year, month, day, yearDay := t.Year(), int(t.Month()), t.Day(), t.YearDay()
	epochDay := floorDiv(t.Unix(), 86400)
	if epochDay < javavalues.GregorianCutoverDays || year == 1582 {
		// The cutover year counts its days from the Julian 1 January.
		year, month, day, yearDay = javaDateFields(epochDay)
	}
	// The days since the first of the month: October 1582 has 21 days
	// (the 4th is followed by the 15th), and GregorianCalendar counts F
	// and W from its real first day.
	monthDay0 := int64(day - 1)
	if year == 1582 && month == 10 && epochDay >= javavalues.GregorianCutoverDays {
		monthDay0 = epochDay - javaEpochDay(1582, 9, 1) // the Julian 1 October
	}
	for _, tok := range d.toks {
		n := tok.count
		switch tok.letter {
		case 0:
			b = append(b, tok.lit...)
		case 'G':
			if year > 0 {
				b = append(b, "AD"...)
			} else {
				b = append(b, "BC"...)
			}
		case 'y':
			y := year
			if y <= 0 {
				y = 1 - y
			}
			if n == 2 {
				b = appendPadded(b, y%100, 2)
			} else {
				b = appendPadded(b, y, n)
			}
		case 'M', 'L':
			m := month
			switch {
			case n >= 4:
				b = append(b, monthNames[m-1]...)
			case n == 3:
				b = append(b, monthNames[m-1][:3]...)
			default:
				b = appendPadded(b, m, n)
			}
		case 'd':
			b = appendPadded(b, day, n)
		case 'F': // day of week in month
			b = appendPadded(b, int(monthDay0)/7+1, n)
		case 'W': // week of month: week 1 holds the 1st, weeks start on Sunday
			first := int(floorMod(epochDay-monthDay0+4, 7))
			b = appendPadded(b, (int(monthDay0)+first)/7+1, n)
		case 'w', 'Y':
			week, weekYear := javaWeekOfYear(epochDay, year, yearDay)
			if year <= 0 {
				weekYear = javaBCWeekYear(year, yearDay)
			}
			switch {
			case tok.letter == 'w':
				b = appendPadded(b, week, n)
			case n == 2:
				b = appendPadded(b, floorModInt(weekYear, 100), 2)
			default:
				b = appendPadded(b, weekYear, n)
			}
		case 'D':
			b = appendPadded(b, yearDay, n)
		case 'E':
			name := dayNames[t.Weekday()]
			if n < 4 {
				name = name[:3]
			}
			b = append(b, name...)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = appendPadded(b, wd, n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = appendPadded(b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = appendPadded(b, h, n)
		case 'K':
			b = appendPadded(b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = appendPadded(b, h, n)
		case 'm':
			b = appendPadded(b, t.Minute(), n)
		case 's':
			b = appendPadded(b, t.Second(), n)
		case 'S':
			b = appendPadded(b, t.Nanosecond()/1e6, n)
		case 'z':
			if n >= 4 {
				b = append(b, "Coordinated Universal Time"...)
			} else {
				b = append(b, "UTC"...)
			}
		case 'Z':
			b = append(b, "+0000"...)
		case 'X':
			b = append(b, 'Z')
		}
	}
	return b
}

// parse parses s; see dateFormat for the rules.
func (d *dateFormat) parse(s string) (time.Time, error) {
	var (
		year, month, day      = 1970, 1, 1
		hour, minute, second  int
		millis                int
		yearDay               = -1
		hour12, pm, hourOfDay = -1, -1, -1
		offset                int // seconds east of UTC
		pos                   int
	)
	fail := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("unparseable date: %q (at position %d)", s, pos)
	}
	if err := d.weekParseSupported(); err != nil {
		return time.Time{}, fmt.Errorf("unparseable date: %q: %w", s, err)
	}
	// The week-date fields (Y w E u); dow is Calendar's DAY_OF_WEEK (1 =
	// Sunday … 7 = Saturday).
	var (
		weekYear, week, dow          int
		hasWeekYear, hasWeek, hasDow bool
		isoDow                       bool // dow is u's ISO number
	)
	for i, tok := range d.toks {
		if tok.letter == 0 {
			if !strings.HasPrefix(s[pos:], tok.lit) {
				return fail()
			}
			pos += len(tok.lit)
			continue
		}
		if tok.isNumeric() {
			// SimpleDateFormat skips spaces and tabs before a number (text
			// fields match at the position itself).
			for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
				pos++
			}
			width := 0 // greedy
			if i+1 < len(d.toks) && d.toks[i+1].isNumeric() {
				width = tok.count
			}
			start := pos
			end := pos
			if end+1 < len(s) && s[end] == '-' && s[end+1] >= '0' && s[end+1] <= '9' {
				end++ // DecimalFormat's negative prefix (within the width)
			}
			digits := end
			for end < len(s) && s[end] >= '0' && s[end] <= '9' && (width == 0 || end-start < width) {
				end++
			}
			if end == digits {
				return fail()
			}
			v, err := strconv.Atoi(s[start:end])
			if err != nil || v < math.MinInt32 || v > math.MaxInt32 {
				// SimpleDateFormat takes the number's intValue(), silently
				// truncating one beyond Java's int range: refused instead.
				return time.Time{}, fmt.Errorf("unparseable date: %q: the number %s at position %d is out of Java's int range", s, s[start:end], start)
			}
			pos = end
			switch tok.letter {
			case 'y':
				if tok.count <= 2 && start == digits && end-digits == 2 {
					v = twoDigitYear(v)
				}
				year = v
			case 'M', 'L':
				month = v
			case 'd':
				day = v
			case 'D':
				yearDay = v
			case 'H':
				hourOfDay = v
			case 'k':
				if v == 24 {
					v = 0
				}
				hourOfDay = v
			case 'K':
				hour12 = v
			case 'h':
				if v == 12 {
					v = 0
				}
				hour12 = v
			case 'm':
				minute = v
			case 's':
				second = v
			case 'S':
				millis = v
			case 'Y':
				if tok.count <= 2 && start == digits && end-digits == 2 {
					v = twoDigitYear(v)
				}
				weekYear, hasWeekYear = v, true
			case 'w':
				week, hasWeek = v, true
			case 'u': // ISO: 1 = Monday … 7 = Sunday; out of range resolved below
				dow, hasDow, isoDow = v, true, true
			}
			continue
		}
		rest := s[pos:]
		switch tok.letter {
		case 'G':
			switch {
			case hasPrefixFold(rest, "AD"):
				pos += 2
			case hasPrefixFold(rest, "BC"):
				pos += 2
				year = 1 - year
			default:
				return fail()
			}
		case 'M', 'L':
			m, n := matchName(rest, monthNames[:])
			if m < 0 {
				return fail()
			}
			month, pos = m+1, pos+n
		case 'E':
			wd, n := matchName(rest, dayNames[:])
			if wd < 0 {
				return fail()
			}
			pos += n
			dow, hasDow = wd+1, true
		case 'a':
			switch {
			case hasPrefixFold(rest, "AM"):
				pm = 0
			case hasPrefixFold(rest, "PM"):
				pm = 1
			default:
				return fail()
			}
			pos += 2
		case 'z', 'Z', 'X':
			off, n, ok := parseZone(rest)
			if !ok {
				return fail()
			}
			offset, pos = off, pos+n
		}
	}
	switch {
	case hourOfDay >= 0:
		hour = hourOfDay
	case hour12 >= 0:
		hour = hour12
		if pm == 1 {
			hour += 12
		}
	case pm == 1:
		hour = 12
	}
	// The date as a lenient GregorianCalendar computes it (Julian before
	// the 1582 cutover), then the time of day, then the zone.
	var epochDay int64
	switch {
	case hasWeekYear || hasWeek && !d.hasDateFields():
		// A week date, as SimpleDateFormat's CalendarBuilder and
		// GregorianCalendar resolve it: the week year (else the year), week
		// 1 unless given, Sunday unless a day of the week is given. Week 1
		// starts on the Sunday on or before 1 January. With a week year,
		// month and day fields are overridden, as in Java.
		y := int64(year)
		if hasWeekYear {
			y = int64(weekYear)
		}
		if !hasWeek {
			week = 1
		}
		switch {
		case !hasDow:
			dow = 1
		case isoDow && dow >= 1 && dow <= 7:
			dow = dow%7 + 1
		case isoDow: // CalendarBuilder's lenient rolling into other weeks
			if dow >= 8 {
				dow--
				week += dow / 7
				dow = dow%7 + 1
			} else {
				for dow <= 0 {
					dow += 7
					week--
				}
			}
			dow = dow%7 + 1 // ISO to Calendar's numbering
		}
		jan1 := javaEpochDay(y, 0, 1)
		epochDay = jan1 - floorMod(jan1+4, 7) + 7*int64(week-1) + int64(dow-1)
	case yearDay >= 0:
		epochDay = javaEpochDay(int64(year), 0, 1) + int64(yearDay) - 1
	default:
		epochDay = javaEpochDay(int64(year), int64(month)-1, int64(day))
	}
	ms, ok := epochMillis(epochDay, ((int64(hour)*60+int64(minute))*60+int64(second))*1000+int64(millis)-int64(offset)*1000)
	if !ok {
		// Java's GregorianCalendar overflows its long milliseconds
		// silently: refused instead.
		return time.Time{}, fmt.Errorf("unparseable date: %q: the date is beyond the range of epoch milliseconds", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// epochMillis returns epochDay*86400000 + rest, or false when that
// overflows an int64.
func epochMillis(epochDay, rest int64) (int64, bool) {
	const maxDay = math.MaxInt64 / 86400000
	if epochDay > maxDay || epochDay < -maxDay {
		return 0, false
	}
	ms := epochDay * 86400000
	sum := ms + rest
	if (rest > 0 && sum < ms) || (rest < 0 && sum > ms) {
		return 0, false
	}
	return sum, true
}

// twoDigitYear resolves a two-digit year as SimpleDateFormat does: into the
// century starting 80 years before now.
func twoDigitYear(v int) int {
	start := time.Now().UTC().AddDate(-80, 0, 0).Year()
	y := start/100*100 + v
	if y < start {
		y += 100
	}
	return y
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// matchName matches a full or three-letter name at the start of s,
// case-insensitively, preferring the longest match.
func matchName(s string, names []string) (idx, n int) {
	for i, name := range names {
		if hasPrefixFold(s, name) {
			return i, len(name)
		}
	}
	for i, name := range names {
		if hasPrefixFold(s, name[:3]) {
			return i, 3
		}
	}
	return -1, 0
}

// parseZone parses a zone at the start of s: Z, UTC, UT, GMT, optionally
// followed (GMT, UTC) by an offset, or an offset ±hh, ±hhmm, ±hh:mm. It
// returns the offset in seconds east of UTC and the length consumed.
func parseZone(s string) (offset, n int, ok bool) {
	for _, name := range []string{"UTC", "GMT", "UT"} {
		if strings.HasPrefix(s, name) {
			if off, m, ok := parseOffset(s[len(name):]); ok {
				return off, len(name) + m, true
			}
			return 0, len(name), true
		}
	}
	if strings.HasPrefix(s, "Z") {
		return 0, 1, true
	}
	return parseOffset(s)
}

func parseOffset(s string) (offset, n int, ok bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') || !isDigits(s[1:3]) {
		return 0, 0, false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, n := 0, 3
	switch {
	case len(s) >= 6 && s[3] == ':' && isDigits(s[4:6]):
		m, _ = strconv.Atoi(s[4:6])
		n = 6
	case len(s) >= 5 && isDigits(s[3:5]):
		m, _ = strconv.Atoi(s[3:5])
		n = 5
	}
	offset = h*3600 + m*60
	if s[0] == '-' {
		offset = -offset
	}
	return offset, n, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// javaWeekOfYear returns GregorianCalendar's WEEK_OF_YEAR and week year for
// the en locale (weeks start on Sunday; week 1 is the one holding 1
// January): the last days of December belong to week 1 of the next year
// when that week holds its 1 January. year is astronomical (1 BC is 0).
func javaWeekOfYear(epochDay int64, year, yearDay int) (week, weekYear int) {
	jan1 := epochDay - int64(yearDay) + 1
	jan1Weekday := int(floorMod(jan1+4, 7)) // 0 = Sunday; 1970-01-01 was a Thursday
	weekStart := epochDay - floorMod(epochDay+4, 7)
	if weekStart+6 >= javaEpochDay(int64(year)+1, 0, 1) {
		return 1, year + 1
	}
	return (yearDay-1+jan1Weekday)/7 + 1, year
}

// javaBCWeekYear is GregorianCalendar.getWeekYear for a date before 1 AD
// (year is astronomical: 1 BC is 0). Its slow path looks for the next
// year's first week by setting YEAR to year+1 on a copy still in the BC
// era, which is the year -year, not year+1: the last days of December go to
// the next week year when that year's first Sunday falls early enough.
func javaBCWeekYear(year, yearDay int) int {
	daysInYear := int(javaEpochDay(int64(year)+1, 0, 1) - javaEpochDay(int64(year), 0, 1))
	left := daysInYear - yearDay + 1 // days to the year's end, this one included
	jan1 := javaEpochDay(int64(-year), 0, 1)
	firstSunday := int(floorMod(-floorMod(jan1+4, 7), 7)) // days from 1 January to its first Sunday
	if firstSunday == 0 {
		firstSunday = 7
	}
	if left <= 7-firstSunday {
		return year + 1
	}
	return year
}

func floorModInt(a, b int) int { return int(floorMod(int64(a), int64(b))) }

// weekParseSupported reports whether the week fields of the pattern parse:
// Y and w (with E or u) do, unless w is mixed with month or day fields
// without Y (Java then picks the fields set last); W and F do not.
func (d *dateFormat) weekParseSupported() error {
	if !d.weekFields {
		return nil
	}
	hasY, hasw := false, false
	for _, tok := range d.toks {
		switch tok.letter {
		case 'W', 'F':
			return fmt.Errorf("the pattern letters W and F are not supported by Sluice (%q)", d.pattern)
		case 'Y':
			hasY = true
		case 'w':
			hasw = true
		}
	}
	if hasw && !hasY && d.hasDateFields() {
		return fmt.Errorf("w together with month or day fields is not supported by Sluice (%q)", d.pattern)
	}
	return nil
}

// hasDateFields reports whether the pattern has a month, day of month or day
// of year.
func (d *dateFormat) hasDateFields() bool {
	for _, tok := range d.toks {
		switch tok.letter {
		case 'M', 'L', 'd', 'D':
			return true
		}
	}
	return false
}
