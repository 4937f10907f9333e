package connect

import (
	"testing"
	"time"
)

// TestPartitionStatusLag: lag is the records in Kafka past the committed
// offset, and 0 while either end is unknown (no fetch yet, no committed or
// starting offset) rather than a made-up figure.
func TestPartitionStatusLag(t *testing.T) {
	for _, tc := range []struct {
		hwm, committed, want int64
	}{
		{100, 40, 60},
		{100, 100, 0},
		{100, 120, 0}, // committed past a stale high watermark
		{0, 0, 0},     // nothing fetched yet
		{100, -1, 0},  // no committed or starting offset known
	} {
		p := PartitionStatus{HighWatermark: tc.hwm, Committed: tc.committed}
		if got := p.Lag(); got != tc.want {
			t.Errorf("HighWatermark %d Committed %d: Lag() = %d, want %d", tc.hwm, tc.committed, got, tc.want)
		}
	}
}

// TestTaskStatusStalled: a RUNNING task is stalled while it retries a
// transient fault, or when it has work but delivered nothing for the given
// time since its last progress (or its start); never when it is idle or not
// running.
func TestTaskStatusStalled(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start.Add(10 * time.Minute)
	for _, tc := range []struct {
		name string
		ts   TaskStatus
		want bool
	}{
		{"retrying", TaskStatus{State: StateRunning, StallError: errTest}, true},
		{"idle", TaskStatus{State: StateRunning, Started: start}, false},
		{"in flight, no progress", TaskStatus{State: StateRunning, Started: start, InFlight: 3}, true},
		{"in flight, recent progress", TaskStatus{State: StateRunning, Started: start, InFlight: 3, LastProgress: now.Add(-time.Second)}, false},
		{"lag, no progress", TaskStatus{State: StateRunning, Started: start, Lag: 5}, true},
		{"paused", TaskStatus{State: StatePaused, Started: start, Lag: 5}, false},
		{"failed with a stall error", TaskStatus{State: StateFailed, StallError: errTest}, false},
	} {
		if got := tc.ts.Stalled(now, time.Minute); got != tc.want {
			t.Errorf("%s: Stalled = %v, want %v", tc.name, got, tc.want)
		}
	}
}

var errTest = &FatalError{Err: errString("boom")}

type errString string

func (e errString) Error() string { return string(e) }
