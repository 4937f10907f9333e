package main

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedianOf(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{nan}, 0, false},
		{[]float64{3, 1, 2}, 2, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
		{[]float64{5, nan, 1, 3}, 3, true}, // NaN (undefined run) ignored
	} {
		in := slices.Clone(tc.in)
		got, ok := medianOf(in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("medianOf(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if !slices.EqualFunc(in, tc.in, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
			t.Errorf("medianOf modified its argument: %v, was %v", in, tc.in)
		}
	}
}

// The headline is the median of the per-repetition ratios, which differs
// from the ratio of the medians when one repetition was disturbed.
func TestPairedMedianIsMedianOfPerPairRatios(t *testing.T) {
	// Repetition 2 was slow for both contenders (a loaded machine); the
	// ratio in every repetition is close to 1.
	sluice := []float64{100, 50, 110}
	sarama := []float64{100, 52, 140}
	got, ok := pairedMedian(sluice, sarama)
	// Per-pair ratios: 1.0, 0.9615…, 0.7857…: median 0.9615….
	if want := 50.0 / 52; !ok || math.Abs(got-want) > 1e-12 {
		t.Fatalf("pairedMedian = %v, %v; want %v", got, ok, want)
	}
	ms, _ := medianOf(sluice)
	mb, _ := medianOf(sarama)
	if ofMedians := ms / mb; math.Abs(ofMedians-got) < 1e-3 {
		t.Fatalf("test data does not tell the two apart: ratio of medians %v", ofMedians)
	}
	// Even count: mean of the two middle ratios.
	if got, ok := pairedMedian([]float64{1, 2, 3, 4}, []float64{1, 1, 1, 1}); !ok || got != 2.5 {
		t.Errorf("even count: %v, %v; want 2.5", got, ok)
	}
}

func TestPairedMedianUndefined(t *testing.T) {
	nan := math.NaN()
	if _, ok := pairedMedian(nil, nil); ok {
		t.Error("no samples: ok")
	}
	if _, ok := pairedMedian([]float64{1, 2}, []float64{1}); ok {
		t.Error("unequal lengths (not pairs): ok")
	}
	if _, ok := pairedMedian([]float64{1, 2}, []float64{1, 0}); ok {
		t.Error("zero denominator: ok")
	}
	// An undefined repetition drops its pair only, keeping the others
	// aligned.
	got, ok := pairedMedian([]float64{2, nan, 9}, []float64{1, 5, 3})
	if !ok || got != 2.5 {
		t.Errorf("with a NaN: %v, %v; want 2.5 (ratios 2 and 3)", got, ok)
	}
	if _, ok := pairedMedian([]float64{nan}, []float64{1}); ok {
		t.Error("all undefined: ok")
	}
}

func TestSteadyRate(t *testing.T) {
	for _, tc := range []struct {
		n, firstCnt    int64
		first, elapsed time.Duration
		want           float64
		ok             bool
	}{
		// 1001 records, the first acknowledged at 100 ms, the last at 1.1 s:
		// 1000 records in 1 s.
		{1001, 1, 100 * time.Millisecond, 1100 * time.Millisecond, 1000, true},
		// A status sample that already counted 500 at the first sighting.
		{10500, 500, 10 * time.Millisecond, 510 * time.Millisecond, 20000, true},
		{100, 100, time.Millisecond, time.Second, 0, false},        // all done at first
		{100, 1, time.Second, time.Second, 0, false},               // no time left
		{100, 1, -time.Millisecond, time.Second, 0, false},         // nonsense
		{100, 1, 2 * time.Second, time.Second, 0, false},           // first after the end
		{1, 0, time.Millisecond, 2 * time.Millisecond, 1000, true}, // firstCnt 0 (unknown) counts every record
	} {
		got, ok := steadyRate(tc.n, tc.firstCnt, tc.first, tc.elapsed)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("steadyRate(%d, %d, %v, %v) = %v, %v; want %v, %v", tc.n, tc.firstCnt, tc.first, tc.elapsed, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRepOrder(t *testing.T) {
	cs := []string{"baseline", "Sluice", "diagnostic"}
	want := [][]string{
		{"baseline", "Sluice", "diagnostic"},
		{"diagnostic", "Sluice", "baseline"},
		{"baseline", "Sluice", "diagnostic"},
		{"diagnostic", "Sluice", "baseline"},
	}
	for r, w := range want {
		if got := repOrder(cs, r); !slices.Equal(got, w) {
			t.Errorf("repOrder(%v, %d) = %v, want %v", cs, r, got, w)
		}
	}
	if !slices.Equal(cs, []string{"baseline", "Sluice", "diagnostic"}) {
		t.Errorf("repOrder modified its argument: %v", cs)
	}
	// Neighbours in the list run back to back in every repetition, and
	// each goes first in half of them.
	first := map[string]int{}
	for r := range 4 {
		o := repOrder(cs, r)
		i, j := slices.Index(o, "baseline"), slices.Index(o, "Sluice")
		if d := i - j; d != 1 && d != -1 {
			t.Errorf("rep %d: pair not back to back: %v", r, o)
		}
		if i < j {
			first["baseline"]++
		} else {
			first["Sluice"]++
		}
	}
	if first["baseline"] != 2 || first["Sluice"] != 2 {
		t.Errorf("who went first over 4 repetitions: %v, want 2 each", first)
	}
}

// addInProcess records the steady rate and time to first record, with NaN
// for a run whose steady rate is undefined so that repetitions stay
// aligned.
func TestAddInProcessSteadyAndFirst(t *testing.T) {
	r := &report{}
	r.addInProcess("source", cSarama, 1001, inSample{elapsed: 1100 * time.Millisecond, first: 100 * time.Millisecond, firstCnt: 1, brokerCPU: -1})
	r.addInProcess("source", cSarama, 1000, inSample{elapsed: time.Second, first: time.Second, firstCnt: 1000, brokerCPU: -1})
	r.addInProcess("source", cSluice, 1000, inSample{elapsed: time.Second, brokerCPU: -1}) // first unknown
	got := r.samples["source"][cSarama][figSteadyRate]
	if len(got) != 2 || got[0] != 1000 || !math.IsNaN(got[1]) {
		t.Errorf("steady samples = %v, want [1000 NaN]", got)
	}
	if got := r.samples["source"][cSarama][figFirstMs]; !slices.Equal(got, []float64{100, 1000}) {
		t.Errorf("first-record samples = %v, want [100 1000]", got)
	}
	if _, ok := r.samples["source"][cSluice][figSteadyRate]; ok {
		t.Error("a run without a first record got a steady rate")
	}
}

func inProcessReport() *report {
	r := &report{facts: facts{broker: &broker{}}}
	r.addTest(testInfo{id: "source", title: "source", contenders: []string{cSarama, cSluice},
		baselineFor: map[string]string{cSluice: cSarama}, pairedHeadline: true, figures: inProcessFigures})
	// 3 repetitions, the second disturbed for both.
	for _, s := range []struct {
		sarama, sluice time.Duration
	}{{time.Second, time.Second}, {2000 * time.Millisecond, 2080 * time.Millisecond}, {800 * time.Millisecond, 1000 * time.Millisecond}} {
		r.addInProcess("source", cSarama, 100000, inSample{elapsed: s.sarama, first: 10 * time.Millisecond, firstCnt: 1,
			cpu: 250 * time.Millisecond, allocs: 400000, brokerCPU: -1})
		r.addInProcess("source", cSluice, 100000, inSample{elapsed: s.sluice, first: 12 * time.Millisecond, firstCnt: 100,
			cpu: 350 * time.Millisecond, allocs: 530000, brokerCPU: -1})
	}
	return r
}

func TestReportPairedHeadlineAndDetail(t *testing.T) {
	r := inProcessReport()
	var b bytes.Buffer
	r.print(&b)
	out := b.String()
	// Per-pair ratios 1, 0.9615, 0.8: median 0.9615; medians 100000/s vs
	// 100000/s: 1.
	for _, want := range []string{
		"ratio: source_vs_sarama 0.962\n",
		"ratio: source_vs_sarama_of_medians 1.000\n",
		"ratio: source_vs_sarama_steady ",
		`detail: source_vs_sarama test=source contenders="Sluice"/"sarama" cpu_us_per_record=3.50/2.50 allocs_per_record=5.30/4.00` + "\n",
		"Sluice / sarama, records/s: **0.96×** (median of the repetitions' ratios), ratio of the medians 1.00×; after the first record: **",
		"ms to first record 12.0 vs 10.0; CPU µs/record 3.50 vs 2.50, heap allocs/record 5.30 vs 4.00 (medians, Sluice vs sarama)",
		"| records/s after the first record | sarama | ",
		"| ms to first record | Sluice | 12.0 | 12.0 | 12.0 |",
		"ratio: sink_json_vs_sarama n/a\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "detail: sink_vs_sarama") {
		t.Error("detail line for a test that did not run")
	}
}
