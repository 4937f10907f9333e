package transforms

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// MaskFieldConfig configures MaskField (Kafka Connect's
// org.apache.kafka.connect.transforms.MaskField$Key / $Value).
type MaskFieldConfig struct {
	// Fields (property "fields", required, non-empty) lists the fields to
	// mask.
	Fields []string
	// Replacement (property "replacement") replaces numeric and string
	// values, converted to the field's type; empty masks with the type's
	// empty value instead (0, false, "", empty array/map, the epoch).
	Replacement string
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks that Fields is non-empty.
func (c MaskFieldConfig) Validate() error {
	if len(c.Fields) == 0 {
		return configErr("fields", "empty list")
	}
	return nil
}

// MaskField replaces fields of the record key or value (a Struct, whose
// schema is kept, or a map[string]any) with a type-appropriate empty value or
// a replacement. Null fields stay null. A replacement that does not convert
// to the field's type (e.g. "x" for an int32), or a replacement for a
// boolean, date or container, fails the record, as in Kafka Connect. A
// numeric replacement is read as Java's new BigDecimal(s) ("1e3", ".5",
// "+5") and converted as Kafka Connect does: integer fields take the integer
// part's low bits (Java's narrowing: "1e3" is -24 for an int8), floats round
// ("1.5E400" is +Inf).
//
// As in Kafka Connect, a null key or value (for MaskField$Value a tombstone)
// fails the record, schema'd or schemaless, and so does a BYTES field to be
// masked (Kafka Connect has no empty value for byte[]): gate MaskField with a
// predicate (RecordIsTombstone, negated) to let tombstones through.
//
// Difference from Kafka Connect: a Decimal Struct field masks to zero (or
// the replacement) with the field's scale, where Kafka Connect puts a value
// with its own scale (0 for the mask) into the struct, contradicting the
// schema; a replacement that cannot take the field's scale exactly fails the
// record. In a schemaless map a Decimal masks as in Kafka Connect (zero at
// scale 0, the replacement at its literal's scale).
// It is safe for concurrent use.
type MaskField struct {
	part        Part
	fields      []string
	replacement string
	hasRepl     bool
	replaceNull bool
}

// NewMaskField returns a MaskField for the given record part, or the config's
// validation error.
func NewMaskField(cfg MaskFieldConfig, part Part) (*MaskField, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &MaskField{part: part, fields: slices.Clone(cfg.Fields), replacement: cfg.Replacement,
		hasRepl: cfg.Replacement != "", replaceNull: !cfg.PreserveNulls}, nil
}

func maskFieldFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := MaskFieldConfig{
			Fields:        p.validList("fields", p.requiredList("fields", true)),
			Replacement:   p.str("replacement", ""),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		if p.has("replacement") && cfg.Replacement == "" {
			p.fail("replacement", "must be non-empty")
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewMaskField(cfg, part)
	}
}

const maskPurpose = "mask fields"

// Apply masks the fields.
//
// Its failures are Kafka Connect's DataException (connect.JavaClassNamer),
// as all of MaskField's record-time failures in Kafka Connect.
func (t *MaskField) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	out, err := t.apply(rec)
	if err != nil {
		return nil, asDataException(err)
	}
	return out, nil
}

func (t *MaskField) apply(rec *connect.Record) (*connect.Record, error) {
	// A null value fails below (requireMap, requireStruct), as Kafka
	// Connect's requireMap and requireStruct fail on null.
	schema, value := t.part.get(rec)
	if m, ok := value.(map[any]any); ok && schema == nil {
		// Any Map to Kafka Connect: a copy with the named entries
		// masked (the other keys kept).
		out := maps.Clone(m)
		for _, name := range t.fields {
			v, err := t.mask(m[name], false)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			out[name] = v
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	if schema == nil {
		m, err := requireMap(value, maskPurpose)
		if err != nil {
			return nil, err
		}
		out := maps.Clone(m)
		for _, name := range t.fields {
			v, err := t.mask(m[name], false)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			out[name] = v
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	st, err := requireStruct(value, maskPurpose)
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	out := connect.NewStruct(in)
	for i := range in.Fields {
		f := &in.Fields[i]
		v := fieldValue(st, f, t.replaceNull)
		if slices.Contains(t.fields, f.Name) {
			if v, err = t.mask(v, true); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		if err := out.PutField(f, v); err != nil {
			return nil, err
		}
	}
	t.part.set(rec, schema, out)
	return rec, nil
}

var epoch = time.Unix(0, 0).UTC()

// mask returns v's mask. fieldScale says whether a Decimal takes its own
// scale (a Struct field: its schema's scale) or, in a schemaless map, the
// scale Kafka Connect gives it (0 for BigDecimal.ZERO, the replacement
// literal's for new BigDecimal(replacement)).
func (t *MaskField) mask(v any, fieldScale bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t.hasRepl {
		return t.replace(v, fieldScale)
	}
	switch x := v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case string:
		return "", nil
	case connect.Decimal:
		if !fieldScale {
			return connect.NewDecimal(0, 0), nil
		}
		return connect.NewDecimal(0, x.Scale), nil
	case time.Time:
		return epoch, nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case map[any]any:
		return map[any]any{}, nil
	}
	// []byte among others: Kafka Connect has no empty value for byte[]
	// ("Cannot mask value of type: class [B").
	return nil, fmt.Errorf("cannot mask value of type: %T", v)
}

func (t *MaskField) replace(v any, fieldScale bool) (any, error) {
	r := t.replacement
	if _, ok := v.(string); ok {
		return r, nil
	}
	num, ok := parseMaskNumber(r)
	switch v.(type) {
	case int8, int16, int32, int64, float32, float64, connect.Decimal:
		if !ok {
			return nil, fmt.Errorf("unable to convert %s (string) to number", r)
		}
	}
	switch x := v.(type) {
	case int8:
		return int8(num.long()), nil
	case int16:
		return int16(num.long()), nil
	case int32:
		return int32(num.long()), nil
	case int64:
		return num.long(), nil
	case float32:
		f, _ := strconv.ParseFloat(r, 32) // r is well formed; ±Inf on overflow, as Java
		return float32(f), nil
	case float64:
		f, _ := strconv.ParseFloat(r, 64)
		return f, nil
	case connect.Decimal:
		if !fieldScale {
			return connect.Decimal{Unscaled: num.unscaled, Scale: num.scale}, nil
		}
		if d := int64(num.scale) - int64(x.Scale); d > maxRescale || d < -maxRescale {
			return nil, fmt.Errorf("replacement %s cannot be given the field's scale %d", r, x.Scale)
		}
		return connect.Decimal{Unscaled: num.unscaled, Scale: num.scale}.Rescale(x.Scale)
	}
	return nil, fmt.Errorf("cannot mask value of type %T with custom replacement", v)
}

// maxRescale bounds the powers of ten a Decimal replacement is rescaled by.
const maxRescale = 10000

// maskNumber is a number in java.math.BigDecimal's string form:
// unscaled × 10^-scale.
type maskNumber struct {
	unscaled *big.Int
	scale    int32
}

// parseMaskNumber parses s as new BigDecimal(s) does: an optional sign,
// digits with an optional point (at least one digit), an optional exponent;
// no spaces, no NaN or Infinity. Kafka Connect's MaskField converts its
// replacement for numeric fields this way (Values.convertToInteger and
// friends on a String, BigDecimal::new for a Decimal).
func parseMaskNumber(s string) (maskNumber, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	var digits strings.Builder
	digits.WriteString(s[:i])
	frac, n := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits.WriteByte(s[i])
		n++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits.WriteByte(s[i])
			n++
			frac++
		}
	}
	if n == 0 {
		return maskNumber{}, false
	}
	exp := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil || s[i+1:] == "" || s[i+1] == '_' {
			return maskNumber{}, false
		}
		exp, i = e, len(s)
	}
	if i != len(s) {
		return maskNumber{}, false
	}
	scale := int64(frac) - exp
	if scale < math.MinInt32 || scale > math.MaxInt32 {
		return maskNumber{}, false
	}
	u, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return maskNumber{}, false
	}
	return maskNumber{unscaled: u, scale: int32(scale)}, true
}

// long is BigDecimal.longValue: the integer part (truncated toward zero),
// its low 64 bits in two's complement; narrower types take the low bits of
// that, as Java's casts.
func (d maskNumber) long() int64 {
	if d.unscaled.Sign() == 0 {
		return 0
	}
	v := new(big.Int)
	switch {
	case d.scale <= -64:
		return 0 // a multiple of 2^64
	case d.scale < 0:
		v.Mul(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.scale)), nil))
	case int(d.scale) > len(d.unscaled.String()):
		return 0 // |value| < 1
	default:
		v.Quo(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale)), nil))
	}
	neg := v.Sign() < 0
	low := new(big.Int).And(new(big.Int).Abs(v), new(big.Int).SetUint64(math.MaxUint64)).Uint64()
	if neg {
		low = -low
	}
	return int64(low)
}
