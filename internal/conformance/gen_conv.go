package conformance

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt"
)

// Converter classes the generator covers.
const (
	classJSON        = "org.apache.kafka.connect.json.JsonConverter"
	classString      = "org.apache.kafka.connect.storage.StringConverter"
	classByteArray   = "org.apache.kafka.connect.converters.ByteArrayConverter"
	classSimpleHdr   = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
	convertersPkg    = "org.apache.kafka.connect.converters."
	classIntegerConv = convertersPkg + "IntegerConverter"
)

// numericConverters maps Kafka Connect's numeric converters to their type.
var numericConverters = [][2]string{
	{convertersPkg + "ShortConverter", "INT16"},
	{convertersPkg + "IntegerConverter", "INT32"},
	{convertersPkg + "LongConverter", "INT64"},
	{convertersPkg + "FloatConverter", "FLOAT32"},
	{convertersPkg + "DoubleConverter", "FLOAT64"},
	{convertersPkg + "BooleanConverter", "BOOLEAN"},
}

// ConverterCase returns a random converter case: a serialisation (convert)
// or a read of random bytes (parse), for one of Kafka Connect's converters.
func (g *Gen) ConverterCase(id string) *Request {
	req := &Request{ID: id, Topic: Pick(g, "t", "orders"), IsKey: g.Chance(0.3), Config: map[string]string{}}
	parse := g.Chance(0.35)
	switch n := g.r.IntN(10); {
	case n < 6:
		req.Class = classJSON
		g.jsonConfig(req.Config)
		if parse {
			req.Op = OpParse
			req.Data = ptr(base64.StdEncoding.EncodeToString(g.jsonDocument(req.Config["schemas.enable"] != "false")))
			return req
		}
		req.Op = OpConvert
		if req.Config["schemas.enable"] == "false" && g.Chance(0.6) {
			req.Schema, req.Value = nil, g.SchemalessValue(3)
		} else {
			req.Schema, req.Value = g.SchemaAndValue(3)
		}
	case n < 8:
		req.Class = classString
		if g.Chance(0.2) {
			req.Config["converter.encoding"] = Pick(g, "UTF-8", "UTF-16", "ISO-8859-1", "US-ASCII", "utf8")
		}
		if parse {
			req.Op = OpParse
			req.Data = g.rawData()
			return req
		}
		req.Op = OpConvert
		if g.Chance(0.5) {
			req.Schema = &Schema{Type: "STRING", Optional: g.Chance(0.5)}
			req.Value = g.ValueFor(req.Schema, 0)
		} else {
			req.Schema, req.Value = g.SchemaAndValue(2)
		}
	case n < 9:
		nc := Pick(g, numericConverters...)
		req.Class = nc[0]
		if parse {
			req.Op = OpParse
			req.Data = g.rawData()
			return req
		}
		req.Op = OpConvert
		switch g.r.IntN(6) {
		case 0:
			req.Schema, req.Value = g.SchemaAndValue(1)
		case 1:
			req.Schema, req.Value = nil, g.primitive(nc[1])
		default:
			req.Schema = &Schema{Type: nc[1], Optional: g.Chance(0.5)}
			req.Value = g.ValueFor(req.Schema, 0)
		}
	default:
		req.Class = classByteArray
		if parse {
			req.Op = OpParse
			req.Data = g.rawData()
			return req
		}
		req.Op = OpConvert
		if g.Chance(0.7) {
			req.Schema = &Schema{Type: "BYTES", Optional: g.Chance(0.5)}
			req.Value = g.ValueFor(req.Schema, 0)
		} else {
			req.Schema, req.Value = g.SchemaAndValue(1)
		}
	}
	return req
}

func (g *Gen) jsonConfig(cfg map[string]string) {
	cfg["schemas.enable"] = Pick(g, "true", "false")
	if g.Chance(0.3) {
		cfg["decimal.format"] = Pick(g, "BASE64", "NUMERIC", "numeric")
	}
	if g.Chance(0.2) {
		cfg["replace.null.with.default"] = Pick(g, "true", "false")
	}
	if g.Chance(0.05) {
		cfg["schemas.cache.size"] = Pick(g, "0", "1", "1000")
	}
}

// HeaderCase returns a random header converter case.
func (g *Gen) HeaderCase(id string) *Request {
	req := &Request{ID: id, Topic: "t", Key: Pick(g, "h", "trace"), Config: map[string]string{}}
	req.Class = classSimpleHdr
	if g.Chance(0.15) {
		req.Class = classJSON
		req.Config["converter.type"] = "header"
		g.jsonConfig(req.Config)
	}
	if g.Chance(0.35) {
		req.Op = OpHeaderParse
		if req.Class == classJSON {
			req.Data = ptr(base64.StdEncoding.EncodeToString(g.jsonDocument(req.Config["schemas.enable"] != "false")))
		} else {
			req.Data = ptr(base64.StdEncoding.EncodeToString([]byte(g.headerText(2))))
		}
		return req
	}
	req.Op = OpHeaderConvert
	req.Schema, req.Value = g.SchemaAndValue(2)
	return req
}

// rawData returns random bytes for a converter to read: null, empty,
// numeric-width, UTF-8 and invalid UTF-8.
func (g *Gen) rawData() *string {
	switch g.r.IntN(8) {
	case 0:
		return nil
	case 1:
		return ptr("")
	case 2, 3:
		return ptr(base64.StdEncoding.EncodeToString([]byte(g.String())))
	}
	n := Pick(g, 1, 2, 4, 8, 3, 0)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return ptr(base64.StdEncoding.EncodeToString(b))
}

// headerText returns a random text for SimpleHeaderConverter to read, from
// the grammar of Kafka Connect's Values.parseString, sometimes broken.
func (g *Gen) headerText(depth int) string {
	switch g.r.IntN(14) {
	case 0:
		return Pick(g, "true", "false", "TRUE", "null", "", " ", "\"\"", "\"quoted\"")
	case 1:
		return Pick(g, "0", "-1", "127", "128", "-129", "32768", "2147483648", "9223372036854775807",
			"9223372036854775808", "-9223372036854775809", "007", "+5", "1_000")
	case 2:
		return Pick(g, "1.5", ".5", "5.", "5E3", "1e-3", "-0.0", "1.7976931348623157E309", "NaN", "Infinity",
			"-Infinity", "3.4028235E38", "0.1", "1.00", "12345678901234567890.5")
	case 3:
		return Pick(g, "1970-01-01", "2020-02-29", "1582-10-04", "0001-01-01", "2020-13-01", "20200101")
	case 4:
		return Pick(g, "12:00:00.000Z", "24:00:00.000Z", "00:00:00.000Z", "12:00:00Z", "12:00:00.000+0100", "23:59:59.999Z")
	case 5:
		return Pick(g, "2020-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "2020-01-01T12:34:56.789+0000",
			"1500-06-01T00:00:00.000Z", "2020-01-01T00:00:00Z", "2020-01-01T24:00:00.000Z")
	case 6, 7:
		if depth > 0 {
			n := g.r.IntN(4)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = g.headerText(depth - 1)
			}
			sep := Pick(g, ",", ", ", " ,")
			return "[" + strings.Join(parts, sep) + "]"
		}
	case 8, 9:
		if depth > 0 {
			n := g.r.IntN(3)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = g.headerText(0) + Pick(g, ":", "=", ": ") + g.headerText(depth-1)
			}
			return "{" + strings.Join(parts, Pick(g, ",", ", ")) + "}"
		}
	case 11:
		// Digits outside ASCII (Java's Character.digit reads them) and
		// text that is not UTF-8.
		return Pick(g, "\u0661\u0662\u0663", "\u0662\u0660\u0662\u0660-\u0660\u0661-\u0660\u0661", "\uff11\uff12",
			"1\u0663.5", "\xff\xfe", "a\x80b", "[1,\xc3]")
	case 10:
		return Pick(g, "[", "]", "{", "}", "[1,", "{a:}", "[1,2", "{\"a\":1}", "[,]", "[1,,2]", "{:1}", "[\"a,b\"]")
	}
	return g.String()
}

// --- JSON documents ---------------------------------------------------------

// jsonDocument returns a JSON document for JsonConverter to read: mostly
// well-formed (an envelope when envelope is true), often with values that do
// not fit their schema, sometimes malformed (BOM, trailing data, leading
// zeros, truncation).
func (g *Gen) jsonDocument(envelope bool) []byte {
	var doc string
	s, v := g.SchemaAndValue(3)
	if envelope && g.Chance(0.9) {
		if s == nil && g.Chance(0.5) {
			doc = `{"schema":null,"payload":` + g.jsonPayload(nil, v) + `}`
		} else {
			if s == nil {
				s = g.Schema(2)
				v = g.ValueFor(s, 2)
			}
			doc = `{"schema":` + g.jsonSchema(s) + `,"payload":` + g.jsonPayload(s, v) + `}`
		}
	} else {
		doc = g.jsonPayload(s, v)
	}
	switch g.r.IntN(24) {
	case 20:
		// A lone surrogate escape: Java strings hold it, Go's cannot.
		doc = Pick(g, `"a\uD800b"`, `{"schema":{"type":"string"},"payload":"\uDC00"}`, `["\uD83D"]`)
	case 21:
		// UTF-16 and UTF-32, which Jackson detects from the first bytes.
		return encodeUTF16(doc, Pick(g, "le", "be", "bom-be", "bom-le"))
	case 0:
		doc = "\uFEFF" + doc
	case 1:
		doc += Pick(g, " x", "}", " ", "\n", "{}", "null")
	case 2:
		if len(doc) > 1 {
			doc = doc[:g.r.IntN(len(doc))]
		}
	case 3:
		doc = Pick(g, "", "null", " ", "1", "-0", "01", "1.0e5", `"x"`, "[]", "{}", `{"schema":null}`,
			`{"payload":1}`, `{"schema":{"type":"int32"},"payload":"1"}`, "NaN", "[01]", `{"a":1,"a":2}`,
			`{"schema":{"type":"int8"},"payload":128}`, `{"schema":{"type":"int64"},"payload":9223372036854775808}`,
			`{"schema":{"type":"int32"},"payload":1.5}`, `{"schema":{"type":"float"},"payload":1e39}`)
	}
	return []byte(doc)
}

var jsonTypeNames = map[string]string{
	"INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "FLOAT32": "float",
	"FLOAT64": "double", "BOOLEAN": "boolean", "STRING": "string", "BYTES": "bytes",
	"ARRAY": "array", "MAP": "map", "STRUCT": "struct",
}

// jsonSchema writes s in JsonConverter's schema form.
func (g *Gen) jsonSchema(s *Schema) string {
	var b strings.Builder
	b.WriteString(`{"type":"` + jsonTypeNames[s.Type] + `"`)
	switch s.Type {
	case "ARRAY":
		b.WriteString(`,"items":` + g.jsonSchema(s.ValueSchema))
	case "MAP":
		b.WriteString(`,"keys":` + g.jsonSchema(s.KeySchema) + `,"values":` + g.jsonSchema(s.ValueSchema))
	case "STRUCT":
		b.WriteString(`,"fields":[`)
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			fs := g.jsonSchema(f.Schema)
			b.WriteString(fs[:len(fs)-1] + `,"field":` + jsonString(f.Name) + `}`)
		}
		b.WriteByte(']')
	}
	if s.Optional || g.Chance(0.5) {
		fmt.Fprintf(&b, `,"optional":%t`, s.Optional)
	}
	if s.Name != nil {
		b.WriteString(`,"name":` + jsonString(*s.Name))
	}
	if s.Version != nil {
		fmt.Fprintf(&b, `,"version":%d`, *s.Version)
	}
	if s.Doc != nil {
		b.WriteString(`,"doc":` + jsonString(*s.Doc))
	}
	if s.Parameters != nil {
		b.WriteString(`,"parameters":{`)
		for i, p := range s.Parameters {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(p[0]) + ":" + jsonString(p[1]))
		}
		b.WriteByte('}')
	}
	if s.Default != nil {
		b.WriteString(`,"default":` + g.jsonPayload(s, s.Default))
	}
	b.WriteByte('}')
	return b.String()
}

// jsonPayload writes v (of schema s, nil for schemaless) as JSON, choosing
// among the forms a writer could use, sometimes a wrong one.
func (g *Gen) jsonPayload(s *Schema, v *Value) string {
	if v == nil {
		return "null"
	}
	if g.Chance(0.02) {
		return Pick(g, `"wrong"`, "1", "true", "[]", "{}", "1.5", "null")
	}
	var elem, key *Schema
	if s != nil {
		elem, key = s.ValueSchema, s.KeySchema
	}
	switch {
	case v.Int8 != nil:
		return strconv.Itoa(int(*v.Int8))
	case v.Int16 != nil:
		return strconv.Itoa(int(*v.Int16))
	case v.Int32 != nil:
		return strconv.Itoa(int(*v.Int32))
	case v.Int64 != nil:
		if g.Chance(0.05) {
			return *v.Int64 + ".0"
		}
		return *v.Int64
	case v.Float32 != nil:
		bits, _ := strconv.ParseUint(*v.Float32, 16, 32)
		return g.jsonFloat(float64(math.Float32frombits(uint32(bits))), 32)
	case v.Float64 != nil:
		bits, _ := strconv.ParseUint(*v.Float64, 16, 64)
		return g.jsonFloat(math.Float64frombits(bits), 64)
	case v.Boolean != nil:
		return strconv.FormatBool(*v.Boolean)
	case v.String != nil:
		return jsonString(*v.String)
	case v.Bytes != nil:
		return `"` + *v.Bytes + `"`
	case v.Date != nil:
		ms, _ := strconv.ParseInt(*v.Date, 10, 64)
		if s != nil && s.Name != nil && *s.Name == dateName {
			return strconv.FormatInt(ms/86400000, 10)
		}
		return strconv.FormatInt(ms, 10)
	case v.Decimal != nil:
		u, _ := new(big.Int).SetString(v.Decimal.Unscaled, 10)
		if g.Chance(0.3) {
			return decimalText(u, v.Decimal.Scale)
		}
		return `"` + base64.StdEncoding.EncodeToString(javafmt.TwosComplement(u)) + `"`
	case v.Array != nil:
		parts := make([]string, len(*v.Array))
		for i, e := range *v.Array {
			parts[i] = g.jsonPayload(elem, e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case v.Map != nil:
		stringKeys := key != nil && key.Type == "STRING"
		if key == nil {
			stringKeys = true
			for _, e := range *v.Map {
				if e[0] == nil || e[0].String == nil {
					stringKeys = false
				}
			}
		}
		parts := make([]string, len(*v.Map))
		for i, e := range *v.Map {
			if stringKeys && e[0] != nil && e[0].String != nil {
				parts[i] = jsonString(*e[0].String) + ":" + g.jsonPayload(elem, e[1])
			} else {
				parts[i] = "[" + g.jsonPayload(key, e[0]) + "," + g.jsonPayload(elem, e[1]) + "]"
			}
		}
		if stringKeys {
			return "{" + strings.Join(parts, ",") + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	case v.Struct != nil:
		parts := make([]string, 0, len(v.Struct.Fields))
		for i, f := range v.Struct.Fields {
			var fs *Schema
			if i < len(v.Struct.Schema.Fields) {
				fs = v.Struct.Schema.Fields[i].Schema
			}
			parts = append(parts, jsonString(f.Name)+":"+g.jsonPayload(fs, f.Value))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return "null"
}

func (g *Gen) jsonFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return Pick(g, `"NaN"`, "NaN")
	case math.IsInf(f, 1):
		return Pick(g, `"Infinity"`, "Infinity")
	case math.IsInf(f, -1):
		return Pick(g, `"-Infinity"`, "-Infinity")
	}
	if g.Chance(0.5) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return strconv.FormatFloat(f, 'E', -1, bits)
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func decimalText(u *big.Int, scale int32) string {
	if scale <= 0 {
		return new(big.Int).Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)).String()
	}
	neg := u.Sign() < 0
	digits := new(big.Int).Abs(u).String()
	for len(digits) <= int(scale) {
		digits = "0" + digits
	}
	out := digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	if neg {
		out = "-" + out
	}
	return out
}

// encodeUTF16 writes doc in UTF-16 (little or big endian, with or without a
// byte order mark).
func encodeUTF16(doc, form string) []byte {
	var out []byte
	if strings.HasPrefix(form, "bom") {
		doc = "\uFEFF" + doc
	}
	for _, u := range utf16.Encode([]rune(doc)) {
		if strings.HasSuffix(form, "le") {
			out = append(out, byte(u), byte(u>>8))
		} else {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	return out
}
