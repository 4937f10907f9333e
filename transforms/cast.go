package transforms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/javavalues"
)

// CastConfig configures Cast (Kafka Connect's
// org.apache.kafka.connect.transforms.Cast$Key / $Value). Set either Type, to
// cast the whole key or value, or Fields, to cast fields of a Struct or map.
// Target types are INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN and
// STRING; source types are those plus BYTES (to STRING only, base64) and the
// logical types (Date, Time, Timestamp become their integer form, or an ISO
// string; Decimal a number or its plain string).
//
// The property "spec" holds either a single type ("int32") or a list of
// field:type pairs ("age:int16,score:float64"); type names are
// case-insensitive.
type CastConfig struct {
	// Type is the whole-value target type; 0 when casting fields.
	Type connect.Type
	// Fields maps field names to target types.
	Fields map[string]connect.Type
	// PreserveNulls copies null fields as null instead of their schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

var castOutputTypes = []connect.Type{connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64,
	connect.TypeFloat32, connect.TypeFloat64, connect.TypeBoolean, connect.TypeString}

func castTypeList(ts []connect.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func validCastOutput(t connect.Type) error {
	if !slices.Contains(castOutputTypes, t) {
		return configErr("spec", "Cast transformation does not support casting to %s; supported types are %s", t, castTypeList(castOutputTypes))
	}
	return nil
}

// Validate checks that exactly one of Type and Fields is set and that every
// target type is supported.
func (c CastConfig) Validate() error {
	switch {
	case c.Type != 0 && len(c.Fields) > 0:
		return configErr("spec", "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec")
	case c.Type == 0 && len(c.Fields) == 0:
		return configErr("spec", "must specify at least one field to cast")
	case c.Type != 0:
		return validCastOutput(c.Type)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Fields)) {
		if err := validCastOutput(c.Fields[name]); err != nil {
			return err
		}
	}
	return nil
}

// Cast casts the record key or value, or some of its fields, to other
// primitive types. Output schemas are cached per input schema. Null values
// pass through; a failed conversion (e.g. "abc" to int32, a number out of
// range) fails the record. It is safe for concurrent use.
type Cast struct {
	part        Part
	whole       connect.Type
	fields      map[string]connect.Type
	replaceNull bool
	cache       schemaCache
}

// NewCast returns a Cast for the given record part, or the config's
// validation error.
func NewCast(cfg CastConfig, part Part) (*Cast, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Cast{part: part, whole: cfg.Type, fields: maps.Clone(cfg.Fields), replaceNull: !cfg.PreserveNulls}, nil
}

func castFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		spec := p.requiredList("spec", false)
		cfg := CastConfig{PreserveNulls: !p.boolean("replace.null.with.default", true)}
		if p.has("spec") && len(spec) == 0 {
			p.fail("spec", "must specify at least one field to cast")
		}
		parseType := func(s string) connect.Type {
			t, err := connect.ParseType(javaTrim(s))
			if err != nil {
				p.fail("spec", "invalid type found in casting spec: %s", javaTrim(s))
				return 0
			}
			if err := validCastOutput(t); err != nil {
				p.addErr(err)
				return 0
			}
			return t
		}
		for _, mapping := range spec {
			parts := javaSplit(mapping, ":")
			switch len(parts) {
			case 1:
				cfg.Type = parseType(parts[0])
				if len(spec) > 1 {
					p.fail("spec", "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec")
				}
			case 2:
				if cfg.Fields == nil {
					cfg.Fields = make(map[string]connect.Type)
				}
				cfg.Fields[javaTrim(parts[0])] = parseType(parts[1])
			default:
				p.fail("spec", "invalid cast mapping: %q", mapping)
			}
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewCast(cfg, part)
	}
}

const castPurpose = "cast types"

// Apply casts the value or its fields.
//
// Its failures are Kafka Connect's DataException (connect.JavaClassNamer),
// as all of Cast's record-time failures in Kafka Connect.
func (t *Cast) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	out, err := t.apply(rec)
	if err != nil {
		return nil, asDataException(err)
	}
	return out, nil
}

func (t *Cast) apply(rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if value == nil {
		return rec, nil
	}
	if schema == nil {
		if t.whole != 0 {
			v, err := castValue(nil, value, t.whole)
			if err != nil {
				return nil, err
			}
			t.part.set(rec, nil, v)
			return rec, nil
		}
		if m, ok := value.(map[any]any); ok {
			// Any Map to Kafka Connect: a copy with the named entries
			// cast (the other keys kept).
			out := maps.Clone(m)
			for name, typ := range t.fields {
				v, err := castValue(nil, m[name], typ)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", name, err)
				}
				out[name] = v
			}
			t.part.set(rec, nil, out)
			return rec, nil
		}
		m, err := requireMap(value, castPurpose)
		if err != nil {
			return nil, err
		}
		out := maps.Clone(m)
		for name, typ := range t.fields {
			v, err := castValue(nil, m[name], typ)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			out[name] = v
		}
		t.part.set(rec, nil, out)
		return rec, nil
	}
	if t.whole != 0 {
		updated, err := t.cache.get(schema, t.buildSchema)
		if err != nil {
			return nil, err
		}
		v, err := castValue(schema, value, t.whole)
		if err != nil {
			return nil, err
		}
		t.part.set(rec, updated, v)
		return rec, nil
	}
	st, err := requireStruct(value, castPurpose)
	if err != nil {
		return nil, err
	}
	in := st.Schema()
	updated, err := t.cache.get(in, t.buildSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	for i := range in.Fields {
		f := &in.Fields[i]
		v := fieldValue(st, f, t.replaceNull)
		if typ, ok := t.fields[f.Name]; ok {
			if v, err = castValue(f.Schema, v, typ); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		if err := out.PutField(&updated.Fields[i], v); err != nil {
			return nil, err
		}
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

func primitiveBuilder(t connect.Type) *connect.SchemaBuilder { return connect.NewSchemaBuilder(t) }

func (t *Cast) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	var b *connect.SchemaBuilder
	if t.whole != 0 {
		b = primitiveBuilder(t.whole)
		// Kafka Connect copies name, version, doc and parameters; Sluice does
		// not carry a logical type's name onto the cast type, which would
		// produce an invalid logical schema.
		if !connect.IsLogical(in) {
			copySchemaBasics(in, b)
		}
	} else {
		if in.Type != connect.TypeStruct {
			return nil, fmt.Errorf("only Struct values supported for [%s], found schema %s", castPurpose, in)
		}
		b = copySchemaBasics(in, connect.StructBuilder())
		for _, f := range in.Fields {
			typ, ok := t.fields[f.Name]
			if !ok {
				b.Field(f.Name, f.Schema)
				continue
			}
			fb := primitiveBuilder(typ)
			if f.Schema.Optional {
				fb.Optional()
			}
			if f.Schema.Default != nil {
				d, err := castValue(f.Schema, f.Schema.Default, typ)
				if err != nil {
					return nil, fmt.Errorf("field %q default: %w", f.Name, err)
				}
				fb.DefaultValue(d)
			}
			fs, err := fb.Build()
			if err != nil {
				return nil, err
			}
			b.Field(f.Name, fs)
		}
	}
	if in.Optional {
		b.Optional()
	}
	if in.Default != nil && t.whole != 0 {
		d, err := castValue(in, in.Default, t.whole)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		b.DefaultValue(d)
	}
	return b.Build()
}

// inferType returns the Connect type of a schemaless Go value, 0 if none.
func inferType(v any) connect.Type {
	switch v.(type) {
	case int8:
		return connect.TypeInt8
	case int16:
		return connect.TypeInt16
	case int32:
		return connect.TypeInt32
	case int64:
		return connect.TypeInt64
	case float32:
		return connect.TypeFloat32
	case float64:
		return connect.TypeFloat64
	case bool:
		return connect.TypeBoolean
	case string:
		return connect.TypeString
	case []byte:
		return connect.TypeBytes
	case []any:
		return connect.TypeArray
	case map[string]any, map[any]any:
		return connect.TypeMap
	case *connect.Struct:
		return connect.TypeStruct
	}
	return 0
}

var castInputTypes = append(slices.Clone(castOutputTypes), connect.TypeBytes)

var errCastRange = errors.New("was out of range for requested data type")

// castValue casts v (of schema s, nil for schemaless) to target, following
// Kafka Connect's Cast: numbers convert as Java's primitive narrowing
// conversions, booleans are 1/0 and non-zero, strings are parsed, bytes
// become base64 strings.
func castValue(s *connect.Schema, v any, target connect.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var inType connect.Type
	if s == nil {
		if inType = inferType(v); inType == 0 {
			return nil, fmt.Errorf("Cast transformation was passed a value of type %T which is not supported by Connect's data API", v)
		}
	} else {
		inType = s.Type
	}
	if !slices.Contains(castInputTypes, inType) {
		return nil, fmt.Errorf("Cast transformation does not support casting from %s; supported types are %s", inType, castTypeList(castInputTypes))
	}
	if s != nil && connect.IsLogical(s) && target != connect.TypeString {
		if tm, ok := v.(time.Time); ok {
			phys, err := connect.FromLogical(s, tm)
			if err != nil {
				return nil, err
			}
			v = phys
		}
	}
	out, err := castTo(v, target)
	if errors.Is(err, errCastRange) {
		return nil, fmt.Errorf("value (%v) was out of range for requested data type %s", v, target)
	}
	return out, err
}

func castTo(v any, target connect.Type) (any, error) {
	if target == connect.TypeString {
		return castToString(v), nil
	}
	if str, ok := v.(string); ok {
		return parseCastString(str, target)
	}
	// The Java views of a number: longValue, intValue, doubleValue, floatValue.
	var (
		l   int64
		i   int32
		f   float64
		f32 float32
	)
	switch x := v.(type) {
	case int8, int16, int32, int64:
		switch y := x.(type) {
		case int8:
			l = int64(y)
		case int16:
			l = int64(y)
		case int32:
			l = int64(y)
		case int64:
			l = y
		}
		i, f, f32 = int32(l), float64(l), float32(l)
	case float32:
		f, f32 = float64(x), x
		i, l = javaD2I(f), javaD2L(f)
	case float64:
		f, f32 = x, float32(x)
		i, l = javaD2I(f), javaD2L(f)
	case connect.Decimal:
		l = decimalIntegerBits(x)
		i, f = int32(l), x.Float64()
		f32 = float32(f)
	case bool:
		if target == connect.TypeBoolean {
			return x, nil
		}
		if x {
			l, i, f, f32 = 1, 1, 1, 1
		}
	default:
		return nil, fmt.Errorf("unexpected type in Cast transformation: %T", v)
	}
	switch target {
	case connect.TypeInt8:
		return int8(i), nil
	case connect.TypeInt16:
		return int16(i), nil
	case connect.TypeInt32:
		return i, nil
	case connect.TypeInt64:
		return l, nil
	case connect.TypeFloat32:
		return f32, nil
	case connect.TypeFloat64:
		return f, nil
	case connect.TypeBoolean:
		return l != 0, nil
	}
	return nil, fmt.Errorf("%s is not supported in the Cast transformation", target)
}

func parseCastString(s string, target connect.Type) (any, error) {
	intOf := func(bits int) (int64, error) {
		n, ok := javaParseLong(s, bits)
		if !ok {
			return 0, errCastRange
		}
		return n, nil
	}
	switch target {
	case connect.TypeInt8:
		n, err := intOf(8)
		return int8(n), err
	case connect.TypeInt16:
		n, err := intOf(16)
		return int16(n), err
	case connect.TypeInt32:
		n, err := intOf(32)
		return int32(n), err
	case connect.TypeInt64:
		return intOf(64)
	case connect.TypeFloat32:
		f, err := parseJavaFloat(s, 32)
		return float32(f), err
	case connect.TypeFloat64:
		return parseJavaFloat(s, 64)
	case connect.TypeBoolean:
		return strings.EqualFold(s, "true"), nil
	}
	return nil, fmt.Errorf("%s is not supported in the Cast transformation", target)
}

// javaParseLong is Java's Byte/Short/Integer/Long.parseLong(s) for a
// bits-wide integer: an optional sign, then one or more decimal digits, any
// Unicode decimal digit of the BMP included (Character.digit: "൯" is 9).
func javaParseLong(s string, bits int) (int64, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if i == 0 && (r == '+' || r == '-') {
			b.WriteRune(r)
			continue
		}
		d, ok := javavalues.Digit(r)
		if !ok {
			return 0, false
		}
		b.WriteByte(byte('0' + d))
	}
	n, err := strconv.ParseInt(b.String(), 10, bits)
	return n, err == nil
}

// parseJavaFloat parses like Java's Double.parseDouble: surrounding
// whitespace ignored, "NaN", "Infinity" and a trailing f/F/d/D accepted.
func parseJavaFloat(s string, bits int) (float64, error) {
	t := javaTrim(s)
	switch strings.TrimLeft(t, "+-") {
	case "NaN", "Infinity":
	case "":
		return 0, errCastRange
	default:
		if c := t[len(t)-1]; c == 'f' || c == 'F' || c == 'd' || c == 'D' {
			t = t[:len(t)-1]
		}
		if strings.ContainsAny(t, "iInN_xX") {
			return 0, errCastRange
		}
	}
	f, err := strconv.ParseFloat(t, bits)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errCastRange
	}
	if bits == 32 && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
		f = math.Inf(int(math.Copysign(1, f)))
	}
	return f, nil
}

func castToString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return javaDateString(x)
	case connect.Decimal:
		return javafmt.BigDecimalString(x.Unscaled, x.Scale)
	case float32:
		return string(javafmt.AppendFloat(nil, float64(x), 32))
	case float64:
		return string(javafmt.AppendFloat(nil, x, 64))
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
