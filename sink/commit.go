package sink

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/safecall"
	"github.com/sluicehq/sluice/internal/winstat"
)

// DefaultOffsetFlushTimeout bounds how long one offset commit keeps retrying
// the group coordinator (offset.flush.timeout.ms): the coordinator moving,
// loading or timing out. Offsets not committed by then stay uncommitted and
// the next commit (periodic, requested, on revocation or at stop) tries
// again.
const DefaultOffsetFlushTimeout = 5 * time.Second

// commit asks the task which offsets are durable (PreCommit, or Flush) for
// scope (nil: every assigned partition) and commits them synchronously to
// the consumer group. Only offsets no greater than the processed position of
// a partition in scope are accepted.
//
// Any failure of PreCommit/Flush (retriable or not) aborts the commit and,
// unless closing, rewinds every partition in scope to its last committed
// offset, as Kafka Connect's WorkerSinkTask: the records after it are
// delivered again, so a task that dropped its buffer on a failed flush loses
// nothing. A PreCommit/Flush that panics fails the task.
//
// The group commit is retried while the coordinator is away or moving, for
// at most OffsetFlushTimeout; a commit that still fails is counted
// (OffsetCommitFailures, CommitErr), and the offsets stay uncommitted for
// the next commit. A commit the group refuses because the member's
// generation is over (rebalance, lost membership), or that fails while the
// partitions are being closed, is abandoned (OffsetCommitSkips): the
// partitions' next owner resumes from the last committed offset.
//
// Every TaskContext.Report that started before the commit has returned before
// PreCommit is called: an errant record is in the dead-letter queue before
// any offset covering it is committed (Kafka Connect's KIP-610 guarantee).
// Once a report under errors.tolerance=none failed the task, nothing is
// committed any more: the reported record may lie below the processed
// position.
func (r *taskRunner) commit(scope []*part, closing bool) {
	if r.tracer != nil {
		_, span := r.tracer.Start(r.taskCtx, "sluice.sink.commit", trace.WithAttributes(
			attribute.String("connector", r.p.cfg.Name), attribute.Int("task", r.id), attribute.Bool("closing", closing)))
		defer span.End()
	}
	r.reportGate.Lock()
	//lint:ignore SA2001 a barrier: Lock waited for the reports in progress; new ones wait for this Unlock
	r.reportGate.Unlock()
	if r.noFinalCommit.Load() {
		// A report under errors.tolerance=none failed the task (perhaps
		// the one just waited for, made from another goroutine): its
		// record may lie below the processed position, so no commit at
		// all from now on.
		return
	}
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
	r.commitSeq.Add(1)
	r.commitStart = time.Now()
	commitOffs := offsets
	var err error
	switch t := r.task.(type) {
	case PreCommitter:
		err = safecall.Call("PreCommit", func() error {
			var err error
			commitOffs, err = t.PreCommit(r.taskCtx, maps.Clone(offsets))
			return err
		})
	case Flusher:
		err = safecall.Call("Flush", func() error { return t.Flush(r.taskCtx, maps.Clone(offsets)) })
	}
	if err != nil {
		r.commitFailed(err, false)
		stage := "pre-commit"
		if _, ok := r.task.(PreCommitter); !ok {
			stage = "flush"
		}
		if isPanic(err) {
			r.fail(fmt.Errorf("connector %q task %d: stage %s: %s: %w", r.p.cfg.Name, r.id, connect.StageTaskCommit, stage, err))
			return
		}
		if closing {
			r.log.Warn(stage+" failed while closing partitions; nothing committed", "stage", connect.StageTaskCommit, "error", err, "partitions", tpsOf(scope))
			return
		}
		r.log.Error(stage+" failed; nothing committed, rewinding to the last committed offsets", "stage", connect.StageTaskCommit, "error", err, "retriable", connect.IsRetriable(err))
		for _, p := range scope {
			r.seek(p, p.committed)
		}
		return
	}
	var todo []commitEntry
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
		todo = append(todo, commitEntry{p: p, offset: off})
	}
	if len(todo) == 0 {
		return
	}
	slices.SortFunc(todo, func(a, b commitEntry) int { return compareTP(a.p.tp, b.p.tp) })
	// Normally every partition belongs to the one live session; partitions
	// of an ended session are committed with that session's generation
	// (and then refused by the group).
	var failed error
	var stale bool
	for len(todo) > 0 {
		sess := todo[0].p.sess
		var batch, rest []commitEntry
		for _, e := range todo {
			if e.p.sess == sess {
				batch = append(batch, e)
			} else {
				rest = append(rest, e)
			}
		}
		todo = rest
		if err := r.commitToGroup(sess, batch); err != nil {
			failed = errors.Join(failed, err)
			stale = stale || errors.Is(err, errStaleGeneration)
		}
		for _, e := range batch {
			if e.err != nil {
				continue
			}
			p := e.p
			if p.committed >= 0 && e.offset > p.committed {
				r.committedRecs.Add(e.offset - p.committed)
			}
			p.committed = e.offset
			p.stCommitted.Store(e.offset)
		}
	}
	if failed != nil {
		r.commitFailed(failed, closing || stale)
		r.log.Error("offset commit failed; the offsets stay uncommitted", "stage", connect.StageTaskCommit, "error", failed, "closing", closing, "abandoned", closing || stale)
		return
	}
	r.commits.Add(1)
	now := time.Now()
	r.lastCommitNano.Store(now.UnixNano())
	r.meters.CommitTime.Record(now, winstat.Millis(now.Sub(r.commitStart)))
	r.commitErr.Store(nil)
}

// commitFailed counts a failed commit and makes err the status' CommitErr;
// skipped counts it as abandoned too.
func (r *taskRunner) commitFailed(err error, skipped bool) {
	r.commitFailures.Add(1)
	now := time.Now()
	r.meters.CommitTime.Record(now, winstat.Millis(now.Sub(r.commitStart)))
	if skipped {
		r.commitSkips.Add(1)
	}
	r.commitErr.Store(&err)
}

// commitEntry is one partition's offset to commit, and its outcome.
type commitEntry struct {
	p      *part
	offset int64
	err    error
}

// errStaleGeneration marks a commit the group refused because the member's
// generation is over: it cannot succeed by retrying.
var errStaleGeneration = errors.New("the consumer group member's generation is over")

// commitToGroup commits the entries' offsets with sess's member id and
// generation through the group coordinator, retrying errors that mean "not
// yet" (coordinator moving or loading, request timeout, connection lost)
// with a backoff for at most OffsetFlushTimeout. It sets each entry's error
// and returns them joined, each naming its topic and partition.
func (r *taskRunner) commitToGroup(sess sarama.ConsumerGroupSession, entries []commitEntry) error {
	cfg := &r.p.cfg
	deadline := time.Now().Add(cfg.OffsetFlushTimeout)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retry := r.sendCommit(sess, entries)
		if !retry || r.taskCtx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			break
		}
		r.commitRetries.Add(1)
		r.log.Warn("offset commit failed with a retriable error; retrying", "stage", connect.StageTaskCommit, "attempt", attempt, "delay", backoff, "error", entriesErr(entries))
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-r.taskCtx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, time.Second)
	}
	return entriesErr(entries)
}

func entriesErr(entries []commitEntry) error {
	var errs []error
	for _, e := range entries {
		if e.err != nil {
			errs = append(errs, fmt.Errorf("committing offset %d of topic %s partition %d: %w", e.offset, e.p.tp.Topic, e.p.tp.Partition, e.err))
		}
	}
	return errors.Join(errs...)
}

// sendCommit sends one OffsetCommit request for the entries not yet
// committed and records each one's outcome; it reports whether a failure is
// worth retrying.
func (r *taskRunner) sendCommit(sess sarama.ConsumerGroupSession, entries []commitEntry) (retry bool) {
	cfg := r.client.Config()
	group := r.p.cfg.GroupID
	req := &sarama.OffsetCommitRequest{
		Version:                 offsetCommitVersion(cfg.Version),
		ConsumerGroup:           group,
		ConsumerGroupGeneration: sess.GenerationID(),
		ConsumerID:              sess.MemberID(),
	}
	if req.Version >= 2 && req.Version < 5 {
		req.RetentionTime = -1
	}
	if req.Version >= 7 && cfg.Consumer.Group.InstanceId != "" {
		id := cfg.Consumer.Group.InstanceId
		req.GroupInstanceId = &id
	}
	var ts int64
	if req.Version == 1 {
		ts = sarama.ReceiveTime
	}
	// Every attempt sends every entry: committing an offset again is
	// harmless, and the request stays one.
	for i := range entries {
		e := &entries[i]
		e.err = nil
		req.AddBlockWithLeaderEpoch(e.p.tp.Topic, e.p.tp.Partition, e.offset, -1, ts, "")
	}
	setAll := func(err error) {
		for i := range entries {
			entries[i].err = err
		}
	}
	broker, err := r.client.Coordinator(group)
	if err != nil {
		setAll(fmt.Errorf("finding the group coordinator: %w", err))
		_ = r.client.RefreshCoordinator(group)
		return kafkaconf.Retriable(err)
	}
	if err := broker.Open(cfg); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
		setAll(fmt.Errorf("connecting to the group coordinator %s: %w", broker.Addr(), err))
		return true
	}
	resp, err := broker.CommitOffset(req)
	if err != nil {
		setAll(fmt.Errorf("group coordinator %s: %w", broker.Addr(), err))
		_ = broker.Close()
		_ = r.client.RefreshCoordinator(group)
		return kafkaconf.Retriable(err) || errors.Is(err, sarama.ErrNotConnected)
	}
	refresh := false
	for i := range entries {
		e := &entries[i]
		kerr, ok := resp.Errors[e.p.tp.Topic][e.p.tp.Partition]
		switch {
		case !ok:
			e.err = sarama.ErrIncompleteResponse
			retry = true
		case kerr == sarama.ErrNoError:
		case kerr == sarama.ErrIllegalGeneration, kerr == sarama.ErrUnknownMemberId,
			kerr == sarama.ErrRebalanceInProgress, kerr == sarama.ErrFencedInstancedId:
			e.err = fmt.Errorf("%w (generation %d, member %s): %w", errStaleGeneration, sess.GenerationID(), sess.MemberID(), kerr)
		default:
			e.err = kerr
			if kerr == sarama.ErrNotCoordinatorForConsumer || kerr == sarama.ErrConsumerCoordinatorNotAvailable {
				refresh = true
			}
			retry = retry || kafkaconf.Retriable(kerr)
		}
	}
	if refresh {
		_ = r.client.RefreshCoordinator(group)
	}
	return retry
}

// offsetCommitVersion is the OffsetCommit request version sarama's own
// offset manager uses for a cluster version.
func offsetCommitVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_4_0_0):
		return 8
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 7
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 6
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 4
	case v.IsAtLeast(sarama.V0_11_0_0):
		return 3
	case v.IsAtLeast(sarama.V0_9_0_0):
		return 2
	}
	return 1
}
