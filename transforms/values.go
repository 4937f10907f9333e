package transforms

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
)

// This file ports Kafka Connect's Values.parseString (connect-api 4.3.1,
// org.apache.kafka.connect.data.Values: Parser, ValueParser, SchemaMerger
// and the convertTo calls that align array and map entries), which types
// InsertHeader's value.literal. The structure follows the Java code so that
// the two can be compared line by line.

// parsedValue is a SchemaAndValue; a nil *parsedValue is Java's null.
type parsedValue struct {
	schema *connect.Schema
	value  any
}

// errParse is Values' DataException: a literal that is not an array or a
// map after all falls back to a string.
var errParse = errors.New("values: unable to parse")

// parseValuesString is Values.parseString: it never fails; nil means the
// literal is null (no schema, no value).
func parseValuesString(s string) *parsedValue {
	if s == "" {
		return &parsedValue{connect.StringSchema, s}
	}
	p := &valueParser{s: s}
	v, err := p.parse(false)
	if err != nil { // cannot happen at the top level; be safe
		return &parsedValue{connect.StringSchema, s}
	}
	return v
}

// valueParser is Values.Parser and Values.ValueParser in one. Positions are
// byte offsets: every delimiter is ASCII.
type valueParser struct {
	s       string
	pos     int
	nextTok string
	hasNext bool // nextTok holds a token read ahead
	prevTok string
}

func (p *valueParser) mark() int {
	if p.hasNext {
		return p.pos - len(p.nextTok)
	}
	return p.pos
}

func (p *valueParser) rewindTo(pos int) {
	p.pos, p.hasNext, p.nextTok, p.prevTok = pos, false, "", ""
}

func (p *valueParser) more() bool { return p.hasNext || p.pos < len(p.s) }

func (p *valueParser) next() string {
	if p.hasNext {
		p.prevTok, p.hasNext, p.nextTok = p.nextTok, false, ""
	} else {
		p.prevTok = p.consumeToken()
	}
	return p.prevTok
}

// nextN is Parser.next(int): the text of the next n tokens, or false (and
// no tokens consumed) when there are fewer.
func (p *valueParser) nextN(n int) (string, bool) {
	start := p.mark()
	for range n {
		if !p.more() {
			p.rewindTo(start)
			return "", false
		}
		p.next()
	}
	return p.s[start:p.pos], true
}

func (p *valueParser) consumeToken() string {
	escaped := false
	start := p.pos
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; c {
		case '\\':
			escaped = !escaped
		case ':', ',', '{', '}', '[', ']', '"':
			if !escaped {
				if start < p.pos {
					return p.s[start:p.pos]
				}
				p.pos++
				return p.s[start : start+1]
			}
			escaped = false
		default:
			escaped = false
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *valueParser) canConsume(expected string) bool {
	if !p.hasNext {
		if !p.more() {
			return false
		}
		p.nextTok, p.hasNext = p.consumeToken(), true
	}
	for isBlank(p.nextTok) && p.pos < len(p.s) {
		p.nextTok = p.consumeToken()
	}
	if javaTrim(p.nextTok) == expected {
		p.hasNext, p.nextTok = false, ""
		return true
	}
	return false
}

func isBlank(s string) bool { return javaTrim(s) == "" }

func (p *valueParser) canParseSingleTokenLiteral(embedded bool, lit string) bool {
	start := p.mark()
	if p.canConsume(lit) && (embedded || !p.more()) {
		return true
	}
	p.rewindTo(start)
	return false
}

var (
	trueValue  = &parsedValue{connect.BooleanSchema, true}
	falseValue = &parsedValue{connect.BooleanSchema, false}
)

func (p *valueParser) parse(embedded bool) (*parsedValue, error) {
	switch {
	case !p.more():
		return nil, nil
	case embedded && p.canConsume(`"`):
		return p.parseQuotedString(), nil
	case p.canParseSingleTokenLiteral(embedded, "null"):
		return nil, nil
	case p.canParseSingleTokenLiteral(embedded, "true"):
		return trueValue, nil
	case p.canParseSingleTokenLiteral(embedded, "false"):
		return falseValue, nil
	}
	start := p.mark()
	if p.canConsume("[") {
		if v, err := p.parseArray(); err == nil {
			return v, nil
		}
		p.rewindTo(start)
	} else if p.canConsume("{") {
		if v, err := p.parseMap(); err == nil {
			return v, nil
		}
		p.rewindTo(start)
	}
	tok := p.next()
	if isBlank(tok) {
		return &parsedValue{connect.StringSchema, tok}, nil
	}
	return p.parseNextToken(embedded, javaTrim(tok))
}

func (p *valueParser) parseNextToken(embedded bool, tok string) (*parsedValue, error) {
	first, _ := utf8.DecodeRuneInString(tok)
	digit := isJavaDigit(first)
	if digit {
		if v := p.parseMultipleTokensAsTemporal(tok); v != nil {
			return v, nil
		}
	}
	if digit || first == '+' || first == '-' {
		if v := parseAsNumber(tok); v != nil {
			return v, nil
		}
	}
	if embedded {
		return nil, errParse
	}
	return &parsedValue{connect.StringSchema, p.s}, nil
}

func (p *valueParser) parseQuotedString() *parsedValue {
	var sb strings.Builder
	for p.more() {
		if p.canConsume(`"`) {
			break
		}
		sb.WriteString(p.next())
	}
	content := sb.String()
	if v := parseAsTemporal(content); v != nil {
		return v
	}
	return &parsedValue{connect.StringSchema, content}
}

func (p *valueParser) parseArray() (*parsedValue, error) {
	var result []any
	var merger schemaMerger
	for p.more() {
		if p.canConsume("]") {
			if merger.common == nil {
				if result == nil {
					result = []any{}
				}
				return &parsedValue{&connect.Schema{Type: connect.TypeArray}, result}, nil
			}
			listSchema := &connect.Schema{Type: connect.TypeArray, ValueSchema: merger.common}
			for i, e := range result {
				c, err := convertParsedTo(merger.common, e)
				if err != nil {
					return nil, err
				}
				result[i] = c
			}
			return &parsedValue{listSchema, result}, nil
		}
		if p.canConsume(",") {
			return nil, errParse
		}
		elem, err := p.parse(true)
		if err != nil {
			return nil, err
		}
		merger.merge(elem)
		if elem != nil {
			result = append(result, elem.value)
		} else {
			result = append(result, nil)
		}
		pos := p.mark()
		if p.canConsume("]") {
			p.rewindTo(pos)
		} else if !p.canConsume(",") {
			return nil, errParse
		}
	}
	return nil, errParse
}

type mapEntry struct{ k, v any }

func (p *valueParser) parseMap() (*parsedValue, error) {
	var entries []mapEntry
	var keys, values schemaMerger
	for p.more() {
		if p.canConsume("}") {
			return buildParsedMap(entries, keys.common, values.common)
		}
		if p.canConsume(",") {
			return nil, errParse
		}
		key, err := p.parse(true)
		if err != nil {
			return nil, err
		}
		if key == nil || key.value == nil || !p.canConsume(":") {
			return nil, errParse
		}
		val, err := p.parse(true)
		if err != nil {
			return nil, err
		}
		var v any
		if val != nil {
			v = val.value
		}
		// LinkedHashMap.put: a repeated key keeps its place, takes the value.
		replaced := false
		for i := range entries {
			if valuesKeyEqual(entries[i].k, key.value) {
				entries[i].v, replaced = v, true
				break
			}
		}
		if !replaced {
			entries = append(entries, mapEntry{key.value, v})
		}
		p.canConsume(",")
		keys.merge(key)
		values.merge(val)
	}
	return nil, errParse
}

// buildParsedMap aligns the entries with the common schemas, as
// alignMapKeysAndValuesWithSchema / alignMapKeysWithSchema do, and builds
// the Go map: map[string]any for STRING keys, else map[any]any. (Keys that
// are arrays or maps, which Go maps cannot hold, fail: the literal stays a
// string.)
func buildParsedMap(entries []mapEntry, keySchema, valueSchema *connect.Schema) (*parsedValue, error) {
	schema := &connect.Schema{Type: connect.TypeMap}
	if keySchema != nil {
		schema.KeySchema = keySchema
		if valueSchema != nil {
			schema.ValueSchema = valueSchema
		}
		for i := range entries {
			k, err := convertParsedTo(keySchema, entries[i].k)
			if err != nil {
				return nil, err
			}
			entries[i].k = k
			if valueSchema != nil {
				v, err := convertParsedTo(valueSchema, entries[i].v)
				if err != nil {
					return nil, err
				}
				entries[i].v = v
			}
		}
	}
	if keySchema != nil && keySchema.Type == connect.TypeString {
		m := make(map[string]any, len(entries))
		for _, e := range entries {
			m[e.k.(string)] = e.v
		}
		return &parsedValue{schema, m}, nil
	}
	if len(entries) == 0 {
		return &parsedValue{schema, map[string]any{}}, nil
	}
	m := make(map[any]any, len(entries))
	for _, e := range entries {
		switch e.k.(type) {
		case []any, map[string]any, map[any]any:
			return nil, errParse
		}
		m[e.k] = e.v
	}
	return &parsedValue{schema, m}, nil
}

func valuesKeyEqual(a, b any) bool { return connect.ValuesEqual(a, b) }

func (p *valueParser) parseMultipleTokensAsTemporal(tok string) *parsedValue {
	pos := p.mark()
	if rest, ok := p.nextN(4); ok {
		if v := parseAsTemporal(tok + rest); v != nil {
			return v
		}
	}
	p.rewindTo(pos)
	return parseAsTemporal(tok)
}

// parseAsNumber is ValueParser.parseAsNumber: new BigDecimal(token), then the
// narrowest exact integer, else FLOAT32, FLOAT64 (when the scale is not 0
// and the value is finite) or a Decimal.
func parseAsNumber(tok string) *parsedValue {
	unscaled, scale, ok := parseJavaBigDecimal(tok)
	if !ok {
		return nil
	}
	if v := parseAsExactDecimal(unscaled, scale); v != nil {
		return v
	}
	if scale != 0 {
		text := unscaled.String() + "e" + strconv.FormatInt(-int64(scale), 10)
		if f, _ := strconv.ParseFloat(text, 32); !math.IsInf(f, 0) {
			return &parsedValue{connect.Float32Schema, float32(f)}
		}
		if f, _ := strconv.ParseFloat(text, 64); !math.IsInf(f, 0) {
			return &parsedValue{connect.Float64Schema, f}
		}
	}
	return &parsedValue{connect.DecimalSchema(scale), connect.Decimal{Unscaled: unscaled, Scale: scale}}
}

var (
	bigTen       = big.NewInt(10)
	biggerThanLg = new(big.Rat).SetInt(new(big.Int).Exp(bigTen, big.NewInt(19), nil))
	ratOne       = big.NewRat(1, 1)
)

func parseAsExactDecimal(unscaled *big.Int, scale int32) *parsedValue {
	if unscaled.Sign() != 0 {
		// Rough magnitude first, so that 1e-2000000000 costs nothing.
		mag := int64(len(new(big.Int).Abs(unscaled).String())) - int64(scale)
		if mag > 21 || mag < -1 {
			return nil
		}
		abs := new(big.Rat).SetFrac(new(big.Int).Abs(unscaled), big.NewInt(1))
		if scale > 0 {
			abs.Quo(abs, new(big.Rat).SetInt(new(big.Int).Exp(bigTen, big.NewInt(int64(scale)), nil)))
		} else if scale < 0 {
			abs.Mul(abs, new(big.Rat).SetInt(new(big.Int).Exp(bigTen, big.NewInt(int64(-scale)), nil)))
		}
		if abs.Cmp(biggerThanLg) > 0 || abs.Cmp(ratOne) < 0 {
			return nil
		}
	}
	// isWholeNumber: zero, scale <= 0, or no fraction once trailing zeros go.
	u, s := new(big.Int).Set(unscaled), int64(scale)
	if u.Sign() == 0 {
		s = 0
	}
	r := new(big.Int)
	for s > 0 {
		q, m := new(big.Int).QuoRem(u, bigTen, r)
		if m.Sign() != 0 {
			break
		}
		u, s = q, s-1
	}
	if s > 0 {
		return nil
	}
	for ; s < 0; s++ {
		u.Mul(u, bigTen)
	}
	if !u.IsInt64() {
		return nil
	}
	n := u.Int64()
	switch {
	case n == int64(int8(n)):
		return &parsedValue{connect.Int8Schema, int8(n)}
	case n == int64(int16(n)):
		return &parsedValue{connect.Int16Schema, int16(n)}
	case n == int64(int32(n)):
		return &parsedValue{connect.Int32Schema, int32(n)}
	}
	return &parsedValue{connect.Int64Schema, n}
}

// parseJavaBigDecimal parses like new BigDecimal(String): an optional sign,
// digits (any Unicode decimal digit, as Character.digit) with an optional
// point and at least one digit, an optional exponent; nothing else.
func parseJavaBigDecimal(s string) (*big.Int, int32, bool) {
	i := 0
	var digits []byte
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	frac, seenPoint := 0, false
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if d, ok := javaDigit(r); ok {
			digits = append(digits, byte('0'+d))
			if seenPoint {
				frac++
			}
			i += n
			continue
		}
		if r == '.' && !seenPoint {
			seenPoint = true
			i++
			continue
		}
		break
	}
	if len(digits) == 0 {
		return nil, 0, false
	}
	exp := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		n := 0
		for i < len(s) {
			r, w := utf8.DecodeRuneInString(s[i:])
			d, ok := javaDigit(r)
			if !ok {
				break
			}
			exp = exp*10 + int64(d)
			if exp > math.MaxInt32+int64(len(digits))+1 {
				return nil, 0, false
			}
			i += w
			n++
		}
		if n == 0 {
			return nil, 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return nil, 0, false
	}
	scale := int64(frac) - exp
	if scale > math.MaxInt32 || scale < math.MinInt32 {
		return nil, 0, false
	}
	u, _ := new(big.Int).SetString(string(digits), 10)
	if neg {
		u.Neg(u)
	}
	return u, int32(scale), true
}

// isJavaDigit is Character.isDigit of a String's first char (a UTF-16 unit:
// digits outside the BMP do not count).
func isJavaDigit(r rune) bool { return r < 0x10000 && unicode.IsDigit(r) }

// javaDigit is Character.digit(r, 10) for decimal digits: every Unicode Nd
// range is a run of tens starting at a zero.
func javaDigit(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

// The ISO 8601 patterns of Values and their lengths in UTF-16 units.
const (
	isoDateLen      = len("yyyy-MM-dd")
	isoTimeLen      = len("HH:mm:ss.SSSZ")
	isoTimestampLen = len("yyyy-MM-ddTHH:mm:ss.SSSZ")
)

// parseAsTemporal is ValueParser.parseAsTemporal: by length, a Time, a
// Timestamp or a Date, parsed as a lenient SimpleDateFormat parses (fields
// roll over, text after the pattern is ignored). The JVM's default time zone
// is taken to be UTC.
func parseAsTemporal(tok string) *parsedValue {
	tok = strings.ReplaceAll(tok, `\:`, ":")
	switch utf16Len(tok) {
	case isoTimeLen:
		if ms, ok := lenientParse(tok, timeFields); ok {
			return &parsedValue{connect.TimeSchema, time.UnixMilli(ms).UTC()}
		}
	case isoTimestampLen:
		if ms, ok := lenientParse(tok, timestampFields); ok {
			return &parsedValue{connect.TimestampSchema, time.UnixMilli(ms).UTC()}
		}
	case isoDateLen:
		if ms, ok := lenientParse(tok, dateFields); ok {
			return &parsedValue{connect.DateSchema, time.UnixMilli(ms).UTC()}
		}
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// A pattern element: a numeric field (letter) or a literal byte.
type patElem struct {
	field byte // y M d H m s S, or 0 for the literal
	lit   byte
}

var (
	dateFields = []patElem{{field: 'y'}, {lit: '-'}, {field: 'M'}, {lit: '-'}, {field: 'd'}}
	timeFields = []patElem{{field: 'H'}, {lit: ':'}, {field: 'm'}, {lit: ':'}, {field: 's'}, {lit: '.'},
		{field: 'S'}, {lit: 'Z'}}
	timestampFields = append(append(append([]patElem(nil), dateFields...), patElem{lit: 'T'}), timeFields...)
)

// lenientParse parses s with one of the ISO patterns as SimpleDateFormat
// does: each number may be preceded by spaces or tabs and a minus sign and
// has any number of digits; literals must match; what follows is ignored.
// The fields then go through a lenient GregorianCalendar (UTC).
func lenientParse(s string, pat []patElem) (int64, bool) {
	f := map[byte]int64{'y': 1970, 'M': 1, 'd': 1}
	i := 0
	for _, e := range pat {
		if e.field == 0 {
			if i >= len(s) || s[i] != e.lit {
				return 0, false
			}
			i++
			continue
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		neg := false
		if i < len(s) && s[i] == '-' {
			neg = true
			i++
		}
		var v int64
		n := 0
		for i < len(s) {
			r, w := utf8.DecodeRuneInString(s[i:])
			d, ok := javaDigit(r)
			if !ok {
				break
			}
			v = v*10 + int64(d)
			if v > math.MaxInt64/100 {
				return 0, false
			}
			i += w
			n++
		}
		if n == 0 {
			return 0, false
		}
		if neg {
			v = -v
		}
		f[e.field] = int64(int32(v)) // Number.intValue
	}
	day := javaEpochDay(f['y'], f['M']-1, f['d'])
	tod := ((f['H']*60+f['m'])*60+f['s'])*1000 + f['S']
	return day*86400000 + tod, true
}

// schemaMerger is Values.SchemaMerger.
type schemaMerger struct {
	common       *connect.Schema
	incompatible bool
}

func (m *schemaMerger) merge(v *parsedValue) {
	if v == nil || v.schema == nil || m.incompatible {
		return
	}
	if m.common == nil {
		m.common = v.schema
		return
	}
	m.common = mergeSchemas(m.common, v.schema)
	m.incompatible = m.common == nil
}

// mergeSchemas is Values.mergeSchemas for the (never optional) schemas the
// parser builds: the same type gives the newer schema; numbers widen.
func mergeSchemas(prev, next *connect.Schema) *connect.Schema {
	if prev.Type == next.Type {
		if prev.Optional == next.Optional {
			if prev.Optional {
				return prev
			}
			return next
		}
		return nil
	}
	rank := func(t connect.Type) int {
		switch t {
		case connect.TypeInt8:
			return 1
		case connect.TypeInt16:
			return 2
		case connect.TypeInt32:
			return 3
		case connect.TypeInt64:
			return 4
		case connect.TypeFloat32:
			return 5
		case connect.TypeFloat64:
			return 6
		}
		return 0
	}
	a, b := rank(prev.Type), rank(next.Type)
	switch {
	case a == 0 || b == 0:
		return nil
	case b > a:
		return next
	}
	return prev
}

// convertParsedTo is Values.convertTo(toSchema, null, value) for the values
// the parser builds.
func convertParsedTo(to *connect.Schema, v any) (any, error) {
	if v == nil {
		if to.Optional {
			return nil, nil
		}
		return nil, errParse
	}
	switch to.Type {
	case connect.TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case connect.TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case connect.TypeBytes:
		if d, ok := v.(connect.Decimal); ok {
			return d, nil
		}
	case connect.TypeArray:
		if a, ok := v.([]any); ok {
			return a, nil
		}
	case connect.TypeMap:
		switch v.(type) {
		case map[string]any, map[any]any:
			return v, nil
		}
	case connect.TypeInt8:
		if n, ok := parsedLong(v); ok {
			return int8(n), nil
		}
	case connect.TypeInt16:
		if n, ok := parsedLong(v); ok {
			return int16(n), nil
		}
	case connect.TypeInt32:
		if _, isTime := v.(time.Time); isTime && (to.Name == connect.DateName || to.Name == connect.TimeName) {
			return v, nil
		}
		n, ok := parsedLong(v)
		if !ok {
			break
		}
		switch to.Name {
		case connect.DateName:
			return time.UnixMilli(int64(int32(n)) * 86400000).UTC(), nil
		case connect.TimeName:
			ms := int32(n)
			if ms < 0 || ms > 86400000 {
				return nil, errParse
			}
			return time.UnixMilli(int64(ms)).UTC(), nil
		}
		return int32(n), nil
	case connect.TypeInt64:
		if _, isTime := v.(time.Time); isTime && to.Name == connect.TimestampName {
			return v, nil
		}
		n, ok := parsedLong(v)
		if !ok {
			break
		}
		if to.Name == connect.TimestampName {
			return time.UnixMilli(n).UTC(), nil
		}
		return n, nil
	case connect.TypeFloat32:
		if f, ok := parsedDouble(v); ok {
			return float32(f), nil
		}
	case connect.TypeFloat64:
		if f, ok := parsedDouble(v); ok {
			return f, nil
		}
	}
	return nil, errParse
}

// parsedLong is Number.longValue of a parsed number.
func parsedLong(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float32:
		return javaD2L(float64(n)), true
	case float64:
		return javaD2L(n), true
	}
	return 0, false
}

// parsedDouble is Number.doubleValue of a parsed number.
func parsedDouble(v any) (float64, bool) {
	switch n := v.(type) {
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
