package conformance

import (
	"encoding/json"
	"slices"
)

// explanations are the divergences CONFORMANCE.md lists, as rules. A
// divergence no rule matches fails the run. Rules are added by init
// functions in explain_*.go, one file per area, each rule next to the line
// of CONFORMANCE.md it implements (same ID).
var explanations []Explanation

// explain registers rules.
func explain(rules ...Explanation) { explanations = append(explanations, rules...) }

// agreeAfter reports whether kc and sl agree once fix has rewritten both
// responses' JSON trees (maps: map[string]any, arrays: []any). fix must not
// keep references to the trees.
func agreeAfter(kc, sl *Response, fix func(tree any)) bool {
	a, b := rewrite(kc, fix), rewrite(sl, fix)
	if a == nil || b == nil {
		return false
	}
	return diffKind(a, b) == ""
}

// agreeAfterSluice is agreeAfter with fix applied to Sluice's response
// only: Kafka Connect's must already be what fix makes of Sluice's.
func agreeAfterSluice(kc, sl *Response, fix func(tree any)) bool {
	b := rewrite(sl, fix)
	if b == nil {
		return false
	}
	return diffKind(kc, b) == ""
}

func rewrite(r *Response, fix func(tree any)) *Response {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil
	}
	fix(tree)
	raw, err = json.Marshal(tree)
	if err != nil {
		return nil
	}
	var out Response
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil
	}
	return &out
}

// walk calls fn on every JSON object in tree, parents first.
func walk(tree any, fn func(obj map[string]any)) {
	switch t := tree.(type) {
	case map[string]any:
		fn(t)
		for _, v := range t {
			walk(v, fn)
		}
	case []any:
		for _, v := range t {
			walk(v, fn)
		}
	}
}

// isSchema reports whether obj is a canonical schema.
func isSchema(obj map[string]any) bool {
	_, t := obj["type"]
	_, o := obj["optional"]
	return t && o
}

// Rules returns the explained divergences, in registration order (for
// CONFORMANCE.md).
func Rules() []Explanation { return slices.Clone(explanations) }
