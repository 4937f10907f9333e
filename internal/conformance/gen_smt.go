package conformance

import (
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// SMT cases: random configurations drawn from each built-in SMT's documented
// keys (Kafka Connect 4.3.1's ConfigDefs), mostly valid and naming real
// fields of the record, sometimes edge values (empty strings, duplicates and
// whitespace in lists, Java-trimmed whitespace around values, invalid values,
// unknown keys, missing required keys); and records shaped so that the SMT
// has something to do most of the time.

const (
	smtPkg  = "org.apache.kafka.connect.transforms."
	predPkg = "org.apache.kafka.connect.transforms.predicates."
)

// SMTClasses lists every class TransformCase produces.
var SMTClasses = []string{
	smtPkg + "Cast$Key", smtPkg + "Cast$Value",
	smtPkg + "DropHeaders",
	smtPkg + "ExtractField$Key", smtPkg + "ExtractField$Value",
	smtPkg + "Filter",
	smtPkg + "Flatten$Key", smtPkg + "Flatten$Value",
	smtPkg + "HeaderFrom$Key", smtPkg + "HeaderFrom$Value",
	smtPkg + "HoistField$Key", smtPkg + "HoistField$Value",
	smtPkg + "InsertField$Key", smtPkg + "InsertField$Value",
	smtPkg + "InsertHeader",
	smtPkg + "MaskField$Key", smtPkg + "MaskField$Value",
	smtPkg + "RegexRouter",
	smtPkg + "ReplaceField$Key", smtPkg + "ReplaceField$Value",
	smtPkg + "SetSchemaMetadata$Key", smtPkg + "SetSchemaMetadata$Value",
	smtPkg + "TimestampConverter$Key", smtPkg + "TimestampConverter$Value",
	smtPkg + "TimestampRouter",
	smtPkg + "ValueToKey",
}

// PredicateClasses lists every class PredicateCase produces.
var PredicateClasses = []string{
	predPkg + "TopicNameMatches", predPkg + "HasHeaderKey", predPkg + "RecordIsTombstone",
}

// TransformCase returns a random transform case for one of SMTClasses,
// sometimes gated by a predicate (Filter always is).
func (g *Gen) TransformCase(id string) *Request {
	return g.TransformCaseFor(id, Pick(g, SMTClasses...))
}

// TransformCaseFor returns a random transform case for class (one of
// SMTClasses).
func (g *Gen) TransformCaseFor(id, class string) *Request {
	short := strings.TrimPrefix(class, smtPkg)
	base, variant, _ := strings.Cut(short, "$")
	isKey := variant == "Key"
	cfg := map[string]string{}
	var rec *Record
	switch base {
	case "Cast":
		rec = g.castCase(cfg, isKey)
	case "DropHeaders":
		rec = g.dropHeadersCase(cfg)
	case "ExtractField":
		rec = g.extractFieldCase(cfg, isKey)
	case "Filter":
		rec = g.Record()
	case "Flatten":
		rec = g.flattenCase(cfg, isKey)
	case "HeaderFrom":
		rec = g.headerFromCase(cfg, isKey)
	case "HoistField":
		rec = g.hoistFieldCase(cfg)
	case "InsertField":
		rec = g.insertFieldCase(cfg, isKey)
	case "InsertHeader":
		rec = g.insertHeaderCase(cfg)
	case "MaskField":
		rec = g.maskFieldCase(cfg, isKey)
	case "RegexRouter":
		rec = g.regexRouterCase(cfg)
	case "ReplaceField":
		rec = g.replaceFieldCase(cfg, isKey)
	case "SetSchemaMetadata":
		rec = g.setSchemaMetadataCase(cfg, isKey)
	case "TimestampConverter":
		rec = g.timestampConverterCase(cfg, isKey)
	case "TimestampRouter":
		rec = g.timestampRouterCase(cfg)
	case "ValueToKey":
		rec = g.valueToKeyCase(cfg)
	default:
		panic("gen_smt: unknown class " + class)
	}
	switch base {
	case "Cast", "HeaderFrom", "MaskField", "ReplaceField", "TimestampConverter", "ValueToKey", "InsertField":
		if g.Chance(0.04) {
			// Only ExtractField has field.syntax.version in Kafka Connect
			// 4.3.1: the others ignore it and read dotted names literally.
			cfg["field.syntax.version"] = "V2"
		}
	}
	if g.Chance(0.04) {
		// Unknown keys: Kafka Connect ignores them.
		cfg[Pick(g, "unknown.key", "field.syntax.version", "replace.null.with.default", "predicate", "negate", "type")] =
			Pick(g, "x", "V2", "false", "")
	}
	req := &Request{ID: id, Op: OpTransform, Class: class, Config: cfg, Record: rec}
	if base == "Filter" || g.Chance(0.15) {
		req.Predicate = g.predicate()
	}
	return req
}

// PredicateCase returns a random predicate case.
func (g *Gen) PredicateCase(id string) *Request {
	p := g.predicate()
	rec := g.Record()
	switch {
	case p.Class == predPkg+"RecordIsTombstone" && g.Chance(0.4):
		rec.Value = nil
		if g.Chance(0.5) {
			rec.ValueSchema = nil
		}
	case p.Class == predPkg+"HasHeaderKey" && g.Chance(0.5):
		if name, ok := p.Config["name"]; ok {
			rec.Headers = append(rec.Headers, g.header(name))
		}
	}
	return &Request{ID: id, Op: OpPredicate, Class: p.Class, Config: p.Config, Record: rec}
}

func (g *Gen) predicate() *Predicate {
	p := &Predicate{Class: Pick(g, PredicateClasses...), Config: map[string]string{}, Negate: g.Chance(0.3)}
	switch strings.TrimPrefix(p.Class, predPkg) {
	case "TopicNameMatches":
		if !g.Chance(0.03) {
			p.Config["pattern"] = Pick(g, "orders", ".*", "orders.*", "t", "a\\.b", "a.b", "orders-(eu|us)",
				"[a-z]+", "ORDERS", "(?i)orders", "o.*s", " orders ", "x*", "orders$", "^t", "\\w+")
			if g.Chance(0.05) {
				p.Config["pattern"] = Pick(g, "", "(", "[", "\\p{Lower}+", "a{2,1}", "(?<n>o)rders")
			}
		}
	case "HasHeaderKey":
		if !g.Chance(0.03) {
			p.Config["name"] = Pick(g, "h", "h", "a", "b", "trace", "zz", " h", "H", "h\u00a0")
			if g.Chance(0.03) {
				p.Config["name"] = ""
			}
		}
	case "RecordIsTombstone":
		if g.Chance(0.05) {
			p.Config["pattern"] = "x"
		}
	}
	return p
}

// --- shared helpers ----------------------------------------------------------

// boolCfg sets replace.null.with.default (or another boolean key) sometimes.
func (g *Gen) boolCfg(cfg map[string]string, key string) {
	switch {
	case g.Chance(0.03):
		cfg[key] = Pick(g, "yes", "", "1")
	case g.Chance(0.35):
		cfg[key] = Pick(g, "true", "false", "false", "TRUE", "False", " false ", "\tfalse\n")
	}
}

// names returns 1..max distinct pool field names, sometimes with a name
// the record does not have.
func (g *Gen) names(max int) []string {
	n := 1 + g.Intn(max)
	var out []string
	for range n {
		var f string
		if g.Chance(0.05) {
			f = Pick(g, "zz", "missing", "nested.a", "A")
		} else {
			f = Pick(g, g.fieldNames...)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// list writes items as a Kafka Connect LIST value, sometimes with edge
// forms: whitespace around items, a duplicate, an empty item, a trailing
// comma, or the empty list.
func (g *Gen) list(items []string) string {
	items = slices.Clone(items)
	switch g.Intn(40) {
	case 0, 1, 2:
		if len(items) > 0 {
			items = append(items, items[0])
		}
	case 3:
		items = append(items, "")
	case 4:
		items = append([]string{""}, items...)
	case 5, 6, 7:
		return " " + strings.Join(items, " , ") + " "
	case 8, 9:
		return strings.Join(items, "\t,\n")
	case 10:
		return ""
	case 11, 12, 13:
		return strings.Join(items, ", ")
	}
	return strings.Join(items, ",")
}

// javaSpace surrounds v with whitespace sometimes: Kafka Connect trims
// STRING and LIST config values with String.trim (every char <= ' '), which
// leaves Unicode spaces.
func (g *Gen) javaSpace(v string) string {
	switch {
	case g.Chance(0.02):
		// Not trimmed by Java.
		return Pick(g, "\u00a0", "\u2028", "") + v + Pick(g, "\u3000", "\u0085", "")
	case g.Chance(0.08):
		return Pick(g, " ", "\t", "\n", "\u000b", "\u0001", "") + v + Pick(g, " ", "\t", "\r\n", "\u001f", "")
	}
	return v
}

// setPart puts schema and value into the key (isKey) or value of r,
// sometimes schemaless (struct values become maps).
func (g *Gen) setPart(r *Record, isKey bool, s *Schema, v *Value) {
	if g.Chance(0.3) {
		s, v = nil, g.toSchemaless(v)
	}
	if isKey {
		r.KeySchema, r.Key = s, v
	} else {
		r.ValueSchema, r.Value = s, v
	}
}

// shapedRecord is a random record whose key or value is a struct with (at
// least) fields want, most of the time; otherwise an unshaped random record.
func (g *Gen) shapedRecord(isKey bool, want ...Field) *Record {
	r := g.Record()
	if g.Chance(0.15) {
		return r
	}
	s := g.StructSchema(2)
	for _, f := range want {
		setField(s, f)
	}
	if g.Chance(0.5) {
		g.shuffleFields(s)
	}
	g.setPart(r, isKey, s, g.ValueFor(s, 2))
	return r
}

func (g *Gen) shuffleFields(s *Schema) {
	for i := len(s.Fields) - 1; i > 0; i-- {
		j := g.Intn(i + 1)
		s.Fields[i], s.Fields[j] = s.Fields[j], s.Fields[i]
	}
}

// setField replaces s's field f.Name with f or appends f.
func setField(s *Schema, f Field) {
	for i := range s.Fields {
		if s.Fields[i].Name == f.Name {
			s.Fields[i] = f
			return
		}
	}
	s.Fields = append(s.Fields, f)
}

// someFields returns fields for names, each of a random schema (primitive
// mostly, sometimes nested).
func (g *Gen) someFields(names []string) []Field {
	var out []Field
	for _, n := range names {
		if n == "zz" || n == "missing" || (strings.Contains(n, ".") && g.Chance(0.5)) {
			continue
		}
		var s *Schema
		if g.Chance(0.8) {
			s = g.PrimitiveSchema()
		} else {
			s = g.Schema(2)
		}
		out = append(out, Field{Name: n, Schema: s})
	}
	return out
}

// nestedField is a "nested" struct field with a few pool fields.
func (g *Gen) nestedField() Field {
	s := g.StructSchema(2)
	if len(s.Fields) == 0 {
		s.Fields = []Field{{Name: "a", Schema: g.PrimitiveSchema()}}
	}
	return Field{Name: "nested", Schema: s}
}

// toSchemaless turns structs into maps with string keys, recursively, and
// most Date and Decimal values into what JsonConverter reads without
// schemas (int64 millis, float64).
func (g *Gen) toSchemaless(v *Value) *Value {
	switch {
	case v == nil:
		return nil
	case v.Struct != nil:
		m := make([][2]*Value, 0, len(v.Struct.Fields))
		for _, f := range v.Struct.Fields {
			m = append(m, [2]*Value{{String: ptr(f.Name)}, g.toSchemaless(f.Value)})
		}
		return &Value{Map: &m}
	case v.Array != nil:
		arr := make([]*Value, len(*v.Array))
		for i, x := range *v.Array {
			arr[i] = g.toSchemaless(x)
		}
		return &Value{Array: &arr}
	case v.Map != nil:
		m := make([][2]*Value, len(*v.Map))
		for i, e := range *v.Map {
			m[i] = [2]*Value{g.toSchemaless(e[0]), g.toSchemaless(e[1])}
		}
		return &Value{Map: &m}
	case v.Date != nil && g.Chance(0.8):
		return &Value{Int64: v.Date}
	case v.Decimal != nil && g.Chance(0.8):
		f, ok := new(big.Float).SetString(v.Decimal.Unscaled + "e" + strconv.Itoa(int(-v.Decimal.Scale)))
		if !ok {
			return v
		}
		x, _ := f.Float64()
		return &Value{Float64: ptr(float64Bits(x))}
	}
	return v
}

func (g *Gen) header(key string) Header {
	s, v := g.SchemaAndValue(1)
	return Header{Key: key, Schema: s, Value: v}
}

// --- the SMTs ----------------------------------------------------------------

var castTypes = []string{"int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string"}

func (g *Gen) castType() string {
	switch {
	case g.Chance(0.04):
		return Pick(g, "bytes", "date", "", "array", "decimal")
	case g.Chance(0.06):
		return Pick(g, "INT32", "String", " int64 ", "Boolean", "FLOAT64")
	}
	return Pick(g, castTypes...)
}

// castable is a primitive schema Cast can read, with string values that
// parse as numbers or booleans sometimes.
func (g *Gen) castableField(name string) Field {
	s := g.PrimitiveSchema()
	if g.Chance(0.05) {
		s = g.Schema(1)
	}
	return Field{Name: name, Schema: s}
}

func (g *Gen) castStrings(v *Value) {
	if v == nil || v.Struct == nil {
		return
	}
	for i, f := range v.Struct.Fields {
		if f.Value != nil && f.Value.String != nil && g.Chance(0.6) {
			v.Struct.Fields[i].Value = &Value{String: ptr(Pick(g, "42", "-1", "1.5", "true", "false", "1e3",
				" 7 ", "2147483648", "NaN", "abc", "", "0x10", "-0", "127", "128", "3.4028235E39", "TRUE"))}
		}
	}
}

func (g *Gen) castCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	r := g.Record()
	if g.Chance(0.3) {
		// Whole value.
		if !g.Chance(0.03) {
			cfg["spec"] = g.javaSpace(g.castType())
			if g.Chance(0.05) {
				cfg["spec"] += "," + g.castType()
			}
		}
		if g.Chance(0.85) {
			s := g.PrimitiveSchema()
			v := g.ValueFor(s, 0)
			if s.Type == "STRING" && v != nil && g.Chance(0.6) {
				v = &Value{String: ptr(Pick(g, "42", "-1.5", "true", "x", " 7 ", "1e3", "9223372036854775808"))}
			}
			g.setPart(r, isKey, s, v)
		}
		return r
	}
	names := g.names(3)
	var specs []string
	for _, n := range names {
		specs = append(specs, n+":"+g.castType())
	}
	if g.Chance(0.05) {
		specs = append(specs, Pick(g, "int32", "a", "a:", ":int32", "a:int32:x", "a : int32"))
	}
	if !g.Chance(0.03) {
		cfg["spec"] = g.javaSpace(g.list(specs))
	}
	if g.Chance(0.85) {
		var fs []Field
		for _, n := range names {
			if !strings.Contains(n, ".") {
				fs = append(fs, g.castableField(n))
			}
		}
		s := g.StructSchema(1)
		for _, f := range fs {
			setField(s, f)
		}
		v := g.ValueFor(s, 1)
		g.castStrings(v)
		g.setPart(r, isKey, s, v)
	}
	return r
}

func (g *Gen) dropHeadersCase(cfg map[string]string) *Record {
	r := g.Record()
	hs := []string{"h", "a", "b", "trace", "zz"}
	var names []string
	for range 1 + g.Intn(3) {
		names = append(names, Pick(g, hs...))
	}
	if !g.Chance(0.04) {
		cfg["headers"] = g.javaSpace(g.list(names))
	}
	for range g.Intn(3) {
		r.Headers = append(r.Headers, g.header(Pick(g, names...)))
	}
	return r
}

func (g *Gen) extractFieldCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	v2 := false
	switch g.Intn(6) {
	case 0, 1:
		cfg["field.syntax.version"] = "V2"
		v2 = true
	case 2:
		cfg["field.syntax.version"] = "V1"
	case 3:
		if g.Chance(0.3) {
			cfg["field.syntax.version"] = Pick(g, "v2", "V3", "", " V2 ", "v1")
			v2 = strings.EqualFold(strings.TrimSpace(cfg["field.syntax.version"]), "V2")
		}
	}
	var field string
	switch {
	case v2 && g.Chance(0.6):
		field = Pick(g, "nested.a", "nested.b", "nested.nested.a", "nested.zz", "a.b", "`a.b`", "nested.`x`",
			"nested.", ".a", "nested..a", "`nested`.a", "`a")
	case g.Chance(0.05):
		field = Pick(g, "", " a ", "a.b", "zz")
	default:
		field = Pick(g, g.fieldNames...)
	}
	if !g.Chance(0.03) {
		cfg["field"] = g.javaSpace(field)
	}
	top := strings.TrimSpace(field)
	if !g.fieldInPool(top) || g.Chance(0.2) {
		top = Pick(g, g.fieldNames...)
	}
	want := g.someFields([]string{top})
	want = append(want, g.nestedField())
	if g.Chance(0.1) {
		// A field literally named "a.b" (backticks in V2).
		want = append(want, Field{Name: "a.b", Schema: g.PrimitiveSchema()})
	}
	return g.shapedRecord(isKey, want...)
}

func (g *Gen) flattenCase(cfg map[string]string, isKey bool) *Record {
	if g.Chance(0.8) {
		cfg["delimiter"] = Pick(g, ".", "_", "", "->", "__", " ", " _ ", "é", "\u00a0")
	}
	if g.Chance(0.1) {
		// Not a Flatten key: Kafka Connect ignores it.
		cfg["replace.null.with.default"] = Pick(g, "true", "false")
	}
	r := g.Record()
	if g.Chance(0.8) {
		s := g.StructSchema(3)
		setField(s, g.nestedField())
		if g.Chance(0.3) {
			n := g.nestedField()
			setField(n.Schema, g.nestedField())
			setField(s, n)
		}
		if g.Chance(0.2) {
			// A flattened name that collides with a top-level one.
			setField(s, Field{Name: "nested.a", Schema: g.PrimitiveSchema()})
			setField(s, Field{Name: "nested_a", Schema: g.PrimitiveSchema()})
		}
		if g.Chance(0.7) {
			g.noMaps(s)
		}
		g.setPart(r, isKey, s, g.ValueFor(s, 3))
	}
	return r
}

// noMaps replaces MAP schemas under s with primitives (Flatten refuses maps
// in schema'd records).
func (g *Gen) noMaps(s *Schema) {
	for i := range s.Fields {
		f := &s.Fields[i]
		switch f.Schema.Type {
		case "MAP":
			f.Schema = g.PrimitiveSchema()
		case "STRUCT":
			g.noMaps(f.Schema)
		}
	}
}

func (g *Gen) headerFromCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	fields := g.names(3)
	var headers []string
	for range fields {
		headers = append(headers, Pick(g, "h", "a", "b", "trace", "x-"+Pick(g, g.fieldNames...)))
	}
	if g.Chance(0.03) {
		headers = append(headers, "extra")
	}
	// fields and headers must have as many items: edge forms of one list
	// only sometimes.
	fl, hl := strings.Join(fields, ","), strings.Join(headers, ",")
	if g.Chance(0.25) {
		fl, hl = g.list(fields), g.list(headers)
	}
	if !g.Chance(0.02) {
		cfg["fields"] = g.javaSpace(fl)
	}
	if !g.Chance(0.02) {
		cfg["headers"] = g.javaSpace(hl)
	}
	if !g.Chance(0.02) {
		if g.Chance(0.93) {
			cfg["operation"] = Pick(g, "copy", "move")
		} else {
			cfg["operation"] = Pick(g, "COPY", "Move", "", " copy ", "delete")
		}
	}
	r := g.shapedRecord(isKey, g.someFields(fields)...)
	if g.Chance(0.3) {
		// The other part null: HeaderFrom must read the configured one.
		if isKey {
			r.Value = nil
		} else {
			r.Key = nil
		}
	}
	return r
}

func (g *Gen) fieldInPool(name string) bool { return slices.Contains(g.fieldNames, name) }

func (g *Gen) hoistFieldCase(cfg map[string]string) *Record {
	if !g.Chance(0.04) {
		if g.Chance(0.9) {
			cfg["field"] = Pick(g, g.fieldNames...)
		} else {
			cfg["field"] = Pick(g, "", " a ", "a.b", "é")
		}
	}
	return g.Record()
}

func (g *Gen) insertFieldCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	suffix := func() string {
		switch g.Intn(8) {
		case 0:
			return "!"
		case 1:
			return "?"
		}
		return ""
	}
	name := func(def string) string {
		if g.Chance(0.25) {
			def = Pick(g, g.fieldNames...) // maybe one the record has
		}
		if g.Chance(0.04) {
			def = Pick(g, "", "!", "?", "a!!", " a ")
		}
		return g.javaSpace(def + suffix())
	}
	set := false
	if g.Chance(0.4) {
		cfg["topic.field"], set = name("topic"), true
	}
	if g.Chance(0.4) {
		cfg["partition.field"], set = name("partition"), true
	}
	if g.Chance(0.35) {
		cfg["offset.field"], set = name("offset"), true
	}
	if g.Chance(0.4) {
		cfg["timestamp.field"], set = name("timestamp"), true
	}
	if g.Chance(0.45) || (!set && !g.Chance(0.05)) {
		cfg["static.field"] = name("static")
		if !g.Chance(0.05) {
			cfg["static.value"] = g.javaSpace(Pick(g, "v", "hello", "", "42", "true", " x ", "null",
				"\u00a0x\u00a0", "a,b", "é"))
		}
	} else if g.Chance(0.05) {
		cfg["static.value"] = "orphan"
	}
	r := g.shapedRecord(isKey, g.someFields(g.names(2))...)
	if g.Chance(0.3) && r.Timestamp == nil {
		r.Timestamp = ptr(strconv.FormatInt(g.timestampMillis(), 10))
	}
	return r
}

var insertHeaderLiterals = []string{
	"null", ".5", "5E3", "true", "false", "TRUE", "[1,2]", "[1,\"a\"]", "[]", "{a=1}", "{\"a\":1}", "{}",
	"24:00:00.000Z", "12:00:00.000Z", "2020-01-01", "2020-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z",
	"hello", "", " x ", "1", "-1", "127", "128", "32768", "2147483648", "-9223372036854775809",
	"9223372036854775807", "1.0", "0.1", "3.4028235E39", "1e400", "NaN", "Infinity", "-0", "-0.0",
	"[", "{a=1", "a,b", "'quoted'", "\"quoted\"", "é", "[1,[2,3]]", "{1:2}", "[null]", "0x10", "1_000",
}

func (g *Gen) insertHeaderCase(cfg map[string]string) *Record {
	if !g.Chance(0.03) {
		cfg["header"] = g.javaSpace(Pick(g, "h", "h", "a", "trace", "new", "", "é"))
	}
	if !g.Chance(0.03) {
		cfg["value.literal"] = g.javaSpace(Pick(g, insertHeaderLiterals...))
	}
	return g.Record()
}

func (g *Gen) maskFieldCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	fields := g.names(3)
	if !g.Chance(0.03) {
		cfg["fields"] = g.javaSpace(g.list(fields))
	}
	if g.Chance(0.4) {
		cfg["replacement"] = g.javaSpace(Pick(g, "x", "***", "0", "123", "-1.5", "true", "1e3", " 5 ",
			"abc", "2147483648", "9223372036854775808", "NaN", "1.5E400", "0", "7", "hello"))
		if g.Chance(0.03) {
			cfg["replacement"] = ""
		}
	}
	want := g.someFields(fields)
	for i := range want {
		if g.Chance(0.3) {
			// Numeric and string fields are what a replacement applies to.
			want[i].Schema = &Schema{Type: Pick(g, "INT32", "INT64", "FLOAT64", "STRING", "STRING", "INT8",
				"FLOAT32", "INT16"), Optional: g.Chance(0.3)}
		}
	}
	return g.shapedRecord(isKey, want...)
}

// regexPairs are RegexRouter regexes with replacements that fit them.
var regexPairs = [][2]string{
	{"(.*)", "$1"}, {"(.*)", "routed-$1"}, {"(.*)-eu", "$1"}, {"(.*)-eu", "eu.$1"}, {"o(.*)s", "O$1S"},
	{"orders", "routed"}, {"(\\w+)-(\\w+)", "$2-$1"}, {"t|orders", "x"}, {"(.*)\\.b", "$1_b"},
	{"(?i)ORDERS", "lower"}, {".*", "$0-copy"}, {"(o)(r)(d)(.*)", "$3$2$1$4"}, {"x*", "empty"},
	{"[a-z]+", "\\$1"}, {"(?<n>o)rders", "${n}"}, {"(.*)", ""}, {"orders-(eu|us)", "$1"},
}

func (g *Gen) regexRouterCase(cfg map[string]string) *Record {
	if g.Chance(0.7) {
		p := Pick(g, regexPairs...)
		cfg["regex"], cfg["replacement"] = g.javaSpace(p[0]), g.javaSpace(p[1])
	} else if !g.Chance(0.03) {
		cfg["regex"] = g.javaSpace(Pick(g, "(.*)", "(.*)", "orders", "(.*)-eu", "o(.*)s", "^t$", "[a-z]+",
			"a\\.b", "(.*)\\.b", "(\\w+)-(\\w+)", "t|orders", "", ".*", "(?i)ORDERS", "(?<n>o)rders", "(",
			"\\d+", "x*", "(o)(r)(d)"))
	}
	if _, ok := cfg["replacement"]; !ok && !g.Chance(0.03) {
		cfg["replacement"] = g.javaSpace(Pick(g, "$1", "x-$1", "$0", "", "prefix_$1_suffix", "routed",
			"\\$1", "$2", "${n}", "$", "$1$1", "$10", "a\\\\b", "$2-$1"))
	}
	r := g.Record()
	if g.Chance(0.3) {
		r.Topic = Pick(g, "orders-eu", "orders", "a.b", "t", "x-y", "123", "", "orders.eu")
	}
	return r
}

func (g *Gen) replaceFieldCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	var fields []string
	if g.Chance(0.5) {
		fields = g.names(3)
		cfg["exclude"] = g.javaSpace(g.list(fields))
	}
	if g.Chance(0.4) {
		inc := g.names(3)
		fields = append(fields, inc...)
		cfg["include"] = g.javaSpace(g.list(inc))
	}
	if g.Chance(0.5) || len(cfg) == 0 {
		var pairs []string
		for range 1 + g.Intn(2) {
			from := Pick(g, g.fieldNames...)
			fields = append(fields, from)
			to := Pick(g, "renamed", "new_"+from, Pick(g, g.fieldNames...)) // may be an existing field
			pairs = append(pairs, from+":"+to)
		}
		if g.Chance(0.08) {
			pairs = append(pairs, Pick(g, "a", "a:b:c", ":b", "a:", " a : b ", "a:a"))
		}
		cfg["renames"] = g.javaSpace(g.list(pairs))
	}
	if g.Chance(0.08) {
		// Removed in Kafka Connect 4.0: now unknown keys, ignored.
		cfg[Pick(g, "blacklist", "whitelist")] = g.list(g.names(2))
	}
	return g.shapedRecord(isKey, g.someFields(fields)...)
}

func (g *Gen) setSchemaMetadataCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	name, version := g.Chance(0.7), g.Chance(0.6)
	if !name && !version && !g.Chance(0.05) {
		name = true
	}
	if name {
		cfg["schema.name"] = g.javaSpace(Pick(g, "com.example.New", "com.example.New", "Name", "", "x y", "é"))
	}
	if version {
		if g.Chance(0.85) {
			cfg["schema.version"] = g.javaSpace(Pick(g, "1", "2", "3", "0", "-1", "2147483647", " 5 ", "+4", "007"))
		} else {
			cfg["schema.version"] = Pick(g, "2147483648", "abc", "1.5", "", "1e2", "0x10")
		}
	}
	r := g.Record()
	switch g.Intn(10) {
	case 0, 1, 2, 3, 4:
		// A struct with an optional struct field, for
		// replace.null.with.default to matter.
		s := g.StructSchema(2)
		f := g.nestedField()
		f.Schema.Optional = true
		setField(s, f)
		v := g.ValueFor(s, 2)
		if isKey {
			r.KeySchema, r.Key = s, v
		} else {
			r.ValueSchema, r.Value = s, v
		}
	case 5, 6:
		s := g.Schema(1)
		v := g.ValueFor(s, 1)
		if isKey {
			r.KeySchema, r.Key = s, v
		} else {
			r.ValueSchema, r.Value = s, v
		}
	}
	return r
}

// tsSamples are SimpleDateFormat patterns with a string they parse.
var tsSamples = [][2]string{
	{"yyyy-MM-dd", "2020-01-02"},
	{"yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2020-01-02T03:04:05.678+0000"},
	{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2020-01-02T03:04:05.678Z"},
	{"yyyy-MM-dd'T'HH:mm:ssX", "2020-01-02T03:04:05-08"},
	{"yyyyMMdd", "19700101"},
	{"yyyyMMddHHmmss", "20201231235959"},
	{"HH:mm:ss", "12:34:56"},
	{"HH:mm:ss.SSS", "23:59:59.999"},
	{"yyyy-MM-dd HH:mm:ss z", "2021-06-01 10:00:00 UTC"},
	{"yyyy-MM-dd HH:mm:ss z", "2021-06-01 10:00:00 GMT+02:00"},
	{"EEE, d MMM yyyy HH:mm:ss Z", "Wed, 4 Jul 2001 12:08:56 -0700"},
	{"h:mm a", "12:08 PM"},
	{"dd/MM/yy", "31/12/99"},
	{"yyyy-MM-dd HH:mm:ss.SSS", "1582-10-10 00:00:00.000"},
	{"yyyy-MM-dd", "0001-01-01"},
	{"MMMM d, yyyy", "January 5, 2020"},
	{"yyyy-MM-dd", "2020-13-45"},
	{"S", "123"},
	{"yyyy-MM-dd'T'HH:mm:ss", "2020-01-02T03:04:05"},
	{"yyyy-MM-dd G", "2020-01-02 AD"},
	{"D yyyy", "100 2020"},
	{"YYYY-ww", "2020-05"},
	{"yyyy-MM-dd zzz", "2020-01-02 PST"},
	{"yyyy-MM-dd", "not a date"},
	{"yyyy-MM-dd", ""},
	{"yyyy-MM-dd'", "2020-01-02"},
	{"yyyy-MM-dd q", "2020-01-02 q"},
	{"kk:mm", "24:00"},
	{"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "2020-01-02T03:04:05.123456"},
}

// tsSchema returns a timestamp-like schema: a Timestamp, Date or Time
// logical, INT64 millis, a formatted STRING, or rarely something else.
func (g *Gen) tsSchema() *Schema {
	var s *Schema
	switch g.Intn(12) {
	case 0, 1, 2:
		s = &Schema{Type: "INT64", Name: ptr(timestampName), Version: ptr(int32(1))}
	case 3:
		s = &Schema{Type: "INT32", Name: ptr(dateName), Version: ptr(int32(1))}
	case 4:
		s = &Schema{Type: "INT32", Name: ptr(timeName), Version: ptr(int32(1))}
	case 5, 6, 7:
		s = &Schema{Type: "INT64"}
	case 8, 9, 10:
		s = &Schema{Type: "STRING"}
	default:
		return g.PrimitiveSchema()
	}
	s.Optional = g.Chance(0.25)
	if g.Chance(0.08) {
		s.Default = g.ValueFor(&Schema{Type: s.Type, Name: s.Name}, 0)
		if s.Type == "STRING" {
			s.Default = &Value{String: ptr(Pick(g, tsSamples...)[1])}
		}
	}
	return s
}

// tsValue returns a value for a tsSchema schema; a STRING is sample.
func (g *Gen) tsValue(s *Schema, sample string) *Value {
	if s.Optional && g.Chance(0.15) {
		return nil
	}
	switch {
	case s.Name != nil:
		return g.ValueFor(s, 0)
	case s.Type == "INT64":
		if g.Chance(0.7) {
			return &Value{Int64: ptr(strconv.FormatInt(g.timestampMillis(), 10))}
		}
		return g.ValueFor(s, 0)
	case s.Type == "STRING":
		if g.Chance(0.85) {
			return &Value{String: ptr(sample)}
		}
	}
	return g.ValueFor(s, 0)
}

func (g *Gen) timestampConverterCase(cfg map[string]string, isKey bool) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	if !g.Chance(0.03) {
		if g.Chance(0.95) {
			cfg["target.type"] = Pick(g, "string", "unix", "Date", "Time", "Timestamp")
		} else {
			cfg["target.type"] = Pick(g, "date", "STRING", "", " unix ", "long")
		}
	}
	sample := Pick(g, tsSamples...)
	// format is needed for string input and output; sometimes set anyway
	// or left out.
	if g.Chance(0.75) || (cfg["target.type"] == "string" && g.Chance(0.8)) {
		if g.Chance(0.85) {
			cfg["format"] = sample[0]
		} else {
			cfg["format"] = Pick(g, "", " yyyy ", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "'", "E a", "F w W u")
		}
	}
	if g.Chance(0.35) {
		cfg["unix.precision"] = Pick(g, "seconds", "milliseconds", "microseconds", "nanoseconds", "seconds",
			"microseconds", "nanoseconds", " seconds ")
		if g.Chance(0.05) {
			cfg["unix.precision"] = Pick(g, "minutes", "", "Seconds")
		}
	}
	r := g.Record()
	s := g.tsSchema()
	v := g.tsValue(s, sample[1])
	whole := g.Chance(0.35)
	if whole {
		if g.Chance(0.7) {
			cfg["field"] = Pick(g, "", "", " ")
		}
	} else {
		field := "ts"
		if g.Chance(0.15) {
			field = Pick(g, g.fieldNames...)
		}
		if g.Chance(0.03) {
			field = Pick(g, "nested.ts", "zz")
		}
		cfg["field"] = g.javaSpace(field)
		st := g.StructSchema(1)
		setField(st, Field{Name: "ts", Schema: s})
		sv := g.ValueFor(st, 1)
		if sv != nil {
			for i := range sv.Struct.Fields {
				if sv.Struct.Fields[i].Name == "ts" {
					sv.Struct.Fields[i].Value = v
				}
			}
		}
		s, v = st, sv
	}
	if g.Chance(0.9) {
		g.setPart(r, isKey, s, v)
	}
	return r
}

func (g *Gen) timestampRouterCase(cfg map[string]string) *Record {
	if g.Chance(0.85) {
		cfg["topic.format"] = g.javaSpace(Pick(g, "${topic}-${timestamp}", "${topic}", "", "x",
			"${timestamp}", "${topic}_${topic}", "${TOPIC}", "$ {topic}", "${topic}-${timestamp}-${timestamp}",
			"$", "${topic", "\\${topic}", "$1"))
	}
	if g.Chance(0.85) {
		cfg["timestamp.format"] = g.javaSpace(Pick(g, "yyyyMMdd", "yyyy-MM-dd", "", "HH", "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
			"'x'", "YYYY-ww", "E a", "yyyy-MM-dd'", "G yyyy", "D", "u", "kk K h", "MMMM", "q", "z Z X", "''"))
	}
	r := g.Record()
	if r.Timestamp == nil && g.Chance(0.7) {
		r.Timestamp = ptr(strconv.FormatInt(g.timestampMillis(), 10))
	}
	return r
}

func (g *Gen) valueToKeyCase(cfg map[string]string) *Record {
	g.boolCfg(cfg, "replace.null.with.default")
	fields := g.names(3)
	if !g.Chance(0.03) {
		cfg["fields"] = g.javaSpace(g.list(fields))
	}
	return g.shapedRecord(false, g.someFields(fields)...)
}
