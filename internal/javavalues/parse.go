// Package javavalues is Kafka Connect 4.3.1's Values.parseString in Go, and
// the hybrid Julian/Gregorian calendar java.util.Date uses: the parser
// SimpleHeaderConverter reads headers with and InsertHeader types its
// literal with, so both read text exactly as Kafka Connect does.
package javavalues

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connect"
)

// Parse infers a schema and value from text as Kafka Connect 4.3.1's
// Values.parseString does. It never fails: text that is nothing else is a
// STRING with the whole text; "" is the empty STRING; "null" is
// SchemaAndValue{}.
func Parse(str string) connect.SchemaAndValue {
	if str == "" {
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: str}
	}
	v := valuesParser{p: valuesTokenizer{s: str}}
	sv, err := v.parse(false)
	if err != nil {
		// Not reached: only embedded values fail; kept for safety.
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: str}
	}
	if sv == nil {
		return connect.SchemaAndValue{}
	}
	return *sv
}

// This file is a port of Kafka Connect 4.3.1's Values.parseString (its
// Parser tokenizer, ValueParser, SchemaMerger and the alignment of list and
// map entries with the merged schema), which SimpleHeaderConverter uses to
// read headers and InsertHeader to type its literal values.

// maxDepth bounds the nesting of array and map literals (as the JSON
// converter's depth limit), so hostile header text cannot exhaust the stack.
const maxDepth = 1000

// msPerDay is the length of a day in milliseconds.
const msPerDay = 24 * 60 * 60 * 1000

// errValues is Kafka Connect's DataException inside the parser: it makes an
// array or map literal fall back to text.
var errValues = errors.New("not a Values literal")

// valuesTokenizer is Values.Parser: it splits the text at the unescaped
// delimiters : , { } [ ] " (each its own token). Positions are byte offsets;
// every delimiter is ASCII, so they split the text where Java's UTF-16
// offsets do.
type valuesTokenizer struct {
	s       string
	pos     int
	next    string
	hasNext bool // next holds a peeked token
	prev    string
}

func (p *valuesTokenizer) mark() int {
	if p.hasNext {
		return p.pos - len(p.next)
	}
	return p.pos
}

func (p *valuesTokenizer) rewindTo(pos int) {
	p.pos = pos
	p.next, p.hasNext = "", false
	p.prev = ""
}

func (p *valuesTokenizer) more() bool { return p.hasNext || p.pos < len(p.s) }

func (p *valuesTokenizer) nextToken() string {
	if p.hasNext {
		p.prev = p.next
		p.next, p.hasNext = "", false
	} else {
		p.prev = p.consume()
	}
	return p.prev
}

// nextN consumes n tokens and returns the text they span, or false (and
// consumes nothing) when fewer remain.
func (p *valuesTokenizer) nextN(n int) (string, bool) {
	start := p.mark()
	for i := 0; i < n; i++ {
		if !p.more() {
			p.rewindTo(start)
			return "", false
		}
		p.nextToken()
	}
	return p.s[start:p.pos], true
}

func (p *valuesTokenizer) consume() string {
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

// canConsume consumes the next non-blank token if it is expected (ignoring
// surrounding whitespace); blank tokens before it are consumed either way.
func (p *valuesTokenizer) canConsume(expected string) bool {
	if !p.hasNext {
		if !p.more() {
			return false
		}
		p.next, p.hasNext = p.consume(), true
	}
	for javaBlank(p.next) && p.pos < len(p.s) {
		p.next = p.consume()
	}
	if javaTrim(p.next) == expected {
		p.next, p.hasNext = "", false
		return true
	}
	return false
}

// javaTrim is Java's String.trim: it strips the characters <= U+0020.
func javaTrim(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

func javaBlank(s string) bool { return javaTrim(s) == "" }

// valuesParser is Values.ValueParser. A nil result is Java's null
// SchemaAndValue.
type valuesParser struct {
	p     valuesTokenizer
	depth int
}

func (v *valuesParser) singleTokenLiteral(embedded bool, lit string) bool {
	start := v.p.mark()
	if v.p.canConsume(lit) && (embedded || !v.p.more()) {
		return true
	}
	v.p.rewindTo(start)
	return false
}

func (v *valuesParser) parse(embedded bool) (*connect.SchemaAndValue, error) {
	switch {
	case !v.p.more():
		return nil, nil
	case embedded && v.p.canConsume(`"`):
		return v.parseQuoted(), nil
	case v.singleTokenLiteral(embedded, "null"):
		return nil, nil
	case v.singleTokenLiteral(embedded, "true"):
		return &connect.SchemaAndValue{Schema: connect.BooleanSchema, Value: true}, nil
	case v.singleTokenLiteral(embedded, "false"):
		return &connect.SchemaAndValue{Schema: connect.BooleanSchema, Value: false}, nil
	}
	start := v.p.mark()
	if v.depth < maxDepth {
		var sv *connect.SchemaAndValue
		var err error
		parsed := true
		v.depth++
		switch {
		case v.p.canConsume("["):
			sv, err = v.parseArray()
		case v.p.canConsume("{"):
			sv, err = v.parseMap()
		default:
			parsed = false
		}
		v.depth--
		if parsed {
			if err == nil {
				return sv, nil
			}
			v.p.rewindTo(start)
		}
	}
	tok := v.p.nextToken()
	if javaBlank(tok) {
		return &connect.SchemaAndValue{Schema: connect.StringSchema, Value: tok}, nil
	}
	return v.parseNextToken(embedded, javaTrim(tok))
}

func (v *valuesParser) parseNextToken(embedded bool, tok string) (*connect.SchemaAndValue, error) {
	first, _ := utf8.DecodeRuneInString(tok)
	digit := isJavaDigit(first)
	if digit {
		// A time or timestamp may span five tokens (':' is a delimiter).
		pos := v.p.mark()
		if rest, ok := v.p.nextN(4); ok {
			if sv, ok := parseValuesTemporal(asciiDigits(tok + rest)); ok {
				return &sv, nil
			}
		}
		v.p.rewindTo(pos)
		if sv, ok := parseValuesTemporal(asciiDigits(tok)); ok {
			return &sv, nil
		}
	}
	if digit || first == '+' || first == '-' {
		if sv, ok := parseValuesNumber(asciiDigits(tok)); ok {
			return &sv, nil
		}
	}
	if embedded {
		return nil, errValues
	}
	return &connect.SchemaAndValue{Schema: connect.StringSchema, Value: v.p.s}, nil
}

func (v *valuesParser) parseQuoted() *connect.SchemaAndValue {
	var sb strings.Builder
	for v.p.more() {
		if v.p.canConsume(`"`) {
			break
		}
		sb.WriteString(v.p.nextToken())
	}
	content := sb.String()
	if sv, ok := parseValuesTemporal(asciiDigits(content)); ok {
		return &sv
	}
	return &connect.SchemaAndValue{Schema: connect.StringSchema, Value: content}
}

func (v *valuesParser) parseArray() (*connect.SchemaAndValue, error) {
	var result []any
	var merger schemaMerger
	for v.p.more() {
		if v.p.canConsume("]") {
			if merger.common == nil {
				// Every element is null, or they share no schema: an ARRAY
				// without element schema, as Kafka Connect's arrayOfNull.
				return &connect.SchemaAndValue{Schema: &connect.Schema{Type: connect.TypeArray}, Value: nonNilSlice(result)}, nil
			}
			aligned := make([]any, len(result))
			for i, e := range result {
				a, err := alignValue(merger.common, e)
				if err != nil {
					return nil, err
				}
				aligned[i] = a
			}
			return &connect.SchemaAndValue{Schema: &connect.Schema{Type: connect.TypeArray, ValueSchema: merger.common}, Value: aligned}, nil
		}
		if v.p.canConsume(",") {
			return nil, errValues
		}
		elem, err := v.parse(true)
		if err != nil {
			return nil, err
		}
		merger.merge(elem)
		result = append(result, svValue(elem))
		pos := v.p.mark()
		if v.p.canConsume("]") {
			v.p.rewindTo(pos)
		} else if !v.p.canConsume(",") {
			return nil, errValues
		}
	}
	return nil, errValues
}

func (v *valuesParser) parseMap() (*connect.SchemaAndValue, error) {
	type entry struct{ k, v any }
	var entries []entry
	index := map[any]int{}
	var keys, vals schemaMerger
	for v.p.more() {
		if v.p.canConsume("}") {
			return buildValuesMap(&keys, &vals, func(yield func(k, v any) bool) {
				for _, e := range entries {
					if !yield(e.k, e.v) {
						return
					}
				}
			}, len(entries))
		}
		if v.p.canConsume(",") {
			return nil, errValues
		}
		key, err := v.parse(true)
		if err != nil {
			return nil, err
		}
		if key == nil || key.Value == nil || !v.p.canConsume(":") {
			return nil, errValues
		}
		if !hashable(key.Value) {
			// A list or map key: Java hashes it, Go cannot.
			return nil, errValues
		}
		val, err := v.parse(true)
		if err != nil {
			return nil, err
		}
		// A LinkedHashMap: a repeated key keeps its place, takes the new value.
		if i, ok := index[key.Value]; ok {
			entries[i].v = svValue(val)
		} else {
			index[key.Value] = len(entries)
			entries = append(entries, entry{key.Value, svValue(val)})
		}
		v.p.canConsume(",")
		keys.merge(key)
		vals.merge(val)
	}
	return nil, errValues
}

func buildValuesMap(keys, vals *schemaMerger, all func(func(k, v any) bool), n int) (*connect.SchemaAndValue, error) {
	schema := &connect.Schema{Type: connect.TypeMap, KeySchema: keys.common}
	if keys.common != nil {
		schema.ValueSchema = vals.common
	}
	var err error
	if keys.common != nil && keys.common.Type == connect.TypeString {
		m := make(map[string]any, n)
		for k, v := range all {
			if schema.ValueSchema != nil {
				if v, err = alignValue(schema.ValueSchema, v); err != nil {
					return nil, err
				}
			}
			m[k.(string)] = v
		}
		return &connect.SchemaAndValue{Schema: schema, Value: m}, nil
	}
	m := make(map[any]any, n)
	for k, v := range all {
		if keys.common != nil {
			if k, err = alignValue(keys.common, k); err != nil {
				return nil, err
			}
		}
		if schema.ValueSchema != nil {
			if v, err = alignValue(schema.ValueSchema, v); err != nil {
				return nil, err
			}
		}
		m[k] = v
	}
	return &connect.SchemaAndValue{Schema: schema, Value: m}, nil
}

func svValue(sv *connect.SchemaAndValue) any {
	if sv == nil {
		return nil
	}
	return sv.Value
}

func nonNilSlice(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func hashable(k any) bool {
	switch k.(type) {
	case []any, map[string]any, map[any]any:
		return false
	}
	return true
}

// schemaMerger is Values.SchemaMerger: the common schema of the values seen
// so far, nil when there is none (no non-null value yet, or incompatible).
type schemaMerger struct {
	common       *connect.Schema
	incompatible bool
}

func (m *schemaMerger) merge(sv *connect.SchemaAndValue) {
	if sv == nil || sv.Schema == nil || m.incompatible {
		return
	}
	if m.common == nil {
		m.common = sv.Schema
		return
	}
	m.common = mergeValuesSchemas(m.common, sv.Schema)
	m.incompatible = m.common == nil
}

// mergeValuesSchemas is Values.mergeSchemas for the (always required)
// schemas the parser produces: the same type yields the newer schema; the
// numeric types widen (INT8 < INT16 < INT32 < INT64 < FLOAT32 < FLOAT64,
// logical ones included, as Kafka Connect compares only the types).
func mergeValuesSchemas(prev, next *connect.Schema) *connect.Schema {
	if prev.Type == next.Type {
		return next
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
	case a > b:
		return prev
	}
	return next
}

// alignValue is Values.convertTo(schema, null, v) for the values the parser
// produces: numbers widen to the schema's type; integers become Dates (days),
// Times (ms, 0 to 86400000) or Timestamps (ms); a temporal value cannot
// become a plain number. Other values are kept as they are (Kafka Connect
// does not align nested lists and maps either).
func alignValue(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, errValues // the merged schema is never optional
	}
	switch {
	case s.Name == connect.DateName && s.Type == connect.TypeInt32,
		s.Name == connect.TimeName && s.Type == connect.TypeInt32,
		s.Name == connect.TimestampName && s.Type == connect.TypeInt64:
		if _, ok := v.(time.Time); ok {
			return v, nil
		}
		n, ok := valuesLong(v)
		if !ok {
			return nil, errValues
		}
		switch s.Name {
		case connect.DateName:
			return connect.DaysToDate(int32(n)), nil
		case connect.TimeName:
			if int32(n) < 0 || int32(n) > msPerDay {
				return nil, errValues
			}
			return connect.MillisToTime(int32(n)), nil
		}
		return connect.MillisToTimestamp(n), nil
	}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64:
		n, ok := valuesLong(v)
		if !ok {
			return nil, errValues
		}
		switch s.Type {
		case connect.TypeInt8:
			return int8(n), nil
		case connect.TypeInt16:
			return int16(n), nil
		case connect.TypeInt32:
			return int32(n), nil
		}
		return n, nil
	case connect.TypeFloat32:
		if f, ok := v.(float32); ok {
			return f, nil
		}
		f, ok := valuesDouble(v)
		if !ok {
			return nil, errValues
		}
		return float32(f), nil
	case connect.TypeFloat64:
		f, ok := valuesDouble(v)
		if !ok {
			return nil, errValues
		}
		return f, nil
	}
	return v, nil
}

func valuesLong(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func valuesDouble(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	n, ok := valuesLong(v)
	return float64(n), ok
}

// parseValuesNumber is ValueParser.parseAsNumber: the text as a Java
// BigDecimal; an integral value in the long range → the smallest of INT8 …
// INT64; else a non-integer (or exponent) that float32 holds without
// overflow → FLOAT32 (rounded, as Kafka Connect does); else one float64
// holds → FLOAT64; else a Decimal with the literal's scale.
func parseValuesNumber(tok string) (connect.SchemaAndValue, bool) {
	lit, ok := ParseLiteral(tok)
	if !ok {
		return connect.SchemaAndValue{}, false
	}
	if lit.IsInteger() {
		if n, ok := lit.Int64(); ok {
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
		// strconv rounds correctly, as BigDecimal.floatValue/doubleValue.
		if f, err := strconv.ParseFloat(tok, 32); !math.IsInf(f, 0) && (err == nil || errors.Is(err, strconv.ErrRange)) {
			return connect.SchemaAndValue{Schema: connect.Float32Schema, Value: float32(f)}, true
		}
		if f, err := strconv.ParseFloat(tok, 64); !math.IsInf(f, 0) && (err == nil || errors.Is(err, strconv.ErrRange)) {
			return connect.SchemaAndValue{Schema: connect.Float64Schema, Value: f}, true
		}
	}
	d, ok := lit.BigDecimal()
	if !ok {
		return connect.SchemaAndValue{}, false
	}
	return connect.SchemaAndValue{Schema: connect.DecimalSchema(d.Scale), Value: d}, true
}

// parseValuesTemporal is ValueParser.parseAsTemporal: by its length in
// UTF-16 units, text is tried as HH:mm:ss.SSS'Z' (13), yyyy-MM-dd'T'
// HH:mm:ss.SSS'Z' (24) or yyyy-MM-dd (10) with a lenient SimpleDateFormat in
// UTC: numeric fields take all the ASCII digits there are (after spaces or
// tabs), out-of-range fields carry over (24:00:00.000Z is 86400000 ms,
// 2024-13-45 is 2025-02-14), text after the last field is ignored, and dates
// before 1582-10-15 are in the Julian calendar, as java.util.Date's.
func parseValuesTemporal(tok string) (connect.SchemaAndValue, bool) {
	tok = strings.ReplaceAll(tok, `\:`, ":")
	var f [7]int64 // year, month, day, hour, minute, second, millisecond
	var layout string
	var schema *connect.Schema
	switch utf16Len(tok) {
	case 13:
		layout, schema = "h:m:s.SZ", connect.TimeSchema
		f[0], f[1], f[2] = 1970, 1, 1
	case 24:
		layout, schema = "y-M-dTh:m:s.SZ", connect.TimestampSchema
	case 10:
		layout, schema = "y-M-d", connect.DateSchema
	default:
		return connect.SchemaAndValue{}, false
	}
	i := 0
	for _, c := range []byte(layout) {
		idx := strings.IndexByte("yMdhmsS", c)
		if idx < 0 {
			if i >= len(tok) || tok[i] != c {
				return connect.SchemaAndValue{}, false
			}
			i++
			continue
		}
		for i < len(tok) && (tok[i] == ' ' || tok[i] == '\t') {
			i++
		}
		j := i
		var n int64
		for j < len(tok) && tok[j] >= '0' && tok[j] <= '9' {
			if n > math.MaxInt32 {
				return connect.SchemaAndValue{}, false
			}
			n = n*10 + int64(tok[j]-'0')
			j++
		}
		if j == i {
			return connect.SchemaAndValue{}, false
		}
		f[idx] = n
		i = j
	}
	days := HybridDays(f[0], f[1], f[2])
	ms := days*msPerDay + f[3]*3_600_000 + f[4]*60_000 + f[5]*1000 + f[6]
	switch schema {
	case connect.DateSchema:
		if days < math.MinInt32 || days > math.MaxInt32 {
			return connect.SchemaAndValue{}, false
		}
		return connect.SchemaAndValue{Schema: schema, Value: connect.DaysToDate(int32(days))}, true
	}
	// A Time keeps whatever instant the fields add up to, as in Kafka
	// Connect: 25:61:61.999Z is a Time of 93721999 ms, which neither Kafka
	// Connect's converters nor Sluice's can write back.
	return connect.SchemaAndValue{Schema: schema, Value: connect.MillisToTimestamp(ms)}, true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	if n == 0 && !utf8.ValidString(s) {
		return len(s)
	}
	return n
}

// GregorianCutoverDays is 1582-10-15, the first Gregorian day of Java's
// GregorianCalendar, in days since 1970-01-01.
const GregorianCutoverDays = -141427

// HybridDays returns the days since 1970-01-01 of year-month-day (month and
// day may overflow, as in a lenient Calendar) in Java's GregorianCalendar:
// Julian before 1582, Gregorian after, and in 1582 Gregorian from the
// cutover on.
func HybridDays(y, m, d int64) int64 {
	g := civilDays(y, m, d, true)
	switch {
	case y > 1582:
		return g
	case y < 1582:
		return civilDays(y, m, d, false)
	case g >= GregorianCutoverDays:
		return g
	}
	return civilDays(y, m, d, false)
}

// civilDays converts a proleptic Gregorian or Julian date to days since
// 1970-01-01 (the Julian Day Number formulas, with floor division).
func civilDays(y, m, d int64, gregorian bool) int64 {
	m--
	y += FloorDiv(m, 12)
	m = m - FloorDiv(m, 12)*12 + 1
	a := (14 - m) / 12
	yy := y + 4800 - a
	mm := m + 12*a - 3
	jdn := d + (153*mm+2)/5 + 365*yy + FloorDiv(yy, 4)
	if gregorian {
		jdn += -FloorDiv(yy, 100) + FloorDiv(yy, 400) - 32045
	} else {
		jdn -= 32083
	}
	return jdn - 2440588
}

// FloorDiv returns a/b rounded towards negative infinity, as Java's
// Math.floorDiv does (b must not be 0).
func FloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// HybridDate is the inverse of HybridDays: the year, month and day of the
// day that many days after 1970-01-01 in Java's GregorianCalendar (Julian
// before 1582-10-15). The year is astronomical (0 is 1 BC).
func HybridDate(days int64) (y, m, d int64) {
	jdn := days + 2440588
	var c int64
	if days >= GregorianCutoverDays {
		a := jdn + 32044
		b := FloorDiv(4*a+3, 146097)
		c = a - FloorDiv(146097*b, 4)
		dd := FloorDiv(4*c+3, 1461)
		e := c - FloorDiv(1461*dd, 4)
		mm := FloorDiv(5*e+2, 153)
		return 100*b + dd - 4800 + FloorDiv(mm, 10), mm + 3 - 12*FloorDiv(mm, 10), e - FloorDiv(153*mm+2, 5) + 1
	}
	c = jdn + 32082
	dd := FloorDiv(4*c+3, 1461)
	e := c - FloorDiv(1461*dd, 4)
	mm := FloorDiv(5*e+2, 153)
	return dd - 4800 + FloorDiv(mm, 10), mm + 3 - 12*FloorDiv(mm, 10), e - FloorDiv(153*mm+2, 5) + 1
}

// isJavaDigit reports whether r is a digit for Java's Character.isDigit on
// a char: a decimal digit (Unicode category Nd) in the BMP.
func isJavaDigit(r rune) bool {
	return r < 0x10000 && (r >= '0' && r <= '9' || r >= 0x80 && unicode.IsDigit(r))
}

// asciiDigits returns s with every non-ASCII Java digit (isJavaDigit)
// replaced by the ASCII digit of its value, as Java's number parsing
// (BigDecimal, DecimalFormat: Character.digit) reads them, so that
// "١٢٣" parses as 123 in Sluice as in Kafka Connect. Other characters, and
// so the string's length in UTF-16 units, are unchanged.
func asciiDigits(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x80 && isJavaDigit(r) {
			// Nd digits come in runs of ten from a zero.
			start := r
			for unicode.IsDigit(start - 1) {
				start--
			}
			b.WriteByte(byte('0' + (r-start)%10))
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
