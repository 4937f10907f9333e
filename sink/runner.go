package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kfetch"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/internal/topicset"
	"github.com/sluicehq/sluice/internal/winstat"
)

// taskRunner runs one task: a consumer group member (sarama's goroutines and
// one claim goroutine per assigned partition, which fetch into a bounded
// buffer) and the task goroutine (work), the only one that calls the task.
type taskRunner struct {
	p      *Pipeline
	id     int
	config map[string]string
	log    *slog.Logger
	// seen records the topics of the records the task takes (convert).
	seen topicset.Recorder

	task          Task
	taskCtx       context.Context
	client        sarama.Client
	fetcher       *kfetch.Fetcher
	group         sarama.ConsumerGroup
	topicsRE      *regexp.Regexp
	initialOffset int64

	// The errors.* policy: set before the task starts, never changed.
	handler *errhandler.Handler
	// putHandler retries whole batches after a retriable Put error:
	// errors.retry.delay.max.ms's backoff, bounded by TaskRetryTimeout.
	putHandler *errhandler.Handler
	dlq        *errhandler.DLQ
	errStats   errhandler.Metrics
	// reportGate is held shared by every TaskContext.Report while it
	// reports; a commit takes it exclusively (and releases it at once)
	// before PreCommit, so that every report started before is durable
	// before the offsets covering its record are committed.
	reportGate sync.RWMutex

	// Set by supervise before the runner is published; read-only after.
	restarts    int
	lastFailure error

	ctl           chan ctlMsg
	notify        chan struct{} // cap 1: records were buffered, or the task failed
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

	// Timestamp types (see requestTimestampType): under tsMu, tsAsked
	// holds a channel per topic asked for (closed once answered; dropped
	// after a failed lookup), tsQueue the topics awaiting timestampTypeLoop
	// (woken through tsWake), tsStopped that the loop returned,
	// tsDeniedLogged that an authorization failure was logged.
	// logAppendTopics holds the topics with LogAppendTime, replaced (never
	// modified) under tsMu and read by the task goroutine once per batch.
	// tsAdmin asks the brokers through client (never closed: closing it
	// would close client); used by timestampTypeLoop only.
	tsMu            sync.Mutex
	tsAsked         map[string]chan struct{}
	tsQueue         []string
	tsWake          chan struct{}
	tsStopped       bool
	tsDeniedLogged  bool
	tsAdmin         sarama.ClusterAdmin
	logAppendTopics atomic.Pointer[[]string]

	// Owned by the task goroutine.
	stopping bool
	raw      []kfetch.Msg // taken, not yet converted
	rawSince time.Time
	retry    *putRetry       // the redelivery of the pending batch in progress, if any
	hdrMemo  []headerMemo    // per header position, the last reusable conversion (convertHeaders)
	hdrChunk connect.Headers // the rest of the current chunk of record headers (headerSlice)
	// memoHeaders: the header converter is the SimpleHeaderConverter, whose
	// conversions convertHeaders may reuse through hdrMemo.
	memoHeaders bool
	// convReadsHeaders: the key or the value converter may read the raw
	// headers it is given (converters.ReadsHeaders), so convertOne builds
	// them; decided once, when the task runner is made.
	convReadsHeaders bool
	// keyBytes, valueBytes: the key (value) converter is the
	// ByteArrayConverter, whose conversion convertOne does itself without
	// copying (ownedBytes); decided once, when the task runner is made.
	keyBytes, valueBytes bool
	// scratch is the copy of a converted record the transforms get
	// (convertOne); convert copies their result out before the next record.
	scratch connect.Record

	// The converted batch awaiting (re)delivery: written by the task
	// goroutine under batchMu (Report reads pendingMsgs from any
	// goroutine); the task goroutine reads without it.
	batchMu     sync.Mutex
	pending     []connect.Record
	tracer      trace.Tracer   // nil: tracing off
	pendingMsgs []kfetch.Msg   // pendingMsgs[i] is the consumed record pending[i] came from
	pendingIdx  map[msgKey]int // built by Report on demand
	pendingOff  []batchRange   // the offsets pending covers
	hasPending  bool
	msgBuf      []kfetch.Msg // reused backing array of pendingMsgs

	failMu  sync.Mutex
	failure error

	state                               atomic.Value              // connect.State; set with setState
	meters                              winstat.Task              // Kafka Connect's windowed task metrics
	taskName                            atomic.Pointer[taskIdent] // the task's class and version, set once NewTask returned
	commitSeq                           atomic.Int64              // offset commit attempts (offset-commit-seq-no)
	commitStart                         time.Time                 // when the commit in progress began; task goroutine only
	read, put, filtered, skipped        atomic.Int64
	committedRecs, batched              atomic.Int64
	putRetries, commits, commitFailures atomic.Int64
	commitSkips, commitRetries          atomic.Int64
	commitErr                           atomic.Pointer[error] // the last commit's failure; nil after a success
	// noFinalCommit: the task failed on an errant record it reported under
	// errors.tolerance=none, which may lie below the processed position:
	// no commit is made any more (not even one that waited for that
	// report), and the partitions are closed without the final commit.
	noFinalCommit                    atomic.Bool
	lastPut, lastCommitNano, rebal   atomic.Int64
	started, lastFetch, lastProgress atomic.Int64
}

// batchRange is the part of a batch that came from one partition.
type batchRange struct {
	tp          connect.TopicPartition
	first, next int64
}

// msgKey locates a consumed record.
type msgKey struct {
	topic     string
	partition int32
	offset    int64
}

func newTaskRunner(p *Pipeline, id int, config map[string]string) *taskRunner {
	r := &taskRunner{
		p: p, id: id, config: config, log: p.logger(id),
		topicsRE:    mustTopicsPattern(p.cfg.TopicsRegex),
		ctl:         make(chan ctlMsg),
		notify:      make(chan struct{}, 1),
		commitReq:   make(chan struct{}, 1),
		tsWake:      make(chan struct{}, 1),
		consumeDone: make(chan struct{}),
		parts:       map[connect.TopicPartition]*part{},
	}
	r.setState(connect.StateUnassigned)
	_, r.memoHeaders = p.cfg.HeaderConverter.(*converters.SimpleHeader)
	r.convReadsHeaders = converters.ReadsHeaders(p.cfg.KeyConverter) || converters.ReadsHeaders(p.cfg.ValueConverter)
	_, r.keyBytes = p.cfg.KeyConverter.(*converters.ByteArray)
	_, r.valueBytes = p.cfg.ValueConverter.(*converters.ByteArray)
	if tp := p.cfg.TracerProvider; tp != nil {
		r.tracer = tp.Tracer("github.com/sluicehq/sluice/sink")
	}
	return r
}

// setState sets the task's state and records the change for the
// running-ratio and pause-ratio metrics.
func (r *taskRunner) setState(st connect.State) {
	r.state.Store(st)
	r.meters.SetState(time.Now(), st)
}

// recordPut records a Put of the pending batch begun at start: its time,
// its size and the records in flight (put-batch-*-time-ms, batch-size-*,
// sink-record-active-count-*). Once per Put; no allocation.
func (r *taskRunner) recordPut(start time.Time) {
	now := time.Now()
	r.meters.BatchTime.Record(now, winstat.Millis(now.Sub(start)))
	r.meters.BatchSize.Record(now, float64(len(r.pending)))
	r.mu.Lock()
	active := int64(r.bufRecords)
	r.mu.Unlock()
	r.meters.Active.Record(now, float64(active+r.batched.Load()))
}

func (r *taskRunner) requestCommit() {
	select {
	case r.commitReq <- struct{}{}:
	default:
	}
}

func (r *taskRunner) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// fail records the task's failure (the first one wins) and wakes the task
// goroutine, which then stops the task.
func (r *taskRunner) fail(err error) {
	r.failMu.Lock()
	if r.failure == nil {
		r.failure = err
	}
	r.failMu.Unlock()
	r.wake()
}

func (r *taskRunner) failed() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.failure
}

func (r *taskRunner) errorf(stage connect.Stage, component any, rec *connect.Record, attempts int, err error) error {
	return connect.NewRecordError(r.p.cfg.Name, r.id, stage, component, rec, attempts, err)
}

// run executes the task's whole life and returns its failure, if any.
func (r *taskRunner) run(ctx context.Context) (err error) {
	cfg := &r.p.cfg
	if err := safecall.Call("NewTask", func() error {
		r.task = cfg.NewTask()
		if r.task == nil {
			return errors.New("NewTask returned nil")
		}
		class, version := connect.ClassName(r.task), connect.VersionOf(r.task)
		r.taskName.Store(&taskIdent{class, version})
		return nil
	}); err != nil {
		r.task = nil
		err = fmt.Errorf("connector %q task %d: creating the task: %w", cfg.Name, r.id, err)
		r.fail(err)
		r.setState(connect.StateFailed)
		r.log.Error("task failed", "error", err)
		return err
	}
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
		if serr := safecall.Call("Stop", func() error { return r.task.Stop(stopCtx) }); serr != nil {
			if isPanic(serr) && err == nil {
				err = fmt.Errorf("connector %q task %d: stop: %w", cfg.Name, r.id, serr)
			} else {
				r.log.Warn("task stop failed", "error", serr)
			}
		}
		cancel()
		// The dead-letter queue outlives Stop: a task may report until
		// then.
		if r.dlq != nil {
			if cerr := r.dlq.Close(); cerr != nil {
				r.log.Warn("closing the dead-letter queue producer failed", "error", cerr)
			}
		}
		close(exited)
		watch.Wait()
		if err != nil {
			r.failMu.Lock()
			if r.failure == nil {
				r.failure = err // for the status: a failure to start, or Stop's panic
			}
			r.failMu.Unlock()
			r.setState(connect.StateFailed)
			r.log.Error("task failed", "error", err)
		} else {
			r.setState(connect.StateStopped)
		}
	}()

	dataCfg, groupCfg, unmapped, err := r.p.consumerConfig(r.id)
	if err != nil {
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	r.initialOffset = dataCfg.Consumer.Offsets.Initial
	if r.id == 0 {
		for _, k := range unmapped {
			r.log.Warn("consumer property has no mapping in Sluice and is ignored", "key", k)
		}
	}
	if err := r.setupErrors(ctx, dataCfg); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("connector %q task %d: %w", cfg.Name, r.id, err)
	}
	if err := safecall.Call("Start", func() error { return r.task.Start(taskCtx, taskContext{r}) }); err != nil {
		return fmt.Errorf("connector %q task %d: start: %w", cfg.Name, r.id, err)
	}
	r.client, err = sarama.NewClient(cfg.Brokers, dataCfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: creating consumer client: %w", cfg.Name, r.id, err)
	}
	defer r.client.Close()
	// The fetcher has connections of its own, as the Java consumer gives
	// its group coordinator a connection apart from the fetches: a broker
	// answers one connection's requests in order, so an offset commit (or
	// a watermark read) sent behind a fetch that long-polls an idle
	// partition would wait fetch.max.wait.ms for it.
	fetchClient, err := sarama.NewClient(cfg.Brokers, dataCfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: creating consumer client: %w", cfg.Name, r.id, err)
	}
	defer fetchClient.Close()
	r.fetcher = kfetch.New(fetchClient, r.log)
	defer r.fetcher.Close()
	// The group member has a client of its own (groupCfg's long read
	// timeout lets a JoinGroup wait for the group's rebalance) whose
	// connections a stop can cut to end a join the coordinator holds
	// (breakHeldJoin).
	cutter := newConnCutter(groupCfg)
	groupClient, err := sarama.NewClient(cfg.Brokers, groupCfg)
	if err != nil {
		return fmt.Errorf("connector %q task %d: joining consumer group %s: %w", cfg.Name, r.id, cfg.GroupID, err)
	}
	defer groupClient.Close()
	r.group, err = sarama.NewConsumerGroupFromClient(cfg.GroupID, groupClient)
	if err != nil {
		return fmt.Errorf("connector %q task %d: joining consumer group %s: %w", cfg.Name, r.id, cfg.GroupID, err)
	}
	r.setState(connect.StateRunning)
	r.started.Store(time.Now().UnixNano())

	consumeCtx, cancelConsume := context.WithCancel(context.WithoutCancel(ctx))
	r.cancelConsume = cancelConsume
	var wg sync.WaitGroup
	wg.Go(func() { r.consumeLoop(consumeCtx) })
	wg.Go(func() {
		for e := range r.group.Errors() {
			r.log.Warn("consumer group error", "error", e)
		}
	})
	wg.Go(func() { r.watermarkLoop(consumeCtx) })
	wg.Go(func() { r.timestampTypeLoop(consumeCtx) })
	wg.Go(func() { r.breakHeldJoin(consumeCtx, cutter) })

	// A panic on the task goroutine outside the guarded task calls (a
	// converter, a transform) fails the task too; the loop then only
	// closes the partitions.
	for !r.workGuarded(ctx) {
	}

	cancelConsume()
	if cerr := r.group.Close(); cerr != nil {
		r.log.Warn("closing the consumer group member failed", "error", cerr)
	}
	wg.Wait()
	return r.failed()
}

// breakHeldJoin ends a JoinGroup that holds a stopping task. sarama's
// Consume (and Close) wait for a join in progress, which the coordinator may
// hold for up to the rebalance timeout (max.poll.interval.ms, 5 minutes by
// default) while it waits for a member that died. Once consumption is
// cancelled (consumeCtx done), if the consume loop has not returned within
// the shutdown timeout, the member's connections are cut: that ends the join
// at once, and the group drops the member when its session times out, as
// after a crash. Nothing is lost: offsets were committed before, or are not.
func (r *taskRunner) breakHeldJoin(consumeCtx context.Context, cutter *connCutter) {
	select {
	case <-r.consumeDone:
		return
	case <-consumeCtx.Done():
	}
	t := time.NewTimer(r.p.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-r.consumeDone:
	case <-t.C:
		r.log.Warn("stopping is held by a consumer group join in progress; closing the member's connections",
			"group", r.p.cfg.GroupID)
		cutter.cutAll()
	}
}

// workGuarded runs work, turning a panic into the task's failure; it
// reports whether work returned normally.
func (r *taskRunner) workGuarded(ctx context.Context) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			r.fail(fmt.Errorf("connector %q task %d: %w", r.p.cfg.Name, r.id, safecall.New("sink pipeline", v)))
		}
	}()
	r.work(ctx)
	return true
}

// watermarkRefresh is how often the high watermarks of assigned partitions
// are read when no fetch brought them, so lag stays true while partitions
// are paused (by backpressure, the task or the connector) or idle.
const watermarkRefresh = time.Second

// watermarkLoop refreshes the high watermark of every assigned partition
// whose fetches have not reported one for watermarkRefresh, until ctx ends.
func (r *taskRunner) watermarkLoop(ctx context.Context) {
	t := time.NewTicker(watermarkRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		parts := make([]*part, 0, len(r.parts))
		for _, p := range r.parts {
			if !p.gone && time.Since(unixTime(p.hwmAt.Load())) >= watermarkRefresh {
				parts = append(parts, p)
			}
		}
		r.mu.Unlock()
		for _, p := range parts {
			if off, err := r.client.GetOffset(p.tp.Topic, p.tp.Partition, sarama.OffsetNewest); err == nil {
				p.hwm.Store(off)
				p.hwmAt.Store(time.Now().UnixNano())
			}
		}
	}
}

// setupErrors builds the task's error handler with its reporters: the error
// log (errors.log.enable) and the dead-letter queue
// (errors.deadletterqueue.topic.name), whose topic is created if missing
// (one partition; the replication factor is capped to the cluster size).
func (r *taskRunner) setupErrors(ctx context.Context, base *sarama.Config) error {
	cfg := &r.p.cfg
	var reporters []errhandler.Reporter
	if cfg.Errors.LogEnable {
		reporters = append(reporters, &errhandler.LogReporter{Logger: cfg.Logger, IncludeMessages: cfg.Errors.LogIncludeMessages, Metrics: &r.errStats})
	}
	if cfg.Errors.DLQTopic != "" {
		pcfg, acfg, err := r.p.dlqConfigs(r.id, base)
		if err != nil {
			return fmt.Errorf("connector %q task %d: dead-letter queue: %w", cfg.Name, r.id, err)
		}
		dlq, err := errhandler.NewDLQ(ctx, errhandler.DLQConfig{
			Brokers: cfg.Brokers, Topic: cfg.Errors.DLQTopic, ReplicationFactor: cfg.Errors.DLQReplicationFactor,
			ContextHeaders: cfg.Errors.DLQContextHeaders, Sarama: pcfg, Admin: acfg, Metrics: &r.errStats, Logger: r.log,
			ClientID: fmt.Sprintf("connector-dlq-producer-%s-%d", cfg.Name, r.id),
		})
		if err != nil {
			return err
		}
		r.dlq = dlq
		reporters = append(reporters, dlq)
	}
	r.handler = errhandler.New(cfg.Errors, cfg.Name, r.id, errhandler.WithReporters(reporters...),
		errhandler.WithMetrics(&r.errStats), errhandler.WithLogger(cfg.Logger))
	putErrs := cfg.Errors
	putErrs.RetryTimeout = max(cfg.TaskRetryTimeout, -1) // 0 and -1: without limit
	r.putHandler = errhandler.New(putErrs, cfg.Name, r.id,
		errhandler.WithMetrics(&r.errStats), errhandler.WithLogger(cfg.Logger))
	return nil
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
			r.setState(connect.StatePaused)
			select {
			case <-gate:
				r.setState(connect.StateRunning)
			case m := <-r.ctl:
				r.handleCtl(m)
			case <-ctx.Done():
			case <-r.notify:
			case <-commitT.C:
				r.commit(nil, false)
			case <-r.commitReq:
				r.commit(nil, false)
			}
			continue
		}

		wait := time.Duration(-1)
		var attemptC <-chan chan<- error
		var retryDone <-chan retryResult
		switch {
		case r.retry != nil:
			// Redelivering: the retry driver asks for each attempt after
			// its backoff; meanwhile partitions are opened, closed and
			// committed as usual.
			attemptC, retryDone = r.retry.attempt, r.retry.done
		case r.hasPending:
			r.deliver()
			continue
		default:
			had := len(r.raw)
			r.raw = r.take(r.raw, cfg.BatchSize-len(r.raw))
			if len(r.raw) > 0 {
				if had == 0 {
					r.rawSince = time.Now()
				}
				r.batched.Store(int64(len(r.raw)))
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
		case reply := <-attemptC:
			r.redeliver(reply)
		case res := <-retryDone:
			r.retry = nil
			r.putDone(res.err, res.attempts, true)
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

// dropPending discards the batch being built, put or redelivered.
func (r *taskRunner) dropPending() {
	r.stopRetry()
	clear(r.raw)
	r.raw = r.raw[:0]
	r.clearPending()
}

// setPending makes recs (converted from msgs, covering ranges) the batch to
// deliver.
func (r *taskRunner) setPending(recs []connect.Record, msgs []kfetch.Msg, ranges []batchRange) {
	r.batchMu.Lock()
	r.pending, r.pendingMsgs, r.pendingOff, r.pendingIdx, r.hasPending = recs, msgs, ranges, nil, true
	r.batchMu.Unlock()
	r.batched.Store(int64(len(recs)))
}

// clearPending forgets the batch (delivered or dropped).
func (r *taskRunner) clearPending() {
	r.batchMu.Lock()
	if r.pendingMsgs != nil {
		clear(r.pendingMsgs)
		r.msgBuf = r.pendingMsgs[:0]
	}
	r.pending, r.pendingMsgs, r.pendingOff, r.pendingIdx, r.hasPending = nil, nil, nil, nil, false
	r.batchMu.Unlock()
	r.batched.Store(int64(len(r.raw)))
}

// dropFrom removes tp's records from the batch being built or retried.
func (r *taskRunner) dropFrom(tp connect.TopicPartition) {
	if len(r.raw) > 0 {
		r.raw = slices.DeleteFunc(r.raw, func(m kfetch.Msg) bool {
			return m.Topic() == tp.Topic && m.Partition() == tp.Partition
		})
	}
	if !r.hasPending || !slices.ContainsFunc(r.pendingOff, func(b batchRange) bool { return b.tp == tp }) {
		r.batched.Store(int64(len(r.raw) + len(r.pending)))
		return
	}
	r.batchMu.Lock()
	j := 0
	for i, m := range r.pendingMsgs {
		if m.Topic() == tp.Topic && m.Partition() == tp.Partition {
			continue
		}
		r.pending[j], r.pendingMsgs[j] = r.pending[i], m
		j++
	}
	clear(r.pending[j:])
	clear(r.pendingMsgs[j:])
	r.pending, r.pendingMsgs = r.pending[:j], r.pendingMsgs[:j]
	r.pendingOff = slices.DeleteFunc(r.pendingOff, func(b batchRange) bool { return b.tp == tp })
	r.pendingIdx = nil
	empty := len(r.pendingOff) == 0
	r.batchMu.Unlock()
	if empty {
		r.stopRetry()
		r.clearPending()
		return
	}
	r.batched.Store(int64(len(r.raw) + len(r.pending)))
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
		if err := safecall.Call("Open", func() error { return o.Open(r.taskCtx, tpsOf(ps)) }); err != nil {
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
			// Also after a failure of the task (Kafka Connect's
			// closeAllPartitions): what it put before failing is
			// committed, so a restart does not replay it.
			if !r.cancelled.Load() && !r.noFinalCommit.Load() {
				r.commit(open, true)
			}
		}
		if c, ok := r.task.(PartitionCloser); ok {
			if err := safecall.Call("Close", func() error { return c.Close(r.taskCtx, tpsOf(open)) }); err != nil && !r.cancelled.Load() {
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

func (r *taskRunner) status() connect.TaskStatus {
	ts := connect.TaskStatus{
		ID:                   r.id,
		State:                r.state.Load().(connect.State),
		Err:                  r.failed(),
		RecordsIn:            r.read.Load(),
		RecordsOut:           r.put.Load(),
		RecordsFiltered:      r.filtered.Load(),
		RecordsSkipped:       r.skipped.Load(),
		RecordsCommitted:     r.committedRecs.Load(),
		Batched:              r.batched.Load(),
		PutRetries:           r.putRetries.Load(),
		OffsetCommits:        r.commits.Load(),
		OffsetCommitFailures: r.commitFailures.Load(),
		OffsetCommitSkips:    r.commitSkips.Load(),
		OffsetCommitRetries:  r.commitRetries.Load(),
		Started:              unixTime(r.started.Load()),
		LastPoll:             unixTime(r.lastFetch.Load()),
		LastPut:              unixTime(r.lastPut.Load()),
		LastProgress:         unixTime(r.lastProgress.Load()),
		LastCommit:           unixTime(r.lastCommitNano.Load()),
		Generation:           -1,
		Rebalances:           r.rebal.Load(),
		Restarts:             r.restarts,
		LastFailure:          r.lastFailure,
		Errors:               r.errStats.Snapshot(),
		OffsetCommitSeqNo:    r.commitSeq.Load(),
	}
	r.meters.Fill(time.Now(), &ts)
	if c := r.taskName.Load(); c != nil {
		ts.TaskClass, ts.TaskVersion = c.class, c.version
	}
	r.p.plugins.Fill(&ts)
	ts.RecordsDropped = ts.RecordsFiltered + ts.RecordsSkipped
	if e := r.commitErr.Load(); e != nil {
		ts.CommitErr = *e
	}
	if s := r.session.Load(); s != nil {
		ts.MemberID, ts.Generation = (*s).MemberID(), (*s).GenerationID()
	}
	r.mu.Lock()
	ts.Buffered, ts.BufferedBytes = int64(r.bufRecords), r.bufBytes
	for _, p := range r.parts {
		ts.Partitions = append(ts.Partitions, connect.PartitionStatus{
			TopicPartition: p.tp,
			Position:       p.stCurrent.Load(),
			Committed:      p.stCommitted.Load(),
			HighWatermark:  p.hwm.Load(),
			Paused:         p.taskPaused,
		})
	}
	r.mu.Unlock()
	ts.InFlight = ts.Buffered + ts.Batched
	for _, p := range ts.Partitions {
		ts.Lag += p.Lag()
	}
	slices.SortFunc(ts.Partitions, func(a, b connect.PartitionStatus) int { return compareTP(a.TopicPartition, b.TopicPartition) })
	return ts
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
