package conformance

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCorpus replays every kept case through Sluice and compares with the
// answer Kafka Connect gave when it was recorded: a fixed divergence must
// stay fixed, and an explained one must stay explained. No Java needed.
func TestCorpus(t *testing.T) {
	entries, err := LoadCorpus(CorpusPath())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("empty corpus")
	}
	ctx := context.Background()
	failed := 0
	unset := 0
	for _, e := range entries {
		sl := RunSluice(ctx, e.Request)
		v := Compare(e.Request, e.KafkaConnect, sl)
		if v.Outcome == Diverge {
			failed++
		}
		switch {
		case e.Expect == "":
			// A new case: record its verdict with -fill-expect once it
			// no longer diverges.
			unset++
			t.Errorf("%s: no expected verdict (today: %s): go run ./internal/conformance/cmd/conformance -fill-expect", e.Request.ID, v)
			continue
		case e.Expect == v.String():
			continue
		}
		req, _ := json.Marshal(e.Request)
		kc, _ := json.Marshal(e.KafkaConnect)
		got, _ := json.Marshal(sl)
		t.Errorf("%s: verdict %s, the corpus expects %q%s\n  request:       %s\n  kafka connect: %s\n  sluice:        %s",
			e.Request.ID, v, e.Expect, noteSuffix(e.Note), req, kc, got)
	}
	t.Logf("%d corpus cases, %d diverge, %d without an expected verdict", len(entries), failed, unset)
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

// requireJava skips (or, under CI=true, fails) when Java is missing.
func requireJava(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s not found: the differential run needs Java 17", tool)
		}
	}
}

// ciSeeds are the fixed seeds CI runs: deterministic, so a submission never
// fails on luck. A fresh seed is `go run ./internal/conformance/cmd/conformance`.
var ciSeeds = []uint64{1, 2}

// TestDifferential runs a few thousand generated cases per area from fixed
// seeds through Kafka Connect 4.3.1's own classes and Sluice, and fails on
// any divergence CONFORMANCE.md does not explain.
func TestDifferential(t *testing.T) {
	requireJava(t)
	ctx := context.Background()
	h, err := StartHarness(ctx)
	if err != nil {
		// No Maven, no network for the jars, no JDK: a skip on a
		// developer's machine, a failure in CI.
		if os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	cases := 1500
	if testing.Short() {
		cases = 300
	}
	for _, seed := range ciSeeds {
		rep, err := Run(ctx, h, RunConfig{Seed: seed, Cases: cases, Minimize: true, MaxMinimize: 10})
		if err != nil {
			t.Fatal(err)
		}
		var sum strings.Builder
		rep.Summary(&sum)
		t.Log("\n" + sum.String())
		if len(rep.Divergences) > 0 {
			var b strings.Builder
			_ = rep.WriteDivergences(nil, &b)
			t.Errorf("seed %d: %d unexplained divergences from Kafka Connect (add them to testdata/corpus.jsonl once fixed or explained):%s",
				seed, len(rep.Divergences), b.String())
		}
		for area, c := range rep.ByArea {
			// Skipped cases are inputs Kafka Connect itself refuses (an
			// empty field name, a default its SchemaBuilder rejects);
			// Sluice refusing an input is a divergence of its own.
			if c[Skipped]*20 > c.Total() {
				t.Errorf("seed %d, %s: %d of %d cases skipped (over 5 %%): the generator makes too many inputs Kafka Connect refuses", seed, area, c[Skipped], c.Total())
			}
		}
	}
}

// TestConformanceDocListsEveryRule keeps CONFORMANCE.md and the rules in
// step: every explained divergence is a line there, by its ID.
func TestConformanceDocListsEveryRule(t *testing.T) {
	doc, err := os.ReadFile(PackageDir() + "/../../CONFORMANCE.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range explanations {
		if seen[e.ID] {
			t.Errorf("rule %s registered twice", e.ID)
		}
		seen[e.ID] = true
		if e.Reason == "" {
			t.Errorf("rule %s has no reason", e.ID)
		}
		if !strings.Contains(string(doc), "`"+e.ID+"`") {
			t.Errorf("CONFORMANCE.md does not list rule `%s` (%s)", e.ID, e.Reason)
		}
	}
}
