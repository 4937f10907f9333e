package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/transforms"
)

// taskRunner runs one task: a consumer group member (sarama's goroutines and
// one claim goroutine per assigned partition, which fetch into a bounded
// buffer) and the task goroutine (work), the only one that calls the task.
type taskRunner struct {
	p      *Pipeline
	id     int
	config map[string]string
	log    *slog.Logger

	task          Task
	taskCtx       context.Context
	client        sarama.Client
	consumer      sarama.Consumer
	group         sarama.ConsumerGroup
	topicsRE      *regexp.Regexp
	initialOffset int64

	ctl           chan ctlMsg
	notify        chan struct{} // cap 1: records were buffered
	commitReq     chan struct{} // cap 1: a commit is wanted
	consumeDone   chan struct{} // closed when consumeLoop returned
	cancelConsume context.CancelFunc
	session       atomic.Pointer[sarama.ConsumerGroupSession]
	cancelled     atomic.Bool // the graceful stop timed out

	// Guarded by mu: the partitions and the buffer.
	mu             sync.Mutex
	parts          map[connect.TopicPartition]*part // assigned and opened; written by the task goroutine only
	order          []*part                          // delivery order
	rr             int
	bufRecords     int
	bufBytes       int64
	bufFull        bool
	pipelinePaused bool
	allPaused      bool

	seekMu sync.Mutex
	seeks  map[connect.TopicPartition]int64

	// Owned by the task goroutine.
	stopping   bool
	raw        []*sarama.ConsumerMessage // taken, not yet converted
	rawSince   time.Time
	pending    []connect.Record // converted batch awaiting (re)delivery
	pendingOff []batchRange     // the offsets pending covers
	hasPending bool
	retryAt    time.Time
	retryDelay time.Duration

	failMu  sync.Mutex
	failure error

	state                                  atomic.Value // connect.State
	read, put, filtered, committedRecs     atomic.Int64
	putRetries, commits, commitFailures    atomic.Int64
	lastPut, lastCommitNano, setups, rebal atomic.Int64
}

// batchRange is the part of a batch that came from one partition.
type batchRange struct {
	tp          connect.TopicPartition
	first, next int64
}

func newTaskRunner(p *Pipeline, id int, config map[string]string) *taskRunner {
	r := &taskRunner{
		p: p, id: id, config: config, log: p.logger(id),
		topicsRE:    compileTopicsRegex(p.cfg.TopicsRegex),
		ctl:         make(chan ctlMsg),
		notify:      make(chan struct{}, 1),
		commitReq:   make(chan struct{}, 1),
		consumeDone: make(chan struct{}),
		parts:       map[connect.TopicPartition]*part{},
		retryDelay:  retryDelayMin,
	}
	r.state.Store(connect.StateUnassigned)
	return r
}

func (r *taskRunner) requestCommit() {
	select {
	case r.commitReq <- struct{}{}:
	default:
	}
}

func (r *taskRunner) fail(err error) {
	r.failMu.Lock()
	if r.failure == nil {
		r.failure = err
	}
	r.failMu.Unlock()
}

func (r *taskRunner) failed() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.failure
}

func (r *taskRunner) errorf(stage connect.Stage, component any, rec *connect.Record, err error) error {
	return connect.NewRecordError(r.p.cfg.Name, r.id, stage, component, rec, 1, err)
}

// run executes the task's whole life and returns its failure, if any.
func (r *taskRunner) run(ctx context.Context) (err error) {
	cfg := &r.p.cfg
	r.task = cfg.NewTask()
	taskCtx, taskCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer taskCancel()
	r.taskCtx = taskCtx

	// Graceful stop watchdog: ShutdownTimeout after ctx is done, the task's
	// context is cancelled and the final commit skipped.
	exited := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			r.cancelled.Store(true)
			r.log.Warn("graceful stop timed out; cancelling the task and skipping the final commit", "timeout", cfg.ShutdownTimeout)
			taskCancel()
		case <-exited:
		}
	})

	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		if serr := r.task.Stop(stopCtx); serr != nil {
			r.log.Warn("task stop failed", "error", serr)
		}
		cancel()
		close(exited)
		watch.Wait()
		if err != nil {
			r.state.Store(connect.StateFailed)
			r.log.Error("task failed", "error", err)
		} else {
			r.state.Store(connect.StateStopped)
		}
	}()

	dataCfg, groupCfg, err := r.p.consumerConfig(r.id)
	if err != nil {
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	r.initialOffset = dataCfg.Consumer.Offsets.Initial
	if r.id == 0 {
		for _, k := range r.p.unmappedProps() {
			r.log.Warn("consumer property has no mapping in Sluice and is ignored", "key", k)
		}
	}
	if err := r.task.Start(taskCtx, taskContext{r}); err != nil {
		return fmt.Errorf("connector %q task %d: start: %w", cfg.Name, r.id, err)
	}
	r.client, err = sarama.NewClient(cfg.Brokers, dataCfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: creating consumer client: %w", cfg.Name, r.id, err)
	}
	defer r.client.Close()
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return fmt.Errorf("connector %q task %d: creating consumer: %w", cfg.Name, r.id, err)
	}
	r.mu.Lock()
	r.consumer = consumer
	r.updatePauseLocked()
	r.mu.Unlock()
	defer consumer.Close()
	r.group, err = sarama.NewConsumerGroup(cfg.Brokers, cfg.GroupID, groupCfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: joining consumer group %s: %w", cfg.Name, r.id, cfg.GroupID, err)
	}
	r.state.Store(connect.StateRunning)

	consumeCtx, cancelConsume := context.WithCancel(context.WithoutCancel(ctx))
	r.cancelConsume = cancelConsume
	var wg sync.WaitGroup
	wg.Go(func() { r.consumeLoop(consumeCtx) })
	wg.Go(func() {
		for e := range r.group.Errors() {
			r.log.Warn("consumer group error", "error", e)
		}
	})

	r.work(ctx)

	cancelConsume()
	if cerr := r.group.Close(); cerr != nil {
		r.log.Warn("closing the consumer group member failed", "error", cerr)
	}
	wg.Wait()
	return r.failed()
}

// work is the task goroutine: it opens and closes partitions, builds batches,
// calls Put and commits, until ctx is done (or the task failed) and every
// partition was closed.
func (r *taskRunner) work(ctx context.Context) {
	cfg := &r.p.cfg
	commitT := time.NewTicker(cfg.OffsetFlushInterval)
	defer commitT.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.drainCtl()
		r.applySeeks()
		if r.stopping {
			select {
			case m := <-r.ctl:
				r.handleCtl(m)
			case <-r.consumeDone:
				r.drainCtl()
				return
			}
			continue
		}
		if ctx.Err() != nil || r.failed() != nil {
			r.beginStop()
			continue
		}
		var due bool
		select {
		case <-commitT.C:
			due = true
		case <-r.commitReq:
			due = true
		default:
		}
		if due {
			r.commit(nil, false)
			continue
		}
		if gate := r.p.pauseGate(); gate != nil {
			r.state.Store(connect.StatePaused)
			select {
			case <-gate:
				r.state.Store(connect.StateRunning)
			case m := <-r.ctl:
				r.handleCtl(m)
			case <-ctx.Done():
			case <-commitT.C:
				r.commit(nil, false)
			case <-r.commitReq:
				r.commit(nil, false)
			}
			continue
		}

		wait := time.Duration(-1)
		if r.hasPending {
			if d := time.Until(r.retryAt); d > 0 {
				wait = d
			} else {
				r.deliver()
				continue
			}
		} else {
			had := len(r.raw)
			r.raw = r.take(r.raw, cfg.BatchSize-len(r.raw))
			if len(r.raw) > 0 {
				if had == 0 {
					r.rawSince = time.Now()
				}
				since := time.Since(r.rawSince)
				if len(r.raw) >= cfg.BatchSize || cfg.Linger <= 0 || since >= cfg.Linger {
					r.deliver()
					continue
				}
				wait = cfg.Linger - since
			}
		}
		var timerC <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			timerC = timer.C
		}
		select {
		case m := <-r.ctl:
			r.handleCtl(m)
		case <-r.notify:
		case <-ctx.Done():
		case <-commitT.C:
			r.commit(nil, false)
		case <-r.commitReq:
			r.commit(nil, false)
		case <-timerC:
		}
		if timerC != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// beginStop stops delivery and makes the group member leave: its claims end
// and come back as revocations, which commit and close the partitions.
func (r *taskRunner) beginStop() {
	r.stopping = true
	r.dropPending()
	r.cancelConsume()
}

func (r *taskRunner) dropPending() {
	clear(r.raw)
	r.raw = r.raw[:0]
	r.pending, r.pendingOff, r.hasPending = nil, nil, false
}

// dropFrom removes tp's records from the batch being built or retried.
func (r *taskRunner) dropFrom(tp connect.TopicPartition) {
	if len(r.raw) > 0 {
		r.raw = slices.DeleteFunc(r.raw, func(m *sarama.ConsumerMessage) bool {
			return m.Topic == tp.Topic && m.Partition == tp.Partition
		})
	}
	if r.hasPending {
		r.pending = slices.DeleteFunc(r.pending, func(rec connect.Record) bool {
			return rec.OriginalTopic == tp.Topic && rec.OriginalPartition == tp.Partition
		})
		r.pendingOff = slices.DeleteFunc(r.pendingOff, func(b batchRange) bool { return b.tp == tp })
		if len(r.pendingOff) == 0 {
			r.pending, r.pendingOff, r.hasPending = nil, nil, false
		}
	}
}

func (r *taskRunner) drainCtl() {
	for {
		select {
		case m := <-r.ctl:
			r.handleCtl(m)
		default:
			return
		}
	}
}

// handleCtl handles m and the other open/close requests already waiting, so
// that partitions assigned or revoked together are opened or closed with one
// call.
func (r *taskRunner) handleCtl(m ctlMsg) {
	msgs := []ctlMsg{m}
	// Give the sibling claims of the same rebalance a moment to arrive.
	deadline := time.After(5 * time.Millisecond)
collect:
	for {
		select {
		case m := <-r.ctl:
			msgs = append(msgs, m)
		case <-deadline:
			break collect
		}
	}
	var opens, revokes, lost []*part
	var done []chan struct{}
	for _, m := range msgs {
		switch {
		case m.kind == ctlOpen:
			opens = append(opens, m.p)
		case m.lost:
			lost = append(lost, m.p)
		default:
			revokes = append(revokes, m.p)
		}
		done = append(done, m.done)
	}
	if len(revokes) > 0 {
		r.closeParts(revokes, false)
	}
	if len(lost) > 0 {
		r.closeParts(lost, true)
	}
	if len(opens) > 0 {
		r.openParts(opens)
	}
	for _, d := range done {
		close(d)
	}
}

func tpsOf(ps []*part) []connect.TopicPartition {
	out := make([]connect.TopicPartition, len(ps))
	for i, p := range ps {
		out[i] = p.tp
	}
	return out
}

// openParts registers newly assigned partitions and calls the task's Open.
func (r *taskRunner) openParts(ps []*part) {
	r.rebal.Add(1)
	active := !r.stopping && r.failed() == nil
	r.mu.Lock()
	for _, p := range ps {
		p.consume = active
		if active {
			r.parts[p.tp] = p
			r.order = append(r.order, p)
		}
	}
	r.mu.Unlock()
	if !active {
		return
	}
	for _, p := range ps {
		p.isOpen = true
	}
	r.log.Info("partitions assigned", "partitions", tpsOf(ps))
	if o, ok := r.task.(PartitionOpener); ok {
		if err := o.Open(r.taskCtx, tpsOf(ps)); err != nil {
			r.fail(fmt.Errorf("connector %q task %d: opening partitions %v: %w", r.p.cfg.Name, r.id, tpsOf(ps), err))
			return
		}
	}
	r.applySeeks()
}

// closeParts handles revoked (or lost) partitions: their records are no
// longer delivered, what is durable is committed (not for lost partitions,
// nor after a failure or a timed-out stop), and the task's Close is called.
// The Put in progress, if any, has returned: this runs on the task goroutine.
func (r *taskRunner) closeParts(ps []*part, lost bool) {
	r.rebal.Add(1)
	var open []*part
	r.mu.Lock()
	for _, p := range ps {
		p.gone = true
		r.dropBufferLocked(p)
		if i := slices.Index(r.order, p); i >= 0 {
			r.order = slices.Delete(r.order, i, i+1)
		}
		if p.isOpen {
			open = append(open, p)
		}
	}
	r.mu.Unlock()
	for _, p := range ps {
		r.dropFrom(p.tp)
	}
	if len(open) > 0 {
		if lost {
			r.log.Warn("partitions lost; closing them without a commit", "partitions", tpsOf(open))
		} else {
			r.log.Info("partitions revoked", "partitions", tpsOf(open))
			if !r.cancelled.Load() && r.failed() == nil {
				r.commit(open, true)
			}
		}
		if c, ok := r.task.(PartitionCloser); ok {
			if err := c.Close(r.taskCtx, tpsOf(open)); err != nil && !r.cancelled.Load() {
				r.fail(fmt.Errorf("connector %q task %d: closing partitions %v: %w", r.p.cfg.Name, r.id, tpsOf(open), err))
			}
		}
	}
	r.mu.Lock()
	for _, p := range ps {
		if r.parts[p.tp] == p {
			delete(r.parts, p.tp)
		}
	}
	r.mu.Unlock()
	r.applySeeks()
}

// applySeeks applies the offsets the task asked for with TaskContext.Offset.
func (r *taskRunner) applySeeks() {
	r.seekMu.Lock()
	if len(r.seeks) == 0 {
		r.seekMu.Unlock()
		return
	}
	seeks := r.seeks
	r.seeks = nil
	r.seekMu.Unlock()
	for tp, off := range seeks {
		p := r.parts[tp]
		if p == nil || p.gone {
			r.log.Warn("ignoring an offset for a partition not assigned to the task", "topic", tp.Topic, "partition", tp.Partition, "offset", off)
			continue
		}
		r.seek(p, off)
	}
}

// seek makes p resume at off: buffered and batched records of p are
// discarded and its fetch restarts there. As Kafka Connect's rewind, off
// becomes both the position and the reference committed offset.
func (r *taskRunner) seek(p *part, off int64) {
	r.mu.Lock()
	r.dropBufferLocked(p)
	p.epoch++
	req := seekReq{offset: off, epoch: p.epoch}
	started := p.started
	r.mu.Unlock()
	r.dropFrom(p.tp)
	p.current, p.committed = off, off
	if off < 0 {
		p.current = -1
	}
	p.stCurrent.Store(p.current)
	p.stCommitted.Store(p.committed)
	if started {
		select {
		case <-p.seekCh:
		default:
		}
		p.seekCh <- req
	}
}

// deliver converts the taken records (once) and hands the batch to Put.
func (r *taskRunner) deliver() {
	if !r.hasPending {
		if !r.convert() {
			return
		}
	}
	if len(r.pending) > 0 {
		err := r.task.Put(r.taskCtx, r.pending)
		if err != nil {
			r.putFailed(err)
			return
		}
		r.put.Add(int64(len(r.pending)))
		r.lastPut.Store(time.Now().UnixNano())
	}
	for _, b := range r.pendingOff {
		if p := r.parts[b.tp]; p != nil && !p.gone {
			p.current = b.next
			p.stCurrent.Store(b.next)
		}
	}
	r.pending, r.pendingOff, r.hasPending = nil, nil, false
	r.retryDelay = retryDelayMin
}

// putFailed handles a Put error: a retriable one schedules a redelivery of
// the same batch; any other fails the task.
func (r *taskRunner) putFailed(err error) {
	if r.taskCtx.Err() != nil {
		// Cancelled by a timed-out stop: not delivered, not committed.
		r.dropPending()
		return
	}
	var be *connect.BatchError
	if errors.As(err, &be) {
		for _, f := range be.Failures {
			if f.Index < 0 || f.Index >= len(r.pending) {
				r.fail(r.errorf(connect.StageTaskPut, r.task, nil, fmt.Errorf("put returned a batch error with index %d out of range for a batch of %d records: %w", f.Index, len(r.pending), err)))
				return
			}
			rec := &r.pending[f.Index]
			if _, ferr := r.handleFailure(connect.StageTaskPut, r.task, rec, nil, fmt.Errorf("%d record(s) of the batch failed; this one: %w", len(be.Failures), f.Err)); ferr != nil {
				r.fail(ferr)
				return
			}
		}
		// Every failure was tolerated: the batch counts as delivered.
		r.pending = r.pending[:0]
		r.deliver()
		return
	}
	if connect.IsRetriable(err) {
		d := r.retryDelay
		if h, ok := connect.RetryAfterHint(err); ok {
			d = h
		}
		r.retryAt = time.Now().Add(d)
		r.putRetries.Add(1)
		r.log.Warn("put failed with a retriable error; redelivering the batch", "error", err, "delay", d, "records", len(r.pending), "batch", describeBatch(r.pendingOff))
		r.retryDelay = min(2*r.retryDelay, r.p.cfg.RetryDelayMax)
		return
	}
	e := r.errorf(connect.StageTaskPut, r.task, nil, fmt.Errorf("put of a batch of %d records (%s): %w", len(r.pending), describeBatch(r.pendingOff), err))
	r.fail(e)
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

// handleFailure decides what happens to a record that failed in stage: skip
// it (true) or fail the task with the returned error. It is the one place
// where errors.tolerance will apply; until then every failure is fatal.
func (r *taskRunner) handleFailure(stage connect.Stage, component any, rec *connect.Record, raw *sarama.ConsumerMessage, err error) (skip bool, _ error) {
	_ = raw // for the dead-letter queue
	return false, r.errorf(stage, component, rec, err)
}

// convert turns the taken records into the pending batch: converters, then
// transforms. It returns false when the task failed.
func (r *taskRunner) convert() bool {
	cfg := &r.p.cfg
	ctx := r.taskCtx
	raw := r.raw
	r.read.Add(int64(len(raw)))
	recs := make([]connect.Record, 0, len(raw))
	var ranges []batchRange
	for _, m := range raw {
		tp := connect.TopicPartition{Topic: m.Topic, Partition: m.Partition}
		if n := len(ranges); n > 0 && ranges[n-1].tp == tp {
			ranges[n-1].next = m.Offset + 1
		} else if i := slices.IndexFunc(ranges, func(b batchRange) bool { return b.tp == tp }); i >= 0 {
			ranges[i].next = m.Offset + 1
		} else {
			ranges = append(ranges, batchRange{tp: tp, first: m.Offset, next: m.Offset + 1})
		}
		rec := connect.Record{
			Topic: m.Topic, Partition: m.Partition, HasPartition: true, Offset: m.Offset,
			Timestamp: m.Timestamp, TimestampType: connect.CreateTime,
			OriginalTopic: m.Topic, OriginalPartition: m.Partition, OriginalOffset: m.Offset,
		}
		if m.Timestamp.IsZero() {
			rec.TimestampType = connect.NoTimestampType
		}
		out, ok := r.convertOne(ctx, cfg, m, &rec)
		if !ok {
			return false
		}
		if out == nil {
			r.filtered.Add(1)
			continue
		}
		recs = append(recs, *out)
	}
	clear(r.raw)
	r.raw = r.raw[:0]
	r.pending, r.pendingOff, r.hasPending = recs, ranges, true
	return true
}

// convertOne converts m into rec and runs the transforms; it returns the
// record to deliver (nil when dropped) and false when the task failed.
func (r *taskRunner) convertOne(ctx context.Context, cfg *Config, m *sarama.ConsumerMessage, rec *connect.Record) (*connect.Record, bool) {
	if len(m.Headers) > 0 {
		rec.Headers = make(connect.Headers, 0, len(m.Headers))
		for _, h := range m.Headers {
			if h == nil {
				continue
			}
			sv, err := cfg.HeaderConverter.ToConnectHeader(ctx, m.Topic, string(h.Key), h.Value)
			if err != nil {
				return r.failed1(connect.StageHeaderConverter, cfg.HeaderConverter, rec, m, fmt.Errorf("header %q: %w", h.Key, err))
			}
			rec.Headers = append(rec.Headers, connect.Header{Key: string(h.Key), Schema: sv.Schema, Value: sv.Value})
		}
	}
	k, err := cfg.KeyConverter.ToConnect(ctx, m.Topic, rec.Headers, m.Key)
	if err != nil {
		return r.failed1(connect.StageKeyConverter, cfg.KeyConverter, rec, m, err)
	}
	rec.KeySchema, rec.Key = k.Schema, k.Value
	v, err := cfg.ValueConverter.ToConnect(ctx, m.Topic, rec.Headers, m.Value)
	if err != nil {
		return r.failed1(connect.StageValueConverter, cfg.ValueConverter, rec, m, err)
	}
	rec.ValueSchema, rec.Value = v.Schema, v.Value
	if cfg.Transforms == nil {
		return rec, true
	}
	work := *rec
	out, err := cfg.Transforms.Apply(ctx, &work)
	if err != nil {
		var component any = cfg.Transforms
		var ce *transforms.ChainError
		if errors.As(err, &ce) && ce.Component != nil {
			component = ce.Component
		}
		return r.failed1(connect.StageTransformation, component, rec, m, err)
	}
	return out, true
}

func (r *taskRunner) failed1(stage connect.Stage, component any, rec *connect.Record, m *sarama.ConsumerMessage, err error) (*connect.Record, bool) {
	skip, ferr := r.handleFailure(stage, component, rec, m, err)
	if skip {
		return nil, true
	}
	r.fail(ferr)
	r.dropPending()
	return nil, false
}

// commit asks the task which offsets are durable (PreCommit, or Flush) for
// scope (nil: every assigned partition) and commits them synchronously.
// Only offsets no greater than the processed position of a partition in
// scope are accepted. A failing PreCommit/Flush aborts the commit and, unless
// retriable, rewinds the partitions to their last committed offsets (not when
// closing them).
func (r *taskRunner) commit(scope []*part, closing bool) {
	if scope == nil {
		for _, p := range r.order {
			if p.isOpen && !p.gone {
				scope = append(scope, p)
			}
		}
	}
	offsets := make(map[connect.TopicPartition]int64, len(scope))
	byTP := make(map[connect.TopicPartition]*part, len(scope))
	for _, p := range scope {
		byTP[p.tp] = p
		if p.current >= 0 {
			offsets[p.tp] = p.current
		}
	}
	if len(offsets) == 0 {
		return
	}
	commitOffs := offsets
	var err error
	switch t := r.task.(type) {
	case PreCommitter:
		commitOffs, err = t.PreCommit(r.taskCtx, maps.Clone(offsets))
	case Flusher:
		err = t.Flush(r.taskCtx, maps.Clone(offsets))
	}
	if err != nil {
		r.commitFailures.Add(1)
		retriable := connect.IsRetriable(err)
		r.log.Error("pre-commit failed; nothing committed", "stage", connect.StageTaskCommit, "error", err, "retriable", retriable)
		if !retriable && !closing {
			for _, p := range scope {
				r.seek(p, p.committed)
			}
		}
		return
	}
	var sessions []sarama.ConsumerGroupSession
	for tp, off := range commitOffs {
		p := byTP[tp]
		switch {
		case p == nil:
			r.log.Warn("ignoring an offset to commit for a partition not assigned (or not being committed)", "topic", tp.Topic, "partition", tp.Partition, "offset", off)
			continue
		case off < 0 || off > p.current:
			r.log.Warn("ignoring an offset to commit beyond the processed position", "topic", tp.Topic, "partition", tp.Partition, "offset", off, "position", p.current)
			continue
		case off == p.committed:
			continue
		}
		if p.committed >= 0 && off > p.committed {
			r.committedRecs.Add(off - p.committed)
		}
		p.sess.MarkOffset(tp.Topic, tp.Partition, off, "")
		p.sess.ResetOffset(tp.Topic, tp.Partition, off, "")
		p.committed = off
		p.stCommitted.Store(off)
		if !slices.Contains(sessions, p.sess) {
			sessions = append(sessions, p.sess)
		}
	}
	for _, s := range sessions {
		s.Commit()
	}
	if len(sessions) > 0 {
		r.commits.Add(1)
		r.lastCommitNano.Store(time.Now().UnixNano())
	}
}

func (r *taskRunner) status() TaskStatus {
	ts := TaskStatus{
		ID:                   r.id,
		State:                r.state.Load().(connect.State),
		Err:                  r.failed(),
		RecordsRead:          r.read.Load(),
		RecordsPut:           r.put.Load(),
		RecordsFiltered:      r.filtered.Load(),
		RecordsCommitted:     r.committedRecs.Load(),
		PutRetries:           r.putRetries.Load(),
		OffsetCommits:        r.commits.Load(),
		OffsetCommitFailures: r.commitFailures.Load(),
		LastPut:              unixTime(r.lastPut.Load()),
		LastCommit:           unixTime(r.lastCommitNano.Load()),
		Generation:           -1,
		Rebalances:           r.rebal.Load(),
	}
	if s := r.session.Load(); s != nil {
		ts.MemberID, ts.Generation = (*s).MemberID(), (*s).GenerationID()
	}
	r.mu.Lock()
	ts.Buffered, ts.BufferedBytes = r.bufRecords, r.bufBytes
	for _, p := range r.parts {
		ps := PartitionStatus{
			TopicPartition: p.tp,
			Position:       p.stCurrent.Load(),
			Committed:      p.stCommitted.Load(),
			HighWatermark:  p.hwm.Load(),
			Paused:         p.taskPaused,
		}
		if ps.HighWatermark > 0 && ps.Committed >= 0 && ps.HighWatermark > ps.Committed {
			ps.Lag = ps.HighWatermark - ps.Committed
		}
		ts.Partitions = append(ts.Partitions, ps)
	}
	r.mu.Unlock()
	slices.SortFunc(ts.Partitions, func(a, b PartitionStatus) int {
		if c := strings.Compare(a.TopicPartition.Topic, b.TopicPartition.Topic); c != 0 {
			return c
		}
		return int(a.TopicPartition.Partition - b.TopicPartition.Partition)
	})
	return ts
}

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
