package connect

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// Logical type names and parameters, as Kafka Connect defines them.
const (
	DecimalName    = "org.apache.kafka.connect.data.Decimal"
	DateName       = "org.apache.kafka.connect.data.Date"
	TimeName       = "org.apache.kafka.connect.data.Time"
	TimestampName  = "org.apache.kafka.connect.data.Timestamp"
	DecimalScale   = "scale"
	logicalVersion = 1
)

const msPerDay = 24 * 60 * 60 * 1000

// Decimal is an arbitrary-precision decimal number: Unscaled × 10^-Scale, as
// Java's BigDecimal. It is the Go value of the Decimal logical type. The zero
// value (nil Unscaled) is 0.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// NewDecimal returns unscaled × 10^-scale.
func NewDecimal(unscaled int64, scale int32) Decimal {
	return Decimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

// ParseDecimal parses a plain decimal string such as "-12.340" (scale 3) or
// "1E+3"-free integers such as "42" (scale 0). The scale is the number of
// digits after the point.
func ParseDecimal(s string) (Decimal, error) {
	t := s
	neg := strings.HasPrefix(t, "-")
	if neg || strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	digits := intPart + frac
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return Decimal{}, fmt.Errorf("connect: invalid decimal %q", s)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("connect: invalid decimal %q", s)
	}
	if neg {
		u.Neg(u)
	}
	return Decimal{Unscaled: u, Scale: int32(len(frac))}, nil
}

func (d Decimal) unscaled() *big.Int {
	if d.Unscaled == nil {
		return new(big.Int)
	}
	return d.Unscaled
}

// maxDecimalExpansion is the largest power of ten, in decimal digits, that
// Decimal's methods build: Rescale refuses to add more digits than this, and
// Rat is exact only for scales within ±maxDecimalExpansion. A Decimal's scale
// can come from the wire (a schema's "scale" parameter may be -2000000000), so
// nothing may cost memory or time in proportion to the scale alone.
const maxDecimalExpansion = 100_000

// maxPlainScale is the largest |Scale| that String writes in plain notation.
const maxPlainScale = 1000

// String formats d like BigDecimal.toPlainString ("-12.340", "500", "0.005")
// when |Scale| <= 1000, and like BigDecimal.toString ("5E+2000000000",
// "-1.5E-1001") beyond, where the plain form would spend a byte per unit of
// scale.
func (d Decimal) String() string {
	if d.Scale > maxPlainScale || d.Scale < -maxPlainScale {
		return javafmt.BigDecimalString(d.Unscaled, d.Scale)
	}
	var buf [64]byte
	coeff := d.unscaled().Append(buf[:0], 10)
	dst := make([]byte, 0, len(coeff)+int(abs32(d.Scale))+2)
	if coeff[0] == '-' {
		dst = append(dst, '-')
		coeff = coeff[1:]
	}
	return string(javafmt.AppendPlain(dst, coeff, int64(d.Scale)))
}

// Rat returns d as an exact rational when |Scale| <= 100 000
// (and always for zero). Beyond that the exact value would need a power of
// ten of up to two billion digits, so Rat returns the nearest float64 instead
// (Float64, with ±Inf clamped to ±math.MaxFloat64) as a rational.
func (d Decimal) Rat() *big.Rat {
	u := d.unscaled()
	if d.Scale == 0 || u.Sign() == 0 {
		return new(big.Rat).SetInt(u)
	}
	if d.Scale > maxDecimalExpansion || d.Scale < -maxDecimalExpansion {
		f := d.Float64()
		if math.IsInf(f, 0) {
			f = math.Copysign(math.MaxFloat64, f)
		}
		return new(big.Rat).SetFloat64(f)
	}
	r := new(big.Rat).SetInt(u)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.Scale))), nil)
	if d.Scale > 0 {
		return r.Quo(r, new(big.Rat).SetInt(p))
	}
	return r.Mul(r, new(big.Rat).SetInt(p))
}

// Float64 returns the nearest float64 to d: ±Inf when |d| is too large, ±0
// when too small. Its cost depends on the size of the unscaled value, not on
// the scale.
func (d Decimal) Float64() float64 {
	// strconv reads BigDecimal.toString's syntax and rounds correctly; it
	// saturates huge exponents instead of expanding them.
	var buf [64]byte
	f, _ := strconv.ParseFloat(string(javafmt.AppendBigDecimal(buf[:0], d.Unscaled, d.Scale)), 64)
	return f
}

// Equal reports whether d and o have the same unscaled value and scale (as
// BigDecimal.equals: 1.0 and 1.00 differ).
func (d Decimal) Equal(o Decimal) bool {
	return d.Scale == o.Scale && d.unscaled().Cmp(o.unscaled()) == 0
}

// Rescale returns d with the given scale, or an error if that would lose
// digits, or would add more than 100 000 digits to a non-zero
// value.
func (d Decimal) Rescale(scale int32) (Decimal, error) {
	if scale == d.Scale {
		return d, nil
	}
	u := d.unscaled()
	if u.Sign() == 0 {
		return Decimal{new(big.Int), scale}, nil
	}
	ten := big.NewInt(10)
	diff := int64(scale) - int64(d.Scale)
	if diff > 0 {
		if diff > maxDecimalExpansion {
			return Decimal{}, fmt.Errorf("connect: decimal %s cannot be rescaled to scale %d: that would add %d digits, more than the limit of %d", d, scale, diff, maxDecimalExpansion)
		}
		u = new(big.Int).Mul(u, new(big.Int).Exp(ten, big.NewInt(diff), nil))
		return Decimal{u, scale}, nil
	}
	// Dividing by 10^-diff > 2^-diff leaves a remainder unless |u| is at
	// least that large, which bounds the power computed by the size of u.
	if -diff > int64(u.BitLen()) {
		return Decimal{}, errRescaleRounding(d, scale)
	}
	q, r := new(big.Int).QuoRem(u, new(big.Int).Exp(ten, big.NewInt(-diff), nil), new(big.Int))
	if r.Sign() != 0 {
		return Decimal{}, errRescaleRounding(d, scale)
	}
	return Decimal{q, scale}, nil
}

func errRescaleRounding(d Decimal, scale int32) error {
	return fmt.Errorf("connect: decimal %s cannot be rescaled to scale %d without rounding", d, scale)
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// DecimalBuilder starts a Decimal logical schema with the given scale (BYTES,
// name org.apache.kafka.connect.data.Decimal, version 1, parameter scale).
func DecimalBuilder(scale int32) *SchemaBuilder {
	return NewSchemaBuilder(TypeBytes).Name(DecimalName).Version(logicalVersion).Parameter(DecimalScale, strconv.Itoa(int(scale)))
}

// DecimalSchema returns a required Decimal schema with the given scale.
func DecimalSchema(scale int32) *Schema { return DecimalBuilder(scale).MustBuild() }

// DateBuilder starts a Date logical schema (INT32 days since the epoch).
func DateBuilder() *SchemaBuilder {
	return NewSchemaBuilder(TypeInt32).Name(DateName).Version(logicalVersion)
}

// TimeBuilder starts a Time logical schema (INT32 milliseconds since midnight).
func TimeBuilder() *SchemaBuilder {
	return NewSchemaBuilder(TypeInt32).Name(TimeName).Version(logicalVersion)
}

// TimestampBuilder starts a Timestamp logical schema (INT64 milliseconds since
// the epoch).
func TimestampBuilder() *SchemaBuilder {
	return NewSchemaBuilder(TypeInt64).Name(TimestampName).Version(logicalVersion)
}

// Required logical schemas.
var (
	DateSchema      = DateBuilder().MustBuild()
	TimeSchema      = TimeBuilder().MustBuild()
	TimestampSchema = TimestampBuilder().MustBuild()
)

// IsLogical reports whether s is one of the four built-in logical types.
func IsLogical(s *Schema) bool {
	if s == nil {
		return false
	}
	switch s.Name {
	case DecimalName:
		return s.Type == TypeBytes
	case DateName, TimeName:
		return s.Type == TypeInt32
	case TimestampName:
		return s.Type == TypeInt64
	}
	return false
}

// DecimalScaleOf returns the scale parameter of a Decimal schema.
func DecimalScaleOf(s *Schema) (int32, error) {
	v, ok := s.Parameters.Get(DecimalScale)
	if !ok {
		return 0, errors.New("connect: Decimal schema has no scale parameter")
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("connect: Decimal schema has invalid scale %q", v)
	}
	return int32(n), nil
}

// DecimalToBytes encodes d as Kafka Connect does: the unscaled value as
// minimal big-endian two's complement bytes. The scale of d must equal the
// schema's scale.
func DecimalToBytes(s *Schema, d Decimal) ([]byte, error) {
	scale, err := DecimalScaleOf(s)
	if err != nil {
		return nil, err
	}
	if d.Scale != scale {
		return nil, fmt.Errorf("connect: Decimal has scale %d but its schema has scale %d", d.Scale, scale)
	}
	return javafmt.TwosComplement(d.unscaled()), nil
}

// DecimalFromBytes decodes big-endian two's complement bytes into a Decimal
// with the schema's scale.
func DecimalFromBytes(s *Schema, b []byte) (Decimal, error) {
	scale, err := DecimalScaleOf(s)
	if err != nil {
		return Decimal{}, err
	}
	return Decimal{Unscaled: javafmt.FromTwosComplement(b), Scale: scale}, nil
}

// DateToDays converts a Date value to days since 1970-01-01. The time must be
// midnight UTC, as Kafka Connect requires.
func DateToDays(t time.Time) (int32, error) {
	u := t.UTC()
	ms := u.UnixMilli()
	if ms%msPerDay != 0 || u.Nanosecond() != 0 {
		return 0, fmt.Errorf("connect: Date value %s has a time of day; Kafka Connect Date values must be midnight UTC", t.Format(time.RFC3339Nano))
	}
	days := ms / msPerDay
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, fmt.Errorf("connect: Date value %s is out of range", t)
	}
	return int32(days), nil
}

// DaysToDate converts days since 1970-01-01 to a Date value (midnight UTC).
func DaysToDate(days int32) time.Time {
	return time.UnixMilli(int64(days) * msPerDay).UTC()
}

// TimeToMillis converts a Time value to milliseconds since midnight. Its date
// must be 1970-01-01 UTC, as Kafka Connect requires; like Kafka Connect's
// Time.fromLogical it also accepts the end of that day, 1970-01-02T00:00Z
// (86400000 ms, what Values.parseString makes of "24:00:00.000Z").
func TimeToMillis(t time.Time) (int32, error) {
	ms := t.UTC().UnixMilli()
	if ms < 0 || ms > msPerDay || (ms == msPerDay && t.Nanosecond() != 0) {
		return 0, fmt.Errorf("connect: Time value %s has a date; Kafka Connect Time values must be on 1970-01-01 UTC", t.Format(time.RFC3339Nano))
	}
	return int32(ms), nil
}

// MillisToTime converts milliseconds since midnight (0 to 86400000, both
// included, as Kafka Connect's Time.toLogical) to a Time value on 1970-01-01
// UTC (1970-01-02T00:00Z for 86400000).
func MillisToTime(ms int32) time.Time { return time.UnixMilli(int64(ms)).UTC() }

// TimestampToMillis converts a Timestamp value to milliseconds since the epoch.
func TimestampToMillis(t time.Time) int64 { return t.UnixMilli() }

// MillisToTimestamp converts milliseconds since the epoch to a Timestamp value
// in UTC.
func MillisToTimestamp(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// FromLogical converts a logical value (Decimal, time.Time) to its physical
// form ([]byte, int32, int64) for schema s. Values of non-logical schemas, and
// nil, are returned unchanged.
func FromLogical(s *Schema, v any) (any, error) {
	if v == nil || !IsLogical(s) {
		return v, nil
	}
	switch s.Name {
	case DecimalName:
		d, ok := v.(Decimal)
		if !ok {
			return nil, fmt.Errorf("connect: Decimal schema expects a connect.Decimal, got %T", v)
		}
		return DecimalToBytes(s, d)
	case DateName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("connect: Date schema expects a time.Time, got %T", v)
		}
		return DateToDays(t)
	case TimeName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("connect: Time schema expects a time.Time, got %T", v)
		}
		return TimeToMillis(t)
	default: // Timestamp
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("connect: Timestamp schema expects a time.Time, got %T", v)
		}
		return TimestampToMillis(t), nil
	}
}

// ToLogical converts a physical value ([]byte, int32, int64) to its logical
// form for schema s. Values of non-logical schemas, and nil, are returned
// unchanged.
func ToLogical(s *Schema, v any) (any, error) {
	if v == nil || !IsLogical(s) {
		return v, nil
	}
	switch s.Name {
	case DecimalName:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("connect: Decimal schema expects []byte, got %T", v)
		}
		return DecimalFromBytes(s, b)
	case DateName, TimeName:
		n, ok := v.(int32)
		if !ok {
			return nil, fmt.Errorf("connect: %s schema expects int32, got %T", s.Name, v)
		}
		if s.Name == DateName {
			return DaysToDate(n), nil
		}
		return MillisToTime(n), nil
	default:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("connect: Timestamp schema expects int64, got %T", v)
		}
		return MillisToTimestamp(n), nil
	}
}
