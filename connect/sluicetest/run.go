package sluicetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Deadlines of the suites' waits: conditions are polled until they hold, so
// these only bound how long a broken task takes to fail a check.
const (
	// waitTimeout bounds waiting for records to flow through a pipeline.
	waitTimeout = 60 * time.Second
	// returnTimeout bounds how long Poll, Put, Start and Stop may take to
	// return once their context is done (or, for Stop, at all).
	returnTimeout = 10 * time.Second
	// leakTimeout bounds how long goroutines a task started may take to
	// exit after Stop.
	leakTimeout = 10 * time.Second
	// pollInterval is the period of condition checks.
	pollInterval = 100 * time.Millisecond
)

// EnvLog is the environment variable that, when set, sends the logs of the
// pipelines the acceptance suites run to standard error (they are discarded
// otherwise).
const EnvLog = "SLUICETEST_LOG"

// logger returns the pipelines' logger.
func logger() *slog.Logger {
	if os.Getenv(EnvLog) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// running is a pipeline's Run on its own goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, once done is closed
}

// start calls run on a new goroutine; t.Cleanup stops it if the test did not.
func start(t *testing.T, run func(context.Context) error) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
	t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

// stop cancels the pipeline and waits for Run to return; it fails t if Run
// returned an error or did not return within waitTimeout.
func (r *running) stop(t *testing.T, what string) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: Run did not return within %s of its context being cancelled "+
			"(does the task's Poll/Put or Stop return when its context is done?)", what, waitTimeout)
	}
	if r.err != nil {
		t.Fatalf("%s: Run returned %v", what, r.err)
	}
}

// await polls cond until it holds; it fails t when the pipeline's Run
// returns first (a failed task) or after waitTimeout, with describe's text.
func (r *running) await(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		select {
		case <-r.done:
			t.Fatalf("%s: the pipeline stopped (a task failed): %v; %s", what, r.err, describe())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %s", what, waitTimeout, describe())
		}
	}
}

// returns runs f on a new goroutine and reports whether it returned within
// d. When it did not, f's goroutine is left running.
func returns(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// callErr runs f, turning a panic into an error.
func callErr(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return f()
}

// checkNoLeak fails t if goroutines other than those ignored (snapshot taken
// with goleak.IgnoreCurrent before the task started) are still running after
// leakTimeout.
func checkNoLeak(t *testing.T, ignore goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(leakTimeout)
	for {
		err := goleak.Find(ignore)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines the task started are still running %s after Stop returned:\n%v", leakTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errorLog records the calls of one task method (Poll or Put) made by a
// pipeline — entered, returned, in progress — and the errors they returned,
// for checks to inspect; safe for concurrent use.
type errorLog struct {
	mu          sync.Mutex
	errs        []error
	entered     int       // calls entered
	returned    int       // calls returned
	active      int       // calls in progress
	activeSince time.Time // when active last went from 0 to 1
}

// enter records that a call began.
func (l *errorLog) enter() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entered++
	if l.active == 0 {
		l.activeSince = time.Now()
	}
	l.active++
}

// add records that a call returned err (nil for an error the check must
// not judge).
func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.returned++
	l.active--
	if err != nil {
		l.errs = append(l.errs, err)
	}
}

// callStats is a snapshot of an errorLog's counts.
type callStats struct {
	entered, returned, active int
	activeSince               time.Time
	errs                      int
}

func (l *errorLog) stats() callStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return callStats{l.entered, l.returned, l.active, l.activeSince, len(l.errs)}
}

func (l *errorLog) snapshot() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// outageDwell is how long a call of the task that stays in progress through
// an outage (a task that retries inside Poll or Put, honouring its context)
// must have run into the outage before the check ends it.
const outageDwell = 2 * time.Second

// awaitOutage waits, once an outage began (at began, when calls held
// before), until the task has met it: a call of method entered after the
// outage began has returned (so it ran inside the outage), or a call has
// been in progress for outageDwell of the outage (a task retrying inside
// the call). Calls are counted when they begin, so a task blocked in a
// call during the outage is seen. It fails t as [running.await] does, with
// what was observed.
func (r *running) awaitOutage(t *testing.T, method string, calls *errorLog, began time.Time, before callStats) {
	t.Helper()
	r.await(t, "during the outage: "+method+" running into it", func() bool {
		s := calls.stats()
		if s.returned > before.entered {
			return true
		}
		if s.active == 0 {
			return false
		}
		since := s.activeSince
		if since.Before(began) {
			since = began
		}
		return time.Since(since) >= outageDwell
	}, func() string {
		s := calls.stats()
		progress := "no call is in progress"
		if s.active > 0 {
			progress = fmt.Sprintf("a call has been in progress for %s", time.Since(s.activeSince).Round(time.Millisecond))
		}
		var errs []error
		if all := calls.snapshot(); before.errs < len(all) {
			errs = all[before.errs:]
		}
		return fmt.Sprintf("in the %s since the outage began, %s was entered %d time(s) and returned %d time(s) "+
			"(%d error(s): %v); %s; wanted a call begun and returned during the outage, or one in progress "+
			"for %s of it",
			time.Since(began).Round(time.Millisecond), method, s.entered-before.entered, s.returned-before.returned,
			len(errs), errors.Join(errs...), progress, outageDwell)
	})
}
