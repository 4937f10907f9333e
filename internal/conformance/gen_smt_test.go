package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTransformCases runs a few thousand generated SMT and predicate cases
// through Sluice: every class is produced, every request survives the
// protocol's JSON round trip, generation is deterministic, and Sluice never
// panics the test. Sluice's results are not asserted here (Kafka Connect is
// the oracle); the per-class outcome counts are logged.
func TestTransformCases(t *testing.T) {
	const n = 5000
	ctx := context.Background()
	type counts struct{ ok, dropped, configure, apply, predicate, input, panics int }
	per := map[string]*counts{}
	for _, c := range SMTClasses {
		per[c] = &counts{}
	}
	for seed := uint64(1); seed <= n/50; seed++ {
		g, again := NewGen(seed), NewGen(seed)
		for i := range 50 {
			id := fmt.Sprintf("%d-%d", seed, i)
			var req *Request
			if i%10 == 9 {
				req = g.PredicateCase(id)
				if b1, b2 := mustJSON(t, req), mustJSON(t, again.PredicateCase(id)); b1 != b2 {
					t.Fatalf("case %s not deterministic", id)
				}
			} else {
				req = g.TransformCase(id)
				if b1, b2 := mustJSON(t, req), mustJSON(t, again.TransformCase(id)); b1 != b2 {
					t.Fatalf("case %s not deterministic", id)
				}
			}
			b := mustJSON(t, req)
			var back Request
			if err := json.Unmarshal([]byte(b), &back); err != nil {
				t.Fatalf("case %s: %v", id, err)
			}
			if mustJSON(t, &back) != b {
				t.Fatalf("case %s does not survive a JSON round trip:\n%s\n%s", id, b, mustJSON(t, &back))
			}
			resp := RunSluice(ctx, &back)
			if resp.HarnessError != "" {
				t.Fatalf("case %s: harness error %s", id, resp.HarnessError)
			}
			if req.Op == OpPredicate {
				continue
			}
			c, ok := per[req.Class]
			if !ok {
				t.Fatalf("case %s: class %s not in SMTClasses", id, req.Class)
			}
			if strings.Contains(resp.Error, "panic") {
				c.panics++
			}
			switch {
			case resp.InputError != "":
				c.input++
			case resp.Phase == "configure":
				c.configure++
			case resp.Phase == "apply":
				c.apply++
			case resp.Phase == "predicate":
				c.predicate++
			case resp.Record == nil:
				c.dropped++
			default:
				c.ok++
			}
		}
	}
	classes := slices.Sorted(func(yield func(string) bool) {
		for c := range per {
			if !yield(c) {
				return
			}
		}
	})
	for _, c := range classes {
		x := per[c]
		total := x.ok + x.dropped + x.configure + x.apply + x.predicate + x.input
		if total == 0 {
			t.Errorf("no case for %s", c)
		}
		t.Logf("%-60s %4d cases: ok %4d dropped %3d configure-err %4d apply-err %4d predicate-err %3d input-err %3d (panics %d)",
			c, total, x.ok, x.dropped, x.configure, x.apply, x.predicate, x.input, x.panics)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
