package conformance

import (
	"encoding/base64"
	"testing"
)

// Hand-made cases for the map-key and combination rules of
// explain_converters2.go: what a correct rule must explain, and what it
// must not (wrong data on valid input).

func tv(kind, x string) *Value {
	v := &Value{}
	switch kind {
	case "float64":
		v.Float64 = &x
	case "float32":
		v.Float32 = &x
	case "int64":
		v.Int64 = &x
	case "string":
		v.String = &x
	}
	return v
}

const (
	f64NaN  = "7ff8000000000000"
	f64Inf  = "7ff0000000000000"
	f64Zero = "0000000000000000"
	f64Neg0 = "8000000000000000"
	f64One  = "3ff0000000000000"
)

// kv builds a map value of float64 keys (bits) and int64 values ("" null).
func kv(pairs ...string) *Value {
	m := [][2]*Value{}
	for i := 0; i < len(pairs); i += 2 {
		var v *Value
		if pairs[i+1] != "" {
			v = tv("int64", pairs[i+1])
		}
		m = append(m, [2]*Value{tv("float64", pairs[i]), v})
	}
	return &Value{Map: &m}
}

func arr(vs ...*Value) *Value { return &Value{Array: &vs} }

func back(v *Value) *Response { return &Response{Back: &SchemaValue{Value: v}} }

func jsonConvert(in *Value) *Request {
	return &Request{ID: "t", Op: OpConvert, Class: classJSON, Value: in}
}

func jsonParse(doc string) *Request {
	data := base64.StdEncoding.EncodeToString([]byte(doc))
	return &Request{ID: "t", Op: OpParse, Class: classJSON, Config: map[string]string{"schemas.enable": "true"}, Data: &data}
}

const nanInfDoc = `{"schema":{"type":"map","keys":{"type":"double","optional":false},"values":{"type":"int64","optional":true},` +
	`"optional":false},"payload":[["NaN",5],["Infinity",6],[1.0,1]]}`

func TestExplainConverters2Rules(t *testing.T) {
	tests := []struct {
		name    string
		req     *Request
		kc, sl  *Response
		explain string // "" = must diverge
	}{
		{
			name: "collapse: Sluice keeps both entries, Kafka Connect one of them",
			req:  jsonConvert(kv(f64NaN, "5", f64Inf, "6")),
			kc:   back(kv(f64Zero, "6")), sl: back(kv(f64NaN, "5", f64Inf, "6")),
			explain: "json-nonfinite-map-keys-collapse",
		},
		{
			name: "collapse: a non-canonical NaN in the input",
			req:  jsonConvert(kv("7ff8000000000001", "5", f64Neg0, "6", f64One, "1")),
			kc:   back(kv(f64Zero, "5", f64One, "1")), sl: back(kv(f64NaN, "5", f64Neg0, "6", f64One, "1")),
			explain: "json-nonfinite-map-keys-collapse",
		},
		{
			name: "collapse: the reviewer's case, Sluice lost the values (issue 15's NaN-key bug)",
			req:  jsonConvert(kv(f64NaN, "6", f64Inf, "6")),
			kc:   back(kv(f64Zero, "6")), sl: back(kv(f64NaN, "", f64Inf, "")),
		},
		{
			name: "collapse: Sluice's values are not the input's",
			req:  jsonConvert(kv(f64NaN, "5", f64Inf, "6")),
			kc:   back(kv(f64Zero, "6")), sl: back(kv(f64NaN, "6", f64Inf, "5")),
		},
		{
			name: "collapse: Kafka Connect's value is none of Sluice's",
			req:  jsonConvert(kv(f64NaN, "5", f64Inf, "6")),
			kc:   back(kv(f64Zero, "7")), sl: back(kv(f64NaN, "5", f64Inf, "6")),
		},
		{
			name: "collapse: a zero key in another map, without a collision, differs",
			req:  jsonConvert(arr(kv(f64NaN, "5", f64Inf, "6"), kv(f64Zero, "1"))),
			kc:   back(arr(kv(f64Zero, "6"), kv(f64Zero, "1"))),
			sl:   back(arr(kv(f64NaN, "5", f64Inf, "6"), kv(f64Zero, "2"))),
		},
		{
			name: "collapse: a zero key in another map, without a collision, lost",
			req:  jsonConvert(arr(kv(f64NaN, "5", f64Inf, "6"), kv(f64Zero, "1", f64One, "2"))),
			kc:   back(arr(kv(f64Zero, "6"), kv(f64Zero, "1", f64One, "2"))),
			sl:   back(arr(kv(f64NaN, "5", f64Inf, "6"), kv(f64One, "2"))),
		},
		{
			name: "collapse: not on StringConverter",
			req:  &Request{ID: "t", Op: OpConvert, Class: classString, Value: kv(f64NaN, "5", f64Inf, "6")},
			kc:   back(kv(f64Zero, "6")), sl: back(kv(f64NaN, "5", f64Inf, "6")),
		},
		{
			name: "collapse, parse: Sluice read the JSON's values",
			req:  jsonParse(nanInfDoc),
			kc:   back(kv(f64Zero, "6", f64One, "1")), sl: back(kv(f64NaN, "5", f64Inf, "6", f64One, "1")),
			explain: "json-nonfinite-map-keys-collapse",
		},
		{
			name: "collapse, parse: Sluice lost the JSON's values",
			req:  jsonParse(nanInfDoc),
			kc:   back(kv(f64Zero, "6", f64One, "1")), sl: back(kv(f64NaN, "", f64Inf, "6", f64One, "1")),
		},
		{
			name: "collapse, parse: Sluice swapped the JSON's values",
			req:  jsonParse(nanInfDoc),
			kc:   back(kv(f64Zero, "6", f64One, "1")), sl: back(kv(f64NaN, "6", f64Inf, "5", f64One, "1")),
		},
		{
			name: "signed zeros: Sluice's Go map holds one of Kafka Connect's two",
			req:  &Request{ID: "t", Op: OpHeaderParse, Class: classSimpleHdr},
			kc:   back(kv(f64Zero, "1", f64Neg0, "2", f64NaN, "3")), sl: back(kv(f64Zero, "2", f64NaN, "3")),
			explain: "go-map-signed-zero-keys",
		},
		{
			name: "signed zeros: Sluice's value is neither",
			req:  &Request{ID: "t", Op: OpHeaderParse, Class: classSimpleHdr},
			kc:   back(kv(f64Zero, "1", f64Neg0, "2")), sl: back(kv(f64Zero, "3")),
		},
		{
			name: "signed zeros: a NaN key's value lost next to them",
			req:  &Request{ID: "t", Op: OpHeaderParse, Class: classSimpleHdr},
			kc:   back(kv(f64Zero, "1", f64Neg0, "2", f64NaN, "3")), sl: back(kv(f64Zero, "2", f64NaN, "")),
		},
		{
			name: "signed zeros: another map with a single zero key differs",
			req:  &Request{ID: "t", Op: OpHeaderParse, Class: classSimpleHdr},
			kc:   back(arr(kv(f64Zero, "1", f64Neg0, "2"), kv(f64NaN, "1"))),
			sl:   back(arr(kv(f64Zero, "2"), kv(f64NaN, "9"))),
		},
		{
			name:    "combination: collapse and a non-finite value",
			req:     jsonConvert(arr(kv(f64NaN, "5", f64Inf, "6"), tv("float64", f64NaN))),
			kc:      back(arr(kv(f64Zero, "6"), tv("float64", f64Zero))),
			sl:      back(arr(kv(f64NaN, "5", f64Inf, "6"), tv("float64", f64NaN))),
			explain: "json-documented-combination",
		},
		{
			name: "combination: only one difference, the other way round (Kafka Connect NaN, Sluice 0.0)",
			req:  &Request{ID: "t", Op: OpParse, Class: classJSON},
			kc:   back(tv("float64", f64NaN)), sl: back(tv("float64", f64Zero)),
		},
		{
			name: "combination: a Decimal scale on a convert op (json-decimal-numeric-scale is for parse ops)",
			req:  jsonConvert(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}),
			kc:   back(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}),
			sl:   back(&Value{Decimal: &DecimalValue{Unscaled: "15", Scale: 1}}),
		},
		{
			name: "combination: a Decimal scale and a non-finite value on a convert op",
			req:  jsonConvert(arr(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}, tv("float64", f64NaN))),
			kc:   back(arr(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}, tv("float64", f64Zero))),
			sl:   back(arr(&Value{Decimal: &DecimalValue{Unscaled: "15", Scale: 1}}, tv("float64", f64NaN))),
		},
		{
			name:    "combination: a Decimal scale and a non-finite value on a parse op",
			req:     &Request{ID: "t", Op: OpParse, Class: classJSON},
			kc:      back(arr(&Value{Decimal: &DecimalValue{Unscaled: "1500", Scale: 3}}, tv("float64", f64Zero))),
			sl:      back(arr(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}, tv("float64", f64NaN))),
			explain: "json-documented-combination",
		},
		{
			name:    "decimal scale alone on a parse op",
			req:     &Request{ID: "t", Op: OpParse, Class: classJSON},
			kc:      back(&Value{Decimal: &DecimalValue{Unscaled: "1500", Scale: 3}}),
			sl:      back(&Value{Decimal: &DecimalValue{Unscaled: "150", Scale: 2}}),
			explain: "json-decimal-numeric-scale",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Compare(tc.req, tc.kc, tc.sl)
			if tc.explain == "" {
				if v.Outcome != Diverge {
					t.Fatalf("verdict %s (%s), want diverge", v.Outcome, v.Explanation)
				}
				return
			}
			if v.Outcome != Explained || v.Explanation != tc.explain {
				t.Fatalf("verdict %s (%s %s), want explained by %s", v.Outcome, v.Kind, v.Explanation, tc.explain)
			}
		})
	}
}
