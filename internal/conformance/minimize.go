package conformance

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
)

// Minimize shrinks a divergent case while it still diverges the same way:
// it removes array elements and object members and shortens strings in the
// request's JSON (never its id, op or class), keeping each step after which
// both sides still build the input and the divergence kind is unchanged. It
// costs one harness round trip per candidate, at most a few hundred.
func Minimize(ctx context.Context, h *Harness, d Divergence) (Divergence, error) {
	best := d
	budget := 300
	for improved := true; improved && budget > 0; {
		improved = false
		raw, err := json.Marshal(best.Entry.Request)
		if err != nil {
			return d, err
		}
		var tree any
		if err := json.Unmarshal(raw, &tree); err != nil {
			return d, err
		}
		cands := shrinkCandidates(tree)
		// Try candidates in batches: one round trip per batch.
		for start := 0; start < len(cands) && budget > 0 && !improved; start += 32 {
			var reqs []*Request
			for _, c := range cands[start:min(start+32, len(cands))] {
				b, err := json.Marshal(c)
				if err != nil {
					continue
				}
				var r Request
				if err := json.Unmarshal(b, &r); err != nil || r.ID == "" || r.Op == "" {
					continue
				}
				reqs = append(reqs, &r)
			}
			if len(reqs) == 0 {
				continue
			}
			budget -= len(reqs)
			kcs, err := h.Do(reqs)
			if err != nil {
				return d, err
			}
			for i, r := range reqs {
				if kcs[i].HarnessError != "" {
					continue
				}
				sl := RunSluice(ctx, r)
				v := Compare(r, kcs[i], sl)
				if v.Outcome == Diverge && v.Kind == d.Kind {
					best = Divergence{Entry: CorpusEntry{Request: r, KafkaConnect: kcs[i]}, Kind: v.Kind, Sluice: sl}
					improved = true
					break
				}
			}
		}
	}
	return best, nil
}

// shrinkCandidates returns copies of tree, each one step smaller.
func shrinkCandidates(tree any) []any {
	var out []any
	var walk func(path []any)
	get := func(root any, path []any) any {
		cur := root
		for _, p := range path {
			switch k := p.(type) {
			case string:
				cur = cur.(map[string]any)[k]
			case int:
				cur = cur.([]any)[k]
			}
		}
		return cur
	}
	replace := func(path []any, v any, del bool) any {
		root := deepCopy(tree)
		if len(path) == 0 {
			return v
		}
		parent := get(root, path[:len(path)-1])
		switch k := path[len(path)-1].(type) {
		case string:
			m := parent.(map[string]any)
			if del {
				delete(m, k)
			} else {
				m[k] = v
			}
		case int:
			a := parent.([]any)
			if del {
				na := append(append([]any{}, a[:k]...), a[k+1:]...)
				if len(path) == 1 {
					return na
				}
				setAt(root, path[:len(path)-1], na)
			} else {
				a[k] = v
			}
		}
		return root
	}
	walk = func(path []any) {
		node := get(tree, path)
		switch n := node.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(n))
			for _, k := range keys {
				// Never the case's identity, and never a config as a
				// whole or a header converter's converter.type: without
				// them the case is one the generator never makes (Kafka
				// Connect then fails to configure for another reason).
				if len(path) == 0 && (k == "id" || k == "op" || k == "class" || k == "config") {
					continue
				}
				if len(path) == 1 && path[0] == "config" && k == "converter.type" {
					continue
				}
				out = append(out, replace(append(append([]any{}, path...), k), nil, true))
			}
			for _, k := range keys {
				walk(append(append([]any{}, path...), k))
			}
		case []any:
			for i := range n {
				out = append(out, replace(append(append([]any{}, path...), i), nil, true))
			}
			for i := range n {
				walk(append(append([]any{}, path...), i))
			}
		case string:
			if len(path) == 1 {
				return
			}
			if r := []rune(n); len(r) > 1 {
				out = append(out, replace(path, string(r[:len(r)/2]), false), replace(path, string(r[len(r)/2:]), false))
			} else if len(r) == 1 {
				out = append(out, replace(path, "", false))
			}
		}
	}
	walk(nil)
	return out
}

func setAt(root any, path []any, v any) {
	cur := root
	for i, p := range path {
		last := i == len(path)-1
		switch k := p.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				m[k] = v
				return
			}
			cur = m[k]
		case int:
			a := cur.([]any)
			if last {
				a[k] = v
				return
			}
			cur = a[k]
		}
	}
}

func deepCopy(x any) any {
	switch t := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[k] = deepCopy(v)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, v := range t {
			a[i] = deepCopy(v)
		}
		return a
	}
	return x
}
