package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// SMT divergences CONFORMANCE.md explains (Cast, MaskField; the other SMTs
// of this file's slice — DropHeaders, ExtractField, HoistField, RegexRouter,
// SetSchemaMetadata, ValueToKey, Filter and the predicates — have none).
//
// Each rule rewrites Kafka Connect's response only, into what the
// documented difference makes of it, and then requires Sluice's response to
// be exactly that: a rule never normalises Sluice's side, so a Sluice bug
// next to a documented difference is not explained.
func init() {
	explain(
		Explanation{
			ID: "record-timestamp-go-zero",
			Reason: "a record timestamp of 0001-01-01T00:00:00Z (-62135596800000 ms) is Go's zero time, which " +
				"connect.Record reads as \"no timestamp\": an SMT's output record has none where Kafka Connect's " +
				"keeps that instant (Kafka itself refuses negative record timestamps, so no record from a topic has it)",
			Match: matchGoZeroTimestamp,
		},
		Explanation{
			ID: "cast-java17-float-digits",
			Reason: "Cast of a float32/float64 to string writes the shortest text that reads back to the same number, " +
				"as Java 19+ does (JDK-4511638); Java 17's Float/Double.toString sometimes writes one more digit " +
				"(7.8292792178068352E17 for 7.829279217806835E17)",
			Match: matchCastFloatDigits,
		},
		Explanation{
			ID: "maskfield-decimal-scale",
			Reason: "MaskField gives a Decimal Struct field's mask (0 or the replacement) the field's scale; Kafka Connect " +
				"puts BigDecimal.ZERO or new BigDecimal(replacement) with its own scale into the struct, a value whose " +
				"scale contradicts its schema (Kafka Connect's own Decimal.fromLogical then refuses it); a replacement " +
				"that cannot take the field's scale without rounding fails the record",
			Match: matchMaskDecimalScale,
		},
		Explanation{
			ID: "cast-whole-value-logical-name",
			Reason: "Cast to a whole-value type does not copy a logical type's name, version, doc and parameters " +
				"(Decimal, Date, Time, Timestamp) onto the cast schema; Kafka Connect copies them, making e.g. an INT8 " +
				"schema named org.apache.kafka.connect.data.Decimal, which no converter can read as a Decimal (and " +
				"failing the record when the schema has a default)",
			Match: matchCastLogicalName,
		},
	)
}

// matchGoZeroTimestamp explains an output record whose only difference is
// Kafka Connect's Go-zero timestamp, none in Sluice's.
func matchGoZeroTimestamp(req *Request, kc, sl *Response, kind string) bool {
	if kind != KindValue || !hasGoZeroTimestamp(req) || kc.Record == nil || sl.Record == nil ||
		kc.Record.Timestamp == nil || *kc.Record.Timestamp != goZeroMillis || sl.Record.Timestamp != nil {
		return false
	}
	return kcAdjusted(kc, sl, func(*Response) bool { return true })
}

// matchCastFloatDigits explains string values (and defaults) that Cast made
// of floats, where Sluice's text reads back to the same float with fewer
// digits than Kafka Connect's; everything else must be equal.
func matchCastFloatDigits(req *Request, kc, sl *Response, kind string) bool {
	if kind != KindValue || !isSMT(req, "Cast") || req.Record == nil || kc.Record == nil || sl.Record == nil {
		return false
	}
	whole, fields := castSpec(req.Config["spec"])
	if whole != "string" && !containsValue(fields, "string") {
		return false
	}
	return kcAdjusted(kc, sl, func(a *Response) bool {
		inV, inS := operatingPart(req.Record, req.Class)
		kV, kS := operatingPart(a.Record, req.Class)
		sV, sS := operatingPart(sl.Record, req.Class)
		n := 0
		swap := func(in, k, s *Value) {
			if in != nil && k != nil && s != nil && k.String != nil && s.String != nil &&
				*k.String != *s.String && sameFloatText(in, *k.String, *s.String) {
				k.String = s.String
				n++
			}
		}
		if whole == "string" {
			swap(inV, kV, sV)
			if inS != nil && kS != nil && sS != nil {
				swap(inS.Default, kS.Default, sS.Default)
			}
			return n > 0
		}
		for name, typ := range fields {
			if typ != "string" {
				continue
			}
			if inS == nil {
				// Schemaless: a map's entry of that name.
				swap(mapEntry(inV, name), mapEntry(kV, name), mapEntry(sV, name))
				continue
			}
			in := structField(inV, name)
			if in == nil && !strings.EqualFold(javaTrim(req.Config["replace.null.with.default"]), "false") {
				in = fieldDefault(inS, name) // Struct.get reads a null field as its default
			}
			swap(in, structField(kV, name), structField(sV, name))
			// The cast field's default, in the record's schema and in the
			// struct value's.
			for _, ss := range [][3]*Schema{{inS, kS, sS}, {structSchema(inV), structSchema(kV), structSchema(sV)}} {
				swap(fieldDefault(ss[0], name), fieldDefault(ss[1], name), fieldDefault(ss[2], name))
			}
		}
		return n > 0
	})
}

// matchMaskDecimalScale explains a masked Decimal Struct field that Sluice
// gave the field's scale: Kafka Connect's value there is the same number at
// another scale (KindValue), or a replacement that cannot take the field's
// scale, which Sluice refuses (KindSluiceFails). Only the masked fields of
// the masked part are looked at.
func matchMaskDecimalScale(req *Request, kc, sl *Response, kind string) bool {
	if !isSMT(req, "MaskField") || req.Record == nil || kc.Record == nil {
		return false
	}
	_, inS := operatingPart(req.Record, req.Class)
	if inS == nil || inS.Type != "STRUCT" {
		return false
	}
	var masked []*Field
	for _, name := range javaList(req.Config["fields"]) {
		for i := range inS.Fields {
			if f := &inS.Fields[i]; f.Name == name && isDecimalSchema(f.Schema) {
				masked = append(masked, f)
			}
		}
	}
	if len(masked) == 0 {
		return false
	}
	switch kind {
	case KindSluiceFails:
		if req.Config["replacement"] == "" || !(strings.Contains(sl.Error, "cannot be rescaled") ||
			strings.Contains(sl.Error, "cannot be given the field's scale")) {
			return false
		}
		// Kafka Connect put a Decimal at another scale than its field's.
		kV, _ := operatingPart(kc.Record, req.Class)
		for _, f := range masked {
			if d := structField(kV, f.Name); d != nil && d.Decimal != nil && d.Decimal.Scale != decimalScale(f.Schema) {
				return true
			}
		}
		return false
	case KindValue:
		if sl.Record == nil {
			return false
		}
		return kcAdjusted(kc, sl, func(a *Response) bool {
			kV, _ := operatingPart(a.Record, req.Class)
			sV, _ := operatingPart(sl.Record, req.Class)
			n := 0
			for _, f := range masked {
				k, s := structField(kV, f.Name), structField(sV, f.Name)
				if k == nil || s == nil || k.Decimal == nil || s.Decimal == nil ||
					s.Decimal.Scale != decimalScale(f.Schema) || k.Decimal.Scale == s.Decimal.Scale ||
					!sameDecimal(k.Decimal, s.Decimal) {
					continue
				}
				*k.Decimal = *s.Decimal
				n++
			}
			return n > 0
		})
	}
	return false
}

// matchCastLogicalName explains a whole-value Cast of a logical type:
// Sluice's cast schema is plain (no name, version, doc, parameters) where
// Kafka Connect's carries the logical type's (KindValue), or Kafka Connect
// failed on the cast default its copied logical name makes invalid, and
// Sluice's output is the input record with the part cast as Kafka Connect
// casts it, under a plain schema (KindSluiceAccept).
func matchCastLogicalName(req *Request, kc, sl *Response, kind string) bool {
	if !isSMT(req, "Cast") || req.Record == nil || sl.Record == nil {
		return false
	}
	whole, _ := castSpec(req.Config["spec"])
	inV, inS := operatingPart(req.Record, req.Class)
	if whole == "" || inS == nil || !isLogicalSchema(inS) || inV == nil {
		return false
	}
	switch kind {
	case KindSluiceAccept:
		if inS.Default == nil || !strings.Contains(kc.Error, "Invalid default value") {
			return false
		}
		v, ok1 := castLogical(inS, inV, whole)
		d, ok2 := castLogical(inS, inS.Default, whole)
		if !ok1 || !ok2 {
			return false
		}
		want := &Response{ID: sl.ID, Record: cloneRecord(req.Record)}
		if want.Record == nil {
			return false
		}
		setPart(want.Record, req.Class, &Schema{Type: strings.ToUpper(whole), Optional: inS.Optional, Default: d}, v)
		if want = rewrite(want, asOutput); want == nil {
			return false
		}
		return kcAdjusted(want, sl, func(*Response) bool { return true })
	case KindValue:
		if kc.Record == nil {
			return false
		}
		return kcAdjusted(kc, sl, func(a *Response) bool {
			_, kS := operatingPart(a.Record, req.Class)
			_, sS := operatingPart(sl.Record, req.Class)
			if kS == nil || sS == nil || sS.Name != nil || sS.Version != nil || sS.Doc != nil || sS.Parameters != nil ||
				kS.Name == nil || *kS.Name != *inS.Name || !sameInt32Ptr(kS.Version, inS.Version) ||
				!sameStrPtr(kS.Doc, inS.Doc) || fmt.Sprint(kS.Parameters) != fmt.Sprint(inS.Parameters) {
				return false
			}
			kS.Name, kS.Version, kS.Doc, kS.Parameters = nil, nil, nil, nil
			return true
		})
	}
	return false
}

// kcAdjusted reports whether Sluice's response sl equals Kafka Connect's kc
// once the differences every SMT case may show (smtDocumented) and then fix
// have rewritten a copy of kc. fix edits that copy and reports whether it
// found its difference; Sluice's response is not touched.
func kcAdjusted(kc, sl *Response, fix func(a *Response) bool) bool {
	a := rewrite(kc, smtDocumented)
	if a == nil || !fix(a) {
		return false
	}
	return diffKind(a, sl) == ""
}

// asOutput rewrites a response tree whose record was built from a
// request's record into the form the harness writes an output record in:
// headers and struct fields as lists (maybe empty), a sink record's absent
// partition as 0 (SinkRecord's), NaNs with their canonical bits
// (floatToIntBits, doubleToLongBits).
func asOutput(tree any) {
	if obj, ok := tree.(map[string]any); ok {
		if rec, ok := obj["record"].(map[string]any); ok {
			if rec["headers"] == nil {
				rec["headers"] = []any{}
			}
			if rec["sink"] != nil && rec["partition"] == nil {
				rec["partition"] = float64(0)
			}
		}
	}
	walk(tree, func(obj map[string]any) {
		if f, ok := obj["fields"]; ok && f == nil && !isSchema(obj) {
			obj["fields"] = []any{}
		}
		if x, ok := obj["float32"].(string); ok {
			if b, err := strconv.ParseUint(x, 16, 32); err == nil {
				obj["float32"] = float32Bits(math.Float32frombits(uint32(b)))
			}
		}
		if x, ok := obj["float64"].(string); ok {
			if b, err := strconv.ParseUint(x, 16, 64); err == nil {
				obj["float64"] = float64Bits(math.Float64frombits(b))
			}
		}
	})
}

// isSMT reports whether req is a transform request for the SMT called name
// (either variant).
func isSMT(req *Request, name string) bool {
	c := strings.TrimPrefix(req.Class, smtPkg)
	return c == name || c == name+"$Key" || c == name+"$Value"
}

// operatingPart returns the value and schema of the part an SMT class
// works on: the key for $Key, else the value. r may be nil.
func operatingPart(r *Record, class string) (*Value, *Schema) {
	if r == nil {
		return nil, nil
	}
	if strings.HasSuffix(class, "$Key") {
		return r.Key, r.KeySchema
	}
	return r.Value, r.ValueSchema
}

// setPart sets the part an SMT class works on.
func setPart(r *Record, class string, s *Schema, v *Value) {
	if strings.HasSuffix(class, "$Key") {
		r.KeySchema, r.Key = s, v
	} else {
		r.ValueSchema, r.Value = s, v
	}
}

func cloneRecord(r *Record) *Record {
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	var out Record
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return &out
}

// isLogicalSchema reports whether s is one of Connect's logical types.
func isLogicalSchema(s *Schema) bool {
	if s.Name == nil {
		return false
	}
	switch *s.Name {
	case "org.apache.kafka.connect.data.Decimal":
		return s.Type == "BYTES"
	case "org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time":
		return s.Type == "INT32"
	case "org.apache.kafka.connect.data.Timestamp":
		return s.Type == "INT64"
	}
	return false
}

func isDecimalSchema(s *Schema) bool {
	return s != nil && s.Name != nil && *s.Name == "org.apache.kafka.connect.data.Decimal" && s.Type == "BYTES"
}

// decimalScale is a Decimal schema's scale parameter.
func decimalScale(s *Schema) int32 {
	for _, p := range s.Parameters {
		if p[0] == "scale" {
			n, _ := strconv.ParseInt(p[1], 10, 32)
			return int32(n)
		}
	}
	return 0
}

// sameDecimal reports whether a and b are the same number.
func sameDecimal(a, b *DecimalValue) bool {
	x, ok1 := decimalRat(a)
	y, ok2 := decimalRat(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

func decimalRat(d *DecimalValue) (*big.Rat, bool) {
	u, ok := new(big.Int).SetString(d.Unscaled, 10)
	if !ok {
		return nil, false
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.Scale))), nil)
	if d.Scale >= 0 {
		return new(big.Rat).SetFrac(u, p), true
	}
	return new(big.Rat).SetInt(u.Mul(u, p)), true
}

func abs32(x int32) int64 {
	if x < 0 {
		return -int64(x)
	}
	return int64(x)
}

// javaList splits a LIST config value as Kafka Connect's ConfigDef does:
// String.trim, then split on commas with surrounding \s.
func javaList(s string) []string {
	s = javaTrim(s)
	if s == "" {
		return nil
	}
	return javaListComma.Split(s, -1)
}

var javaListComma = regexp.MustCompile(`[ \t\n\x0B\f\r]*,[ \t\n\x0B\f\r]*`)

// javaTrim is Java's String.trim.
func javaTrim(s string) string { return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }) }

// castSpec reads Cast's spec: the whole-value target type (lower case), or
// the field targets by field name.
func castSpec(spec string) (whole string, fields map[string]string) {
	items := javaList(spec)
	trim := javaTrim
	if len(items) == 1 && !strings.Contains(items[0], ":") {
		return strings.ToLower(trim(items[0])), nil
	}
	fields = map[string]string{}
	for _, it := range items {
		parts := strings.Split(it, ":")
		if len(parts) != 2 {
			return "", nil
		}
		fields[trim(parts[0])] = strings.ToLower(trim(parts[1]))
	}
	return "", fields
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

// structField returns the value of the struct v's field name, nil if none.
func structField(v *Value, name string) *Value {
	if v == nil || v.Struct == nil {
		return nil
	}
	for _, f := range v.Struct.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

func structSchema(v *Value) *Schema {
	if v == nil || v.Struct == nil {
		return nil
	}
	return v.Struct.Schema
}

// mapEntry returns the value of the map v's string key name, nil if none.
func mapEntry(v *Value, name string) *Value {
	if v == nil || v.Map == nil {
		return nil
	}
	for _, e := range *v.Map {
		if e[0] != nil && e[0].String != nil && *e[0].String == name {
			return e[1]
		}
	}
	return nil
}

// fieldDefault returns the default of the STRUCT schema s's field name.
func fieldDefault(s *Schema, name string) *Value {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Name == name && f.Schema != nil {
			return f.Schema.Default
		}
	}
	return nil
}

// sameFloatText reports whether the texts k (Kafka Connect's) and s
// (Sluice's) of the float in both read back to that float, with the same
// exponent, s having fewer significant digits than k.
func sameFloatText(in *Value, k, s string) bool {
	var f float64
	bits := 64
	switch {
	case in.Float32 != nil:
		b, err := strconv.ParseUint(*in.Float32, 16, 32)
		if err != nil {
			return false
		}
		f, bits = float64(math.Float32frombits(uint32(b))), 32
	case in.Float64 != nil:
		b, err := strconv.ParseUint(*in.Float64, 16, 64)
		if err != nil {
			return false
		}
		f = math.Float64frombits(b)
	default:
		return false
	}
	kf, err1 := strconv.ParseFloat(k, bits)
	sf, err2 := strconv.ParseFloat(s, bits)
	if err1 != nil || err2 != nil || kf != f || sf != f || !strings.Contains(k, ".") || !strings.Contains(s, ".") {
		return false
	}
	kMant, kExp, _ := strings.Cut(k, "E")
	sMant, sExp, _ := strings.Cut(s, "E")
	return kExp == sExp && len(sigDigits(sMant)) < len(sigDigits(kMant))
}

// sigDigits returns the significant digits of a plain decimal number.
func sigDigits(s string) string {
	s = strings.TrimLeft(strings.ReplaceAll(strings.TrimLeft(s, "+-"), ".", ""), "0")
	return strings.TrimRight(s, "0")
}

func sameStrPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameInt32Ptr(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// castLogical is Kafka Connect's Cast of a value v of the logical schema s
// to the whole-value type target (Cast.castValueToType: Date, Time and
// Timestamp through their integer form, or as text by
// Values.dateFormatFor in UTC; a Decimal through java.lang.Number's
// conversions, or BigDecimal.toString). ok is false for a value it cannot
// read.
func castLogical(s *Schema, v *Value, target string) (out *Value, ok bool) {
	if v == nil {
		return nil, true
	}
	var (
		l    int64   // Number.longValue (narrower types: its low bits)
		f64  float64 // Number.doubleValue
		f32  float32 // Number.floatValue
		text string  // castToString
	)
	switch *s.Name {
	case "org.apache.kafka.connect.data.Decimal":
		if v.Decimal == nil {
			return nil, false
		}
		r, ok := decimalRat(v.Decimal)
		if !ok {
			return nil, false
		}
		t := new(big.Int).Quo(r.Num(), r.Denom()) // toBigInteger: toward zero
		l = int64(new(big.Int).And(t, new(big.Int).SetUint64(1<<64-1)).Uint64())
		f64, _ = r.Float64()
		f32, _ = r.Float32()
		text = bigDecimalString(v.Decimal)
	default:
		if v.Date == nil {
			return nil, false
		}
		ms, err := strconv.ParseInt(*v.Date, 10, 64)
		if err != nil {
			return nil, false
		}
		switch *s.Name {
		case "org.apache.kafka.connect.data.Date":
			l = int64(int32(ms / msPerDay))
		case "org.apache.kafka.connect.data.Time":
			l = int64(int32(ms))
		default:
			l = ms
		}
		f64, f32 = float64(l), float32(l)
		text = javaDateText(ms)
	}
	switch target {
	case "int8":
		return &Value{Int8: ptr(int8(l))}, true
	case "int16":
		return &Value{Int16: ptr(int16(l))}, true
	case "int32":
		return &Value{Int32: ptr(int32(l))}, true
	case "int64":
		return &Value{Int64: ptr(strconv.FormatInt(l, 10))}, true
	case "float32":
		return &Value{Float32: ptr(float32Bits(f32))}, true
	case "float64":
		return &Value{Float64: ptr(float64Bits(f64))}, true
	case "boolean":
		return &Value{Boolean: ptr(l != 0)}, true
	case "string":
		return &Value{String: ptr(text)}, true
	}
	return nil, false
}

const msPerDay = 86400000

// javaDateText formats an instant as Kafka Connect's Cast does
// (Values.dateFormatFor, UTC): before one day past the epoch as a time of
// day, at a midnight as a date, else as a timestamp. Dates are only
// written for instants after the epoch, where Java's calendar is
// Gregorian.
func javaDateText(ms int64) string {
	tod := ((ms % msPerDay) + msPerDay) % msPerDay
	clock := fmt.Sprintf("%02d:%02d:%02d.%03d", tod/3600000, tod/60000%60, tod/1000%60, tod%1000)
	if ms < msPerDay {
		return clock + "Z"
	}
	y, m, d := civilDate(ms / msPerDay)
	date := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if ms%msPerDay == 0 {
		return date
	}
	return date + "T" + clock + "Z"
}

// civilDate is the Gregorian date of a day count since 1970-01-01 (days >= 0).
func civilDate(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// bigDecimalString is Java's BigDecimal.toString.
func bigDecimalString(d *DecimalValue) string {
	coeff, neg := strings.CutPrefix(d.Unscaled, "-")
	sign := ""
	if neg {
		sign = "-"
	}
	scale := int64(d.Scale)
	adjusted := -scale + int64(len(coeff)-1)
	switch {
	case scale == 0:
		return sign + coeff
	case scale > 0 && adjusted >= -6:
		if n := int64(len(coeff)); n > scale {
			return sign + coeff[:n-scale] + "." + coeff[n-scale:]
		}
		return sign + "0." + strings.Repeat("0", int(scale)-len(coeff)) + coeff
	}
	out := sign + coeff[:1]
	if len(coeff) > 1 {
		out += "." + coeff[1:]
	}
	exp := strconv.FormatInt(adjusted, 10)
	if adjusted > 0 {
		exp = "+" + exp
	}
	return out + "E" + exp
}

// goZeroMillis is Go's zero time.Time in Unix milliseconds.
const goZeroMillis = "-62135596800000"

// hasGoZeroTimestamp reports whether req's record has Go's zero time as its
// timestamp.
func hasGoZeroTimestamp(req *Request) bool {
	return req.Record != nil && req.Record.Timestamp != nil && *req.Record.Timestamp == goZeroMillis
}

// smtDocumented normalises the difference every SMT case may show besides
// its own: Go's zero timestamp read as none (record-timestamp-go-zero).
// Apply it to Kafka Connect's response: it turns it into what Sluice holds.
func smtDocumented(tree any) {
	if obj, ok := tree.(map[string]any); ok {
		if rec, ok := obj["record"].(map[string]any); ok && rec["timestamp"] == goZeroMillis {
			rec["timestamp"] = nil
		}
	}
}
