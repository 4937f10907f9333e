package winstat

import (
	"time"

	"github.com/sluicehq/sluice/connect"
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
