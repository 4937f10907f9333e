package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kproduce"
)

// A broker outage is never a record failure (Kafka Connect forces
// delivery.timeout.ms and max.block.ms to MAX on task producers). sarama's
// AsyncProducer cannot retry forever by itself (Producer.Retry.Max sizes a
// per-partition slice, and a message whose leader cannot be found is
// returned at once whatever its retry count), so the pipeline re-drives:
//
//   - On the first retriable produce error (leader change, not enough
//     replicas, request timeout, broker down, network)
//     the ack loop keeps the record (never marked done, never given to
//     errors.tolerance) and sets recovering; the poll loop stops sending.
//   - The poll loop waits until every message in the producer is resolved
//     (acked, failed, or kept), then replaces the producer (a fresh
//     idempotent producer id: no OutOfOrderSequence state), re-sends the
//     oldest kept record alone until it is acknowledged, then the others in
//     their original send order, and repeats while retriable errors come
//     back, with an exponential backoff (producer.retry.backoff.ms doubling
//     up to producer.retry.backoff.max.ms). Only then does polling resume.
//   - Meanwhile the task stays RUNNING and its status carries the error it
//     keeps getting (connect.TaskStatus.StallError, StalledSince).
//
// producer.delivery.timeout.ms (default: unbounded) and producer.retries
// (default: unbounded) bound this: a record not acknowledged that long after
// it was polled, or re-sent that many times, becomes a record failure under
// errors.tolerance, as with Kafka's Java producer.

// Defaults of the redelivery backoff, as Kafka's producer.
const (
	DefaultRetryBackoff    = 100 * time.Millisecond    // producer.retry.backoff.ms
	DefaultRetryBackoffMax = kafkaconf.RetryBackoffMax // producer.retry.backoff.max.ms
	// saramaRetryMax is sarama's own retry count for a batch the broker
	// refused (or did not answer) with a retriable error. sarama keeps a
	// partition's order while it retries, but not once it gives up: it
	// bumps the idempotent epoch and writes the later records of the
	// partition it holds before the failed one can be re-sent. So, while
	// delivery is unbounded (the default), it retries in order with the
	// redelivery backoff for about 16 minutes (1000 retries, up to
	// retry.backoff.max.ms apart; each costs sarama 32 bytes of state per
	// partition) before the pipeline takes over; with a finite
	// delivery.timeout.ms or retries it gives up after about 7 s
	// (saramaRetryMaxBounded), so those bounds can be enforced, and order
	// after such a give-up is not guaranteed. A record whose leader sarama
	// cannot find (broker away) is handed back at once whatever the count,
	// before it is written, and re-sent in order by the pipeline.
	saramaRetryMax        = 1000
	saramaRetryMaxBounded = 10
)

// deliveryPolicy is the redelivery configuration read from the producer
// properties.
type deliveryPolicy struct {
	timeout    time.Duration // 0: unbounded
	retries    int           // < 0: unbounded
	backoff    time.Duration
	backoffMax time.Duration
}

// bounded reports whether a record may fail for not being acknowledged.
func (d deliveryPolicy) bounded() bool { return d.timeout > 0 || d.retries >= 0 }

// saramaRetries is sarama's Producer.Retry.Max under d.
func (d deliveryPolicy) saramaRetries() int {
	if d.bounded() {
		return saramaRetryMaxBounded
	}
	return saramaRetryMax
}

// next returns the backoff after d: doubled, capped at backoffMax.
func (d deliveryPolicy) next(b time.Duration) time.Duration {
	return min(2*b, max(d.backoffMax, d.backoff))
}

// parseDelivery takes the redelivery keys out of props (they are not
// sarama settings) and returns the policy and the remaining properties.
// retry.backoff.ms is also left for sarama's own retries.
func parseDelivery(prefix string, props map[string]string) (deliveryPolicy, map[string]string, error) {
	d := deliveryPolicy{retries: -1, backoff: DefaultRetryBackoff, backoffMax: DefaultRetryBackoffMax}
	rest := make(map[string]string, len(props))
	var errs []error
	for k, v := range props {
		v = strings.TrimSpace(v)
		switch k {
		case "delivery.timeout.ms":
			ms, err := kafkaconf.ParseMillis(prefix+k, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			// Integer.MAX_VALUE (Kafka Connect's forced value) and above: unbounded.
			if ms/time.Millisecond < math.MaxInt32 {
				d.timeout = ms
			}
		case "retries":
			n, err := kafkaconf.ParseInt(prefix+k, v, 0)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if n < math.MaxInt32 {
				d.retries = n
			}
		case "retry.backoff.max.ms":
			ms, err := kafkaconf.ParseMillis(prefix+k, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			d.backoffMax = ms
		case "max.block.ms":
			// Kafka Connect forces MAX on task producers; Sluice never
			// gives up a send on metadata either (it waits, stalled).
			if _, err := kafkaconf.ParseMillis(prefix+k, v); err != nil {
				errs = append(errs, err)
			}
		case "retry.backoff.ms":
			ms, err := kafkaconf.ParseMillis(prefix+k, v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			d.backoff = ms
			rest[k] = v
		default:
			rest[k] = v
		}
	}
	if d.backoff <= 0 {
		d.backoff = time.Millisecond
	}
	return d, rest, errors.Join(errs...)
}

// newAsyncProducer creates a task's producer unless Config.SaramaProducer
// is set; the runtime's own benchmarks replace it with one that needs no
// broker.
var newAsyncProducer = newBatchProducer

// newBatchProducer is Sluice's batch producer, or sarama's transactional
// producer for an exactly-once task (cfg has a transactional id).
func newBatchProducer(addrs []string, cfg *sarama.Config) (sarama.AsyncProducer, error) {
	if cfg.Producer.Transaction.ID != "" {
		return sarama.NewAsyncProducer(addrs, cfg)
	}
	return kproduce.New(addrs, cfg)
}

// openProducer creates the task's producer and starts its ack loop,
// retrying with backoff while the brokers are unreachable (a retriable
// error) until ctx is done; r.producer stays nil then. A non-retriable error
// is returned.
func (r *taskRunner) openProducer(ctx context.Context) error {
	backoff := r.delivery.backoff
	for {
		open := newAsyncProducer
		if r.p.cfg.SaramaProducer {
			open = sarama.NewAsyncProducer
		}
		p, err := open(r.p.cfg.Brokers, r.pcfg)
		if err == nil {
			r.producer = p
			if r.txn != nil {
				r.txnProducer.Store(producerBox{p})
			}
			done := make(chan struct{})
			r.ackDone = done
			ackCtx := context.WithoutCancel(ctx)
			go func() { defer close(done); r.ackLoop(ackCtx, p) }()
			return nil
		}
		if !kafkaconf.Retriable(err) {
			return err
		}
		r.setStall(fmt.Errorf("connector %q task %d: stage %s: creating producer: %w", r.p.cfg.Name, r.id, connect.StageKafkaProduce, err))
		r.log.Warn("cannot create the producer (brokers unreachable?); retrying", "error", err, "delay", backoff)
		if !errhandler.Sleep(ctx, backoff) {
			return nil
		}
		backoff = r.delivery.next(backoff)
	}
}

// errFenced is returned by msgSlot.Encode for a record sent after one the
// pipeline keeps for redelivery: sarama then hands it back unwritten.
var errFenced = errors.New("source: held back behind a record being re-sent")

// Encode implements sarama.Encoder for the record's value. sarama encodes a
// record when it adds it to a batch. A record the pipeline keeps for
// redelivery leaves later records of the same pipeline inside the producer;
// were they written (the broker back) before it is re-sent, a partition's
// order would break. So, while a redelivery is under way, a record sent
// after the oldest kept one, other than by the redelivery itself, is
// refused here: sarama returns it unwritten (and without a sequence number)
// and the pipeline re-sends it in order. Its cost when no redelivery runs
// is one atomic load.
func (s *msgSlot) Encode() ([]byte, error) {
	if s.seq > s.r.fenceSeq.Load() && !s.resent {
		return nil, errFenced
	}
	return s.val, nil
}

// lowerFence makes Encode refuse the records sent after seq.
func (r *taskRunner) lowerFence(seq uint64) {
	for {
		f := r.fenceSeq.Load()
		if seq >= f || r.fenceSeq.CompareAndSwap(f, seq) {
			return
		}
	}
}

// Length implements sarama.Encoder.
func (s *msgSlot) Length() int { return len(s.val) }

// keepForRetry is called by the ack loop for a record that failed with a
// retriable error: it is kept for redelivery and the poll loop is told to
// stop sending.
func (r *taskRunner) keepForRetry(producer sarama.AsyncProducer, s *msgSlot, err error) {
	if !errors.Is(err, errFenced) || s.lastErr == nil {
		s.lastErr = err
	}
	r.lowerFence(s.seq) // later records are held back from here on (see Encode)
	if errors.Is(err, errFenced) || s.tooLarge {
		r.retryMu.Lock()
		r.retryQ = append(r.retryQ, s)
		r.retryMu.Unlock()
		r.kept.Add(1)
		r.recovering.Store(true)
		return
	}
	r.setStall(connect.NewRecordError(r.p.cfg.Name, r.id, connect.StageKafkaProduce, producer, s.rec, 1+s.resends,
		fmt.Errorf("producing to topic %s (retrying until acknowledged): %w", s.msg.Topic, err)))
	r.retryMu.Lock()
	r.retryQ = append(r.retryQ, s)
	r.retryMu.Unlock()
	r.kept.Add(1)
	if !r.recovering.Swap(true) {
		r.log.Warn("retriable produce error: sending paused, re-sending until acknowledged", "topic", s.msg.Topic, "error", err)
	}
	select {
	case r.space <- struct{}{}: // wake the poll loop if it waits for space
	default:
	}
}

// takeRetries returns the kept records in send order and empties the queue.
func (r *taskRunner) takeRetries(more []*msgSlot) []*msgSlot {
	r.retryMu.Lock()
	q := append(r.retryQ, more...)
	r.retryQ = nil
	r.retryMu.Unlock()
	slices.SortFunc(q, func(a, b *msgSlot) int { return cmp.Compare(a.seq, b.seq) })
	return q
}

// requeue puts records back into the retry queue (when stopping).
func (r *taskRunner) requeue(q []*msgSlot) {
	r.retryMu.Lock()
	r.retryQ = append(r.retryQ, q...)
	r.retryMu.Unlock()
}

// waitResolved waits until the producer holds no unresolved message. It
// returns false when ctx is done or the task failed.
func (r *taskRunner) waitResolved(ctx context.Context) bool {
	for r.pending.Load() > 0 {
		if ctx.Err() != nil || r.failed() != nil {
			return false
		}
		t := time.NewTimer(2 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	return ctx.Err() == nil && r.failed() == nil
}

// redeliver re-sends the records kept after retriable produce errors until
// every one is acknowledged (or failed for good under the delivery bounds),
// then lets polling resume. It returns nil when done or stopping (ctx done),
// or the task's failure.
func (r *taskRunner) redeliver(ctx context.Context) error {
	backoff := r.delivery.backoff
	var carry []*msgSlot // kept records not re-sent yet in this round
	defer func() {
		if len(carry) > 0 {
			r.requeue(carry)
		}
	}()
	for {
		if !r.waitResolved(ctx) {
			return r.failed()
		}
		q := r.takeRetries(carry)
		carry = nil
		q = r.expire(ctx, q)
		if err := r.failed(); err != nil {
			carry = q
			return err
		}
		if len(q) == 0 {
			r.retryMu.Lock()
			empty := len(r.retryQ) == 0
			if empty {
				r.fenceSeq.Store(math.MaxUint64)
				r.recovering.Store(false)
			}
			r.retryMu.Unlock()
			if empty {
				r.clearStall()
				r.log.Info("redelivery done: sending resumes")
				return nil
			}
			continue
		}
		carry = q
		if !errhandler.Sleep(ctx, backoff) {
			return nil
		}
		backoff = r.delivery.next(backoff)
		// A fresh producer: the old one's idempotent sequence numbers
		// may have gaps the broker would refuse.
		if r.producer != nil {
			r.producer.AsyncClose()
			<-r.ackDone
			r.producer = nil
		}
		if err := r.openProducer(ctx); err != nil {
			err = r.errorf(connect.StageKafkaProduce, r.task, q[0].rec, fmt.Errorf("creating producer: %w", err))
			r.fail(err)
			return err
		}
		if r.producer == nil {
			return nil // stopping
		}
		// The oldest record alone first: the others follow once the
		// broker took it.
		q[0].alone = true
		if !r.resend(ctx, q[0]) {
			return nil
		}
		carry = q[1:]
		if !r.waitResolved(ctx) {
			return r.failed()
		}
		r.retryMu.Lock()
		failedAgain := len(r.retryQ) > 0
		r.retryMu.Unlock()
		if failedAgain {
			continue
		}
		backoff = r.delivery.backoff
		carry = nil
		for i, s := range q[1:] {
			// A re-sent record that came back retriable must not be
			// overtaken by later ones: send no more in this round (the
			// next round re-sends it first). This narrows, but cannot
			// close, the window of records already in sarama's hands.
			r.retryMu.Lock()
			failedAgain = len(r.retryQ) > 0
			r.retryMu.Unlock()
			if failedAgain {
				carry = q[1+i:]
				break
			}
			// s belongs to the ack loop once sent: read it before.
			alone := s.tooLarge
			if alone {
				// Alone: wait for the records before it, and for it.
				if !r.waitResolved(ctx) {
					carry = q[1+i:]
					return r.failed()
				}
			}
			s.alone = alone
			if !r.resend(ctx, s) {
				carry = q[1+i:]
				return nil
			}
			if alone && !r.waitResolved(ctx) {
				carry = q[2+i:]
				return r.failed()
			}
		}
	}
}

// resend hands a kept record to the producer again. It returns false when
// ctx is done first.
func (r *taskRunner) resend(ctx context.Context, s *msgSlot) bool {
	s.resent = true
	if !s.tooLarge {
		s.resends++ // a batch-mate re-sent alone is not retrying a fault of its own
	}
	r.pending.Add(1)
	r.kept.Add(-1)
	select {
	case r.producer.Input() <- &s.msg:
		return true
	case <-ctx.Done():
		if !s.tooLarge {
			s.resends--
		}
		r.pending.Add(-1)
		r.kept.Add(1)
		return false
	}
}

// expire fails the kept records that exceeded producer.delivery.timeout.ms
// or producer.retries (through errors.tolerance) and returns the others.
func (r *taskRunner) expire(ctx context.Context, q []*msgSlot) []*msgSlot {
	d := r.delivery
	if d.timeout <= 0 && d.retries < 0 {
		return q
	}
	now := time.Now().UnixNano()
	out := q[:0]
	for i, s := range q {
		var why string
		switch {
		case d.timeout > 0 && time.Duration(now-s.first) >= d.timeout:
			why = fmt.Sprintf("not acknowledged within delivery.timeout.ms (%d ms)", d.timeout.Milliseconds())
		case d.retries >= 0 && s.resends >= d.retries:
			why = fmt.Sprintf("not acknowledged after %d retries (retries=%d)", s.resends, d.retries)
		default:
			out = append(out, s)
			continue
		}
		var component any = r.task
		if r.producer != nil {
			component = r.producer
		}
		r.kept.Add(-1)
		r.produceFailed(ctx, component, s, fmt.Errorf("producing to topic %s: %s: %w", s.msg.Topic, why, s.lastErr))
		if r.failed() != nil {
			// Not tolerated: the task fails; the rest stays uncommitted.
			return append(out, q[i+1:]...)
		}
	}
	return out
}

// producerRetrying is called by sarama (through its BackoffFunc) before it
// retries a produce request the broker refused or did not answer: the task
// is stalled until an acknowledgement arrives. sarama does not say why;
// if it gives up, the pipeline's redelivery shows the broker's error.
func (r *taskRunner) producerRetrying(retries int) {
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	if r.stallErr != nil && !r.retryStall.Load() {
		return // a more precise error is shown
	}
	if r.stallErr == nil {
		r.stallSince = time.Now()
	}
	r.stallErr = fmt.Errorf("connector %q task %d: stage %s: the broker has not acknowledged a produce request after %d attempts; the producer retries it in order (leader change, not enough in-sync replicas, request timeout, broker away)",
		r.p.cfg.Name, r.id, connect.StageKafkaProduce, retries+1)
	r.retryStall.Store(true)
}

// clearRetryStall clears producerRetrying's stall on an acknowledgement.
func (r *taskRunner) clearRetryStall() {
	r.stallMu.Lock()
	if r.retryStall.Load() {
		r.stallErr, r.stallSince = nil, time.Time{}
		r.retryStall.Store(false)
	}
	r.stallMu.Unlock()
}

// setStall records the retriable error the task keeps getting.
func (r *taskRunner) setStall(err error) {
	r.stallMu.Lock()
	if r.stallErr == nil {
		r.stallSince = time.Now()
	}
	r.stallErr = err
	r.retryStall.Store(false)
	r.stallMu.Unlock()
}

// clearStall says the task progresses again.
func (r *taskRunner) clearStall() {
	r.stallMu.Lock()
	r.stallErr, r.stallSince = nil, time.Time{}
	r.retryStall.Store(false)
	r.stallMu.Unlock()
}

func (r *taskRunner) stall() (since time.Time, err error) {
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	return r.stallSince, r.stallErr
}
