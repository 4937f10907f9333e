package conformance

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Gen generates random schemas, values, records and cases. It is
// deterministic for a seed: one seed always yields the same cases, so a CI
// run never depends on luck. A Gen is not safe for concurrent use.
type Gen struct {
	r *rand.Rand
	// fieldNames is the pool struct field names and map keys are drawn from,
	// so that SMT configs naming fields hit real fields often.
	fieldNames []string
}

// NewGen returns a generator for seed.
func NewGen(seed uint64) *Gen {
	return &Gen{
		r:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		fieldNames: []string{"a", "b", "c", "id", "amount", "name", "ts", "nested", "x", "y"},
	}
}

// Intn returns a number in [0, n).
func (g *Gen) Intn(n int) int { return g.r.IntN(n) }

// Chance is true with probability p.
func (g *Gen) Chance(p float64) bool { return g.r.Float64() < p }

// Pick returns one of xs.
func Pick[T any](g *Gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// FieldName returns a field name from the pool (rarely an odd one).
func (g *Gen) FieldName() string {
	if g.Chance(0.05) {
		return Pick(g, "", " a", "a.b", "é", "A", "x-y", "\u00a0")
	}
	return g.fieldNames[g.r.IntN(len(g.fieldNames))]
}

// --- schemas ---------------------------------------------------------------

var primitiveTypes = []string{"INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING", "BYTES"}

// Logical type names.
const (
	decimalName   = "org.apache.kafka.connect.data.Decimal"
	dateName      = "org.apache.kafka.connect.data.Date"
	timeName      = "org.apache.kafka.connect.data.Time"
	timestampName = "org.apache.kafka.connect.data.Timestamp"
)

// PrimitiveSchema returns a random primitive or logical schema.
func (g *Gen) PrimitiveSchema() *Schema {
	var s *Schema
	switch n := g.r.IntN(14); {
	case n < 9:
		s = &Schema{Type: primitiveTypes[n]}
	case n == 9:
		scale := Pick(g, 0, 0, 1, 2, 3, 5, 10, -2)
		s = &Schema{Type: "BYTES", Name: ptr(decimalName), Version: ptr(int32(1)),
			Parameters: [][2]string{{"scale", strconv.Itoa(scale)}}}
	case n == 10:
		s = &Schema{Type: "INT32", Name: ptr(dateName), Version: ptr(int32(1))}
	case n == 11:
		s = &Schema{Type: "INT32", Name: ptr(timeName), Version: ptr(int32(1))}
	case n == 12:
		s = &Schema{Type: "INT64", Name: ptr(timestampName), Version: ptr(int32(1))}
	default:
		s = &Schema{Type: Pick(g, primitiveTypes...)}
	}
	g.decorate(s)
	return s
}

// decorate sets optional and, rarely, metadata and a default on s.
func (g *Gen) decorate(s *Schema) {
	s.Optional = g.Chance(0.4)
	if s.Name == nil && g.Chance(0.08) {
		s.Name = ptr(Pick(g, "com.example.Thing", "x", "Name with spaces"))
		if g.Chance(0.05) {
			s.Name = ptr("")
		}
	}
	if s.Name != nil && s.Version == nil && g.Chance(0.3) {
		s.Version = ptr(Pick(g, int32(1), 2, -1, 7))
		if g.Chance(0.05) {
			s.Version = ptr(int32(0))
		}
	}
	if g.Chance(0.05) {
		s.Doc = ptr(Pick(g, "doc", "multi\nline"))
		if g.Chance(0.1) {
			s.Doc = ptr("")
		}
	}
	if s.Parameters == nil && g.Chance(0.04) {
		s.Parameters = [][2]string{{"k", "v"}}
	}
	// No default holding bytes inside an array or map: Java compares those
	// byte[] by identity (ConnectSchema.equals), so two equal schemas built
	// apart would never match, which no real Kafka Connect record sees.
	if g.Chance(0.1) && s.Type != "STRUCT" && !((s.Type == "ARRAY" || s.Type == "MAP") && holdsBytes(s)) {
		s.Default = g.ValueFor(&Schema{Type: s.Type, Name: s.Name, Parameters: s.Parameters,
			Fields: s.Fields, KeySchema: s.KeySchema, ValueSchema: s.ValueSchema}, 1)
	}
}

// Schema returns a random schema of at most depth nesting levels.
func (g *Gen) Schema(depth int) *Schema {
	if depth <= 0 || g.Chance(0.45) {
		return g.PrimitiveSchema()
	}
	var s *Schema
	switch g.r.IntN(4) {
	case 0:
		s = &Schema{Type: "ARRAY", ValueSchema: g.Schema(depth - 1)}
	case 1:
		s = &Schema{Type: "MAP", KeySchema: g.keySchema(), ValueSchema: g.Schema(depth - 1)}
	default:
		s = g.StructSchema(depth)
		return s
	}
	g.decorate(s)
	return s
}

// keySchema returns a map key schema Go can use as a map key type.
func (g *Gen) keySchema() *Schema {
	if g.Chance(0.5) {
		return &Schema{Type: "STRING", Optional: g.Chance(0.2)}
	}
	s := &Schema{Type: Pick(g, "INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN")}
	s.Optional = g.Chance(0.2)
	return s
}

// StructSchema returns a random STRUCT schema with distinct field names.
func (g *Gen) StructSchema(depth int) *Schema {
	s := &Schema{Type: "STRUCT"}
	if g.Chance(0.3) {
		s.Name = ptr(Pick(g, "com.example.Value", "Rec", "com.example.Key"))
	}
	s.Optional = g.Chance(0.3)
	n := g.r.IntN(5)
	seen := map[string]bool{}
	for range n {
		name := g.FieldName()
		if seen[name] {
			continue
		}
		seen[name] = true
		s.Fields = append(s.Fields, Field{Name: name, Schema: g.Schema(depth - 1)})
	}
	return s
}

// --- values ----------------------------------------------------------------

// ValueFor returns a random value valid for s (nil s: a schemaless value).
// Optional schemas get null sometimes.
func (g *Gen) ValueFor(s *Schema, depth int) *Value {
	if s == nil {
		return g.SchemalessValue(depth)
	}
	if s.Optional && g.Chance(0.15) {
		return nil
	}
	if s.Name != nil {
		switch *s.Name {
		case decimalName:
			scale := 0
			for _, p := range s.Parameters {
				if p[0] == "scale" {
					scale, _ = strconv.Atoi(p[1])
				}
			}
			return &Value{Decimal: &DecimalValue{Unscaled: g.bigInt().String(), Scale: int32(scale)}}
		case dateName:
			days := Pick(g, int64(0), 1, -1, 19000, -141427, 2932896, int64(g.r.IntN(100000)-50000))
			return &Value{Date: ptr(strconv.FormatInt(days*86400000, 10))}
		case timeName:
			ms := Pick(g, int64(0), 1, 86399999, 43200000, int64(g.r.IntN(86400000)))
			return &Value{Date: ptr(strconv.FormatInt(ms, 10))}
		case timestampName:
			return &Value{Date: ptr(strconv.FormatInt(g.timestampMillis(), 10))}
		}
	}
	switch s.Type {
	case "ARRAY":
		n := g.r.IntN(4)
		arr := make([]*Value, n)
		for i := range arr {
			arr[i] = g.ValueFor(s.ValueSchema, depth-1)
		}
		return &Value{Array: &arr}
	case "MAP":
		return g.mapValue(func() *Value { return g.ValueFor(s.KeySchema, 0) },
			func() *Value { return g.ValueFor(s.ValueSchema, depth-1) })
	case "STRUCT":
		sv := &StructValue{Schema: s}
		for _, f := range s.Fields {
			v := g.ValueFor(f.Schema, depth-1)
			// A required field without a default must be set, or Kafka
			// Connect refuses the struct: keep inputs valid most of the time.
			for try := 0; v == nil && !f.Schema.Optional && f.Schema.Default == nil && try < 8 && !g.Chance(0.02); try++ {
				v = g.ValueFor(f.Schema, depth-1)
			}
			sv.Fields = append(sv.Fields, FieldValue{Name: f.Name, Value: v})
		}
		return &Value{Struct: sv}
	}
	return g.primitive(s.Type)
}

func (g *Gen) primitive(t string) *Value {
	switch t {
	case "INT8":
		return &Value{Int8: ptr(Pick(g, int8(0), 1, -1, math.MaxInt8, math.MinInt8, int8(g.r.IntN(256)-128)))}
	case "INT16":
		return &Value{Int16: ptr(Pick(g, int16(0), 1, -1, math.MaxInt16, math.MinInt16, int16(g.r.IntN(65536)-32768)))}
	case "INT32":
		return &Value{Int32: ptr(Pick(g, int32(0), 1, -1, math.MaxInt32, math.MinInt32, int32(g.r.Uint32())))}
	case "INT64":
		return &Value{Int64: ptr(strconv.FormatInt(Pick(g, int64(0), 1, -1, math.MaxInt64, math.MinInt64,
			int64(g.r.Uint64()), 1<<53+1, int64(g.r.IntN(1000))), 10))}
	case "FLOAT32":
		return &Value{Float32: ptr(fmt.Sprintf("%08x", math.Float32bits(g.float32())))}
	case "FLOAT64":
		return &Value{Float64: ptr(fmt.Sprintf("%016x", math.Float64bits(g.float64())))}
	case "BOOLEAN":
		return &Value{Boolean: ptr(g.Chance(0.5))}
	case "STRING":
		return &Value{String: ptr(g.String())}
	case "BYTES":
		return &Value{Bytes: ptr(base64.StdEncoding.EncodeToString(g.bytes()))}
	}
	panic("unknown type " + t)
}

func (g *Gen) float64() float64 {
	switch g.r.IntN(16) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return math.Copysign(0, -1)
	case 4:
		return 0
	case 5:
		return math.MaxFloat64
	case 6:
		return math.SmallestNonzeroFloat64
	case 7:
		return Pick(g, 1e7, 1e-3, 9999999.0, 0.001, 1e21, 1e-7, 123456789012345678)
	case 8:
		return float64(g.r.IntN(2000) - 1000)
	case 9:
		return math.Float64frombits(g.r.Uint64())
	default:
		return (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(40)-20))
	}
}

func (g *Gen) float32() float32 {
	switch g.r.IntN(14) {
	case 0:
		return float32(math.NaN())
	case 1:
		return float32(math.Inf(1))
	case 2:
		return float32(math.Inf(-1))
	case 3:
		return float32(math.Copysign(0, -1))
	case 4:
		return math.MaxFloat32
	case 5:
		return math.SmallestNonzeroFloat32
	case 6:
		return Pick(g, float32(0.1), 1e7, 1e-3, 16777217, 3.4e38, 1.17549435e-38)
	case 7:
		return math.Float32frombits(g.r.Uint32())
	default:
		return float32((g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(20)-10)))
	}
}

// String returns a random string: ASCII, control characters, quotes and
// backslashes, BMP and non-BMP characters.
func (g *Gen) String() string {
	switch g.r.IntN(10) {
	case 0:
		return ""
	case 1:
		return Pick(g, "true", "false", "null", "42", "-1.5", "1E3", ".5", "[1,2]", "{a=1}", "{\"a\":1}",
			"1970-01-01", "12:00:00.000Z", "2020-01-01T00:00:00.000Z", " x ", "\t", "2147483648", "NaN", "Infinity")
	case 2, 3:
		return g.FieldName()
	}
	var b strings.Builder
	n := g.r.IntN(12)
	for range n {
		switch g.r.IntN(10) {
		case 0:
			b.WriteRune(rune(g.r.IntN(0x20)))
		case 1:
			b.WriteString(Pick(g, "\"", "\\", "/", "\u007f", "\u2028", "\u00e9", "<", "&", "'"))
		case 2:
			b.WriteRune(rune(0x10000 + g.r.IntN(0x10FFFF-0x10000)))
		case 3:
			r := rune(0x80 + g.r.IntN(0xD800-0x80))
			b.WriteRune(r)
		default:
			b.WriteByte(byte('a' + g.r.IntN(26)))
		}
	}
	return b.String()
}

func (g *Gen) bytes() []byte {
	if g.Chance(0.2) {
		return []byte{}
	}
	b := make([]byte, g.r.IntN(10))
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

func (g *Gen) bigInt() *big.Int {
	switch g.r.IntN(6) {
	case 0:
		return big.NewInt(0)
	case 1:
		return big.NewInt(int64(g.r.IntN(2000) - 1000))
	case 2:
		x, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
		return x
	case 3:
		return new(big.Int).Lsh(big.NewInt(1), uint(g.r.IntN(130)))
	default:
		return big.NewInt(int64(g.r.Uint64()))
	}
}

func (g *Gen) timestampMillis() int64 {
	// Mostly ordinary instants; the edges (the Gregorian cutover, year 1,
	// year 9999, the int64 ends) a fifth of the time.
	if g.Chance(0.8) {
		return Pick(g, int64(0), 1700000000000, 1700000000000-1700000000000%86400000,
			int64(g.r.IntN(4102444800))*1000+int64(g.r.IntN(1000)), int64(g.r.IntN(40000))*86400000-int64(20000)*86400000)
	}
	return Pick(g, int64(0), -1, 1, 1700000000000, 1700000000000-1700000000000%86400000,
		-12219292800000, -12219292800001, -62135596800000, -62135596800001, 253402300799999, 253402300800000,
		math.MaxInt64, math.MinInt64, int64(g.r.Uint64()>>20)-1<<43, int64(g.r.IntN(4000000))*86400000)
}

// mapValue builds a map with distinct keys (by Go ==, which is what a Go map
// keeps: -0.0 and 0.0 are one key, and at most one NaN) in Sluice's order,
// which is the order Kafka Connect then iterates.
func (g *Gen) mapValue(key, val func() *Value) *Value {
	n := g.r.IntN(4)
	type entry struct {
		k   any
		kv  *Value
		val *Value
	}
	var es []entry
	nan := false
outer:
	for range n {
		kv := key()
		k, err := toValue(nil, kv)
		if err != nil {
			continue
		}
		switch x := k.(type) {
		case []byte, []any, map[string]any, map[any]any:
			continue
		case float64:
			if x != x {
				if nan {
					continue
				}
				nan = true
			}
		case float32:
			if x != x {
				if nan {
					continue
				}
				nan = true
			}
		}
		for _, e := range es {
			if e.k == k {
				continue outer
			}
		}
		es = append(es, entry{k, kv, val()})
	}
	slices.SortStableFunc(es, func(a, b entry) int { return compareKeys(a.k, b.k) })
	m := make([][2]*Value, len(es))
	for i, e := range es {
		m[i] = [2]*Value{e.kv, e.val}
	}
	return &Value{Map: &m}
}

// compareKeys orders map keys as Sluice's JSON converter writes them: by
// type name, then numbers by value (NaN first), strings bytewise, false
// before true.
func compareKeys(a, b any) int {
	ta, tb := fmt.Sprintf("%T", a), fmt.Sprintf("%T", b)
	if ta != tb {
		return cmp.Compare(ta, tb)
	}
	switch x := a.(type) {
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
	case float32:
		return cmp.Compare(x, b.(float32))
	case float64:
		return cmp.Compare(x, b.(float64))
	}
	return 0
}

// SchemalessValue returns a random schemaless value (what Kafka Connect's
// JsonConverter with schemas.enable=false reads and writes: no
// int8/int16/int32/float32 from JSON, but SMTs and Java code may produce
// them).
func (g *Gen) SchemalessValue(depth int) *Value {
	if depth <= 0 || g.Chance(0.5) {
		switch g.r.IntN(10) {
		case 0:
			return nil
		case 1:
			return g.primitive(Pick(g, "INT8", "INT16", "INT32", "FLOAT32"))
		default:
			return g.primitive(Pick(g, "INT64", "FLOAT64", "BOOLEAN", "STRING", "STRING", "BYTES"))
		}
	}
	switch g.r.IntN(3) {
	case 0:
		n := g.r.IntN(4)
		arr := make([]*Value, n)
		for i := range arr {
			arr[i] = g.SchemalessValue(depth - 1)
		}
		return &Value{Array: &arr}
	case 1:
		// Non-string keys, sometimes.
		kt := Pick(g, "STRING", "STRING", "STRING", "INT64", "INT32", "FLOAT64", "BOOLEAN")
		return g.mapValue(func() *Value {
			if kt == "STRING" {
				return &Value{String: ptr(g.FieldName())}
			}
			return g.primitive(kt)
		}, func() *Value { return g.SchemalessValue(depth - 1) })
	default:
		return g.mapValue(func() *Value { return &Value{String: ptr(g.FieldName())} },
			func() *Value { return g.SchemalessValue(depth - 1) })
	}
}

// SchemaAndValue returns a random schema'd or schemaless (schema nil) value.
func (g *Gen) SchemaAndValue(depth int) (*Schema, *Value) {
	if g.Chance(0.25) {
		return nil, g.SchemalessValue(depth)
	}
	s := g.Schema(depth)
	return s, g.ValueFor(s, depth)
}

// --- records ---------------------------------------------------------------

// Record returns a random record: a struct or schemaless map value most of
// the time (what SMTs work on), sometimes a primitive, a tombstone or a
// sink record.
func (g *Gen) Record() *Record {
	r := &Record{Topic: Pick(g, "orders", "t", "orders-eu", "a.b", "")}
	if g.Chance(0.7) {
		r.Partition = ptr(int32(g.r.IntN(4)))
	}
	r.KeySchema, r.Key = g.recordPart(0.4)
	r.ValueSchema, r.Value = g.recordPart(0.05)
	if g.Chance(0.7) {
		r.Timestamp = ptr(strconv.FormatInt(g.timestampMillis(), 10))
	}
	for range g.r.IntN(3) {
		s, v := g.SchemaAndValue(1)
		r.Headers = append(r.Headers, Header{Key: Pick(g, "h", "a", "b", "trace", "h"), Schema: s, Value: v})
	}
	if g.Chance(0.4) {
		if r.Partition == nil {
			r.Partition = ptr(int32(0))
		}
		// Kafka has no topic "": a consumed record always names one.
		if r.Topic == "" {
			r.Topic = "orders"
		}
		r.Sink = &Sink{Offset: strconv.Itoa(g.r.IntN(1000)), TimestampType: Pick(g, "CreateTime", "LogAppendTime", "NoTimestampType")}
	}
	return r
}

// recordPart returns a key or value: a struct (schema'd), a map
// (schemaless), a primitive or null.
func (g *Gen) recordPart(nullChance float64) (*Schema, *Value) {
	if g.Chance(nullChance) {
		if g.Chance(0.5) {
			s := g.StructSchema(2)
			s.Optional = true
			return s, nil
		}
		return nil, nil
	}
	switch g.r.IntN(10) {
	case 0, 1, 2, 3, 4:
		s := g.StructSchema(2)
		return s, g.ValueFor(s, 2)
	case 5, 6, 7:
		return nil, g.mapValue(func() *Value { return &Value{String: ptr(g.FieldName())} },
			func() *Value { return g.SchemalessValue(1) })
	case 8:
		s := g.PrimitiveSchema()
		return s, g.ValueFor(s, 0)
	default:
		return nil, g.SchemalessValue(1)
	}
}

// holdsBytes reports whether s has a BYTES schema anywhere inside.
func holdsBytes(s *Schema) bool {
	if s == nil {
		return false
	}
	if s.Type == "BYTES" {
		return true
	}
	for _, f := range s.Fields {
		if holdsBytes(f.Schema) {
			return true
		}
	}
	return holdsBytes(s.KeySchema) || holdsBytes(s.ValueSchema)
}
