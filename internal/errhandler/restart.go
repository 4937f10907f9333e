package errhandler

import (
	"context"
	"errors"
	"time"

	"github.com/sluicehq/sluice/connect"

	sluiceerrors "github.com/sluicehq/sluice/errors"
)

// Restarter tracks the restarts of one task under a policy. Not safe for
// concurrent use: the task's supervising goroutine owns it.
type Restarter struct {
	p     sluiceerrors.RestartPolicy
	times []time.Time
	count int
}

// NewRestarter returns a restarter for p, defaults applied.
func NewRestarter(p sluiceerrors.RestartPolicy) *Restarter {
	if p.Window == 0 {
		p.Window = 10 * time.Minute
	}
	if p.InitialDelay == 0 {
		p.InitialDelay = time.Second
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = time.Minute
	}
	return &Restarter{p: p}
}

// Next is called when the task failed at now: it returns the delay before
// restarting it, or ok=false when the policy gives up (disabled, or
// MaxRestarts restarts within Window already).
func (r *Restarter) Next(now time.Time) (delay time.Duration, ok bool) {
	if !r.p.Enabled() {
		return 0, false
	}
	kept := r.times[:0]
	for _, t := range r.times {
		if now.Sub(t) < r.p.Window {
			kept = append(kept, t)
		}
	}
	r.times = kept
	if len(r.times) >= r.p.MaxRestarts {
		return 0, false
	}
	delay = r.p.InitialDelay << min(len(r.times), 30)
	if delay > r.p.MaxDelay || delay <= 0 {
		delay = r.p.MaxDelay
	}
	r.times = append(r.times, now)
	r.count++
	return delay, true
}

// Count returns how many restarts were granted in total.
func (r *Restarter) Count() int { return r.count }

// Supervise runs a task under policy p: it calls run, and when run fails
// while ctx is live and the policy grants a restart, it calls restart with
// the failure, the restart count and the delay (to swap in a fresh task,
// which the next run call must use), waits the delay and runs again. It
// returns nil once ctx is done (calling cancelled if that happens during a
// wait), run's nil, or the failure the policy gave up on. With the policy
// off it is a single run. A failure matching connect.ErrFenced is never
// restarted.
func Supervise(ctx context.Context, p sluiceerrors.RestartPolicy, run func(context.Context) error,
	restart func(err error, restarts int, delay time.Duration), cancelled func()) error {
	r := NewRestarter(p)
	for {
		err := run(ctx)
		if err == nil || ctx.Err() != nil || errors.Is(err, connect.ErrFenced) {
			// A fenced task is not restarted: a newer instance runs it,
			// and the two would fence each other in turn.
			return err
		}
		delay, ok := r.Next(time.Now())
		if !ok {
			return err
		}
		restart(err, r.Count(), delay)
		if !Sleep(ctx, delay) {
			cancelled()
			return nil
		}
	}
}

// Sleep waits d or until ctx is done; it reports whether the full wait
// elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
