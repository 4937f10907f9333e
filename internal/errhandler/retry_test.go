package errhandler

import (
	"context"
	stderrors "errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/sluicehq/sluice/connect"
)

var errTransient = connect.Retriable(stderrors.New("broker busy"))

// TestExecuteRetryScheduleDoubles: an op failing retriably k times and then
// succeeding is retried after 300, 600, 1200 ... ms (Kafka Connect's
// RETRIES_DELAY_MIN_MS << attempt), succeeds, and is counted as k failed
// attempts and k retries but no record error.
func TestExecuteRetryScheduleDoubles(t *testing.T) {
	for k := 1; k <= 6; k++ {
		rec := newRecorder()
		h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, rec.option())
		op := failing(k, errTransient)
		skip, err := h.Execute(context.Background(), connect.StageValueConverter, &fakeConverter{}, sinkRecord(), nil, op.op)
		if skip || err != nil {
			t.Fatalf("k=%d: Execute = (%v, %v), want (false, nil)", k, skip, err)
		}
		if op.n() != k+1 {
			t.Errorf("k=%d: op called %d times, want %d", k, op.n(), k+1)
		}
		var want []time.Duration
		for i := range k {
			want = append(want, 300*time.Millisecond<<i)
		}
		if got := rec.recorded(); !equalDurations(got, want) {
			t.Errorf("k=%d: waits %v, want %v", k, got, want)
		}
		if got, want := countsOf(h.Metrics()), (counts{RecordFailures: int64(k), Retries: int64(k)}); got != want {
			t.Errorf("k=%d: metrics %+v, want %+v", k, got, want)
		}
		if ts := h.Metrics().LastErrorTimestamp.Load(); ts != 0 {
			t.Errorf("k=%d: LastErrorTimestamp = %d, want 0 (the record succeeded)", k, ts)
		}
	}
}

// TestExecuteRetryTimeoutKafkaEvidence reproduces Kafka Connect's
// RetryWithToleranceOperatorTest#testExecAndHandleRetriableErrorWithMaxRetriesExceeded:
// errors.retry.timeout=6000 and an op that always fails retriably wait
// exactly 300, 600, 1200, 2400 and 1500 ms (the last clipped to the
// deadline), i.e. 1 attempt + 5 retries. Under tolerance none the task then
// fails (KAFKA-18073: the record is not silently skipped); under all the
// record is skipped and reported.
func TestExecuteRetryTimeoutKafkaEvidence(t *testing.T) {
	wantWaits := msList(300, 600, 1200, 2400, 1500)

	t.Run("none", func(t *testing.T) {
		rec := newRecorder()
		log := &calls{}
		h := New(sluiceerrors.Config{RetryTimeout: 6 * time.Second}, "orders-sink", 1, rec.option(),
			WithReporters(&recordingReporter{name: "r", log: log}))
		op := &countingOp{f: always(errTransient)}
		skip, err := h.Execute(context.Background(), connect.StageTransformation, &fakeConverter{}, sinkRecord(), nil, op.op)
		if got := rec.recorded(); !equalDurations(got, wantWaits) {
			t.Fatalf("waits %v, want %v", got, wantWaits)
		}
		if skip {
			t.Fatal("skip = true under tolerance none")
		}
		re := asRecordError(t, err)
		if re.Attempts != 6 || op.n() != 6 {
			t.Errorf("RecordError.Attempts = %d, op calls = %d; want 6 and 6 (1 initial + 5 retries)", re.Attempts, op.n())
		}
		if re.Stage != connect.StageTransformation || re.Connector != "orders-sink" || re.Task != 1 {
			t.Errorf("RecordError = %+v", re)
		}
		if !strings.Contains(err.Error(), "stage TRANSFORMATION") || !strings.Contains(err.Error(), "after 6 attempt(s)") {
			t.Errorf("error %q lacks the stage or the attempt count", err)
		}
		if !stderrors.Is(err, errTransient) || !connect.IsRetriable(err) {
			t.Errorf("error %v does not wrap the last retriable cause", err)
		}
		if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 6, Retries: 5, RecordErrors: 1}); got != want {
			t.Errorf("metrics %+v, want %+v", got, want)
		}
		if got, want := h.Metrics().LastErrorTimestamp.Load(), epoch.Add(6*time.Second).UnixMilli(); got != want {
			t.Errorf("LastErrorTimestamp = %d, want %d (the fake clock after 6 s of waits)", got, want)
		}
		if n := len(log.all()); n != 1 {
			t.Errorf("reporters called %d times under tolerance none, want 1 (report, then fail)", n)
		}
	})

	t.Run("all", func(t *testing.T) {
		rec := newRecorder()
		log := &calls{}
		h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, RetryTimeout: 6 * time.Second}, "orders-sink", 1, rec.option(),
			WithReporters(&recordingReporter{name: "r", log: log}))
		skip, err := h.Execute(context.Background(), connect.StageTransformation, &fakeConverter{}, sinkRecord(), nil, always(errTransient))
		if !skip || err != nil {
			t.Fatalf("Execute = (%v, %v), want (true, nil)", skip, err)
		}
		if got := rec.recorded(); !equalDurations(got, wantWaits) {
			t.Fatalf("waits %v, want %v", got, wantWaits)
		}
		cs := log.all()
		if len(cs) != 1 || cs[0].f.Attempts != 6 || !stderrors.Is(cs[0].f.Err, errTransient) {
			t.Fatalf("reports %+v, want one failure with 6 attempts", cs)
		}
		if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 6, Retries: 5, RecordErrors: 1, RecordsSkipped: 1}); got != want {
			t.Errorf("metrics %+v, want %+v", got, want)
		}
	})
}

// TestExecuteJitterAboveMaxDelay: once 300 ms << n exceeds
// errors.retry.delay.max.ms the delay is rand(max) (uniform in [0, max));
// a delay equal to the max is not jittered.
func TestExecuteJitterAboveMaxDelay(t *testing.T) {
	rec := newRecorder()
	var mu sync.Mutex
	var args []int64
	outs := []time.Duration{123 * time.Millisecond, 0, 599 * time.Millisecond}
	rnd := func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		args = append(args, n)
		return int64(outs[len(args)-1])
	}
	h := New(sluiceerrors.Config{RetryTimeout: -1, RetryDelayMax: 600 * time.Millisecond}, "c", 0, rec.option(), WithRand(rnd))
	op := failing(5, errTransient)
	if skip, err := h.Execute(context.Background(), connect.StageKeyConverter, nil, nil, nil, op.op); skip || err != nil {
		t.Fatalf("Execute = (%v, %v)", skip, err)
	}
	want := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, outs[0], outs[1], outs[2]}
	if got := rec.recorded(); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if len(args) != 3 {
		t.Fatalf("rand called %d times, want 3 (only for the delays above the max)", len(args))
	}
	for _, n := range args {
		if n != int64(600*time.Millisecond) {
			t.Errorf("rand(%d), want rand(%d): the bound is errors.retry.delay.max.ms", n, int64(600*time.Millisecond))
		}
	}
}

// TestExecuteJitterDefaultRandInRange: with the default random source the
// jittered delays stay in [0, max).
func TestExecuteJitterDefaultRandInRange(t *testing.T) {
	rec := newRecorder()
	const max = 1000 * time.Millisecond
	h := New(sluiceerrors.Config{RetryTimeout: -1, RetryDelayMax: max}, "c", 0, rec.option())
	op := failing(200, errTransient)
	if _, err := h.Execute(context.Background(), connect.StageKeyConverter, nil, nil, nil, op.op); err != nil {
		t.Fatal(err)
	}
	waits := rec.recorded()
	if len(waits) != 200 || waits[0] != 300*time.Millisecond || waits[1] != 600*time.Millisecond {
		t.Fatalf("waits %v", waits[:min(len(waits), 3)])
	}
	distinct := map[time.Duration]bool{}
	for i, d := range waits[2:] {
		if d < 0 || d >= max {
			t.Errorf("wait %d = %v, want in [0, %v)", i+2, d, max)
		}
		distinct[d] = true
	}
	if len(distinct) < 100 {
		t.Errorf("only %d distinct jittered delays out of 198: not random", len(distinct))
	}
}

// TestExecuteRetryWithoutLimit: errors.retry.timeout=-1 retries until the
// op succeeds, past the point where the doubling would overflow (attempt
// > 30), jittering every delay above the 60 s default maximum.
func TestExecuteRetryWithoutLimit(t *testing.T) {
	rec := newRecorder()
	rnd := func(n int64) int64 {
		if n != int64(sluiceerrors.DefaultRetryDelayMax) {
			t.Errorf("rand(%d), want rand(%d)", n, int64(sluiceerrors.DefaultRetryDelayMax))
		}
		return n - 1
	}
	h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, rec.option(), WithRand(rnd))
	op := failing(40, errTransient)
	skip, err := h.Execute(context.Background(), connect.StageValueConverter, nil, nil, nil, op.op)
	if skip || err != nil {
		t.Fatalf("Execute = (%v, %v), want success after 40 retries", skip, err)
	}
	if op.n() != 41 {
		t.Errorf("op called %d times, want 41", op.n())
	}
	waits := rec.recorded()
	if len(waits) != 40 {
		t.Fatalf("%d waits, want 40", len(waits))
	}
	// 300 ms << 7 = 38.4 s is the last below 60 s; << 8 = 76.8 s is jittered.
	for i, d := range waits {
		want := sluiceerrors.DefaultRetryDelayMax - 1
		if i < 8 {
			want = 300 * time.Millisecond << i
		}
		if d != want {
			t.Errorf("wait %d = %v, want %v", i, d, want)
		}
	}
}

// TestExecuteRetryAfterHint: a connect.RetryAfter hint replaces the
// computed delay of that retry (even above the maximum); the schedule
// carries on afterwards; the hint is still clipped to the deadline.
func TestExecuteRetryAfterHint(t *testing.T) {
	t.Run("replaces", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{RetryTimeout: -1, RetryDelayMax: time.Second}, "c", 0, rec.option())
		op := &scripted{errs: []error{
			connect.RetryAfter(stderrors.New("throttled"), 5*time.Second),
			errTransient,
			connect.RetryAfter(stderrors.New("throttled"), 42*time.Millisecond),
		}}
		if _, err := h.Execute(context.Background(), connect.StageTaskPut, nil, nil, nil, op.op); err != nil {
			t.Fatal(err)
		}
		if got, want := rec.recorded(), msList(5000, 600, 42); !equalDurations(got, want) {
			t.Errorf("waits %v, want %v", got, want)
		}
	})
	t.Run("clipped to deadline", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{RetryTimeout: time.Second}, "c", 0, rec.option())
		op := &countingOp{f: always(connect.RetryAfter(io.ErrUnexpectedEOF, 5*time.Second))}
		_, err := h.Execute(context.Background(), connect.StageTaskPut, nil, nil, nil, op.op)
		if got, want := rec.recorded(), msList(1000); !equalDurations(got, want) {
			t.Errorf("waits %v, want %v", got, want)
		}
		if re := asRecordError(t, err); re.Attempts != 2 || op.n() != 2 {
			t.Errorf("attempts %d, calls %d; want 2, 2", re.Attempts, op.n())
		}
	})
}

// TestExecuteNoRetry: errors.retry.timeout=0 (the default), a non-retriable
// error, or a retriable error marked Fatal (in either nesting order) are
// attempted once and never waited on.
func TestExecuteNoRetry(t *testing.T) {
	cases := []struct {
		name    string
		timeout time.Duration
		err     error
	}{
		{"timeout 0", 0, errTransient},
		{"non-retriable", -1, stderrors.New("bad data")},
		{"fatal(retriable)", -1, connect.Fatal(errTransient)},
		{"retriable(fatal)", -1, connect.Retriable(connect.Fatal(io.EOF))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder()
			h := New(sluiceerrors.Config{RetryTimeout: c.timeout}, "c", 0, rec.option())
			// A regression that retries would loop for ever on the instant
			// fake timer: give up after 50 calls instead of hanging.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			op := &countingOp{}
			op.f = func(context.Context) error {
				if op.n() >= 50 {
					cancel()
				}
				return c.err
			}
			skip, err := h.Execute(ctx, connect.StageValueConverter, nil, nil, nil, op.op)
			if skip {
				t.Error("skip under tolerance none")
			}
			re := asRecordError(t, err)
			if re.Attempts != 1 || op.n() != 1 {
				t.Errorf("attempts %d, op calls %d; want 1, 1", re.Attempts, op.n())
			}
			if !stderrors.Is(err, c.err) {
				t.Errorf("error %v does not wrap %v", err, c.err)
			}
			if w := rec.recorded(); len(w) != 0 {
				t.Errorf("waited %v", w)
			}
			if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 1, RecordErrors: 1}); got != want {
				t.Errorf("metrics %+v, want %+v", got, want)
			}
		})
	}
}

// TestExecuteRetriableThenPermanent: retries stop at the first
// non-retriable error, which is the one reported.
func TestExecuteRetriableThenPermanent(t *testing.T) {
	rec := newRecorder()
	h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, rec.option())
	bad := stderrors.New("schema mismatch")
	op := &scripted{errs: []error{errTransient, errTransient, bad}}
	_, err := h.Execute(context.Background(), connect.StageValueConverter, nil, nil, nil, op.op)
	re := asRecordError(t, err)
	if re.Attempts != 3 || op.n() != 3 || re.Err != bad {
		t.Errorf("attempts %d, calls %d, cause %v; want 3, 3, %v", re.Attempts, op.n(), re.Err, bad)
	}
	if got, want := rec.recorded(), msList(300, 600); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 3, Retries: 2, RecordErrors: 1}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}
}

// TestExecuteContextCancelledDuringWait: cancelling the context while the
// handler waits to retry ends Execute at once with ctx.Err(), without
// another attempt, without reporting, and without counting a record error.
func TestExecuteContextCancelledDuringWait(t *testing.T) {
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.onStart = func(*recTimer, time.Duration) { cancel() } // never fires
	log := &calls{}
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, RetryTimeout: -1}, "c", 0, rec.option(),
		WithReporters(&recordingReporter{name: "r", log: log}))
	op := &countingOp{f: always(errTransient)}
	skip, err := h.Execute(ctx, connect.StageValueConverter, nil, nil, nil, op.op)
	if skip || err != context.Canceled {
		t.Fatalf("Execute = (%v, %v), want (false, context.Canceled)", skip, err)
	}
	if op.n() != 1 {
		t.Errorf("op called %d times, want 1", op.n())
	}
	if n := len(log.all()); n != 0 {
		t.Errorf("%d reports after cancellation", n)
	}
	if n := h.Metrics().RecordErrors.Load(); n != 0 {
		t.Errorf("RecordErrors = %d after cancellation, want 0", n)
	}
}

// TestExecuteContextCancelledRealTimer: with the real clock, a wait of an
// hour (a retry-after hint) is cut short by cancellation.
func TestExecuteContextCancelledRealTimer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, quiet)
	started := make(chan struct{})
	var once sync.Once
	op := func(context.Context) error {
		once.Do(func() { close(started) })
		return connect.RetryAfter(io.ErrUnexpectedEOF, time.Hour)
	}
	go func() {
		<-started
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := h.Execute(ctx, connect.StageTaskPut, nil, nil, nil, op)
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Execute returned %v after cancellation, want promptly", d)
	}
}

// TestHandlerRetryTaskLevel: Handler.Retry (Poll, Put, commits) retries
// without limit when errors.retry.timeout is 0, within the timeout when it
// is positive, never retries a non-retriable error, and never counts record
// failures or errors.
func TestHandlerRetryTaskLevel(t *testing.T) {
	t.Run("timeout 0 is unlimited", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{}, "c", 0, rec.option())
		op := failing(12, errTransient)
		n, err := h.Retry(context.Background(), connect.StageTaskPoll, op.op)
		if n != 13 || err != nil {
			t.Fatalf("Retry = (%d, %v), want (13, nil)", n, err)
		}
		w := rec.recorded()
		if len(w) != 12 || w[0] != 300*time.Millisecond || w[7] != 38400*time.Millisecond {
			t.Errorf("waits %v", w)
		}
		if got, want := countsOf(h.Metrics()), (counts{Retries: 12}); got != want {
			t.Errorf("metrics %+v, want %+v", got, want)
		}
	})
	t.Run("timeout -1 is unlimited", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, rec.option())
		op := failing(3, errTransient)
		if n, err := h.Retry(context.Background(), connect.StageTaskPoll, op.op); n != 4 || err != nil {
			t.Fatalf("Retry = (%d, %v), want (4, nil)", n, err)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{RetryTimeout: time.Second}, "c", 0, rec.option())
		n, err := h.Retry(context.Background(), connect.StageOffsetCommit, always(errTransient))
		if n != 4 || err != errTransient {
			t.Fatalf("Retry = (%d, %v), want (4, %v)", n, err, errTransient)
		}
		if got, want := rec.recorded(), msList(300, 600, 100); !equalDurations(got, want) {
			t.Errorf("waits %v, want %v", got, want)
		}
	})
	t.Run("non-retriable", func(t *testing.T) {
		rec := newRecorder()
		h := New(sluiceerrors.Config{}, "c", 0, rec.option())
		bad := stderrors.New("auth failed")
		op := &countingOp{f: always(bad)}
		if n, err := h.Retry(context.Background(), connect.StageTaskPoll, op.op); n != 1 || err != bad || op.n() != 1 {
			t.Fatalf("Retry = (%d, %v) after %d calls, want (1, %v) after 1", n, err, op.n(), bad)
		}
	})
	t.Run("success", func(t *testing.T) {
		h := New(sluiceerrors.Config{}, "c", 0, quiet)
		if n, err := h.Retry(context.Background(), connect.StageTaskPoll, func(context.Context) error { return nil }); n != 1 || err != nil {
			t.Fatalf("Retry = (%d, %v)", n, err)
		}
	})
}

// TestScheduleDirect drives the backoff.BackOff directly: Reset restarts
// the doubling, and nothing is returned at or after the deadline.
func TestScheduleDirect(t *testing.T) {
	clock := newFakeClock()
	s := &schedule{clock: clock, rand: func(int64) int64 { t.Fatal("unexpected jitter"); return 0 }, maxDelay: time.Minute,
		deadline: clock.Now().Add(1000 * time.Millisecond)}
	var got []time.Duration
	for {
		d := s.NextBackOff()
		if d < 0 {
			break
		}
		got = append(got, d)
		clock.advance(d)
	}
	if want := msList(300, 600, 100); !equalDurations(got, want) {
		t.Errorf("schedule %v, want %v", got, want)
	}
	s.deadline = time.Time{}
	s.Reset()
	if d := s.NextBackOff(); d != 300*time.Millisecond {
		t.Errorf("after Reset: %v, want 300ms", d)
	}
}

// TestSleep covers the handler's interruptible wait.
func TestSleep(t *testing.T) {
	rec := newRecorder()
	h := New(sluiceerrors.Config{}, "c", 0, rec.option())
	if !h.sleep(context.Background(), 2*time.Second) {
		t.Error("sleep returned false with a live context")
	}
	if got := rec.clock.Now().Sub(epoch); got != 2*time.Second {
		t.Errorf("clock advanced %v, want 2s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h.sleep(ctx, 0) {
		t.Error("sleep(0) returned true with a cancelled context")
	}
	rec.onStart = func(*recTimer, time.Duration) {} // never fires
	if h.sleep(ctx, time.Hour) {
		t.Error("sleep returned true with a cancelled context")
	}
	real := New(sluiceerrors.Config{}, "c", 0, quiet)
	if !real.sleep(context.Background(), time.Millisecond) {
		t.Error("real sleep returned false")
	}
}
