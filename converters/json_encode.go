package converters

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/jackson"
)

// jsonTypeNames are the "type" names of Kafka Connect's JsonSchema.
var jsonTypeNames = [...]string{
	connect.TypeInt8:    "int8",
	connect.TypeInt16:   "int16",
	connect.TypeInt32:   "int32",
	connect.TypeInt64:   "int64",
	connect.TypeFloat32: "float",
	connect.TypeFloat64: "double",
	connect.TypeBoolean: "boolean",
	connect.TypeString:  "string",
	connect.TypeBytes:   "bytes",
	connect.TypeArray:   "array",
	connect.TypeMap:     "map",
	connect.TypeStruct:  "struct",
}

// appendSchema appends the JSON form of schema as Kafka Connect's
// JsonConverter.asJsonSchema builds it; for a struct field (isField) the
// "field" member comes last.
func (c *JSON) appendSchema(dst []byte, s *connect.Schema, field string, isField bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, jsonErr("schema nested deeper than %d levels", maxDepth)
	}
	if s.Type < connect.TypeInt8 || s.Type > connect.TypeStruct {
		return nil, jsonErr("cannot translate schema of unknown type %s", s.Type)
	}
	var err error
	dst = append(dst, `{"type":"`...)
	dst = append(dst, jsonTypeNames[s.Type]...)
	dst = append(dst, '"')
	switch s.Type {
	case connect.TypeArray:
		if s.ValueSchema == nil {
			return nil, jsonErr("array schema %s has no element schema", s)
		}
		dst = append(dst, `,"items":`...)
		if dst, err = c.appendSchema(dst, s.ValueSchema, "", false, depth+1); err != nil {
			return nil, err
		}
	case connect.TypeMap:
		if s.KeySchema == nil || s.ValueSchema == nil {
			return nil, jsonErr("map schema %s has no key or value schema", s)
		}
		dst = append(dst, `,"keys":`...)
		if dst, err = c.appendSchema(dst, s.KeySchema, "", false, depth+1); err != nil {
			return nil, err
		}
		dst = append(dst, `,"values":`...)
		if dst, err = c.appendSchema(dst, s.ValueSchema, "", false, depth+1); err != nil {
			return nil, err
		}
	case connect.TypeStruct:
		dst = append(dst, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			if f.Schema == nil {
				return nil, within(jsonErr("field has no schema"), f.Name)
			}
			if dst, err = c.appendSchema(dst, f.Schema, f.Name, true, depth+1); err != nil {
				return nil, within(err, f.Name)
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"optional":`...)
	dst = strconv.AppendBool(dst, s.Optional)
	if s.NameSet() {
		dst = append(dst, `,"name":`...)
		dst = jackson.AppendString(dst, s.Name)
	}
	if s.VersionSet() {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(s.Version), 10)
	}
	if s.DocSet() {
		dst = append(dst, `,"doc":`...)
		dst = jackson.AppendString(dst, s.Doc)
	}
	if len(s.Parameters) > 0 {
		dst = append(dst, `,"parameters":{`...)
		for i, p := range s.Parameters {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jackson.AppendString(dst, p.Key)
			dst = append(dst, ':')
			dst = jackson.AppendString(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	if s.Default != nil {
		dst = append(dst, `,"default":`...)
		if dst, err = c.appendValue(dst, s, nil, s.Default, depth+1); err != nil {
			if de, ok := err.(*DataError); ok {
				de.Reason = "default value: " + de.Reason
			}
			return nil, err
		}
	}
	if isField {
		dst = append(dst, `,"field":`...)
		dst = jackson.AppendString(dst, field)
	}
	return append(dst, '}'), nil
}

// valuePlan is what appendValue can precompute for the values of one
// schema, built once per cached schema (encodedSchema): for a STRUCT each
// field's member key already quoted, with its separator (`"id":`,
// `,"name":`), and the plans of the nested schemas. A nil plan means none:
// appendValue then quotes the keys itself.
type valuePlan struct {
	keys   []string     // STRUCT: per field
	fields []*valuePlan // STRUCT: per field
	elem   *valuePlan   // ARRAY items, MAP values
	key    *valuePlan   // MAP keys
}

func (n *valuePlan) elemPlan() *valuePlan {
	if n == nil {
		return nil
	}
	return n.elem
}

func (n *valuePlan) keyPlan() *valuePlan {
	if n == nil {
		return nil
	}
	return n.key
}

// buildPlan returns the plan of schema s, nil when s holds no STRUCT (or
// is nested beyond maxDepth, which appendValue refuses anyway).
func buildPlan(s *connect.Schema, depth int) *valuePlan {
	if s == nil || depth > maxDepth {
		return nil
	}
	switch s.Type {
	case connect.TypeStruct:
		n := &valuePlan{keys: make([]string, len(s.Fields)), fields: make([]*valuePlan, len(s.Fields))}
		for i := range s.Fields {
			var k []byte
			if i > 0 {
				k = append(k, ',')
			}
			k = jackson.AppendString(k, s.Fields[i].Name)
			n.keys[i] = string(append(k, ':'))
			n.fields[i] = buildPlan(s.Fields[i].Schema, depth+1)
		}
		return n
	case connect.TypeArray, connect.TypeMap:
		elem, key := buildPlan(s.ValueSchema, depth+1), buildPlan(s.KeySchema, depth+1)
		if elem == nil && key == nil {
			return nil
		}
		return &valuePlan{elem: elem, key: key}
	}
	return nil
}

// describeSchema names a schema in error messages: the logical type name
// (Decimal, Date, Time, Timestamp) or the Connect type (INT32, STRUCT …).
func describeSchema(s *connect.Schema) string {
	if connect.IsLogical(s) {
		switch s.Name {
		case connect.DecimalName:
			return "Decimal"
		case connect.DateName:
			return "Date"
		case connect.TimeName:
			return "Time"
		default:
			return "Timestamp"
		}
	}
	return s.Type.String()
}

func wrongGoType(s *connect.Schema, want string, v any) error {
	return jsonErr("expected Go type %s for %s, got %T", want, describeSchema(s), v)
}

// appendValue appends value v of schema s (non-nil) as Kafka Connect's
// JsonConverter.convertToJson does.
func (c *JSON) appendValue(dst []byte, s *connect.Schema, n *valuePlan, v any, depth int) ([]byte, error) {
	if v == nil {
		switch {
		case s.Default != nil && c.replace:
			v = s.Default
		case s.Optional:
			return append(dst, "null"...), nil
		default:
			return nil, jsonErr("null is not allowed for a required %s", describeSchema(s))
		}
	}
	if depth > maxDepth {
		return nil, jsonErr("value nested deeper than %d levels", maxDepth)
	}
	if connect.IsLogical(s) {
		return c.appendLogical(dst, s, v)
	}
	switch s.Type {
	case connect.TypeInt8:
		n, ok := v.(int8)
		if !ok {
			return nil, wrongGoType(s, "int8", v)
		}
		return strconv.AppendInt(dst, int64(n), 10), nil
	case connect.TypeInt16:
		n, ok := v.(int16)
		if !ok {
			return nil, wrongGoType(s, "int16", v)
		}
		return strconv.AppendInt(dst, int64(n), 10), nil
	case connect.TypeInt32:
		n, ok := v.(int32)
		if !ok {
			return nil, wrongGoType(s, "int32", v)
		}
		return strconv.AppendInt(dst, int64(n), 10), nil
	case connect.TypeInt64:
		n, ok := v.(int64)
		if !ok {
			return nil, wrongGoType(s, "int64", v)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case connect.TypeFloat32:
		f, ok := v.(float32)
		if !ok {
			return nil, wrongGoType(s, "float32", v)
		}
		return appendJSONFloat(dst, float64(f), 32), nil
	case connect.TypeFloat64:
		f, ok := v.(float64)
		if !ok {
			return nil, wrongGoType(s, "float64", v)
		}
		return appendJSONFloat(dst, f, 64), nil
	case connect.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, wrongGoType(s, "bool", v)
		}
		return strconv.AppendBool(dst, b), nil
	case connect.TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, wrongGoType(s, "string", v)
		}
		return jackson.AppendString(dst, str), nil
	case connect.TypeBytes:
		b, ok := v.([]byte)
		if !ok {
			return nil, wrongGoType(s, "[]byte", v)
		}
		return appendBase64(dst, b), nil
	case connect.TypeArray:
		a, ok := v.([]any)
		if !ok {
			return nil, wrongGoType(s, "[]any", v)
		}
		dst = append(dst, '[')
		var err error
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = c.appendValue(dst, s.ValueSchema, n.elemPlan(), e, depth+1); err != nil {
				return nil, within(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return append(dst, ']'), nil
	case connect.TypeMap:
		return c.appendMap(dst, s, n, v, depth)
	case connect.TypeStruct:
		st, ok := v.(*connect.Struct)
		if !ok || st == nil {
			return nil, wrongGoType(s, "*connect.Struct", v)
		}
		if st.Schema() != s && !st.Schema().Equal(s) {
			return nil, jsonErr("struct has schema %s, which does not match the field's schema %s", st.Schema(), s)
		}
		dst = append(dst, '{')
		var err error
		for i := range s.Fields {
			f := &s.Fields[i]
			var fn *valuePlan
			if n != nil {
				dst = append(dst, n.keys[i]...)
				fn = n.fields[i]
			} else {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = jackson.AppendString(dst, f.Name)
				dst = append(dst, ':')
			}
			if dst, err = c.appendValue(dst, f.Schema, fn, st.At(i), depth+1); err != nil {
				return nil, within(err, f.Name)
			}
		}
		return append(dst, '}'), nil
	}
	return nil, jsonErr("cannot convert a value of unknown schema type %s", s.Type)
}

func (c *JSON) appendLogical(dst []byte, s *connect.Schema, v any) ([]byte, error) {
	switch s.Name {
	case connect.DecimalName:
		d, ok := v.(connect.Decimal)
		if !ok {
			return nil, wrongGoType(s, "connect.Decimal", v)
		}
		scale, err := connect.DecimalScaleOf(s)
		if err != nil {
			return nil, jsonErr("%v", err)
		}
		if c.numeric {
			// Kafka Connect writes the number as it is, whatever its
			// scale (only BASE64 needs the schema's).
			return javafmt.AppendBigDecimal(dst, d.Unscaled, d.Scale), nil
		}
		if d.Scale != scale {
			return nil, jsonErr("Decimal %s has scale %d but its schema has scale %d", javafmt.BigDecimalString(d.Unscaled, d.Scale), d.Scale, scale)
		}
		return appendDecimalBase64(dst, d.Unscaled), nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, wrongGoType(s, "time.Time", v)
		}
		var n int64
		switch s.Name {
		case connect.DateName:
			days, err := connect.DateToDays(t)
			if err != nil {
				return nil, jsonErr("%v", err)
			}
			n = int64(days)
		case connect.TimeName:
			ms, err := connect.TimeToMillis(t)
			if err != nil {
				return nil, jsonErr("%v", err)
			}
			n = int64(ms)
		default:
			n = connect.TimestampToMillis(t)
		}
		return strconv.AppendInt(dst, n, 10), nil
	}
	return nil, jsonErr("unknown logical type %s", s.Name)
}

func (c *JSON) appendMap(dst []byte, s *connect.Schema, n *valuePlan, v any, depth int) ([]byte, error) {
	if s.KeySchema == nil || s.ValueSchema == nil {
		return nil, jsonErr("map schema %s has no key or value schema", s)
	}
	var err error
	if s.KeySchema.Type == connect.TypeString {
		// Object mode.
		switch m := v.(type) {
		case map[string]any:
			dst = append(dst, '{')
			var local [smallKeys]string
			for i, k := range appendSortedKeys(local[:0], m) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = jackson.AppendString(dst, k)
				dst = append(dst, ':')
				if dst, err = c.appendValue(dst, s.ValueSchema, n.elemPlan(), m[k], depth+1); err != nil {
					return nil, within(err, "{"+k+"}")
				}
			}
			return append(dst, '}'), nil
		case map[any]any:
			dst = append(dst, '{')
			for i, e := range sortedAnyEntries(m) {
				k := e.key
				if i > 0 {
					dst = append(dst, ',')
				}
				switch ks := k.(type) {
				case string:
					dst = jackson.AppendString(dst, ks)
				case nil:
					if !s.KeySchema.Optional {
						return nil, within(jsonErr("null is not allowed for a required STRING map key"), "{null}")
					}
					dst = append(dst, `"null"`...)
				default:
					return nil, jsonErr("expected Go type string for a STRING map key, got %T", k)
				}
				dst = append(dst, ':')
				if dst, err = c.appendValue(dst, s.ValueSchema, n.elemPlan(), e.val, depth+1); err != nil {
					return nil, within(err, "{"+keyString(k)+"}")
				}
			}
			return append(dst, '}'), nil
		}
		return nil, wrongGoType(s, "map[string]any", v)
	}
	m, ok := v.(map[any]any)
	if !ok {
		return nil, jsonErr("expected Go type map[any]any for a MAP with %s keys, got %T", s.KeySchema.Type, v)
	}
	dst = append(dst, '[')
	for i, e := range sortedAnyEntries(m) {
		k := e.key
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		if dst, err = c.appendValue(dst, s.KeySchema, n.keyPlan(), k, depth+1); err != nil {
			return nil, within(err, "{key "+keyString(k)+"}")
		}
		dst = append(dst, ',')
		if dst, err = c.appendValue(dst, s.ValueSchema, n.elemPlan(), e.val, depth+1); err != nil {
			return nil, within(err, "{"+keyString(k)+"}")
		}
		dst = append(dst, ']')
	}
	return append(dst, ']'), nil
}

// appendSchemaless appends a value without a schema, inferring the JSON form
// from its Go type.
func (c *JSON) appendSchemaless(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, jsonErr("value nested deeper than %d levels", maxDepth)
	}
	if b, ok := appendInteger(dst, v); ok {
		return b, nil
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return jackson.AppendString(dst, x), nil
	case []byte:
		return appendBase64(dst, x), nil
	case float32:
		return appendJSONFloat(dst, float64(x), 32), nil
	case float64:
		return appendJSONFloat(dst, x, 64), nil
	case connect.Decimal:
		return javafmt.AppendBigDecimal(dst, x.Unscaled, x.Scale), nil
	case time.Time:
		return strconv.AppendInt(dst, x.UnixMilli(), 10), nil
	case *connect.Struct:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return c.appendValue(dst, x.Schema(), nil, x, depth)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = c.appendSchemaless(dst, e, depth+1); err != nil {
				return nil, within(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		dst = append(dst, '{')
		var local [smallKeys]string
		for i, k := range appendSortedKeys(local[:0], x) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jackson.AppendString(dst, k)
			dst = append(dst, ':')
			if dst, err = c.appendSchemaless(dst, x[k], depth+1); err != nil {
				return nil, within(err, "{"+k+"}")
			}
		}
		return append(dst, '}'), nil
	case map[any]any:
		entries := sortedAnyEntries(x)
		objectMode := true
		for _, e := range entries {
			if _, ok := e.key.(string); !ok {
				objectMode = false
				break
			}
		}
		if objectMode {
			dst = append(dst, '{')
		} else {
			dst = append(dst, '[')
		}
		for i, e := range entries {
			k := e.key
			if i > 0 {
				dst = append(dst, ',')
			}
			if objectMode {
				dst = jackson.AppendString(dst, k.(string))
				dst = append(dst, ':')
			} else {
				dst = append(dst, '[')
				if dst, err = c.appendSchemaless(dst, k, depth+1); err != nil {
					return nil, within(err, "{key "+keyString(k)+"}")
				}
				dst = append(dst, ',')
			}
			if dst, err = c.appendSchemaless(dst, e.val, depth+1); err != nil {
				return nil, within(err, "{"+keyString(k)+"}")
			}
			if !objectMode {
				dst = append(dst, ']')
			}
		}
		if objectMode {
			return append(dst, '}'), nil
		}
		return append(dst, ']'), nil
	}
	return nil, jsonErr("schemaless value of Go type %T has no Connect type", v)
}

// appendJSONFloat writes a float as Jackson does: Java's toString form, and
// the non-finite values as quoted strings (Jackson's default
// QUOTE_NON_NUMERIC_NUMBERS).
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		dst = append(dst, '"')
		dst = javafmt.AppendFloat(dst, f, bits)
		return append(dst, '"')
	}
	return javafmt.AppendFloat(dst, f, bits)
}

func appendBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendDecimalBase64 appends x (nil is 0) as Kafka Connect writes a BASE64
// Decimal: the minimal big-endian two's-complement bytes of the unscaled
// value (Java's BigInteger.toByteArray, javafmt.TwosComplement) as a quoted
// base64 string. Values that fit an int64, the common case, are encoded
// from a stack buffer without allocating.
func appendDecimalBase64(dst []byte, x *big.Int) []byte {
	if x != nil && !x.IsInt64() {
		return appendBase64(dst, javafmt.TwosComplement(x))
	}
	var v int64
	if x != nil {
		v = x.Int64()
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	// Drop leading bytes that only repeat the sign of the next byte.
	i := 0
	for i < len(buf)-1 && (buf[i] == 0 && buf[i+1]&0x80 == 0 || buf[i] == 0xFF && buf[i+1]&0x80 != 0) {
		i++
	}
	return appendBase64(dst, buf[i:])
}

func sortedKeys(m map[string]any) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

// appendSortedKeys appends the keys of m to dst, sorted. Given a slice of
// a local array, small maps cost no allocation.
func appendSortedKeys(dst []string, m map[string]any) []string {
	n := len(dst)
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst[n:])
	return dst
}

// smallKeys is how many keys of a map the JSON encoder sorts without
// allocating.
const smallKeys = 16

// mapEntry is one key and value of a map[any]any.
type mapEntry struct{ key, val any }

// sortedAnyEntries returns the entries of m in a deterministic order: keys
// that are numbers by value, strings lexically, false before true, times
// chronologically, and keys of different Go types grouped by type name. The
// entries come from ranging over m, never from looking a key up, so a NaN key
// (which is not equal to itself, in Go as in Java's HashMap lookups of
// distinct NaN boxes) keeps its value.
func sortedAnyEntries(m map[any]any) []mapEntry {
	entries := make([]mapEntry, 0, len(m))
	for k, v := range m {
		entries = append(entries, mapEntry{k, v})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int { return compareKeys(a.key, b.key) })
	return entries
}

func compareKeys(a, b any) int {
	if ta, tb := reflect.TypeOf(a), reflect.TypeOf(b); ta != tb {
		return cmp.Compare(typeName(ta), typeName(tb))
	}
	switch x := a.(type) {
	case nil:
		return 0
	case string:
		return cmp.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int8:
		return cmp.Compare(x, b.(int8))
	case int16:
		return cmp.Compare(x, b.(int16))
	case int32:
		return cmp.Compare(x, b.(int32))
	case int64:
		return cmp.Compare(x, b.(int64))
	case int:
		return cmp.Compare(x, b.(int))
	case uint8:
		return cmp.Compare(x, b.(uint8))
	case uint16:
		return cmp.Compare(x, b.(uint16))
	case uint32:
		return cmp.Compare(x, b.(uint32))
	case uint64:
		return cmp.Compare(x, b.(uint64))
	case uint:
		return cmp.Compare(x, b.(uint))
	case float32:
		return cmp.Compare(x, b.(float32))
	case float64:
		return cmp.Compare(x, b.(float64))
	case time.Time:
		return x.Compare(b.(time.Time))
	case connect.Decimal:
		// Keys of one map share their schema's scale; comparing unscaled
		// values avoids Rat, which would compute 10^|scale|.
		y := b.(connect.Decimal)
		if c := cmp.Compare(x.Scale, y.Scale); c != 0 {
			return c
		}
		return bigOrZero(x.Unscaled).Cmp(bigOrZero(y.Unscaled))
	}
	return cmp.Compare(keyString(a), keyString(b))
}

func bigOrZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// keyString renders a map key for sorting and error messages without ever
// calling connect.Decimal.String, whose cost grows with |scale| (a scale
// can come from the wire).
func keyString(k any) string {
	b, err := appendJavaString(nil, k, 0)
	if err != nil {
		return fmt.Sprintf("%T", k)
	}
	return string(b)
}

func typeName(t reflect.Type) string {
	if t == nil {
		return ""
	}
	return t.String()
}

// appendInteger appends v in decimal when it is a Go integer of any size; ok
// is false for other types. Java's toString and JSON write integers alike.
func appendInteger(dst []byte, v any) (_ []byte, ok bool) {
	switch x := v.(type) {
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), true
	}
	return dst, false
}
