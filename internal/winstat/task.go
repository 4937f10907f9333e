package winstat

import (
	"fmt"
	"slices"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/transforms"
)

// Task is one task incarnation's windowed metrics, which source and sink
// pipelines record per batch and copy into their connect.TaskStatus with
// Fill. The zero value is ready; safe for concurrent use.
type Task struct {
	// BatchSize: records per batch; BatchTime: milliseconds per Poll
	// (sources) or Put (sinks); CommitTime: milliseconds per offset commit;
	// Active: records in flight, sampled once per batch.
	BatchSize, BatchTime, CommitTime, Active Stat
	states                                   StateTracker
}

// The StateTracker states of a task: the ratios reported are running and
// paused; every other state counts as other.
const (
	stateOther = iota
	stateRunning
	statePaused
)

func trackedState(s connect.State) int {
	switch s {
	case connect.StateRunning:
		return stateRunning
	case connect.StatePaused:
		return statePaused
	}
	return stateOther
}

// SetState records that the task's state became s at now (the first call
// starts the tracker).
func (m *Task) SetState(now time.Time, s connect.State) {
	m.states.Change(now, trackedState(s))
}

// Millis returns d in (fractional) milliseconds, as the *-time-ms metrics
// report it.
func Millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// Fill sets ts's windowed fields (BatchSize, BatchTime, OffsetCommitTime,
// ActiveCount) and ratios (RunningRatio, PauseRatio) as measured at now.
func (m *Task) Fill(now time.Time, ts *connect.TaskStatus) {
	ts.BatchSize = measure(&m.BatchSize, now)
	ts.BatchTime = measure(&m.BatchTime, now)
	ts.OffsetCommitTime = measure(&m.CommitTime, now)
	ts.ActiveCount = measure(&m.Active, now)
	ts.RunningRatio = m.states.Ratio(now, stateRunning)
	ts.PauseRatio = m.states.Ratio(now, statePaused)
}

func measure(s *Stat, now time.Time) connect.WindowedStat {
	mx, avg, n := s.Measure(now)
	if n == 0 {
		return connect.WindowedStat{} // no NaN in a status: it must marshal
	}
	return connect.WindowedStat{Max: mx, Avg: avg, Count: n}
}

// FillStages sets ts.Transforms and ts.Predicates from chain, when it is a
// *transforms.Chain (another Transformation has no stages to report).
func FillStages(chain transforms.Transformation, ts *connect.TaskStatus) {
	c, ok := chain.(*transforms.Chain)
	if !ok || c.Len() == 0 {
		return
	}
	for _, s := range c.Stages() {
		// NewChain defaults Class to the Go type name; the status names
		// the component by connect.ClassName then (a built-in's Kafka
		// Connect class), as when no class was configured.
		class := s.Class
		if class == "" || class == fmt.Sprintf("%T", s.Transformation) {
			class = connect.ClassName(s.Transformation)
		}
		ts.Transforms = append(ts.Transforms, connect.PluginStage{Alias: s.Alias, Class: class, Version: connect.VersionOf(s.Transformation)})
		if s.Predicate != nil && !slices.ContainsFunc(ts.Predicates, func(p connect.PluginStage) bool { return p.Alias == s.PredicateAlias }) {
			class := s.PredicateClass
			if class == "" || class == fmt.Sprintf("%T", s.Predicate) {
				class = connect.ClassName(s.Predicate)
			}
			ts.Predicates = append(ts.Predicates, connect.PluginStage{Alias: s.PredicateAlias, Class: class, Version: connect.VersionOf(s.Predicate)})
		}
	}
}
