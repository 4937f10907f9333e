package sluicetest

import (
	"context"
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

// errorLog collects the errors a wrapped task returned, for checks to
// inspect; safe for concurrent use.
type errorLog struct {
	mu   sync.Mutex
	errs []error
	n    int // calls
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if err != nil {
		l.errs = append(l.errs, err)
	}
}

func (l *errorLog) calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *errorLog) snapshot() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}
