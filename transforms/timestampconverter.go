package transforms

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// TimestampKind is a timestamp representation handled by TimestampConverter
// (Kafka Connect's target.type values, case-sensitive).
type TimestampKind string

// Timestamp representations.
const (
	// TimestampString is a string in the configured Format (STRING).
	TimestampString TimestampKind = "string"
	// TimestampUnix is an epoch count in UnixPrecision units (INT64).
	TimestampUnix TimestampKind = "unix"
	// TimestampDate is a Connect Date: midnight UTC (time.Time, INT32 days).
	TimestampDate TimestampKind = "Date"
	// TimestampTime is a Connect Time: time of day on 1970-01-01 UTC
	// (time.Time, INT32 milliseconds).
	TimestampTime TimestampKind = "Time"
	// TimestampTimestamp is a Connect Timestamp (time.Time, INT64
	// milliseconds).
	TimestampTimestamp TimestampKind = "Timestamp"
)

// UnixPrecision is the unit of unix timestamps (Kafka Connect's
// unix.precision).
type UnixPrecision string

// Unix timestamp precisions. The zero value means milliseconds.
const (
	UnixSeconds      UnixPrecision = "seconds"
	UnixMilliseconds UnixPrecision = "milliseconds"
	UnixMicroseconds UnixPrecision = "microseconds"
	UnixNanoseconds  UnixPrecision = "nanoseconds"
)

// TimestampConverterConfig configures TimestampConverter (Kafka Connect's
// org.apache.kafka.connect.transforms.TimestampConverter$Key / $Value).
type TimestampConverterConfig struct {
	// Field (property "field", default "") is the field holding the
	// timestamp; empty converts the whole key or value.
	Field string
	// TargetType (property "target.type", required) is the output
	// representation.
	TargetType TimestampKind
	// Format (property "format") is a java.text.SimpleDateFormat pattern,
	// used to format string output and parse string input (in UTC). It is
	// required when TargetType is string.
	Format string
	// UnixPrecision (property "unix.precision", default milliseconds) is the
	// unit of unix input and output. Conversions go through milliseconds,
	// so sub-millisecond digits are lost (truncated toward zero).
	UnixPrecision UnixPrecision
	// PreserveNulls converts a null field as null instead of its schema's
	// default (property replace.null.with.default=false).
	PreserveNulls bool
}

// Validate checks TargetType, UnixPrecision and Format.
func (c TimestampConverterConfig) Validate() error {
	_, err := c.compile()
	return err
}

func (c TimestampConverterConfig) compile() (*dateFormat, error) {
	switch c.TargetType {
	case TimestampString, TimestampUnix, TimestampDate, TimestampTime, TimestampTimestamp:
	case "":
		return nil, configErr("target.type", "missing required configuration \"target.type\" which has no default value")
	default:
		return nil, configErr("target.type", "invalid value %q: must be one of string, unix, Date, Time, Timestamp", c.TargetType)
	}
	switch c.UnixPrecision {
	case "", UnixSeconds, UnixMilliseconds, UnixMicroseconds, UnixNanoseconds:
	default:
		return nil, configErr("unix.precision", "invalid value %q: must be one of nanoseconds, microseconds, milliseconds, seconds", c.UnixPrecision)
	}
	if javaTrim(c.Format) == "" {
		if c.TargetType == TimestampString {
			return nil, configErr("format", "TimestampConverter requires format option to be specified when using string timestamps")
		}
		return nil, nil
	}
	f, err := compileDateFormat(c.Format)
	if err != nil {
		return nil, configErr("format", "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: %v", err)
	}
	return f, nil
}

// TimestampConverter converts timestamps between strings, unix epoch numbers
// and the Connect Date, Time and Timestamp types, for the whole key or value
// or one field of a Struct or map[string]any. The input representation comes
// from the schema (Date/Time/Timestamp logical types, STRING = string, INT64 =
// unix), or for schemaless data from the Go type (time.Time = Timestamp,
// int64 = unix, string = string). Nulls stay null. Output schemas are cached
// per input schema. It is safe for concurrent use.
type TimestampConverter struct {
	part        Part
	field       string
	target      TimestampKind
	format      *dateFormat
	precision   UnixPrecision
	replaceNull bool
	cache       schemaCache
}

// NewTimestampConverter returns a TimestampConverter for the given record
// part, or the config's validation error.
func NewTimestampConverter(cfg TimestampConverterConfig, part Part) (*TimestampConverter, error) {
	if err := part.validate(); err != nil {
		return nil, err
	}
	f, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	prec := cfg.UnixPrecision
	if prec == "" {
		prec = UnixMilliseconds
	}
	return &TimestampConverter{part: part, field: cfg.Field, target: cfg.TargetType, format: f,
		precision: prec, replaceNull: !cfg.PreserveNulls}, nil
}

func timestampConverterFactory(part Part) TransformationFactory {
	return func(m map[string]string) (Transformation, error) {
		p := newProps(m)
		cfg := TimestampConverterConfig{
			Field:         p.str("field", ""),
			TargetType:    TimestampKind(p.required("target.type")),
			Format:        p.str("format", ""),
			UnixPrecision: UnixPrecision(p.str("unix.precision", "milliseconds")),
			PreserveNulls: !p.boolean("replace.null.with.default", true),
		}
		if cfg.UnixPrecision == "" { // present but empty: Kafka Connect's ValidString rejects it
			p.fail("unix.precision", "invalid value \"\": must be one of nanoseconds, microseconds, milliseconds, seconds")
		}
		if err := p.err(); err != nil {
			return nil, err
		}
		return NewTimestampConverter(cfg, part)
	}
}

const timestampPurpose = "converting timestamp formats"

var (
	optionalDateSchema = connect.DateBuilder().Optional().MustBuild()
	optionalTimeSchema = connect.TimeBuilder().Optional().MustBuild()
)

func (t *TimestampConverter) targetSchema(optional bool) *connect.Schema {
	switch t.target {
	case TimestampString:
		if optional {
			return connect.OptionalStringSchema
		}
		return connect.StringSchema
	case TimestampUnix:
		if optional {
			return connect.OptionalInt64Schema
		}
		return connect.Int64Schema
	case TimestampDate:
		if optional {
			return optionalDateSchema
		}
		return connect.DateSchema
	case TimestampTime:
		if optional {
			return optionalTimeSchema
		}
		return connect.TimeSchema
	}
	if optional {
		return optionalTimestampSchema
	}
	return connect.TimestampSchema
}

// Apply converts the timestamp.
func (t *TimestampConverter) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	schema, value := t.part.get(rec)
	if schema == nil {
		if value == nil || t.field == "" {
			v, err := t.convert(value, "")
			if err != nil {
				return nil, err
			}
			t.part.set(rec, nil, v)
			return rec, nil
		}
		if m, ok := value.(map[any]any); ok {
			// Any Map to Kafka Connect: a copy with the field converted
			// (the other keys kept).
			v, err := t.convert(m[t.field], "")
			if err != nil {
				return nil, err
			}
			out := maps.Clone(m)
			out[t.field] = v
			t.part.set(rec, nil, out)
			return rec, nil
		}
		m, err := requireMap(value, timestampPurpose)
		if err != nil {
			return nil, err
		}
		v, err := t.convert(m[t.field], "")
		if err != nil {
			return nil, err
		}
		out := maps.Clone(m)
		out[t.field] = v
		t.part.set(rec, nil, out)
		return rec, nil
	}
	if t.field == "" {
		kind, err := kindFromSchema(schema)
		if err != nil {
			return nil, err
		}
		v, err := t.convert(value, kind)
		if err != nil {
			return nil, err
		}
		t.part.set(rec, t.targetSchema(schema.Optional), v)
		return rec, nil
	}
	st, err := requireStructOrNull(value, timestampPurpose)
	if err != nil {
		return nil, err
	}
	updated, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	if st == nil {
		t.part.set(rec, updated, nil)
		return rec, nil
	}
	out, err := t.convertStruct(st, updated)
	if err != nil {
		return nil, err
	}
	t.part.set(rec, updated, out)
	return rec, nil
}

func (t *TimestampConverter) convertStruct(st *connect.Struct, updated *connect.Schema) (*connect.Struct, error) {
	out := connect.NewStruct(updated)
	in := st.Schema()
	for i := range in.Fields {
		f := &in.Fields[i]
		v := fieldValue(st, f, t.replaceNull)
		if f.Name == t.field {
			kind, err := kindFromSchema(f.Schema)
			if err != nil {
				return nil, err
			}
			if v, err = t.convert(v, kind); err != nil {
				return nil, err
			}
		}
		if i >= len(updated.Fields) || updated.Fields[i].Name != f.Name {
			return nil, fmt.Errorf("struct schema %s does not match the record schema", in)
		}
		if err := out.PutField(&updated.Fields[i], v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *TimestampConverter) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	if in.Type != connect.TypeStruct {
		return nil, fmt.Errorf("only Struct values supported for [%s], found schema %s", timestampPurpose, in)
	}
	b := copySchemaBasics(in, connect.StructBuilder())
	for _, f := range in.Fields {
		if f.Name == t.field {
			b.Field(f.Name, t.targetSchema(f.Schema.Optional))
		} else {
			b.Field(f.Name, f.Schema)
		}
	}
	if in.Optional {
		b.Optional()
	}
	s, err := b.Build()
	if err != nil || in.Default == nil {
		return s, err
	}
	def, ok := in.Default.(*connect.Struct)
	if !ok {
		return s, nil
	}
	// The default is a struct of the new schema itself; build it directly so
	// that it refers to the final schema.
	withDefault := *s
	d, err := t.convertStruct(def, &withDefault)
	if err != nil {
		return nil, fmt.Errorf("default value: %w", err)
	}
	withDefault.Default = d
	return &withDefault, nil
}

func kindFromSchema(s *connect.Schema) (TimestampKind, error) {
	switch {
	case s.Name == connect.TimestampName:
		return TimestampTimestamp, nil
	case s.Name == connect.DateName:
		return TimestampDate, nil
	case s.Name == connect.TimeName:
		return TimestampTime, nil
	case s.Type == connect.TypeString:
		return TimestampString, nil
	case s.Type == connect.TypeInt64:
		return TimestampUnix, nil
	}
	return "", fmt.Errorf("schema %s does not correspond to a known timestamp type format", s)
}

// convert converts v of representation kind ("" = infer from the Go type) to
// the target representation.
func (t *TimestampConverter) convert(v any, kind TimestampKind) (any, error) {
	if v == nil {
		return nil, nil
	}
	if kind == "" {
		switch v.(type) {
		case time.Time:
			kind = TimestampTimestamp
		case int64:
			kind = TimestampUnix
		case string:
			kind = TimestampString
		default:
			return nil, fmt.Errorf("TimestampConverter does not support %T objects as timestamps", v)
		}
	}
	raw, err := t.toRaw(v, kind)
	if err != nil {
		return nil, err
	}
	return t.fromRaw(raw), nil
}

// toRaw converts v to a UTC time with millisecond precision.
func (t *TimestampConverter) toRaw(v any, kind TimestampKind) (time.Time, error) {
	switch kind {
	case TimestampString:
		s, ok := v.(string)
		if !ok {
			return time.Time{}, fmt.Errorf("expected string timestamp to be a string, but found %T", v)
		}
		if t.format == nil {
			return time.Time{}, fmt.Errorf("TimestampConverter needs the format option to parse string timestamps")
		}
		tm, err := t.format.parse(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("could not parse timestamp: value (%s) does not match pattern (%s): %w", s, t.format.pattern, err)
		}
		return tm, nil
	case TimestampUnix:
		n, ok := v.(int64)
		if !ok {
			return time.Time{}, fmt.Errorf("expected Unix timestamp to be an int64, but found %T", v)
		}
		var ms int64
		switch t.precision {
		case UnixSeconds:
			ms = saturatingMul(n, 1000)
		case UnixMicroseconds:
			ms = n / 1000
		case UnixNanoseconds:
			ms = n / 1_000_000
		default:
			ms = n
		}
		return millisTime(ms), nil
	}
	tm, ok := v.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("expected %s to be a time.Time, but found %T", kind, v)
	}
	return millisTime(tm.UnixMilli()), nil
}

func (t *TimestampConverter) fromRaw(tm time.Time) any {
	switch t.target {
	case TimestampString:
		return t.format.format(tm)
	case TimestampUnix:
		ms := tm.UnixMilli()
		switch t.precision {
		case UnixSeconds:
			return ms / 1000
		case UnixMicroseconds:
			return saturatingMul(ms, 1000)
		case UnixNanoseconds:
			return saturatingMul(ms, 1_000_000)
		}
		return ms
	case TimestampDate:
		y, m, d := tm.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case TimestampTime:
		return time.Date(1970, 1, 1, tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
	}
	return tm
}

// saturatingMul is n*m clamped to the int64 range, as Java's TimeUnit
// conversions (SECONDS.toMillis, MILLISECONDS.toMicros/toNanos) clamp.
func saturatingMul(n, m int64) int64 {
	switch {
	case n > math.MaxInt64/m:
		return math.MaxInt64
	case n < math.MinInt64/m:
		return math.MinInt64
	}
	return n * m
}
