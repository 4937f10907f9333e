package sink_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestDeliversEveryRecordInOrder: 100 000 records over 6 partitions reach the
// task, each partition in order without gaps or duplicates, and after the
// graceful stop the committed offsets equal the end offsets.
func TestDeliversEveryRecordInOrder(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, perPart = 6, 100000 / 6
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, perPart)
	total := int64(parts * perPart)

	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "all records", func() bool { return task.n.Load() >= total })
	st := p.PipelineStatus()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !task.stopped.Load() {
		t.Fatal("Stop was not called")
	}
	if n := task.n.Load(); n != total {
		t.Fatalf("got %d records, want %d", n, total)
	}
	for tp, offs := range task.offsets() {
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("%s: record %d has offset %d: order broken or gap/duplicate", tp, i, o)
			}
		}
		task.mu.Lock()
		v := task.vals[tp][:3]
		task.mu.Unlock()
		if want := "p" + strconv.Itoa(int(tp.Partition)) + "-2"; v[2] != want {
			t.Fatalf("%s: third value %q, want %q", tp, v[2], want)
		}
	}
	end := endOffsets(t, brokers, topic, parts)
	com := committed(t, brokers, p.GroupID(), topic, parts)
	for i := range int32(parts) {
		if com[i] != end[i] {
			t.Fatalf("partition %d: committed %d, end offset %d", i, com[i], end[i])
		}
	}
	if p.GroupID() != "connect-"+topic {
		t.Fatalf("group id %q", p.GroupID())
	}
	ts := st.Tasks[0]
	if ts.State != connect.StateRunning || ts.RecordsIn < total || ts.RecordsOut != total || len(ts.Partitions) != parts || ts.LastPut.IsZero() {
		t.Fatalf("status while running: %+v", ts)
	}
	final := p.PipelineStatus()
	if final.State != connect.StateStopped || final.Tasks[0].State != connect.StateStopped || final.Tasks[0].RecordsCommitted != total {
		t.Fatalf("final status: %+v", final)
	}
}

// TestSlowPutDoesNotRebalance: Put sleeps longer than max.poll.interval.ms
// and than the session timeout on some batches; the member keeps its
// generation (no rebalance, partitions opened once), the buffer stays bounded
// (fetching paused) and every record arrives.
func TestSlowPutDoesNotRebalance(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, perPart = 2, 3000
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, perPart)

	task := newRecTask()
	var puts atomic.Int64
	var maxBuffered atomic.Int64
	var p *sink.Pipeline
	task.onPut = func(ctx context.Context, recs []connect.Record) error {
		if n := puts.Add(1); n == 2 {
			// Longer than max.poll.interval.ms (2 s) and session.timeout.ms (6 s).
			deadline := time.Now().Add(7 * time.Second)
			for time.Now().Before(deadline) {
				if b := int64(p.PipelineStatus().Tasks[0].Buffered); b > maxBuffered.Load() {
					maxBuffered.Store(b)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.BatchSize = 100
	cfg.MaxBufferedRecords = 300
	cfg.ConsumerProps["max.poll.interval.ms"] = "2000"
	cfg.ConsumerProps["max.partition.fetch.bytes"] = "2048"
	var err error
	p, err = sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 10*time.Second, "the first batch", func() bool { return puts.Load() >= 1 })
	gen := p.PipelineStatus().Tasks[0].Generation
	waitFor(t, 40*time.Second, "all records", func() bool { return task.n.Load() >= parts*perPart })
	st := p.PipelineStatus().Tasks[0]
	opens, closes := task.counts()
	task.mu.Lock()
	var opened []connect.TopicPartition
	for _, tps := range task.opens {
		opened = append(opened, tps...)
	}
	task.mu.Unlock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.Generation != gen || gen < 0 {
		t.Fatalf("generation changed from %d to %d: a rebalance happened", gen, st.Generation)
	}
	// The two partitions are opened once each, by one Open call or two
	// (their claims may arrive apart on a busy machine), and never closed.
	if len(opened) != parts || opened[0] == opened[len(opened)-1] || closes != 0 || st.Rebalances != int64(opens) {
		t.Fatalf("opened %v in %d calls, closes=%d, rebalances=%d while running; want each partition opened once, no close", opened, opens, closes, st.Rebalances)
	}
	// 300 buffered + per partition the fetcher's channel (256) and one
	// fetch: 2 KiB, or the first record batch when larger (the producer
	// writes batches of up to 1000 records).
	if m := maxBuffered.Load(); m > 300+2*(256+1000) {
		t.Fatalf("buffer grew to %d records during the slow Put: fetching was not paused", m)
	}
	t.Logf("max buffered during the slow put: %d", maxBuffered.Load())
	checkComplete(t, topic, task.offsets(), endOffsets(t, brokers, topic, parts))
}

// TestSeekOnOpenFromOwnStore: a task that stores its offsets itself (and
// opts out of group commits) seeks in Open; after a restart it resumes from
// its store, even when the group's committed offsets are elsewhere (here
// ahead: the rewind must work too).
func TestSeekOnOpenFromOwnStore(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, perPart = 2, 200
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, perPart)

	// Run 1: plain group commits up to the end.
	t1 := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return t1 })
	p1, _ := sink.New(cfg)
	stop := start(t, p1)
	waitFor(t, 20*time.Second, "run 1", func() bool { return t1.n.Load() >= parts*perPart })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c := committed(t, brokers, p1.GroupID(), topic, parts); c[0] != perPart || c[1] != perPart {
		t.Fatalf("group committed %v after run 1", c)
	}

	// Run 2: the task's own store says 50 and 120.
	var storeMu sync.Mutex
	store := map[connect.TopicPartition]int64{{Topic: topic, Partition: 0}: 50, {Topic: topic, Partition: 1}: 120}
	t2 := newRecTask()
	t2.onOpen = func(_ context.Context, tps []connect.TopicPartition) error {
		storeMu.Lock()
		defer storeMu.Unlock()
		for _, tp := range tps {
			if off, ok := store[tp]; ok {
				t2.tc.Offset(tp, off)
			}
		}
		return nil
	}
	t2.onPut = func(_ context.Context, recs []connect.Record) error {
		storeMu.Lock()
		defer storeMu.Unlock()
		for _, r := range recs {
			store[r.OriginalTopicPartition()] = r.OriginalOffset + 1
		}
		return nil
	}
	t2.onCommit = func(map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
		return nil, nil // offsets live in the task's store
	}
	cfg = baseConfig(t, brokers, topic, topic, func() sink.Task { return t2 })
	p2, _ := sink.New(cfg)
	stop = start(t, p2)
	want := int64(perPart-50) + int64(perPart-120)
	waitFor(t, 20*time.Second, "run 2", func() bool { return t2.n.Load() >= want })
	time.Sleep(200 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := t2.offsets()
	for p, first := range map[int32]int64{0: 50, 1: 120} {
		offs := got[connect.TopicPartition{Topic: topic, Partition: p}]
		if len(offs) == 0 || offs[0] != first || offs[len(offs)-1] != perPart-1 || int64(len(offs)) != perPart-first {
			t.Fatalf("partition %d: run 2 delivered %d records from %v, want %d from %d", p, len(offs), head(offs), perPart-first, first)
		}
	}
	if n := t2.n.Load(); n != want {
		t.Fatalf("run 2 delivered %d records, want %d", n, want)
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 5)] }

// TestCrashRedeliversUncommitted: the pipeline is cancelled while a Put
// hangs, so the graceful stop times out and the final commit is skipped (a
// crash for the group). A restart delivers every record not committed: no
// loss, and the duplicates are exactly the uncommitted window.
func TestCrashRedeliversUncommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, perPart = 3, 4000
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, perPart)
	total := int64(parts * perPart)

	t1 := newRecTask()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The crash comes after at least one Put the last commit did not
	// cover: a commit (Flush) due right before the hanging Put would
	// otherwise leave nothing uncommitted, and the test nothing to show.
	var putsSinceCommit atomic.Int64
	t1.onPut = func(pctx context.Context, recs []connect.Record) error {
		if t1.n.Load() >= total/2 && putsSinceCommit.Load() > 0 {
			cancel()      // the process is being stopped...
			<-pctx.Done() // ...and this Put hangs past the shutdown timeout
			return pctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
		putsSinceCommit.Add(1)
		return nil
	}
	// recTask is a PreCommitter: PreCommit, not Flush, is what every
	// commit calls with the offsets it is about to commit.
	t1.onCommit = func(offs map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
		putsSinceCommit.Store(0)
		return offs, nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return t1 })
	cfg.OffsetFlushInterval = 100 * time.Millisecond
	cfg.ShutdownTimeout = 200 * time.Millisecond
	cfg.BatchSize = 100
	p1, _ := sink.New(cfg)
	if err := p1.Run(ctx); err != nil {
		t.Fatalf("run 1: %v", err)
	}
	com := committed(t, brokers, p1.GroupID(), topic, parts)
	run1 := t1.offsets()
	var window int64
	next := map[int32]int64{}
	for p := range int32(parts) {
		offs := run1[connect.TopicPartition{Topic: topic, Partition: p}]
		next[p] = 0
		if len(offs) > 0 {
			next[p] = offs[len(offs)-1] + 1
		}
		c := max(com[p], 0)
		if c > next[p] {
			t.Fatalf("partition %d: committed %d beyond what was put (%d)", p, c, next[p])
		}
		window += next[p] - c
	}
	if window >= t1.n.Load() || window == 0 {
		t.Fatalf("uncommitted window %d of %d delivered: the test did not simulate a crash between commits", window, t1.n.Load())
	}

	t2 := newRecTask()
	cfg.NewTask = func() sink.Task { return t2 }
	p2, _ := sink.New(cfg)
	stop := start(t, p2)
	waitFor(t, 30*time.Second, "the rest", func() bool { return t2.n.Load() >= total-t1.n.Load()+window })
	time.Sleep(200 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	run2 := t2.offsets()
	all := map[connect.TopicPartition][]int64{}
	var dups int64
	for p := range int32(parts) {
		tp := connect.TopicPartition{Topic: topic, Partition: p}
		all[tp] = append(append(all[tp], run1[tp]...), run2[tp]...)
		if len(run2[tp]) > 0 && run2[tp][0] != max(com[p], 0) {
			t.Fatalf("partition %d: restart began at %d, committed was %d", p, run2[tp][0], com[p])
		}
		seen := map[int64]bool{}
		for _, o := range run1[tp] {
			seen[o] = true
		}
		for _, o := range run2[tp] {
			if seen[o] {
				dups++
			}
		}
	}
	checkComplete(t, topic, all, endOffsets(t, brokers, topic, parts))
	if dups > window {
		t.Fatalf("%d duplicates, more than the uncommitted window of %d", dups, window)
	}
	t.Logf("delivered %d before the crash, window %d, duplicates %d", t1.n.Load(), window, dups)
}

// TestRebalanceToSecondRunner: a second pipeline with the same name joins
// mid-stream; partitions move (Close on the first, Open on the second) and
// together they deliver every record.
func TestRebalanceToSecondRunner(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, perPart = 6, 2000
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, perPart)
	total := int64(parts * perPart)

	slow := func(context.Context, []connect.Record) error { time.Sleep(20 * time.Millisecond); return nil }
	a, b := newRecTask(), newRecTask()
	a.onPut, b.onPut = slow, slow
	cfgA := baseConfig(t, brokers, topic, topic, func() sink.Task { return a })
	cfgA.BatchSize = 50
	cfgA.OffsetFlushInterval = 200 * time.Millisecond
	cfgB := cfgA
	cfgB.NewTask = func() sink.Task { return b }
	pa, _ := sink.New(cfgA)
	pb, _ := sink.New(cfgB)
	stopA := start(t, pa)
	waitFor(t, 20*time.Second, "first records", func() bool { return a.n.Load() > 500 })
	stopB := start(t, pb)
	waitFor(t, 30*time.Second, "partitions to move", func() bool {
		_, closes := a.counts()
		opens, _ := b.counts()
		return closes > 0 && opens > 0
	})
	// Both together finish the stream (some records may arrive twice: those
	// put by A after its last commit for a moved partition... which the
	// revocation commit prevents, but allow it).
	last := time.Now()
	waitFor(t, 60*time.Second, "every record", func() bool {
		if os.Getenv("SINK_TEST_LOG") != "" && time.Since(last) > time.Second {
			last = time.Now()
			for _, st := range []connect.TaskStatus{pa.PipelineStatus().Tasks[0], pb.PipelineStatus().Tasks[0]} {
				t.Logf("read=%d put=%d buf=%d parts=%+v", st.RecordsIn, st.RecordsOut, st.Buffered, st.Partitions)
			}
		}
		seen := map[connect.TopicPartition]map[int64]bool{}
		for _, m := range []map[connect.TopicPartition][]int64{a.offsets(), b.offsets()} {
			for tp, offs := range m {
				if seen[tp] == nil {
					seen[tp] = map[int64]bool{}
				}
				for _, o := range offs {
					seen[tp][o] = true
				}
			}
		}
		var n int64
		for _, s := range seen {
			n += int64(len(s))
		}
		return n >= total
	})
	stA, stB := pa.PipelineStatus().Tasks[0], pb.PipelineStatus().Tasks[0]
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if len(stA.Partitions)+len(stB.Partitions) != parts || len(stB.Partitions) == 0 {
		t.Fatalf("assignment after the rebalance: A %v, B %v", stA.Partitions, stB.Partitions)
	}
	// A partition moved from A to B was committed by A on revocation, so B
	// starts where A stopped: no duplicates.
	ao, bo := a.offsets(), b.offsets()
	for tp, offs := range bo {
		if len(offs) == 0 || len(ao[tp]) == 0 {
			continue
		}
		if last := ao[tp][len(ao[tp])-1]; offs[0] != last+1 {
			t.Errorf("%s: B started at %d, A's last record was %d", tp, offs[0], last)
		}
	}
	all := map[connect.TopicPartition][]int64{}
	for tp, o := range ao {
		all[tp] = append(all[tp], o...)
	}
	for tp, o := range bo {
		all[tp] = append(all[tp], o...)
	}
	checkComplete(t, topic, all, endOffsets(t, brokers, topic, parts))
}

// TestPutRetriableThenSucceeds: a retriable Put error is retried with
// backoff (300 ms, then 600 ms) and the same batch then succeeds.
func TestPutRetriableThenSucceeds(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 10)

	task := newRecTask()
	var calls atomic.Int64
	var times []time.Time
	var firstBatch []int64
	var mu sync.Mutex
	task.onPut = func(_ context.Context, recs []connect.Record) error {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		var offs []int64
		for _, r := range recs {
			offs = append(offs, r.OriginalOffset)
		}
		if calls.Add(1) <= 2 {
			firstBatch = offs
			return connect.Retriable(errors.New("database busy"))
		}
		if len(firstBatch) > 0 && offs[0] != firstBatch[0] {
			t.Errorf("redelivered batch starts at %d, want %d", offs[0], firstBatch[0])
		}
		firstBatch = nil
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 20*time.Second, "all records", func() bool { return task.n.Load() >= 10 })
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if d1, d2 := times[1].Sub(times[0]), times[2].Sub(times[1]); d1 < 280*time.Millisecond || d2 < 580*time.Millisecond {
		t.Fatalf("retry delays %s, %s; want >= 300ms, 600ms", d1, d2)
	}
	if st.PutRetries != 2 || st.State != connect.StateRunning {
		t.Fatalf("status %+v", st)
	}
	checkComplete(t, topic, task.offsets(), map[int32]int64{0: 10})
}

// TestPutFatalFailsTask: a non-retriable Put error fails the task with an
// error naming the batch's partition and offsets; nothing is committed.
func TestPutFatalFailsTask(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 5)

	task := newRecTask()
	task.onPut = func(context.Context, []connect.Record) error { return errors.New("disk full") }
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.Linger = 300 * time.Millisecond
	p, _ := sink.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runUntilFailed(ctx, p)
	if err == nil {
		t.Fatal("Run returned nil after a fatal Put error")
	}
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageTaskPut {
		t.Fatalf("error %v is not a TASK_PUT RecordError", err)
	}
	for _, want := range []string{"disk full", "topic " + topic + " partition 0 offsets 0..4", "TASK_PUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}
	// As Kafka Connect: the task FAILED, not the connector (STOPPED once
	// Run returned).
	st := p.PipelineStatus()
	if st.State != connect.StateStopped || st.Err != nil || st.Tasks[0].State != connect.StateFailed || st.Tasks[0].Err == nil {
		t.Fatalf("status %+v", st)
	}
	if !task.stopped.Load() {
		t.Fatal("Stop not called")
	}
	if c := committed(t, brokers, p.GroupID(), topic, 1); c[0] > 0 {
		t.Fatalf("committed %d after a failed put", c[0])
	}
}

// TestConversionFailureFailsTask: a value converter failure fails the task
// with a VALUE_CONVERTER RecordError naming the record, and nothing past it
// is committed.
func TestConversionFailureFailsTask(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 20)

	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.ValueConverter = failingConverter{bad: "p0-7"}
	cfg.BatchSize = 5
	cfg.OffsetFlushInterval = 50 * time.Millisecond
	p, _ := sink.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runUntilFailed(ctx, p)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageValueConverter || re.Offset != 7 || re.Topic != topic {
		t.Fatalf("Run: %v", err)
	}
	if c := committed(t, brokers, p.GroupID(), topic, 1); c[0] > 7 {
		t.Fatalf("committed %d, past the failed record 7", c[0])
	}
}

type failingConverter struct{ bad string }

func (f failingConverter) FromConnect(context.Context, string, *connect.Headers, *connect.Schema, any) ([]byte, error) {
	return nil, nil
}

func (f failingConverter) ToConnect(_ context.Context, _ string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	if string(data) == f.bad {
		return connect.SchemaAndValue{}, errors.New("not JSON")
	}
	return connect.SchemaAndValue{Value: append([]byte(nil), data...)}, nil
}

// TestTaskContext: Assignment, Pause/Resume (refused for unassigned
// partitions), RequestCommit, and topics.regex subscription.
func TestTaskContext(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	produce(t, brokers, topic, 2, 50)

	task := newRecTask()
	tp0 := connect.TopicPartition{Topic: topic, Partition: 0}
	var once sync.Once
	var checkErr error
	task.onOpen = func(_ context.Context, tps []connect.TopicPartition) error {
		// The two partitions may be opened by separate calls (their
		// claims arrive apart on a busy machine): pause tp0 when it is.
		if !slices.Contains(tps, tp0) {
			return nil
		}
		once.Do(func() {
			if err := task.tc.Pause(tp0); err != nil {
				checkErr = err
			}
			if err := task.tc.Pause(connect.TopicPartition{Topic: "nope", Partition: 0}); err == nil {
				checkErr = errors.New("Pause of an unassigned partition succeeded")
			}
		})
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.Topics = nil
	cfg.TopicsRegex = strings.TrimSuffix(topic, topic[len(topic)-4:]) + "[0-9a-f]{4}"
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 20*time.Second, "partition 1", func() bool { return task.n.Load() >= 50 })
	time.Sleep(300 * time.Millisecond)
	if checkErr != nil {
		t.Fatal(checkErr)
	}
	if got := task.offsets()[tp0]; len(got) != 0 {
		t.Fatalf("paused partition delivered %d records", len(got))
	}
	if a := task.tc.Assignment(); len(a) != 2 {
		t.Fatalf("Assignment() = %v", a)
	}
	if err := task.tc.Resume(tp0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "partition 0", func() bool { return task.n.Load() >= 100 })
	task.tc.RequestCommit()
	waitFor(t, 10*time.Second, "commit", func() bool { return p.PipelineStatus().Tasks[0].RecordsCommitted == 100 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestPauseResume: a paused pipeline delivers nothing and reports PAUSED.
func TestPauseResume(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	task := newRecTask()
	p, _ := sink.New(baseConfig(t, brokers, topic, topic, func() sink.Task { return task }))
	p.Pause()
	stop := start(t, p)
	produce(t, brokers, topic, 1, 10)
	waitFor(t, 10*time.Second, "PAUSED", func() bool {
		st := p.PipelineStatus()
		return st.State == connect.StatePaused && len(st.Tasks) == 1 && st.Tasks[0].State == connect.StatePaused
	})
	time.Sleep(500 * time.Millisecond)
	if n := task.n.Load(); n != 0 {
		t.Fatalf("paused pipeline delivered %d records", n)
	}
	p.Resume()
	waitFor(t, 20*time.Second, "records after resume", func() bool { return task.n.Load() == 10 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	_, err := sink.New(sink.Config{Topics: []string{"a"}, TopicsRegex: "b"})
	for _, want := range []string{"name:", "bootstrap.servers:", "NewTask:", "topics and topics.regex"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not mention %q", err, want)
		}
	}
	// Valid as written but not as the whole-name pattern subscriptions use:
	// refused here rather than failing when the task starts.
	_, err = sink.New(sink.Config{Name: "x", Brokers: []string{"b:1"}, NewTask: func() sink.Task { return newRecTask() },
		TopicsRegex: `\Qorders`})
	if err == nil || !strings.Contains(err.Error(), "topics.regex") {
		t.Fatalf("error %v does not mention topics.regex", err)
	}
	_, err = sink.New(sink.Config{Name: "x", Brokers: []string{"b:1"}, NewTask: func() sink.Task { return newRecTask() },
		Topics: []string{"t"}, ConsumerProps: map[string]string{"auto.offset.reset": "sideways"}})
	if err == nil || !strings.Contains(err.Error(), "consumer.override.auto.offset.reset") {
		t.Fatalf("error %v", err)
	}
}
