package javavalues

import (
	"math"
	"math/big"
	"strconv"

	"github.com/sluicehq/sluice/connect"
)

// This file parses number literals as the JVM does (new BigDecimal(text));
// javafmt.AppendFloat and javafmt.AppendBigDecimal print them.

// MaxNumberLen bounds the length of a number literal the converters accept,
// as Jackson's StreamReadConstraints do (1000 characters by default); it keeps
// big-number arithmetic on hostile input cheap.
const MaxNumberLen = 1000

// MaxRescale bounds the power of ten a decimal literal may be scaled by, so
// that "1e999999999" cannot make the converter build a gigantic integer.
const MaxRescale = 2000

// Literal is a parsed number literal: (-1)^neg × digits × 10^-scale,
// as a Java BigDecimal built from the same text (scale = digits after the
// point minus the exponent). digits has no leading zeros; "" means zero.
type Literal struct {
	neg    bool
	digits string
	scale  int64
}

// ParseLiteral parses a number in Java BigDecimal syntax, a superset of
// JSON's: optional sign, digits with an optional point (at least one digit in
// all), optional exponent. It reports false for anything else, including
// literals longer than MaxNumberLen or with an exponent beyond ±4×10^9
// (BigDecimal scales are int32s; callers check the range they need).
func ParseLiteral(s string) (Literal, bool) {
	var d Literal
	if len(s) == 0 || len(s) > MaxNumberLen {
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

// IsInteger reports whether the literal has no non-zero fractional digits.
func (d Literal) IsInteger() bool {
	if d.digits == "" || d.scale <= 0 {
		return true
	}
	tz := int64(0)
	for i := len(d.digits) - 1; i >= 0 && d.digits[i] == '0'; i-- {
		tz++
	}
	return d.scale <= tz
}

// Int64 returns the literal as an int64 if it is an integer in range.
func (d Literal) Int64() (int64, bool) {
	if !d.IsInteger() {
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

// Decimal returns the literal as a connect.Decimal with exactly the given
// scale, or false when that would drop non-zero digits or needs a power of ten
// beyond MaxRescale.
func (d Literal) Decimal(scale int32) (connect.Decimal, bool) {
	u := new(big.Int)
	if d.digits != "" {
		u.SetString(d.digits, 10)
	}
	diff := int64(scale) - d.scale
	switch {
	case d.digits == "":
	case diff > MaxRescale || diff < -MaxRescale:
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

// BigDecimal returns the literal as a connect.Decimal keeping its own scale
// (as new BigDecimal(text) does), or false if the scale does not fit an
// int32.
func (d Literal) BigDecimal() (connect.Decimal, bool) {
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
