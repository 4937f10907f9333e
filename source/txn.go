package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/offsettrack"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/offsets"
)

// Exactly-once delivery (KIP-618), as Kafka Connect's
// ExactlyOnceWorkerSourceTask:
//
//   - Each task has a transactional producer, transactional.id
//     <group>-<connector>-<task>. Creating it (InitProducerId) fences any
//     older instance of the task and aborts its open transaction; then the
//     offsets store is refreshed (Refresh) and the task started, so it reads
//     the offsets committed by whoever ran it before.
//   - A transaction begins with the first record sent after the previous
//     one ended. Every record sent, filtered or skipped under
//     errors.tolerance counts for offsets (the tracker); at the boundary
//     (after each Poll batch, every interval, or when the task asks), the
//     runner waits for every record of the transaction to be acknowledged,
//     sends the offsets they cover to the offsets topic through the same
//     producer (Kafka Connect's byte format) and commits: records and
//     offsets become visible to read_committed consumers together, or not
//     at all.
//   - A failure (a produce error, a failed commit) aborts the transaction;
//     nothing of it is visible. A retriable one rewinds: the task instance
//     is stopped and a new one started from the offsets last committed
//     (so its records are polled and produced again), after a backoff,
//     while the status shows the stall. Any other fails the task.
//   - A producer that another instance fenced ends in a fatal state; the
//     task fails with a *connect.FencedError and is not restarted. A
//     transaction that outlived transaction.timeout.ms gets the same answer
//     from the broker; the two are told apart by the transaction's age, and
//     a timed-out task fails with Kafka Connect's advice instead.

// testHookBeforeCommit, when set (tests only), is called by an exactly-once
// task after the records and offsets of a transaction were sent and before
// the transaction is committed: a test can stop or kill the process there,
// mid-transaction.
var testHookBeforeCommit func()

// DefaultTransactionTimeout is the producer's transaction.timeout.ms when
// ExactlyOnce.TransactionTimeout is zero (Kafka's default).
const DefaultTransactionTimeout = time.Minute

// The producer keys exactly-once delivery sets itself (Kafka Connect's
// ensureProperty): a transactional.id of the user's is overridden with a
// warning; transaction.timeout.ms is read when ExactlyOnce.TransactionTimeout
// is zero.
const (
	propTransactionalID    = "transactional.id"
	propTransactionTimeout = "transaction.timeout.ms"
)

// offsetMsgMeta marks the offsets-topic records an exactly-once task sends
// in its transactions (ProducerMessage.Metadata): they carry their
// partition, and the ack loop only counts them.
type offsetMsgMeta struct{}

var offsetMsg = &offsetMsgMeta{}

// txnState is an exactly-once task's transaction bookkeeping; nil under
// at-least-once delivery.
type txnState struct {
	store    offsets.TransactionalStore
	id       string        // transactional.id
	timeout  time.Duration // transaction.timeout.ms
	boundary TransactionBoundary
	interval time.Duration
	tctx     *txnContext // BoundaryConnector only

	// Poll goroutine only.
	open         bool
	rewound      bool // set by rewind: the rest of the batch being sent belongs to the old task instance
	abortPending bool // the task asked to abort the open transaction; a stop came first
	stopping     bool // the final commit runs: a failure aborts, no rewind
	began        time.Time
	size         int64     // records sent in the open transaction
	nextAt       time.Time // BoundaryInterval: when to commit
	backoff      time.Duration

	// The asynchronous commit (txnCommitAsync): commitDone is non-nil
	// while one runs and closed when it ended, commitRes its result;
	// queued holds the records converted meanwhile; commitCtx is cancelled
	// to give up waiting for its acknowledgements at the end of a stop.
	commitDone   chan struct{}
	commitRes    commitResult
	queued       []*msgSlot
	queuedBytes  int64
	commitCtx    context.Context
	cancelCommit context.CancelFunc

	// Written by the ack loop, read by the poll goroutine once every
	// record of the transaction is resolved.
	mu    sync.Mutex
	err   error         // first produce failure of the open transaction
	acked []ackedRecord // for CommitRecord once committed (RecordCommitter only)

	commits, aborts           atomic.Int64
	sizeMin, sizeMax, sizeSum atomic.Int64
}

type ackedRecord struct {
	rec     *connect.Record
	meta    RecordMetadata
	dropped bool // filtered or skipped: CommitRecord gets nil metadata
}

func (t *txnState) setErr(err error) {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}

func (t *txnState) hasErr() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err != nil
}

func (t *txnState) takeErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.err
	t.err = nil
	return err
}

func (t *txnState) addAcked(rec *connect.Record, meta RecordMetadata) {
	t.mu.Lock()
	t.acked = append(t.acked, ackedRecord{rec: rec, meta: meta})
	t.mu.Unlock()
}

// addDropped keeps a dropped record for its CommitRecord (nil metadata)
// once the transaction covering its offset committed.
func (t *txnState) addDropped(rec *connect.Record) {
	t.mu.Lock()
	t.acked = append(t.acked, ackedRecord{rec: rec, dropped: true})
	t.mu.Unlock()
}

func (t *txnState) takeAcked() []ackedRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.acked
	t.acked = nil
	return a
}

// ended resets the open transaction's state.
func (t *txnState) ended() {
	t.open, t.size, t.began = false, 0, time.Time{}
	if t.boundary == BoundaryInterval {
		t.nextAt = time.Now().Add(t.interval)
	}
}

// committed records a committed transaction of n records
// (transaction-size-*).
func (t *txnState) committed(n int64) {
	c := t.commits.Add(1)
	t.sizeSum.Add(n)
	if c == 1 || n < t.sizeMin.Load() {
		t.sizeMin.Store(n)
	}
	if n > t.sizeMax.Load() {
		t.sizeMax.Store(n)
	}
}

// producerBox holds a producer in an atomic.Value.
type producerBox struct{ p sarama.AsyncProducer }

// txnDoomed reports whether the task's transaction is in error: sarama then
// retries records whose partition could not be added to it (a fence, a
// timed-out transaction) as if the connection had failed, and they need no
// backoff (each retry fails at once); the transaction aborts when they are
// all handed back.
func (r *taskRunner) txnDoomed() bool {
	b, ok := r.txnProducer.Load().(producerBox)
	return ok && b.p.TxnStatus()&sarama.ProducerTxnFlagInError != 0
}

// transactionalID is Kafka Connect's Worker.taskTransactionalId.
func transactionalID(group, connector string, task int) string {
	return fmt.Sprintf("%s-%s-%d", group, connector, task)
}

// txnStoreOf returns the transactional store behind s (the pipeline's own
// Kafka store, or the caller's *offsets.KafkaStore).
func txnStoreOf(s offsets.Store) (offsets.TransactionalStore, bool) {
	if c, ok := s.(*connectorStore); ok {
		s = c.primary
	}
	if o, ok := s.(*ownedStore); ok {
		s = o.current()
	}
	ts, ok := s.(offsets.TransactionalStore)
	return ts, ok
}

// newTxnState prepares exactly-once delivery for the task; nil when it is
// off.
func (r *taskRunner) newTxnState() (*txnState, error) {
	cfg := &r.p.cfg
	eo := &cfg.ExactlyOnce
	if !eo.Enabled {
		return nil, nil
	}
	ts, ok := txnStoreOf(cfg.OffsetStore)
	if !ok {
		return nil, fmt.Errorf("%s: exactly-once sources write their offsets in the task's Kafka transaction: the offsets store (%T) is not a Kafka store", propExactlyOnceSourceSupport, cfg.OffsetStore)
	}
	t := &txnState{store: ts, id: transactionalID(eo.GroupID, cfg.Name, r.id), timeout: eo.TransactionTimeout,
		boundary: eo.Boundary, interval: eo.BoundaryInterval}
	if v, ok := cfg.ProducerProps[propTransactionTimeout]; ok && t.timeout <= 0 {
		d, err := kafkaconf.ParseMillis(producerPrefix+propTransactionTimeout, v)
		if err != nil {
			return nil, err
		}
		t.timeout = d
	}
	if t.timeout <= 0 {
		t.timeout = DefaultTransactionTimeout
	}
	if t.interval <= 0 {
		t.interval = cfg.OffsetFlushInterval
		if t.boundary == BoundaryInterval && t.interval > t.timeout/2 {
			// Kafka Connect's defaults (both 60 s) would let every
			// transaction reach its timeout: half the timeout instead.
			t.interval = t.timeout / 2
			r.log.Info("transaction.boundary.interval.ms is not set and offset.flush.interval.ms is not below half the transaction timeout: transactions commit every half timeout",
				"interval", t.interval, "transaction.timeout", t.timeout)
		}
	}
	if t.boundary == BoundaryInterval {
		t.nextAt = time.Now().Add(t.interval)
		if t.interval >= t.timeout {
			r.log.Warn("transaction.boundary.interval.ms is not below the producer's transaction.timeout.ms: transactions may time out and fail the task",
				"interval", t.interval, "transaction.timeout", t.timeout)
		}
	}
	if t.boundary == BoundaryConnector {
		t.tctx = &txnContext{}
	}
	return t, nil
}

// txnProducerConfig makes pcfg transactional (Kafka Connect's
// exactlyOnceSourceTaskProducerConfigs): the transactional id, the
// transaction timeout (ExactlyOnce.TransactionTimeout, else the producer
// property transaction.timeout.ms, else Kafka's default), and a short
// backoff for the transaction manager's retries: a transaction's first
// record often meets CONCURRENT_TRANSACTIONS while the broker completes the
// previous commit (a few milliseconds), and sarama's default (20 ms at
// least) or any doubling from the start would cost more than the commit
// itself.
func (t *txnState) producerConfig(pcfg *sarama.Config) {
	pcfg.Producer.Transaction.ID = t.id
	pcfg.Producer.Transaction.Timeout = t.timeout
	pcfg.Producer.Transaction.Retry.Max = max(pcfg.Producer.Transaction.Retry.Max, 100)
	pcfg.Producer.Transaction.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		// 1 ms for the first 20 retries (the previous commit's markers
		// take a few milliseconds), then doubling up to 100 ms: about
		// 8 s in all with 100 retries.
		if retries < 20 {
			return time.Millisecond
		}
		return min(time.Millisecond<<min(retries-19, 7), 100*time.Millisecond)
	}
}

// waitResolvedAll blocks until every message handed to the producer was
// acknowledged or failed (pending is 0), or ctx is done (false).
func (r *taskRunner) waitResolvedAll(ctx context.Context) bool {
	for r.pending.Load() > 0 {
		r.waitingIdle.Store(true)
		if r.pending.Load() == 0 {
			r.waitingIdle.Store(false)
			return true
		}
		select {
		case <-r.idle:
		case <-ctx.Done():
			r.waitingIdle.Store(false)
			return false
		case <-time.After(100 * time.Millisecond):
		}
		r.waitingIdle.Store(false)
	}
	return true
}

// txnBegin begins a transaction if none is open.
func (r *taskRunner) txnBegin(ctx context.Context) error {
	t := r.txn
	if t.open {
		return nil
	}
	if err := r.producer.BeginTxn(); err != nil {
		return r.txnFailed(ctx, fmt.Errorf("beginning a transaction: %w", kafkaText(err)))
	}
	t.open, t.began, t.size = true, time.Now(), 0
	return nil
}

// commitResult is what the Kafka part of a commit (txnCommitWork) found.
type commitResult struct {
	snap    offsettrack.Snapshot
	open    bool // a transaction was open (or was begun for offsets only)
	began   time.Time
	size    int64
	err     error // errStopping, the failure (the transaction must abort), or nil
	fatal   error // a failure that fails the task (offsets Kafka Connect refuses)
	applied bool  // committed, and txnCommitted was called
}

// txnCommitWork does the Kafka part of committing the transaction (open,
// began at began, size records): it waits until every record of it is
// resolved, sends the offsets they cover and commits. It touches the
// producer and thread-safe state only, so it may run on its own goroutine
// while the poll goroutine converts the next batch (txnCommitAsync); the
// poll goroutine applies the result (txnCommitFinish).
func (r *taskRunner) txnCommitWork(ctx context.Context, open bool, began time.Time, size int64) (res commitResult) {
	t := r.txn
	res.open, res.began, res.size = open, began, size
	if !r.waitResolvedAll(ctx) {
		res.err = errStopping
		return res
	}
	if res.err = t.takeErr(); res.err != nil {
		return res
	}
	res.snap = r.tracker.Committable()
	if !open {
		if len(res.snap.Entries) == 0 {
			return res
		}
		// Offsets of records that were only dropped: a transaction of
		// their own.
		res.open, res.began = true, time.Now() // a failure below is handled as the transaction's
		if err := r.producer.BeginTxn(); err != nil {
			res.err = fmt.Errorf("beginning a transaction: %w", kafkaText(err))
			return res
		}
	}
	cfg := &r.p.cfg
	commitStart := time.Now()
	if len(res.snap.Entries) > 0 {
		msgs, err := t.store.OffsetMessages(cfg.Name, res.snap.Entries)
		if err != nil {
			res.fatal = fmt.Errorf("connector %q task %d: stage %s: %w", cfg.Name, r.id, connect.StageOffsetCommit, err)
			return res
		}
		for _, m := range msgs {
			m.Metadata = offsetMsg
			r.pending.Add(1)
			r.producer.Input() <- m
		}
	}
	if h := testHookBeforeCommit; h != nil {
		h()
	}
	err := kafkaText(r.producer.CommitTxn())
	r.waitResolvedAll(context.Background()) // CommitTxn returned: every result is in the channels
	r.recordCommit(commitStart)
	if perr := t.takeErr(); err == nil {
		err = perr
	} else if perr != nil {
		err = fmt.Errorf("%w (first record failure: %w)", err, perr)
	}
	if err != nil {
		res.err = fmt.Errorf("committing the transaction: %w", err)
	}
	return res
}

// txnCommitFinish applies a commit's result on the poll goroutine: after a
// commit, txnCommitted (unless the commit goroutine called it already);
// after a failure, the abort (txnFailed).
func (r *taskRunner) txnCommitFinish(ctx context.Context, res commitResult) error {
	t := r.txn
	if !res.open {
		return nil // nothing to commit
	}
	t.open, t.began, t.size = true, res.began, res.size // the transaction being ended
	switch {
	case res.fatal != nil:
		_ = r.producer.AbortTxn()
		t.aborts.Add(1)
		t.ended()
		return res.fatal
	case errors.Is(res.err, errStopping):
		return errStopping // still open: the final commit retries
	case res.err != nil:
		return r.txnFailed(ctx, res.err)
	}
	if !res.applied {
		r.txnCommitted(ctx, res)
	}
	t.ended()
	t.backoff = 0
	return r.failed()
}

// txnCommitted applies a committed transaction: the store's and the
// tracker's committed offsets, the metrics, the stall, and the task's
// CommitRecord and Commit callbacks (a panic in one fails the task). Every
// state it touches is safe for concurrent use, and the task instance does
// not change while a commit runs, so the commit goroutine calls it as soon
// as the transaction committed (a task whose Poll blocks does not hold the
// status, the offsets and the callbacks back).
func (r *taskRunner) txnCommitted(ctx context.Context, res commitResult) {
	t := r.txn
	cfg := &r.p.cfg
	t.store.Committed(cfg.Name, res.snap.Entries)
	r.tracker.MarkCommitted(res.snap)
	t.committed(res.size)
	r.commits.Add(1)
	r.lastCommitNano.Store(time.Now().UnixNano())
	if r.stallErrIsTxn.Load() {
		r.stallErrIsTxn.Store(false)
		r.clearStall()
	}
	for _, a := range t.takeAcked() {
		if a.dropped {
			r.commitRecord(ctx, a.rec, nil)
		} else {
			r.commitRecord(ctx, a.rec, &a.meta)
		}
	}
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

// txnCommit commits the open transaction with the offsets of the records it
// covers (or, with none open, writes the offsets of records that were only
// dropped in a transaction of their own), after the asynchronous commit in
// flight, if any. A failure aborts and rewinds (nil is returned once the
// task was restarted from the committed offsets; txn.rewound is set), or
// returns the task's failure. errStopping: ctx ended while waiting for the
// transaction's acknowledgements.
func (r *taskRunner) txnCommit(ctx context.Context) error {
	if err := r.txnJoin(ctx); err != nil || r.txn.rewound {
		return err
	}
	t := r.txn
	return r.txnCommitFinish(ctx, r.txnCommitWork(ctx, t.open, t.began, t.size))
}

// txnCommitAsync starts committing the open transaction on a goroutine of
// its own (transaction.boundary=poll): the poll goroutine polls and
// converts the next batches meanwhile, and holds their records
// (txn.queued) until txnJoin took the result; they then form the next
// transaction together. Kafka Connect commits synchronously, one
// transaction per Poll batch; Sluice does the same while its commits keep
// up with Poll, and groups the batches polled during a commit otherwise
// (each transaction still holds whole batches, in order, with their
// offsets).
func (r *taskRunner) txnCommitAsync(ctx context.Context) error {
	if err := r.txnJoin(ctx); err != nil || r.txn.rewound {
		return err
	}
	t := r.txn
	if !t.open {
		return r.txnCommit(ctx) // offsets of dropped records only, if any
	}
	open, began, size := t.open, t.began, t.size
	t.open, t.size = false, 0 // the next transaction begins after the join
	done := make(chan struct{})
	t.commitDone = done
	wctx := t.commitCtx
	go func() {
		defer close(done)
		res := r.txnCommitWork(wctx, open, began, size)
		if res.open && res.err == nil && res.fatal == nil {
			r.txnCommitted(wctx, res)
			res.applied = true
		}
		t.commitRes = res
	}()
	return nil
}

// txnGroupFull reports whether the records held while a commit runs
// (transaction.boundary=poll) reached the in-flight bounds
// (MaxInFlightRecords, MaxInFlightBytes): the next transaction then starts
// as soon as the commit ends, rather than taking more batches.
func (r *taskRunner) txnGroupFull() bool {
	cfg := &r.p.cfg
	t := r.txn
	return len(t.queued) >= cfg.MaxInFlightRecords || t.queuedBytes >= cfg.MaxInFlightBytes
}

// txnBeforePoll makes room before a poll: with a commit in flight and the
// in-flight bounds reached (the committing transaction's records and the
// held ones), it waits for the commit and sends the held records, which
// waitForSpace then waits for like any others.
func (r *taskRunner) txnBeforePoll(ctx context.Context) error {
	t := r.txn
	if t.commitDone == nil {
		return nil
	}
	cfg := &r.p.cfg
	if n, b := r.tracker.InFlight(); n >= cfg.MaxInFlightRecords || b >= cfg.MaxInFlightBytes || r.txnGroupFull() {
		return r.txnCommitAsync(ctx)
	}
	return r.txnCommitHeldIfDone(ctx)
}

// txnCommitHeldIfDone, between batches: once the commit in flight has
// ended, the records held meanwhile are sent and committed (in their own
// transaction, asynchronously), rather than waiting for the next batch.
func (r *taskRunner) txnCommitHeldIfDone(ctx context.Context) error {
	t := r.txn
	if t.commitDone == nil {
		return nil
	}
	select {
	case <-t.commitDone:
	default:
		return nil
	}
	return r.txnCommitAsync(ctx)
}

// txnJoin waits for the asynchronous commit in flight, if any, applies its
// result and sends the records held meanwhile in the next transaction; nil
// at once when none is in flight. After a failure that rewound the task,
// the held records are dropped (txn.rewound is set: the new task instance
// polls them again).
func (r *taskRunner) txnJoin(ctx context.Context) error {
	t := r.txn
	if t.commitDone == nil {
		return nil
	}
	<-t.commitDone
	t.commitDone = nil
	res := t.commitRes
	t.commitRes = commitResult{}
	err := r.txnCommitFinish(ctx, res)
	if err != nil || t.rewound {
		r.dropQueued()
		return err
	}
	return r.flushQueued(ctx)
}

// txnJoinIfDone joins the asynchronous commit if it has ended.
func (r *taskRunner) txnJoinIfDone(ctx context.Context) error {
	if d := r.txn.commitDone; d != nil {
		select {
		case <-d:
			return r.txnJoin(ctx)
		default:
		}
	}
	return nil
}

// flushQueued sends the records held while a commit was in flight, in
// order, in a new transaction.
func (r *taskRunner) flushQueued(ctx context.Context) error {
	t := r.txn
	for i, s := range t.queued {
		if err := r.txnBegin(ctx); err != nil || t.rewound {
			t.queued = t.queued[i:]
			r.dropQueued()
			return err
		}
		t.size++
		r.pending.Add(1)
		r.producer.Input() <- &s.msg
		r.written.Add(1)
		t.queued[i] = nil
	}
	t.queued, t.queuedBytes = t.queued[:0], 0
	return nil
}

// dropQueued forgets the held records (their tracker entries go with the
// rewind's reset, or stay unacknowledged when the task stops).
func (r *taskRunner) dropQueued() {
	t := r.txn
	for i, s := range t.queued {
		if s != nil {
			*s = msgSlot{}
			slotPool.Put(s)
		}
		t.queued[i] = nil
	}
	t.queued, t.queuedBytes = t.queued[:0], 0
}

// txnAbort aborts the open transaction at the task's request (connector
// boundary), then commits the offsets of its records in a new transaction,
// as Kafka Connect: the records are dropped, and not polled again.
func (r *taskRunner) txnAbort(ctx context.Context, what string) error {
	t := r.txn
	if !t.open {
		r.log.Info("Ignoring request by task to abort transaction as the current transaction is empty")
		return nil
	}
	r.log.Info("Aborting transaction " + what + " as requested by connector")
	if !r.waitResolvedAll(ctx) {
		t.abortPending = true // the graceful stop aborts instead of committing
		return errStopping
	}
	err := r.producer.AbortTxn()
	r.waitResolvedAll(context.Background())
	if perr := t.takeErr(); err == nil && perr != nil {
		err = perr
	}
	if err != nil {
		return r.txnFailed(ctx, fmt.Errorf("aborting the transaction as the task requested: %w", err))
	}
	t.aborts.Add(1)
	t.takeAcked()
	t.ended()
	return r.txnCommit(ctx)
}

// txnFailed handles a failed transaction: cause is the failure. It aborts
// the transaction and rewinds the task (nil), or returns the task's
// failure.
func (r *taskRunner) txnFailed(ctx context.Context, cause error) error {
	t := r.txn
	cfg := &r.p.cfg
	age := time.Since(t.began)
	wasOpen := t.open
	var aerr error
	st := r.producer.TxnStatus()
	// In a fatal state AbortTxn only returns the error that caused it
	// (sarama's lastError), which tells a fence from other fatal errors.
	if st&(sarama.ProducerTxnFlagInTransaction|sarama.ProducerTxnFlagInError) != 0 {
		aerr = kafkaText(r.producer.AbortTxn())
		r.waitResolvedAll(context.Background())
		t.takeErr()
		st = r.producer.TxnStatus()
	}
	t.takeAcked()
	t.ended()
	if wasOpen {
		t.aborts.Add(1)
	}
	fe := cause
	if aerr != nil {
		fe = fmt.Errorf("%w; aborting: %w", cause, aerr)
	}
	// An old-epoch answer means another instance took over, or the
	// transaction timed out; whatever the producer's state (an abort that
	// failed for another reason leaves it non-fatal), the task must not
	// rewind or restart with a new producer, which would fence the newer
	// instance in turn.
	if fenceError(cause) || fenceError(aerr) {
		if !wasOpen || age < t.timeout {
			return &connect.FencedError{Connector: cfg.Name, Task: r.id, TransactionalID: t.id, Err: fe}
		}
		return fmt.Errorf("connector %q task %d: The task was unable to finish writing records to Kafka before its producer transaction expired "+
			"(transactional.id %s, open for %s, transaction.timeout.ms %d). "+
			"Consider increasing the transaction timeout (producer.override.transaction.timeout.ms), lowering transaction.boundary.interval.ms, "+
			"or using the 'poll' transaction boundary: %w",
			cfg.Name, r.id, t.id, age.Round(time.Millisecond), t.timeout.Milliseconds(), fe)
	}
	if st&sarama.ProducerTxnFlagFatalError != 0 {
		return fmt.Errorf("connector %q task %d: stage %s: transactional.id %s: %w", cfg.Name, r.id, connect.StageKafkaProduce, t.id, fe)
	}
	if t.stopping {
		// The final commit failed: nothing of the transaction is
		// visible, its records are polled again after a restart.
		r.log.Warn("the final transaction failed and was aborted; its records will be polled again after a restart", "error", fe, "transactional.id", t.id)
		return errStopping
	}
	if !kafkaconf.Retriable(cause) && !errors.Is(cause, sarama.ErrOutOfBrokers) {
		if aerr != nil {
			cause = fmt.Errorf("%w; aborting: %w", cause, aerr)
		}
		var re *connect.RecordError
		if errors.As(cause, &re) {
			return cause
		}
		return fmt.Errorf("connector %q task %d: stage %s: transaction aborted: %w", cfg.Name, r.id, connect.StageKafkaProduce, cause)
	}
	return r.rewind(ctx, cause, aerr != nil)
}

// fencedText wraps sarama's ErrProducerFenced, which prints as "Unknown
// error, how did this happen? Error code = 90" (IBM/sarama#2859), with
// Kafka's name for it; errors.Is still matches it.
type fencedText struct{ err error }

func (f fencedText) Error() string {
	return "PRODUCER_FENCED (Kafka error code 90): the broker refused the producer's epoch: a newer producer with the same transactional.id exists, or the transaction timed out"
}
func (f fencedText) Unwrap() error { return f.err }

// kafkaText returns err, with ErrProducerFenced named (fencedText).
func kafkaText(err error) error {
	if errors.Is(err, sarama.ErrProducerFenced) && !errors.As(err, new(fencedText)) {
		var kerr sarama.KError
		if errors.As(err, &kerr) && err == error(kerr) {
			return fencedText{err}
		}
		return fmt.Errorf("%w (%w)", err, fencedText{sarama.ErrProducerFenced})
	}
	return err
}

// fenceError reports whether err is the broker's answer to a producer with
// an old epoch: another instance fenced it, or its transaction timed out.
func fenceError(err error) bool {
	return err != nil && (errors.Is(err, sarama.ErrProducerFenced) || errors.Is(err, sarama.ErrInvalidProducerEpoch) ||
		errors.Is(err, sarama.ErrInvalidTxnState))
}

// rewind restarts the task from the offsets last committed after an
// aborted transaction whose failure was retriable: a backoff (the status
// shows the stall), a new producer when the abort itself failed (its
// InitProducerId aborts what is left of the transaction), then a new task
// instance, started after the store's refresh. Nothing of the aborted
// transaction is visible; its records are polled again.
func (r *taskRunner) rewind(ctx context.Context, cause error, reopen bool) error {
	t := r.txn
	cfg := &r.p.cfg
	if t.backoff == 0 {
		t.backoff = r.delivery.backoff
	} else {
		t.backoff = r.delivery.next(t.backoff)
	}
	t.rewound = true
	r.setStall(fmt.Errorf("connector %q task %d: stage %s: transaction aborted, the task restarts from its last committed offsets: %w",
		cfg.Name, r.id, connect.StageKafkaProduce, cause))
	r.stallErrIsTxn.Store(true)
	r.log.Warn("transaction aborted after a retriable failure; restarting the task from its last committed offsets",
		"error", cause, "delay", t.backoff, "transactional.id", t.id)
	if !errhandler.Sleep(ctx, t.backoff) {
		return errStopping
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	if err := r.callStop(stopCtx); err != nil {
		r.log.Warn("task stop failed", "error", err)
	}
	cancel()
	r.tracker.Reset()
	if reopen {
		r.closeProducer()
		if err := r.openProducer(ctx); err != nil {
			return fmt.Errorf("connector %q task %d: creating producer: %w", cfg.Name, r.id, err)
		}
		if r.producer == nil {
			return errStopping
		}
	}
	if err := r.txnRefresh(ctx); err != nil {
		return err
	}
	if t.tctx != nil {
		// The stopped instance's requests are not the new one's.
		t.tctx = &txnContext{}
	}
	t.abortPending = false
	task, err := r.callNewTask()
	if err != nil {
		return fmt.Errorf("connector %q task %d: creating the task: %w", cfg.Name, r.id, err)
	}
	r.task = task
	r.committer, _ = task.(RecordCommitter)
	if err := r.callStart(ctx); err != nil {
		return fmt.Errorf("connector %q task %d: start: %w", cfg.Name, r.id, err)
	}
	return nil
}

// txnRefresh refreshes the offsets store so that the task reads what
// earlier instances committed, retrying while it fails (a transaction of a
// killed instance holds the topic up to its timeout); errStopping when ctx
// ends first.
func (r *taskRunner) txnRefresh(ctx context.Context) error {
	backoff := r.delivery.backoff
	for {
		err := r.txn.store.Refresh(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errStopping
		}
		if errors.Is(err, offsets.ErrClosed) {
			return fmt.Errorf("connector %q task %d: %w", r.p.cfg.Name, r.id, err)
		}
		r.setStall(fmt.Errorf("connector %q task %d: stage %s: reading the committed offsets: %w", r.p.cfg.Name, r.id, connect.StageOffsetCommit, err))
		r.log.Warn("refreshing the offsets store failed; retrying", "error", err, "delay", backoff)
		if !errhandler.Sleep(ctx, backoff) {
			return errStopping
		}
		backoff = r.delivery.next(backoff)
	}
}

// txnAfterRecord applies the task's record-level requests (connector
// boundary) once rec was dispatched.
func (r *taskRunner) txnAfterRecord(ctx context.Context, rec *connect.Record) error {
	commit, abort, err := r.txn.tctx.onRecord(rec)
	switch {
	case err != nil:
		return fmt.Errorf("connector %q task %d: %w", r.p.cfg.Name, r.id, err)
	case abort:
		return r.txnAbort(ctx, fmt.Sprintf("for record on topic %s", rec.Topic))
	case commit:
		return r.txnCommit(ctx)
	}
	return nil
}

// txnAfterBatch ends the transaction where the boundary says, after a
// batch was dispatched (n records; 0 when Poll returned none).
func (r *taskRunner) txnAfterBatch(ctx context.Context, n int) error {
	t := r.txn
	if t.open && t.hasErr() {
		// A record of the open transaction failed: it can only abort, so
		// it ends now rather than at its boundary.
		return r.txnCommit(ctx)
	}
	switch t.boundary {
	case BoundaryPoll:
		if n == 0 {
			return r.txnCommitHeldIfDone(ctx)
		}
		if t.commitDone != nil && !r.txnGroupFull() {
			select {
			case <-t.commitDone:
			default:
				// The previous transaction is still committing: this
				// batch is held and joins the next transaction, with any
				// other polled meanwhile (a group commit; never a part
				// of a batch).
				return nil
			}
		}
		return r.txnCommitAsync(ctx)
	case BoundaryInterval:
		if !time.Now().Before(t.nextAt) {
			if err := r.txnCommit(ctx); err != nil {
				return err
			}
			t.nextAt = time.Now().Add(t.interval)
		}
	case BoundaryConnector:
		commit, abort, err := t.tctx.onBatch()
		switch {
		case err != nil:
			return fmt.Errorf("connector %q task %d: %w", r.p.cfg.Name, r.id, err)
		case abort:
			return r.txnAbort(ctx, "for batch")
		case commit:
			return r.txnCommit(ctx)
		}
	}
	return nil
}

// txnFinal ends an exactly-once task: the open transaction is committed
// when the task stops gracefully (Kafka Connect's final offset commit), or
// aborted when it failed; either within the shutdown timeout.
func (r *taskRunner) txnFinal(ctx context.Context, failed bool) error {
	t := r.txn
	if r.producer == nil {
		return nil
	}
	t.stopping = true
	if !failed && t.tctx != nil && (t.abortPending || t.tctx.abortRequested()) {
		// The task asked to abort the open transaction (or the batch was
		// cut short by the stop after such a request): abort it rather
		// than commit; its records are polled again after a restart.
		r.log.Info("Aborting the open transaction as requested by connector before stopping")
		failed = true
	}
	if failed {
		if t.commitDone != nil {
			// The transaction committing began at a boundary before the
			// failure: it may finish, within the shutdown timeout.
			timer := time.NewTimer(r.p.cfg.ShutdownTimeout)
			select {
			case <-t.commitDone:
			case <-timer.C:
				t.cancelCommit()
				<-t.commitDone
			}
			timer.Stop()
			t.commitDone = nil
			if res := t.commitRes; res.open && !res.applied {
				t.open = true // not committed: aborted below
			}
			t.commitRes = commitResult{}
			r.dropQueued()
		}
		if t.open && r.producer.TxnStatus()&sarama.ProducerTxnFlagFatalError == 0 {
			r.log.Info("Skipping final offset commit as task has failed; aborting the open transaction")
			_ = r.producer.AbortTxn()
			t.aborts.Add(1)
			t.ended()
		}
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.p.cfg.ShutdownTimeout)
	defer cancel()
	stopWaiting := context.AfterFunc(sctx, t.cancelCommit) // an asynchronous commit gives up with the stop
	defer stopWaiting()
	err := r.txnCommit(sctx)
	if errors.Is(err, errStopping) {
		if sctx.Err() != nil {
			r.log.Warn("graceful stop timed out waiting for the transaction's acknowledgements; it is left to abort (its records will be polled again)",
				"transactional.id", t.id)
		}
		return nil
	}
	return err
}

// txnContext implements TransactionContext for BoundaryConnector, as Kafka
// Connect's WorkerTransactionContext.
type txnContext struct {
	mu                      sync.Mutex
	commitBatch, abortBatch bool
	commitRecs, abortRecs   []*connect.Record
	records                 atomic.Bool // a record-level request is pending
	err                     error       // a request with a nil record
}

var _ TransactionContext = (*txnContext)(nil)

const (
	msgNilBoundaryRecord = "Source record used to define transaction boundaries may not be null"
	// boundaryErrPrefix starts the errors of a task's wrong boundary
	// requests, which then quote Kafka Connect's messages.
	boundaryErrPrefix = "transaction.boundary=connector: "
)

func (c *txnContext) CommitTransaction() {
	c.mu.Lock()
	c.commitBatch = true
	c.mu.Unlock()
}

func (c *txnContext) AbortTransaction() {
	c.mu.Lock()
	c.abortBatch = true
	c.mu.Unlock()
}

func (c *txnContext) CommitTransactionAfter(rec *connect.Record) { c.addRecord(&c.commitRecs, rec) }

func (c *txnContext) AbortTransactionAfter(rec *connect.Record) { c.addRecord(&c.abortRecs, rec) }

func (c *txnContext) addRecord(set *[]*connect.Record, rec *connect.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rec == nil {
		if c.err == nil {
			c.err = errors.New(boundaryErrPrefix + msgNilBoundaryRecord)
		}
		return
	}
	*set = append(*set, rec)
	c.records.Store(true)
}

// onRecord returns the requests for rec (and forgets them).
func (c *txnContext) onRecord(rec *connect.Record) (commit, abort bool, err error) {
	if !c.records.Load() {
		return false, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ai := indexOf(c.commitRecs, rec), indexOf(c.abortRecs, rec)
	if ci >= 0 && ai >= 0 {
		part := "null"
		if rec.HasPartition {
			part = fmt.Sprint(rec.Partition)
		}
		return false, false, fmt.Errorf(boundaryErrPrefix+"Connector requested both commit and abort of same record against topic/partition %s/%s", rec.Topic, part)
	}
	if ci >= 0 {
		c.commitRecs = append(c.commitRecs[:ci], c.commitRecs[ci+1:]...)
	}
	if ai >= 0 {
		c.abortRecs = append(c.abortRecs[:ai], c.abortRecs[ai+1:]...)
	}
	c.records.Store(len(c.commitRecs)+len(c.abortRecs) > 0)
	return ci >= 0, ai >= 0, nil
}

// abortRequested reports whether an abort of the open transaction is
// pending: for the batch, or after a record.
func (c *txnContext) abortRequested() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.abortBatch || len(c.abortRecs) > 0
}

// onBatch returns the batch-level requests (and forgets them), or the
// error of a request the task made wrongly.
func (c *txnContext) onBatch() (commit, abort bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false, false, c.err
	}
	if c.commitBatch && c.abortBatch {
		return false, false, errors.New(boundaryErrPrefix + "Connector requested both commit and abort of same transaction")
	}
	commit, abort = c.commitBatch, c.abortBatch
	c.commitBatch, c.abortBatch = false, false
	// Records of the batch that were never dispatched (filtered out
	// before, or not part of it) cannot end a transaction later.
	c.commitRecs, c.abortRecs = c.commitRecs[:0], c.abortRecs[:0]
	c.records.Store(false)
	return commit, abort, nil
}

func indexOf(s []*connect.Record, rec *connect.Record) int {
	for i, r := range s {
		if r == rec {
			return i
		}
	}
	return -1
}

// txnStatus fills the exactly-once fields of a task status.
func (t *txnState) status(s *connect.TaskStatus) {
	if t == nil {
		return
	}
	s.TransactionalID = t.id
	n := t.commits.Load()
	s.Transactions, s.TransactionAborts = n, t.aborts.Load()
	if n > 0 {
		s.TransactionSizeMin, s.TransactionSizeMax = t.sizeMin.Load(), t.sizeMax.Load()
		s.TransactionSizeAvg = float64(t.sizeSum.Load()) / float64(n)
	}
}
