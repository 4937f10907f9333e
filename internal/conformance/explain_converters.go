package conformance

import (
	"encoding/base64"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Converter divergences CONFORMANCE.md explains.
func init() {
	explain(
		Explanation{
			ID: "java17-float-digits",
			Reason: "floats and doubles as text (StringConverter, SimpleHeaderConverter, Struct/Map text) are written " +
				"in the shortest form that reads back to the same number, as Java 19+ writes them (JDK-4511638); " +
				"Java 17's Float/Double.toString sometimes writes one more digit (-4.48727463E18 for -4.4872746E18)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindBytes || !hasFloat(req) || kc.Bytes == nil || sl.Bytes == nil {
					return false
				}
				a, err1 := base64.StdEncoding.DecodeString(*kc.Bytes)
				b, err2 := base64.StdEncoding.DecodeString(*sl.Bytes)
				if err1 != nil || err2 != nil || !sameUpToFloatDigits(string(a), string(b)) {
					return false
				}
				// What each side read back comes from its own text, which
				// differs only in those digits; how each reads a given
				// text is compared by the parse cases. Both must have read
				// it, and StringConverter's text must differ only so.
				if kc.Error != "" || sl.Error != "" {
					return false
				}
				if req.Class == classString {
					x, ok1 := backString(kc)
					y, ok2 := backString(sl)
					return ok1 && ok2 && (x == y || sameUpToFloatDigits(x, y))
				}
				return true
			},
		},
		Explanation{
			ID: "json-nonfinite-and-negative-zero",
			Reason: "JsonConverter reads \"NaN\", \"Infinity\" and \"-Infinity\" (as it writes non-finite floats) and -0.0 " +
				"as those values; Kafka Connect reads them back as 0.0, silently changing the value",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindValue || !isJSON(req) {
					return false
				}
				// Only Sluice's side is normalised: Kafka Connect must have
				// read 0.0 exactly where Sluice kept NaN, ±Infinity or -0.0.
				return agreeAfterSluice(kc, sl, zeroNonFinite)
			},
		},
		Explanation{
			ID: "json-trailing-data",
			Reason: "JsonConverter refuses a second JSON value after the document (after whitespace, data beginning " +
				"with { [ \" - a digit, t, f or n); Kafka Connect (Jackson's readTree) reads the first and silently " +
				"drops the second. Other trailing bytes (a NUL, Ctrl-Z, a stray }) are ignored as Kafka Connect does",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceFails && isJSON(req) && sl.Phase == "to" &&
					strings.Contains(sl.Error, "unexpected data after the JSON value")
			},
		},
	)
}

func isJSON(req *Request) bool { return req.Class == classJSON }

// hasFloat reports whether req's input holds a float32/float64 value.
func hasFloat(req *Request) bool {
	found := false
	var visit func(v *Value)
	visit = func(v *Value) {
		if v == nil || found {
			return
		}
		switch {
		case v.Float32 != nil, v.Float64 != nil:
			found = true
		case v.Array != nil:
			for _, e := range *v.Array {
				visit(e)
			}
		case v.Map != nil:
			for _, e := range *v.Map {
				visit(e[0])
				visit(e[1])
			}
		case v.Struct != nil:
			for _, f := range v.Struct.Fields {
				visit(f.Value)
			}
		}
	}
	visit(req.Value)
	return found
}

var numberRE = regexp.MustCompile(`-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`)

// sameUpToFloatDigits reports whether Kafka Connect's text a and Sluice's
// text b differ only in floating-point literals (with a point or an
// exponent on both sides) where Sluice's is the shortest form of the same
// number: the same float64, or the same float32 written in float32's
// shortest form (Java 17 prints some of either with an extra digit).
// Integers, and digits inside other text, must be equal.
func sameUpToFloatDigits(a, b string) bool {
	na, nb := numberRE.FindAllStringIndex(a, -1), numberRE.FindAllStringIndex(b, -1)
	if len(na) != len(nb) {
		return false
	}
	pa, pb := 0, 0
	differ := false
	for i := range na {
		if a[pa:na[i][0]] != b[pb:nb[i][0]] {
			return false
		}
		x, y := a[na[i][0]:na[i][1]], b[nb[i][0]:nb[i][1]]
		if x != y {
			if !isFloatLiteral(x) || !isFloatLiteral(y) || !sameFloat(x, y) {
				return false
			}
			differ = true
		}
		pa, pb = na[i][1], nb[i][1]
	}
	return differ && a[pa:] == b[pb:]
}

func isFloatLiteral(s string) bool { return strings.ContainsAny(s, ".eE") }

// sameFloat reports whether y (Sluice's) is the shortest form of the number
// x (Kafka Connect's) denotes, as a float64 or as a float32.
func sameFloat(x, y string) bool {
	fx, err1 := strconv.ParseFloat(x, 64)
	fy, err2 := strconv.ParseFloat(y, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if fx == fy {
		return true
	}
	f32 := float32(fx)
	return f32 == float32(fy) && !math.IsInf(float64(f32), 0) &&
		mantissaDigits(y) == mantissaDigits(strconv.FormatFloat(float64(f32), 'e', -1, 32))
}

// mantissaDigits returns the significant digits of a float literal.
func mantissaDigits(s string) string {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimLeft(strings.ReplaceAll(strings.TrimLeft(s, "+-"), ".", ""), "0")
	return strings.TrimRight(s, "0")
}

// zeroNonFinite rewrites every NaN, ±Infinity and -0.0 float in a response
// tree to +0.0, as Kafka Connect's JsonConverter reads them.
func zeroNonFinite(tree any) {
	walk(tree, func(obj map[string]any) {
		if s, ok := obj["float64"].(string); ok {
			if bits, err := strconv.ParseUint(s, 16, 64); err == nil {
				f := math.Float64frombits(bits)
				if math.IsNaN(f) || math.IsInf(f, 0) || (f == 0 && math.Signbit(f)) {
					obj["float64"] = "0000000000000000"
				}
			}
		}
		if s, ok := obj["float32"].(string); ok {
			if bits, err := strconv.ParseUint(s, 16, 32); err == nil {
				f := math.Float32frombits(uint32(bits))
				if f != f || math.IsInf(float64(f), 0) || (f == 0 && math.Signbit(float64(f))) {
					obj["float32"] = "00000000"
				}
			}
		}
	})
}
