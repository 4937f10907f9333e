package transforms

import (
	"math"
	"math/big"
	"time"
	"unicode/utf16"

	"github.com/sluicehq/sluice/connect"
)

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
	// Bound the powers of ten by the size of u, not by the scale (which may
	// come from the wire): |u| < 2^BitLen <= 10^Scale truncates to 0, and a
	// multiple of 10^64 (so of 2^64) has no low 64 bits.
	if int64(d.Scale) > int64(u.BitLen()) || d.Scale <= -64 {
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

// javaHashMapBucket returns the bucket of key in a java.util.HashMap holding
// n entries built by put from the default capacity: the table has 16 slots,
// doubled while n exceeds three quarters of it, and a key's bucket is its
// String.hashCode, spread (h ^ h>>>16), masked to the table size. A
// HashMap's iteration goes through the buckets in order.
func javaHashMapBucket(key string, n int) int {
	size := 16
	for n > size*3/4 && size < 1<<30 {
		size *= 2
	}
	h := javaStringHash(key)
	h ^= int32(uint32(h) >> 16)
	return int(h) & (size - 1)
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + … over the
// UTF-16 code units, in int arithmetic.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + r1
			h = 31*h + r2
			continue
		}
		h = 31*h + r
	}
	return h
}
