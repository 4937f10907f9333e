package errhandler

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/sluicehq/sluice/connect"
)

// RetryDelayMin is the first retry delay of Kafka Connect's schedule; it
// doubles per attempt.
const RetryDelayMin = 300 * time.Millisecond

// Clock and Timer let tests replace wall-clock time; they are cenkalti/backoff
// types.
type (
	Clock = backoff.Clock
	Timer = backoff.Timer
)

// schedule is Kafka Connect's retry schedule as a backoff.BackOff: the n-th
// retry waits 300 ms << (n-1); once that exceeds maxDelay, a uniform random
// delay in [0, maxDelay); every delay is clipped to the time left before the
// deadline, and after the deadline there is no further retry. A retry-after
// hint from the last error replaces the computed delay.
type schedule struct {
	clock    Clock
	rand     func(n int64) int64
	maxDelay time.Duration
	deadline time.Time // zero: no deadline
	attempt  int
	hint     time.Duration
}

func (s *schedule) Reset() { s.attempt = 0 }

func (s *schedule) NextBackOff() time.Duration {
	now := s.clock.Now()
	if !s.deadline.IsZero() && !now.Before(s.deadline) {
		return backoff.Stop
	}
	s.attempt++
	d := s.maxDelay + 1
	if s.attempt <= 30 {
		d = RetryDelayMin << (s.attempt - 1)
	}
	if d > s.maxDelay {
		d = 0
		if s.maxDelay > 0 {
			d = time.Duration(s.rand(int64(s.maxDelay)))
		}
	}
	if s.hint > 0 {
		d, s.hint = s.hint, 0
	}
	if !s.deadline.IsZero() {
		if left := s.deadline.Sub(now); d > left {
			d = left
		}
	}
	return d
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func defaultRand(n int64) int64 { return rand.Int64N(n) }

// retry runs op until it succeeds, fails with a non-retriable error, or the
// schedule ends (timeout < 0: never; 0: no retry). first is the error of an
// attempt already made (so the success path never reaches this code). It
// returns the number of attempts (including the first) and the last error.
// onRetry is called before each wait.
func (h *Handler) retry(ctx context.Context, timeout time.Duration, first error, op func(context.Context) error, onRetry func(err error, d time.Duration)) (int, error) {
	if first == nil || !connect.IsRetriable(first) || timeout == 0 {
		return 1, first
	}
	s := &schedule{clock: h.clock, rand: h.rand, maxDelay: h.cfg.RetryDelayMax}
	if timeout > 0 {
		s.deadline = h.clock.Now().Add(timeout)
	}
	attempts := 0
	var last error
	operation := func() error {
		attempts++
		if attempts == 1 {
			last = first // replay the attempt already made
		} else {
			last = op(ctx)
		}
		if last == nil {
			return nil
		}
		if !connect.IsRetriable(last) {
			return backoff.Permanent(last)
		}
		if hint, ok := connect.RetryAfterHint(last); ok {
			s.hint = hint
		}
		return last
	}
	notify := func(err error, d time.Duration) {
		if onRetry != nil {
			onRetry(err, d)
		}
	}
	if err := backoff.RetryNotifyWithTimer(operation, backoff.WithContext(s, ctx), notify, h.newTimer()); err == nil {
		return attempts, nil
	}
	return attempts, last
}

// sleep waits d on the handler's timer; false when ctx ended first.
func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := h.newTimer()
	defer t.Stop()
	t.Start(d)
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

type realTimer struct{ t *time.Timer }

func (r *realTimer) Start(d time.Duration) {
	if r.t == nil {
		r.t = time.NewTimer(d)
	} else {
		r.t.Reset(d)
	}
}

func (r *realTimer) Stop() {
	if r.t != nil {
		r.t.Stop()
	}
}

func (r *realTimer) C() <-chan time.Time { return r.t.C }
