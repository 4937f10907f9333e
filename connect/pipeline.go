package connect

import (
	"context"
	"errors"
	"time"
)

// Pipeline types, as Kafka Connect's connector "type" in REST responses.
const (
	TypeSource = "source"
	TypeSink   = "sink"
)

// Errors of the Pipeline contract's offset operations, shared by every
// pipeline and the Runner so that one sentinel means one thing; test with
// errors.Is. The REST handler maps both to 400 Bad Request, as Kafka Connect
// does.
var (
	// ErrNotStopped refuses an offsets alter or reset while the connector's
	// pipeline runs: its tasks would overwrite the change with their next
	// commit or resume from offsets they hold in memory. Kafka Connect
	// (KIP-875) requires the STOPPED state too; stop it first.
	ErrNotStopped = errors.New("connector is not stopped; stop it before altering or resetting its offsets")
	// ErrOffsetsUnsupported is returned for a pipeline that does not
	// implement OffsetManager.
	ErrOffsetsUnsupported = errors.New("connector does not support offset management")
)

// Pipeline is what a Runner supervises: one source or sink connector with its
// tasks (source.Pipeline and sink.Pipeline implement it). Run is called once
// and blocks until the pipeline stopped (ctx done) or every task failed; it
// returns only after every goroutine it started has exited. Pause, Resume and
// PipelineStatus may be called from any goroutine, before, during or after
// Run.
type Pipeline interface {
	Name() string
	// Type is TypeSource or TypeSink.
	Type() string
	Run(ctx context.Context) error
	Pause()
	Resume()
	// PipelineStatus returns the live status, computed when called.
	PipelineStatus() PipelineStatus
}

// OffsetEntry is one committed offset in Kafka Connect's KIP-875 shape: for
// sources the source partition and offset maps; for sinks partition
// {"kafka_topic": t, "kafka_partition": p} and offset {"kafka_offset": o}. A
// nil Offset in AlterOffsets resets the partition.
type OffsetEntry struct {
	Partition map[string]any
	Offset    map[string]any
}

// OffsetManager is implemented by pipelines whose offsets can be listed,
// altered and reset (KIP-875). The Runner calls AlterOffsets and
// ResetOffsets only while the pipeline is not running.
type OffsetManager interface {
	ListOffsets(ctx context.Context) ([]OffsetEntry, error)
	AlterOffsets(ctx context.Context, entries []OffsetEntry) error
	ResetOffsets(ctx context.Context) error
}

// PipelineStatus is a point-in-time view of a pipeline.
type PipelineStatus struct {
	Name  string
	Type  string
	State State
	// Err is the failure when State is FAILED.
	Err   error
	Tasks []TaskStatus
}

// TaskStatus is a point-in-time view of one task: its state and the progress
// facts from which a stall is derived.
type TaskStatus struct {
	ID    int
	State State
	// Err is the failure when State is FAILED.
	Err error
	// Restarts counts restarts by the restart policy; LastFailure is the
	// failure that caused the last one.
	Restarts    int
	LastFailure error

	// RecordsIn counts records that entered the pipeline (source: polled;
	// sink: read from Kafka), before transforms. RecordsOut counts records
	// delivered (source: acknowledged by Kafka; sink: put). RecordsDropped
	// counts records filtered by transforms or skipped under
	// errors.tolerance.
	RecordsIn, RecordsOut, RecordsDropped int64
	// InFlight counts records in the pipeline not yet delivered.
	InFlight int64
	// Lag is, for sinks, the records available in Kafka but not yet
	// committed (sum over assigned partitions of high watermark − committed
	// offset); -1 when unknown (sources).
	Lag int64
	// Started is when the task (last) started.
	Started time.Time
	// LastPoll is when the task last returned records (sources) or records
	// were last fetched (sinks); LastProgress when records were last
	// delivered; LastCommit when offsets were last committed. Zero if never.
	LastPoll, LastProgress, LastCommit time.Time
	// OffsetCommits counts offset commits that succeeded and
	// OffsetCommitFailures those that failed (Kafka Connect's
	// offset-commit-success/failure-percentage are their shares);
	// OffsetCommitSkips counts failed commits that were abandoned rather
	// than retried (sinks: refused for a past group generation or failed
	// while closing partitions; offset-commit-skip-total).
	OffsetCommits, OffsetCommitFailures, OffsetCommitSkips int64

	// StallError is set while the task is RUNNING but cannot progress
	// because of a transient fault it keeps retrying (e.g. a source whose
	// broker is away): the last error it got. StalledSince is when that
	// began. Both are zero while the task progresses.
	StallError   error
	StalledSince time.Time

	// Errors are the task's error counters.
	Errors ErrorMetrics
	// Partitions describes a sink task's assigned partitions.
	Partitions []PartitionStatus
}

// PartitionStatus describes one Kafka partition assigned to a sink task.
type PartitionStatus struct {
	TopicPartition
	// Position is the next offset to deliver; Committed the committed
	// offset; HighWatermark the partition's end offset when last fetched.
	Position, Committed, HighWatermark int64
}

// Lag returns HighWatermark − Committed, or 0 when not positive.
func (p PartitionStatus) Lag() int64 { return max(p.HighWatermark-p.Committed, 0) }

// ErrorMetrics are a task's error counters, named after Kafka Connect's
// task-error-metrics group.
type ErrorMetrics struct {
	// RecordFailures counts failed attempts, retries included
	// (total-record-failures); RecordErrors records that failed for good
	// (total-record-errors); RecordsSkipped records skipped under tolerance
	// (total-records-skipped); Retries retries (total-retries); ErrorsLogged
	// log reports (total-errors-logged).
	RecordFailures, RecordErrors, RecordsSkipped, Retries, ErrorsLogged int64
	// DLQProduceRequests and DLQProduceFailures count dead-letter queue writes
	// (deadletterqueue-produce-requests / -failures).
	DLQProduceRequests, DLQProduceFailures int64
	// LastError is the time of the last failure (last-error-timestamp), zero
	// if none.
	LastError time.Time
}

// Stalled reports whether a RUNNING task is retrying a transient fault
// (StallError set), or has work (lag or records in flight) but delivered
// nothing for at least after, counting from its start when it never
// delivered: Kafka Connect would still say RUNNING; Sluice says stalled.
func (t TaskStatus) Stalled(now time.Time, after time.Duration) bool {
	if t.State == StateRunning && t.StallError != nil {
		return true
	}
	if t.State != StateRunning || (t.Lag <= 0 && t.InFlight <= 0) {
		return false
	}
	last := t.LastProgress
	if t.Started.After(last) {
		last = t.Started
	}
	return !last.IsZero() && now.Sub(last) >= after
}
