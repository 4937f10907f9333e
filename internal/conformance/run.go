package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Area is a family of cases counted together.
type Area string

// The areas.
const (
	AreaConverters Area = "converters"
	AreaSMTs       Area = "smts"
)

// RunConfig says what a run generates.
type RunConfig struct {
	// Seed makes the run reproducible: one seed, one set of cases.
	Seed uint64
	// Cases is the number of cases per area.
	Cases int
	// Areas to run; empty means all.
	Areas []Area
	// Minimize divergences (costs harness round trips); MaxMinimize caps
	// how many are minimised (0: 50).
	Minimize    bool
	MaxMinimize int
	// Classes, if set, keeps only the cases whose class (short name, e.g.
	// "Cast$Value" or "JsonConverter") contains one of these.
	Classes []string
	// Log, if set, receives progress lines.
	Log io.Writer
}

// Divergence is one unexplained divergence, minimised when the run
// minimises, in corpus form.
type Divergence struct {
	Entry CorpusEntry
	Kind  string
	// Sluice is Sluice's response, for the report.
	Sluice *Response
}

// Counts are the outcomes of a group of cases.
type Counts map[Outcome]int

// Total is the number of cases.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Report is a run's result.
type Report struct {
	Seed uint64
	// ByArea and ByClass count outcomes per area and per class
	// ("<class> <op>").
	ByArea  map[Area]Counts
	ByClass map[string]Counts
	// ByExplanation counts explained divergences per rule.
	ByExplanation map[string]int
	Divergences   []Divergence
}

// Generate returns the cases of area for seed.
func Generate(seed uint64, area Area, n int) []*Request {
	g := NewGen(seed ^ uint64(len(area))<<56 ^ hashString(string(area)))
	reqs := make([]*Request, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s-%d-%d", area, seed, i)
		var r *Request
		switch area {
		case AreaConverters:
			if g.Chance(0.2) {
				r = g.HeaderCase(id)
			} else {
				r = g.ConverterCase(id)
			}
		case AreaSMTs:
			if g.Chance(0.08) {
				r = g.PredicateCase(id)
			} else {
				r = g.TransformCase(id)
			}
		}
		reqs = append(reqs, r)
	}
	return reqs
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Run generates cases, runs them through Kafka Connect (h) and Sluice, and
// compares.
func Run(ctx context.Context, h *Harness, cfg RunConfig) (*Report, error) {
	areas := cfg.Areas
	if len(areas) == 0 {
		areas = []Area{AreaConverters, AreaSMTs}
	}
	rep := &Report{Seed: cfg.Seed, ByArea: map[Area]Counts{}, ByClass: map[string]Counts{}, ByExplanation: map[string]int{}}
	maxMin := cfg.MaxMinimize
	if maxMin == 0 {
		maxMin = 50
	}
	minimised := 0
	for _, area := range areas {
		reqs := Generate(cfg.Seed, area, cfg.Cases)
		if len(cfg.Classes) > 0 {
			reqs = slices.DeleteFunc(reqs, func(r *Request) bool {
				k := classKey(r)
				for _, c := range cfg.Classes {
					if strings.Contains(k, c) {
						return false
					}
				}
				return true
			})
		}
		const batch = 500
		for start := 0; start < len(reqs); start += batch {
			part := reqs[start:min(start+batch, len(reqs))]
			kcs, err := h.Do(part)
			if err != nil {
				return nil, err
			}
			for i, req := range part {
				if e := kcs[i].HarnessError; e != "" {
					return nil, fmt.Errorf("the Kafka Connect harness could not run %s: %s", req.ID, e)
				}
				sl := RunSluice(ctx, req)
				v := Compare(req, kcs[i], sl)
				count(rep.ByArea, area, v.Outcome)
				count(rep.ByClass, classKey(req), v.Outcome)
				if v.Outcome == Explained {
					rep.ByExplanation[v.Explanation]++
				}
				if v.Outcome != Diverge {
					continue
				}
				d := Divergence{Entry: CorpusEntry{Request: req, KafkaConnect: kcs[i]}, Kind: v.Kind, Sluice: sl}
				if cfg.Minimize && minimised < maxMin {
					minimised++
					if m, err := Minimize(ctx, h, d); err == nil {
						d = m
					} else {
						return nil, err
					}
				}
				rep.Divergences = append(rep.Divergences, d)
			}
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "%s: %d/%d cases\n", area, start+len(part), len(reqs))
			}
		}
	}
	return rep, nil
}

func count[K comparable](m map[K]Counts, k K, o Outcome) {
	c := m[k]
	if c == nil {
		c = Counts{}
		m[k] = c
	}
	c[o]++
}

func classKey(req *Request) string {
	c := req.Class
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		c = c[i+1:]
	}
	return c + " " + string(req.Op)
}

// Summary writes the report's counts as a Markdown table, per area and per
// class, with the divergence rate.
func (r *Report) Summary(w io.Writer) {
	fmt.Fprintf(w, "seed %d\n\n", r.Seed)
	fmt.Fprintln(w, "| area / class | cases | agree | fail alike | explained | diverge | skipped |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	row := func(name string, c Counts) {
		t := c.Total()
		pct := func(o Outcome) string {
			if t == 0 {
				return "0"
			}
			return fmt.Sprintf("%d (%.1f %%)", c[o], 100*float64(c[o])/float64(t))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", name, t, pct(Agree), pct(FailAlike), pct(Explained), pct(Diverge), pct(Skipped))
	}
	areas := make([]string, 0, len(r.ByArea))
	for a := range r.ByArea {
		areas = append(areas, string(a))
	}
	sort.Strings(areas)
	for _, a := range areas {
		row("**"+a+"**", r.ByArea[Area(a)])
	}
	classes := make([]string, 0, len(r.ByClass))
	for c := range r.ByClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		row(c, r.ByClass[c])
	}
	if len(r.ByExplanation) > 0 {
		fmt.Fprintln(w, "\nexplained divergences by rule:")
		ids := make([]string, 0, len(r.ByExplanation))
		for id := range r.ByExplanation {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			fmt.Fprintf(w, "  %-40s %d\n", id, r.ByExplanation[id])
		}
	}
}

// WriteDivergences writes each divergence as a corpus line (JSON), preceded
// by a comment-free summary line on the log writer.
func (r *Report) WriteDivergences(corpus io.Writer, log io.Writer) error {
	for _, d := range r.Divergences {
		if log != nil {
			kc, _ := json.Marshal(d.Entry.KafkaConnect)
			sl, _ := json.Marshal(d.Sluice)
			req, _ := json.Marshal(d.Entry.Request)
			fmt.Fprintf(log, "\n[%s] %s\n  request:       %s\n  kafka connect: %s\n  sluice:        %s\n", d.Kind, classKey(d.Entry.Request), req, kc, sl)
		}
		if corpus != nil {
			b, err := json.Marshal(d.Entry)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(corpus, "%s\n", b); err != nil {
				return err
			}
		}
	}
	return nil
}
