package conformance

import (
	"encoding/base64"
	"testing"
)

// TestSameUpToFloatDigits: only float literals whose Sluice form is the
// shortest of the same float64 or float32 may differ; integers and digits
// inside text never.
func TestSameUpToFloatDigits(t *testing.T) {
	for _, c := range []struct {
		kc, sl string
		want   bool
	}{
		{"-4.48727463E18", "-4.4872746E18", true},               // Java 17 float32
		{"4.5703335131785208E16", "4.570333513178521E16", true}, // Java 17 float64
		{`{"a":1.17549435E-38,"b":2}`, `{"a":1.1754944E-38,"b":2}`, true},
		{"1234567890123456789", "1234567890123456800", false}, // int64 precision lost
		{"123456789", "123456790", false},
		{"0.1", "0.10000000149011612", false}, // a double written at float32 precision
		{"id-100000001", "id-100000002", false},
		{"1.5", "1.5", false}, // nothing differs: not this rule's case
		{"-4.48727463E18", "-4.4872747E18", false},
		{"[1.0,2]", "[1.0,3]", false},
	} {
		if got := sameUpToFloatDigits(c.kc, c.sl); got != c.want {
			t.Errorf("sameUpToFloatDigits(%q, %q) = %v, want %v", c.kc, c.sl, got, c.want)
		}
	}
}

func b64(s string) *string { return ptr(base64.StdEncoding.EncodeToString([]byte(s))) }

func f64bits(bits string) *Value { return &Value{Float64: ptr(bits)} }

// TestExplainConverterRules: each rule explains its own difference and
// nothing else.
func TestExplainConverterRules(t *testing.T) {
	jsonParse := &Request{ID: "x", Op: OpParse, Class: classJSON, Config: map[string]string{"schemas.enable": "false"}}
	back := func(v *Value) *Response { return &Response{Back: &SchemaValue{Value: v}} }
	const zero, negZero, inf, negInf, nan = "0000000000000000", "8000000000000000", "7ff0000000000000", "fff0000000000000", "7ff8000000000000"
	floatConvert := &Request{ID: "x", Op: OpConvert, Class: classString, Value: f64bits("c3c0ae7c0c0d8f1d")}
	for _, c := range []struct {
		name   string
		req    *Request
		kc, sl *Response
		want   Verdict
	}{
		{"NaN read as 0.0 by Kafka Connect", jsonParse, back(f64bits(zero)), back(f64bits(nan)),
			Verdict{Outcome: Explained, Kind: KindValue, Explanation: "json-nonfinite-and-negative-zero"}},
		{"-0.0 read as 0.0 by Kafka Connect", jsonParse, back(f64bits(zero)), back(f64bits(negZero)),
			Verdict{Outcome: Explained, Kind: KindValue, Explanation: "json-nonfinite-and-negative-zero"}},
		{"+Inf against -Inf", jsonParse, back(f64bits(inf)), back(f64bits(negInf)), Verdict{Outcome: Diverge, Kind: KindValue}},
		{"Kafka Connect NaN, Sluice 0.0", jsonParse, back(f64bits(nan)), back(f64bits(zero)), Verdict{Outcome: Diverge, Kind: KindValue}},
		{"a second JSON value", jsonParse, back(&Value{Int64: ptr("1")}),
			&Response{Error: "*converters.DataError: JsonConverter: invalid JSON at offset 2: unexpected data after the JSON value", Phase: "to"},
			Verdict{Outcome: Explained, Kind: KindSluiceFails, Explanation: "json-trailing-data"}},
		{"another read failure", jsonParse, back(&Value{Int64: ptr("1")}),
			&Response{Error: "*converters.DataError: JsonConverter: invalid JSON at offset 2", Phase: "to"},
			Verdict{Outcome: Diverge, Kind: KindSluiceFails}},
		{"Java 17 digits", floatConvert,
			&Response{Bytes: b64("-4.48727463E18"), Back: &SchemaValue{Value: &Value{String: ptr("-4.48727463E18")}}},
			&Response{Bytes: b64("-4.4872746E18"), Back: &SchemaValue{Value: &Value{String: ptr("-4.4872746E18")}}},
			Verdict{Outcome: Explained, Kind: KindBytes, Explanation: "java17-float-digits"}},
		{"an integer changed next to a float", floatConvert,
			&Response{Bytes: b64("[-4.48727463E18,1234567890123456789]"), Back: &SchemaValue{Value: &Value{String: ptr("x")}}},
			&Response{Bytes: b64("[-4.4872746E18,1234567890123456800]"), Back: &SchemaValue{Value: &Value{String: ptr("x")}}},
			Verdict{Outcome: Diverge, Kind: KindBytes}},
		{"Kafka Connect refuses to write what Sluice cannot read back", floatConvert,
			&Response{Error: "DataException: x", Phase: "from"},
			&Response{Bytes: b64("?"), Error: "*converters.DataError: y", Phase: "to"},
			Verdict{Outcome: Diverge, Kind: KindSluiceAccept}},
		{"Sluice cannot build what Kafka Connect built", floatConvert,
			back(nil), &Response{InputError: "map key is not a string"},
			Verdict{Outcome: Diverge, Kind: KindSluiceInput}},
	} {
		if got := Compare(c.req, c.kc, c.sl); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
