package sluicetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// SourceTaskContext is a fake [source.TaskContext] for unit tests of a
// source task without Kafka: the test presets committed offsets with
// [SourceTaskContext.SetOffset] (or commits polled records with
// [SourceTaskContext.CommitRecords]) and the task reads them through
// Offsets, as it would read a pipeline's offset store.
//
// Offsets are stored as the pipeline's stores return them: integers as
// int64 and floats as float64, whatever Go type was written. Create it with
// [NewSourceTaskContext]. It is safe for concurrent use.
type SourceTaskContext struct {
	name   string
	id     int
	config map[string]string

	mu      sync.Mutex
	offsets map[string]offsets.Offset
	txn     *fakeTxn // WithTransactionContext
}

var _ source.TaskContext = (*SourceTaskContext)(nil)

// NewSourceTaskContext returns a context for connector "sluicetest", task
// 0, with the given task configuration and no committed offsets.
func NewSourceTaskContext(config map[string]string) *SourceTaskContext {
	return &SourceTaskContext{name: "sluicetest", config: config, offsets: map[string]offsets.Offset{}}
}

// WithName sets the connector name ConnectorName returns and returns c;
// call it before handing c to a task.
func (c *SourceTaskContext) WithName(name string) *SourceTaskContext { c.name = name; return c }

// WithTaskID sets the task index TaskID returns and returns c; call it
// before handing c to a task.
func (c *SourceTaskContext) WithTaskID(id int) *SourceTaskContext { c.id = id; return c }

// ConnectorName implements source.TaskContext.
func (c *SourceTaskContext) ConnectorName() string { return c.name }

// TaskID implements source.TaskContext.
func (c *SourceTaskContext) TaskID() int { return c.id }

// Config implements source.TaskContext: the map given to
// NewSourceTaskContext.
func (c *SourceTaskContext) Config() map[string]string { return c.config }

// Offsets implements source.TaskContext: a reader of the offsets set with
// SetOffset and CommitRecords.
func (c *SourceTaskContext) Offsets() offsets.Reader { return fakeReader{c} }

// SetOffset stores offset as the committed offset of partition (a nil
// offset deletes it), as a pipeline's offset commit would. It panics if a
// value is not a primitive (string, bool, integer, float or nil), which a
// pipeline refuses too.
func (c *SourceTaskContext) SetOffset(partition offsets.Partition, offset offsets.Offset) {
	k := partitionKey(partition)
	c.mu.Lock()
	defer c.mu.Unlock()
	if offset == nil {
		delete(c.offsets, k)
		return
	}
	c.offsets[k] = normalizeMap(offset)
}

// CommitRecords stores the SourceOffset of each record as the committed
// offset of its SourcePartition, in order, as a pipeline does once Kafka
// acknowledged them. Records without a SourcePartition are skipped.
func (c *SourceTaskContext) CommitRecords(records []connect.Record) {
	for i := range records {
		if records[i].SourcePartition != nil {
			c.SetOffset(records[i].SourcePartition, records[i].SourceOffset)
		}
	}
}

// CommittedOffset returns a copy of the committed offset of partition, or
// nil if there is none.
func (c *SourceTaskContext) CommittedOffset(partition offsets.Partition) offsets.Offset {
	k := partitionKey(partition)
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.offsets[k])
}

type fakeReader struct{ c *SourceTaskContext }

func (r fakeReader) Offset(ctx context.Context, p offsets.Partition) (offsets.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.c.CommittedOffset(p), nil
}

func (r fakeReader) Offsets(ctx context.Context, ps []offsets.Partition) ([]offsets.Offset, error) {
	out := make([]offsets.Offset, len(ps))
	for i, p := range ps {
		o, err := r.Offset(ctx, p)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// partitionKey is a canonical text of a source partition (or offset): JSON
// with sorted keys and integers, floats normalised.
func partitionKey(m map[string]any) string {
	b, err := json.Marshal(normalizeMap(m))
	if err != nil {
		panic(fmt.Sprintf("sluicetest: source partition %v: %v", m, err))
	}
	return string(b)
}

// normalizeMap returns a copy of m with integers as int64 and floats as
// float64, as offset stores read them back. It panics on other types.
func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normalizeValue(k, v)
	}
	return out
}

func normalizeValue(k string, v any) any {
	switch n := v.(type) {
	case nil, string, bool, int64, float64:
		return v
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n)
		}
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n)
		}
	case float32:
		return float64(n)
	}
	panic(fmt.Sprintf("sluicetest: offset field %q: %T %v is not a primitive an offset store keeps", k, v, v))
}

// Report is one call of [SinkTaskContext.Report].
type Report struct {
	Record *connect.Record
	Err    error
}

// SinkTaskContext is a fake [sink.TaskContext] for unit tests of a sink task
// without Kafka. It records what the task asks of the runtime — Offset
// seeks, Pause and Resume, RequestCommit and Report calls — for the test to
// inspect, and holds the assignment the test sets. Create it with
// [NewSinkTaskContext]. It is safe for concurrent use.
type SinkTaskContext struct {
	name   string
	id     int
	config map[string]string

	mu             sync.Mutex
	assignment     []connect.TopicPartition
	seeks          map[connect.TopicPartition]int64
	paused         map[connect.TopicPartition]bool
	commitRequests int
	reports        []Report
	reportErr      error
}

var _ sink.TaskContext = (*SinkTaskContext)(nil)

// NewSinkTaskContext returns a context for connector "sluicetest", task 0,
// with the given task configuration and assignment.
func NewSinkTaskContext(config map[string]string, assignment ...connect.TopicPartition) *SinkTaskContext {
	return &SinkTaskContext{
		name: "sluicetest", config: config, assignment: slices.Clone(assignment),
		seeks: map[connect.TopicPartition]int64{}, paused: map[connect.TopicPartition]bool{},
	}
}

// WithName sets the connector name ConnectorName returns and returns c;
// call it before handing c to a task.
func (c *SinkTaskContext) WithName(name string) *SinkTaskContext { c.name = name; return c }

// WithTaskID sets the task index TaskID returns and returns c; call it
// before handing c to a task.
func (c *SinkTaskContext) WithTaskID(id int) *SinkTaskContext { c.id = id; return c }

// ConnectorName implements sink.TaskContext.
func (c *SinkTaskContext) ConnectorName() string { return c.name }

// TaskID implements sink.TaskContext.
func (c *SinkTaskContext) TaskID() int { return c.id }

// Config implements sink.TaskContext: the map given to NewSinkTaskContext.
func (c *SinkTaskContext) Config() map[string]string { return c.config }

// SetAssignment replaces the assigned partitions (a rebalance); a test
// calls the task's Open and Close itself. Pauses of partitions no longer
// assigned are forgotten.
func (c *SinkTaskContext) SetAssignment(tps ...connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assignment = slices.Clone(tps)
	for tp := range c.paused {
		if !slices.Contains(c.assignment, tp) {
			delete(c.paused, tp)
		}
	}
}

// Assignment implements sink.TaskContext.
func (c *SinkTaskContext) Assignment() []connect.TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.assignment)
}

// Offset implements sink.TaskContext: it records the seek, which [Seeks]
// returns.
func (c *SinkTaskContext) Offset(tp connect.TopicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seeks[tp] = offset
}

// Seeks returns the offsets the task asked to resume from with Offset, the
// last one per partition.
func (c *SinkTaskContext) Seeks() map[connect.TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.seeks)
}

// Pause implements sink.TaskContext. As the pipeline's, it fails, pausing
// nothing, when a partition is not assigned.
func (c *SinkTaskContext) Pause(tps ...connect.TopicPartition) error { return c.setPaused(true, tps) }

// Resume implements sink.TaskContext. As the pipeline's, it fails, resuming
// nothing, when a partition is not assigned.
func (c *SinkTaskContext) Resume(tps ...connect.TopicPartition) error { return c.setPaused(false, tps) }

func (c *SinkTaskContext) setPaused(paused bool, tps []connect.TopicPartition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range tps {
		if !slices.Contains(c.assignment, tp) {
			return fmt.Errorf("sluicetest: partition %s-%d is not assigned to the task", tp.Topic, tp.Partition)
		}
	}
	for _, tp := range tps {
		if paused {
			c.paused[tp] = true
		} else {
			delete(c.paused, tp)
		}
	}
	return nil
}

// Paused returns the partitions currently paused, sorted.
func (c *SinkTaskContext) Paused() []connect.TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Collect(maps.Keys(c.paused))
	slices.SortFunc(out, func(a, b connect.TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition) - int(b.Partition)
	})
	return out
}

// RequestCommit implements sink.TaskContext; [CommitRequests] counts the
// calls.
func (c *SinkTaskContext) RequestCommit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commitRequests++
}

// CommitRequests returns how many times RequestCommit was called.
func (c *SinkTaskContext) CommitRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitRequests
}

// Report implements sink.TaskContext: it records the call, which [Reports]
// returns, and returns the error set with [SinkTaskContext.SetReportError]
// (nil by default: errors.tolerance=all with a working dead-letter queue).
// The record is copied; Headers, Key and Value are shared with the task's.
func (c *SinkTaskContext) Report(ctx context.Context, rec *connect.Record, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cp *connect.Record
	if rec != nil {
		r := *rec
		cp = &r
	}
	c.reports = append(c.reports, Report{Record: cp, Err: err})
	return c.reportErr
}

// Reports returns the Report calls so far, in order.
func (c *SinkTaskContext) Reports() []Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

// SetReportError makes later Report calls return err, as the pipeline's
// Report does under errors.tolerance=none (the task then fails) or when the
// dead-letter queue cannot be written.
func (c *SinkTaskContext) SetReportError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reportErr = err
}

// TransactionRequests are the transaction boundaries a task asked for
// through the TransactionContext of a SourceTaskContext (see
// SourceTaskContext.WithTransactionContext): Commit and Abort for
// CommitTransaction and AbortTransaction (the current batch), CommitAfter
// and AbortAfter the records given to CommitTransactionAfter and
// AbortTransactionAfter, in call order (nil entries included: a pipeline
// fails the task for them).
type TransactionRequests struct {
	Commit, Abort           bool
	CommitAfter, AbortAfter []*connect.Record
}

// fakeTxn is the recording TransactionContext of a SourceTaskContext.
type fakeTxn struct {
	mu  sync.Mutex
	req TransactionRequests
}

func (f *fakeTxn) CommitTransaction() { f.mu.Lock(); f.req.Commit = true; f.mu.Unlock() }
func (f *fakeTxn) AbortTransaction()  { f.mu.Lock(); f.req.Abort = true; f.mu.Unlock() }
func (f *fakeTxn) CommitTransactionAfter(rec *connect.Record) {
	f.mu.Lock()
	f.req.CommitAfter = append(f.req.CommitAfter, rec)
	f.mu.Unlock()
}
func (f *fakeTxn) AbortTransactionAfter(rec *connect.Record) {
	f.mu.Lock()
	f.req.AbortAfter = append(f.req.AbortAfter, rec)
	f.mu.Unlock()
}

// WithTransactionContext gives c a TransactionContext that records the
// task's requests (read them with TransactionRequests), as a pipeline's
// context has one with exactly-once delivery and
// transaction.boundary=connector; source.TransactionContextOf(c) returns
// it. Without it, TransactionContextOf(c) is nil. Call it before handing c
// to a task; it returns c.
func (c *SourceTaskContext) WithTransactionContext() *SourceTaskContext {
	c.txn = &fakeTxn{}
	return c
}

// TransactionContext returns the recording TransactionContext set by
// WithTransactionContext, or nil; tasks reach it through
// source.TransactionContextOf.
func (c *SourceTaskContext) TransactionContext() source.TransactionContext {
	if c.txn == nil {
		return nil
	}
	return c.txn
}

// TransactionRequests returns the requests recorded since the last call
// (the zero value without WithTransactionContext) and forgets them, as a
// pipeline applies them once per batch.
func (c *SourceTaskContext) TransactionRequests() TransactionRequests {
	if c.txn == nil {
		return TransactionRequests{}
	}
	c.txn.mu.Lock()
	defer c.txn.mu.Unlock()
	r := c.txn.req
	c.txn.req = TransactionRequests{}
	return r
}
