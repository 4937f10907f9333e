package converters

import (
	"math"
	"math/big"
	"strconv"

	"github.com/sluicehq/sluice/connect"
)

// This file renders numbers exactly as the JVM does, so that bytes written by
// Sluice match bytes written by Kafka Connect: Jackson (the JsonConverter's
// JSON library) prints a double with Double.toString, a float with
// Float.toString and a BigDecimal with BigDecimal.toString; Kafka Connect's
// Values and StringConverter use the same methods.

// appendJavaFloat appends f formatted as Java's Double.toString (bits 64) or
// Float.toString (bits 32) do since JDK 19 (JDK-4511638): the shortest decimal
// that reads back as f, in plain notation ("0.001", "12.5", "1234567.0") when
// 10^-3 <= |f| < 10^7 and in computerized scientific notation ("1.0E7",
// "1.234E-5") otherwise; "NaN", "Infinity", "-Infinity", "0.0" and "-0.0" for
// the special values. Older JDKs occasionally printed one more digit than
// needed; Sluice follows the current, specified behaviour.
func appendJavaFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [40]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, bits)
	digits, exp := splitE(b)
	if len(digits) == 1 {
		// Java's rule when one digit suffices: pick the closest decimal of
		// length 1 or 2 (Double.MIN_VALUE prints as 4.9E-324, not 5.0E-324).
		var buf2 [40]byte
		b2 := strconv.AppendFloat(buf2[:0], f, 'e', 1, bits)
		if g, err := strconv.ParseFloat(string(b2), bits); err == nil && g == f {
			d2, e2 := splitE(b2)
			if d2[1] != '0' {
				digits, exp = d2, e2
			}
		}
	}
	if f < 0 {
		dst = append(dst, '-')
	}
	if exp >= -3 && exp < 7 {
		if exp >= 0 {
			if len(digits) <= exp+1 {
				dst = append(dst, digits...)
				for i := len(digits); i < exp+1; i++ {
					dst = append(dst, '0')
				}
				return append(dst, '.', '0')
			}
			dst = append(dst, digits[:exp+1]...)
			dst = append(dst, '.')
			return append(dst, digits[exp+1:]...)
		}
		dst = append(dst, '0', '.')
		for i := 0; i < -exp-1; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// splitE splits strconv's 'e' format ("-1.2345e-05") into the significant
// digits ("12345", sign dropped) and the decimal exponent (-5).
func splitE(b []byte) (digits []byte, exp int) {
	if b[0] == '-' {
		b = b[1:]
	}
	i := 0
	for i < len(b) && b[i] != 'e' {
		i++
	}
	mant := b[:i]
	if len(mant) > 1 && mant[1] == '.' {
		// Move the first digit next to the rest, overwriting the point.
		mant[1] = mant[0]
		mant = mant[1:]
	}
	e, _ := strconv.Atoi(string(b[i+1:]))
	return mant, e
}

// appendJavaBigDecimal appends d formatted as Java's BigDecimal.toString:
// plain notation when the scale is non-negative and the adjusted exponent is
// at least -6 ("-12.340", "0.000001"), scientific otherwise ("1E-7", "1.5E+3",
// "0E+3").
func appendJavaBigDecimal(dst []byte, d connect.Decimal) []byte {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	var buf [64]byte
	coeff := new(big.Int).Abs(u).Append(buf[:0], 10)
	if u.Sign() < 0 {
		dst = append(dst, '-')
	}
	scale := int64(d.Scale)
	adjusted := -scale + int64(len(coeff)-1)
	if scale >= 0 && adjusted >= -6 {
		switch {
		case scale == 0:
			return append(dst, coeff...)
		case int64(len(coeff)) > scale:
			p := int64(len(coeff)) - scale
			dst = append(dst, coeff[:p]...)
			dst = append(dst, '.')
			return append(dst, coeff[p:]...)
		default:
			dst = append(dst, '0', '.')
			for i := int64(len(coeff)); i < scale; i++ {
				dst = append(dst, '0')
			}
			return append(dst, coeff...)
		}
	}
	dst = append(dst, coeff[0])
	if len(coeff) > 1 {
		dst = append(dst, '.')
		dst = append(dst, coeff[1:]...)
	}
	if adjusted != 0 {
		dst = append(dst, 'E')
		if adjusted > 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, adjusted, 10)
	}
	return dst
}

// maxNumberLen bounds the length of a number literal the converters accept,
// as Jackson's StreamReadConstraints do (1000 characters by default); it keeps
// big-number arithmetic on hostile input cheap.
const maxNumberLen = 1000

// maxRescale bounds the power of ten a decimal literal may be scaled by, so
// that "1e999999999" cannot make the converter build a gigantic integer.
const maxRescale = 2000

// decimalLiteral is a parsed number literal: (-1)^neg × digits × 10^-scale,
// as a Java BigDecimal built from the same text (scale = digits after the
// point minus the exponent). digits has no leading zeros; "" means zero.
type decimalLiteral struct {
	neg    bool
	digits string
	scale  int64
}

// parseDecimalLiteral parses a number in Java BigDecimal syntax, a superset of
// JSON's: optional sign, digits with an optional point (at least one digit in
// all), optional exponent. It reports false for anything else, including
// literals longer than maxNumberLen or with an exponent beyond ±4×10^9
// (BigDecimal scales are int32s; callers check the range they need).
func parseDecimalLiteral(s string) (decimalLiteral, bool) {
	var d decimalLiteral
	if len(s) == 0 || len(s) > maxNumberLen {
		return d, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		d.neg = s[0] == '-'
		i++
	}
	buf := make([]byte, 0, len(s))
	nd := 0
	frac := int64(0)
	seenPoint := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			nd++
			if seenPoint {
				frac++
			}
			if c != '0' || len(buf) > 0 {
				buf = append(buf, c)
			}
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if nd == 0 {
		return d, false
	}
	exp := int64(0)
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return d, false
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return d, false
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return d, false
			}
			exp = exp*10 + int64(c-'0')
			if exp > 4_000_000_000 {
				return d, false
			}
		}
		if eneg {
			exp = -exp
		}
	}
	d.digits = string(buf)
	d.scale = frac - exp
	return d, true
}

// isInteger reports whether the literal has no non-zero fractional digits.
func (d decimalLiteral) isInteger() bool {
	if d.digits == "" || d.scale <= 0 {
		return true
	}
	tz := int64(0)
	for i := len(d.digits) - 1; i >= 0 && d.digits[i] == '0'; i-- {
		tz++
	}
	return d.scale <= tz
}

// int64Value returns the literal as an int64 if it is an integer in range.
func (d decimalLiteral) int64Value() (int64, bool) {
	if !d.isInteger() {
		return 0, false
	}
	if d.digits == "" {
		return 0, true
	}
	digits := d.digits
	if d.scale > 0 {
		digits = digits[:int64(len(digits))-d.scale]
	} else if d.scale < 0 {
		if int64(len(digits))-d.scale > 19 {
			return 0, false
		}
		b := []byte(digits)
		for i := int64(0); i < -d.scale; i++ {
			b = append(b, '0')
		}
		digits = string(b)
	}
	if len(digits) > 19 {
		return 0, false
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	if d.neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// decimal returns the literal as a connect.Decimal with exactly the given
// scale, or false when that would drop non-zero digits or needs a power of ten
// beyond maxRescale.
func (d decimalLiteral) decimal(scale int32) (connect.Decimal, bool) {
	u := new(big.Int)
	if d.digits != "" {
		u.SetString(d.digits, 10)
	}
	diff := int64(scale) - d.scale
	switch {
	case d.digits == "":
	case diff > maxRescale || diff < -maxRescale:
		return connect.Decimal{}, false
	case diff > 0:
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(diff), nil))
	case diff < 0:
		q, r := new(big.Int).QuoRem(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(-diff), nil), new(big.Int))
		if r.Sign() != 0 {
			return connect.Decimal{}, false
		}
		u = q
	}
	if d.neg {
		u.Neg(u)
	}
	return connect.Decimal{Unscaled: u, Scale: scale}, true
}

// bigDecimal returns the literal as a connect.Decimal keeping its own scale
// (as new BigDecimal(text) does), or false if the scale does not fit an
// int32.
func (d decimalLiteral) bigDecimal() (connect.Decimal, bool) {
	if d.scale > math.MaxInt32 || d.scale < math.MinInt32 {
		return connect.Decimal{}, false
	}
	u := new(big.Int)
	if d.digits != "" {
		u.SetString(d.digits, 10)
	}
	if d.neg {
		u.Neg(u)
	}
	return connect.Decimal{Unscaled: u, Scale: int32(d.scale)}, true
}
