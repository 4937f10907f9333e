// Package winstat provides the windowed statistics behind Sluice's Kafka
// Connect metrics: [Stat], the Max and Avg of Kafka Connect's SampledStat
// (metrics.num.samples = 2 samples of metrics.sample.window.ms = 30 s, the
// kafka-clients defaults Kafka Connect's worker uses), [Rate], Kafka
// Connect's Rate computed from a cumulative total read at collection time,
// and [StateTracker], Kafka Connect's StateTracker behind running-ratio and
// pause-ratio. [Task] bundles a task's windowed metrics and state tracker
// for the source and sink pipelines, which copy them into their
// connect.TaskStatus (Task.Fill, FillStages for the transform and predicate
// classes).
//
// Observations are meant per batch, not per record: each costs one
// uncontended mutex and no allocation. Every type is safe for concurrent
// use; its zero value is ready.
package winstat

import (
	"math"
	"sync"
	"time"
)

// Window and Samples are Kafka Connect's defaults for metrics.sample.window.ms
// and metrics.num.samples: a windowed value covers the last Samples × Window
// (60 s) at most.
const (
	Window  = 30 * time.Second
	Samples = 2
)

type sample struct {
	start    int64 // unix nanoseconds; 0: unused
	n        int64
	sum, max float64
}

// Stat is a windowed Max/Avg, as Kafka Connect's Max and Avg sampled stats
// over Samples samples of Window each: Record adds to the current sample,
// starting a new one (replacing the oldest) once the current one is Window
// old; a sample older than Samples × Window no longer counts.
type Stat struct {
	mu  sync.Mutex
	s   [Samples]sample
	cur int
}

// Record adds the observation v made at now.
func (st *Stat) Record(now time.Time, v float64) {
	t := now.UnixNano()
	st.mu.Lock()
	c := &st.s[st.cur]
	if c.start == 0 || t-c.start >= int64(Window) {
		st.cur = (st.cur + 1) % Samples
		c = &st.s[st.cur]
		*c = sample{start: t, max: math.Inf(-1)}
	}
	c.n++
	c.sum += v
	c.max = max(c.max, v)
	st.mu.Unlock()
}

// Measure returns the maximum and the average of the observations of the
// samples still current at now, and their count; max and avg are NaN when
// there is none (as Kafka Connect reports them).
func (st *Stat) Measure(now time.Time) (maxV, avg float64, n int64) {
	t := now.UnixNano()
	maxV, sum := math.Inf(-1), 0.0
	st.mu.Lock()
	for i := range st.s {
		s := &st.s[i]
		if s.start == 0 || t-s.start >= Samples*int64(Window) {
			continue
		}
		n += s.n
		sum += s.sum
		maxV = max(maxV, s.max)
	}
	st.mu.Unlock()
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	return maxV, sum / float64(n), n
}

type mark struct {
	start int64 // unix nanoseconds; 0: unused
	base  int64 // the total when the sample started
}

// Rate is Kafka Connect's Rate (events per second over Samples samples of
// Window) computed from a cumulative total observed now and then (at metric
// collections): the increase of the total since the oldest sample still
// current, divided by the time since that sample began but at least
// (Samples−1) × Window, as Kafka Connect's Rate divides. A total that went
// down (its counter was recreated) starts it over.
type Rate struct {
	mu  sync.Mutex
	s   [Samples]mark
	cur int
}

// Observe records that the total was total at now and returns the rate in
// events per second. The first observation returns 0.
func (r *Rate) Observe(now time.Time, total int64) float64 {
	t := now.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.s[r.cur]
	if c.start == 0 || total < c.base || t < c.start {
		r.s = [Samples]mark{}
		r.cur = 0
		r.s[0] = mark{start: t, base: total}
		return 0
	}
	if t-c.start >= int64(Window) {
		r.cur = (r.cur + 1) % Samples
		r.s[r.cur] = mark{start: t, base: total}
	}
	// Measure from the oldest sample still current begun before now, else
	// (collections further apart than Samples × Window) from the newest
	// one begun before now.
	oldest, newest := -1, -1
	for i, s := range r.s {
		if s.start == 0 || s.start >= t {
			continue
		}
		if t-s.start < Samples*int64(Window) && (oldest < 0 || s.start < r.s[oldest].start) {
			oldest = i
		}
		if newest < 0 || s.start > r.s[newest].start {
			newest = i
		}
	}
	if oldest < 0 {
		oldest = newest
	}
	if oldest < 0 {
		return 0
	}
	o := r.s[oldest]
	elapsed := max(t-o.start, (Samples-1)*int64(Window))
	return float64(total-o.base) / (float64(elapsed) / float64(time.Second))
}

// StateTracker is Kafka Connect's StateTracker: it keeps the time spent in
// each state since Start, and Ratio is the fraction of that time spent in a
// state (cumulative, not windowed). States are small non-negative ints (the
// caller's enumeration, below MaxStates).
type StateTracker struct {
	mu      sync.Mutex
	started int64 // unix nanoseconds; 0: not started
	since   int64 // when the current state began
	cur     int
	spent   [MaxStates]int64
}

// MaxStates bounds the states a StateTracker tells apart.
const MaxStates = 8

// Start starts tracking at now in state s, forgetting earlier history
// (Kafka Connect starts a task's tracker when the task starts).
func (st *StateTracker) Start(now time.Time, s int) {
	st.mu.Lock()
	st.started, st.since, st.cur = now.UnixNano(), now.UnixNano(), s
	st.spent = [MaxStates]int64{}
	st.mu.Unlock()
}

// Change records that the state became s at now; before Start it starts
// the tracker.
func (st *StateTracker) Change(now time.Time, s int) {
	t := now.UnixNano()
	st.mu.Lock()
	if st.started == 0 {
		st.started, st.since, st.cur = t, t, s
		st.mu.Unlock()
		return
	}
	if t > st.since {
		st.spent[st.cur] += t - st.since
		st.since = t
	}
	st.cur = s
	st.mu.Unlock()
}

// Ratio returns the fraction of the time since Start spent in state s, up
// to now, in [0, 1]; 0 before Start or when no time passed.
func (st *StateTracker) Ratio(now time.Time, s int) float64 {
	t := now.UnixNano()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started == 0 || t <= st.started {
		return 0
	}
	in := st.spent[s]
	if st.cur == s && t > st.since {
		in += t - st.since
	}
	return float64(in) / float64(t-st.started)
}
