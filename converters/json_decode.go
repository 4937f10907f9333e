package converters

import (
	"encoding/base64"
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/internal/javavalues"

	"github.com/sluicehq/sluice/connect"
)

// synErr turns a scanner syntax error into a *DataError so that enclosing
// decoders can prefix the field path; other errors pass through.
func synErr(err error) error {
	if se, ok := err.(*syntaxError); ok {
		return &DataError{Converter: jsonName, Reason: se.Error(), Message: msgJSONToConnect}
	}
	return err
}

// snippet shortens a number literal for error messages.
func snippet(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:37]) + "..."
	}
	return string(raw)
}

func mismatch(s *connect.Schema, want string, got byte) error {
	err := jsonErr("expected %s for %s, got %s", want, describeSchema(s), kindOf(got))
	if k := kindOf(got); k == "end of input" || k == "invalid JSON" {
		// Not JSON at all: Kafka Connect's Jackson parse fails before
		// any schema is looked at.
		err.(*DataError).Message = msgJSONToConnect
	}
	return err
}

// nullValue is the value of a JSON null (or missing member) of schema s:
// the default (unless KeepNulls), nil if optional, else an error.
func (c *JSON) nullValue(s *connect.Schema) (any, error) {
	if s.Default != nil && c.replace {
		return s.Default, nil
	}
	if s.Optional {
		return nil, nil
	}
	return nil, jsonErr("null is not allowed for a required %s", describeSchema(s))
}

// decode reads one value of schema s (nil: schemaless) at the scanner's
// position, as Kafka Connect's JsonConverter.convertToConnect does.
func (c *JSON) decode(s *scanner, sch *connect.Schema) (any, error) {
	if sch == nil {
		return c.decodeSchemaless(s)
	}
	ch := s.peek()
	if ch == 'n' {
		if err := s.literal("null"); err != nil {
			return nil, synErr(err)
		}
		return c.nullValue(sch)
	}
	if connect.IsLogical(sch) {
		return c.decodeLogical(s, sch, ch)
	}
	switch sch.Type {
	case connect.TypeInt8:
		n, err := c.readInt(s, sch, ch, 8)
		if err != nil {
			return nil, err
		}
		return int8(n), nil
	case connect.TypeInt16:
		n, err := c.readInt(s, sch, ch, 16)
		if err != nil {
			return nil, err
		}
		return int16(n), nil
	case connect.TypeInt32:
		n, err := c.readInt(s, sch, ch, 32)
		if err != nil {
			return nil, err
		}
		return int32(n), nil
	case connect.TypeInt64:
		return c.readInt(s, sch, ch, 64)
	case connect.TypeFloat32:
		f, err := c.readFloat(s, sch, ch, 32)
		if err != nil {
			return nil, err
		}
		return float32(f), nil
	case connect.TypeFloat64:
		return c.readFloat(s, sch, ch, 64)
	case connect.TypeBoolean:
		switch ch {
		case 't':
			return true, synErr(s.literal("true"))
		case 'f':
			return false, synErr(s.literal("false"))
		}
		return nil, mismatch(sch, "true or false", ch)
	case connect.TypeString:
		if ch != '"' {
			return nil, mismatch(sch, "a string", ch)
		}
		str, err := s.readString()
		return str, synErr(err)
	case connect.TypeBytes:
		if ch != '"' {
			return nil, mismatch(sch, "a base64 string", ch)
		}
		return readBase64(s, sch)
	case connect.TypeArray:
		return c.decodeArray(s, sch, ch)
	case connect.TypeMap:
		return c.decodeMap(s, sch, ch)
	case connect.TypeStruct:
		return c.decodeStruct(s, sch, ch)
	}
	return nil, jsonErr("cannot convert to unknown schema type %s", sch.Type)
}

// parseIntBytes parses a JSON integer literal (validated by the scanner),
// reporting false when it does not fit an int64.
func parseIntBytes(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// readInt reads an integer that must fit in bits bits. Integral values
// written with a fraction or exponent ("12.0", "1e3") are accepted.
func (c *JSON) readInt(s *scanner, sch *connect.Schema, ch byte, bits int) (int64, error) {
	if ch != '-' && (ch < '0' || ch > '9') {
		return 0, mismatch(sch, "an integer", ch)
	}
	raw, integral, err := s.readNumber()
	if err != nil {
		return 0, synErr(err)
	}
	var (
		n  int64
		ok bool
	)
	if integral {
		n, ok = parseIntBytes(raw)
	} else {
		lit, parsed := javavalues.ParseLiteral(string(raw))
		if !parsed || !lit.IsInteger() {
			return 0, jsonErr("expected an integer for %s, got number %s", describeSchema(sch), snippet(raw))
		}
		n, ok = lit.Int64()
	}
	if ok && bits < 64 {
		lim := int64(1) << (bits - 1)
		ok = n >= -lim && n < lim
	}
	if !ok {
		return 0, jsonErr("number %s is out of range for %s", snippet(raw), describeSchema(sch))
	}
	return n, nil
}

// readFloat reads a number, or one of the strings "NaN", "Infinity",
// "-Infinity" that Jackson writes for the non-finite values.
func (c *JSON) readFloat(s *scanner, sch *connect.Schema, ch byte, bits int) (float64, error) {
	if ch == '"' {
		str, err := s.readString()
		if err != nil {
			return 0, synErr(err)
		}
		switch str {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return 0, jsonErr("expected a number for %s, got string %q", describeSchema(sch), str)
	}
	if ch != '-' && (ch < '0' || ch > '9') {
		return 0, mismatch(sch, "a number", ch)
	}
	raw, _, err := s.readNumber()
	if err != nil {
		return 0, synErr(err)
	}
	f, err := strconv.ParseFloat(string(raw), bits)
	if err != nil && math.IsInf(f, 0) {
		return 0, jsonErr("number %s is out of range for %s", snippet(raw), describeSchema(sch))
	}
	return f, nil
}

// readBase64 reads a base64 string (padded or not) into new bytes.
func readBase64(s *scanner, sch *connect.Schema) ([]byte, error) {
	return readBase64Into(nil, s, sch)
}

// readBase64Into is readBase64 decoding into buf when it is large enough
// (the result then aliases buf), else into new bytes.
func readBase64Into(buf []byte, s *scanner, sch *connect.Schema) ([]byte, error) {
	raw, plain, err := s.readStringRaw()
	if err != nil {
		return nil, synErr(err)
	}
	if !plain {
		raw = unescape(nil, raw)
	}
	enc := base64.StdEncoding
	if len(raw)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := buf
	if n := enc.DecodedLen(len(raw)); n <= len(buf) {
		out = buf[:n]
	} else {
		out = make([]byte, n)
	}
	n, err := enc.Decode(out, raw)
	if err != nil {
		return nil, jsonErr("expected a base64 string for %s: %v", describeSchema(sch), err)
	}
	return out[:n], nil
}

func (c *JSON) decodeLogical(s *scanner, sch *connect.Schema, ch byte) (any, error) {
	switch sch.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScaleOf(sch)
		if err != nil {
			return nil, jsonErr("%v", err)
		}
		switch {
		case ch == '"':
			var buf [16]byte
			b, err := readBase64Into(buf[:], s, sch)
			if err != nil {
				return nil, err
			}
			return connect.Decimal{Unscaled: fromTwosComplement(b), Scale: scale}, nil
		case ch == '-' || (ch >= '0' && ch <= '9'):
			raw, _, err := s.readNumber()
			if err != nil {
				return nil, synErr(err)
			}
			// Kafka Connect keeps the literal's own scale (new
			// BigDecimal(text)); Sluice's data model requires the schema's
			// (connect.ValidateValue), so the number is rescaled, exactly.
			lit, ok := javavalues.ParseLiteral(string(raw))
			d, ok2 := lit.Decimal(scale)
			if !ok || !ok2 {
				return nil, jsonErr("number %s does not fit a Decimal of scale %d without rounding", snippet(raw), scale)
			}
			return d, nil
		}
		return nil, mismatch(sch, "a base64 string or a number", ch)
	case connect.DateName, connect.TimeName:
		n, err := c.readInt(s, sch, ch, 32)
		if err != nil {
			return nil, err
		}
		if sch.Name == connect.DateName {
			return connect.DaysToDate(int32(n)), nil
		}
		if n < 0 || n > 24*60*60*1000 { // as Kafka Connect's Time.toLogical
			return nil, jsonErr("Time value %d is not a number of milliseconds within a day", n)
		}
		return connect.MillisToTime(int32(n)), nil
	default: // Timestamp
		n, err := c.readInt(s, sch, ch, 64)
		if err != nil {
			return nil, err
		}
		return connect.MillisToTimestamp(n), nil
	}
}

func (c *JSON) decodeArray(s *scanner, sch *connect.Schema, ch byte) (any, error) {
	if ch != '[' {
		return nil, mismatch(sch, "an array", ch)
	}
	empty, err := s.open('[', ']')
	if err != nil {
		return nil, synErr(err)
	}
	out := make([]any, 0, 4)
	if empty {
		return out, nil
	}
	for i := 0; ; i++ {
		v, err := c.decode(s, sch.ValueSchema)
		if err != nil {
			return nil, within(err, "["+strconv.Itoa(i)+"]")
		}
		out = append(out, v)
		more, err := s.next(']')
		if err != nil {
			return nil, synErr(err)
		}
		if !more {
			return out, nil
		}
	}
}

func (c *JSON) decodeMap(s *scanner, sch *connect.Schema, ch byte) (any, error) {
	if sch.KeySchema == nil || sch.ValueSchema == nil {
		return nil, jsonErr("map schema %s has no key or value schema", sch)
	}
	if sch.KeySchema.Type == connect.TypeString {
		if ch != '{' {
			return nil, jsonErr("expected an object for a MAP with STRING keys, got %s", kindOf(ch))
		}
		empty, err := s.open('{', '}')
		if err != nil {
			return nil, synErr(err)
		}
		m := make(map[string]any)
		if empty {
			return m, nil
		}
		for {
			k, err := s.memberKeyString()
			if err != nil {
				return nil, synErr(err)
			}
			v, err := c.decode(s, sch.ValueSchema)
			if err != nil {
				return nil, within(err, "{"+k+"}")
			}
			m[k] = v
			more, err := s.next('}')
			if err != nil {
				return nil, synErr(err)
			}
			if !more {
				return m, nil
			}
		}
	}
	if ch != '[' {
		return nil, jsonErr("expected an array of [key,value] pairs for a MAP with %s keys, got %s", sch.KeySchema.Type, kindOf(ch))
	}
	empty, err := s.open('[', ']')
	if err != nil {
		return nil, synErr(err)
	}
	m := make(map[any]any)
	if empty {
		return m, nil
	}
	for i := 0; ; i++ {
		k, v, err := c.decodePair(s, sch)
		if err != nil {
			return nil, within(err, "["+strconv.Itoa(i)+"]")
		}
		m[k] = v
		more, err := s.next(']')
		if err != nil {
			return nil, synErr(err)
		}
		if !more {
			return m, nil
		}
	}
}

// decodePair reads one [key,value] entry of a map with non-string keys.
func (c *JSON) decodePair(s *scanner, sch *connect.Schema) (k, v any, err error) {
	pairErr := func(got string) error {
		return jsonErr("expected a [key,value] pair for a map entry, got %s", got)
	}
	if ch := s.peek(); ch != '[' {
		return nil, nil, pairErr(kindOf(ch))
	}
	empty, err := s.open('[', ']')
	if err != nil {
		return nil, nil, synErr(err)
	}
	if empty {
		return nil, nil, pairErr("an empty array")
	}
	if k, err = c.decode(s, sch.KeySchema); err != nil {
		return nil, nil, within(err, "[0]")
	}
	switch k.(type) {
	case []byte, []any, map[string]any, map[any]any:
		return nil, nil, jsonErr("a map key of schema type %s cannot be held in a Go map", sch.KeySchema.Type)
	}
	if more, err := s.next(']'); err != nil || !more {
		if err != nil {
			return nil, nil, synErr(err)
		}
		return nil, nil, pairErr("an array of 1 element")
	}
	if v, err = c.decode(s, sch.ValueSchema); err != nil {
		return nil, nil, within(err, "[1]")
	}
	if more, err := s.next(']'); err != nil || more {
		if err != nil {
			return nil, nil, synErr(err)
		}
		return nil, nil, pairErr("an array of more than 2 elements")
	}
	return k, v, nil
}

func findField(sch *connect.Schema, key []byte, hint int) *connect.Field {
	if hint < len(sch.Fields) && sch.Fields[hint].Name == string(key) {
		return &sch.Fields[hint]
	}
	for i := range sch.Fields {
		if sch.Fields[i].Name == string(key) {
			return &sch.Fields[i]
		}
	}
	return nil
}

func (c *JSON) decodeStruct(s *scanner, sch *connect.Schema, ch byte) (any, error) {
	if ch != '{' {
		return nil, mismatch(sch, "an object", ch)
	}
	empty, err := s.open('{', '}')
	if err != nil {
		return nil, synErr(err)
	}
	st := connect.NewStruct(sch)
	if !empty {
		hint := 0
		for {
			key, err := s.memberKey()
			if err != nil {
				return nil, synErr(err)
			}
			if f := findField(sch, key, hint); f == nil {
				// Kafka Connect ignores members that are not fields.
				if _, err := s.skip(); err != nil {
					return nil, synErr(err)
				}
			} else {
				hint = f.Index + 1
				v, err := c.decode(s, f.Schema)
				if err != nil {
					return nil, within(err, f.Name)
				}
				if err := st.PutField(f, v); err != nil {
					return nil, within(jsonErr("%v", err), f.Name)
				}
			}
			more, err := s.next('}')
			if err != nil {
				return nil, synErr(err)
			}
			if !more {
				break
			}
		}
	}
	for i := range sch.Fields {
		if st.At(i) != nil {
			continue
		}
		f := &sch.Fields[i]
		v, err := c.nullValue(f.Schema)
		if err != nil {
			return nil, within(err, f.Name)
		}
		if v != nil {
			if err := st.PutField(f, v); err != nil {
				return nil, within(jsonErr("%v", err), f.Name)
			}
		}
	}
	return st, nil
}

// member is one member of a JSON object being read.
type member struct {
	k string
	v any
}

// decodeSchemaless reads a value without a schema: integers → int64, other
// numbers → float64, objects → map[string]any, arrays → []any.
func (c *JSON) decodeSchemaless(s *scanner) (any, error) {
	switch ch := s.peek(); ch {
	case '{':
		empty, err := s.open('{', '}')
		if err != nil {
			return nil, synErr(err)
		}
		if empty {
			return make(map[string]any), nil
		}
		// The members are collected first so that the map is made at its
		// final size (growing it costs allocations); a later duplicate
		// key wins, as before.
		var local [16]member
		ms := local[:0]
		for {
			k, err := s.memberKeyString()
			if err != nil {
				return nil, synErr(err)
			}
			v, err := c.decodeSchemaless(s)
			if err != nil {
				return nil, within(err, "{"+k+"}")
			}
			ms = append(ms, member{k, v})
			more, err := s.next('}')
			if err != nil {
				return nil, synErr(err)
			}
			if !more {
				break
			}
		}
		m := make(map[string]any, len(ms))
		for _, e := range ms {
			m[e.k] = e.v
		}
		return m, nil
	case '[':
		empty, err := s.open('[', ']')
		if err != nil {
			return nil, synErr(err)
		}
		out := make([]any, 0, 4)
		if empty {
			return out, nil
		}
		for i := 0; ; i++ {
			v, err := c.decodeSchemaless(s)
			if err != nil {
				return nil, within(err, "["+strconv.Itoa(i)+"]")
			}
			out = append(out, v)
			more, err := s.next(']')
			if err != nil {
				return nil, synErr(err)
			}
			if !more {
				return out, nil
			}
		}
	case '"':
		str, err := s.readString()
		return str, synErr(err)
	case 't':
		return true, synErr(s.literal("true"))
	case 'f':
		return false, synErr(s.literal("false"))
	case 'n':
		return nil, synErr(s.literal("null"))
	default:
		raw, integral, err := s.readNumber()
		if err != nil {
			return nil, synErr(err)
		}
		if integral {
			if n, ok := parseIntBytes(raw); ok {
				return n, nil
			}
			// Leading zeros (which Jackson reads) can make an int64
			// longer than parseIntBytes takes: Kafka Connect reads
			// 00000000000000000000 as the long 0.
			if lit, ok := javavalues.ParseLiteral(string(raw)); ok {
				if n, ok := lit.Int64(); ok {
					return n, nil
				}
			}
		} else if f, err := strconv.ParseFloat(string(raw), 64); err == nil || !math.IsInf(f, 0) {
			return f, nil
		}
		// Beyond int64 or float64: what a NUMERIC Decimal is written as.
		// Kafka Connect reads a truncated long or Infinity; Sluice keeps
		// the number exactly, as a connect.Decimal with its own scale
		// (which a schemaless write gives back as the same number).
		lit, ok := javavalues.ParseLiteral(string(raw))
		d, ok2 := lit.BigDecimal()
		if !ok || !ok2 {
			return nil, jsonErr("number %s is out of range", snippet(raw))
		}
		return d, nil
	}
}

// envelopeSchema reads the value of an envelope's "schema" member at s and
// returns the schema it describes (nil for null), parsing it on a cache
// miss. The text of the last schema read is tried first: a complete JSON
// object is delimited by its own bytes, so when the input starts with that
// text the value is that text, and a run of records with one schema is
// neither scanned nor hashed again.
func (c *JSON) envelopeSchema(s *scanner) (*connect.Schema, error) {
	if s.peek() == '{' {
		if e := c.lastSchema.Load(); e != nil {
			if rest := s.data[s.pos:]; len(rest) >= len(e.text) && string(rest[:len(e.text)]) == e.text {
				s.pos += len(e.text)
				return e.schema, nil
			}
		}
	}
	raw, err := s.skip()
	if err != nil {
		return nil, err
	}
	if string(raw) == "null" {
		return nil, nil
	}
	e, ok := c.toConnect.load(raw)
	if !ok {
		sc := scanner{data: raw, depth: 1}
		sch, _, err := c.parseSchema(&sc, "")
		if err != nil {
			return nil, synErr(err)
		}
		e = c.toConnect.store(raw, sch)
	}
	if raw[0] == '{' {
		c.lastSchema.Store(e)
	}
	return e.schema, nil
}

func schemaErr(where, format string, args ...any) error {
	e := jsonErr(format, args...).(*DataError)
	if where == "" {
		e.Reason = "invalid schema: " + e.Reason
	} else {
		e.Reason = "invalid schema at " + where + ": " + e.Reason
	}
	return e
}

// nestedSchema is a schema-valued member (items, keys, values) read
// eagerly; its error is kept and reported only if the schema's type uses
// the member, since Kafka Connect ignores members its type does not read.
type nestedSchema struct {
	present, null bool
	schema        *connect.Schema
	err           error
}

type fieldSchema struct {
	name   string
	schema *connect.Schema
}

// parseSchema reads a schema object at the scanner's position in one pass
// and builds it as Kafka Connect's JsonConverter.asConnectSchema does. It
// also returns the object's "field" member (the field name, for struct
// fields). where locates the schema for error messages. Malformed JSON is
// returned as a *syntaxError (not yet a *DataError) so that enclosing
// schemas stop at once.
func (c *JSON) parseSchema(sc *scanner, where string) (*connect.Schema, string, error) {
	if ch := sc.peek(); ch != '{' {
		if _, err := sc.skip(); err != nil {
			return nil, "", err
		}
		return nil, "", schemaErr(where, `expected an object with a "type", got %s`, kindOf(ch))
	}
	sub := func(member string) string {
		if where == "" {
			return member
		}
		return where + "." + member
	}
	var (
		typ, name, doc, field    string
		hasType, hasName, hasDoc bool
		optional                 bool
		version                  []byte
		def                      []byte
		defDepth                 int
		items, keys, values      nestedSchema
		fields                   []fieldSchema
		fieldsPresent, fieldsOK  bool
		fieldsErr, parametersErr error
		params                   connect.Parameters
		hasParams                bool
	)
	readNested := func(n *nestedSchema, member string) error {
		*n = nestedSchema{present: true}
		if sc.peek() == 'n' {
			n.null = true
			return sc.literal("null")
		}
		n.schema, _, n.err = c.parseSchema(sc, sub(member))
		if _, ok := n.err.(*syntaxError); ok {
			return n.err
		}
		return nil
	}
	stringOrSkip := func() (string, bool, error) {
		if sc.peek() == '"' {
			str, err := sc.readString()
			return str, err == nil, err
		}
		_, err := sc.skip()
		return "", false, err
	}
	empty, err := sc.open('{', '}')
	if err != nil {
		return nil, "", err
	}
	for !empty {
		kb, err := sc.memberKey()
		if err != nil {
			return nil, "", err
		}
		switch string(kb) {
		case "type":
			typ, hasType, err = stringOrSkip()
		case "name":
			name, hasName, err = stringOrSkip()
		case "doc":
			doc, hasDoc, err = stringOrSkip()
		case "field":
			field, _, err = stringOrSkip()
		case "optional":
			optional = sc.peek() == 't'
			_, err = sc.skip()
		case "version":
			version, err = sc.skip()
		case "default":
			defDepth = sc.depth
			def, err = sc.skip()
		case "items":
			err = readNested(&items, "items")
		case "keys":
			err = readNested(&keys, "keys")
		case "values":
			err = readNested(&values, "values")
		case "fields":
			fieldsPresent, fieldsOK, fieldsErr, fields = true, false, nil, nil
			if sc.peek() != '[' {
				_, err = sc.skip()
				break
			}
			fieldsOK = true
			var empty bool
			if empty, err = sc.open('[', ']'); err != nil {
				break
			}
			for i := 0; !empty && err == nil; i++ {
				fwhere := sub("fields[" + strconv.Itoa(i) + "]")
				fs, fname, ferr := c.parseSchema(sc, fwhere)
				if _, ok := ferr.(*syntaxError); ok {
					err = ferr
					break
				}
				switch {
				case ferr != nil:
					if fieldsErr == nil {
						fieldsErr = ferr
					}
				case fname == "":
					if fieldsErr == nil {
						fieldsErr = schemaErr(fwhere, `struct field has no "field" name`)
					}
				default:
					fields = append(fields, fieldSchema{fname, fs})
				}
				var more bool
				more, err = sc.next(']')
				empty = !more
			}
		case "parameters":
			hasParams, params, parametersErr = false, nil, nil
			if sc.peek() != '{' {
				_, err = sc.skip()
				break
			}
			hasParams = true
			var empty bool
			if empty, err = sc.open('{', '}'); err != nil {
				break
			}
			for !empty && err == nil {
				var pk []byte
				if pk, err = sc.memberKey(); err != nil {
					break
				}
				key := string(pk)
				if sc.peek() != '"' {
					if parametersErr == nil {
						parametersErr = schemaErr(where, "schema parameter %q must have a string value", key)
					}
					_, err = sc.skip()
				} else {
					var val string
					if val, err = sc.readString(); err == nil {
						params = append(params, connect.Parameter{Key: key, Value: val})
					}
				}
				if err == nil {
					var more bool
					more, err = sc.next('}')
					empty = !more
				}
			}
		default:
			_, err = sc.skip()
		}
		if err != nil {
			return nil, "", err
		}
		more, err := sc.next('}')
		if err != nil {
			return nil, "", err
		}
		empty = !more
	}

	if !hasType {
		return nil, "", schemaErr(where, `schema must contain a "type" string`)
	}
	nested := func(n nestedSchema, what string) (*connect.Schema, error) {
		switch {
		case !n.present || n.null:
			return nil, schemaErr(where, "%s schema did not specify the %s", typ, what)
		case n.err != nil:
			return nil, n.err
		}
		return n.schema, nil
	}
	var b *connect.SchemaBuilder
	switch typ {
	case "boolean":
		b = connect.NewSchemaBuilder(connect.TypeBoolean)
	case "int8":
		b = connect.NewSchemaBuilder(connect.TypeInt8)
	case "int16":
		b = connect.NewSchemaBuilder(connect.TypeInt16)
	case "int32":
		b = connect.NewSchemaBuilder(connect.TypeInt32)
	case "int64":
		b = connect.NewSchemaBuilder(connect.TypeInt64)
	case "float":
		b = connect.NewSchemaBuilder(connect.TypeFloat32)
	case "double":
		b = connect.NewSchemaBuilder(connect.TypeFloat64)
	case "bytes":
		b = connect.NewSchemaBuilder(connect.TypeBytes)
	case "string":
		b = connect.NewSchemaBuilder(connect.TypeString)
	case "array":
		elem, err := nested(items, "element type (items)")
		if err != nil {
			return nil, "", err
		}
		b = connect.ArrayBuilder(elem)
	case "map":
		k, err := nested(keys, "key type (keys)")
		if err != nil {
			return nil, "", err
		}
		v, err := nested(values, "value type (values)")
		if err != nil {
			return nil, "", err
		}
		b = connect.MapBuilder(k, v)
	case "struct":
		if !fieldsPresent || !fieldsOK {
			return nil, "", schemaErr(where, `struct schema's "fields" is not an array`)
		}
		if fieldsErr != nil {
			return nil, "", fieldsErr
		}
		b = connect.StructBuilder()
		for _, f := range fields {
			b.Field(f.name, f.schema)
		}
	default:
		return nil, "", schemaErr(where, "unknown schema type %q", typ)
	}
	if optional {
		b.Optional()
	}
	if hasName {
		b.Name(name)
	}
	if len(version) > 0 && (version[0] == '-' || (version[0] >= '0' && version[0] <= '9')) {
		vs := scanner{data: version}
		if raw, integral, err := vs.readNumber(); err == nil && integral {
			n, ok := parseIntBytes(raw)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				return nil, "", schemaErr(where, "version %s is out of range", snippet(raw))
			}
			b.Version(int32(n))
		}
	}
	if hasDoc {
		b.Doc(doc)
	}
	if parametersErr != nil {
		return nil, "", parametersErr
	}
	if hasParams {
		for _, p := range params {
			b.Parameter(p.Key, p.Value)
		}
	}
	s, err := b.Build()
	if err != nil {
		return nil, "", schemaErr(where, "%v", err)
	}
	if def != nil {
		ds := scanner{data: def, depth: defDepth}
		v, err := c.decode(&ds, s)
		if err != nil {
			if de, ok := err.(*DataError); ok {
				return nil, "", schemaErr(where, "default value: %s", de.Reason)
			}
			return nil, "", err
		}
		if v != nil {
			if s, err = connect.FromSchema(s).DefaultValue(v).Build(); err != nil {
				return nil, "", schemaErr(where, "%v", err)
			}
		}
	}
	return s, field, nil
}

// fromTwosComplement is javafmt.FromTwosComplement (big-endian two's
// complement bytes; empty is 0) with the result in a single allocation when
// it fits an int64, the common case.
func fromTwosComplement(b []byte) *big.Int {
	if len(b) > 8 {
		return javafmt.FromTwosComplement(b)
	}
	var v int64
	if len(b) > 0 && b[0]&0x80 != 0 {
		v = -1
	}
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return newBigInt64(v)
}

// smallBigInt is a big.Int with room for an int64's magnitude, allocated
// together.
type smallBigInt struct {
	i big.Int
	w [64 / bits.UintSize]big.Word
}

// newBigInt64 is big.NewInt(v) in one allocation instead of two.
func newBigInt64(v int64) *big.Int {
	p := new(smallBigInt)
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	for k := range p.w {
		p.w[k] = big.Word(u >> (k * bits.UintSize))
	}
	p.i.SetBits(p.w[:])
	if v < 0 {
		p.i.Neg(&p.i)
	}
	return &p.i
}
