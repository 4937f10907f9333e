package winstat

import (
	"slices"
	"sync"

	"github.com/sluicehq/sluice/connect"
)

// AddCounters adds the cumulative counters of prev, a finished incarnation
// of the same task (replaced by a restart in place or by the restart
// policy), to ts, so that they stay monotonic across restarts as Kafka
// Connect's do for the worker's life: RecordsIn/Out/Dropped,
// RecordsWritten, RecordsFiltered/Skipped/Committed, OffsetCommits,
// OffsetCommitFailures/Skips/Retries, PutRetries, Transactions,
// TransactionAborts, Rebalances and Errors (AddErrorMetrics). Gauges,
// windowed values, times, Restarts (already cumulative under the restart
// policy; the Runner counts restarts in place) and OffsetCommitSeqNo (per
// incarnation, as Kafka Connect's) are left alone.
func AddCounters(ts *connect.TaskStatus, prev connect.TaskStatus) {
	ts.RecordsIn += prev.RecordsIn
	ts.RecordsOut += prev.RecordsOut
	ts.RecordsDropped += prev.RecordsDropped
	ts.RecordsWritten += prev.RecordsWritten
	ts.RecordsFiltered += prev.RecordsFiltered
	ts.RecordsSkipped += prev.RecordsSkipped
	ts.RecordsCommitted += prev.RecordsCommitted
	ts.OffsetCommits += prev.OffsetCommits
	ts.OffsetCommitFailures += prev.OffsetCommitFailures
	ts.OffsetCommitSkips += prev.OffsetCommitSkips
	ts.OffsetCommitRetries += prev.OffsetCommitRetries
	ts.PutRetries += prev.PutRetries
	ts.Transactions += prev.Transactions
	ts.TransactionAborts += prev.TransactionAborts
	ts.Rebalances += prev.Rebalances
	ts.Errors = AddErrorMetrics(ts.Errors, prev.Errors)
}

// AddErrorMetrics returns the sum of two sets of error counters, with the
// later LastError.
func AddErrorMetrics(a, b connect.ErrorMetrics) connect.ErrorMetrics {
	a.RecordFailures += b.RecordFailures
	a.RecordErrors += b.RecordErrors
	a.RecordsSkipped += b.RecordsSkipped
	a.Retries += b.Retries
	a.ErrorsLogged += b.ErrorsLogged
	a.DLQProduceRequests += b.DLQProduceRequests
	a.DLQProduceFailures += b.DLQProduceFailures
	if b.LastError.After(a.LastError) {
		a.LastError = b.LastError
	}
	return a
}

// Retired holds, per task id, the summed counters (AddCounters) of a
// pipeline's task runners that were removed or replaced by a restart, which
// the pipeline adds to the id's live status so its counters stay monotonic.
// The zero value is empty and ready; not safe for concurrent use (the
// pipeline guards it with its own lock).
type Retired struct{ byID map[int]connect.TaskStatus }

// Add adds the counters of st, the final status of a runner that stopped
// for good, to st.ID's totals.
func (r *Retired) Add(st connect.TaskStatus) {
	if r.byID == nil {
		r.byID = map[int]connect.TaskStatus{}
	}
	acc := r.byID[st.ID]
	AddCounters(&acc, st)
	acc.ID = st.ID
	r.byID[st.ID] = acc
}

// Retire removes from *tasks, guarded by mu, the runners match selects, and
// adds each one's final status to r in the same critical section that
// removes it, so that a listing taken under mu counts each runner exactly
// once; a runner another caller removed meanwhile is not added again. The
// statuses are read outside mu (a runner's status takes its own locks), so
// the runners must have stopped. For a pipeline's task list (sink and
// source: Remove, RemoveID).
func Retire[T comparable](mu *sync.Mutex, tasks *[]T, r *Retired, match func(T) bool, status func(T) connect.TaskStatus) {
	mu.Lock()
	var gone []T
	for _, t := range *tasks {
		if match(t) {
			gone = append(gone, t)
		}
	}
	mu.Unlock()
	sts := make([]connect.TaskStatus, len(gone))
	for i, t := range gone {
		sts[i] = status(t)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, t := range gone {
		if slices.Contains(*tasks, t) {
			r.Add(sts[i])
		}
	}
	*tasks = slices.DeleteFunc(*tasks, func(t T) bool { return slices.Contains(gone, t) })
}

// Of returns the retired totals of task id (zero if none).
func (r *Retired) Of(id int) connect.TaskStatus { return r.byID[id] }
