package source

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// Task reads records from an external system. The pipeline runs each task on
// its own goroutine and calls:
//
//	Start → Poll* → Stop
//
// Poll returns the next batch (possibly empty; a nil batch and nil error means
// "nothing right now"). It should block briefly when no data is available
// rather than spin, and it must return promptly once ctx is done (with any
// error; the pipeline ignores errors after cancellation). The records, and the
// maps and values they reference, belong to the pipeline once returned: the
// task must not modify them afterwards. A task may (and, for speed, should)
// return one SourcePartition map for all the records of a source partition,
// in one batch and across batches: the pipeline recognises the last few maps
// it has seen (8 per task) by identity, without walking them again.
// An error marked with connect.Retriable is retried with the errors.retry.*
// backoff, without limit unless Config.TaskRetryTimeout
// (sluice.task.retry.timeout.ms) bounds it, as Kafka Connect retries a
// task's RetriableException; any other error fails the task.
//
// Every call into a task (Start, Poll, Stop, CommitRecord, Commit), the
// Config.NewTask factory, a Connector's TaskConfigs and the transforms and
// converters the pipeline runs on a task's records run under recover: a
// panic fails that task (FAILED, with the panic value and stack trace in its
// status error and the log; the restart policy applies), never the process.
//
// Stop is called once, after the last Poll returned and the final offset
// commit was attempted, also when Start failed. It releases resources.
type Task interface {
	Start(ctx context.Context, tc TaskContext) error
	Poll(ctx context.Context) ([]connect.Record, error)
	Stop(ctx context.Context) error
}

// TaskContext gives a source task access to its runtime. Safe for concurrent
// use.
type TaskContext interface {
	// ConnectorName is the pipeline (connector) name: the namespace of its
	// offsets.
	ConnectorName() string
	// TaskID is the task's index, from 0 (in cluster mode, the id the cluster
	// assigned: a task keeps it when it moves to another process).
	TaskID() int
	// Config is the task's configuration (Kafka Connect property form).
	Config() map[string]string
	// Offsets reads this connector's committed source offsets, e.g. in Start
	// to resume where a previous run stopped.
	Offsets() offsets.Reader
}

// RecordMetadata describes where Kafka stored a record.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
}

// RecordCommitter is implemented by tasks that want to know when each record
// is done: CommitRecord is called once per polled record, with the broker's
// metadata after Kafka acknowledged it, or with meta == nil when the record
// was dropped (filtered by a transform, or skipped under errors.tolerance).
// rec is the record as the task returned it, before transforms. It is called
// before the record counts as done for offsets (as Kafka Connect calls
// commitRecord before acknowledging the record for its offset commits), so
// no offset flush covers a record whose CommitRecord has not been called.
// It is called
// from the pipeline's acknowledgement goroutine (under exactly-once delivery,
// once the record's transaction committed, from its commit goroutine),
// concurrently with Poll. An error is logged and otherwise ignored; a panic
// fails the task.
type RecordCommitter interface {
	CommitRecord(ctx context.Context, rec *connect.Record, meta *RecordMetadata) error
}

// Committer is implemented by tasks that want to know when offsets were
// committed: Commit is called after each offset flush (also when there was
// nothing new to flush; under exactly-once delivery, after each committed
// transaction), from the pipeline's commit goroutine, concurrently with
// Poll. An error is logged and otherwise ignored; a panic fails the task.
type Committer interface {
	Commit(ctx context.Context) error
}

// Connector splits a source connector's configuration into task
// configurations. TaskConfigs returns at most maxTasks configurations; the
// pipeline starts one task per configuration. Without a Connector a
// pipeline runs one task with the connector's configuration.
type Connector interface {
	TaskConfigs(ctx context.Context, config map[string]string, maxTasks int) ([]map[string]string, error)
}
