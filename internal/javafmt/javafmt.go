// Package javafmt renders values exactly as the JVM does, so that bytes
// written by Sluice match bytes written by Kafka Connect: Jackson (the
// JsonConverter's JSON library) prints a double with Double.toString, a float
// with Float.toString and a BigDecimal with BigDecimal.toString; Kafka
// Connect's Values, StringConverter and Cast transformation use the same
// methods; Decimal bytes are BigInteger.toByteArray's two's complement. It
// depends on the standard library only, so that package connect (whose
// Decimal uses it) and the converters and transforms can all import it.
package javafmt

import (
	"math"
	"math/big"
	"strconv"
)

// AppendFloat appends f formatted as Java's Double.toString (bits 64) or
// Float.toString (bits 32, f holding a float32 value) do since JDK 19
// (JDK-4511638): the shortest decimal that reads back as f, in plain notation
// ("0.001", "12.5", "1234567.0") when 10^-3 <= |f| < 10^7 and in computerized
// scientific notation ("1.0E7", "1.234E-5") otherwise; "NaN", "Infinity",
// "-Infinity", "0.0" and "-0.0" for the special values. Older JDKs
// occasionally printed one more digit than needed; Sluice follows the
// current, specified behaviour.
func AppendFloat(dst []byte, f float64, bits int) []byte {
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

// AppendBigDecimal appends unscaled × 10^-scale (a nil unscaled is 0)
// formatted as Java's BigDecimal.toString: plain notation when the scale is
// non-negative and the adjusted exponent (the exponent of the leading digit)
// is at least -6 ("-12.340", "0.000001"), computerized scientific notation
// otherwise ("1E-7", "1.23E+5", "-5E-9", "0E+3"). Its length is that of the
// unscaled value plus at most 14 bytes, whatever the scale.
func AppendBigDecimal(dst []byte, unscaled *big.Int, scale int32) []byte {
	if unscaled == nil {
		unscaled = new(big.Int)
	}
	var buf [64]byte
	coeff := unscaled.Append(buf[:0], 10)
	if coeff[0] == '-' {
		dst = append(dst, '-')
		coeff = coeff[1:]
	}
	sc := int64(scale)
	adjusted := -sc + int64(len(coeff)-1)
	if sc >= 0 && adjusted >= -6 {
		// Here scale <= len(coeff)+5, so the plain form stays short.
		return AppendPlain(dst, coeff, sc)
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

// BigDecimalString returns unscaled × 10^-scale formatted as Java's
// BigDecimal.toString; see AppendBigDecimal.
func BigDecimalString(unscaled *big.Int, scale int32) string {
	var buf [64]byte
	return string(AppendBigDecimal(buf[:0], unscaled, scale))
}

// AppendPlain appends the magnitude coeff × 10^-scale (coeff being decimal
// digits without sign or leading zeros, "0" for zero) in plain notation, as
// BigDecimal.toPlainString: "12.340", "0.005", "500"; zero with a negative
// scale is "0". It writes |scale| bytes or so: callers bound the scale.
func AppendPlain(dst, coeff []byte, scale int64) []byte {
	switch {
	case scale == 0:
		return append(dst, coeff...)
	case scale < 0:
		dst = append(dst, coeff...)
		if len(coeff) == 1 && coeff[0] == '0' {
			return dst
		}
		for i := scale; i < 0; i++ {
			dst = append(dst, '0')
		}
		return dst
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

// TwosComplement returns x as minimal big-endian two's complement bytes, as
// Java's BigInteger.toByteArray (Kafka Connect's Decimal encoding).
func TwosComplement(x *big.Int) []byte {
	switch x.Sign() {
	case 0:
		return []byte{0}
	case 1:
		n := x.BitLen()/8 + 1
		out := make([]byte, n)
		x.FillBytes(out)
		return out
	default:
		// -x-1 = ^x has the same magnitude bits; n bytes hold it with a sign bit.
		m := new(big.Int).Not(x)
		n := m.BitLen()/8 + 1
		y := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		y.Add(y, x)
		out := make([]byte, n)
		y.FillBytes(out)
		return out
	}
}

// FromTwosComplement decodes big-endian two's complement bytes; an empty slice
// is 0.
func FromTwosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}
