package sluicetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// SourceFeatures switches off the checks of [TestSourceTask] that do not
// apply to a task. The zero value runs every check the [SourceDriver]
// supports.
type SourceFeatures struct {
	// NoOffsets: the task's records carry no source offsets, or the task
	// does not resume from committed offsets (e.g. it reads a stream that
	// cannot be replayed). Skips ResumeAfterRestart.
	NoOffsets bool
	// NoPipeline: skips the checks that run the task in a source pipeline
	// against a Kafka broker (ResumeAfterRestart, Retriable), for tests that
	// must not touch Kafka. The broker is the one [Brokers] returns.
	NoPipeline bool
}

// SourceDriver is what [TestSourceTask] needs to know about a source task:
// how to make one, configure it against a fresh input, and feed it records.
type SourceDriver struct {
	// NewTask returns a new, unstarted task. Required.
	NewTask func() source.Task
	// Config prepares a new, empty input for one check (a new file, table,
	// queue; cleaned up with t.Cleanup) and returns the configuration of
	// tasks reading it. Required. Tasks started with it must produce no
	// record until Write adds some.
	Config func(t *testing.T) map[string]string
	// Write adds n new records to the input of config: a task that is
	// running, or started later, produces exactly n more records. Required.
	Write func(t *testing.T, config map[string]string, n int)
	// Outage, optional, makes the input of config unavailable (stops a
	// server, terminates the task's database sessions, revokes access) and
	// returns a function that ends the outage. A one-shot disruption may
	// return a no-op. With Outage set, the Retriable check runs: the task
	// must keep running through it, returning only errors marked
	// connect.Retriable, and deliver the records written afterwards.
	Outage func(t *testing.T, config map[string]string) (restore func())
}

// TestSourceTask runs the source task acceptance suite against the task
// driver describes, one subtest per check:
//
//   - StartStop: Start then Stop succeed; Stop without Start, and Stop
//     called twice, neither panic nor fail (the runtime calls Stop after a
//     failed Start, when the task may be half initialised).
//   - PollReturnsOnCancel: Poll, waiting for data that does not come,
//     returns promptly (within 10 s) once its context is cancelled, and
//     returns at once when called with a context already done.
//   - NoGoroutineLeak: after Start, Write, Poll and Stop, no goroutine the
//     task started is still running (go.uber.org/goleak). Run test binaries
//     with this suite without t.Parallel in other tests, whose goroutines
//     would count.
//   - ResumeAfterRestart (unless NoOffsets or NoPipeline): in a source
//     pipeline on the broker [Brokers] returns (keys and values written with
//     the JSON converter, schemas enabled), the task's records are
//     produced and their offsets committed; a new task started after the
//     pipeline stopped continues after the committed offsets: it produces
//     the records written since, and none it produced (and committed)
//     before.
//   - Retriable (when driver.Outage is set, unless NoPipeline): through an
//     outage of its input the task keeps running in a pipeline; every error
//     Poll returns is marked connect.Retriable (the runtime retries those;
//     any other error fails the task), and records written after the outage
//     arrive. The task may as well retry inside Poll, honouring its
//     context: the outage ends once a Poll call begun during it has
//     returned, or a Poll call has been in progress for 2 s of it.
//
// A check fails its subtest with what the task did wrong. TestSourceTask
// must be called from the test's own goroutine.
func TestSourceTask(t *testing.T, features SourceFeatures, driver SourceDriver) {
	t.Helper()
	if driver.NewTask == nil || driver.Config == nil || driver.Write == nil {
		t.Fatal("sluicetest.TestSourceTask: SourceDriver.NewTask, Config and Write are required")
	}
	s := sourceSuite{f: features, d: driver}
	t.Run("StartStop", s.startStop)
	t.Run("PollReturnsOnCancel", s.pollReturnsOnCancel)
	t.Run("NoGoroutineLeak", s.noGoroutineLeak)
	t.Run("ResumeAfterRestart", func(t *testing.T) {
		switch {
		case features.NoOffsets:
			t.Skip("SourceFeatures.NoOffsets")
		case features.NoPipeline:
			t.Skip("SourceFeatures.NoPipeline")
		}
		s.resumeAfterRestart(t)
	})
	t.Run("Retriable", func(t *testing.T) {
		switch {
		case driver.Outage == nil:
			t.Skip("no SourceDriver.Outage")
		case features.NoPipeline:
			t.Skip("SourceFeatures.NoPipeline")
		}
		s.retriable(t)
	})
}

type sourceSuite struct {
	f SourceFeatures
	d SourceDriver
}

// stopTask calls Stop and fails t if it panics, fails or does not return.
func stopTask(t *testing.T, what string, stop func(context.Context) error) {
	t.Helper()
	var err error
	if !returns(returnTimeout, func() { err = callErr(func() error { return stop(context.Background()) }) }) {
		t.Fatalf("%s: Stop did not return within %s", what, returnTimeout)
	}
	if err != nil {
		t.Errorf("%s: Stop: %v", what, err)
	}
}

func (s sourceSuite) startTask(t *testing.T, task source.Task, tc *SourceTaskContext) {
	t.Helper()
	var err error
	if !returns(returnTimeout, func() { err = callErr(func() error { return task.Start(context.Background(), tc) }) }) {
		t.Fatalf("Start did not return within %s", returnTimeout)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func (s sourceSuite) startStop(t *testing.T) {
	cfg := s.d.Config(t)

	task := s.d.NewTask()
	s.startTask(t, task, NewSourceTaskContext(cfg))
	stopTask(t, "Stop after Start", task.Stop)
	stopTask(t, "Stop called a second time", task.Stop)

	stopTask(t, "Stop without Start", s.d.NewTask().Stop)
}

func (s sourceSuite) pollReturnsOnCancel(t *testing.T) {
	cfg := s.d.Config(t)
	task := s.d.NewTask()
	s.startTask(t, task, NewSourceTaskContext(cfg))
	defer stopTask(t, "Stop", task.Stop)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	if !returns(returnTimeout, func() { _, err = callErr2(func() ([]connect.Record, error) { return task.Poll(done) }) }) {
		t.Fatalf("Poll with a context already done did not return within %s", returnTimeout)
	}
	if err != nil && strings.HasPrefix(err.Error(), "panic: ") {
		t.Fatalf("Poll with a context already done: %v", err)
	}

	// Nothing to read: Poll waits; it must return once ctx is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		_, _ = callErr2(func() ([]connect.Record, error) { return task.Poll(ctx) })
	}()
	time.Sleep(50 * time.Millisecond) // let Poll start waiting (not required for correctness)
	cancel()
	select {
	case <-polled:
	case <-time.After(returnTimeout):
		t.Fatalf("Poll did not return within %s of its context being cancelled", returnTimeout)
	}
}

// callErr2 runs f, turning a panic into an error.
func callErr2[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

func (s sourceSuite) noGoroutineLeak(t *testing.T) {
	cfg := s.d.Config(t)
	ignore := goleak.IgnoreCurrent()
	task := s.d.NewTask()
	tc := NewSourceTaskContext(cfg)
	s.startTask(t, task, tc)
	const n = 3
	s.d.Write(t, cfg, n)
	got := 0
	deadline := time.Now().Add(waitTimeout)
	for got < n && time.Now().Before(deadline) {
		recs, err := callErr2(func() ([]connect.Record, error) { return task.Poll(context.Background()) })
		if err != nil && !connect.IsRetriable(err) {
			stopTask(t, "Stop", task.Stop)
			t.Fatalf("Poll: %v", err)
		}
		got += len(recs)
		tc.CommitRecords(recs)
	}
	stopTask(t, "Stop", task.Stop)
	if got < n {
		t.Fatalf("Poll returned %d records within %s, want the %d written", got, waitTimeout, n)
	}
	checkNoLeak(t, ignore)
}

// captured is a record seen by the capture transform.
type captured struct {
	partition, offset string // canonical JSON; "" when nil
}

// capture is a transform that remembers the source coordinates of each
// record passing through.
type capture struct {
	mu    sync.Mutex
	recs  []captured
	parts map[string]offsets.Partition // by canonical text
}

func (c *capture) Apply(_ context.Context, rec *connect.Record) (*connect.Record, error) {
	var k captured
	if rec.SourcePartition != nil {
		k.partition = partitionKey(rec.SourcePartition)
	}
	if rec.SourceOffset != nil {
		k.offset = partitionKey(rec.SourceOffset)
	}
	c.mu.Lock()
	c.recs = append(c.recs, k)
	if k.partition != "" && c.parts[k.partition] == nil {
		c.parts[k.partition] = normalizeMap(rec.SourcePartition)
	}
	c.mu.Unlock()
	return rec, nil
}

func (c *capture) partitions() map[string]offsets.Partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.parts)
}

func (c *capture) snapshot() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.recs...)
}

// sourceTask wraps a task to record what Poll returned.
type sourceTask struct {
	source.Task
	polls *errorLog
}

func (w *sourceTask) Poll(ctx context.Context) ([]connect.Record, error) {
	w.polls.enter()
	recs, err := w.Task.Poll(ctx)
	if ctx.Err() == nil { // errors after cancellation are ignored by the pipeline
		w.polls.add(err)
	} else {
		w.polls.add(nil)
	}
	return recs, err
}

func (w *sourceTask) CommitRecord(ctx context.Context, rec *connect.Record, meta *source.RecordMetadata) error {
	if c, ok := w.Task.(source.RecordCommitter); ok {
		return c.CommitRecord(ctx, rec, meta)
	}
	return nil
}

func (w *sourceTask) Commit(ctx context.Context) error {
	if c, ok := w.Task.(source.Committer); ok {
		return c.Commit(ctx)
	}
	return nil
}

// sourceRun is one run of a source pipeline over the task under test.
type sourceRun struct {
	*running
	capture *capture
	polls   *errorLog
}

func (s sourceSuite) runPipeline(t *testing.T, name string, brokers []string, cfg map[string]string, store offsets.Store) *sourceRun {
	t.Helper()
	r := &sourceRun{capture: &capture{parts: map[string]offsets.Partition{}}, polls: &errorLog{}}
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := source.New(source.Config{
		Name:                name,
		Brokers:             brokers,
		NewTask:             func() source.Task { return &sourceTask{Task: s.d.NewTask(), polls: r.polls} },
		Properties:          cfg,
		KeyConverter:        conv,
		ValueConverter:      conv,
		OffsetStore:         store,
		OffsetFlushInterval: 100 * time.Millisecond,
		Transforms:          r.capture,
		Sarama:              SaramaConfig(t),
		Logger:              logger(),
	})
	if err != nil {
		t.Fatalf("source.New: %v", err)
	}
	r.running = start(t, p.Run)
	return r
}

// committed reports whether store holds, for every source partition in
// recs, the offset of its last record.
func committed(store offsets.Store, connector string, recs []captured, parts map[string]offsets.Partition) (bool, string) {
	last := map[string]string{}
	for _, r := range recs {
		if r.partition != "" {
			last[r.partition] = r.offset
		}
	}
	for p, o := range last {
		off, err := store.Get(context.Background(), connector, parts[p])
		if err != nil {
			return false, err.Error()
		}
		got := ""
		if off != nil {
			got = partitionKey(off)
		}
		if got != o {
			return false, fmt.Sprintf("source partition %s: committed offset %s, want the last record's %s", p, got, o)
		}
	}
	return true, ""
}

func (s sourceSuite) resumeAfterRestart(t *testing.T) {
	const n = 5
	brokers := Brokers(t)
	cfg := s.d.Config(t)
	name := Topic(t)
	store := offsets.NewMemoryStore()
	defer store.Close()

	s.d.Write(t, cfg, n)
	first := s.runPipeline(t, name, brokers, cfg, store)
	first.await(t, "first run: records polled", func() bool { return len(first.capture.snapshot()) >= n },
		func() string {
			return fmt.Sprintf("%d of the %d records written were polled", len(first.capture.snapshot()), n)
		})
	before := first.capture.snapshot()
	for i, r := range before {
		if r.partition == "" || r.offset == "" {
			t.Fatalf("first run: record %d has SourcePartition %s and SourceOffset %s: a task that resumes from "+
				"offsets gives both (set SourceFeatures.NoOffsets if it does not)", i, r.partition, r.offset)
		}
	}
	var why string
	first.await(t, "first run: offsets committed", func() (ok bool) { ok, why = committed(store, name, before, first.capture.partitions()); return ok },
		func() string { return why })
	first.stop(t, "first run")
	before = first.capture.snapshot()
	if ok, why := committed(store, name, before, first.capture.partitions()); !ok {
		t.Fatalf("after the first run stopped: %s", why)
	}

	s.d.Write(t, cfg, n)
	second := s.runPipeline(t, name, brokers, cfg, store)
	second.await(t, "second run: the records written since polled",
		func() bool { return len(second.capture.snapshot()) >= n },
		func() string {
			return fmt.Sprintf("%d of the %d records written after the first run were polled", len(second.capture.snapshot()), n)
		})
	second.stop(t, "second run")

	seen := map[captured]bool{}
	for _, r := range before {
		seen[r] = true
	}
	var replayed []string
	for _, r := range second.capture.snapshot() {
		if seen[r] {
			replayed = append(replayed, fmt.Sprintf("partition %s offset %s", r.partition, r.offset))
		}
	}
	if len(replayed) > 0 {
		t.Fatalf("after a restart the task produced %d record(s) it had produced before and whose offsets were "+
			"committed (does Start read TaskContext.Offsets?): %s", len(replayed), strings.Join(replayed, "; "))
	}
}

func (s sourceSuite) retriable(t *testing.T) {
	const n = 3
	brokers := Brokers(t)
	cfg := s.d.Config(t)
	name := Topic(t)
	store := offsets.NewMemoryStore()
	defer store.Close()

	run := s.runPipeline(t, name, brokers, cfg, store)
	s.d.Write(t, cfg, n)
	run.await(t, "before the outage: records polled", func() bool { return len(run.capture.snapshot()) >= n },
		func() string { return fmt.Sprintf("%d of %d records polled", len(run.capture.snapshot()), n) })

	before, began := run.polls.stats(), time.Now()
	restore := s.d.Outage(t, cfg)
	run.awaitOutage(t, "Poll", run.polls, began, before)
	restore()

	s.d.Write(t, cfg, n)
	run.await(t, "after the outage: the records written since polled",
		func() bool { return len(run.capture.snapshot()) >= 2*n },
		func() string {
			return fmt.Sprintf("%d of the %d records written were polled; Poll returned %v",
				len(run.capture.snapshot()), 2*n, errors.Join(run.polls.snapshot()...))
		})
	run.stop(t, "after the outage")
	for _, err := range run.polls.snapshot() {
		if !connect.IsRetriable(err) {
			t.Errorf("Poll returned an error not marked connect.Retriable, which fails the task: %v", err)
		}
	}
}
