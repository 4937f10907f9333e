package sink

import (
	"context"

	"github.com/sluicehq/sluice/connect"
)

// Task writes records to an external system. The pipeline calls, from one
// goroutine per task and never concurrently:
//
//	Start → (Open(partitions) → Put* / PreCommit* → Close(partitions))* → Stop
//
// Put receives batches of records in Kafka order per partition. It returns
// nil when every record was handled (written, or buffered for a later
// Flush/PreCommit); a *connect.BatchError listing the indices that failed
// (the others count as written; each failed one is routed under
// errors.tolerance: reported to the error log and dead-letter queue with its
// consumed bytes and skipped under all, or failing the task under none; a
// nil *connect.BatchError counts as nil); an error marked with
// connect.Retriable to have the same batch delivered again after a backoff
// (errors.retry.delay.max.ms's schedule, without limit unless
// Config.TaskRetryTimeout bounds it; the partitions keep being served
// meanwhile); or any other error, which fails the task. Put must return
// promptly when ctx is done.
//
// The records are the task's to keep. With the ByteArrayConverter, a
// record's key and value are the consumed bytes themselves, as in Kafka
// Connect (not a copy, with their capacity capped at their length): a task
// that keeps some of them after Put returns keeps alive the fetch responses
// they came from; one that keeps a few values out of many batches should
// copy them.
//
// A panic in any method (or in NewTask) fails the task like an error, with
// the panic value and stack in the task's status error; the process is not
// affected. A task that fails still has what it put committed: PreCommit (or
// Flush) is called for its partitions, the offsets it returns are
// committed, and Close and Stop are called.
//
// Stop is called once, after the last Put and the final commit returned, also
// when Start failed; it releases resources.
type Task interface {
	Start(ctx context.Context, tc TaskContext) error
	Put(ctx context.Context, records []connect.Record) error
	Stop(ctx context.Context) error
}

// TaskContext gives a sink task access to its runtime. Its methods are safe to
// call from the task's Start, Open, Put, Close and PreCommit, i.e. from the
// pipeline's goroutine; Report may also be called from other goroutines.
type TaskContext interface {
	// ConnectorName is the pipeline (connector) name.
	ConnectorName() string
	// TaskID is the task's index, from 0 (in cluster mode, the id the cluster
	// assigned: a task keeps it when it moves to another process).
	TaskID() int
	// Config is the task's configuration (Kafka Connect property form).
	Config() map[string]string
	// Assignment returns the partitions currently assigned to the task.
	Assignment() []connect.TopicPartition
	// Offset asks the pipeline to resume tp from offset (the next offset to
	// read), e.g. from offsets the task stores itself; it takes effect before
	// the next batch is fetched.
	Offset(tp connect.TopicPartition, offset int64)
	// Pause stops delivery from the given partitions until Resume; it fails
	// for partitions not assigned to the task.
	Pause(tps ...connect.TopicPartition) error
	// Resume restarts delivery from paused partitions; it fails for
	// partitions not assigned to the task.
	Resume(tps ...connect.TopicPartition) error
	// RequestCommit asks for an offset commit soon (a hint).
	RequestCommit()
	// Report is Kafka Connect's errant record reporter (KIP-610): it hands
	// rec, which failed with err, to the error handler (stage TASK_PUT) and
	// returns once it is durably reported. Under errors.tolerance=all the
	// record is logged (errors.log.enable) and written to the dead-letter
	// queue, with the bytes it was consumed with when rec is a record of the
	// batch being put (found by its Original coordinates), else rec
	// serialised with the pipeline's converters. Under none it returns an
	// error and the task fails, even if the task goes on (the batch being
	// put then does not count as delivered); the task fails too when the
	// report cannot be written.
	//
	// Report may be called from any goroutine. A report that began before
	// an offset commit has returned before PreCommit (or Flush) is called,
	// so a reported record is in the dead-letter queue before any offset
	// covering it is committed.
	Report(ctx context.Context, rec *connect.Record, err error) error
}

// PartitionOpener is implemented by tasks that want to know when partitions
// are assigned (e.g. to seek with TaskContext.Offset to offsets they store
// themselves). An error fails the task.
type PartitionOpener interface {
	Open(ctx context.Context, partitions []connect.TopicPartition) error
}

// PartitionCloser is implemented by tasks that want to know when partitions
// are revoked or lost. It is called after the final commit for them (none for
// lost partitions). An error fails the task.
type PartitionCloser interface {
	Close(ctx context.Context, partitions []connect.TopicPartition) error
}

// Flusher is implemented by tasks that buffer in Put: Flush must make every
// record passed to Put so far durable. offsets holds, per partition, the next
// offset to read (last delivered + 1). An error, retriable or not, aborts the
// commit and rewinds consumption to the last committed offsets (Kafka
// Connect's WorkerSinkTask): the records after them are delivered again, so
// a task may drop its buffer when a flush fails. The task goes on.
type Flusher interface {
	Flush(ctx context.Context, offsets map[connect.TopicPartition]int64) error
}

// PreCommitter is implemented by tasks that decide which offsets are safe to
// commit. It receives the offsets the pipeline would commit (next offset to
// read per partition) and returns the ones to commit; the pipeline accepts
// only offsets no greater than consumed and for assigned partitions, and
// commits exactly those (not what it consumed). An empty result skips the
// commit. An error rewinds as Flush's does. When a task implements both,
// PreCommit is called and Flush is not.
type PreCommitter interface {
	PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error)
}
