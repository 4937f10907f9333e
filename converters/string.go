package converters

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/internal/javavalues"

	"github.com/sluicehq/sluice/connect"
)

// PropConverterEncoding is the StringConverter's character-set property.
const PropConverterEncoding = "converter.encoding"

// String is Kafka Connect's StringConverter. Its encoding
// (converter.encoding, see StringFromProps) is UTF-8 unless configured as
// UTF-16, UTF-16BE, UTF-16LE, ISO-8859-1 or US-ASCII. It is a Converter and
// a HeaderConverter and is safe for concurrent use.
//
// Reading yields a string with connect.OptionalStringSchema; nil data yields
// a nil value with that schema. Every encoding decodes as Java's new
// String(data, charset) does: malformed input becomes U+FFFD (for UTF-8 one
// U+FFFD per malformed sequence, as Java delimits them), so the value equals
// Kafka Connect's. Writing
// encodes the text as Java's String.getBytes does (characters the encoding
// lacks become '?'; "UTF-16" starts with a byte order mark).
//
// Writing ignores the schema, as Kafka Connect does, and renders the value
// with javaString, which follows Java's toString where Kafka Connect relies
// on it: strings as they are; integers in decimal; float32/float64 as
// Float.toString/Double.toString ("1.0E10"); bools as true/false;
// connect.Decimal as BigDecimal.toString; []any as "[a, b]"; maps as
// "{k=v, k2=v2}" (keys sorted); *connect.Struct as "Struct{a=1,b=x}";
// time.Time as java.util.Date.toString in a JVM whose time zone is UTC,
// "Tue Jan 02 03:04:05 UTC 2024" (Julian calendar before 1582-10-15, as
// Java's; milliseconds are not printed, as in Java). Where Java's output is
// useless Sluice differs: []byte is written verbatim (Java: "[B@1b6d3586").
// A nil value yields nil bytes.
type String struct{ enc charset }

var (
	_ Converter       = (*String)(nil)
	_ HeaderConverter = (*String)(nil)
)

// NewString returns a UTF-8 string converter.
func NewString() *String { return &String{} }

// StringFromProps builds a String converter from Kafka Connect properties:
// converter.encoding may be absent (UTF-8) or name, by Java's name or one of
// its aliases in any case, UTF-8, UTF-16, UTF-16BE, UTF-16LE, ISO-8859-1
// ("latin1") or US-ASCII ("ascii"). Other encodings, which Kafka Connect may
// accept, yield a *ConfigError.
func StringFromProps(props map[string]string) (*String, error) {
	if v, ok := props[PropConverterEncoding]; ok {
		enc, ok := lookupCharset(v)
		if !ok {
			return nil, &ConfigError{Key: PropConverterEncoding, Value: v, Reason: "want UTF-8, UTF-16, UTF-16BE, UTF-16LE, ISO-8859-1 or US-ASCII"}
		}
		return &String{enc: enc}, nil
	}
	return NewString(), nil
}

// FromConnect writes value's string form (see the type's doc). It fails only
// for values with no string form (Go types outside the Connect model).
func (c *String) FromConnect(_ context.Context, _ string, _ *connect.Headers, _ *connect.Schema, value any) ([]byte, error) {
	return c.stringBytes(value)
}

// FromConnectHeader is FromConnect for a header value.
func (c *String) FromConnectHeader(_ context.Context, _, _ string, _ *connect.Schema, value any) ([]byte, error) {
	return c.stringBytes(value)
}

// HeadersIgnored implements HeadersIgnorer: ToConnect does not read
// its headers.
func (c *String) HeadersIgnored() bool { return true }

// ToConnect returns data as a string with connect.OptionalStringSchema. It
// never fails.
func (c *String) ToConnect(_ context.Context, _ string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	return c.readString(data), nil
}

// ToConnectHeader is ToConnect for a header value.
func (c *String) ToConnectHeader(_ context.Context, _, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.readString(data), nil
}

func (c *String) readString(data []byte) connect.SchemaAndValue {
	if data == nil {
		return connect.SchemaAndValue{Schema: connect.OptionalStringSchema}
	}
	return connect.SchemaAndValue{Schema: connect.OptionalStringSchema, Value: c.enc.decode(data)}
}

func (c *String) stringBytes(value any) ([]byte, error) {
	switch v := value.(type) {
	case nil:
		return nil, nil
	case string:
		if c.enc == charsetUTF8 {
			return []byte(v), nil
		}
		return c.enc.encode(v), nil
	case []byte:
		return v, nil
	}
	b, err := appendJavaString(nil, value, 0)
	if err != nil {
		return nil, &DataError{Converter: "StringConverter", Reason: err.Error(), Message: msgStringFrom}
	}
	if c.enc != charsetUTF8 {
		b = c.enc.encode(string(b))
	}
	return b, nil
}

// appendJavaString appends v rendered as Java's toString would render the
// corresponding Java value (see String).
func appendJavaString(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	if b, ok := appendInteger(dst, v); ok {
		return b, nil
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return append(dst, x...), nil
	case []byte:
		return append(dst, x...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float32:
		return javafmt.AppendFloat(dst, float64(x), 32), nil
	case float64:
		return javafmt.AppendFloat(dst, x, 64), nil
	case connect.Decimal:
		return javafmt.AppendBigDecimal(dst, x.Unscaled, x.Scale), nil
	case time.Time:
		return appendJavaDate(dst, x), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendJavaString(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, k...)
			dst = append(dst, '=')
			if dst, err = appendJavaString(dst, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case map[any]any:
		dst = append(dst, '{')
		for i, e := range sortedAnyEntries(x) {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = appendJavaString(dst, e.key, depth+1); err != nil {
				return nil, err
			}
			dst = append(dst, '=')
			if dst, err = appendJavaString(dst, e.val, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case *connect.Struct:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, "Struct{"...)
		first := true
		for i, f := range x.Schema().Fields {
			fv := x.At(i)
			if fv == nil {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.Name...)
			dst = append(dst, '=')
			if dst, err = appendJavaString(dst, fv, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("value of Go type %T has no Connect type", v)
}

// appendJavaDate appends t as java.util.Date.toString prints it in a JVM
// whose default time zone is UTC: "Thu Jan 01 00:00:00 UTC 1970", with the
// fields of Java's hybrid calendar (Julian before 1582-10-15) and, before
// year 1, the year of the BC era (no era is printed, as in Java).
func appendJavaDate(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	days := javavalues.FloorDiv(ms, msPerDay)
	sod := (ms - days*msPerDay) / 1000
	y, m, d := javavalues.HybridDate(days)
	if y <= 0 {
		y = 1 - y
	}
	wd := (days%7 + 11) % 7 // 1970-01-01 was a Thursday (4)
	dst = append(dst, "SunMonTueWedThuFriSat"[wd*3:wd*3+3]...)
	dst = append(dst, ' ')
	dst = append(dst, "JanFebMarAprMayJunJulAugSepOctNovDec"[(m-1)*3:(m-1)*3+3]...)
	dst = append(dst, ' ', byte('0'+d/10), byte('0'+d%10), ' ')
	for i, v := range [3]int64{sod / 3600, sod / 60 % 60, sod % 60} {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, byte('0'+v/10), byte('0'+v%10))
	}
	dst = append(dst, " UTC "...)
	return strconv.AppendInt(dst, y, 10)
}
