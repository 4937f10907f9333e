package errhandler

import (
	"context"
	stderrors "errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// fakeClock is a Clock whose time only moves when advanced.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recorder makes Timers that record every wait, advance the fake clock by
// it and fire at once. onStart, when set, is called instead (it decides
// whether the timer fires).
type recorder struct {
	clock   *fakeClock
	mu      sync.Mutex
	waits   []time.Duration
	timers  int
	onStart func(t *recTimer, d time.Duration)
}

func newRecorder() *recorder { return &recorder{clock: newFakeClock()} }

func (r *recorder) newTimer() Timer {
	r.mu.Lock()
	r.timers++
	r.mu.Unlock()
	return &recTimer{r: r, c: make(chan time.Time, 1)}
}

func (r *recorder) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// option returns the WithClock option wiring r into a Handler, plus a
// logger that discards the retry notices.
func (r *recorder) option() Option {
	return func(h *Handler) {
		WithClock(r.clock, r.newTimer)(h)
		quiet(h)
	}
}

// quiet discards the handler's own log lines.
var quiet = WithLogger(slog.New(slog.DiscardHandler))

type recTimer struct {
	r *recorder
	c chan time.Time
}

func (t *recTimer) Start(d time.Duration) {
	t.r.mu.Lock()
	t.r.waits = append(t.r.waits, d)
	hook := t.r.onStart
	t.r.mu.Unlock()
	if hook != nil {
		hook(t, d)
		return
	}
	t.fire(d)
}

func (t *recTimer) fire(d time.Duration) {
	t.r.clock.advance(d)
	select {
	case t.c <- t.r.clock.Now():
	default:
	}
}

func (t *recTimer) Stop()               {}
func (t *recTimer) C() <-chan time.Time { return t.c }

// scripted is an operation that returns errs[i] on its i-th call and nil
// once errs is exhausted.
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *scripted) op(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= len(s.errs) {
		return s.errs[s.calls-1]
	}
	return nil
}

func (s *scripted) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// failing returns an op failing k times with err, then succeeding.
func failing(k int, err error) *scripted {
	s := &scripted{}
	for range k {
		s.errs = append(s.errs, err)
	}
	return s
}

// always returns an op that always fails with err.
func always(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

// countingOp wraps op and counts its calls.
type countingOp struct {
	mu    sync.Mutex
	calls int
	f     func(context.Context) error
}

func (c *countingOp) op(ctx context.Context) error {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.f(ctx)
}

func (c *countingOp) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func msList(ns ...int64) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = ms(n)
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fakeConverter stands in for a failing pipeline component; its Go type
// name is what reports call the class.
type fakeConverter struct{}

// parseError is a named error type that is not a standard-library wrapper.
type parseError struct{ at int }

func (e *parseError) Error() string { return "parse error at byte " + strconv.Itoa(e.at) }

// sinkRecord is a consumed record: orders/3@42, renamed by a transform.
func sinkRecord() *connect.Record {
	return &connect.Record{
		Topic: "orders-renamed", Partition: 3, HasPartition: true,
		Key: "k-1", Value: "v-1",
		Offset:        42,
		OriginalTopic: "orders", OriginalPartition: 3, OriginalOffset: 42,
		Timestamp: time.UnixMilli(1700000000123),
	}
}

// sourceRecord is a polled record of source partition {file=a.txt}.
func sourceRecord() *connect.Record {
	return &connect.Record{
		Topic:           "lines",
		Key:             "k-2",
		Value:           "hello",
		SourcePartition: map[string]any{"file": "a.txt"},
		SourceOffset:    map[string]any{"pos": 7},
		Timestamp:       time.UnixMilli(1700000000456),
	}
}

// call is one Report call seen by a recordingReporter.
type call struct {
	name      string
	connector string
	task      int
	f         *Failure
}

// calls is a shared, ordered log of Report calls.
type calls struct {
	mu  sync.Mutex
	log []call
}

func (c *calls) all() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]call(nil), c.log...)
}

// recordingReporter appends each Report call to log and returns err.
type recordingReporter struct {
	name string
	log  *calls
	err  error
}

func (r *recordingReporter) Report(_ context.Context, connector string, task int, f *Failure) error {
	r.log.mu.Lock()
	r.log.log = append(r.log.log, call{r.name, connector, task, f})
	r.log.mu.Unlock()
	return r.err
}

// asRecordError fails t unless err is (or wraps) a *connect.RecordError.
func asRecordError(t *testing.T, err error) *connect.RecordError {
	t.Helper()
	var re *connect.RecordError
	if !stderrors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *connect.RecordError", err, err)
	}
	return re
}

// snapshot compares the counters that matter for the handler.
type counts struct {
	RecordFailures, RecordErrors, RecordsSkipped, Retries int64
}

func countsOf(m *Metrics) counts {
	s := m.Snapshot()
	return counts{s.RecordFailures, s.RecordErrors, s.RecordsSkipped, s.Retries}
}
