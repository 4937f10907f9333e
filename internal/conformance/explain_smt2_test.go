package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

// The rules of explain_smt2.go on hand-made responses: each explains its
// documented difference, and nothing next to or instead of it.

func ruleByID(t *testing.T, id string) Explanation {
	t.Helper()
	for _, e := range explanations {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no rule %s", id)
	return Explanation{}
}

// cloneResp deep-copies r.
func cloneResp(t *testing.T, r *Response) *Response {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out Response
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

type ruleCase struct {
	name    string
	kc, sl  *Response
	explain bool
}

// checkRule runs the cases through Compare (so kind is what the tester
// computes) and checks that rule id explains exactly the cases marked so.
func checkRule(t *testing.T, id string, req *Request, cases []ruleCase) {
	t.Helper()
	rule := ruleByID(t, id)
	for _, c := range cases {
		kind := diffKind(c.kc, c.sl)
		if kind == "" {
			t.Errorf("%s: no divergence to explain", c.name)
			continue
		}
		if got := rule.Match(req, c.kc, c.sl, kind); got != c.explain {
			t.Errorf("%s (%s): %s explains it = %v, want %v", c.name, kind, id, got, c.explain)
		}
		if v := Compare(req, c.kc, c.sl); c.explain && (v.Outcome != Explained || v.Explanation != id) {
			t.Errorf("%s: Compare gave %v, want explained:%s", c.name, v, id)
		}
	}
}

func schemaOf(typ string) *Schema { return &Schema{Type: typ, Optional: true} }

func logical(typ, name string, params ...[2]string) *Schema {
	return &Schema{Type: typ, Name: ptr(name), Version: ptr(int32(1)), Parameters: params}
}

func decimalSchema(scale int) *Schema {
	return logical("BYTES", "org.apache.kafka.connect.data.Decimal", [2]string{"scale", fmt.Sprint(scale)})
}

func dec(unscaled string, scale int32) *Value {
	return &Value{Decimal: &DecimalValue{Unscaled: unscaled, Scale: scale}}
}

func str(s string) *Value   { return &Value{String: ptr(s)} }
func i32(n int32) *Value    { return &Value{Int32: ptr(n)} }
func i64(n int64) *Value    { return &Value{Int64: ptr(fmt.Sprint(n))} }
func f64(f float64) *Value  { return &Value{Float64: ptr(float64Bits(f))} }
func f32(f float32) *Value  { return &Value{Float32: ptr(float32Bits(f))} }
func date(ms int64) *Value  { return &Value{Date: ptr(fmt.Sprint(ms))} }
func boolean(b bool) *Value { return &Value{Boolean: ptr(b)} }

// structOf builds a STRUCT schema and value from name, schema, value
// triples.
func structOf(fields ...any) (*Schema, *Value) {
	s := &Schema{Type: "STRUCT"}
	sv := &StructValue{Schema: s}
	for i := 0; i < len(fields); i += 3 {
		name, fs, fv := fields[i].(string), fields[i+1].(*Schema), fields[i+2].(*Value)
		s.Fields = append(s.Fields, Field{Name: name, Schema: fs})
		sv.Fields = append(sv.Fields, FieldValue{Name: name, Value: fv})
	}
	return s, &Value{Struct: sv}
}

func mapOf(kv ...any) *Value {
	var m [][2]*Value
	for i := 0; i < len(kv); i += 2 {
		m = append(m, [2]*Value{str(kv[i].(string)), kv[i+1].(*Value)})
	}
	return &Value{Map: &m}
}

func transformReq(class string, cfg map[string]string, rec *Record) *Request {
	return &Request{ID: "t", Op: OpTransform, Class: smtPkg + class, Config: cfg, Record: rec}
}

func baseRecord() *Record {
	return &Record{Topic: "t", Partition: ptr(int32(0)), KeySchema: schemaOf("STRING"), Key: str("k"), Headers: []Header{}}
}

// with returns a copy of r's record with edit applied.
func with(t *testing.T, r *Response, edit func(rec *Record)) *Response {
	c := cloneResp(t, r)
	edit(c.Record)
	return c
}

func TestRuleRecordTimestampGoZero(t *testing.T) {
	rec := baseRecord()
	rec.ValueSchema, rec.Value = schemaOf("INT32"), i32(1)
	rec.Timestamp = ptr(goZeroMillis)
	req := transformReq("Cast$Value", map[string]string{"spec": "int64"}, rec)
	kc := &Response{Record: cloneRecord(rec)}
	kc.Record.ValueSchema, kc.Record.Value = schemaOf("INT64"), i64(1)
	sl := with(t, kc, func(r *Record) { r.Timestamp = nil })
	checkRule(t, "record-timestamp-go-zero", req, []ruleCase{
		{"timestamp dropped", kc, sl, true},
		{"timestamp dropped and value wrong", kc, with(t, sl, func(r *Record) { r.Value = i64(2) }), false},
		{"timestamp dropped and schema wrong", kc, with(t, sl, func(r *Record) { r.ValueSchema = schemaOf("INT32") }), false},
		{"another timestamp", kc, with(t, sl, func(r *Record) { r.Timestamp = ptr("0") }), false},
		{"Sluice keeps it, Kafka Connect has none", with(t, kc, func(r *Record) { r.Timestamp = nil }),
			with(t, sl, func(r *Record) { r.Timestamp = ptr(goZeroMillis); r.Value = i64(2) }), false},
	})
	other := transformReq("Cast$Value", map[string]string{"spec": "int64"}, baseRecord())
	other.Record.Timestamp = ptr("5")
	if ruleByID(t, "record-timestamp-go-zero").Match(other, kc, sl, KindValue) {
		t.Error("explained for a request without the Go zero timestamp")
	}
}

func TestRuleCastJava17FloatDigits(t *testing.T) {
	const x = 7.829279217806835e17
	rec := baseRecord()
	rec.ValueSchema, rec.Value = structOf("f", schemaOf("FLOAT64"), f64(x), "s", schemaOf("STRING"), str("1.10"),
		"g", schemaOf("FLOAT64"), f64(x))
	req := transformReq("Cast$Value", map[string]string{"spec": " f : STRING "}, rec)
	outS, outV := structOf("f", schemaOf("STRING"), str("7.8292792178068352E17"), "s", schemaOf("STRING"), str("1.10"),
		"g", schemaOf("FLOAT64"), f64(x))
	kc := &Response{Record: cloneRecord(rec)}
	kc.Record.ValueSchema, kc.Record.Value = outS, outV
	sl := with(t, kc, func(r *Record) { r.Value.Struct.Fields[0].Value = str("7.829279217806835E17") })
	setField := func(r *Record, i int, v *Value) { r.Value.Struct.Fields[i].Value = v }
	checkRule(t, "cast-java17-float-digits", req, []ruleCase{
		{"shortest digits", kc, sl, true},
		{"another number", kc, with(t, sl, func(r *Record) { setField(r, 0, str("7.82927921780684E17")) }), false},
		{"more digits than Kafka Connect", with(t, kc, func(r *Record) { setField(r, 0, str("7.829279217806835E17")) }),
			with(t, sl, func(r *Record) { setField(r, 0, str("7.8292792178068352E17")) }), false},
		{"other exponent form", kc, with(t, sl, func(r *Record) { setField(r, 0, str("782927921780683500.0")) }), false},
		// The old whole-record comparison explained digits anywhere.
		{"digits of a field not cast", kc, with(t, sl, func(r *Record) { setField(r, 1, str("1.1")) }), false},
		{"shortest digits and an uncast float changed", kc, with(t, sl, func(r *Record) { setField(r, 2, f64(x+128)) }), false},
		{"shortest digits and the key changed", kc, with(t, sl, func(r *Record) { r.Key = str("K") }), false},
	})

	// A null field read as its default (replace.null.with.default), and
	// the cast default in both the record's and the struct's schema.
	withDefault := &Schema{Type: "FLOAT64", Optional: true, Default: f64(x)}
	rec = baseRecord()
	rec.ValueSchema, rec.Value = structOf("n", withDefault, (*Value)(nil))
	req = transformReq("Cast$Value", map[string]string{"spec": "n:string"}, rec)
	kc = &Response{Record: cloneRecord(rec)}
	kc.Record.ValueSchema, kc.Record.Value = structOf("n", &Schema{Type: "STRING", Optional: true, Default: str("7.8292792178068352E17")},
		str("7.8292792178068352E17"))
	sl = with(t, kc, func(r *Record) {
		r.Value.Struct.Fields[0].Value = str("7.829279217806835E17")
		r.ValueSchema.Fields[0].Schema.Default = str("7.829279217806835E17")
		r.Value.Struct.Schema.Fields[0].Schema.Default = str("7.829279217806835E17")
	})
	checkRule(t, "cast-java17-float-digits", req, []ruleCase{
		{"null field read as its default", kc, sl, true},
		{"struct schema's default another number", kc, with(t, sl, func(r *Record) {
			r.Value.Struct.Schema.Fields[0].Schema.Default = str("7.82927921780684E17")
		}), false},
	})
	req.Config["replace.null.with.default"] = " FALSE"
	if ruleByID(t, "cast-java17-float-digits").Match(req, kc, with(t, sl, func(r *Record) {
		r.ValueSchema.Fields[0].Schema.Default = str("7.8292792178068352E17")
		r.Value.Struct.Schema.Fields[0].Schema.Default = str("7.8292792178068352E17")
	}), KindValue) {
		t.Error("explained a null field's text with replace.null.with.default=false")
	}

	// Whole value, float32, and the cast default.
	rec = baseRecord()
	rec.ValueSchema = &Schema{Type: "FLOAT32", Default: f32(0.1)}
	rec.Value = f32(0.1)
	req = transformReq("Cast$Value", map[string]string{"spec": "string"}, rec)
	kc = &Response{Record: cloneRecord(rec)}
	kc.Record.ValueSchema = &Schema{Type: "STRING", Default: str("0.100000001")}
	kc.Record.Value = str("0.100000001")
	sl = with(t, kc, func(r *Record) { r.Value, r.ValueSchema.Default = str("0.1"), str("0.1") })
	checkRule(t, "cast-java17-float-digits", req, []ruleCase{
		{"whole value and default", kc, sl, true},
		{"default wrong", kc, with(t, sl, func(r *Record) { r.ValueSchema.Default = str("0.2") }), false},
		{"value of another float", kc, with(t, sl, func(r *Record) { r.Value = str("0.10000001") }), false},
	})
	// A string input is not a float: its text must be equal.
	rec.ValueSchema, rec.Value = &Schema{Type: "STRING"}, str("0.100000001")
	if ruleByID(t, "cast-java17-float-digits").Match(req, kc, with(t, kc, func(r *Record) { r.Value = str("0.1") }), KindValue) {
		t.Error("explained a string input's text")
	}
}

func TestRuleMaskFieldDecimalScale(t *testing.T) {
	rec := baseRecord()
	rec.ValueSchema, rec.Value = structOf("d", decimalSchema(2), dec("1234", 2), "e", decimalSchema(2), dec("500", 2))
	ks, kv := structOf("d", decimalSchema(2), dec("77", 2))
	rec.KeySchema, rec.Key = ks, kv
	req := transformReq("MaskField$Value", map[string]string{"fields": "\td , x"}, rec)
	kc := &Response{Record: cloneRecord(rec)}
	kc.Record.Value.Struct.Fields[0].Value = dec("0", 0)
	sl := with(t, kc, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("0", 2) })
	checkRule(t, "maskfield-decimal-scale", req, []ruleCase{
		{"mask at the field's scale", kc, sl, true},
		{"another number", kc, with(t, sl, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("1", 2) }), false},
		{"not the field's scale", kc, with(t, sl, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("0", 3) }), false},
		// The old whole-record normalisation explained these.
		{"unmasked field's scale", with(t, kc, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("0", 2) }),
			with(t, sl, func(r *Record) { r.Value.Struct.Fields[1].Value = dec("5", 0) }), false},
		{"mask and the key's scale", kc, with(t, sl, func(r *Record) { r.Key.Struct.Fields[0].Value = dec("770", 3) }), false},
	})

	// A replacement that cannot take the field's scale.
	reqR := transformReq("MaskField$Value", map[string]string{"fields": "d", "replacement": "1.234"}, rec)
	kcR := with(t, kc, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("1234", 3) })
	slErr := &Response{Error: "DataException: field \"d\": 1.234 cannot be rescaled to scale 2", Phase: "apply"}
	checkRule(t, "maskfield-decimal-scale", reqR, []ruleCase{
		{"replacement refused", kcR, slErr, true},
		{"Kafka Connect's value at the field's scale", with(t, kc, func(r *Record) { r.Value.Struct.Fields[0].Value = dec("123", 2) }), slErr, false},
		{"another error", kcR, &Response{Error: "DataException: boom", Phase: "apply"}, false},
	})
	unmasked := transformReq("MaskField$Value", map[string]string{"fields": "x", "replacement": "1.234"}, rec)
	if ruleByID(t, "maskfield-decimal-scale").Match(unmasked, kcR, slErr, KindSluiceFails) {
		t.Error("explained a refusal with no masked Decimal field")
	}

	// Schemaless: Sluice masks as Kafka Connect does, nothing to explain.
	rec = baseRecord()
	rec.Value = mapOf("d", dec("1234", 2))
	req = transformReq("MaskField$Value", map[string]string{"fields": "d"}, rec)
	kc = &Response{Record: cloneRecord(rec)}
	kc.Record.Value = mapOf("d", dec("0", 0))
	checkRule(t, "maskfield-decimal-scale", req, []ruleCase{
		{"schemaless map", kc, with(t, kc, func(r *Record) { r.Value = mapOf("d", dec("0", 2)) }), false},
	})
}

func TestRuleCastWholeValueLogicalName(t *testing.T) {
	const day = 86400000
	dateSchema := logical("INT32", "org.apache.kafka.connect.data.Date")
	rec := baseRecord()
	rec.ValueSchema, rec.Value = dateSchema, date(3*day)
	req := transformReq("Cast$Value", map[string]string{"spec": "int64"}, rec)
	kc := &Response{Record: cloneRecord(rec)}
	kc.Record.ValueSchema = &Schema{Type: "INT64", Name: dateSchema.Name, Version: dateSchema.Version}
	kc.Record.Value = i64(3)
	sl := with(t, kc, func(r *Record) { r.ValueSchema = &Schema{Type: "INT64"} })
	checkRule(t, "cast-whole-value-logical-name", req, []ruleCase{
		{"logical name not copied", kc, sl, true},
		{"and the value wrong", kc, with(t, sl, func(r *Record) { r.Value = i64(4) }), false},
		{"and optional", kc, with(t, sl, func(r *Record) { r.ValueSchema.Optional = true }), false},
		{"another name", kc, with(t, sl, func(r *Record) { r.ValueSchema.Name = ptr("x") }), false},
		{"and the key changed", kc, with(t, sl, func(r *Record) { r.Key = str("K") }), false},
	})
	fieldReq := transformReq("Cast$Value", map[string]string{"spec": "x:int64"}, rec)
	if ruleByID(t, "cast-whole-value-logical-name").Match(fieldReq, kc, sl, KindValue) {
		t.Error("explained a field cast")
	}

	// With a default, Kafka Connect fails; Sluice must give the cast the
	// input implies.
	rec.ValueSchema = logical("INT32", "org.apache.kafka.connect.data.Date")
	rec.ValueSchema.Default = date(2 * day)
	kcErr := &Response{Error: "SchemaBuilderException: Invalid default value", Phase: "apply"}
	good := &Response{Record: cloneRecord(rec)}
	good.Record.ValueSchema = &Schema{Type: "INT64", Default: i64(2)}
	good.Record.Value = i64(3)
	checkRule(t, "cast-whole-value-logical-name", req, []ruleCase{
		{"the cast Kafka Connect would make", kcErr, good, true},
		{"value wrong", kcErr, with(t, good, func(r *Record) { r.Value = i64(0) }), false},
		{"default wrong", kcErr, with(t, good, func(r *Record) { r.ValueSchema.Default = i64(0) }), false},
		{"logical name kept", kcErr, with(t, good, func(r *Record) { r.ValueSchema.Name = dateSchema.Name }), false},
		{"topic changed", kcErr, with(t, good, func(r *Record) { r.Topic = "u" }), false},
		{"another error", &Response{Error: "DataException: boom", Phase: "apply"}, good, false},
	})
}

// castLogical, the expectation the sluice-accepts case is held to, against
// values printed by Kafka Connect 4.3.1 (Values.dateFormatFor in UTC,
// BigDecimal.toString, Number's conversions).
func TestCastLogicalAsKafkaConnect(t *testing.T) {
	dateS := logical("INT32", "org.apache.kafka.connect.data.Date")
	timeS := logical("INT32", "org.apache.kafka.connect.data.Time")
	tsS := logical("INT64", "org.apache.kafka.connect.data.Timestamp")
	decS := decimalSchema(0)
	for _, c := range []struct {
		s      *Schema
		v      *Value
		target string
		want   *Value
	}{
		{timeS, date(43200000), "string", str("12:00:00.000Z")},
		{tsS, date(-86400000), "string", str("00:00:00.000Z")},
		{tsS, date(-1), "string", str("23:59:59.999Z")},
		{dateS, date(3 * 86400000), "string", str("1970-01-04")},
		{tsS, date(3*86400000 + 1234), "string", str("1970-01-04T00:00:01.234Z")},
		{tsS, date(math.MaxInt64), "string", str("292278994-08-17T07:12:55.807Z")},
		{dateS, date(253402300800000), "string", str("10000-01-01")},
		{dateS, date(3 * 86400000), "int8", &Value{Int8: ptr(int8(3))}},
		{tsS, date(1699920000000), "int32", i32(-887049216)},
		{tsS, date(1699920000000), "boolean", boolean(true)},
		{decS, dec("-12345", 7), "string", str("-0.0012345")},
		{decS, dec("-12345", 10), "string", str("-0.0000012345")},
		{decS, dec("1", -3), "string", str("1E+3")},
		{decS, dec("0", -3), "string", str("0E+3")},
		{decS, dec("0", 2), "string", str("0.00")},
		{decS, dec("1", -3), "float32", f32(1000)},
		{decS, dec("3007", 1), "int8", &Value{Int8: ptr(int8(44))}},
		{decS, dec("18446744073709551616", 0), "int64", i64(0)},
		{decS, dec("18446744073709551616", 0), "boolean", boolean(false)},
	} {
		got, ok := castLogical(c.s, c.v, c.target)
		if !ok || Canonical(got) != Canonical(c.want) {
			t.Errorf("%s %s to %s: %s, want %s", *c.s.Name, Canonical(c.v), c.target, Canonical(got), Canonical(c.want))
		}
	}
}
