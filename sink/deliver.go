package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kfetch"
	"github.com/sluicehq/sluice/internal/redact"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/internal/tracing"
)

// deliver converts the taken records (once) and hands the batch to Put.
func (r *taskRunner) deliver() {
	if !r.hasPending {
		if !r.convert() {
			return
		}
	}
	if len(r.pending) == 0 {
		r.finishBatch(0)
		return
	}
	r.putDone(r.callPut(), 1, false)
}

// callPut calls the task's Put with the pending batch, in a span when
// tracing. A panic in Put is returned as a *safecall.PanicError; a typed nil
// *connect.BatchError (a nil pointer in a non-nil error) means success.
func (r *taskRunner) callPut() error {
	ctx := r.taskCtx
	var span trace.Span
	if r.tracer != nil {
		ctx, span = r.startPutSpan()
		defer span.End()
	}
	start := time.Now()
	err := safecall.Call("Put", func() error { return r.task.Put(ctx, r.pending) })
	r.recordPut(start)
	if be, ok := err.(*connect.BatchError); ok && be == nil {
		err = nil
	}
	if err != nil && span != nil {
		recordSpanError(span, err, redact.ScrubberOf(r.log))
	}
	return err
}

// recordSpanError records err on span as its error and status, with the
// connector's secrets masked by scrub (nil when the pipeline's logger is
// not a Runner's masking one: err is recorded as it is). A span leaves the
// process through the user's exporter, so it must carry no secret a task
// put in its error text. Called on the error path only.
func recordSpanError(span trace.Span, err error, scrub func(string) string) {
	msg := err.Error()
	if scrub != nil {
		if s := scrub(msg); s != msg {
			msg, err = s, errors.New(s)
		}
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, msg)
}

// maxPutLinks bounds the links of a Put span to other traces in the batch.
const maxPutLinks = 16

// startPutSpan starts the span of a Put: a child of the trace the first
// record carries (its traceparent header), linked to the other traces in
// the batch (at most maxPutLinks). A header equal to the previous record's
// (a source writes one per batch) is not parsed again.
func (r *taskRunner) startPutSpan() (context.Context, trace.Span) {
	var parent trace.SpanContext
	var links []trace.Link
	var last []byte
scan:
	for i := range r.pendingMsgs {
		for _, h := range r.pendingMsgs[i].Headers() {
			if h == nil || string(h.Key) != tracing.HeaderKey {
				continue
			}
			if last != nil && bytes.Equal(h.Value, last) {
				break
			}
			last = h.Value
			sc, ok := tracing.Parse(h.Value)
			if !ok {
				continue
			}
			switch {
			case !parent.IsValid():
				parent = sc
			case sc.TraceID() != parent.TraceID() &&
				!slices.ContainsFunc(links, func(l trace.Link) bool { return l.SpanContext.TraceID() == sc.TraceID() }):
				links = append(links, trace.Link{SpanContext: sc})
				if len(links) == maxPutLinks {
					break scan
				}
			}
		}
	}
	ctx := r.taskCtx
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	return r.tracer.Start(ctx, "sluice.sink.put", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("connector", r.p.cfg.Name), attribute.Int("task", r.id), attribute.Int("records", len(r.pending))))
}

// putDone handles the outcome of a Put of the pending batch after attempts
// attempts: success completes the batch; a *connect.BatchError routes the
// failed records under errors.tolerance and completes the rest; a retriable
// error (on the first attempt) starts the redelivery; anything else fails the
// task.
func (r *taskRunner) putDone(err error, attempts int, retried bool) {
	if err == nil {
		// A record reported under errors.tolerance=none during Put failed
		// the task (Kafka Connect's maybeThrowAsyncError): the batch does
		// not count as delivered.
		if r.failed() == nil {
			r.finishBatch(len(r.pending))
		}
		return
	}
	if r.taskCtx.Err() != nil {
		// Cancelled by a timed-out stop: not delivered, not committed.
		r.dropPending()
		return
	}
	var be *connect.BatchError
	if !isPanic(err) && errors.As(err, &be) {
		if be == nil {
			// A wrapped typed nil: nothing failed.
			r.putDone(nil, attempts, retried)
			return
		}
		r.batchFailed(be)
		return
	}
	if retriable(err) && !retried {
		r.startRetry(err)
		return
	}
	r.fail(r.errorf(connect.StageTaskPut, r.task, nil, attempts, fmt.Errorf("put of a batch of %d records (%s): %w", len(r.pending), describeBatch(r.pendingOff), err)))
	r.dropPending()
}

// finishBatch completes the pending batch, of which delivered records were
// written by Put (the others were reported under errors.tolerance): the
// positions of its partitions move past it.
func (r *taskRunner) finishBatch(delivered int) {
	now := time.Now().UnixNano()
	if delivered > 0 {
		r.put.Add(int64(delivered))
		r.lastPut.Store(now)
	}
	for _, b := range r.pendingOff {
		if p := r.parts[b.tp]; p != nil && !p.gone {
			p.current = b.next
			p.stCurrent.Store(b.next)
		}
	}
	r.lastProgress.Store(now)
	r.clearPending()
}

// batchFailed routes the records a Put reported as failed through the error
// handler (stage TASK_PUT, with their consumed bytes for the dead-letter
// queue): under errors.tolerance=all they are reported and the batch counts
// as delivered; otherwise the first failed record fails the task.
func (r *taskRunner) batchFailed(be *connect.BatchError) {
	n := len(r.pending)
	failures := slices.Clone(be.Failures)
	slices.SortStableFunc(failures, func(a, b connect.RecordFailure) int { return a.Index - b.Index })
	failures = slices.CompactFunc(failures, func(a, b connect.RecordFailure) bool { return a.Index == b.Index })
	for _, f := range failures {
		if f.Index < 0 || f.Index >= n {
			r.fail(r.errorf(connect.StageTaskPut, r.task, nil, 1, fmt.Errorf("put returned a batch error with index %d out of range for a batch of %d records (%s): %w", f.Index, n, describeBatch(r.pendingOff), be)))
			r.dropPending()
			return
		}
	}
	for _, f := range failures {
		ferr := f.Err
		if ferr == nil {
			ferr = errors.New("put reported the record as failed without an error")
		}
		skip, err := r.handler.Fail(r.taskCtx, &errhandler.Failure{
			Stage: connect.StageTaskPut, Component: r.task, Record: &r.pending[f.Index],
			Raw: rawRecord(&r.pendingMsgs[f.Index]), Err: ferr, Attempts: 1,
		})
		if !skip {
			if r.taskCtx.Err() == nil {
				r.fail(err)
			}
			r.dropPending()
			return
		}
		r.skipped.Add(1)
	}
	r.finishBatch(n - len(failures))
}

// putRetry is the redelivery of a batch whose Put failed with a retriable
// error. Its driver goroutine runs the retry schedule (Handler.RetryFailed
// of a handler bounded by TaskRetryTimeout, not errors.retry.timeout:
// without limit by default, as Kafka Connect redelivers a batch after a
// RetriableException) and, after each backoff, asks the task goroutine for
// an attempt; the task goroutine keeps serving rebalances and commits in
// between, and is the only one that calls Put.
type putRetry struct {
	cancel  context.CancelFunc
	attempt chan chan<- error // driver → task goroutine: put again, reply with the result
	done    chan retryResult  // cap 1: the schedule ended
}

type retryResult struct {
	attempts int
	err      error
}

// startRetry starts redelivering the pending batch after a retriable error.
func (r *taskRunner) startRetry(first error) {
	ctx, cancel := context.WithCancel(r.taskCtx)
	rt := &putRetry{cancel: cancel, attempt: make(chan chan<- error), done: make(chan retryResult, 1)}
	r.retry = rt
	r.log.Warn("put failed with a retriable error; redelivering the batch", "error", first, "records", len(r.pending), "batch", describeBatch(r.pendingOff))
	go func() {
		n, err := r.putHandler.RetryFailed(ctx, connect.StageTaskPut, first, func(ctx context.Context) error {
			reply := make(chan error, 1)
			select {
			case rt.attempt <- reply:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case err := <-reply:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		rt.done <- retryResult{attempts: n, err: err}
	}()
}

// redeliver makes one redelivery attempt for the retry driver.
func (r *taskRunner) redeliver(reply chan<- error) {
	var err error
	if len(r.pending) > 0 {
		r.putRetries.Add(1)
		err = r.callPut()
	}
	if err == nil && r.failed() == nil {
		r.finishBatch(len(r.pending))
	}
	reply <- err
	if err != nil && retriable(err) {
		return // the driver backs off (or gives up: retryDone)
	}
	// The schedule ends at once on success or on a non-retriable error.
	res := <-r.retry.done
	r.retry.cancel()
	r.retry = nil
	if err != nil {
		r.putDone(err, res.attempts, true)
	}
}

// stopRetry ends the redelivery in progress, if any, and waits for its
// driver to exit.
func (r *taskRunner) stopRetry() {
	if r.retry == nil {
		return
	}
	r.retry.cancel()
	<-r.retry.done
	r.retry = nil
}

// describeBatch names a batch's partitions and offsets: "topic orders
// partition 0 offsets 10..19, topic orders partition 3 offset 7".
func describeBatch(rs []batchRange) string {
	var b strings.Builder
	for i, x := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		if x.next-x.first == 1 {
			fmt.Fprintf(&b, "topic %s partition %d offset %d", x.tp.Topic, x.tp.Partition, x.first)
		} else {
			fmt.Fprintf(&b, "topic %s partition %d offsets %d..%d", x.tp.Topic, x.tp.Partition, x.first, x.next-1)
		}
	}
	return b.String()
}

// outcome is what became of a consumed record in conversion.
type outcome uint8

const (
	outDeliver  outcome = iota // converted and transformed: to be put
	outFiltered                // dropped by the transforms
	outSkipped                 // failed, tolerated and reported
	outFailed                  // failed: the task fails (or is being cancelled)
)

// convert turns the taken records into the pending batch: converters, then
// transforms. Every taken record's offset is covered by the batch, also when
// the record was filtered or skipped. It returns false when the task failed.
func (r *taskRunner) convert() bool {
	cfg := &r.p.cfg
	ctx := r.taskCtx
	raw := r.raw
	r.read.Add(int64(len(raw)))
	recs := make([]connect.Record, 0, len(raw))
	msgs := r.msgBuf[:0]
	r.msgBuf = nil
	var ranges []batchRange
	r.seen.Begin(&r.p.topics)
	// The topics whose records carry LogAppendTime (see
	// learnTimestampType); usually none.
	var logAppend []string
	if t := r.logAppendTopics.Load(); t != nil {
		logAppend = *t
	}
	var lastTopic string
	var lastAppend bool
	for i := range raw {
		m := &raw[i]
		topic, partition, ts := m.Topic(), m.Partition(), m.Timestamp()
		tp := connect.TopicPartition{Topic: topic, Partition: partition}
		if n := len(ranges); n > 0 && ranges[n-1].tp == tp {
			ranges[n-1].next = m.Offset + 1
		} else if i := slices.IndexFunc(ranges, func(b batchRange) bool { return b.tp == tp }); i >= 0 {
			ranges[i].next = m.Offset + 1
		} else {
			ranges = append(ranges, batchRange{tp: tp, first: m.Offset, next: m.Offset + 1})
		}
		// The record is built in place, field by field, in the batch's
		// next slot, which is zero (a fresh slice; a slot given back below
		// is zeroed): a connect.Record is large, and storing a whole one
		// into the heap copies it with write barriers, which costs more
		// than converting a small record.
		recs = recs[:len(recs)+1]
		rec := &recs[len(recs)-1]
		rec.Topic, rec.Partition, rec.HasPartition, rec.Offset = topic, partition, true, m.Offset
		rec.Timestamp, rec.TimestampType = ts, connect.CreateTime
		rec.OriginalTopic, rec.OriginalPartition, rec.OriginalOffset = topic, partition, m.Offset
		switch {
		case ts.IsZero():
			rec.TimestampType = connect.NoTimestampType
		case len(logAppend) > 0:
			if topic != lastTopic {
				lastTopic, lastAppend = topic, slices.Contains(logAppend, topic)
			}
			if lastAppend {
				rec.TimestampType = connect.LogAppendTime
			}
		}
		out, o := r.convertOne(ctx, cfg, m, rec)
		if o != outDeliver {
			*rec = connect.Record{}
			recs = recs[:len(recs)-1]
		}
		switch o {
		case outFailed:
			clear(msgs)
			r.dropPending()
			r.msgBuf = msgs[:0]
			return false
		case outFiltered:
			r.filtered.Add(1)
			continue
		case outSkipped:
			r.skipped.Add(1)
			continue
		}
		if out != rec {
			*rec = *out
		}
		r.handler.Succeeded()
		msgs = append(msgs, *m)
	}
	clear(r.raw)
	r.raw = r.raw[:0]
	r.scratch = connect.Record{} // keeps no record's data alive
	r.setPending(recs, msgs, ranges)
	return true
}

// convertOne converts m into rec and runs the transforms; it returns the
// record to deliver (nil unless delivered) and the outcome. Failures go
// through the error handler (retried under errors.retry.timeout, then
// tolerated or fatal); the failure path lives in separate functions so that
// the success path allocates no closure.
//
// The stages run in Kafka Connect's order (WorkerSinkTask's
// convertAndTransformRecord): key converter, value converter, header
// converter, each skipped once an earlier one failed. The key and value
// converters get the record's headers as consumed (rawHeaders), not the
// header converter's output, as Kafka Connect passes them
// ConsumerRecord.headers(); they are built only when one of the two may read
// them (convReadsHeaders), else the converters get nil, so that the built-in
// converters cost no allocation per header.
func (r *taskRunner) convertOne(ctx context.Context, cfg *Config, m *kfetch.Msg, rec *connect.Record) (*connect.Record, outcome) {
	var raw connect.Headers
	if r.convReadsHeaders && len(m.Headers()) > 0 {
		raw = r.rawHeaders(m)
	}
	var k, v connect.SchemaAndValue
	var err error
	if r.keyBytes {
		k = ownedBytes(m.Key())
	} else {
		k, err = cfg.KeyConverter.ToConnect(ctx, m.Topic(), raw, m.Key())
	}
	if err != nil {
		var o outcome
		if k, o = r.recoverConvert(ctx, connect.StageKeyConverter, cfg.KeyConverter, m, rec, raw, m.Key(), err); o != outDeliver {
			return nil, o
		}
	}
	rec.KeySchema, rec.Key = k.Schema, k.Value
	if r.valueBytes {
		v = ownedBytes(m.Value())
	} else {
		v, err = cfg.ValueConverter.ToConnect(ctx, m.Topic(), raw, m.Value())
	}
	if err != nil {
		var o outcome
		if v, o = r.recoverConvert(ctx, connect.StageValueConverter, cfg.ValueConverter, m, rec, raw, m.Value(), err); o != outDeliver {
			return nil, o
		}
	}
	rec.ValueSchema, rec.Value = v.Schema, v.Value
	if len(m.Headers()) > 0 {
		if err := r.convertHeaders(ctx, m, rec); err != nil {
			if o := r.recoverHeaders(ctx, m, rec, err); o != outDeliver {
				return nil, o
			}
		}
	}
	// Active topic: as Kafka Connect's WorkerSinkTask (recordActiveTopic
	// in convertAndTransformRecord), of a converted record, before the
	// transforms, which may filter it or fail on it.
	r.seen.Record(m.Topic())
	if cfg.Transforms == nil {
		return rec, outDeliver
	}
	// The chain gets its own copy of the record (it may overwrite its
	// fields; rec stays as converted, for a failure's report): the task
	// goroutine's scratch record, reused for every record, since convert
	// copies the chain's result into the batch before the next one.
	r.scratch = *rec
	out, err := cfg.Transforms.Apply(ctx, &r.scratch)
	if err != nil {
		return r.recoverTransform(ctx, cfg, m, rec, err)
	}
	if out == nil {
		return nil, outFiltered
	}
	return out, outDeliver
}

// ownedBytes is converters.ByteArray's ToConnect without its copy: data
// itself with connect.OptionalBytesSchema (a nil value for nil data). The
// runtime uses it for a consumed record's key and value, whose bytes nobody
// else writes: sarama decodes every fetch response into a buffer of its own
// (a fresh allocation per response, never reused) and hands each
// ConsumerMessage to the one claim goroutine that fetched it, which hands it
// to this task alone; sarama keeps no reference to write through. So the
// task gets the bytes as Kafka Connect's ByteArrayConverter gives them
// (ConsumerRecord.value() itself, uncopied). The same bytes are what the
// dead-letter queue reports as the record's consumed value, as in Kafka
// Connect. The differences from a copy: a task that keeps such a value
// past Put keeps the fetch response it was decoded from alive (see Task),
// and a task that modifies the bytes in place modifies what a dead-letter
// queue report of the record sends (as in Kafka Connect).
func ownedBytes(data []byte) connect.SchemaAndValue {
	if data == nil {
		return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema}
	}
	// Capped: data is a slice of the fetch response, whose next bytes are
	// other records'; appending to the value must copy, not overwrite them.
	return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema, Value: data[:len(data):len(data)]}
}

// convertHeaders converts m's headers into rec.Headers. With the
// SimpleHeaderConverter, a header whose key and bytes equal those of the
// previous record's header at the same position (a traceparent shared by a
// source batch, a constant content type) reuses that conversion when its
// value is immutable, instead of converting it again.
func (r *taskRunner) convertHeaders(ctx context.Context, m *kfetch.Msg, rec *connect.Record) error {
	hc, memo := r.p.cfg.HeaderConverter, r.memoHeaders
	rec.Headers = r.headerSlice(len(m.Headers()))
	for i, h := range m.Headers() {
		if h == nil {
			continue
		}
		if memo && i < len(r.hdrMemo) && r.hdrMemo[i].matches(h) {
			rec.Headers = append(rec.Headers, r.hdrMemo[i].h)
			continue
		}
		key := string(h.Key)
		sv, err := hc.ToConnectHeader(ctx, m.Topic(), key, h.Value)
		if err != nil {
			rec.Headers = nil
			return fmt.Errorf("header %q: %w", h.Key, err)
		}
		hd := connect.Header{Key: key, Schema: sv.Schema, Value: sv.Value}
		rec.Headers = append(rec.Headers, hd)
		if memo && immutableHeaderValue(sv.Value) {
			for len(r.hdrMemo) <= i {
				r.hdrMemo = append(r.hdrMemo, headerMemo{})
			}
			r.hdrMemo[i].set(h, hd)
		}
	}
	return nil
}

// rawHeaders returns m's headers as consumed, for the key and value
// converters: each value the record's bytes ([]byte, nil for a null value,
// aliasing the fetched buffer: converters must not keep or modify it) with
// a nil schema, in record order. Built only for records that have headers.
func (r *taskRunner) rawHeaders(m *kfetch.Msg) connect.Headers {
	hs := r.headerSlice(len(m.Headers()))
	for _, h := range m.Headers() {
		if h == nil {
			continue
		}
		var v any
		if h.Value != nil {
			v = h.Value
		}
		hs = append(hs, connect.Header{Key: string(h.Key), Value: v})
	}
	return hs
}

// headerChunk is how many headers headerSlice allocates at a time.
const headerChunk = 512

// headerSlice returns an empty slice with capacity n for a record's headers,
// carved from a chunk shared by the records of a batch (one allocation per
// headerChunk headers instead of one per record). Its capacity is capped,
// so appending to it (InsertHeader, a task) copies instead of writing into
// the next record's headers.
func (r *taskRunner) headerSlice(n int) connect.Headers {
	if n > headerChunk/4 {
		return make(connect.Headers, 0, n)
	}
	if cap(r.hdrChunk)-len(r.hdrChunk) < n {
		r.hdrChunk = make(connect.Headers, 0, headerChunk)
	}
	l := len(r.hdrChunk)
	r.hdrChunk = r.hdrChunk[:l+n]
	return r.hdrChunk[l : l : l+n]
}

// headerMemo is one remembered header conversion (see convertHeaders). It
// owns copies of the raw key and value, so that it does not keep a fetch
// response's buffer alive.
type headerMemo struct {
	ok       bool
	key, raw []byte
	null     bool // the raw value was null (not empty)
	h        connect.Header
}

func (m *headerMemo) matches(h *sarama.RecordHeader) bool {
	return m.ok && m.null == (h.Value == nil) && bytes.Equal(m.key, h.Key) && bytes.Equal(m.raw, h.Value)
}

func (m *headerMemo) set(h *sarama.RecordHeader, hd connect.Header) {
	m.ok, m.null, m.h = true, h.Value == nil, hd
	m.key = append(m.key[:0], h.Key...)
	m.raw = append(m.raw[:0], h.Value...)
}

// immutableHeaderValue reports whether records may share v: nil, strings,
// booleans, numbers and times; not byte slices, lists, maps, structs or
// decimals.
func immutableHeaderValue(v any) bool {
	switch v.(type) {
	case nil, string, bool, int8, int16, int32, int64, float32, float64, time.Time:
		return true
	}
	return false
}
