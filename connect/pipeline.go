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
// and blocks until the pipeline stopped (ctx done) or its connector failed;
// it returns only after every goroutine it started has exited. Pause, Resume
// and PipelineStatus may be called from any goroutine, before, during or
// after Run.
//
// Status follows Kafka Connect: the pipeline's State and Err are the
// connector's, its Tasks' those of each task. A task that fails is FAILED
// (with its Err, shown as the task's trace) and the pipeline stays RUNNING
// (PAUSED): a task failure, even of every task, does not end Run; the task
// comes back through a restart (the restart policy, TaskRestarter). The
// pipeline is FAILED, and Run may return that error, only for a failure of
// the connector itself (for a source with a Connector, its task configs
// could not be computed; a source whose offset store cannot be opened).
// After a stop, source.Pipeline's and sink.Pipeline's Run return the errors
// of the tasks FAILED at that moment (nil in assigned mode); the Runner only
// logs what Run returns.
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

// TaskAssignable is implemented by pipelines that a cluster runs piecewise,
// as Kafka Connect's distributed mode splits a connector between the
// connector instance, which computes task configs on the member that owns
// it, and the tasks, which run wherever the cluster assigned them
// (source.Pipeline and sink.Pipeline implement it). Tasks that keep their
// owner are not stopped by a rebalance (incremental cooperative
// rebalancing): AssignTasks changes the set of running tasks without
// touching the others.
type TaskAssignable interface {
	Pipeline
	// ComputeTaskConfigs computes the connector's task configurations, as
	// Kafka Connect's Connector.taskConfigs: for a source with a Connector its
	// TaskConfigs(properties, tasks.max), checked as Run checks them (an
	// error, a panic or more than tasks.max configs is an error naming the
	// connector); a source without one: one task with the connector's
	// properties; a sink: tasks.max copies of its properties. It starts
	// nothing; callable before, during or after Run, from any goroutine.
	ComputeTaskConfigs(ctx context.Context) ([]map[string]string, error)
	// AssignTasks sets the tasks this pipeline runs: task id → config.
	//
	// Called before Run, it makes Run start exactly these (instead of
	// computing configs itself) and puts the pipeline in assigned mode:
	// Run then returns only when ctx is done (a source whose offset store
	// cannot be opened for good fails at once, as Run does today), it runs
	// with zero tasks too, and the pipeline stays RUNNING (PAUSED) whatever
	// its tasks do: a task that fails is FAILED in PipelineStatus, is
	// restarted under the restart policy as usual, and does not end Run.
	// Run returns nil after the stop.
	//
	// Called during Run in assigned mode: tasks no longer assigned, and
	// tasks whose config changed, stop gracefully (as on a pipeline stop:
	// drain, commit offsets, Task.Stop) and AssignTasks returns once they
	// stopped; then newly assigned ones (and changed ones, with the new
	// config) start, paused if the pipeline is paused; tasks assigned
	// before and after with an equal config keep running untouched (no
	// Stop/Start), a FAILED one stays FAILED. Reassigning without an id and
	// then with it restarts that task in place, as RestartAssignedTask
	// does in one call. When ctx is done before the stops finished,
	// AssignTasks returns ctx's error and starts nothing (the next call
	// does, once the stops finished).
	//
	// PipelineStatus lists only the tasks assigned here, by their assigned
	// id, sorted by id (before Run: UNASSIGNED; a task removed disappears
	// once stopped); the pipeline's State is UNASSIGNED before Run,
	// RUNNING or PAUSED during it, STOPPED after it. Each task keeps its id
	// in logs, errors, client ids, transactional ids and dead-letter queue
	// headers. Calls are serialized; safe from any goroutine. After Run
	// returned it is a no-op; during a Run not started in assigned mode it
	// is an error. Ids must not be negative.
	AssignTasks(ctx context.Context, tasks map[int]map[string]string) error
	// RestartAssignedTask restarts assigned task id in place (graceful
	// stop, then a new instance with the same config, a FAILED task
	// included; the other tasks untouched), as Kafka Connect restarts a
	// task on the worker that runs it. It is an error when the pipeline is
	// not in assigned mode or id is not assigned to it; a no-op before Run
	// started the tasks and after Run returned. Serialized with
	// AssignTasks. (source.Pipeline and sink.Pipeline also implement
	// TaskRestarter, which restarts a task in place in either mode.)
	RestartAssignedTask(ctx context.Context, id int) error
}

// ConnectorRestarter is implemented by pipelines that can restart their
// connector part alone, leaving the tasks that run untouched: what Kafka
// Connect's POST /connectors/{name}/restart does without includeTasks or
// onlyFailed (the legacy restart, 204). The Runner calls it only while
// Run runs and the connector is not FAILED (then it restarts the whole
// pipeline); without it, that restart leaves a running pipeline as it is.
//
// RestartConnector restarts the connector and returns once done. For a
// source with a Connector, the task configs are computed again and, only
// when they changed, the tasks are reconfigured as by AssignTasks (changed
// and removed tasks stop gracefully, new ones start; the others keep
// running), as Kafka Connect does after a connector restart; a failure to
// compute them is the connector's: the pipeline turns FAILED with it (its
// tasks go on) and it is returned. A sink, or a source without a
// Connector, has no connector code: the restart is only the connector's
// state transition and returns nil. ctx bounds waiting for task stops.
// Safe from any goroutine.
type ConnectorRestarter interface {
	RestartConnector(ctx context.Context) error
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

// PipelineStatus is a point-in-time view of a pipeline: what
// source.Pipeline and sink.Pipeline report from PipelineStatus and what the
// Runner's status and REST endpoints show.
type PipelineStatus struct {
	Name string
	// Type is TypeSource or TypeSink.
	Type  string
	State State
	// Err is the failure when State is FAILED.
	Err   error
	Tasks []TaskStatus
}

// TaskErrors returns the errors of the tasks that are FAILED, joined with
// errors.Join in task order (nil if none): what a pipeline's Run returns
// after a stop.
func (s PipelineStatus) TaskErrors() error {
	var errs []error
	for _, t := range s.Tasks {
		if t.State == StateFailed && t.Err != nil {
			errs = append(errs, t.Err)
		}
	}
	return errors.Join(errs...)
}

// AllTasksFailed reports whether the pipeline has tasks and every one is
// FAILED: as in Kafka Connect, the connector then still runs (its Run goes
// on) until it is stopped or a task is restarted; a program that runs one
// pipeline and has nothing left to do without its tasks checks this.
func (s PipelineStatus) AllTasksFailed() bool {
	if len(s.Tasks) == 0 {
		return false
	}
	for _, t := range s.Tasks {
		if t.State != StateFailed {
			return false
		}
	}
	return true
}

// TaskStatus is a point-in-time view of one task: its state and the progress
// facts from which a stall is derived. The first group of fields means the
// same for source and sink tasks; the fields after it are filled by one kind
// of pipeline only (zero for the other), as Kafka Connect keeps
// source-task-metrics and sink-task-metrics apart.
type TaskStatus struct {
	ID    int
	State State
	// Err is the failure when State is FAILED.
	Err error
	// Restarts counts restarts by the restart policy; LastFailure is the
	// failure that caused the last one.
	Restarts    int
	LastFailure error

	// RecordsIn counts records that entered the pipeline (source: returned
	// by Poll; sink: fetched from Kafka and taken for delivery), before
	// transforms. RecordsOut counts records delivered (source: acknowledged
	// by Kafka; sink: handed to a Put that succeeded, less those it reported
	// failed in a *BatchError). RecordsDropped counts records filtered by
	// transforms or skipped under errors.tolerance.
	RecordsIn, RecordsOut, RecordsDropped int64
	// InFlight counts records in the pipeline not yet delivered (source:
	// handed to the producer and not yet acknowledged; sink: fetched and
	// buffered, or in the batch being built, put or redelivered).
	InFlight int64
	// Lag is, for sinks, the records available in Kafka but not yet
	// committed (the sum of the Partitions' Lag); -1 for sources.
	Lag int64
	// Started is when the task (last) started.
	Started time.Time
	// LastPoll is when the task last returned records (sources) or records
	// were last fetched (sinks); LastProgress when records were last
	// delivered (sources: acknowledged; sinks: a batch completed, put or
	// entirely filtered or skipped); LastCommit when offsets were last
	// committed. Zero if never.
	LastPoll, LastProgress, LastCommit time.Time
	// OffsetCommits counts offset commits that succeeded and
	// OffsetCommitFailures those that failed (Kafka Connect's
	// offset-commit-success/failure-percentage are their shares; for sinks
	// a failure is a PreCommit or Flush that failed, after which consumption
	// was rewound to the last committed offsets, or a group commit that
	// failed after its retries); OffsetCommitSkips counts failed commits
	// that were abandoned rather than retried (sinks: refused for a past
	// group generation or failed while closing partitions, their records
	// are delivered again by the partitions' next owner;
	// offset-commit-skip-total).
	OffsetCommits, OffsetCommitFailures, OffsetCommitSkips int64

	// StallError is set while the task is RUNNING but cannot progress
	// because of a transient fault it keeps retrying (e.g. a source whose
	// broker is away, a leader change, a missing topic: no record is polled
	// meanwhile and records already sent are re-sent until acknowledged):
	// the last error it got, naming stage and record. StalledSince is when
	// that began. Both are zero while the task progresses.
	StallError   error
	StalledSince time.Time

	// Errors are the task's error counters (Kafka Connect's
	// task-error-metrics).
	Errors ErrorMetrics

	// Source tasks only.
	//
	// RecordsWritten counts records handed to the producer (RecordsOut
	// those of them Kafka acknowledged); InFlightBytes the size of the
	// records in flight; RecordsRetrying the records in flight the producer
	// returned with a retriable error, held to be re-sent (see StallError).
	RecordsWritten  int64
	InFlightBytes   int64
	RecordsRetrying int64
	// TransactionalID is the producer's transactional id of an exactly-once
	// source task (<group>-<connector>-<task>), "" otherwise.
	// Transactions counts the transactions the task committed,
	// TransactionAborts those it aborted (connector requests and failures).
	// TransactionSizeMin, TransactionSizeMax and TransactionSizeAvg are the
	// number of records in the smallest, largest and average committed
	// transaction (Kafka Connect's transaction-size-min/-max/-avg; 0 before
	// the first commit).
	TransactionalID                        string
	Transactions, TransactionAborts        int64
	TransactionSizeMin, TransactionSizeMax int64
	TransactionSizeAvg                     float64

	// Sink tasks only.
	//
	// RecordsFiltered and RecordsSkipped split RecordsDropped: records
	// dropped by transforms, and records that failed conversion,
	// transformation or Put and were skipped under errors.tolerance=all.
	// RecordsCommitted counts the records covered by consumer offset
	// commits (the sum of committed offset advances).
	RecordsFiltered, RecordsSkipped, RecordsCommitted int64
	// Buffered and BufferedBytes are the records fetched but not yet taken
	// for a batch; Batched the records taken for the batch being built, put
	// or redelivered (InFlight is Buffered + Batched).
	Buffered, BufferedBytes, Batched int64
	// PutRetries counts redeliveries of batches whose Put failed with a
	// retriable error; OffsetCommitRetries group commit requests retried
	// because the coordinator was away, moving or loading.
	PutRetries, OffsetCommitRetries int64
	// CommitErr is the failure of the last offset commit, nil once a commit
	// succeeded again.
	CommitErr error
	// LastPut is when a Put last succeeded (zero if never).
	LastPut time.Time
	// MemberID and Generation identify the task's consumer group membership
	// (empty and -1 before the first join); Rebalances counts assignment
	// changes seen by the task (partitions opened or closed).
	MemberID   string
	Generation int32
	Rebalances int64
	// Partitions describes the task's assigned partitions, sorted by topic
	// and partition.
	Partitions []PartitionStatus

	// Kafka Connect's windowed and derived task metrics, computed when the
	// status is (the Runner exports them; see its MeterName).
	//
	// BatchSize is the records per batch (source: returned by a Poll;
	// sink: handed to a Put) (batch-size-max/-avg); BatchTime the
	// milliseconds a Poll (source: poll-batch-max/avg-time-ms) or a Put
	// (sink: put-batch-max/avg-time-ms) took; OffsetCommitTime the
	// milliseconds an offset commit took, successful or not
	// (offset-commit-max/avg-time-ms); ActiveCount is InFlight as sampled
	// once per batch (source-/sink-record-active-count-max/-avg). Each
	// covers Kafka Connect's window (the last 2 × 30 s).
	BatchSize, BatchTime, OffsetCommitTime, ActiveCount WindowedStat
	// OffsetCommitSeqNo is, for sinks, the sequence number of the task's
	// last offset commit attempt: commits attempted by this task incarnation
	// (offset-commit-seq-no).
	OffsetCommitSeqNo int64
	// RunningRatio and PauseRatio are the fractions of the time since the
	// task (incarnation) started spent RUNNING and PAUSED (Kafka Connect's
	// running-ratio and pause-ratio: cumulative, not windowed).
	RunningRatio, PauseRatio float64
	// TaskClass is the task's class name (ClassName of the task);
	// KeyConverterClass, ValueConverterClass and HeaderConverterClass its
	// converters' (task-class, key-/value-/header-converter-class). The
	// versions are those a component reports with a Version() string
	// method, else "undefined" as Kafka Connect reports an unversioned
	// plugin (task-version, key-/value-/header-converter-version).
	TaskClass, KeyConverterClass, ValueConverterClass, HeaderConverterClass         string
	TaskVersion, KeyConverterVersion, ValueConverterVersion, HeaderConverterVersion string
	// Transforms and Predicates are the task's transformation and predicate
	// stages, in order, by alias (Kafka Connect's
	// connector-transform-metrics and connector-predicate-metrics:
	// transform-class/-version, predicate-class/-version).
	Transforms, Predicates []PluginStage
}

// PluginStage names one transformation or predicate of a task: its alias,
// class name and version (as TaskStatus's classes and versions).
type PluginStage struct {
	Alias, Class, Version string
}

// WindowedStat is a windowed maximum and average, as Kafka Connect's Max and
// Avg stats over its sample window: Count observations in the window; Max
// and Avg are 0 when Count is 0 (the Runner's metrics then report NaN, as
// Kafka Connect reports an empty window).
type WindowedStat struct {
	Max, Avg float64
	Count    int64
}

// UndefinedVersion is the version reported for a component that does not
// report one, as Kafka Connect's PluginDesc.UNDEFINED_VERSION.
const UndefinedVersion = "undefined"

// VersionOf returns v's Version() when v has such a method returning a
// non-empty string, else UndefinedVersion.
func VersionOf(v any) string {
	if vv, ok := v.(interface{ Version() string }); ok {
		if s := vv.Version(); s != "" {
			return s
		}
	}
	return UndefinedVersion
}

// PartitionStatus describes one Kafka partition assigned to a sink task.
type PartitionStatus struct {
	TopicPartition
	// Position is the next offset to deliver: every earlier record was put
	// (or filtered, or skipped). Committed is the last committed offset (or
	// the offset consumption started at, before the first commit).
	// HighWatermark is the partition's end offset as last seen by a fetch
	// (0 before the first fetch).
	Position, Committed, HighWatermark int64
	// Paused is true while the task paused the partition
	// (SinkTaskContext.Pause).
	Paused bool
}

// Lag returns HighWatermark − Committed: the records available in Kafka but
// not yet committed; 0 when not positive or not known yet (no fetch, or no
// committed or starting offset).
func (p PartitionStatus) Lag() int64 {
	if p.HighWatermark <= 0 || p.Committed < 0 {
		return 0
	}
	return max(p.HighWatermark-p.Committed, 0)
}

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
