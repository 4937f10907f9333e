package converters

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/boundedmap"
)

// JSON property names, as Kafka Connect's JsonConverterConfig.
const (
	PropSchemasEnable          = "schemas.enable"
	PropSchemasCacheSize       = "schemas.cache.size"
	PropDecimalFormat          = "decimal.format"
	PropReplaceNullWithDefault = "replace.null.with.default"
)

// DefaultSchemasCacheSize is Kafka Connect's default schemas.cache.size.
const DefaultSchemasCacheSize = 1000

// DecimalFormat selects how the JSON converter writes Decimal values
// (decimal.format).
type DecimalFormat string

// Decimal formats. Reading accepts both, whatever the configured format.
const (
	// DecimalBase64 writes the unscaled value's two's-complement bytes as a
	// base64 string ("AN4=" for 2.22 at scale 2), Kafka Connect's default.
	DecimalBase64 DecimalFormat = "BASE64"
	// DecimalNumeric writes a JSON number ("2.22"), formatted as Java's
	// BigDecimal.toString does (so large or small magnitudes use exponent
	// notation, e.g. "1E-7").
	DecimalNumeric DecimalFormat = "NUMERIC"
)

// JSONConfig configures the JSON converter. Its zero value means Kafka
// Connect's defaults: schemas.enable=true, decimal.format=BASE64,
// replace.null.with.default=true, schemas.cache.size=1000. That is why the
// two booleans are phrased negatively: SchemasDisabled is
// schemas.enable=false and KeepNulls is replace.null.with.default=false.
type JSONConfig struct {
	// SchemasDisabled writes and reads plain JSON (schemas.enable=false)
	// instead of the {"schema":…,"payload":…} envelope.
	SchemasDisabled bool
	// DecimalFormat is decimal.format; "" means DecimalBase64. Matched
	// case-insensitively, as Kafka Connect does.
	DecimalFormat DecimalFormat
	// KeepNulls is replace.null.with.default=false: a null value whose
	// schema has a default stays null (it must then be optional) instead of
	// being replaced by the default, when writing and when reading.
	KeepNulls bool
	// SchemasCacheSize bounds each of the converter's two schema caches
	// (schemas.cache.size); 0 means DefaultSchemasCacheSize, and a negative
	// value the smallest cache (one schema each way: Kafka Connect accepts
	// schemas.cache.size=0 or below and then caches nothing, which changes
	// nothing in the output).
	SchemasCacheSize int
}

// Validate reports the first invalid field as a *ConfigError naming the
// Kafka Connect property.
func (c JSONConfig) Validate() error {
	if _, ok := normalizeDecimalFormat(c.DecimalFormat); !ok {
		return &ConfigError{Key: PropDecimalFormat, Value: string(c.DecimalFormat), Reason: "want BASE64 or NUMERIC"}
	}
	return nil
}

func normalizeDecimalFormat(f DecimalFormat) (DecimalFormat, bool) {
	switch strings.ToUpper(strings.TrimSpace(string(f))) {
	case "", string(DecimalBase64):
		return DecimalBase64, true
	case string(DecimalNumeric):
		return DecimalNumeric, true
	}
	return f, false
}

// JSONConfigFromProps reads the Kafka Connect properties of a JsonConverter
// (schemas.enable, decimal.format, replace.null.with.default,
// schemas.cache.size; without the key.converter./value.converter. prefix).
// Missing properties take Kafka Connect's defaults; unknown properties are
// ignored. A bad value yields a *ConfigError naming the property.
func JSONConfigFromProps(props map[string]string) (JSONConfig, error) {
	var c JSONConfig
	enable, err := propBool(props, PropSchemasEnable, true)
	if err != nil {
		return c, err
	}
	c.SchemasDisabled = !enable
	replace, err := propBool(props, PropReplaceNullWithDefault, true)
	if err != nil {
		return c, err
	}
	c.KeepNulls = !replace
	if v, ok := props[PropDecimalFormat]; ok {
		f, ok := normalizeDecimalFormat(DecimalFormat(v))
		if !ok || strings.TrimSpace(v) == "" {
			return c, &ConfigError{Key: PropDecimalFormat, Value: v, Reason: "want BASE64 or NUMERIC"}
		}
		c.DecimalFormat = f
	}
	if v, ok := props[PropSchemasCacheSize]; ok {
		// Any INT, as Kafka Connect's ConfigDef: 0 and below disable its
		// cache; Sluice keeps its smallest one.
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return c, &ConfigError{Key: PropSchemasCacheSize, Value: v, Reason: "want an integer"}
		}
		c.SchemasCacheSize = int(n)
		if n <= 0 {
			c.SchemasCacheSize = -1
		}
	} else {
		c.SchemasCacheSize = DefaultSchemasCacheSize
	}
	return c, nil
}

// Props returns the Kafka Connect property form of c, every property
// spelled out.
func (c JSONConfig) Props() map[string]string {
	f, _ := normalizeDecimalFormat(c.DecimalFormat)
	size := c.SchemasCacheSize
	if size == 0 {
		size = DefaultSchemasCacheSize
	}
	return map[string]string{
		PropSchemasEnable:          strconv.FormatBool(!c.SchemasDisabled),
		PropDecimalFormat:          string(f),
		PropReplaceNullWithDefault: strconv.FormatBool(!c.KeepNulls),
		PropSchemasCacheSize:       strconv.Itoa(size),
	}
}

// JSON is Kafka Connect's JsonConverter: it writes Connect data as JSON,
// by default wrapped in the {"schema":…,"payload":…} envelope, byte for
// byte as Kafka Connect does, and reads such JSON back. It is a Converter and
// a HeaderConverter (headers are converted like values). A JSON is safe for
// concurrent use; it caches schema translations in both directions (bounded
// by schemas.cache.size).
//
// Writing (FromConnect):
//   - A nil value with a nil or optional schema is a tombstone: nil bytes,
//     as the Converter contract requires. (Kafka Connect writes an envelope
//     with a null payload for a nil value with a non-nil schema.)
//   - The envelope's schema is compact JSON with fields in Kafka Connect's
//     order: type; items (array), keys and values (map) or fields (struct,
//     each a field schema with "field":"<name>" last); optional (always);
//     name, version, doc, parameters, default when set. A name or doc of ""
//     and a version of 0 are unset in connect.Schema, so they are not
//     written (Kafka Connect writes a schema built with them as
//     "name":"","version":0,"doc":"", and reads them back so).
//   - Values: integers as JSON integers; floats as Java's Float.toString /
//     Double.toString print them ("1.0E10", "0.1", "1.0"), NaN and the
//     infinities as the strings "NaN", "Infinity", "-Infinity" (what Jackson
//     writes); strings escaped as Jackson does (controls as \uXXXX or \n
//     etc., characters outside the BMP as their surrogate pair's escapes,
//     "\uD83D\uDE00"); bytes and BASE64 Decimals (at the schema's scale) as
//     base64 strings; NUMERIC Decimals as numbers, at whatever scale they
//     have; Date, Time and Timestamp as integers (days, ms of day, ms
//     since the epoch); structs as objects in field order; maps with STRING
//     keys as objects, other maps as arrays of [key,value] pairs. Map
//     entries are sorted by key so output is deterministic (Kafka Connect
//     uses HashMap order).
//   - A nil value of a schema with a default is written as the default,
//     unless KeepNulls.
//   - Schemaless values (nil schema) may be the Connect Go types and also
//     int, uint, uint8 … uint64; maps whose keys are all strings become
//     objects, other maps arrays of pairs; a *connect.Struct is written with
//     its own schema. Unlike Kafka Connect, which rejects them without a
//     schema, a connect.Decimal is written as a JSON number (a base64 string
//     would lose the scale) and a time.Time as epoch milliseconds.
//
// Reading (ToConnect):
//   - nil data is a null: SchemaAndValue{}. Empty or all-whitespace data is
//     a null too without schemas, and (as in Kafka Connect) an envelope
//     error with them.
//   - With schemas enabled, the data must be an object with exactly the
//     members "schema" and "payload"; a null schema means a schemaless
//     payload. Values take the exact Go types of the schema (int8 … int64,
//     connect.Decimal, time.Time, *connect.Struct, map[string]any for STRING
//     keys and map[any]any otherwise); a null or missing value of a schema
//     with a default becomes the default unless KeepNulls. Integers that do
//     not fit the schema type, and fractions for integer types, are an
//     error (Kafka Connect silently truncates: 300 is the INT8 44, 1.5 the
//     INT32 1); integral values written with a fraction or exponent ("12.0",
//     "1e3") are accepted. A number beyond the FLOAT32/FLOAT64 range is an
//     error (Kafka Connect reads Infinity). A NUMERIC Decimal is rescaled to
//     the schema's scale, and is an error if that would drop digits (Kafka
//     Connect keeps the number's own scale; a Sluice Decimal value has its
//     schema's scale).
//   - Schemaless JSON reads as: integers → int64, other numbers → float64,
//     objects → map[string]any, arrays → []any, strings, bools, nil. An
//     integer beyond the int64 range, or a number beyond the float64 range
//     (what Kafka Connect writes for a NUMERIC Decimal), reads as an exact
//     connect.Decimal with the number's own scale (Kafka Connect silently
//     truncates the integer to a long and reads the other as Infinity).
//   - As Kafka Connect's Jackson, a UTF-8 byte order mark before the
//     document is skipped and numbers may have leading zeros ("007" is 7).
//   - Malformed JSON, trailing data after the value, nesting deeper than
//     1000 levels and numbers longer than 1000 characters are errors. (Kafka
//     Connect ignores whatever follows the first JSON value, "1 2" reads as
//     1; Sluice refuses it rather than drop data silently.)
//
// All data errors are *DataError values naming the field path.
type JSON struct {
	schemas bool
	numeric bool
	replace bool
	cfg     JSONConfig

	// toJSON maps a *connect.Schema to its precomputed envelope prefix.
	toJSON *boundedmap.Map[*connect.Schema, *encodedSchema]
	// toConnect maps schema JSON text (by hash) to the parsed schema;
	// lastSchema is the entry of the last schema read.
	toConnect  *schemaTextCache
	lastSchema atomic.Pointer[schemaText]
	// hint is the last output size of schemaless writes, to size buffers.
	hint atomic.Int64
}

// encodedSchema is the cached envelope prefix of one schema,
// {"schema":<schema JSON>,"payload":, and the plan of its values.
type encodedSchema struct {
	prefix []byte
	plan   *valuePlan
	hint   atomic.Int64
}

var (
	_ Converter       = (*JSON)(nil)
	_ HeaderConverter = (*JSON)(nil)
)

// NewJSON returns a JSON converter configured by cfg (whose zero value means
// Kafka Connect's defaults). It fails only if cfg.Validate fails.
func NewJSON(cfg JSONConfig) (*JSON, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.DecimalFormat, _ = normalizeDecimalFormat(cfg.DecimalFormat)
	if cfg.SchemasCacheSize == 0 {
		cfg.SchemasCacheSize = DefaultSchemasCacheSize
	}
	return &JSON{
		schemas:   !cfg.SchemasDisabled,
		numeric:   cfg.DecimalFormat == DecimalNumeric,
		replace:   !cfg.KeepNulls,
		cfg:       cfg,
		toJSON:    boundedmap.New[*connect.Schema, *encodedSchema](cfg.SchemasCacheSize),
		toConnect: newSchemaTextCache(cfg.SchemasCacheSize),
	}, nil
}

// Config returns the converter's configuration, defaults filled in.
func (c *JSON) Config() JSONConfig { return c.cfg }

const jsonName = "JsonConverter"

func jsonErr(format string, args ...any) error {
	return dataErr(jsonName, format, args...)
}

// FromConnect serialises value of schema as JSON (see the type's doc). It
// adds no headers. Errors are *DataError values naming the offending field.
func (c *JSON) FromConnect(_ context.Context, _ string, _ *connect.Headers, schema *connect.Schema, value any) ([]byte, error) {
	return c.fromConnect(schema, value)
}

// FromConnectHeader serialises a header value exactly as FromConnect
// serialises a record value.
func (c *JSON) FromConnectHeader(_ context.Context, _, _ string, schema *connect.Schema, value any) ([]byte, error) {
	return c.fromConnect(schema, value)
}

// HeadersIgnored implements HeadersIgnorer: ToConnect does not read
// its headers.
func (c *JSON) HeadersIgnored() bool { return true }

// ToConnect deserialises JSON (see the type's doc). The result never aliases
// data, but the strings of one record (values and map keys) may share one
// copy of the record's text, at most 4 KiB of it, instead of one allocation
// each: a string kept long after its record keeps that copy alive
// (strings.Clone it if that matters). Errors are *DataError values; with schemas enabled, data without the
// envelope yields Kafka Connect's error that suggests schemas.enable=false.
func (c *JSON) ToConnect(_ context.Context, _ string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	return c.toConnectData(data)
}

// ToConnectHeader deserialises a header value exactly as ToConnect
// deserialises a record value.
func (c *JSON) ToConnectHeader(_ context.Context, _, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.toConnectData(data)
}

func (c *JSON) fromConnect(schema *connect.Schema, value any) ([]byte, error) {
	if value == nil && schema == nil {
		// Kafka Connect: only a null value without a schema is a tombstone;
		// with a schema the envelope (or plain "null") is written.
		return nil, nil
	}
	var (
		buf []byte
		err error
	)
	switch {
	case !c.schemas && schema == nil:
		buf = make([]byte, 0, max(c.hint.Load(), 64))
		if buf, err = c.appendSchemaless(buf, value, 0); err != nil {
			return nil, err
		}
		growHint(&c.hint, len(buf))
	case !c.schemas:
		e, err := c.encodedSchema(schema)
		if err != nil {
			return nil, err
		}
		buf = make([]byte, 0, max(e.hint.Load(), 64))
		if buf, err = c.appendValue(buf, schema, e.plan, value, 0); err != nil {
			return nil, err
		}
		growHint(&e.hint, len(buf))
	case schema == nil:
		buf = make([]byte, 0, max(c.hint.Load(), int64(len(nullEnvelopePrefix))+64))
		buf = append(buf, nullEnvelopePrefix...)
		if buf, err = c.appendSchemaless(buf, value, 0); err != nil {
			return nil, err
		}
		buf = append(buf, '}')
		growHint(&c.hint, len(buf))
	default:
		e, err := c.encodedSchema(schema)
		if err != nil {
			return nil, err
		}
		buf = make([]byte, 0, max(e.hint.Load(), int64(len(e.prefix))+64))
		buf = append(buf, e.prefix...)
		if buf, err = c.appendValue(buf, schema, e.plan, value, 0); err != nil {
			return nil, err
		}
		buf = append(buf, '}')
		growHint(&e.hint, len(buf))
	}
	return buf, nil
}

const nullEnvelopePrefix = `{"schema":null,"payload":`

// growHint raises a buffer-size hint (the capacity to allocate for the next
// output) when an output of n bytes did not fit it; it never lowers it, so
// steady traffic causes no writes to the shared hint. The slack (1/32,
// at least 16 bytes) is small because the output is the record's value
// as the producer keeps it until acknowledged: every spare byte is held
// per record in flight. (The allocator rounds up to its size class.)
func growHint(h *atomic.Int64, n int) {
	if int64(n) > h.Load() {
		h.Store(int64(n) + max(int64(n)/32, 16))
	}
}

// encodedSchema returns the cached envelope prefix for schema, computing it
// on first use.
func (c *JSON) encodedSchema(schema *connect.Schema) (*encodedSchema, error) {
	if e, ok := c.toJSON.Load(schema); ok {
		return e, nil
	}
	b := append(make([]byte, 0, 256), `{"schema":`...)
	b, err := c.appendSchema(b, schema, "", false, 0)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"payload":`...)
	e := &encodedSchema{prefix: b, plan: buildPlan(schema, 0)}
	c.toJSON.Store(schema, e)
	return e, nil
}

// SchemaJSON returns the JSON form of schema as it appears in the envelope
// (nil schema: "null"). It is exposed for tools and tests that compare
// schemas with Kafka Connect's; the converter itself caches this per schema.
func (c *JSON) SchemaJSON(schema *connect.Schema) ([]byte, error) {
	if schema == nil {
		return []byte("null"), nil
	}
	return c.appendSchema(nil, schema, "", false, 0)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// jacksonTranscode returns data as UTF-8 without a byte order mark,
// detecting its encoding as Jackson's ByteSourceJsonBootstrapper does: a
// UTF-32/UTF-16/UTF-8 byte order mark, else zero bytes among the first
// four (UTF-32 big/little endian) or two (UTF-16), else UTF-8. UTF-16 is
// decoded as Java does (malformed input becomes U+FFFD); UTF-32 code points
// beyond U+10FFFF or surrogates are an error, as in Jackson's UTF32Reader.
func jacksonTranscode(data []byte) ([]byte, error) {
	var enc string
	if len(data) >= 4 {
		quad := binary.BigEndian.Uint32(data)
		switch {
		case quad == 0x0000FEFF:
			enc, data = "UTF-32BE", data[4:]
		case quad == 0xFFFE0000:
			enc, data = "UTF-32LE", data[4:]
		case quad == 0x0000FFFE || quad == 0xFEFF0000:
			return nil, errors.New("unsupported UCS-4 byte order (2143 or 3412)")
		case quad>>16 == 0xFEFF:
			enc, data = "UTF-16BE", data[2:]
		case quad>>16 == 0xFFFE:
			enc, data = "UTF-16LE", data[2:]
		case quad>>8 == 0xEFBBBF:
			return data[3:], nil
		case quad>>8 == 0:
			enc = "UTF-32BE"
		case quad&0x00FFFFFF == 0:
			enc = "UTF-32LE"
		case quad&^0x00FF0000 == 0 || quad&^0x0000FF00 == 0:
			return nil, errors.New("unsupported UCS-4 byte order (2143 or 3412)")
		case quad>>24 == 0:
			enc = "UTF-16BE"
		case quad&0x00FF0000 == 0:
			enc = "UTF-16LE"
		}
	} else if len(data) >= 2 {
		switch {
		case data[0] == 0:
			enc = "UTF-16BE"
		case data[1] == 0:
			enc = "UTF-16LE"
		}
	}
	switch enc {
	case "":
		return bytes.TrimPrefix(data, utf8BOM), nil
	case "UTF-16BE":
		return []byte(charsetUTF16BE.decode(data)), nil
	case "UTF-16LE":
		return []byte(charsetUTF16LE.decode(data)), nil
	}
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("%s data of %d bytes is not a whole number of characters", enc, len(data))
	}
	out := make([]byte, 0, len(data)/2)
	for i := 0; i < len(data); i += 4 {
		var cp uint32
		if enc == "UTF-32BE" {
			cp = binary.BigEndian.Uint32(data[i:])
		} else {
			cp = binary.LittleEndian.Uint32(data[i:])
		}
		if cp > unicode.MaxRune || (cp >= 0xD800 && cp <= 0xDFFF) {
			return nil, fmt.Errorf("invalid %s character 0x%X at byte %d", enc, cp, i)
		}
		out = utf8.AppendRune(out, rune(cp))
	}
	return out, nil
}

// envelopeError is Kafka Connect's message for data without the envelope.
const envelopeError = `JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`

func (c *JSON) toConnectData(data []byte) (connect.SchemaAndValue, error) {
	// Jackson skips a UTF-8 byte order mark before the document.
	if data == nil {
		return connect.SchemaAndValue{}, nil
	}
	data, err := jacksonTranscode(data)
	if err != nil {
		return connect.SchemaAndValue{}, &DataError{Converter: jsonName, Reason: err.Error(), Message: msgJSONToConnect}
	}
	s := scanner{data: data}
	if s.eof() {
		// Kafka Connect: no JSON value is a null, which the envelope
		// check refuses.
		if c.schemas {
			return connect.SchemaAndValue{}, &DataError{Converter: jsonName, Reason: envelopeError, Message: envelopeError}
		}
		return connect.SchemaAndValue{}, nil
	}
	s.share = true
	if !c.schemas {
		start := s.pos // after whitespace (s.eof)
		v, err := c.decodeSchemaless(&s)
		if err != nil {
			return connect.SchemaAndValue{}, synErr(err)
		}
		if err := s.rootNumberEnd(start); err != nil {
			return connect.SchemaAndValue{}, synErr(err)
		}
		if s.trailingValue() {
			return connect.SchemaAndValue{}, synErr(s.errf("unexpected data after the JSON value"))
		}
		return connect.SchemaAndValue{Value: v}, nil
	}
	sv, err := c.readEnvelope(&s)
	if err != nil {
		return connect.SchemaAndValue{}, synErr(err)
	}
	return sv, nil
}

// readEnvelope reads {"schema":…,"payload":…}. When the schema comes first
// (as every Kafka Connect writer does) the payload is decoded in the same
// pass; otherwise its text is kept and decoded once the schema is known.
func (c *JSON) readEnvelope(s *scanner) (connect.SchemaAndValue, error) {
	// Kafka Connect parses the JSON before looking for the envelope, so
	// malformed JSON is reported as such even when it is not an envelope.
	notEnvelope := func() error {
		v := scanner{data: s.data}
		v.ws()
		start := v.pos
		if _, err := v.skip(); err != nil {
			return err
		}
		if err := v.rootNumberEnd(start); err != nil {
			return err
		}
		if v.trailingValue() {
			return v.errf("unexpected data after the JSON value")
		}
		return &DataError{Converter: jsonName, Reason: envelopeError, Message: envelopeError}
	}
	if s.peek() != '{' {
		return connect.SchemaAndValue{}, notEnvelope()
	}
	empty, err := s.open('{', '}')
	if err != nil {
		return connect.SchemaAndValue{}, err
	}
	if empty {
		return connect.SchemaAndValue{}, notEnvelope()
	}
	var (
		haveSchema, havePayload bool
		schema                  *connect.Schema
		payload                 []byte
		value                   any
	)
	for {
		key, err := s.memberKey()
		if err != nil {
			return connect.SchemaAndValue{}, err
		}
		switch string(key) {
		case "schema":
			if haveSchema {
				return connect.SchemaAndValue{}, notEnvelope()
			}
			haveSchema = true
			if schema, err = c.envelopeSchema(s); err != nil {
				return connect.SchemaAndValue{}, err
			}
		case "payload":
			if havePayload {
				return connect.SchemaAndValue{}, notEnvelope()
			}
			havePayload = true
			if haveSchema {
				if value, err = c.decode(s, schema); err != nil {
					return connect.SchemaAndValue{}, err
				}
			} else if payload, err = s.skip(); err != nil {
				return connect.SchemaAndValue{}, err
			}
		default:
			return connect.SchemaAndValue{}, notEnvelope()
		}
		more, err := s.next('}')
		if err != nil {
			return connect.SchemaAndValue{}, err
		}
		if !more {
			break
		}
	}
	if !haveSchema || !havePayload {
		return connect.SchemaAndValue{}, notEnvelope()
	}
	if s.trailingValue() {
		return connect.SchemaAndValue{}, s.errf("unexpected data after the JSON value")
	}
	if payload != nil {
		ps := scanner{data: payload, depth: 1, share: true}
		if value, err = c.decode(&ps, schema); err != nil {
			return connect.SchemaAndValue{}, err
		}
	}
	return connect.SchemaAndValue{Schema: schema, Value: value}, nil
}
