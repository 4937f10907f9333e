package converters

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/sluicehq/sluice/internal/javavalues"
	"time"

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
// are formatted in UTC in the form Kafka Connect picks from the instant,
// whatever the schema (Values.dateFormatFor): before 1970-01-02 as a time
// of day (1970-01-01 and every earlier instant: "00:00:00.000Z",
// "23:59:59.999Z"), at a later UTC midnight as a date ("2024-01-02"), else as
// a timestamp ("2024-01-02T03:04:05.678Z"). A nil value yields nil bytes.
//
// Reading is Kafka Connect 4.3.1's Values.parseString, ported (see
// ParseHeaderString): nil data → nil value and schema; "" → "" with STRING;
// "null" → nil; "true"/"false" → BOOLEAN; numbers → the smallest of INT8 …
// INT64 for integral values ("1.0", "5E3" too), FLOAT32 for other values
// float32 holds without overflow (rounded, as Kafka Connect does), then
// FLOAT64, then a Decimal; a number ends at a delimiter, so "1,2" is the
// INT8 1; yyyy-MM-dd, HH:mm:ss.SSS'Z' and yyyy-MM-dd'T'HH:mm:ss.SSS'Z' →
// Date, Time, Timestamp, parsed leniently as Java's SimpleDateFormat does
// ("24:00:00.000Z" is 86400000 ms, "2024-13-02" is 2025-01-02, dates before
// 1582-10-15 are Julian); [..] and {..} literals → ARRAY and MAP with the
// element schema merged as Kafka Connect merges it (numbers widen; no
// common schema gives an ARRAY or MAP schema without element, key or value
// schema, as Kafka Connect's); anything else → the whole text as STRING.
// Data that is not valid UTF-8 is decoded as Kafka Connect decodes it (each
// malformed sequence becomes one U+FFFD, as Java 17's String constructor
// replaces it) and that text is parsed. Sluice differs where Go cannot hold
// Kafka Connect's value: a map literal with a list or map as key.
// Numbers and dates may use any BMP decimal digit ("١٢٣" is the INT8 123),
// as Java's Character.digit reads them.
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
	// Kafka Connect: new String(data, UTF_8), then Values.parseString;
	// data that is not valid UTF-8 is decoded with U+FFFD replacements,
	// exactly as Java 17 does (decodeJavaUTF8), as StringConverter reads it.
	return ParseHeaderString(decodeJavaUTF8(data)), nil
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
		// Values.dateFormatFor: the form follows the instant, whatever the
		// schema: before 1970-01-02 a time of day, then a date at UTC
		// midnight, else a timestamp. Instants from 1970-01-02 on are the
		// same in Java's hybrid calendar and Go's proleptic Gregorian one.
		ms := x.UnixMilli()
		switch {
		case ms < msPerDay:
			return x.UTC().AppendFormat(dst, isoTime), nil
		case ms%msPerDay == 0:
			return x.UTC().AppendFormat(dst, isoDate), nil
		}
		return x.UTC().AppendFormat(dst, isoTimestamp), nil
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

// ParseHeaderString infers a schema and value from the text of a header as
// Kafka Connect 4.3.1's Values.parseString does (see SimpleHeader); it is
// also the parser of InsertHeader-style literals. It never fails: text that
// is nothing else is a STRING with the whole text; "null" is
// SchemaAndValue{}.
func ParseHeaderString(str string) connect.SchemaAndValue { return javavalues.Parse(str) }
