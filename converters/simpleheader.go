package converters

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
)

// SimpleHeader is Kafka Connect's SimpleHeaderConverter, the default header
// converter: it writes header values as UTF-8 text (schemas are not written)
// and infers a schema when reading. It has no configuration and is safe for
// concurrent use.
//
// Writing renders values as Kafka Connect's Values.convertToString does:
// strings as they are; integers in decimal; floats as Java's
// Float.toString/Double.toString; bools as true/false; Decimals as
// BigDecimal.toString; bytes as base64; arrays as [a,b]; maps as {k:v}
// (entries sorted by key; Kafka Connect uses the map's iteration order);
// structs as {"field":value,…} with defaults applied; strings inside arrays,
// maps and structs quoted with \ and " escaped. Dates, times and timestamps
// use ISO 8601 in UTC: 2024-01-02, 03:04:05.678Z, 2024-01-02T03:04:05.678Z;
// the form follows the value's logical schema when there is one, and
// otherwise Kafka Connect's guess from the instant (a time of day on
// 1970-01-01 as a Time, a UTC midnight as a Date, anything else as a
// Timestamp — Kafka Connect also prints instants before 1970 as times of day,
// Sluice as timestamps). A nil value yields nil bytes.
//
// Reading implements this subset of Kafka Connect's Values.parseString:
//   - nil data → nil value, nil schema; "" → "" with STRING; "null" → nil.
//   - "true", "false" → BOOLEAN.
//   - Integers (also "1.0", "1e3") → the smallest of INT8, INT16, INT32,
//     INT64 that holds them, as Kafka Connect does; larger integers →
//     Decimal with scale 0.
//   - Other numbers → FLOAT32 when float32 represents the literal exactly
//     (its shortest form reads back as the same decimal), else FLOAT64, else
//     (beyond the float64 range) Decimal with the literal's scale. Kafka
//     Connect returns FLOAT32 for every finite fraction, losing precision.
//   - 2024-01-02 → Date, 03:04:05.678Z → Time, 2024-01-02T03:04:05.678Z →
//     Timestamp (UTC).
//   - Anything else, including array and map literals ([1,2], {"a":1}) that
//     Kafka Connect would parse, → the whole text as STRING. A number is only
//     recognised when it is the whole (trimmed) text: Kafka Connect reads
//     "1,2" as the INT8 1, Sluice as the string "1,2".
//   - Data that is not valid UTF-8 → a copy of the bytes with BYTES (Kafka
//     Connect would decode it lossily).
//
// Reading never fails.
type SimpleHeader struct{}

var _ HeaderConverter = (*SimpleHeader)(nil)

// NewSimpleHeader returns a SimpleHeaderConverter.
func NewSimpleHeader() *SimpleHeader { return &SimpleHeader{} }

const simpleHeaderName = "SimpleHeaderConverter"

// FromConnectHeader renders value as text (see the type's doc). It fails
// only for Go types outside the Connect model, or values that do not match
// their logical schema.
func (c *SimpleHeader) FromConnectHeader(_ context.Context, _, _ string, schema *connect.Schema, value any) ([]byte, error) {
	if value == nil {
		return nil, nil
	}
	b, err := appendValuesString(make([]byte, 0, 16), schema, value, false, 0)
	if err != nil {
		return nil, &DataError{Converter: simpleHeaderName, Reason: err.Error()}
	}
	return b, nil
}

// ToConnectHeader infers the schema and value of a header (see the type's
// doc). It never fails; the value never aliases data.
func (c *SimpleHeader) ToConnectHeader(_ context.Context, _, _ string, data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{}, nil
	}
	if !utf8.Valid(data) {
		return connect.SchemaAndValue{Schema: connect.BytesSchema, Value: append(make([]byte, 0, len(data)), data...)}, nil
	}
	return ParseHeaderString(string(data)), nil
}

const (
	isoDate      = "2006-01-02"
	isoTime      = "15:04:05.000Z"
	isoTimestamp = "2006-01-02T15:04:05.000Z"
	msPerDay     = 24 * 60 * 60 * 1000
)

// appendValuesString renders v as Kafka Connect's Values.convertToString
// (embedded: inside an array, map or struct).
func appendValuesString(dst []byte, s *connect.Schema, v any, embedded bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		if !embedded {
			return append(dst, x...), nil
		}
		dst = append(dst, '"')
		for i := 0; i < len(x); i++ {
			if x[i] == '\\' || x[i] == '"' {
				dst = append(dst, '\\')
			}
			dst = append(dst, x[i])
		}
		return append(dst, '"'), nil
	case []byte:
		if embedded {
			dst = append(dst, '"')
		}
		dst = base64.StdEncoding.AppendEncode(dst, x)
		if embedded {
			dst = append(dst, '"')
		}
		return dst, nil
	case time.Time:
		layout := isoTimestamp
		switch {
		case s != nil && s.Name == connect.DateName:
			layout = isoDate
		case s != nil && s.Name == connect.TimeName:
			layout = isoTime
		case s != nil && s.Name == connect.TimestampName:
		default:
			ms := x.UnixMilli()
			if ms >= 0 && ms < msPerDay {
				layout = isoTime
			} else if ms%msPerDay == 0 {
				layout = isoDate
			}
		}
		return x.UTC().AppendFormat(dst, layout), nil
	case []any:
		var elem *connect.Schema
		if s != nil && s.Type == connect.TypeArray {
			elem = s.ValueSchema
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValuesString(dst, elem, e, true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		var ks, vs *connect.Schema
		if s != nil && s.Type == connect.TypeMap {
			ks, vs = s.KeySchema, s.ValueSchema
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValuesString(dst, ks, k, true, depth+1); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = appendValuesString(dst, vs, x[k], true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case map[any]any:
		var ks, vs *connect.Schema
		if s != nil && s.Type == connect.TypeMap {
			ks, vs = s.KeySchema, s.ValueSchema
		}
		dst = append(dst, '{')
		for i, e := range sortedAnyEntries(x) {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValuesString(dst, ks, e.key, true, depth+1); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = appendValuesString(dst, vs, e.val, true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case *connect.Struct:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, f := range x.Schema().Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst, _ = appendValuesString(dst, nil, f.Name, true, depth+1)
			dst = append(dst, ':')
			fv := x.At(i)
			if fv == nil {
				fv = f.Schema.Default
			}
			if dst, err = appendValuesString(dst, f.Schema, fv, true, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	// Numbers, bools and Decimals render as Java's toString.
	return appendJavaString(dst, v, depth)
}

// ParseHeaderString infers a schema and value from the text of a header, as
// SimpleHeader's reading does (see SimpleHeader for the supported subset of
// Kafka Connect's Values.parseString). It never fails: text that is nothing
// else is a STRING.
func ParseHeaderString(str string) connect.SchemaAndValue {
	if str == "" {
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: str}
	}
	tok := strings.TrimFunc(str, func(r rune) bool { return r <= ' ' })
	switch tok {
	case "null":
		return connect.SchemaAndValue{}
	case "true":
		return connect.SchemaAndValue{Schema: connect.BooleanSchema, Value: true}
	case "false":
		return connect.SchemaAndValue{Schema: connect.BooleanSchema, Value: false}
	}
	if tok == "" {
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: str}
	}
	first := tok[0]
	if first >= '0' && first <= '9' {
		if sv, ok := parseTemporal(tok); ok {
			return sv
		}
	}
	if (first >= '0' && first <= '9') || first == '+' || first == '-' {
		if sv, ok := parseNumber(tok); ok {
			return sv
		}
	}
	return connect.SchemaAndValue{Schema: connect.StringSchema, Value: str}
}

func parseTemporal(tok string) (connect.SchemaAndValue, bool) {
	switch len(tok) {
	case len(isoTimestamp):
		if t, err := time.Parse(isoTimestamp, tok); err == nil {
			return connect.SchemaAndValue{Schema: connect.TimestampSchema, Value: t.UTC()}, true
		}
	case len(isoTime):
		if t, err := time.Parse(isoTime, tok); err == nil {
			ms := ((t.Hour()*60+t.Minute())*60+t.Second())*1000 + t.Nanosecond()/1e6
			return connect.SchemaAndValue{Schema: connect.TimeSchema, Value: connect.MillisToTime(int32(ms))}, true
		}
	case len(isoDate):
		if t, err := time.Parse(isoDate, tok); err == nil {
			days := t.Unix() / 86400
			if days >= math.MinInt32 && days <= math.MaxInt32 {
				return connect.SchemaAndValue{Schema: connect.DateSchema, Value: connect.DaysToDate(int32(days))}, true
			}
		}
	}
	return connect.SchemaAndValue{}, false
}

func parseNumber(tok string) (connect.SchemaAndValue, bool) {
	lit, ok := parseDecimalLiteral(tok)
	if !ok {
		return connect.SchemaAndValue{}, false
	}
	if lit.isInteger() {
		if n, ok := lit.int64Value(); ok {
			switch {
			case n >= math.MinInt8 && n <= math.MaxInt8:
				return connect.SchemaAndValue{Schema: connect.Int8Schema, Value: int8(n)}, true
			case n >= math.MinInt16 && n <= math.MaxInt16:
				return connect.SchemaAndValue{Schema: connect.Int16Schema, Value: int16(n)}, true
			case n >= math.MinInt32 && n <= math.MaxInt32:
				return connect.SchemaAndValue{Schema: connect.Int32Schema, Value: int32(n)}, true
			}
			return connect.SchemaAndValue{Schema: connect.Int64Schema, Value: n}, true
		}
	}
	if lit.scale != 0 {
		if f, err := strconv.ParseFloat(tok, 32); err == nil && !math.IsInf(f, 0) && sameDecimal(lit, strconv.FormatFloat(f, 'e', -1, 32)) {
			return connect.SchemaAndValue{Schema: connect.Float32Schema, Value: float32(f)}, true
		}
		if f, err := strconv.ParseFloat(tok, 64); err == nil && !math.IsInf(f, 0) && (f != 0 || lit.digits == "") {
			return connect.SchemaAndValue{Schema: connect.Float64Schema, Value: f}, true
		}
	}
	d, ok := lit.bigDecimal()
	if !ok {
		return connect.SchemaAndValue{}, false
	}
	return connect.SchemaAndValue{Schema: connect.DecimalSchema(d.Scale), Value: d}, true
}

// sameDecimal reports whether the number literal other denotes the same
// value as lit.
func sameDecimal(lit decimalLiteral, other string) bool {
	o, ok := parseDecimalLiteral(other)
	if !ok {
		return false
	}
	a, b := lit.normalized(), o.normalized()
	return a == b
}

// normalized strips trailing zeros so that equal values compare equal.
func (d decimalLiteral) normalized() decimalLiteral {
	if d.digits == "" {
		return decimalLiteral{}
	}
	i := len(d.digits)
	for i > 0 && d.digits[i-1] == '0' {
		i--
	}
	d.scale -= int64(len(d.digits) - i)
	d.digits = d.digits[:i]
	return d
}
