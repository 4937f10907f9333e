package sink

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kfetch"
	"github.com/sluicehq/sluice/transforms"
)

// recover hands a failed conversion or transformation of m to the error
// handler: retried with op under errors.retry.timeout, then skipped and
// reported (errors.tolerance=all; the dead-letter queue receives m as
// consumed) or fatal. It returns outDeliver when a retry succeeded.
func (r *taskRunner) recover(ctx context.Context, stage connect.Stage, component any, m *kfetch.Msg, rec *connect.Record, first error, op func(context.Context) error) outcome {
	skip, err := r.handler.Recover(ctx, stage, component, rec, rawRecord(m), first, op)
	switch {
	case skip:
		return outSkipped
	case err == nil:
		return outDeliver
	}
	if r.taskCtx.Err() == nil {
		r.fail(err)
	} // else cancelled by a timed-out stop: not a failure of the task
	return outFailed
}

// The recover* functions work on a heap copy of rec and copy it back, so
// that rec (the record's slot in the batch being built, zeroed and reused
// when the record is skipped) is not kept by the failure path: a DLQ report
// or a later retry holds the copy, and the success path allocates nothing
// for the failure path.

func (r *taskRunner) recoverHeaders(ctx context.Context, m *kfetch.Msg, rec *connect.Record, first error) outcome {
	cp := new(connect.Record)
	*cp = *rec
	o := r.recover(ctx, connect.StageHeaderConverter, r.p.cfg.HeaderConverter, m, cp, first, func(ctx context.Context) error {
		return r.convertHeaders(ctx, m, cp)
	})
	*rec = *cp
	return o
}

// recoverConvert retries a key or value conversion of data, with the
// record's raw headers.
func (r *taskRunner) recoverConvert(ctx context.Context, stage connect.Stage, conv converters.Converter, m *kfetch.Msg, rec *connect.Record, raw connect.Headers, data []byte, first error) (connect.SchemaAndValue, outcome) {
	cp := new(connect.Record)
	*cp = *rec
	var sv connect.SchemaAndValue
	o := r.recover(ctx, stage, conv, m, cp, first, func(ctx context.Context) error {
		var err error
		sv, err = conv.ToConnect(ctx, m.Topic(), raw, data)
		return err
	})
	return sv, o
}

// recoverTransform retries the transformation chain on rec (converted).
func (r *taskRunner) recoverTransform(ctx context.Context, cfg *Config, m *kfetch.Msg, rec *connect.Record, first error) (*connect.Record, outcome) {
	var component any = cfg.Transforms
	var ce *transforms.ChainError
	if errors.As(first, &ce) && ce.Component != nil {
		component = ce.Component
	}
	cp := new(connect.Record)
	*cp = *rec
	var out *connect.Record
	o := r.recover(ctx, connect.StageTransformation, component, m, cp, first, func(ctx context.Context) error {
		work := *cp
		var err error
		out, err = cfg.Transforms.Apply(ctx, &work)
		return err
	})
	switch {
	case o != outDeliver:
		return nil, o
	case out == nil:
		return nil, outFiltered
	}
	return out, outDeliver
}

// rawRecord is m as consumed, for the dead-letter queue: key, value, headers
// and timestamp exactly as read. Built on failure paths only.
func rawRecord(m *kfetch.Msg) *errhandler.RawRecord {
	raw := &errhandler.RawRecord{
		Topic: m.Topic(), Partition: m.Partition(), Offset: m.Offset,
		Key: m.Key(), Value: m.Value(), Timestamp: m.Timestamp(),
	}
	if hs := m.Headers(); len(hs) > 0 {
		raw.Headers = make([]errhandler.RawHeader, 0, len(hs))
		for _, h := range hs {
			if h != nil {
				raw.Headers = append(raw.Headers, errhandler.RawHeader{Key: string(h.Key), Value: h.Value})
			}
		}
	}
	return raw
}

// report routes an errant record a task reported (TaskContext.Report)
// through the error handler, stage TASK_PUT. Under errors.tolerance=all it
// returns once every reporter (the dead-letter queue included) has it; under
// none, or when reporting fails, the task fails and the error is returned.
func (r *taskRunner) report(ctx context.Context, rec *connect.Record, err error) error {
	if rec == nil {
		return errors.New("sink: Report: nil record")
	}
	if err == nil {
		err = errors.New("record reported without an error")
	}
	r.reportGate.RLock()
	defer r.reportGate.RUnlock()
	skip, ferr := r.handler.Fail(ctx, &errhandler.Failure{
		Stage: connect.StageTaskPut, Component: r.task, Record: rec, Raw: r.rawFor(ctx, rec), Err: err, Attempts: 1,
	})
	if skip {
		return nil
	}
	if ctx.Err() != nil && r.p.cfg.Errors.Tolerance == sluiceerrors.ToleranceAll {
		// The caller gave up: the record is not reported, and the caller
		// knows.
		return ferr
	}
	// The task fails, also when it swallows the error (Kafka Connect's
	// maybeThrowAsyncError), and a Put in progress does not count. The
	// record may belong to a batch already put: no final commit, so
	// nothing at or past it is committed for that reason.
	r.noFinalCommit.Store(true)
	r.fail(ferr)
	return ferr
}

// rawFor returns the consumed bytes of rec: those of the record of the batch
// being put with rec's original coordinates, or else rec serialised with the
// pipeline's converters (nil when they cannot, and then the dead-letter queue
// gets a JSON description). Only needed when there is a dead-letter queue.
func (r *taskRunner) rawFor(ctx context.Context, rec *connect.Record) *errhandler.RawRecord {
	cfg := &r.p.cfg
	if cfg.Errors.DLQTopic == "" {
		return nil
	}
	if rec.OriginalTopic != "" {
		k := msgKey{rec.OriginalTopic, rec.OriginalPartition, rec.OriginalOffset}
		r.batchMu.Lock()
		if len(r.pendingMsgs) > 0 && r.pendingIdx == nil {
			r.pendingIdx = make(map[msgKey]int, len(r.pendingMsgs))
			for i := range r.pendingMsgs {
				m := &r.pendingMsgs[i]
				r.pendingIdx[msgKey{m.Topic(), m.Partition(), m.Offset}] = i
			}
		}
		i, ok := r.pendingIdx[k]
		var raw *errhandler.RawRecord
		if ok {
			raw = rawRecord(&r.pendingMsgs[i])
		}
		r.batchMu.Unlock()
		if raw != nil {
			return raw
		}
	}
	key, err := cfg.KeyConverter.FromConnect(ctx, rec.Topic, nil, rec.KeySchema, rec.Key)
	if err != nil {
		return nil
	}
	val, err := cfg.ValueConverter.FromConnect(ctx, rec.Topic, nil, rec.ValueSchema, rec.Value)
	if err != nil {
		return nil
	}
	raw := &errhandler.RawRecord{Topic: rec.Topic, Partition: -1, Offset: -1, Key: key, Value: val, Timestamp: rec.Timestamp}
	if rec.OriginalTopic != "" {
		raw.Topic, raw.Partition, raw.Offset = rec.OriginalTopic, rec.OriginalPartition, rec.OriginalOffset
	}
	for _, h := range rec.Headers {
		v, err := cfg.HeaderConverter.FromConnectHeader(ctx, rec.Topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return nil
		}
		raw.Headers = append(raw.Headers, errhandler.RawHeader{Key: h.Key, Value: v})
	}
	return raw
}
