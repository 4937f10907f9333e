package connect

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Stage names the step of a pipeline where an error happened. The values are
// Kafka Connect's Stage enum names (they appear verbatim in the DLQ header
// __connect.errors.stage), plus Sluice's own TASK_COMMIT and OFFSET_COMMIT.
type Stage string

// Pipeline stages.
const (
	StageKeyConverter    Stage = "KEY_CONVERTER"
	StageValueConverter  Stage = "VALUE_CONVERTER"
	StageHeaderConverter Stage = "HEADER_CONVERTER"
	StageTransformation  Stage = "TRANSFORMATION"
	StageTaskPut         Stage = "TASK_PUT"
	StageTaskPoll        Stage = "TASK_POLL"
	StageKafkaProduce    Stage = "KAFKA_PRODUCE"
	StageKafkaConsume    Stage = "KAFKA_CONSUME"
	// StageTaskCommit is a task's Commit/CommitRecord/Flush/PreCommit hook.
	StageTaskCommit Stage = "TASK_COMMIT"
	// StageOffsetCommit is writing offsets to their store or to the consumer group.
	StageOffsetCommit Stage = "OFFSET_COMMIT"
)

// Kafka Connect's exception classes (connect-api), as Sluice reports them
// where Kafka Connect reports an exception's class name: the dead-letter
// queue's __connect.errors.exception.class.name header.
const (
	// JavaDataException is org.apache.kafka.connect.errors.DataException,
	// what Kafka Connect's converters throw for data they cannot convert.
	JavaDataException = "org.apache.kafka.connect.errors.DataException"
	// JavaRetriableException is
	// org.apache.kafka.connect.errors.RetriableException, the class of
	// RetriableError.
	JavaRetriableException = "org.apache.kafka.connect.errors.RetriableException"
	// JavaConnectException is org.apache.kafka.connect.errors.ConnectException,
	// the base class of Kafka Connect's exceptions, reported for Sluice's
	// own error kinds (RecordError, FatalError, BatchError) that have no
	// more specific Kafka Connect counterpart.
	JavaConnectException = "org.apache.kafka.connect.errors.ConnectException"
)

// JavaMessager is implemented by errors that also implement JavaClassNamer
// and whose Kafka Connect counterpart has a message other than their Error
// text: JavaMessage returns that message (Throwable.getMessage() of the
// exception Kafka Connect would throw), which the dead-letter queue's
// __connect.errors.exception.message header carries; the Go error text then
// goes to Sluice's own headers and the stack trace. It may return "" for
// Kafka Connect's null message. Safe for concurrent use.
type JavaMessager interface {
	JavaMessage() string
}

// RetriableError marks an error as transient: the operation may succeed if
// retried. After, when positive, is the earliest time to retry that the
// failing component suggests (a "retry after" hint the retry policy honours).
type RetriableError struct {
	Err   error
	After time.Duration
}

// Error implements error.
func (e *RetriableError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("retriable (retry after %s): %v", e.After, e.Err)
	}
	return "retriable: " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *RetriableError) Unwrap() error { return e.Err }

// JavaClass returns JavaRetriableException: a retriable error is reported
// as Kafka Connect's RetriableException (see JavaClassNamer).
func (e *RetriableError) JavaClass() string { return JavaRetriableException }

// JavaMessage returns the wrapped error's text, the message of the
// RetriableException Kafka Connect would wrap around it (see JavaMessager).
func (e *RetriableError) JavaMessage() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Retriable marks err as retriable. It returns nil for a nil err.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return &RetriableError{Err: err}
}

// RetryAfter marks err as retriable no sooner than d from now.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetriableError{Err: err, After: d}
}

// IsRetriable reports whether err (or an error it wraps) is retriable and not
// also marked fatal.
func IsRetriable(err error) bool {
	if IsFatal(err) {
		return false
	}
	var r *RetriableError
	return errors.As(err, &r)
}

// RetryAfterHint returns the retry-after hint of a retriable err, if any.
func RetryAfterHint(err error) (time.Duration, bool) {
	var r *RetriableError
	if errors.As(err, &r) && r.After > 0 {
		return r.After, true
	}
	return 0, false
}

// FatalError marks an error as permanent: retrying cannot help, and the task
// must fail (or, where tolerated, skip the record).
type FatalError struct{ Err error }

// Error implements error.
func (e *FatalError) Error() string { return "fatal: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *FatalError) Unwrap() error { return e.Err }

// Fatal marks err as fatal. It returns nil for a nil err.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &FatalError{Err: err}
}

// IsFatal reports whether err (or an error it wraps) is marked fatal.
func IsFatal(err error) bool {
	var f *FatalError
	return errors.As(err, &f)
}

// RecordFailure is the failure of one record of a batch.
type RecordFailure struct {
	// Index is the record's position in the batch passed to Put.
	Index int
	Err   error
}

// BatchError is returned by a sink task's Put when some records of the batch
// failed and the others were written: the runtime treats the records not
// listed as delivered and routes each listed one under errors.tolerance
// (retry, dead-letter queue, or task failure). Indices refer to the slice
// passed to Put.
type BatchError struct {
	Failures []RecordFailure
}

// Fail records that the record at index i failed with err and returns b, so
// calls chain: (&connect.BatchError{}).Fail(3, err).Fail(7, err).
func (b *BatchError) Fail(i int, err error) *BatchError {
	b.Failures = append(b.Failures, RecordFailure{Index: i, Err: err})
	return b
}

// Error implements error.
func (b *BatchError) Error() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%d record(s) of the batch failed", len(b.Failures))
	for i, f := range b.Failures {
		if i == 3 {
			fmt.Fprintf(&s, "; and %d more", len(b.Failures)-3)
			break
		}
		fmt.Fprintf(&s, "; [%d]: %v", f.Index, f.Err)
	}
	return s.String()
}

// RecordError is an error the runtime surfaces: it names where it happened
// (connector, task, stage, the failing component) and which record
// (Kafka topic/partition/offset for consumed records, source partition/offset
// for source records), and how many attempts were made.
type RecordError struct {
	Connector string
	Task      int
	Stage     Stage
	// Class is the failing component's type name (e.g. "*converters.JSON").
	Class string
	// Topic, Partition and Offset locate a consumed record; Offset is -1 when
	// unknown.
	Topic     string
	Partition int32
	Offset    int64
	// SourcePartition and SourceOffset locate a source record.
	SourcePartition map[string]any
	SourceOffset    map[string]any
	Attempts        int
	Err             error
}

// NewRecordError builds a RecordError for rec (which may be nil) taking its
// coordinates from the record: the original Kafka coordinates of a consumed
// record, else its source partition and offset and target topic.
func NewRecordError(connector string, task int, stage Stage, component any, rec *Record, attempts int, err error) *RecordError {
	e := &RecordError{Connector: connector, Task: task, Stage: stage, Offset: -1, Attempts: attempts, Err: err}
	if component != nil {
		e.Class = typeName(component)
	}
	if rec != nil {
		if rec.OriginalTopic != "" {
			e.Topic, e.Partition, e.Offset = rec.OriginalTopic, rec.OriginalPartition, rec.OriginalOffset
		} else {
			e.Topic, e.SourcePartition, e.SourceOffset = rec.Topic, rec.SourcePartition, rec.SourceOffset
			if rec.HasPartition {
				e.Partition = rec.Partition
			} else {
				e.Partition = -1
			}
		}
	}
	return e
}

// typeName returns the Go type name of v ("*converters.JSON"), used as the
// class name in error reports.
func typeName(v any) string { return reflect.TypeOf(v).String() }

// Error implements error. It reads, for example: connector "orders-sink"
// task 0 stage VALUE_CONVERTER (*converters.JSON) failed on topic orders
// partition 3 offset 42 after 1 attempt(s): <cause>.
func (e *RecordError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connector %q task %d stage %s", e.Connector, e.Task, e.Stage)
	if e.Class != "" {
		fmt.Fprintf(&b, " (%s)", e.Class)
	}
	b.WriteString(" failed")
	switch {
	case e.Offset >= 0:
		fmt.Fprintf(&b, " on topic %s partition %d offset %d", e.Topic, e.Partition, e.Offset)
	case e.SourcePartition != nil || e.SourceOffset != nil:
		fmt.Fprintf(&b, " on source partition %s offset %s", FormatMap(e.SourcePartition), FormatMap(e.SourceOffset))
		if e.Topic != "" {
			fmt.Fprintf(&b, " (topic %s)", e.Topic)
		}
	case e.Topic != "":
		fmt.Fprintf(&b, " on topic %s", e.Topic)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " after %d attempt(s)", e.Attempts)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrFenced is matched (errors.Is) by the failure of an exactly-once source
// task that another instance of the same task fenced: a process started
// later with the same transactional id (<group>-<connector>-<task>) took
// over its transactions. The fenced task wrote nothing after the fence and
// must not be restarted in place (the two instances would fence each other
// in turn); a restart policy does not restart it.
var ErrFenced = errors.New("fenced by a newer instance of the task")

// FencedError is the failure of an exactly-once source task fenced by a
// newer instance of the same task (see ErrFenced, which it matches). Err is
// the producer's error that showed the fence.
type FencedError struct {
	Connector       string
	Task            int
	TransactionalID string
	Err             error
}

// Error implements error.
func (e *FencedError) Error() string {
	return fmt.Sprintf("connector %q task %d: %s: another instance started with transactional.id %q and took over the task's transactions; "+
		"this one stopped writing (its open transaction was aborted, nothing it wrote after the fence is visible to read_committed consumers): %v",
		e.Connector, e.Task, ErrFenced, e.TransactionalID, e.Err)
}

// Unwrap returns ErrFenced and the producer's error.
func (e *FencedError) Unwrap() []error { return []error{ErrFenced, e.Err} }
