package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/offsettrack"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/internal/topicset"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/internal/winstat"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/transforms"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// errStopping tells the poll loop that a send was abandoned because the task
// is stopping.
var errStopping = errors.New("source: stopping")

// msgSlot is the pipeline's per-record bookkeeping, pooled so that the steady
// state allocates no ProducerMessage.
type msgSlot struct {
	msg      sarama.ProducerMessage
	key, val bytesEncoder
	handle   offsettrack.Handle
	rec      *connect.Record // as polled, for CommitRecord and errors
	explicit bool
	size     int
	seq      uint64 // send order, to re-send failed records in order
	first    int64  // unix nanos of the poll that returned the record (delivery.timeout.ms)
	resends  int    // times re-sent after a retriable failure
	lastErr  error  // the last retriable produce error
	alone    bool   // being re-sent with nothing else in the producer
	resent   bool   // sent by redeliver: passes the fence
	r        *taskRunner
	tooLarge bool // refused by the broker as too large: to be re-sent alone
}

// slotPool holds slots released off the hot path (a rewound or dropped
// exactly-once record); getSlot falls back to it.
var slotPool = sync.Pool{New: func() any { return new(msgSlot) }}

// maxFreeSlots bounds the slots a task keeps for reuse, its free list
// (slotFree) and the poll loop's own (ownSlots) together: enough for the
// acknowledgements that arrive while the poll loop is elsewhere (a Poll, a
// wait for space); beyond it, released slots are left to the garbage
// collector. A task holds at most maxFreeSlots idle slots (≈ 1.3 MB).
const maxFreeSlots = 4096

// slotFree is a task's free list of message slots, in place of a sync.Pool
// whose per-P caches miss when, as here, one goroutine (the ack loop) puts
// and another (the poll loop) gets: the ack loop returns a run's slots under
// one lock (putSlots), and the poll loop takes the whole list at once when
// its own is empty (getSlot).
type slotFree struct {
	mu   sync.Mutex
	free []*msgSlot
	// own is how many slots the poll loop took at its last swap: an upper
	// bound of len(ownSlots), which only the poll goroutine may read.
	own int
}

// getSlot returns a zeroed slot (every slot is zeroed when released,
// putSlots and the slotPool.Put sites). Poll goroutine only.
func (r *taskRunner) getSlot() *msgSlot {
	if len(r.ownSlots) == 0 {
		r.slotFree.mu.Lock()
		r.ownSlots, r.slotFree.free = r.slotFree.free, r.ownSlots
		r.slotFree.own = len(r.ownSlots)
		r.slotFree.mu.Unlock()
		if len(r.ownSlots) == 0 {
			return slotPool.Get().(*msgSlot)
		}
	}
	n := len(r.ownSlots) - 1
	s := r.ownSlots[n]
	r.ownSlots[n] = nil
	r.ownSlots = r.ownSlots[:n]
	return s
}

// putSlots zeroes the slots of ss and returns them to the task's free list
// (under one lock).
func (r *taskRunner) putSlots(ss []*msgSlot) {
	for _, s := range ss {
		*s = msgSlot{}
	}
	r.slotFree.mu.Lock()
	if room := maxFreeSlots - r.slotFree.own - len(r.slotFree.free); room > 0 {
		r.slotFree.free = append(r.slotFree.free, ss[:min(room, len(ss))]...)
	}
	r.slotFree.mu.Unlock()
}

type taskRunner struct {
	p      *Pipeline
	id     int
	config map[string]string
	log    *slog.Logger
	// seen records the topics of the records the task hands to the
	// producer (send).
	seen topicset.Recorder

	task        Task
	committer   RecordCommitter      // task as a RecordCommitter, or nil; set with task
	producer    sarama.AsyncProducer // nil while a recovery could not create one
	ackDone     chan struct{}        // closed when producer's ackLoop returned
	pcfg        *sarama.Config
	delivery    deliveryPolicy
	handler     *errhandler.Handler
	taskHandler *errhandler.Handler // retries of Poll: sluice.task.retry.timeout.ms
	dlq         *errhandler.DLQ
	errStats    errhandler.Metrics
	restarts    int
	lastFailure error
	work        connect.Record                   // scratch copy of the record being sent
	slotFree    slotFree                         // released slots, see getSlot
	ownSlots    []*msgSlot                       // slots taken from slotFree; poll goroutine only
	validParts  offsettrack.RecentMaps[struct{}] // the source partition maps checkOffsets last found valid; poll goroutine only
	offsetNames []string                         // the member names of the source offset checkOffset last walked; poll goroutine only

	tracer      trace.Tracer          // nil: tracing off
	traceparent []byte                // of the current poll batch's span, nil when off
	traceHdrs   []sarama.RecordHeader // just the traceparent header
	tracker     *offsettrack.Tracker
	admin       sarama.ClusterAdmin
	created     map[string]bool
	lastTop     string

	commitReq    chan struct{} // cap 1: a commit is wanted
	space        chan struct{} // cap 1: in-flight space was freed
	waitingSpace atomic.Bool
	spaceTimer   *time.Timer // waitForSpace's, see spaceCheck; poll goroutine only
	commitMu     sync.Mutex  // serialises commits

	failMu  sync.Mutex
	failure error
	lost    atomic.Int64 // records that will never be acknowledged (failed sends)

	// Redelivery (see redeliver.go). pending counts messages handed to the
	// producer and not yet resolved (acknowledged or failed); recovering is
	// set by the ack loop on a retriable produce error and cleared by the
	// poll loop once every record it kept in retryQ was acknowledged.
	pending    atomic.Int64
	kept       atomic.Int64 // records kept for redelivery, not in the producer
	stopping   atomic.Bool  // set when the graceful stop begins: sarama retries without backoff
	recovering atomic.Bool
	fenceSeq   atomic.Uint64 // records sent after this one wait for redelivery (math.MaxUint64: none)
	retryMu    sync.Mutex
	retryQ     []*msgSlot
	seq        uint64 // next msgSlot.seq; poll goroutine only
	batchNanos int64  // poll time of the batch being sent; poll goroutine only
	stallMu    sync.Mutex
	stallErr   error       // the retriable error the task keeps getting, nil when progressing
	stallSince time.Time   // when stallErr was first set
	retryStall atomic.Bool // stallErr is producerRetrying's

	commitFailSince time.Time // first failure of the current run of failed offset commits; under commitMu

	// Exactly-once delivery (txn.go); txn is nil under at-least-once. The
	// ack loop signals idle when pending reaches 0 while waitingIdle is set.
	txn           *txnState
	txnPub        atomic.Pointer[txnState] // txn, for status
	idle          chan struct{}
	waitingIdle   atomic.Bool
	stallErrIsTxn atomic.Bool  // stallErr is a rewind's
	txnProducer   atomic.Value // producerBox: the producer, for txnDoomed

	state                             atomic.Value              // connect.State; set with setState
	meters                            winstat.Task              // Kafka Connect's windowed task metrics
	taskName                          atomic.Pointer[taskIdent] // the task's class and version, set once NewTask returned
	polled, written, acked, dropped   atomic.Int64
	started                           atomic.Int64
	commits, commitFailures           atomic.Int64
	lastPoll, lastAck, lastCommitNano atomic.Int64
}

// setState sets the task's state and records the change for the
// running-ratio and pause-ratio metrics.
func (r *taskRunner) setState(st connect.State) {
	r.state.Store(st)
	r.meters.SetState(time.Now(), st)
}

// recordPoll records a Poll begun at start that returned n records: its
// time, its size and the records then active (poll-batch-*-time-ms,
// batch-size-*, source-record-active-count-*). Once per non-empty batch.
func (r *taskRunner) recordPoll(start time.Time, n int) {
	now := time.Now()
	r.meters.BatchTime.Record(now, winstat.Millis(now.Sub(start)))
	r.meters.BatchSize.Record(now, float64(n))
	active, _ := r.tracker.InFlight()
	r.meters.Active.Record(now, float64(active+n))
}

// recordCommit records an offset commit begun at start
// (offset-commit-max/avg-time-ms).
func (r *taskRunner) recordCommit(start time.Time) {
	now := time.Now()
	r.meters.CommitTime.Record(now, winstat.Millis(now.Sub(start)))
}

func newTaskRunner(p *Pipeline, id int, config map[string]string) *taskRunner {
	r := &taskRunner{
		p: p, id: id, config: config, log: p.logger(id),
		tracker:   offsettrack.New(),
		created:   map[string]bool{},
		commitReq: make(chan struct{}, 1),
		space:     make(chan struct{}, 1),
		idle:      make(chan struct{}, 1),
	}
	r.setState(connect.StateUnassigned)
	r.fenceSeq.Store(math.MaxUint64)
	if tp := p.cfg.TracerProvider; tp != nil {
		r.tracer = tp.Tracer("github.com/sluicehq/sluice/source")
	}
	return r
}

var traceparentKey = []byte(tracing.HeaderKey)

// traceBatch starts the span of a poll batch that returned n records (the
// poll began at start), and sets the traceparent the batch's records carry.
func (r *taskRunner) traceBatch(ctx context.Context, start time.Time, n int) trace.Span {
	_, span := r.tracer.Start(ctx, "sluice.source.batch", trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("connector", r.p.cfg.Name), attribute.Int("task", r.id), attribute.Int("records", n)))
	r.traceparent, r.traceHdrs = nil, nil
	if !r.p.cfg.DisableTraceparent {
		r.traceparent = tracing.Traceparent(span.SpanContext())
	}
	if r.traceparent != nil {
		// Shared, read-only, by every record of the batch that has no
		// headers of its own: no allocation per record.
		r.traceHdrs = []sarama.RecordHeader{{Key: traceparentKey, Value: r.traceparent}}
	}
	return span
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

// taskContext implements TaskContext.
type taskContext struct{ r *taskRunner }

func (c taskContext) ConnectorName() string     { return c.r.p.cfg.Name }
func (c taskContext) TaskID() int               { return c.r.id }
func (c taskContext) Config() map[string]string { return c.r.config }
func (c taskContext) Offsets() offsets.Reader {
	return offsets.ConnectorReader(c.r.p.cfg.OffsetStore, c.r.p.cfg.Name)
}

// TransactionContext returns the task's TransactionContext (see
// TransactionContextOf): nil unless exactly-once delivery with
// transaction.boundary=connector.
func (c taskContext) TransactionContext() TransactionContext {
	if c.r.txn == nil || c.r.txn.tctx == nil {
		return nil
	}
	return c.r.txn.tctx
}

func (r *taskRunner) errorf(stage connect.Stage, component any, rec *connect.Record, err error) error {
	return connect.NewRecordError(r.p.cfg.Name, r.id, stage, component, rec, 1, err)
}

// run executes the task's whole life and returns its failure, if any.
func (r *taskRunner) run(ctx context.Context) (err error) {
	cfg := &r.p.cfg
	r.task, err = r.callNewTask()
	if err != nil {
		err = fmt.Errorf("connector %q task %d: creating the task: %w", cfg.Name, r.id, err)
		r.fail(err)
		r.setState(connect.StateFailed)
		r.log.Error("task failed", "error", err)
		return err
	}
	r.committer, _ = r.task.(RecordCommitter)
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		if serr := r.callStop(stopCtx); serr != nil {
			var pe *safecall.PanicError
			if errors.As(serr, &pe) && err == nil {
				err = fmt.Errorf("connector %q task %d: stop: %w", cfg.Name, r.id, serr)
			} else {
				r.log.Warn("task stop failed", "error", serr)
			}
		}
		cancel()
		if err != nil {
			r.fail(err) // the status shows the task's error
			r.setState(connect.StateFailed)
			r.log.Error("task failed", "error", err)
		} else {
			r.setState(connect.StateStopped)
		}
	}()

	pcfg, delivery, unmapped, err := r.p.producerConfig(r.id)
	if err != nil {
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	r.pcfg, r.delivery = pcfg, delivery
	if r.txn, err = r.newTxnState(); err != nil {
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	if r.txn != nil {
		r.txnPub.Store(r.txn)
		r.txn.producerConfig(pcfg)
		if _, ok := cfg.ProducerProps[propTransactionalID]; ok {
			r.log.Warn("The value '"+cfg.ProducerProps[propTransactionalID]+"' for the 'transactional.id' property will be overridden by '"+r.txn.id+
				"' for connectors when exactly-once source support is enabled", "key", producerPrefix+propTransactionalID)
		}
	}
	// sarama's own retries (in order, per partition) back off like the
	// redelivery rounds, and show the task stalled meanwhile. sarama also
	// backs off once per fresh message (retries 0) whose leader it cannot
	// find, which would take thousands of backoffs to hand back a full
	// pipeline: those do not wait (its circuit breaker paces the lookups),
	// nor does anything once stopping, so that the producer resolves what
	// it holds within the shutdown timeout.
	pcfg.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		if retries == 0 || r.stopping.Load() || r.txnDoomed() {
			return 0
		}
		r.producerRetrying(retries)
		b := delivery.backoff
		for range retries - 1 {
			if b = delivery.next(b); b >= delivery.backoffMax {
				break
			}
		}
		return b
	}
	for _, k := range unmapped {
		r.log.Warn("producer property has no mapping in Sluice and is ignored", "key", k)
	}
	acfg, unmapped, err := r.p.adminConfig(r.id, pcfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	acfg.Producer.Transaction.ID = "" // a copy of the task producer's: not transactional
	for _, k := range unmapped {
		r.log.Warn("admin client property has no mapping in Sluice and is ignored", "key", k)
	}
	if r.txn == nil {
		if r.p.assignedMode() {
			r.refreshOffsets(ctx)
		}
		if err := r.callStart(ctx); err != nil {
			return fmt.Errorf("connector %q task %d: start: %w", cfg.Name, r.id, err)
		}
	}
	// RUNNING from here: waiting for unreachable brokers shows as a stall.
	r.setState(connect.StateRunning)
	r.started.Store(time.Now().UnixNano())
	defer r.closeProducer()
	if err := r.openProducer(ctx); err != nil {
		return fmt.Errorf("connector %q task %d: creating producer: %w", cfg.Name, r.id, err)
	}
	if r.producer == nil {
		return nil // stopped while the brokers were unreachable
	}
	if r.txn != nil {
		// Kafka Connect's order: the transactional producer's
		// InitProducerId fenced any older instance of the task (and
		// aborted its open transaction); the store then reads what was
		// committed up to now, and the task starts from it.
		if err := r.txnRefresh(ctx); err != nil {
			if errors.Is(err, errStopping) {
				return nil
			}
			return err
		}
		r.clearStall()
		if err := r.callStart(ctx); err != nil {
			if ctx.Err() != nil && !errors.As(err, new(*safecall.PanicError)) {
				return nil // stopped while starting: nothing was sent
			}
			return fmt.Errorf("connector %q task %d: start: %w", cfg.Name, r.id, err)
		}
	}
	var reporters []errhandler.Reporter
	if cfg.Errors.LogEnable {
		reporters = append(reporters, &errhandler.LogReporter{Logger: cfg.Logger, IncludeMessages: cfg.Errors.LogIncludeMessages, Metrics: &r.errStats})
	}
	if cfg.Errors.DLQTopic != "" {
		dlqSarama := pcfg
		if r.txn != nil {
			// The queue's own producer writes at least once, outside the
			// task's transactions (source/doc.go, Exactly-once delivery).
			c := *pcfg
			c.Producer.Transaction.ID = ""
			dlqSarama = &c
		}
		r.dlq, err = errhandler.NewDLQ(ctx, errhandler.DLQConfig{
			Brokers: cfg.Brokers, Topic: cfg.Errors.DLQTopic, ReplicationFactor: cfg.Errors.DLQReplicationFactor,
			ContextHeaders: cfg.Errors.DLQContextHeaders, Sarama: dlqSarama, Admin: acfg, Metrics: &r.errStats, Logger: r.log,
			ClientID: fmt.Sprintf("connector-dlq-producer-%s-%d", cfg.Name, r.id),
		})
		if err != nil {
			return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
		}
		defer r.dlq.Close()
		reporters = append(reporters, r.dlq)
	}
	r.handler = errhandler.New(cfg.Errors, cfg.Name, r.id, errhandler.WithReporters(reporters...),
		errhandler.WithMetrics(&r.errStats), errhandler.WithLogger(cfg.Logger))
	// Poll's retriable errors: without limit unless TaskRetryTimeout bounds
	// them (errors.retry.timeout governs converters and transforms only).
	taskErrs := cfg.Errors
	taskErrs.RetryTimeout = cfg.TaskRetryTimeout
	r.taskHandler = errhandler.New(taskErrs, cfg.Name, r.id,
		errhandler.WithMetrics(&r.errStats), errhandler.WithLogger(cfg.Logger))
	if cfg.TopicCreation != nil {
		r.admin, err = sarama.NewClusterAdmin(cfg.Brokers, acfg)
		if err != nil {
			return fmt.Errorf("connector %q task %d: creating admin client: %w", cfg.Name, r.id, err)
		}
		defer r.admin.Close()
	}

	if r.txn != nil {
		return r.runExactlyOnce(ctx)
	}
	stopCommitter := make(chan struct{})
	var cwg sync.WaitGroup
	cwg.Add(1)
	go func() { defer cwg.Done(); r.commitLoop(context.WithoutCancel(ctx), stopCommitter) }()

	loopErr := r.pollLoopGuarded(ctx)

	// Graceful stop: wait for outstanding acknowledgements, commit, close.
	// Records kept for redelivery stay uncommitted: they are polled again
	// after a restart.
	r.stopping.Store(true)
	r.drain(cfg.ShutdownTimeout)
	close(stopCommitter)
	cwg.Wait()
	r.commit(context.WithoutCancel(ctx))
	r.closeProducer()
	if loopErr == nil {
		loopErr = r.failed()
	}
	return loopErr
}

// runExactlyOnce is run's poll loop and graceful stop under exactly-once
// delivery: transactions end at the boundaries (no commit loop), and the
// stop commits the open transaction, or aborts it after a failure.
func (r *taskRunner) runExactlyOnce(ctx context.Context) error {
	r.txn.commitCtx, r.txn.cancelCommit = context.WithCancel(context.WithoutCancel(ctx))
	defer r.txn.cancelCommit()
	loopErr := r.pollLoopGuarded(ctx)
	if errors.Is(loopErr, errStopping) {
		loopErr = nil
	}
	if loopErr == nil {
		loopErr = r.failed()
	}
	if ferr := r.txnFinal(ctx, loopErr != nil); loopErr == nil {
		loopErr = ferr
	}
	r.stopping.Store(true)
	r.drain(r.p.cfg.ShutdownTimeout)
	r.closeProducer()
	if loopErr == nil {
		loopErr = r.failed()
	}
	return loopErr
}

// closeProducer closes the task's producer, if any, and waits for its ack
// loop to return. A report to the dead-letter queue made from the ack loop
// keeps retrying while the broker refuses it; after the shutdown timeout the
// queue is closed, which ends that report with an error: its record stays
// unacknowledged, so it is not committed and is polled again after a
// restart, and the task stops instead of waiting for the broker.
func (r *taskRunner) closeProducer() {
	if r.producer == nil {
		return
	}
	r.producer.AsyncClose()
	if r.dlq == nil {
		<-r.ackDone
	} else {
		t := time.NewTimer(r.p.cfg.ShutdownTimeout)
		select {
		case <-r.ackDone:
		case <-t.C:
			r.log.Warn("a dead-letter queue report is still retrying after the shutdown timeout; closing the queue (its record is not committed and will be polled again)",
				"stage", connect.StageKafkaProduce)
			r.dlq.Close()
			<-r.ackDone
		}
		t.Stop()
	}
	r.producer = nil
}

// pollLoopGuarded runs pollLoop, turning a panic on the poll goroutine
// outside the guarded task callbacks (a transform, a converter, a
// predicate) into the task's failure, so the graceful stop that follows
// still drains and commits what was acknowledged. The record being
// processed was never handed to the tracker, so no offset at or past it is
// committed.
func (r *taskRunner) pollLoopGuarded(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("connector %q task %d: %w", r.p.cfg.Name, r.id, safecall.New("source pipeline", v))
		}
	}()
	return r.pollLoop(ctx)
}

// pollLoop polls and sends until ctx is done or the task fails.
func (r *taskRunner) pollLoop(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err := r.failed(); err != nil {
			return err
		}
		if r.recovering.Load() {
			if err := r.redeliver(ctx); err != nil {
				return err
			}
			continue
		}
		if gate := r.p.pauseGate(); gate != nil {
			if r.txn != nil {
				// Kafka Connect's onPause: the open transaction commits.
				if err := r.txnCommit(ctx); err != nil {
					return err
				}
			}
			r.setState(connect.StatePaused)
			r.requestCommit()
			select {
			case <-gate:
				r.setState(connect.StateRunning)
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if r.txn != nil {
			if err := r.txnBeforePoll(ctx); err != nil {
				return err
			}
		}
		if !r.waitForSpace(ctx) {
			return nil
		}
		if r.recovering.Load() {
			continue
		}
		pollStart := time.Now()
		batch, err := r.callPoll(ctx)
		if err != nil && ctx.Err() == nil {
			attempts, rerr := r.taskHandler.RetryFailed(ctx, connect.StageTaskPoll, err, func(ctx context.Context) error {
				var e error
				batch, e = r.callPoll(ctx)
				return e
			})
			if rerr != nil && ctx.Err() == nil {
				return connect.NewRecordError(r.p.cfg.Name, r.id, connect.StageTaskPoll, r.task, nil, attempts, rerr)
			}
		}
		if len(batch) == 0 {
			if r.txn != nil {
				if err := r.txnAfterBatch(ctx, 0); err != nil {
					return err
				}
			}
			continue
		}
		r.recordPoll(pollStart, len(batch))
		r.batchNanos = time.Now().UnixNano()
		r.lastPoll.Store(r.batchNanos)
		r.polled.Add(int64(len(batch)))
		var span trace.Span
		if r.tracer != nil {
			span = r.traceBatch(ctx, pollStart, len(batch))
		}
		err = r.sendBatch(ctx, batch)
		if span != nil {
			span.End()
			r.traceparent, r.traceHdrs = nil, nil
		}
		if err != nil {
			return err
		}
		if r.txn != nil && ctx.Err() == nil && !r.txn.rewound {
			if err := r.txnAfterBatch(ctx, len(batch)); err != nil {
				return err
			}
		}
	}
}

// sendBatch sends a polled batch; it returns nil when stopping, and under
// exactly-once when a failed transaction rewound the task (txn.rewound).
func (r *taskRunner) sendBatch(ctx context.Context, batch []connect.Record) error {
	if r.txn != nil {
		r.txn.rewound = false
	}
	r.seen.Begin(&r.p.topics)
	for i := range batch {
		if r.recovering.Load() {
			// A retriable produce error: the records already sent are
			// re-sent until acknowledged before this batch goes on.
			if err := r.redeliver(ctx); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			// Stopping: the rest of the batch is not sent; its offsets are
			// not committed, so it is polled again after a restart.
			return nil
		}
		if err := r.send(ctx, &batch[i]); err != nil {
			if errors.Is(err, errStopping) {
				return nil
			}
			return err
		}
		if r.txn != nil {
			if r.txn.tctx != nil {
				if err := r.txnAfterRecord(ctx, &batch[i]); err != nil {
					return err
				}
			}
			if r.txn.rewound {
				// A failed transaction restarted the task from its
				// committed offsets: the rest of this batch is polled again.
				return nil
			}
		}
	}
	return nil
}

// waitForSpace blocks while the in-flight bounds are reached. It returns false
// when ctx is done or the task failed.
func (r *taskRunner) waitForSpace(ctx context.Context) bool {
	cfg := &r.p.cfg
	for {
		if r.recovering.Load() {
			return true // the caller redelivers first
		}
		n, b := r.tracker.InFlight()
		n -= int(r.lost.Load())
		if n < cfg.MaxInFlightRecords && b < cfg.MaxInFlightBytes {
			return true
		}
		r.waitingSpace.Store(true)
		// Re-check after announcing, so an ack between the check and the
		// store is not missed.
		if n2, b2 := r.tracker.InFlight(); n2-int(r.lost.Load()) < n || b2 < b {
			r.waitingSpace.Store(false)
			continue
		}
		select {
		case <-r.space:
		case <-ctx.Done():
			r.waitingSpace.Store(false)
			return false
		case <-r.spaceCheck():
			if r.failed() != nil || r.recovering.Load() {
				r.waitingSpace.Store(false)
				return false
			}
		}
		r.waitingSpace.Store(false)
	}
}

// spaceCheckEvery is how often waitForSpace looks for a failure or a
// recovery while it waits.
const spaceCheckEvery = 100 * time.Millisecond

// spaceCheck returns the channel of waitForSpace's timer, (re)armed for
// spaceCheckEvery: one timer for the task's life instead of one per wait
// (time.After). Poll goroutine only.
func (r *taskRunner) spaceCheck() <-chan time.Time {
	if r.spaceTimer == nil {
		r.spaceTimer = time.NewTimer(spaceCheckEvery)
	} else {
		// Since Go 1.23 Reset discards a value the previous arming left
		// unread.
		r.spaceTimer.Reset(spaceCheckEvery)
	}
	return r.spaceTimer.C
}

// send transforms, converts and produces one polled record. Failures go
// through the error handler: retried, then skipped (reported) or fatal.
func (r *taskRunner) send(ctx context.Context, rec *connect.Record) error {
	cfg := &r.p.cfg
	if err := r.checkOffsets(rec); err != nil {
		// Kafka Connect's OffsetUtils.validateFormat: an offset the store
		// cannot hold is refused here, not at every commit.
		skip, ferr := r.handler.Fail(ctx, &errhandler.Failure{Stage: connect.StageTaskPoll, Component: r.task,
			Record: rec, Raw: r.rawOf(ctx, rec), Err: err, Attempts: 1})
		if ferr != nil {
			return ferr
		}
		if skip {
			r.skipWithoutOffset(ctx, rec)
		}
		return nil
	}
	// The chain works on the runner's scratch copy (transforms may modify
	// top-level fields); rec stays as polled, for CommitRecord and reports.
	r.work = *rec
	out := &r.work
	if cfg.Transforms != nil {
		var err error
		out, err = cfg.Transforms.Apply(ctx, &r.work)
		if err != nil {
			var component any = cfg.Transforms
			var ce *transforms.ChainError
			if errors.As(err, &ce) && ce.Component != nil {
				component = ce.Component
			}
			skip, ferr := r.recover(ctx, connect.StageTransformation, component, rec, err, func(ctx context.Context) error {
				r.work = *rec
				var e error
				out, e = cfg.Transforms.Apply(ctx, &r.work)
				return e
			})
			if ferr != nil {
				return ferr
			}
			if skip {
				r.skip(ctx, rec)
				return nil
			}
		}
	}
	if out == nil {
		r.skip(ctx, rec)
		return nil
	}
	if out.Topic == "" {
		return r.errorf(connect.StageKafkaProduce, r.task, rec, errors.New("record has no topic"))
	}
	if r.txn != nil && out.Topic == r.txn.store.Topic() {
		return r.errorf(connect.StageKafkaProduce, r.task, rec,
			fmt.Errorf("topic %s: Source tasks may not produce to their own offsets topics when exactly-once support is enabled", out.Topic))
	}
	hdrs, hsize, err := r.convertHeaders(ctx, out)
	if err != nil {
		skip, ferr := r.recover(ctx, connect.StageHeaderConverter, cfg.HeaderConverter, rec, err, func(ctx context.Context) error {
			var e error
			hdrs, hsize, e = r.convertHeaders(ctx, out)
			return e
		})
		if ferr != nil || skip {
			return r.skipOr(ctx, rec, ferr)
		}
	}
	key, err := cfg.KeyConverter.FromConnect(ctx, out.Topic, &out.Headers, out.KeySchema, out.Key)
	if err != nil {
		skip, ferr := r.recover(ctx, connect.StageKeyConverter, cfg.KeyConverter, rec, err, func(ctx context.Context) error {
			var e error
			key, e = cfg.KeyConverter.FromConnect(ctx, out.Topic, &out.Headers, out.KeySchema, out.Key)
			return e
		})
		if ferr != nil || skip {
			return r.skipOr(ctx, rec, ferr)
		}
	}
	val, err := cfg.ValueConverter.FromConnect(ctx, out.Topic, &out.Headers, out.ValueSchema, out.Value)
	if err != nil {
		skip, ferr := r.recover(ctx, connect.StageValueConverter, cfg.ValueConverter, rec, err, func(ctx context.Context) error {
			var e error
			val, e = cfg.ValueConverter.FromConnect(ctx, out.Topic, &out.Headers, out.ValueSchema, out.Value)
			return e
		})
		if ferr != nil || skip {
			return r.skipOr(ctx, rec, ferr)
		}
	}
	r.handler.Succeeded()
	r.seen.Record(out.Topic) // active topic (KIP-558)
	if err := r.ensureTopic(ctx, out.Topic); err != nil {
		return r.errorf(connect.StageKafkaProduce, r.task, rec, err)
	}
	s := r.getSlot() // zeroed: only the fields set here are not zero
	s.rec, s.explicit, s.seq, s.first, s.r = rec, out.HasPartition, r.seq, r.batchNanos, r
	r.seq++
	s.size = hsize + len(key) + len(val)
	m := &s.msg
	m.Topic = out.Topic
	m.Headers = hdrs
	m.Metadata = s
	if key != nil {
		s.key = key
		m.Key = &s.key
	}
	// The value is encoded by the slot itself (see msgSlot.Encode), also
	// when nil: the fence that keeps order during a redelivery.
	s.val = val
	m.Value = s
	if out.HasPartition {
		m.Partition = out.Partition
	}
	if !out.Timestamp.IsZero() {
		m.Timestamp = out.Timestamp
	}
	if t := r.txn; t != nil {
		if t.commitDone != nil { // the previous transaction is committing
			if err := r.txnJoinIfDone(ctx); err != nil || t.rewound {
				*s = msgSlot{}
				slotPool.Put(s)
				return err // nil after a rewind: the caller stops the batch
			}
			if t.commitDone != nil { // still committing: held until it ends
				s.handle = r.tracker.Submit(rec.SourcePartition, rec.SourceOffset, s.size)
				t.queued = append(t.queued, s)
				t.queuedBytes += int64(s.size)
				return nil
			}
		}
		if err := r.txnBegin(ctx); err != nil || t.rewound {
			*s = msgSlot{}
			slotPool.Put(s)
			return err // nil after a rewind: the caller stops the batch
		}
		t.size++
	}
	s.handle = r.tracker.Submit(rec.SourcePartition, rec.SourceOffset, s.size)
	r.pending.Add(1)
	in := r.producer.Input()
	select {
	case in <- m: // the common case, without a select over two channels
		r.written.Add(1)
		return nil
	default:
	}
	select {
	case in <- m:
		r.written.Add(1)
		return nil
	case <-ctx.Done():
		// Never sent: it stays unacknowledged, so its partition's offset
		// cannot pass it.
		r.pending.Add(-1)
		r.lost.Add(1)
		return errStopping
	}
}

// convertHeaders serialises out's headers with the header converter.
func (r *taskRunner) convertHeaders(ctx context.Context, out *connect.Record) ([]sarama.RecordHeader, int, error) {
	if len(out.Headers) == 0 {
		if r.traceparent == nil {
			return nil, 0, nil
		}
		return r.traceHdrs, len(traceparentKey) + len(r.traceparent), nil
	}
	hc := r.p.cfg.HeaderConverter
	hdrs := make([]sarama.RecordHeader, 0, len(out.Headers)+1)
	size := 0
	if r.traceparent != nil {
		hdrs = append(hdrs, sarama.RecordHeader{Key: traceparentKey, Value: r.traceparent})
		size += len(traceparentKey) + len(r.traceparent)
	}
	for _, h := range out.Headers {
		v, err := hc.FromConnectHeader(ctx, out.Topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("header %q: %w", h.Key, err)
		}
		hdrs = append(hdrs, sarama.RecordHeader{Key: []byte(h.Key), Value: v})
		size += len(h.Key) + len(v)
	}
	return hdrs, size, nil
}

// recover hands a failed stage to the error handler, with the record's bytes
// (serialised by the pipeline's converters, when possible) for the
// dead-letter queue.
func (r *taskRunner) recover(ctx context.Context, stage connect.Stage, component any, rec *connect.Record, first error, op func(context.Context) error) (bool, error) {
	return r.handler.Recover(ctx, stage, component, rec, r.rawOf(ctx, rec), first, op)
}

// rawOf serialises rec as polled with the pipeline's converters, for the
// dead-letter queue; nil when that fails (the queue then gets a JSON
// description of the record).
func (r *taskRunner) rawOf(ctx context.Context, rec *connect.Record) *errhandler.RawRecord {
	if r.p.cfg.Errors.DLQTopic == "" {
		return nil
	}
	cfg := &r.p.cfg
	key, err := cfg.KeyConverter.FromConnect(ctx, rec.Topic, nil, rec.KeySchema, rec.Key)
	if err != nil {
		return nil
	}
	val, err := cfg.ValueConverter.FromConnect(ctx, rec.Topic, nil, rec.ValueSchema, rec.Value)
	if err != nil {
		return nil
	}
	raw := &errhandler.RawRecord{Topic: rec.Topic, Partition: -1, Offset: -1, Key: key, Value: val, Timestamp: rec.Timestamp}
	for _, h := range rec.Headers {
		v, err := cfg.HeaderConverter.FromConnectHeader(ctx, rec.Topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return nil
		}
		raw.Headers = append(raw.Headers, errhandler.RawHeader{Key: h.Key, Value: v})
	}
	return raw
}

// skip finishes a record that was dropped (filtered, or skipped under
// errors.tolerance): it counts as done for offsets.
func (r *taskRunner) skip(ctx context.Context, rec *connect.Record) {
	h := r.tracker.Submit(rec.SourcePartition, rec.SourceOffset, 0)
	r.tracker.Done(h)
	r.dropped.Add(1)
	r.droppedCommitRecord(ctx, rec)
}

// droppedCommitRecord tells a RecordCommitter that rec was dropped: at
// once, or under exactly-once once the transaction covering its offset
// committed.
func (r *taskRunner) droppedCommitRecord(ctx context.Context, rec *connect.Record) {
	if r.committer == nil {
		return
	}
	if r.txn != nil {
		r.txn.addDropped(rec)
		return
	}
	r.commitRecord(ctx, rec, nil)
}

// skipOr skips rec when err is nil, else returns err.
// skipWithoutOffset finishes a record skipped under errors.tolerance whose
// source partition or offset cannot be stored: it counts as dropped, and
// its partition's committed offset neither moves to it nor waits for it.
func (r *taskRunner) skipWithoutOffset(ctx context.Context, rec *connect.Record) {
	h := r.tracker.Submit(nil, nil, 0)
	r.tracker.Done(h)
	r.dropped.Add(1)
	r.droppedCommitRecord(ctx, rec)
}

func (r *taskRunner) skipOr(ctx context.Context, rec *connect.Record, err error) error {
	if err != nil {
		return err
	}
	r.skip(ctx, rec)
	return nil
}

// ensureTopic makes sure topic exists before its first record when topic
// creation (KIP-158) is configured. As Kafka Connect's WorkerSourceTask, it
// describes the topic first and creates it only when it is missing, so a
// principal without CREATE permission works with existing topics. A
// retriable failure (broker away) is retried with the producer's backoff
// until ctx is done; the task shows it as its stall error meanwhile.
func (r *taskRunner) ensureTopic(ctx context.Context, topic string) error {
	tc := r.p.cfg.TopicCreation
	if tc == nil || topic == r.lastTop || r.created[topic] {
		r.lastTop = topic
		return nil
	}
	backoff := r.delivery.backoff
	stalled := false
	for {
		err := r.createTopicIfMissing(topic, tc)
		if err == nil || !kafkaconf.Retriable(err) {
			if stalled {
				r.clearStall()
			}
			if err != nil {
				return err
			}
			break
		}
		stalled = true
		r.setStall(fmt.Errorf("connector %q task %d: stage %s: %w", r.p.cfg.Name, r.id, connect.StageKafkaProduce, err))
		r.log.Warn("topic creation failed with a retriable error; retrying", "topic", topic, "error", err, "delay", backoff)
		if !errhandler.Sleep(ctx, backoff) {
			return fmt.Errorf("topic %s: %w", topic, errStopping)
		}
		backoff = r.delivery.next(backoff)
	}
	r.created[topic] = true
	r.lastTop = topic
	return nil
}

// createTopicIfMissing describes topic and creates it when the broker says
// it does not exist.
func (r *taskRunner) createTopicIfMissing(topic string, tc *TopicCreation) error {
	meta, err := r.admin.DescribeTopics([]string{topic})
	if err != nil {
		return fmt.Errorf("describing topic %s (topic.creation.default.*): %w", topic, err)
	}
	for _, m := range meta {
		if m.Name != topic {
			continue
		}
		switch {
		case m.Err == sarama.ErrNoError:
			return nil // exists: nothing to create
		case m.Err == sarama.ErrUnknownTopicOrPartition:
			// missing: create it below
		default:
			return fmt.Errorf("describing topic %s (topic.creation.default.*): %w", topic, m.Err)
		}
	}
	detail := &sarama.TopicDetail{NumPartitions: tc.Partitions, ReplicationFactor: tc.ReplicationFactor}
	if len(tc.Configs) > 0 {
		detail.ConfigEntries = make(map[string]*string, len(tc.Configs))
		for k, v := range tc.Configs {
			detail.ConfigEntries[k] = &v
		}
	}
	err = r.admin.CreateTopic(topic, detail, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %s (topic.creation.default.*): %w", topic, err)
	}
	if err == nil {
		r.log.Info("created topic", "topic", topic, "partitions", tc.Partitions, "replication.factor", tc.ReplicationFactor)
	}
	return nil
}

func (r *taskRunner) commitRecord(ctx context.Context, rec *connect.Record, meta *RecordMetadata) {
	if r.committer == nil {
		return
	}
	if err := r.callCommitRecord(ctx, rec, meta); err != nil {
		var pe *safecall.PanicError
		if errors.As(err, &pe) {
			r.fail(fmt.Errorf("connector %q task %d: CommitRecord: %w", r.p.cfg.Name, r.id, err))
			return
		}
		r.log.Warn("CommitRecord failed", "error", err)
	}
}

// ackClockEvery bounds how many acknowledgements may share one reading of
// the clock for the last-ack time.
const ackClockEvery = 256

// ackRunMax bounds the acknowledgements the ack loop takes from the
// producer's successes in one run, doing their bookkeeping together (one
// tracker lock, one update of each counter) instead of once per record.
const ackRunMax = 64

// ackState is the ack loop's own counting between runs.
type ackState struct {
	sinceRecords, sinceClock int
	sinceBytes               int64
	handles                  [ackRunMax]offsettrack.Handle
	slots                    [ackRunMax]*msgSlot
}

// ackLoop drains producer's successes and errors until both close. A
// retriable error keeps the record for redelivery (see redeliver) instead of
// failing it; other errors go through errors.tolerance.
func (r *taskRunner) ackLoop(ctx context.Context, producer sarama.AsyncProducer) {
	cfg := &r.p.cfg
	successes, errs := producer.Successes(), producer.Errors()
	st := new(ackState)
	for successes != nil || errs != nil {
		select {
		case m, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			r.ackRun(ctx, m, successes, st)
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if pe.Msg.Metadata == any(offsetMsg) {
				r.txn.setErr(fmt.Errorf("connector %q task %d: stage %s: writing offsets to topic %s partition %d in the transaction: %w",
					cfg.Name, r.id, connect.StageOffsetCommit, pe.Msg.Topic, pe.Msg.Partition, kafkaText(pe.Err)))
				r.resolved()
				continue
			}
			s := pe.Msg.Metadata.(*msgSlot)
			switch {
			case r.txn != nil:
				// The transaction is doomed: it aborts at its boundary. The
				// slot is not reused (the tracker holds its handle until the
				// rewind resets it).
				r.txn.setErr(r.errorf(connect.StageKafkaProduce, producer, s.rec, fmt.Errorf("producing to topic %s: %w", pe.Msg.Topic, kafkaText(pe.Err))))
			case kafkaconf.Retriable(pe.Err) || errors.Is(pe.Err, errFenced):
				r.keepForRetry(producer, s, pe.Err)
			case errors.Is(pe.Err, sarama.ErrMessageSizeTooLarge) && !s.alone:
				// The broker refuses a whole batch for one record too
				// large: the batch's other records are not at fault. As
				// Kafka's producer splits such a batch, each is re-sent
				// alone; only a record refused alone is a record failure.
				s.tooLarge = true
				r.keepForRetry(producer, s, pe.Err)
			default:
				r.produceFailed(ctx, producer, s, fmt.Errorf("producing to topic %s: %w", pe.Msg.Topic, pe.Err))
			}
			r.resolved()
		}
		if r.waitingSpace.Load() {
			select {
			case r.space <- struct{}{}:
			default:
			}
		}
	}
}

// ackRun handles the acknowledgement m and those already queued behind it
// in successes (up to ackRunMax): in their order, every record is handed to
// CommitRecord, then the run is done in the tracker (one lock) and counted
// acknowledged, and its slots are released; the counters, the last-ack time
// and the commit watermark are updated once for the run.
func (r *taskRunner) ackRun(ctx context.Context, m *sarama.ProducerMessage, successes <-chan *sarama.ProducerMessage, st *ackState) {
	cfg := &r.p.cfg
	n, resolved := 0, 0
	for {
		resolved++
		if m.Metadata != any(offsetMsg) {
			s := m.Metadata.(*msgSlot)
			st.slots[n], st.handles[n] = s, s.handle
			n++
		}
		if n == ackRunMax || len(successes) == 0 {
			break
		}
		// Queued and read by this goroutine alone: does not block. (A
		// closed channel has length 0.)
		m = <-successes
	}
	if n > 0 {
		// CommitRecord before the records count as done for offsets, as
		// Kafka Connect's producer callback does (commitTaskRecord, then
		// ack): an offset flush never covers a record whose CommitRecord
		// has not been called yet.
		for _, s := range st.slots[:n] {
			if r.committer != nil {
				meta := RecordMetadata{Topic: s.msg.Topic, Partition: s.msg.Partition, Offset: s.msg.Offset, Timestamp: s.msg.Timestamp}
				if r.txn != nil {
					r.txn.addAcked(s.rec, meta) // called once the transaction committed
				} else {
					r.commitRecord(ctx, s.rec, &meta)
				}
			}
			st.sinceBytes += int64(s.size)
		}
		r.tracker.DoneBatch(st.handles[:n])
		r.acked.Add(int64(n))
		if r.retryStall.Load() {
			r.clearRetryStall()
		}
		// The last-ack time (status, stall detection) is read from the
		// clock when the acknowledgements pause and at least every
		// ackClockEvery of them, not for each one.
		if st.sinceClock += n; st.sinceClock >= ackClockEvery || len(successes) == 0 {
			st.sinceClock = 0
			r.lastAck.Store(time.Now().UnixNano())
		}
		r.putSlots(st.slots[:n])
		clear(st.slots[:n])
		st.sinceRecords += n
		clear(st.handles[:n])
	}
	r.resolvedN(int64(resolved))
	if r.txn == nil && ((cfg.CommitEveryRecords > 0 && st.sinceRecords >= cfg.CommitEveryRecords) || (cfg.CommitEveryBytes > 0 && st.sinceBytes >= cfg.CommitEveryBytes)) {
		st.sinceRecords, st.sinceBytes = 0, 0
		r.requestCommit()
	}
}

// resolved counts one message handed back by the producer, and wakes a
// transaction waiting for the last one.
func (r *taskRunner) resolved() { r.resolvedN(1) }

// resolvedN counts n messages handed back by the producer, and wakes a
// transaction waiting for the last one.
func (r *taskRunner) resolvedN(n int64) {
	if r.pending.Add(-n) == 0 && r.waitingIdle.Load() {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
}

// produceFailed hands a record whose produce failed for good to the error
// handler: tolerated, it is reported and counts as done for offsets;
// otherwise the task fails and the record stays unacknowledged, so no offset
// at or past it is committed.
func (r *taskRunner) produceFailed(ctx context.Context, producer any, s *msgSlot, err error) {
	raw := &errhandler.RawRecord{Topic: s.msg.Topic, Partition: -1, Offset: -1, Key: s.key, Value: s.val, Timestamp: s.msg.Timestamp}
	for _, h := range s.msg.Headers {
		raw.Headers = append(raw.Headers, errhandler.RawHeader{Key: string(h.Key), Value: h.Value})
	}
	skip, ferr := r.handler.Fail(ctx, &errhandler.Failure{Stage: connect.StageKafkaProduce, Component: producer,
		Record: s.rec, Raw: raw, Err: err, Attempts: 1 + s.resends})
	if skip {
		r.commitRecord(ctx, s.rec, nil)
		r.tracker.Done(s.handle)
		r.dropped.Add(1)
		return
	}
	r.fail(ferr)
	r.lost.Add(1)
	// The slot is not reused: its record stays unacknowledged.
}

// commitLoop commits periodically and on request until stop is closed.
func (r *taskRunner) commitLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(r.p.cfg.OffsetFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-r.commitReq:
		}
		r.commit(ctx)
	}
}

// commit writes the committable offsets and calls the task's Commit hook.
func (r *taskRunner) commit(ctx context.Context) {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	cfg := &r.p.cfg
	snap := r.tracker.Committable()
	if r.tracer != nil {
		var span trace.Span
		ctx, span = r.tracer.Start(ctx, "sluice.source.commit",
			trace.WithAttributes(attribute.String("connector", cfg.Name), attribute.Int("task", r.id), attribute.Int("partitions", len(snap.Entries))))
		defer span.End()
	}
	if len(snap.Entries) > 0 {
		start := time.Now()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.OffsetFlushTimeout)
		err := cfg.OffsetStore.Write(wctx, cfg.Name, snap.Entries)
		cancel()
		r.recordCommit(start)
		if err != nil {
			r.commitFailures.Add(1)
			r.log.Error("offset commit failed; offsets are kept for the next attempt", "stage", connect.StageOffsetCommit, "error", err)
			now := time.Now()
			if r.commitFailSince.IsZero() {
				r.commitFailSince = now
			} else if bound := cfg.OffsetCommitFailureTimeout; bound > 0 && now.Sub(r.commitFailSince) >= bound {
				r.fail(fmt.Errorf("connector %q task %d: stage %s: offset commits have failed for %s (more than sluice.offset.commit.failure.timeout.ms=%d): %w",
					cfg.Name, r.id, connect.StageOffsetCommit, now.Sub(r.commitFailSince).Round(time.Millisecond), bound.Milliseconds(), err))
			}
			return
		}
	}
	r.commitFailSince = time.Time{}
	r.tracker.MarkCommitted(snap)
	r.commits.Add(1)
	r.lastCommitNano.Store(time.Now().UnixNano())
	if c, ok := r.task.(Committer); ok {
		if err := r.callCommit(ctx, c); err != nil {
			var pe *safecall.PanicError
			if errors.As(err, &pe) {
				r.fail(fmt.Errorf("connector %q task %d: stage %s: %w", cfg.Name, r.id, connect.StageTaskCommit, err))
				return
			}
			r.log.Warn("task Commit failed", "stage", connect.StageTaskCommit, "error", err)
		}
	}
}

// drain waits up to timeout for every message handed to the producer to be
// resolved (acknowledged, or failed). Records kept for redelivery are not
// waited for: they stay uncommitted and are polled again after a restart.
func (r *taskRunner) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		n := r.pending.Load()
		if n <= 0 {
			return
		}
		if time.Now().After(deadline) {
			r.log.Warn("graceful stop timed out waiting for acknowledgements; unacknowledged records will be replayed after restart", "in_flight", n)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *taskRunner) status() connect.TaskStatus {
	n, b := r.tracker.InFlight()
	stallSince, stallErr := r.stall()
	st := connect.TaskStatus{
		ID:                   r.id,
		State:                r.state.Load().(connect.State),
		Err:                  r.failed(),
		RecordsIn:            r.polled.Load(),
		RecordsWritten:       r.written.Load(),
		RecordsOut:           r.acked.Load(),
		RecordsDropped:       r.dropped.Load(),
		InFlight:             int64(n),
		InFlightBytes:        b,
		Lag:                  -1,
		OffsetCommits:        r.commits.Load(),
		OffsetCommitFailures: r.commitFailures.Load(),
		Started:              unixTime(r.started.Load()),
		LastPoll:             unixTime(r.lastPoll.Load()),
		LastProgress:         unixTime(r.lastAck.Load()),
		LastCommit:           unixTime(r.lastCommitNano.Load()),
		Restarts:             r.restarts,
		LastFailure:          r.lastFailure,
		RecordsRetrying:      r.kept.Load(),
		StallError:           stallErr,
		StalledSince:         stallSince,
		Errors:               r.errStats.Snapshot(),
	}
	r.meters.Fill(time.Now(), &st)
	if c := r.taskName.Load(); c != nil {
		st.TaskClass, st.TaskVersion = c.class, c.version
	}
	r.p.plugins.Fill(&st)
	r.txnPub.Load().status(&st)
	return st
}

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// taskIdent is a task's class and version, stored together in one atomic so
// that a status read never sees one without the other.
type taskIdent struct{ class, version string }
