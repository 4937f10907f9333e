package transforms

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// javaFloatString formats f as Java's Double.toString (bits 64) or
// Float.toString (bits 32): shortest digits that round-trip, plain notation
// with at least one fractional digit for 1e-3 <= |f| < 1e7, else
// computerized scientific notation ("1.0E10", "1.5E-5").
func javaFloatString(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, bits) // e.g. -1.2345e+06
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			intLen := exp + 1
			if len(digits) <= intLen {
				b.WriteString(digits)
				b.WriteString(strings.Repeat("0", intLen-len(digits)))
				b.WriteString(".0")
			} else {
				b.WriteString(digits[:intLen])
				b.WriteByte('.')
				b.WriteString(digits[intLen:])
			}
		} else {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -exp-1))
			b.WriteString(digits)
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	b.WriteByte('.')
	if len(digits) > 1 {
		b.WriteString(digits[1:])
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('E')
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}

// javaDecimalString formats d as Java's BigDecimal.toString: plain notation
// when the scale is non-negative and the adjusted exponent is >= -6, else
// scientific notation ("1.23E+5", "1E-7").
func javaDecimalString(d connect.Decimal) string {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	digits := new(big.Int).Abs(u).String()
	adjusted := -int64(d.Scale) + int64(len(digits)-1)
	if d.Scale >= 0 && adjusted >= -6 {
		return d.String()
	}
	var b strings.Builder
	if u.Sign() < 0 {
		b.WriteByte('-')
	}
	b.WriteByte(digits[0])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('E')
	if adjusted >= 0 {
		b.WriteByte('+')
	}
	b.WriteString(strconv.FormatInt(adjusted, 10))
	return b.String()
}

// javaD2I converts like Java's (int) cast of a double: NaN is 0, out of
// range values saturate.
func javaD2I(f float64) int32 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}

// javaD2L converts like Java's (long) cast of a double.
func javaD2L(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// decimalIntegerBits returns the low 64 bits of d's integer part (truncated
// toward zero), as BigDecimal.longValue.
func decimalIntegerBits(d connect.Decimal) int64 {
	u := d.Unscaled
	if u == nil {
		return 0
	}
	i := new(big.Int).Set(u)
	if d.Scale > 0 {
		i.Quo(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	} else if d.Scale < 0 {
		i.Mul(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.Scale)), nil))
	}
	// Two's complement low 64 bits.
	mod := new(big.Int).Lsh(big.NewInt(1), 64)
	i.Mod(i, mod)
	return int64(i.Uint64())
}

// javaDateString formats t as Kafka Connect's Values.dateFormatFor does: a
// Time ("HH:mm:ss.SSS'Z'") when it is before the end of the epoch day, a Date
// ("yyyy-MM-dd") at midnight, else a Timestamp ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'");
// all in UTC.
func javaDateString(t time.Time) string {
	ms := t.UnixMilli()
	u := time.UnixMilli(ms).UTC()
	switch {
	case ms < 24*60*60*1000:
		return u.Format("15:04:05.000Z")
	case ms%(24*60*60*1000) == 0:
		return u.Format("2006-01-02")
	}
	return u.Format("2006-01-02T15:04:05.000Z")
}
