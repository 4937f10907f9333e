package errhandler

import (
	"context"
	stderrors "errors"
	"strings"
	"sync"
	"testing"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/sluicehq/sluice/connect"
)

// TestToleranceNone: under errors.tolerance=none a failed record fails the
// task with a *connect.RecordError naming connector, task, stage, class and
// the record's coordinates; it is counted as a record error, not skipped,
// and reported (log, dead-letter queue) before the task fails, as Kafka
// Connect does.
func TestToleranceNone(t *testing.T) {
	cause := stderrors.New("unexpected token")
	t.Run("sink record", func(t *testing.T) {
		rec := newRecorder()
		log := &calls{}
		h := New(sluiceerrors.Config{}, "orders-sink", 2, rec.option(), WithReporters(&recordingReporter{name: "r", log: log}))
		skip, err := h.Execute(context.Background(), connect.StageValueConverter, &fakeConverter{}, sinkRecord(), &RawRecord{Topic: "orders"}, always(cause))
		if skip {
			t.Fatal("skip = true under tolerance none")
		}
		const want = `connector "orders-sink" task 2 stage VALUE_CONVERTER (*errhandler.fakeConverter) failed on topic orders partition 3 offset 42 after 1 attempt(s): unexpected token`
		if err == nil || err.Error() != want {
			t.Fatalf("error\n %v\nwant\n %s", err, want)
		}
		re := asRecordError(t, err)
		if re.Connector != "orders-sink" || re.Task != 2 || re.Stage != connect.StageValueConverter ||
			re.Class != "*errhandler.fakeConverter" || re.Topic != "orders" || re.Partition != 3 || re.Offset != 42 || re.Attempts != 1 {
			t.Errorf("RecordError fields %+v", re)
		}
		if !stderrors.Is(err, cause) {
			t.Error("error does not wrap the cause")
		}
		if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 1, RecordErrors: 1}); got != want {
			t.Errorf("metrics %+v, want %+v", got, want)
		}
		if got, want := h.Metrics().Snapshot().LastError, epoch; !got.Equal(want) {
			t.Errorf("LastError = %v, want %v", got, want)
		}
		if n := len(log.all()); n != 1 {
			t.Errorf("reporters called %d times under tolerance none, want 1", n)
		}
	})
	t.Run("source record", func(t *testing.T) {
		h := New(sluiceerrors.Config{}, "files", 0, quiet)
		_, err := h.Execute(context.Background(), connect.StageTransformation, &fakeConverter{}, sourceRecord(), nil, always(cause))
		const want = `connector "files" task 0 stage TRANSFORMATION (*errhandler.fakeConverter) failed on source partition {file=a.txt} offset {pos=7} (topic lines) after 1 attempt(s): unexpected token`
		if err == nil || err.Error() != want {
			t.Fatalf("error\n %v\nwant\n %s", err, want)
		}
	})
}

// TestToleranceAll: under errors.tolerance=all the failure goes to every
// reporter in order, the record is skipped, and every counter moves:
// RecordFailures counts each failed attempt including retries.
func TestToleranceAll(t *testing.T) {
	rec := newRecorder()
	log := &calls{}
	shared := new(Metrics)
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, RetryTimeout: time.Second}, "orders-sink", 2, rec.option(),
		WithMetrics(shared),
		WithReporters(&recordingReporter{name: "log", log: log}, &recordingReporter{name: "dlq", log: log}))
	if h.Metrics() != shared {
		t.Fatal("WithMetrics not honoured")
	}
	r, raw := sinkRecord(), &RawRecord{Topic: "orders", Partition: 3, Offset: 42, Value: []byte("{")}
	comp := &fakeConverter{}
	skip, err := h.Execute(context.Background(), connect.StageValueConverter, comp, r, raw, always(errTransient))
	if !skip || err != nil {
		t.Fatalf("Execute = (%v, %v), want (true, nil)", skip, err)
	}
	cs := log.all()
	if len(cs) != 2 || cs[0].name != "log" || cs[1].name != "dlq" {
		t.Fatalf("reports %+v, want log then dlq", cs)
	}
	for _, c := range cs {
		f := c.f
		if c.connector != "orders-sink" || c.task != 2 || f.Stage != connect.StageValueConverter || f.Component != comp ||
			f.Record != r || f.Raw != raw || f.Err != errTransient || f.Attempts != 4 {
			t.Errorf("%s got %s/%d %+v", c.name, c.connector, c.task, f)
		}
	}
	// Waits 300 + 600 + 100 (clipped): 4 attempts, 3 retries.
	if got, want := rec.recorded(), msList(300, 600, 100); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if got, want := countsOf(shared), (counts{RecordFailures: 4, Retries: 3, RecordErrors: 1, RecordsSkipped: 1}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}
	if got, want := shared.LastErrorTimestamp.Load(), epoch.Add(time.Second).UnixMilli(); got != want {
		t.Errorf("LastErrorTimestamp = %d, want %d", got, want)
	}

	// A second failed record adds to the counters.
	rec.clock.advance(time.Minute)
	if skip, err := h.Execute(context.Background(), connect.StageKeyConverter, comp, r, raw, always(stderrors.New("x"))); !skip || err != nil {
		t.Fatalf("second Execute = (%v, %v)", skip, err)
	}
	if got, want := countsOf(shared), (counts{RecordFailures: 5, Retries: 3, RecordErrors: 2, RecordsSkipped: 2}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}
	if got, want := shared.Snapshot().LastError, epoch.Add(time.Second+time.Minute); !got.Equal(want) {
		t.Errorf("LastError = %v, want %v", got, want)
	}
}

// TestReporterFailureFailsTask: a reporter that cannot report fails the
// task with a *ReportError inside a *connect.RecordError, so the record is
// never silently dropped; later reporters are not asked.
func TestReporterFailureFailsTask(t *testing.T) {
	log := &calls{}
	dlqDown := stderrors.New("dead-letter queue unreachable")
	cause := stderrors.New("bad record")
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll}, "orders-sink", 2, quiet,
		WithReporters(&recordingReporter{name: "dlq", log: log, err: dlqDown}, &recordingReporter{name: "log", log: log}))
	skip, err := h.Execute(context.Background(), connect.StageTaskPut, &fakeConverter{}, sinkRecord(), nil, always(cause))
	if skip || err == nil {
		t.Fatalf("Execute = (%v, %v), want a task failure", skip, err)
	}
	re := asRecordError(t, err)
	var rep *ReportError
	if !stderrors.As(err, &rep) {
		t.Fatalf("error %v does not wrap a *ReportError", err)
	}
	if rep.Err != dlqDown || rep.Cause != cause || re.Err != rep {
		t.Errorf("ReportError %+v inside %+v", rep, re)
	}
	if !stderrors.Is(err, dlqDown) || !stderrors.Is(err, cause) {
		t.Error("errors.Is does not find both the reporting error and the record's cause")
	}
	if re.Stage != connect.StageTaskPut || re.Offset != 42 || re.Attempts != 1 {
		t.Errorf("RecordError %+v", re)
	}
	const wantMsg = "could not report failed record (dead-letter queue unreachable); record failure: bad record"
	if rep.Error() != wantMsg || !strings.HasSuffix(err.Error(), ": "+wantMsg) {
		t.Errorf("messages %q / %q", rep.Error(), err.Error())
	}
	if cs := log.all(); len(cs) != 1 || cs[0].name != "dlq" {
		t.Errorf("reports %+v, want only the failing dlq", cs)
	}
	if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 1, RecordErrors: 1}); got != want {
		t.Errorf("metrics %+v, want %+v (not skipped)", got, want)
	}
}

// TestRecover: Recover takes the error of an attempt the caller already
// made and only calls op for retries.
func TestRecover(t *testing.T) {
	rec := newRecorder()
	h := New(sluiceerrors.Config{RetryTimeout: -1}, "c", 0, rec.option())
	op := failing(1, errTransient)
	skip, err := h.Recover(context.Background(), connect.StageValueConverter, nil, sinkRecord(), nil, errTransient, op.op)
	if skip || err != nil {
		t.Fatalf("Recover = (%v, %v), want (false, nil)", skip, err)
	}
	if op.n() != 2 {
		t.Errorf("op called %d times, want 2 (the first attempt is the caller's)", op.n())
	}
	if got, want := rec.recorded(), msList(300, 600); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 2, Retries: 2}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}

	bad := stderrors.New("bad")
	op2 := &countingOp{f: always(nil)}
	_, err = h.Recover(context.Background(), connect.StageValueConverter, nil, sinkRecord(), nil, bad, op2.op)
	if re := asRecordError(t, err); re.Err != bad || re.Attempts != 1 || op2.n() != 0 {
		t.Errorf("non-retriable first: %+v, op calls %d; want cause %v, 1 attempt, 0 calls", re, op2.n(), bad)
	}
}

// TestRetryFailed: the task-level twin of Recover.
func TestRetryFailed(t *testing.T) {
	rec := newRecorder()
	h := New(sluiceerrors.Config{}, "c", 0, rec.option())
	op := failing(2, errTransient)
	n, err := h.RetryFailed(context.Background(), connect.StageTaskCommit, errTransient, op.op)
	if n != 4 || err != nil || op.n() != 3 {
		t.Fatalf("RetryFailed = (%d, %v) after %d calls, want (4, nil) after 3", n, err, op.n())
	}
	if got, want := rec.recorded(), msList(300, 600, 1200); !equalDurations(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func windowHandler(t *testing.T, log *calls) *Handler {
	t.Helper()
	cfg := sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, WindowSize: 100, WindowMaxFailures: 4}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(cfg, "orders-sink", 0, quiet, WithReporters(&recordingReporter{name: "r", log: log}))
}

func failOnce(h *Handler, cause error) (bool, error) {
	return h.Fail(context.Background(), &Failure{Stage: connect.StageValueConverter, Component: &fakeConverter{}, Record: sinkRecord(), Err: cause, Attempts: 1})
}

// TestWindowFifthFailureFailsTask: with a window of 100 records and 4
// tolerated failures, 4 failures are skipped and the 5th fails the task
// with a *WindowError.
func TestWindowFifthFailureFailsTask(t *testing.T) {
	log := &calls{}
	h := windowHandler(t, log)
	cause := stderrors.New("bad")
	for i := 1; i <= 4; i++ {
		if skip, err := failOnce(h, cause); !skip || err != nil {
			t.Fatalf("failure %d: (%v, %v), want skipped", i, skip, err)
		}
		h.Succeeded()
	}
	skip, err := failOnce(h, cause)
	if skip || err == nil {
		t.Fatalf("5th failure: (%v, %v), want a task failure", skip, err)
	}
	var we *WindowError
	if !stderrors.As(err, &we) {
		t.Fatalf("error %v does not contain a *WindowError", err)
	}
	if we.Failed != 5 || we.Size != 100 || we.Max != 4 || we.Err != cause {
		t.Errorf("WindowError %+v", we)
	}
	asRecordError(t, err)
	if !stderrors.Is(err, cause) {
		t.Error("error does not wrap the record's cause")
	}
	const want = "error window exceeded (5 of the last 100 records failed, at most 4 tolerated): bad"
	if we.Error() != want || !strings.Contains(err.Error(), want) {
		t.Errorf("message %q", err)
	}
	if n := len(log.all()); n != 5 {
		t.Errorf("%d reports, want 5 (the failure that fails the task is reported too, but not counted as skipped)", n)
	}
	if got, want := countsOf(h.Metrics()), (counts{RecordErrors: 5, RecordsSkipped: 4}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}
}

// TestWindowSlides: failures count only while they are among the last
// WindowSize records; successes (Succeeded or a successful Execute) push
// them out.
func TestWindowSlides(t *testing.T) {
	cause := stderrors.New("bad")
	ok := func(context.Context) error { return nil }
	fail := always(cause)

	t.Run("4 failures never fail", func(t *testing.T) {
		h := windowHandler(t, &calls{})
		for round := 0; round < 3; round++ {
			for i := 0; i < 4; i++ {
				if skip, err := h.Execute(context.Background(), connect.StageValueConverter, nil, sinkRecord(), nil, fail); !skip || err != nil {
					t.Fatalf("round %d failure %d: (%v, %v)", round, i, skip, err)
				}
			}
			for i := 0; i < 100; i++ {
				if _, err := h.Execute(context.Background(), connect.StageValueConverter, nil, sinkRecord(), nil, ok); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := h.Metrics().RecordsSkipped.Load(); got != 12 {
			t.Errorf("RecordsSkipped = %d, want 12", got)
		}
	})
	t.Run("5 within 100 records fail", func(t *testing.T) {
		// F F F F, 95 successes, F: the 5 failures are within 100 records.
		h := windowHandler(t, &calls{})
		for i := 0; i < 4; i++ {
			failOnce(h, cause)
		}
		for i := 0; i < 95; i++ {
			h.Succeeded()
		}
		if skip, err := failOnce(h, cause); skip || err == nil {
			t.Fatalf("(%v, %v), want a task failure", skip, err)
		}
	})
	t.Run("oldest slides out", func(t *testing.T) {
		// F F F F, 96 successes, F: the first F is now 101 records back.
		h := windowHandler(t, &calls{})
		for i := 0; i < 4; i++ {
			failOnce(h, cause)
		}
		for i := 0; i < 96; i++ {
			h.Succeeded()
		}
		if skip, err := failOnce(h, cause); !skip || err != nil {
			t.Fatalf("(%v, %v), want skipped", skip, err)
		}
		// The window is F2 F3 F4, 96 successes, F5. Each further failure
		// pushes out the oldest record: F6, F7 and F8 push out F2, F3 and F4
		// (4 failures each time); F9 pushes out a success: 5 failures.
		for i := 6; i <= 8; i++ {
			if skip, err := failOnce(h, cause); !skip || err != nil {
				t.Fatalf("F%d: (%v, %v), want skipped", i, skip, err)
			}
		}
		skip, err := failOnce(h, cause)
		var we *WindowError
		if skip || !stderrors.As(err, &we) || we.Failed != 5 {
			t.Fatalf("F9: (%v, %v), want a task failure with 5 failures in the window", skip, err)
		}
	})
	t.Run("after 100 successes", func(t *testing.T) {
		h := windowHandler(t, &calls{})
		for i := 0; i < 4; i++ {
			failOnce(h, cause)
		}
		for i := 0; i < 100; i++ {
			h.Succeeded()
		}
		for i := 0; i < 4; i++ {
			if skip, err := failOnce(h, cause); !skip || err != nil {
				t.Fatalf("failure %d after the window slid: (%v, %v)", i, skip, err)
			}
		}
		if skip, err := failOnce(h, cause); skip || err == nil {
			t.Fatalf("9th failure, 5th in the window: (%v, %v), want a task failure", skip, err)
		}
	})
}

// TestWindowConcurrent: the handler is safe for concurrent use (run with
// -race): concurrent successes and failures are all counted.
func TestWindowConcurrent(t *testing.T) {
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, WindowSize: 2000, WindowMaxFailures: 1999}, "c", 0, quiet)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := h.Execute(context.Background(), connect.StageTransformation, nil, nil, nil, func(context.Context) error { return nil }); err != nil {
					t.Error(err)
				}
				if skip, err := h.Execute(context.Background(), connect.StageTransformation, nil, nil, nil, always(stderrors.New("x"))); !skip || err != nil {
					t.Errorf("(%v, %v)", skip, err)
				}
			}
		}()
	}
	wg.Wait()
	if got, want := countsOf(h.Metrics()), (counts{RecordFailures: 800, RecordErrors: 800, RecordsSkipped: 800}); got != want {
		t.Errorf("metrics %+v, want %+v", got, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed != 800 || h.filled != 1600 {
		t.Errorf("window holds %d failures in %d records, want 800 in 1600", h.failed, h.filled)
	}
}

// TestSucceededWithoutWindow is a no-op and allocation free.
func TestSucceededWithoutWindow(t *testing.T) {
	h := New(sluiceerrors.Config{}, "c", 0, quiet)
	if n := testing.AllocsPerRun(100, h.Succeeded); n != 0 {
		t.Errorf("Succeeded allocates %v times", n)
	}
	if h.window != nil {
		t.Error("window allocated without window mode")
	}
}

// TestExecuteSuccessAllocs: the success path allocates nothing beyond what
// the operation does (the operation here is a preallocated func value).
func TestExecuteSuccessAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, WindowSize: 10, WindowMaxFailures: 1}, "c", 0, quiet)
	ctx := context.Background()
	rec, comp := sinkRecord(), &fakeConverter{}
	op := func(context.Context) error { return nil }
	if n := testing.AllocsPerRun(100, func() {
		h.Execute(ctx, connect.StageValueConverter, comp, rec, nil, op)
	}); n != 0 {
		t.Errorf("successful Execute allocates %v times", n)
	}
}

// TestNewDefaults: New applies Kafka Connect's defaults (60 s maximum retry
// delay, DLQ replication factor 3, first retry after 300 ms) and keeps
// explicit values.
func TestNewDefaults(t *testing.T) {
	got := New(sluiceerrors.Config{}, "c", 0).Config()
	want := sluiceerrors.Config{RetryDelayMax: 60 * time.Second, DLQReplicationFactor: 3}
	if got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
	if RetryDelayMin != 300*time.Millisecond {
		t.Errorf("RetryDelayMin = %v, want Kafka Connect's 300ms", RetryDelayMin)
	}
	kept := New(sluiceerrors.Config{RetryDelayMax: time.Second, DLQReplicationFactor: 1, Tolerance: sluiceerrors.ToleranceAll}, "c", 0).Config()
	if kept.RetryDelayMax != time.Second || kept.DLQReplicationFactor != 1 || kept.Tolerance != sluiceerrors.ToleranceAll {
		t.Errorf("explicit values overridden: %+v", kept)
	}
}
