package sluicetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/sink"
)

// SinkFeatures switches off the checks of [TestSinkTask] that do not apply
// to a task. The zero value runs every check the [SinkDriver] supports.
type SinkFeatures struct {
	// NoPipeline: skips the checks that run the task in a sink pipeline
	// against a Kafka broker (ResumeAfterRestart, BatchError, Retriable),
	// for tests that must not touch Kafka. The broker is the one [Brokers]
	// returns.
	NoPipeline bool
	// Duplicates: the sink is at-least-once across a graceful stop and
	// restart: Flush/PreCommit may return offsets behind what it wrote (it
	// commits only what its destination confirmed, say), so after a restart
	// Put receives some records again and the destination, append-only and
	// without the task's own offsets, may hold them more than once.
	// ResumeAfterRestart then checks only that no record is lost: a
	// replayed record is the only way such a sink comes to hold a copy, so
	// failing on replays would fail every sink this flag is for. The
	// replayed offsets are logged.
	Duplicates bool
}

// SinkDriver is what [TestSinkTask] needs to know about a sink task: how to
// make one, configure it against a fresh destination, which records to
// give it and how to read back what it wrote.
type SinkDriver struct {
	// NewTask returns a new, unstarted task. Required.
	NewTask func() sink.Task
	// Config prepares a new, empty destination for one check (a new file,
	// table; cleaned up with t.Cleanup) and returns the configuration of
	// tasks writing to it. Required.
	Config func(t *testing.T) map[string]string
	// Record returns the i-th test record (i from 0): Key, KeySchema,
	// Value, ValueSchema and Headers; the suite sets the Kafka coordinates.
	// Distinct i must give records Written can tell apart. In the pipeline
	// checks records travel through Kafka with the JSON converter (schemas
	// enabled), so they must be what that converter reads back. Required.
	Record func(i int) connect.Record
	// Written returns the index i of every record config's destination
	// holds, once per copy held (so that duplicates show), in any order.
	// Required.
	Written func(t *testing.T, config map[string]string) []int
	// Reject, optional, returns a record the task cannot write and fails on
	// its own — a *connect.BatchError from Put naming it, or a
	// TaskContext.Report — while writing the other records of its batch.
	// With Reject set, the BatchError check runs. Written must not list
	// rejected records; their index i is not reused by Record.
	Reject func(i int) connect.Record
	// Outage, optional, makes the destination of config unavailable (stops
	// a server, terminates the task's database sessions, revokes access)
	// and returns a function that ends the outage; a one-shot disruption
	// may return a no-op. With Outage set, the Retriable check runs: the
	// task must keep running through it, failing Put only with errors
	// marked connect.Retriable, and write every record in the end.
	Outage func(t *testing.T, config map[string]string) (restore func())
}

// TestSinkTask runs the sink task acceptance suite against the task driver
// describes, one subtest per check:
//
//   - StartStop: Start then Stop succeed; Stop without Start, and Stop
//     called twice, neither panic nor fail (the runtime calls Stop after a
//     failed Start, when the task may be half initialised).
//   - PutReturnsOnCancel: Put returns promptly (within 10 s) once its
//     context is cancelled, and returns when called with a context already
//     done.
//   - NoGoroutineLeak: after Start, Open, Put, Flush or PreCommit, Close and
//     Stop, no goroutine the task started is still running
//     (go.uber.org/goleak). Run test binaries with this suite without
//     t.Parallel in other tests, whose goroutines would count.
//   - ResumeAfterRestart (unless NoPipeline): in a sink pipeline consuming
//     from the broker [Brokers] returns, the records written before a
//     graceful stop are committed (the offsets Flush/PreCommit return, or
//     the task's own offsets through TaskContext.Offset): after a restart
//     Put receives only the records produced since, and the destination
//     holds every record exactly once. With Duplicates, only that the
//     destination holds every record at least once.
//   - BatchError (when driver.Reject is set, unless NoPipeline): a batch
//     mixing good and rejected records, under errors.tolerance=all with a
//     dead-letter queue: the task keeps running, the good records are
//     written, and every rejected one — and no good one — reaches the
//     dead-letter queue.
//   - Retriable (when driver.Outage is set, unless NoPipeline): through an
//     outage of its destination the task keeps running in a pipeline;
//     every error Put returns is marked connect.Retriable (the runtime
//     redelivers the batch; any other error fails the task), and every
//     record is written in the end. The task may as well retry inside Put,
//     honouring its context: the outage ends once a Put call begun during
//     it has returned, or a Put call has been in progress for 2 s of it.
//
// A check fails its subtest with what the task did wrong. TestSinkTask must
// be called from the test's own goroutine.
func TestSinkTask(t *testing.T, features SinkFeatures, driver SinkDriver) {
	t.Helper()
	if driver.NewTask == nil || driver.Config == nil || driver.Record == nil || driver.Written == nil {
		t.Fatal("sluicetest.TestSinkTask: SinkDriver.NewTask, Config, Record and Written are required")
	}
	s := sinkSuite{f: features, d: driver}
	t.Run("StartStop", s.startStop)
	t.Run("PutReturnsOnCancel", s.putReturnsOnCancel)
	t.Run("NoGoroutineLeak", s.noGoroutineLeak)
	t.Run("ResumeAfterRestart", func(t *testing.T) {
		if features.NoPipeline {
			t.Skip("SinkFeatures.NoPipeline")
		}
		s.resumeAfterRestart(t)
	})
	t.Run("BatchError", func(t *testing.T) {
		switch {
		case driver.Reject == nil:
			t.Skip("no SinkDriver.Reject")
		case features.NoPipeline:
			t.Skip("SinkFeatures.NoPipeline")
		}
		s.batchError(t)
	})
	t.Run("Retriable", func(t *testing.T) {
		switch {
		case driver.Outage == nil:
			t.Skip("no SinkDriver.Outage")
		case features.NoPipeline:
			t.Skip("SinkFeatures.NoPipeline")
		}
		s.retriable(t)
	})
}

type sinkSuite struct {
	f SinkFeatures
	d SinkDriver
}

// testTP is the partition of the checks that run on fakes.
var testTP = connect.TopicPartition{Topic: "sluicetest", Partition: 0}

// records returns Record(from) … Record(to-1) with the coordinates a
// pipeline gives records consumed from tp at offsets from … to-1.
func (s sinkSuite) records(tp connect.TopicPartition, from, to int) []connect.Record {
	out := make([]connect.Record, 0, to-from)
	for i := from; i < to; i++ {
		r := s.d.Record(i)
		r.Topic, r.Partition, r.HasPartition, r.Offset = tp.Topic, tp.Partition, true, int64(i)
		r.OriginalTopic, r.OriginalPartition, r.OriginalOffset = tp.Topic, tp.Partition, int64(i)
		r.TimestampType = connect.CreateTime
		if r.Timestamp.IsZero() {
			r.Timestamp = time.Now()
		}
		out = append(out, r)
	}
	return out
}

func (s sinkSuite) startTask(t *testing.T, task sink.Task, tc *SinkTaskContext) {
	t.Helper()
	var err error
	if !returns(returnTimeout, func() { err = callErr(func() error { return task.Start(context.Background(), tc) }) }) {
		t.Fatalf("Start did not return within %s", returnTimeout)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if o, ok := task.(sink.PartitionOpener); ok {
		if err := callErr(func() error { return o.Open(context.Background(), tc.Assignment()) }); err != nil {
			stopTask(t, "Stop", task.Stop)
			t.Fatalf("Open(%v): %v", tc.Assignment(), err)
		}
	}
}

func (s sinkSuite) startStop(t *testing.T) {
	cfg := s.d.Config(t)
	task := s.d.NewTask()
	s.startTask(t, task, NewSinkTaskContext(cfg, testTP))
	if c, ok := task.(sink.PartitionCloser); ok {
		if err := callErr(func() error { return c.Close(context.Background(), []connect.TopicPartition{testTP}) }); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	stopTask(t, "Stop after Start", task.Stop)
	stopTask(t, "Stop called a second time", task.Stop)

	stopTask(t, "Stop without Start", s.d.NewTask().Stop)
}

func (s sinkSuite) putReturnsOnCancel(t *testing.T) {
	cfg := s.d.Config(t)
	task := s.d.NewTask()
	s.startTask(t, task, NewSinkTaskContext(cfg, testTP))
	defer stopTask(t, "Stop", task.Stop)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	if !returns(returnTimeout, func() { err = callErr(func() error { return task.Put(done, s.records(testTP, 0, 3)) }) }) {
		t.Fatalf("Put with a context already done did not return within %s", returnTimeout)
	}
	if err != nil && strings.HasPrefix(err.Error(), "panic: ") {
		t.Fatalf("Put with a context already done: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	put := make(chan struct{})
	go func() {
		defer close(put)
		_ = callErr(func() error { return task.Put(ctx, s.records(testTP, 3, 6)) })
	}()
	time.Sleep(50 * time.Millisecond) // let Put start (not required for correctness)
	cancel()
	select {
	case <-put:
	case <-time.After(returnTimeout):
		t.Fatalf("Put did not return within %s of its context being cancelled", returnTimeout)
	}
}

func (s sinkSuite) noGoroutineLeak(t *testing.T) {
	cfg := s.d.Config(t)
	ignore := goleak.IgnoreCurrent()
	task := s.d.NewTask()
	s.startTask(t, task, NewSinkTaskContext(cfg, testTP))
	err := callErr(func() error { return task.Put(context.Background(), s.records(testTP, 0, 3)) })
	var be *connect.BatchError
	if err != nil && !errors.As(err, &be) {
		t.Errorf("Put: %v", err)
	}
	next := map[connect.TopicPartition]int64{testTP: 3}
	switch c := task.(type) {
	case sink.PreCommitter:
		if _, err := callErr2(func() (map[connect.TopicPartition]int64, error) { return c.PreCommit(context.Background(), next) }); err != nil {
			t.Errorf("PreCommit: %v", err)
		}
	case sink.Flusher:
		if err := callErr(func() error { return c.Flush(context.Background(), next) }); err != nil {
			t.Errorf("Flush: %v", err)
		}
	}
	if c, ok := task.(sink.PartitionCloser); ok {
		if err := callErr(func() error { return c.Close(context.Background(), []connect.TopicPartition{testTP}) }); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	stopTask(t, "Stop", task.Stop)
	checkNoLeak(t, ignore)
}

// sinkTask wraps the task under test in a pipeline: it records the offsets
// of the records each Put received and the errors it returned, and forwards
// the optional interfaces (Flush becomes the equivalent PreCommit).
type sinkTask struct {
	sink.Task
	obs *sinkObserver
}

type sinkObserver struct {
	errorLog
	mu      sync.Mutex
	offsets []int64 // OriginalOffset of every record put
}

func (o *sinkObserver) put(recs []connect.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range recs {
		o.offsets = append(o.offsets, recs[i].OriginalOffset)
	}
}

func (o *sinkObserver) putOffsets() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.offsets)
}

func (w *sinkTask) Put(ctx context.Context, recs []connect.Record) error {
	w.obs.put(recs)
	w.obs.enter()
	err := w.Task.Put(ctx, recs)
	var be *connect.BatchError
	if ctx.Err() == nil && !errors.As(err, &be) {
		w.obs.add(err)
	} else {
		w.obs.add(nil)
	}
	return err
}

func (w *sinkTask) Open(ctx context.Context, tps []connect.TopicPartition) error {
	if o, ok := w.Task.(sink.PartitionOpener); ok {
		return o.Open(ctx, tps)
	}
	return nil
}

func (w *sinkTask) Close(ctx context.Context, tps []connect.TopicPartition) error {
	if c, ok := w.Task.(sink.PartitionCloser); ok {
		return c.Close(ctx, tps)
	}
	return nil
}

func (w *sinkTask) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	switch c := w.Task.(type) {
	case sink.PreCommitter:
		return c.PreCommit(ctx, offsets)
	case sink.Flusher:
		if err := c.Flush(ctx, offsets); err != nil {
			return nil, err
		}
	}
	return offsets, nil
}

// sinkEnv is one check's topic, destination and producer.
type sinkEnv struct {
	s       sinkSuite
	brokers []string
	topic   string
	name    string
	cfg     map[string]string
	conv    *converters.JSON
	// byValue maps produced key+value bytes to the record index, to read
	// the dead-letter queue back.
	byValue map[string]int
}

func (s sinkSuite) env(t *testing.T) *sinkEnv {
	t.Helper()
	brokers := Brokers(t)
	topic := Topic(t)
	CreateTopic(t, brokers, topic, 1, nil)
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &sinkEnv{s: s, brokers: brokers, topic: topic, name: topic, cfg: s.d.Config(t), conv: conv, byValue: map[string]int{}}
}

// produce sends the records of indices is (rejected ones built with Reject)
// to the topic in one batch.
func (e *sinkEnv) produce(t *testing.T, is []int, rejected map[int]bool) {
	t.Helper()
	ctx := context.Background()
	msgs := make([]*sarama.ProducerMessage, 0, len(is))
	for _, i := range is {
		var r connect.Record
		if rejected[i] {
			r = e.s.d.Reject(i)
		} else {
			r = e.s.d.Record(i)
		}
		hs := slices.Clone(r.Headers)
		key, err := e.conv.FromConnect(ctx, e.topic, &hs, r.KeySchema, r.Key)
		if err != nil {
			t.Fatalf("record %d: converting the key with the JSON converter: %v", i, err)
		}
		value, err := e.conv.FromConnect(ctx, e.topic, &hs, r.ValueSchema, r.Value)
		if err != nil {
			t.Fatalf("record %d: converting the value with the JSON converter: %v", i, err)
		}
		m := &sarama.ProducerMessage{Topic: e.topic}
		if key != nil {
			m.Key = sarama.ByteEncoder(key)
		}
		if value != nil {
			m.Value = sarama.ByteEncoder(value)
		}
		for _, h := range hs {
			b, err := e.conv.FromConnectHeader(ctx, e.topic, h.Key, h.Schema, h.Value)
			if err != nil {
				t.Fatalf("record %d: converting header %q: %v", i, h.Key, err)
			}
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: b})
		}
		e.byValue[string(key)+"\x00"+string(value)] = i
		msgs = append(msgs, m)
	}
	cfg := SaramaConfig(t)
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(e.brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("producing the test records to %s: %v", e.topic, err)
	}
}

// run starts a sink pipeline of the task under test on the topic.
func (e *sinkEnv) run(t *testing.T, obs *sinkObserver, errs sluiceerrors.Config) *running {
	t.Helper()
	p, err := sink.New(sink.Config{
		Name:                e.name,
		Brokers:             e.brokers,
		Topics:              []string{e.topic},
		NewTask:             func() sink.Task { return &sinkTask{Task: e.s.d.NewTask(), obs: obs} },
		Properties:          e.cfg,
		KeyConverter:        e.conv,
		ValueConverter:      e.conv,
		HeaderConverter:     e.conv,
		Errors:              errs,
		OffsetFlushInterval: 200 * time.Millisecond,
		Sarama:              SaramaConfig(t),
		ConsumerProps:       map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"},
		Logger:              logger(),
	})
	if err != nil {
		t.Fatalf("sink.New: %v", err)
	}
	return start(t, p.Run)
}

// written returns how many copies of each index the destination holds.
func (e *sinkEnv) written(t *testing.T) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, i := range e.s.d.Written(t, e.cfg) {
		out[i]++
	}
	return out
}

// missing returns the indices of want the destination does not hold.
func (e *sinkEnv) missing(t *testing.T, want []int) []int {
	w := e.written(t)
	var out []int
	for _, i := range want {
		if w[i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

func seq(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func (s sinkSuite) resumeAfterRestart(t *testing.T) {
	const n = 5
	e := s.env(t)
	e.produce(t, seq(0, n), nil)
	first := e.run(t, &sinkObserver{}, sluiceerrors.Config{})
	first.await(t, "first run: records written", func() bool { return len(e.missing(t, seq(0, n))) == 0 },
		func() string { return fmt.Sprintf("records %v not written", e.missing(t, seq(0, n))) })
	first.stop(t, "first run")

	e.produce(t, seq(n, 2*n), nil)
	obs := &sinkObserver{}
	second := e.run(t, obs, sluiceerrors.Config{})
	second.await(t, "second run: the records produced since written",
		func() bool { return len(e.missing(t, seq(0, 2*n))) == 0 },
		func() string { return fmt.Sprintf("records %v not written", e.missing(t, seq(0, 2*n))) })
	second.stop(t, "second run")

	var replayed []int64
	for _, off := range obs.putOffsets() {
		if off < n {
			replayed = append(replayed, off)
		}
	}
	switch {
	case len(replayed) > 0 && s.f.Duplicates:
		t.Logf("after the restart Put received again the records at offsets %v (SinkFeatures.Duplicates)", replayed)
	case len(replayed) > 0:
		t.Errorf("after a graceful stop and restart, Put received again the records at offsets %v, written "+
			"before the stop: their offsets were not committed (do Flush/PreCommit return the offsets of what "+
			"was written, or does Open seek with TaskContext.Offset to the task's own offsets? Set "+
			"SinkFeatures.Duplicates if the sink is at-least-once by design)", replayed)
	}
	if !s.f.Duplicates {
		var dups []string
		w := e.written(t)
		for _, i := range seq(0, 2*n) {
			if w[i] > 1 {
				dups = append(dups, fmt.Sprintf("%d (%d times)", i, w[i]))
			}
		}
		if len(dups) > 0 {
			t.Errorf("the destination holds records more than once after a graceful stop and restart: %s "+
				"(set SinkFeatures.Duplicates if the sink is at-least-once by design)", strings.Join(dups, ", "))
		}
	}
}

func (s sinkSuite) batchError(t *testing.T) {
	const n = 9
	e := s.env(t)
	dlq := e.topic + "-dlq"
	CreateTopic(t, e.brokers, dlq, 1, nil)
	rejected := map[int]bool{}
	var good, bad []int
	for i := range n {
		if i%3 == 1 {
			rejected[i] = true
			bad = append(bad, i)
		} else {
			good = append(good, i)
		}
	}
	e.produce(t, seq(0, n), rejected)
	run := e.run(t, &sinkObserver{}, sluiceerrors.Config{
		Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQReplicationFactor: 1,
	})
	run.await(t, "good records written", func() bool { return len(e.missing(t, good)) == 0 },
		func() string { return fmt.Sprintf("good records %v not written", e.missing(t, good)) })

	var inDLQ []int
	run.await(t, "rejected records in the dead-letter queue", func() bool {
		inDLQ = e.readDLQ(t, dlq)
		return len(inDLQ) >= len(bad)
	}, func() string { return fmt.Sprintf("the dead-letter queue holds records %v, want %v", inDLQ, bad) })
	run.stop(t, "stop")
	sort.Ints(inDLQ)
	if !slices.Equal(inDLQ, bad) {
		t.Errorf("the dead-letter queue holds records %v, want the rejected ones %v", inDLQ, bad)
	}
	w := e.written(t)
	for _, i := range bad {
		if w[i] > 0 {
			t.Errorf("rejected record %d is listed by Written", i)
		}
	}
}

// readDLQ returns the indices of the records in the dead-letter queue.
func (e *sinkEnv) readDLQ(t *testing.T, dlq string) []int {
	t.Helper()
	c, err := sarama.NewConsumer(e.brokers, SaramaConfig(t))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	client, err := sarama.NewClient(e.brokers, SaramaConfig(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	end, err := client.GetOffset(dlq, 0, sarama.OffsetNewest)
	if err != nil || end == 0 {
		return nil
	}
	pc, err := c.ConsumePartition(dlq, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("consuming %s: %v", dlq, err)
	}
	defer pc.Close()
	var out []int
	timeout := time.After(waitTimeout)
	for {
		select {
		case m := <-pc.Messages():
			i, ok := e.byValue[string(m.Key)+"\x00"+string(m.Value)]
			if !ok {
				i = -1
			}
			out = append(out, i)
			if m.Offset+1 >= end {
				return out
			}
		case <-timeout:
			t.Fatalf("reading %s: offsets below %d not received within %s", dlq, end, waitTimeout)
		}
	}
}

func (s sinkSuite) retriable(t *testing.T) {
	const n = 3
	e := s.env(t)
	obs := &sinkObserver{}
	run := e.run(t, obs, sluiceerrors.Config{})
	e.produce(t, seq(0, n), nil)
	run.await(t, "before the outage: records written", func() bool { return len(e.missing(t, seq(0, n))) == 0 },
		func() string { return fmt.Sprintf("records %v not written", e.missing(t, seq(0, n))) })

	before, began := obs.stats(), time.Now()
	restore := s.d.Outage(t, e.cfg)
	e.produce(t, seq(n, 2*n), nil)
	run.awaitOutage(t, "Put", &obs.errorLog, began, before)
	restore()

	run.await(t, "after the outage: every record written", func() bool { return len(e.missing(t, seq(0, 2*n))) == 0 },
		func() string {
			return fmt.Sprintf("records %v not written; Put returned %v", e.missing(t, seq(0, 2*n)), errors.Join(obs.snapshot()...))
		})
	run.stop(t, "after the outage")
	for _, err := range obs.snapshot() {
		if !connect.IsRetriable(err) {
			t.Errorf("Put returned an error not marked connect.Retriable, which fails the task: %v", err)
		}
	}
}
