package conformance

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// More converter divergences CONFORMANCE.md explains. Each value rule
// normalises its own documented difference away (on top of the other
// documented JSON differences, so that a case showing two of them is still
// checked field by field) and requires that the rest agrees and that its
// difference was really there.
func init() {
	explain(
		Explanation{
			ID: "string-bytes-identity-hash",
			Reason: "StringConverter writes a byte array (alone or inside a Struct, List or Map) as its bytes; Kafka " +
				"Connect writes Java's Object.toString of it, \"[B@\" and an identity hash that differs per JVM run",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindBytes && req.Class == classString && matchesIdentityHashes(req, kc, sl)
			},
		},
		Explanation{
			ID: "json-strict-numbers-and-types",
			Reason: "JsonConverter refuses a number out of range for the schema type, a fraction for an integer type, " +
				"and a JSON value of the wrong type (a string for INT32, a number for STRING, ...); Kafka Connect " +
				"silently wraps/truncates them or reads them as 0, false, null or []",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceFails && isJSON(req) && sl.Phase == "to" && strictJSONError(sl.Error)
			},
		},
		Explanation{
			ID: "json-decimal-numeric-scale",
			Reason: "JsonConverter reads a Decimal written as a JSON number at the schema's scale (the same number), " +
				"and refuses one that would need rounding; Kafka Connect keeps the literal's scale, which its own " +
				"Decimal.fromLogical then refuses",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if !isJSON(req) {
					return false
				}
				if kind == KindSluiceFails && sl.Phase == "to" {
					return decimalRoundingRefused(kc, sl)
				}
				return kind == KindValue && isParse(req) && needs(req, kc, sl, normDecimal)
			},
		},
		Explanation{
			ID: "json-schemaless-big-integers",
			Reason: "schemaless JsonConverter reads an integer beyond int64 as an exact Decimal; Kafka Connect " +
				"keeps its low 64 bits (BigInteger.longValue), a different number",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindValue && isJSON(req) && needs(req, kc, sl, normBigInt)
			},
		},
		Explanation{
			ID: "json-nonfinite-map-keys-collapse",
			Reason: "a map with two or more float keys among NaN, ±Infinity, -0.0 and 0.0 reads back from " +
				"JsonConverter with all its entries; Kafka Connect reads those keys as 0.0, so all but one entry is lost",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindValue && isJSON(req) && needs(req, kc, sl, normZeroKey)
			},
		},
		Explanation{
			ID: "json-mismatching-schema-bytes-default",
			Reason: "JsonConverter writes a Struct whose schema has a default holding a byte array inside a List or " +
				"Map; Kafka Connect fails with \"Mismatching schema.\" as its schema equality compares those byte " +
				"arrays by identity",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindSluiceAccept && isJSON(req) && kc.Phase == "from" &&
					strings.HasSuffix(kc.Error, "Mismatching schema.") && hasNestedBytesDefault(req)
			},
		},
		Explanation{
			ID: "simpleheader-composite-map-keys",
			Reason: "SimpleHeaderConverter reads a map literal with a map or list as a key as the text it is; " +
				"Kafka Connect reads a Map with Map/List keys, which a Go map cannot hold (they are not comparable)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindValue || req.Class != classSimpleHdr || req.Op != OpHeaderParse || req.Data == nil {
					return false
				}
				data, err := base64.StdEncoding.DecodeString(*req.Data)
				s, ok := backString(sl)
				return err == nil && ok && s == string(data) && sl.Back.Schema != nil && sl.Back.Schema.Type == "STRING" &&
					hasCompositeKey(kc)
			},
		},
		Explanation{
			ID: "java17-float-digits-encoded",
			Reason: "java17-float-digits for a StringConverter with a converter.encoding other than UTF-8: the texts " +
				"(decoded) differ only in float literals that denote the same number",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindBytes || req.Class != classString || !hasFloat(req) {
					return false
				}
				a, ok1 := backString(kc)
				b, ok2 := backString(sl)
				return ok1 && ok2 && sameUpToFloatDigits(a, b)
			},
		},
		Explanation{
			ID: "java17-float-digits-schema-default",
			Reason: "java17-float-digits for a float in a schema's default value, which JsonConverter writes in the " +
				"envelope's schema (Jackson writes doubles with Java's Double.toString)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				return kind == KindBytes && isJSON(req) && !hasFloat(req) && kc.Bytes != nil && sl.Bytes != nil &&
					sameJSONBytes(&Request{}, kc, sl) && diffKind(&Response{Back: kc.Back}, &Response{Back: sl.Back}) == ""
			},
		},
		Explanation{
			ID: "go-map-signed-zero-keys",
			Reason: "a map with both 0.0 and -0.0 as keys keeps one entry: they are the same key in a Go map; " +
				"Kafka Connect's HashMap keeps both (Double.equals tells them apart)",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if kind != KindValue {
					return false
				}
				if isJSON(req) {
					return needs(req, kc, sl, normSignedZero)
				}
				// Other converters: only this difference.
				return jsonAgree(req, kc, sl, []string{normSignedZero}) && !jsonAgree(req, kc, sl, nil)
			},
		},
		Explanation{
			ID: "json-documented-combination",
			Reason: "a JsonConverter case showing two or more of the documented differences at once (non-finite " +
				"floats and -0.0, Java 17 float digits, Decimal scales of parsed numbers, big integers, colliding or " +
				"signed-zero map keys); each is normalised only where its own rule allows and the rest must agree",
			Match: func(req *Request, kc, sl *Response, kind string) bool {
				if !isJSON(req) || matchedByAnother(req, kc, sl, kind, "json-documented-combination") {
					return false
				}
				switch kind {
				case KindValue:
					return len(neededDiffs(req, kc, sl)) >= 2
				case KindBytes:
					used, ok := jsonBytesDiffs(req, kc, sl)
					if !ok {
						return false
					}
					kb, sb := &Response{Back: kc.Back, Error: kc.Error}, &Response{Back: sl.Back, Error: sl.Error}
					if diffKind(kb, sb) != "" {
						needed := neededDiffs(req, kb, sb)
						if len(needed) == 0 {
							return false
						}
						for _, d := range needed {
							used[d] = true
						}
					}
					return len(used) >= 2
				}
				return false
			},
		},
	)
}

// matchedByAnother reports whether a rule other than self explains the
// divergence.
func matchedByAnother(req *Request, kc, sl *Response, kind, self string) bool {
	for _, e := range explanations {
		if e.ID != self && e.Match(req, kc, sl, kind) {
			return true
		}
	}
	return false
}

// --- StringConverter and byte arrays -----------------------------------

var identityHashRE = regexp.MustCompile(`\[B@[0-9a-f]{1,8}`)

// matchesIdentityHashes reports whether Sluice's text equals Kafka
// Connect's once each "[B@<hash>" there stands for one of the input's byte
// arrays (at most as many as the input has).
func matchesIdentityHashes(req *Request, kc, sl *Response) bool {
	a, ok1 := backString(kc)
	b, ok2 := backString(sl)
	if !ok1 || !ok2 {
		return false
	}
	hashes := identityHashRE.FindAllStringIndex(a, -1)
	if len(hashes) == 0 || len(hashes) > countBytes(req.Value) {
		return false
	}
	// The literal text between the hashes must agree, number literals up
	// to Java 17's float digits (rule java17-float-digits).
	var pat strings.Builder
	var nums []string
	literal := func(text string) {
		prev := 0
		for _, n := range numberRE.FindAllStringIndex(text, -1) {
			pat.WriteString(regexp.QuoteMeta(text[prev:n[0]]))
			pat.WriteString(`(` + numberRE.String() + `)`)
			nums = append(nums, text[n[0]:n[1]])
			prev = n[1]
		}
		pat.WriteString(regexp.QuoteMeta(text[prev:]))
	}
	pat.WriteString(`(?s)^`)
	prev := 0
	for _, h := range hashes {
		literal(a[prev:h[0]])
		pat.WriteString(`(?:.*?)`)
		prev = h[1]
	}
	literal(a[prev:])
	pat.WriteString(`$`)
	re, err := regexp.Compile(pat.String())
	if err != nil {
		return false
	}
	m := re.FindStringSubmatch(b)
	if m == nil {
		return false
	}
	for i, x := range nums {
		if y := m[i+1]; x != y && !sameUpToFloatDigits(x, y) {
			return false
		}
	}
	return true
}

func backString(r *Response) (string, bool) {
	if r.Back == nil || r.Back.Value == nil || r.Back.Value.String == nil {
		return "", false
	}
	return *r.Back.Value.String, true
}

// countBytes counts the byte arrays in v.
func countBytes(v *Value) int {
	if v == nil {
		return 0
	}
	n := 0
	switch {
	case v.Bytes != nil:
		n = 1
	case v.Array != nil:
		for _, e := range *v.Array {
			n += countBytes(e)
		}
	case v.Map != nil:
		for _, e := range *v.Map {
			n += countBytes(e[0]) + countBytes(e[1])
		}
	case v.Struct != nil:
		for _, f := range v.Struct.Fields {
			n += countBytes(f.Value)
		}
	}
	return n
}

// hasNestedBytesDefault reports whether a schema in req has a default
// value with a byte array inside a List or Map.
func hasNestedBytesDefault(req *Request) bool {
	found := false
	var inContainer func(v *Value, nested bool)
	inContainer = func(v *Value, nested bool) {
		if v == nil || found {
			return
		}
		switch {
		case v.Bytes != nil:
			found = nested
		case v.Array != nil:
			for _, e := range *v.Array {
				inContainer(e, true)
			}
		case v.Map != nil:
			for _, e := range *v.Map {
				inContainer(e[0], true)
				inContainer(e[1], true)
			}
		case v.Struct != nil:
			for _, f := range v.Struct.Fields {
				inContainer(f.Value, nested)
			}
		}
	}
	var visit func(s *Schema)
	visit = func(s *Schema) {
		if s == nil || found {
			return
		}
		inContainer(s.Default, false)
		for _, f := range s.Fields {
			visit(f.Schema)
		}
		visit(s.KeySchema)
		visit(s.ValueSchema)
	}
	visit(req.Schema)
	var visitValue func(v *Value)
	visitValue = func(v *Value) {
		if v == nil || found {
			return
		}
		switch {
		case v.Array != nil:
			for _, e := range *v.Array {
				visitValue(e)
			}
		case v.Map != nil:
			for _, e := range *v.Map {
				visitValue(e[0])
				visitValue(e[1])
			}
		case v.Struct != nil:
			visit(v.Struct.Schema)
			for _, f := range v.Struct.Fields {
				visitValue(f.Value)
			}
		}
	}
	visitValue(req.Value)
	return found
}

// --- JsonConverter: strict reading ---------------------------------------

var (
	fractionErrRE = regexp.MustCompile(`expected an integer for (?:INT8|INT16|INT32|INT64|Date|Time|Timestamp), got number (\S+)$`)
	rangeErrRE    = regexp.MustCompile(`number (\S+) is out of range for (INT8|INT16|INT32|INT64|Date|Time|Timestamp|FLOAT32|FLOAT64)$`)
	typeErrRE     = regexp.MustCompile(`expected (?:an integer|a number|true or false|a string|a base64 string|an array) ` +
		`for (?:INT8|INT16|INT32|INT64|FLOAT32|FLOAT64|BOOLEAN|STRING|BYTES|ARRAY|Date|Time|Timestamp), ` +
		`got (?:string|number|boolean|object|array)(?: "[^"]*")?$`)
)

// strictJSONError reports whether err is Sluice's refusal of a JSON value
// Kafka Connect coerces: a wrong JSON type, a fraction for an integer type
// (checked to have one) or a number out of the type's range (checked).
func strictJSONError(err string) bool {
	if typeErrRE.MatchString(err) {
		return true
	}
	if m := fractionErrRE.FindStringSubmatch(err); m != nil {
		r, ok := new(big.Rat).SetString(m[1])
		return ok && !r.IsInt()
	}
	if m := rangeErrRE.FindStringSubmatch(err); m != nil {
		if strings.HasSuffix(m[1], "...") { // a long literal, cut short
			return len(strings.TrimLeft(m[1], "-")) > 25
		}
		r, ok := new(big.Rat).SetString(m[1])
		if !ok {
			return false
		}
		var lim float64
		switch m[2] {
		case "INT8":
			lim = 1 << 7
		case "INT16":
			lim = 1 << 15
		case "INT32", "Date", "Time":
			lim = 1 << 31
		case "INT64", "Timestamp":
			lim = 1 << 63
		case "FLOAT32":
			return new(big.Rat).Abs(r).Cmp(new(big.Rat).SetFloat64(math.MaxFloat32)) > 0
		case "FLOAT64":
			f, _ := r.Float64()
			return math.IsInf(f, 0)
		}
		lo, hi := new(big.Rat).SetFloat64(-lim), new(big.Rat).SetFloat64(lim)
		return r.Cmp(lo) < 0 || r.Cmp(hi) >= 0
	}
	return false
}

var decimalRoundErrRE = regexp.MustCompile(`does not fit a Decimal of scale (-?\d+) without rounding$`)

// decimalRoundingRefused reports whether Sluice refused a NUMERIC Decimal
// that needs rounding to its schema's scale where Kafka Connect read a
// Decimal at a larger scale than the schema's.
func decimalRoundingRefused(kc, sl *Response) bool {
	m := decimalRoundErrRE.FindStringSubmatch(sl.Error)
	if m == nil || kc.Back == nil {
		return false
	}
	scale, _ := strconv.Atoi(m[1])
	found := false
	tree := rewriteTree(kc.Back)
	walk(tree, func(obj map[string]any) {
		if d, ok := obj["decimal"].(map[string]any); ok {
			if s, ok := d["scale"].(float64); ok && int(s) > scale {
				found = true
			}
		}
	})
	return found
}

// --- JsonConverter: value normalisers -------------------------------------

// The documented JsonConverter value differences, by name, each the
// normaliser of one rule.
const (
	normNonFinite  = "non-finite"       // json-nonfinite-and-negative-zero (Sluice's side only)
	normBigInt     = "big-integers"     // json-schemaless-big-integers
	normDecimal    = "decimal-scale"    // json-decimal-numeric-scale (parse ops only)
	normZeroKey    = "zero-keys"        // json-nonfinite-map-keys-collapse
	normSignedZero = "signed-zero-keys" // go-map-signed-zero-keys
)

func isParse(req *Request) bool { return req.Op == OpParse || req.Op == OpHeaderParse }

// jsonDiffs returns the documented JsonConverter value differences a case
// of req's op may show (each rule's own op limits).
func jsonDiffs(req *Request) []string {
	d := []string{normNonFinite, normBigInt}
	if isParse(req) {
		d = append(d, normDecimal)
	}
	return append(d, normZeroKey, normSignedZero)
}

// jsonAgree reports whether kc and sl agree once the documented differences
// in diffs are normalised away: the map-key ones pairwise (fixZeroKeys,
// only in a map pair that really shows the collision), then the others on
// each tree (non-finite floats on Sluice's only: Kafka Connect must have
// 0.0 where Sluice kept NaN, ±Infinity or -0.0).
func jsonAgree(req *Request, kc, sl *Response, diffs []string) bool {
	on := map[string]bool{}
	for _, d := range diffs {
		on[d] = true
	}
	a, b := rewriteTree(kc), rewriteTree(sl)
	if a == nil || b == nil {
		return false
	}
	if on[normZeroKey] || on[normSignedZero] {
		fixZeroKeys(req, a, b, on[normZeroKey], on[normSignedZero])
	}
	for i, tree := range []any{a, b} {
		if on[normNonFinite] && i == 1 {
			zeroNonFinite(tree)
		}
		if on[normBigInt] {
			normBigIntegers(tree) // before the Decimal scales change
		}
		if on[normDecimal] {
			normDecimalScale(tree)
		}
	}
	x, y := responseOf(a), responseOf(b)
	return x != nil && y != nil && diffKind(x, y) == ""
}

// responseOf reads a response back from its JSON tree.
func responseOf(tree any) *Response {
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil
	}
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil
	}
	return &r
}

// without returns diffs without name.
func without(diffs []string, name string) []string {
	out := make([]string, 0, len(diffs))
	for _, d := range diffs {
		if d != name {
			out = append(out, d)
		}
	}
	return out
}

// neededDiffs returns the documented differences (of those req's op may
// show) that kc and sl need to agree: none when they do not agree even with
// all of them.
func neededDiffs(req *Request, kc, sl *Response) []string {
	all := jsonDiffs(req)
	if !jsonAgree(req, kc, sl, all) {
		return nil
	}
	var needed []string
	for _, d := range all {
		if !jsonAgree(req, kc, sl, without(all, d)) {
			needed = append(needed, d)
		}
	}
	return needed
}

// needs reports whether kc and sl agree once every documented difference
// req's op may show is normalised, and the one named is the only one they
// need (a case needing two or more is json-documented-combination's).
func needs(req *Request, kc, sl *Response, name string) bool {
	if !slices.Contains(jsonDiffs(req), name) {
		return false
	}
	needed := neededDiffs(req, kc, sl)
	return len(needed) == 1 && needed[0] == name
}

// normDecimalScale rewrites every Decimal to its shortest (unscaled, scale)
// of the same value.
func normDecimalScale(tree any) {
	walk(tree, func(obj map[string]any) {
		d, ok := obj["decimal"].(map[string]any)
		if !ok {
			return
		}
		u, ok1 := d["unscaled"].(string)
		s, ok2 := d["scale"].(float64)
		if !ok1 || !ok2 {
			return
		}
		n, ok := new(big.Int).SetString(u, 10)
		if !ok {
			return
		}
		ten, q, r := big.NewInt(10), new(big.Int), new(big.Int)
		for n.Sign() != 0 {
			q.QuoRem(n, ten, r)
			if r.Sign() != 0 {
				break
			}
			n.Set(q)
			s--
		}
		if n.Sign() == 0 {
			s = 0
		}
		d["unscaled"], d["scale"] = n.String(), s
	})
}

// normBigIntegers rewrites an integral Decimal beyond int64 in a schemaless
// result to the int64 of its low 64 bits, as Kafka Connect reads it.
func normBigIntegers(tree any) {
	root, _ := tree.(map[string]any)
	back, _ := root["back"].(map[string]any)
	if back == nil || back["schema"] != nil {
		return
	}
	walk(back["value"], func(obj map[string]any) {
		d, ok := obj["decimal"].(map[string]any)
		if !ok || d["scale"] != float64(0) {
			return
		}
		u, _ := d["unscaled"].(string)
		n, ok := new(big.Int).SetString(u, 10)
		if !ok || n.IsInt64() {
			return
		}
		low := new(big.Int).And(n, new(big.Int).SetUint64(math.MaxUint64)) // two's complement low bits
		delete(obj, "decimal")
		obj["int64"] = strconv.FormatInt(int64(low.Uint64()), 10)
	})
}

// zeroKey reports whether a map key is a float that Kafka Connect's
// JsonConverter reads as 0.0 (0.0, -0.0, NaN, ±Infinity).
func zeroKey(k any) bool {
	obj, ok := k.(map[string]any)
	if !ok {
		return false
	}
	if s, ok := obj["float64"].(string); ok {
		bits, err := strconv.ParseUint(s, 16, 64)
		f := math.Float64frombits(bits)
		return err == nil && (f == 0 || math.IsNaN(f) || math.IsInf(f, 0))
	}
	if s, ok := obj["float32"].(string); ok {
		bits, err := strconv.ParseUint(s, 16, 32)
		f := float64(math.Float32frombits(uint32(bits)))
		return err == nil && (f == 0 || math.IsNaN(f) || math.IsInf(f, 0))
	}
	return false
}

func isPosZeroKey(k any) bool {
	obj, _ := k.(map[string]any)
	return obj["float64"] == "0000000000000000" || obj["float32"] == "00000000"
}

func isNegZeroKey(k any) bool {
	obj, _ := k.(map[string]any)
	return obj["float64"] == "8000000000000000" || obj["float32"] == "80000000"
}

// zeroEntries returns the entries of a canonical map (its "map" member)
// whose keys are zero keys (zeroKey).
func zeroEntries(entries []any) [][]any {
	var z [][]any
	for _, e := range entries {
		if pair, ok := e.([]any); ok && len(pair) == 2 && zeroKey(pair[0]) {
			z = append(z, pair)
		}
	}
	return z
}

// canonOf is the canonical text of x after fix (on a copy).
func canonOf(x any, fix func(any)) string {
	c := rewriteTree(x)
	if fix != nil {
		fix(map[string]any{"x": c})
	}
	return Canonical(c)
}

// sameEntries reports whether two entry lists are equal as multisets
// (canonical text, normalised by fix).
func sameEntries(a, b [][]any, fix func(any)) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		x[i], y[i] = canonOf(a[i], fix), canonOf(b[i], fix)
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// valueIn reports whether v (normalised by fixV) is the value of one of
// entries (normalised by fixE).
func valueIn(v any, entries [][]any, fixV, fixE func(any)) bool {
	c := canonOf(v, fixV)
	for _, e := range entries {
		if canonOf(e[1], fixE) == c {
			return true
		}
	}
	return false
}

// splitSigned splits zero-key entries into the ±0.0 ones and the others
// (NaN, ±Infinity).
func splitSigned(z [][]any) (signed, other [][]any, pos, neg bool) {
	for _, e := range z {
		switch {
		case isPosZeroKey(e[0]):
			signed, pos = append(signed, e), true
		case isNegZeroKey(e[0]):
			signed, neg = append(signed, e), true
		default:
			other = append(other, e)
		}
	}
	return signed, other, pos, neg
}

// fixZeroKeys removes the zero-key entries (zeroKey) from each pair of
// corresponding maps of Kafka Connect's tree kc and Sluice's tree sl that
// shows one of the documented collisions, and only when Sluice kept the
// right values; every other map is left as it is, so that the comparison
// that follows sees any other difference.
//
// collapse (json-nonfinite-map-keys-collapse, JsonConverter reads the keys
// NaN, ±Infinity and -0.0 as 0.0): Sluice's map has two or more zero keys,
// Kafka Connect's exactly one, 0.0, whose value is one of Sluice's values
// for them; for a convert op Sluice's zero-key entries must be those of a
// map of the input (a parse op has no input tree to check them against).
//
// signed (go-map-signed-zero-keys, a Go map holds one of 0.0 and -0.0):
// Kafka Connect's map has both 0.0 and -0.0 keys, Sluice's exactly one of
// them, whose value is one of Kafka Connect's for them, and the other zero
// keys agree. With collapse, an input map with both 0.0 and -0.0 may also
// show up in Sluice's map as one of them.
//
// It returns the differences it normalised.
func fixZeroKeys(req *Request, kc, sl any, collapse, signed bool) map[string]bool {
	used := map[string]bool{}
	meta := normInputForm
	slFix := func(t any) { meta(t); zeroNonFinite(t) }
	var inputMaps [][][]any // the zero-key entries of each map of the input
	// A null map value in the input is written (and read back) as its
	// schema's default, if it has one: the defaults of the request's
	// schemas, by canonical text.
	defaults := map[string]bool{}
	walk(rewriteTree(req.Schema), func(obj map[string]any) {
		if d, ok := obj["default"]; ok && isSchema(obj) {
			defaults[canonOf(d, meta)] = true
		}
	})
	// sameInput reports whether Sluice's entries s are the input's in
	// (as multisets; an input null value may have become a default).
	sameInput := func(s, in [][]any) bool {
		if len(s) != len(in) {
			return false
		}
		used := make([]bool, len(in))
	next:
		for _, e := range s {
			k, v := canonOf(e[0], meta), canonOf(e[1], meta)
			for j, f := range in {
				if used[j] || canonOf(f[0], meta) != k {
					continue
				}
				if w := canonOf(f[1], meta); w == v || (f[1] == nil && defaults[v]) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	}
	if req.Op == OpConvert || req.Op == OpHeaderConvert {
		// The input's value and its schemas' defaults.
		in := []any{rewriteTree(req.Value), rewriteTree(req.Schema)}
		walk(in, func(obj map[string]any) {
			if entries, ok := obj["map"].([]any); ok {
				if z := zeroEntries(entries); len(z) > 0 {
					inputMaps = append(inputMaps, z)
				}
			}
		})
	}
	// fromInput reports whether Sluice's zero-key entries sz are those of
	// an input map (two signed zeros there becoming one, if signed).
	fromInput := func(sz [][]any) (ok, merged bool) {
		sSigned, sOther, _, _ := splitSigned(sz)
		for _, iz := range inputMaps {
			iSigned, iOther, pos, neg := splitSigned(iz)
			if !sameInput(sOther, iOther) {
				continue
			}
			if sameInput(sSigned, iSigned) {
				return true, false
			}
			if signed && pos && neg && len(sSigned) == 1 &&
				(sameInput(sSigned, iSigned[:1]) || sameInput(sSigned, iSigned[1:2])) {
				return true, true
			}
		}
		return false, false
	}
	drop := func(obj map[string]any) {
		entries, _ := obj["map"].([]any)
		kept := make([]any, 0, len(entries))
		for _, e := range entries {
			if pair, ok := e.([]any); ok && len(pair) == 2 && zeroKey(pair[0]) {
				continue
			}
			kept = append(kept, e)
		}
		obj["map"] = kept
	}
	pairWalk(kc, sl, func(k, s map[string]any) {
		ke, ok1 := k["map"].([]any)
		se, ok2 := s["map"].([]any)
		if !ok1 || !ok2 {
			return
		}
		kz, sz := zeroEntries(ke), zeroEntries(se)
		kSigned, kOther, kPos, kNeg := splitSigned(kz)
		sSigned, sOther, _, _ := splitSigned(sz)
		switch {
		case collapse && len(sz) >= 2 && len(kz) == 1 && isPosZeroKey(kz[0][0]):
			if !valueIn(kz[0][1], sz, meta, slFix) {
				return
			}
			if req.Op == OpConvert || req.Op == OpHeaderConvert {
				ok, merged := fromInput(sz)
				if !ok {
					return
				}
				if merged {
					used[normSignedZero] = true
				}
			} else if !fromJSONInput(req, sz) {
				return
			}
			used[normZeroKey] = true
		case signed && kPos && kNeg && len(sSigned) == 1:
			if !valueIn(sSigned[0][1], kSigned, slFix, meta) || !sameEntries(kOther, sOther, meta) {
				return
			}
			used[normSignedZero] = true
		default:
			return
		}
		drop(k)
		drop(s)
	})
	return used
}

// fromJSONInput reports whether Sluice's zero-key entries sz are, as
// multisets, the zero-key pairs of one [[key, value], ...] list of a parse
// request's JSON (UTF-8, or UTF-16 as Jackson detects it): the key of the
// same kind (NaN, Infinity, -Infinity, 0, -0) and a value that denotes the
// same primitive (a number, string or boolean), a composite for a composite,
// null for null (or, for a JSON null, a default).
func fromJSONInput(req *Request, sz [][]any) bool {
	if req.Data == nil {
		return false
	}
	data, err := base64.StdEncoding.DecodeString(*req.Data)
	if err != nil {
		return false
	}
	text, ok := jsonText(data)
	if !ok {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return false
	}
	found := false
	var visit func(x any)
	visit = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			for _, v := range t {
				visit(v)
			}
		case []any:
			var pairs [][]any
			for _, e := range t {
				if p, ok := e.([]any); ok && len(p) == 2 && jsonKeyKind(p[0]) != "" {
					pairs = append(pairs, p)
				}
				visit(e)
			}
			if !found && len(pairs) == len(sz) && matchJSONPairs(sz, pairs) {
				found = true
			}
		}
	}
	visit(doc)
	return found
}

// jsonText decodes JSON bytes in UTF-8 (an optional byte order mark) or
// UTF-16 (a byte order mark, or a zero byte first or second).
func jsonText(b []byte) (string, bool) {
	be, le := false, false
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		b, be = b[2:], true
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		b, le = b[2:], true
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		be = true
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		le = true
	}
	if !be && !le {
		b = []byte(strings.TrimPrefix(string(b), "\ufeff"))
		return string(b), utf8.Valid(b)
	}
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if be {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u)), true
}

// jsonKeyKind names the zero key a JSON map key denotes ("" if none).
func jsonKeyKind(k any) string {
	switch t := k.(type) {
	case string:
		switch t {
		case "NaN":
			return "nan"
		case "Infinity":
			return "+inf"
		case "-Infinity":
			return "-inf"
		}
	case json.Number:
		r, ok := new(big.Rat).SetString(string(t))
		if ok && r.Sign() == 0 {
			if strings.HasPrefix(string(t), "-") {
				return "-0"
			}
			return "+0"
		}
	}
	return ""
}

// zeroKeyKind names a canonical zero key (zeroKey) as jsonKeyKind does.
func zeroKeyKind(k any) string {
	obj, _ := k.(map[string]any)
	var f float64
	if s, ok := obj["float64"].(string); ok {
		bits, _ := strconv.ParseUint(s, 16, 64)
		f = math.Float64frombits(bits)
	} else if s, ok := obj["float32"].(string); ok {
		bits, _ := strconv.ParseUint(s, 16, 32)
		f = float64(math.Float32frombits(uint32(bits)))
	} else {
		return ""
	}
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0 && math.Signbit(f):
		return "-0"
	case f == 0:
		return "+0"
	}
	return ""
}

// matchJSONPairs matches Sluice's entries to the JSON pairs one to one.
func matchJSONPairs(sz [][]any, pairs [][]any) bool {
	used := make([]bool, len(pairs))
next:
	for _, e := range sz {
		kind := zeroKeyKind(e[0])
		for j, p := range pairs {
			if !used[j] && jsonKeyKind(p[0]) == kind && sameJSONValue(e[1], p[1]) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

// sameJSONValue reports whether the canonical value v (a JSON tree) is what
// the JSON value j denotes, for primitives; composites only as composites.
func sameJSONValue(v, j any) bool {
	obj, _ := v.(map[string]any)
	if j == nil {
		return true // null, or the schema's default
	}
	if obj == nil {
		return false
	}
	switch t := j.(type) {
	case bool:
		return obj["boolean"] == t
	case string:
		switch {
		case obj["string"] == t, obj["bytes"] == t:
			return true
		case obj["decimal"] != nil: // a base64 Decimal
			return true
		case obj["float64"] != nil || obj["float32"] != nil:
			return zeroKeyKind(obj) == jsonKeyKind(t) && jsonKeyKind(t) != ""
		}
		return false
	case json.Number:
		want, ok := new(big.Rat).SetString(string(t))
		if !ok {
			return false
		}
		for _, tag := range []string{"int8", "int16", "int32"} {
			if n, ok := obj[tag].(float64); ok {
				return new(big.Rat).SetFloat64(n).Cmp(want) == 0
			}
		}
		for _, tag := range []string{"int64", "date"} {
			if n, ok := obj[tag].(string); ok {
				r, ok := new(big.Rat).SetString(n)
				return ok && r.Cmp(want) == 0
			}
		}
		if s, ok := obj["float64"].(string); ok {
			bits, _ := strconv.ParseUint(s, 16, 64)
			f, _ := want.Float64()
			return math.Float64frombits(bits) == f
		}
		if s, ok := obj["float32"].(string); ok {
			bits, _ := strconv.ParseUint(s, 16, 32)
			f, _ := want.Float32()
			return math.Float32frombits(uint32(bits)) == f
		}
		if d, ok := obj["decimal"].(map[string]any); ok {
			u, _ := d["unscaled"].(string)
			sc, _ := d["scale"].(float64)
			r, ok := new(big.Rat).SetString(u + "e" + strconv.Itoa(-int(sc)))
			return ok && r.Cmp(want) == 0
		}
		return false
	case []any, map[string]any:
		return obj["array"] != nil || obj["map"] != nil || obj["struct"] != nil
	}
	return false
}

// normInputForm rewrites what differs between a request's canonical value
// and a response's without being a difference of values: every NaN becomes
// the one NaN Java's Double.doubleToLongBits gives (payloads are not
// values), and a Struct's null field list the empty one.
func normInputForm(tree any) {
	walk(tree, func(obj map[string]any) {
		if s, ok := obj["float64"].(string); ok {
			if bits, err := strconv.ParseUint(s, 16, 64); err == nil && math.IsNaN(math.Float64frombits(bits)) {
				obj["float64"] = "7ff8000000000000"
			}
		}
		if s, ok := obj["float32"].(string); ok {
			if bits, err := strconv.ParseUint(s, 16, 32); err == nil {
				if f := math.Float32frombits(uint32(bits)); f != f {
					obj["float32"] = "7fc00000"
				}
			}
		}
		if st, ok := obj["struct"].(map[string]any); ok {
			if f, present := st["fields"]; present && f == nil {
				st["fields"] = []any{}
			}
		}
	})
}

// pairWalk calls fn on each pair of corresponding JSON objects of the trees
// a and b, parents first (fn may change their "map" members): object
// members of the same name, array elements at the same index (arrays of the
// same length), and map entries paired in the order of their keys
// normalised (maps with the same number of entries).
func pairWalk(a, b any, fn func(x, y map[string]any)) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return
		}
		fn(x, y)
		for name, xv := range x {
			yv, ok := y[name]
			if !ok {
				continue
			}
			if name == "map" {
				pairEntries(xv, yv, fn)
				continue
			}
			pairWalk(xv, yv, fn)
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return
		}
		for i := range x {
			pairWalk(x[i], y[i], fn)
		}
	}
}

func pairEntries(a, b any, fn func(x, y map[string]any)) {
	xs, ok1 := a.([]any)
	ys, ok2 := b.([]any)
	if !ok1 || !ok2 || len(xs) != len(ys) {
		return
	}
	norm := func(t any) { zeroNonFinite(t); normDecimalScale(t) }
	sorted := func(es []any) []any {
		out := slices.Clone(es)
		keys := make(map[int]string, len(out))
		idx := make([]int, len(out))
		for i, e := range out {
			idx[i] = i
			if pair, ok := e.([]any); ok && len(pair) == 2 {
				keys[i] = canonOf(pair[0], norm)
			}
		}
		slices.SortStableFunc(idx, func(i, j int) int { return strings.Compare(keys[i], keys[j]) })
		res := make([]any, len(out))
		for i, j := range idx {
			res[i] = out[j]
		}
		return res
	}
	xs, ys = sorted(xs), sorted(ys)
	for i := range xs {
		pairWalk(xs[i], ys[i], fn)
	}
}

// rewriteTree returns x's JSON tree.
func rewriteTree(x any) any {
	raw, err := json.Marshal(x)
	if err != nil {
		return nil
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil
	}
	return tree
}

// --- JsonConverter: bytes -------------------------------------------------

// sameJSONBytes reports whether the two serialisations agree once numbers
// are compared as the floats they denote.
func sameJSONBytes(req *Request, kc, sl *Response) bool {
	_, ok := jsonBytesDiffs(req, kc, sl)
	return ok
}

// floatDigits names the java17-float-digits difference.
const floatDigits = "float-digits"

// jsonBytesDiffs is sameJSONBytes, also returning the differences the two
// serialisations needed to agree (floatDigits).
func jsonBytesDiffs(_ *Request, kc, sl *Response) (map[string]bool, bool) {
	used := map[string]bool{}
	if kc.Bytes == nil || sl.Bytes == nil {
		return used, false
	}
	a, err1 := base64.StdEncoding.DecodeString(*kc.Bytes)
	b, err2 := base64.StdEncoding.DecodeString(*sl.Bytes)
	if err1 != nil || err2 != nil {
		return used, false
	}
	x, y := string(a), string(b)
	switch {
	case x == y:
	case sameUpToFloatDigits(x, y):
		used[floatDigits] = true
	default:
		return used, false
	}
	return used, true
}

// hasCompositeKey reports whether r's result has a map with a map or an
// array as a key.
func hasCompositeKey(r *Response) bool {
	if r.Back == nil {
		return false
	}
	found := false
	walk(rewriteTree(r.Back), func(obj map[string]any) {
		entries, _ := obj["map"].([]any)
		for _, e := range entries {
			if pair, ok := e.([]any); ok && len(pair) == 2 {
				if k, ok := pair[0].(map[string]any); ok && (k["map"] != nil || k["array"] != nil) {
					found = true
				}
			}
		}
	})
	return found
}
