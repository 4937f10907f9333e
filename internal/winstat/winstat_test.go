package winstat

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/transforms"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestStatMaxAvgOverTwoSamples(t *testing.T) {
	var s Stat
	if mx, avg, n := s.Measure(t0); !math.IsNaN(mx) || !math.IsNaN(avg) || n != 0 {
		t.Fatalf("empty: %v %v %d, want NaN NaN 0", mx, avg, n)
	}
	s.Record(at(0), 10)
	s.Record(at(10*time.Second), 2)
	if mx, avg, n := s.Measure(at(20 * time.Second)); mx != 10 || avg != 6 || n != 2 {
		t.Fatalf("one sample: %v %v %d, want 10 6 2", mx, avg, n)
	}
	s.Record(at(35*time.Second), 4) // second sample
	if mx, avg, n := s.Measure(at(40 * time.Second)); mx != 10 || avg != 16.0/3 || n != 3 {
		t.Fatalf("two samples: %v %v %d", mx, avg, n)
	}
	// At 60 s the first sample (begun at 0) expired.
	if mx, avg, n := s.Measure(at(60 * time.Second)); mx != 4 || avg != 4 || n != 1 {
		t.Fatalf("first sample expired: %v %v %d, want 4 4 1", mx, avg, n)
	}
	// A record at 70 s starts a third sample, replacing the first.
	s.Record(at(70*time.Second), 1)
	if mx, avg, n := s.Measure(at(70 * time.Second)); mx != 4 || avg != 2.5 || n != 2 {
		t.Fatalf("rolled: %v %v %d, want 4 2.5 2", mx, avg, n)
	}
	if mx, _, n := s.Measure(at(200 * time.Second)); !math.IsNaN(mx) || n != 0 {
		t.Fatalf("all expired: %v %d", mx, n)
	}
}

func TestStatConcurrent(t *testing.T) {
	var s Stat
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				s.Record(at(time.Duration(i)*time.Millisecond), float64(g))
			}
		})
	}
	wg.Wait()
	if mx, avg, n := s.Measure(at(time.Second)); mx != 3 || avg != 1.5 || n != 4000 {
		t.Fatalf("%v %v %d, want 3 1.5 4000", mx, avg, n)
	}
}

func TestRate(t *testing.T) {
	var r Rate
	if v := r.Observe(at(0), 100); v != 0 {
		t.Fatalf("first observation: %v, want 0", v)
	}
	// 300 events in 10 s: Kafka Connect divides by at least one window (30 s).
	if v := r.Observe(at(10*time.Second), 400); v != 10 {
		t.Fatalf("within the first window: %v, want 300/30 = 10", v)
	}
	// 40 s: a second sample begins (base 1300); the first (0 s) is current.
	if v := r.Observe(at(40*time.Second), 1300); v != 1200.0/40 {
		t.Fatalf("two samples: %v, want 30", v)
	}
	// 70 s: the first sample expired; measured from the second (40 s).
	if v := r.Observe(at(70*time.Second), 1900); v != 600.0/30 {
		t.Fatalf("after expiry: %v, want 20", v)
	}
	// A collection long after: measured from the newest earlier sample.
	if v := r.Observe(at(370*time.Second), 1900+3000); v != 3000.0/300 {
		t.Fatalf("sparse collections: %v, want 10", v)
	}
	// The total went down: start over.
	if v := r.Observe(at(380*time.Second), 5); v != 0 {
		t.Fatalf("reset: %v, want 0", v)
	}
	if v := r.Observe(at(390*time.Second), 65); v != 2 {
		t.Fatalf("after reset: %v, want 60/30 = 2", v)
	}
}

func TestStateTracker(t *testing.T) {
	const running, paused = 1, 2
	var st StateTracker
	if v := st.Ratio(at(0), running); v != 0 {
		t.Fatalf("before start: %v", v)
	}
	st.Start(at(0), running)
	st.Change(at(30*time.Second), paused)
	st.Change(at(40*time.Second), running)
	if v := st.Ratio(at(100*time.Second), running); v != 0.9 {
		t.Fatalf("running-ratio: %v, want 0.9", v)
	}
	if v := st.Ratio(at(100*time.Second), paused); v != 0.1 {
		t.Fatalf("pause-ratio: %v, want 0.1", v)
	}
	// Cumulative, not windowed: an hour later the pause still counts.
	if v := st.Ratio(at(1000*time.Second), paused); v != 0.01 {
		t.Fatalf("pause-ratio later: %v, want 0.01", v)
	}
	st.Start(at(2000*time.Second), paused) // restarted: history forgotten
	if v := st.Ratio(at(2010*time.Second), paused); v != 1 {
		t.Fatalf("after restart: %v, want 1", v)
	}
}

// BenchmarkStatRecord: a per-batch observation allocates nothing.
func BenchmarkStatRecord(b *testing.B) {
	var s Stat
	now := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		s.Record(now.Add(time.Duration(i)*time.Millisecond), float64(i))
	}
}

func TestStatRecordAllocatesNothing(t *testing.T) {
	var s Stat
	var tr StateTracker
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		s.Record(now, 1)
		tr.Change(now, 1)
	}); n != 0 {
		t.Errorf("Record and Change allocate %v times", n)
	}
}

// An empty window is 0 in a status (which must marshal to JSON), NaN only
// in Stat.Measure.
func TestTaskFillEmptyWindow(t *testing.T) {
	var m Task
	var ts connect.TaskStatus
	m.Fill(at(0), &ts)
	if ts.BatchSize != (connect.WindowedStat{}) || ts.BatchTime != (connect.WindowedStat{}) {
		t.Fatalf("empty windows: %+v %+v", ts.BatchSize, ts.BatchTime)
	}
	if _, err := json.Marshal(ts.BatchSize); err != nil {
		t.Fatal(err)
	}
	m.BatchTime.Record(at(0), 4)
	m.BatchTime.Record(at(time.Second), 2)
	m.SetState(at(0), connect.StateRunning)
	m.SetState(at(3*time.Second), connect.StatePaused)
	m.Fill(at(4*time.Second), &ts)
	if ts.BatchTime != (connect.WindowedStat{Max: 4, Avg: 3, Count: 2}) || ts.RunningRatio != 0.75 || ts.PauseRatio != 0.25 {
		t.Fatalf("BatchTime %+v, ratios %v %v", ts.BatchTime, ts.RunningRatio, ts.PauseRatio)
	}
}

// FillStages names a chain's transformations and predicates by alias, with
// the configured class (else ClassName) and "undefined" for a component
// without a version; a predicate shared by stages is listed once.
func TestFillStages(t *testing.T) {
	pred, err := transforms.NewHasHeaderKey(transforms.HasHeaderKeyConfig{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := transforms.NewChain(
		transforms.Stage{Alias: "drop", Transformation: transforms.NewFilter(), Class: "org.apache.kafka.connect.transforms.Filter",
			Predicate: pred, PredicateAlias: "hasH", PredicateClass: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey"},
		transforms.Stage{Alias: "again", Transformation: transforms.NewFilter(), Predicate: pred, PredicateAlias: "hasH"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var ts connect.TaskStatus
	FillStages(chain, &ts)
	wantT := []connect.PluginStage{
		{Alias: "drop", Class: "org.apache.kafka.connect.transforms.Filter", Version: connect.UndefinedVersion},
		{Alias: "again", Class: connect.ClassName(transforms.NewFilter()), Version: connect.UndefinedVersion},
	}
	wantP := []connect.PluginStage{{Alias: "hasH", Class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey", Version: connect.UndefinedVersion}}
	if !slices.Equal(ts.Transforms, wantT) || !slices.Equal(ts.Predicates, wantP) {
		t.Fatalf("Transforms %+v\nPredicates %+v\nwant %+v\n%+v", ts.Transforms, ts.Predicates, wantT, wantP)
	}
	var none connect.TaskStatus
	FillStages(nil, &none)
	if none.Transforms != nil || none.Predicates != nil {
		t.Fatalf("no chain: %+v %+v", none.Transforms, none.Predicates)
	}
}

type goSMT struct{}

func (goSMT) Apply(_ context.Context, r *connect.Record) (*connect.Record, error) { return r, nil }

// A component without a Kafka Connect class is reported by the class it
// was configured with, else its Go type; a built-in by its canonical class
// even when an alias configured it.
func TestFillStagesClassNames(t *testing.T) {
	chain, err := transforms.NewChain(
		transforms.Stage{Alias: "mine", Transformation: goSMT{}, Class: "com.example.MySMT"},
		transforms.Stage{Alias: "anon", Transformation: goSMT{}},
		transforms.Stage{Alias: "alias", Transformation: transforms.NewFilter(), Class: "Filter"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var ts connect.TaskStatus
	FillStages(chain, &ts)
	want := []string{"com.example.MySMT", "winstat.goSMT", "org.apache.kafka.connect.transforms.Filter"}
	for i, s := range ts.Transforms {
		if s.Class != want[i] {
			t.Errorf("stage %s: class %q, want %q", s.Alias, s.Class, want[i])
		}
	}
}
