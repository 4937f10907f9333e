package sink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// This file pins what a sink commits when things fail: each test asserts the
// consumer group's committed offsets after the failure.

// groupOffset returns the group's committed offset of partition 0 (-1:
// none, also before the group exists).
func groupOffset(t testing.TB, brokers []string, p *sink.Pipeline, topic string) int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(p.GroupID(), map[string][]int32{topic: {0}})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	if b := resp.GetBlock(topic, 0); b != nil {
		return b.Offset
	}
	return -1
}

// TestRetryingBatchIsNotCommitted: while a batch is redelivered after
// retriable Put errors, its records have left the fetch buffer but were not
// put: periodic commits and the revocation commit at
// stop must both commit the position before the batch, never past it.
func TestRetryingBatchIsNotCommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 100)

	var retrying atomic.Bool
	var preCommits, failedAt atomic.Int64
	task := newRecTask()
	task.onPut = func(_ context.Context, recs []connect.Record) error {
		// Batches are cut from what the fetches brought: the one
		// holding offset 50 may start before it.
		if recs[len(recs)-1].OriginalOffset >= 50 {
			if retrying.CompareAndSwap(false, true) {
				failedAt.Store(recs[0].OriginalOffset)
			}
			return connect.Retriable(errors.New("database busy"))
		}
		return nil
	}
	task.onCommit = func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
		if retrying.Load() {
			preCommits.Add(1)
		}
		return offsets, nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.BatchSize = 10
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	cfg.Errors.RetryDelayMax = 50 * time.Millisecond
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 60*time.Second, "commits while the batch at offset 50 is redelivered", func() bool {
		return preCommits.Load() >= 5 && p.PipelineStatus().Tasks[0].PutRetries >= 3
	})
	want := failedAt.Load()
	if want == 0 {
		t.Fatal("the first batch already held offset 50: nothing to commit before it")
	}
	if c := groupOffset(t, brokers, p, topic); c != want {
		t.Fatalf("committed %d while the batch from %d was being redelivered; want %d", c, want, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c := groupOffset(t, brokers, p, topic); c != want {
		t.Fatalf("committed %d after the revocation commit at stop; want %d", c, want)
	}
}

// TestFailedTaskCommitsWhatItPut: a task whose Put fails (a fatal error, or
// a panic) gets the final PreCommit, the commit of what it put before the
// failure, Close and Stop (Kafka Connect's closeAllPartitions): the
// restart does not replay a whole commit interval. The failed batch is not
// committed.
func TestFailedTaskCommitsWhatItPut(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			produce(t, brokers, topic, 1, 100)

			var finalPreCommit atomic.Bool
			var failedAt atomic.Int64
			task := newRecTask()
			task.onPut = func(_ context.Context, recs []connect.Record) error {
				// The batch holding offset 50 may start before it.
				if recs[len(recs)-1].OriginalOffset >= 50 {
					failedAt.Store(recs[0].OriginalOffset)
					if mode == "panic" {
						panic("bad index in the sink's writer")
					}
					return errors.New("disk full")
				}
				return nil
			}
			task.onCommit = func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
				finalPreCommit.Store(true)
				return offsets, nil
			}
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
			cfg.BatchSize = 10
			cfg.OffsetFlushInterval = time.Hour // only the final commit
			p, _ := sink.New(cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err := runUntilFailed(ctx, p)
			if err == nil {
				t.Fatal("Run returned nil after the task failed")
			}
			if mode == "panic" && (!strings.Contains(err.Error(), "bad index in the sink's writer") || !strings.Contains(err.Error(), "goroutine ")) {
				t.Fatalf("error %q lacks the panic value or its stack", err)
			}
			if !finalPreCommit.Load() {
				t.Fatal("no final PreCommit after the failure")
			}
			if _, closes := task.counts(); closes == 0 || !task.stopped.Load() {
				t.Fatalf("closes %d, stopped %v: want Close and Stop after the failure", closes, task.stopped.Load())
			}
			want := failedAt.Load()
			if want == 0 {
				t.Fatal("the first batch already held offset 50: nothing put before the failure")
			}
			if c := groupOffset(t, brokers, p, topic); c != want {
				t.Fatalf("committed %d; want %d, the records put before the failed batch", c, want)
			}
			if st := p.PipelineStatus().Tasks[0]; st.State != connect.StateFailed || st.Err == nil {
				t.Fatalf("status %s %v", st.State, st.Err)
			}
		})
	}
}

// TestCommitsWhatPreCommitReturns: the pipeline commits the offsets PreCommit
// returns, not what it consumed: a task that says only offsets below 37 are
// durable has 37 committed, periodically and at stop; an empty result
// commits nothing.
func TestCommitsWhatPreCommitReturns(t *testing.T) {
	for _, durable := range []int64{37, -1} {
		t.Run(fmt.Sprint("durable=", durable), func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			produce(t, brokers, topic, 1, 100)

			var calls atomic.Int64
			var mu sync.Mutex
			var offered []int64
			task := newRecTask()
			task.onCommit = func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
				calls.Add(1)
				out := map[connect.TopicPartition]int64{}
				for tp, o := range offsets {
					mu.Lock()
					offered = append(offered, o)
					mu.Unlock()
					if durable >= 0 {
						out[tp] = min(o, durable)
					}
				}
				return out, nil
			}
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
			cfg.BatchSize = 10
			cfg.OffsetFlushInterval = 20 * time.Millisecond
			p, _ := sink.New(cfg)
			stop := start(t, p)
			waitFor(t, 60*time.Second, "all records put", func() bool { return task.n.Load() >= 100 })
			n := calls.Load()
			waitFor(t, 60*time.Second, "commits after the last put", func() bool { return calls.Load() >= n+3 })
			want := durable
			if c := groupOffset(t, brokers, p, topic); c != want {
				t.Fatalf("committed %d while running; PreCommit returned %d", c, want)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if c := groupOffset(t, brokers, p, topic); c != want {
				t.Fatalf("committed %d after stop; PreCommit returned %d", c, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(offered, 100) {
				t.Fatalf("PreCommit was offered %v, never the consumed position 100", offered)
			}
		})
	}
}

// bufTask buffers what Put receives and makes it durable in Flush (or
// PreCommit); a failing flush drops the buffer, as a task whose write failed
// would. The pipeline must then rewind to the last committed offsets, so
// that the dropped records come again.
type bufTask struct {
	mu       sync.Mutex
	buf      []int64
	durable  map[int64]int
	failNext func() error // returns the error for a flush that must fail, or nil
}

func (t *bufTask) Start(context.Context, sink.TaskContext) error { return nil }
func (t *bufTask) Stop(context.Context) error                    { return nil }

func (t *bufTask) Put(_ context.Context, recs []connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		t.buf = append(t.buf, r.OriginalOffset)
	}
	return nil
}

func (t *bufTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) > 0 {
		if err := t.failNext(); err != nil {
			t.buf = t.buf[:0]
			return err
		}
	}
	for _, o := range t.buf {
		t.durable[o]++
	}
	t.buf = t.buf[:0]
	return nil
}

func (t *bufTask) missing(n int64) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int64
	for o := range n {
		if t.durable[o] == 0 {
			out = append(out, o)
		}
	}
	return out
}

// preCommitBufTask is bufTask making its buffer durable in PreCommit.
type preCommitBufTask struct{ *bufTask }

func (t preCommitBufTask) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.Flush(ctx, offsets); err != nil {
		return nil, err
	}
	return offsets, nil
}

// TestRewindAfterFailedFlush: any failure of Flush or PreCommit (retriable
// or not) rewinds consumption to the last committed offsets: the records the
// task dropped with its failed flush are delivered again, every record ends
// up durable, and the commit failure is counted and then cleared.
func TestRewindAfterFailedFlush(t *testing.T) {
	for _, tc := range []struct {
		name      string
		preCommit bool
		err       error
	}{
		{"flush retriable", false, connect.Retriable(errors.New("connection reset"))},
		{"flush fatal", false, errors.New("write failed")},
		{"precommit retriable", true, connect.Retriable(errors.New("connection reset"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			produce(t, brokers, topic, 1, 30)

			var flushes atomic.Int64
			bt := &bufTask{durable: map[int64]int{}}
			// The second flush with records fails: the first one
			// committed something to rewind to.
			bt.failNext = func() error {
				if flushes.Add(1) == 2 {
					return tc.err
				}
				return nil
			}
			var task sink.Task = bt
			if tc.preCommit {
				task = preCommitBufTask{bt}
			}
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
			cfg.BatchSize = 10
			cfg.OffsetFlushInterval = 30 * time.Millisecond
			// Put more than one batch between commits at times.
			cfg.Linger = 5 * time.Millisecond
			p, _ := sink.New(cfg)
			stop := start(t, p)
			waitFor(t, 60*time.Second, "the first 30 records committed", func() bool { return groupOffset(t, brokers, p, topic) == 30 })
			produce(t, brokers, topic, 1, 30)
			waitFor(t, 60*time.Second, "every record durable and committed", func() bool {
				return len(bt.missing(60)) == 0 && groupOffset(t, brokers, p, topic) == 60
			})
			st := p.PipelineStatus().Tasks[0]
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if flushes.Load() < 2 {
				t.Fatalf("%d flushes with records: the failure was not exercised", flushes.Load())
			}
			if st.OffsetCommitFailures < 1 || st.CommitErr != nil || st.State != connect.StateRunning {
				t.Fatalf("status: %d commit failures, CommitErr %v, state %s; want >= 1, nil after the later successes, RUNNING",
					st.OffsetCommitFailures, st.CommitErr, st.State)
			}
			if c := groupOffset(t, brokers, p, topic); c != 60 {
				t.Fatalf("committed %d, want 60", c)
			}
		})
	}
}

// TestPutRetriableWithoutLimitByDefault: a retriable Put error is retried
// without limit by default, whatever errors.retry.timeout says (Kafka
// Connect's put: errors.retry.timeout governs converters and transforms
// only); the batch is then delivered and committed.
func TestPutRetriableWithoutLimitByDefault(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 20)

	var attempts atomic.Int64
	task := newRecTask()
	task.onPut = func(context.Context, []connect.Record) error {
		if attempts.Add(1) <= 8 {
			return connect.Retriable(errors.New("database busy"))
		}
		return nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	cfg.Errors = sluiceerrors.Config{RetryTimeout: time.Millisecond, RetryDelayMax: 20 * time.Millisecond}
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record committed", func() bool {
		return task.n.Load() >= 20 && groupOffset(t, brokers, p, topic) == 20
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.State != connect.StateRunning || st.PutRetries < 8 {
		t.Fatalf("state %s, %d put retries; want RUNNING after >= 8 retries", st.State, st.PutRetries)
	}
}

// TestTypedNilBatchErrorIsSuccess: a Put returning a nil *connect.BatchError
// in a non-nil error (`var be *connect.BatchError; return be`) succeeded.
func TestTypedNilBatchErrorIsSuccess(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 30)

	var put atomic.Int64
	task := newRecTask()
	task.onPut = func(_ context.Context, recs []connect.Record) error {
		put.Add(int64(len(recs)))
		var be *connect.BatchError
		return be
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.BatchSize = 10
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record committed", func() bool {
		return put.Load() >= 30 && groupOffset(t, brokers, p, topic) == 30
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.State != connect.StateRunning || st.RecordsOut != 30 || st.RecordsSkipped != 0 || put.Load() != 30 {
		t.Fatalf("status %s put %d skipped %d", st.State, st.RecordsOut, st.RecordsSkipped)
	}
}

// panicTask panics in the named callback on its first instance's first
// call of it.
type panicTask struct {
	*recTask
	in     string
	panics *atomic.Int64
}

func (t panicTask) maybePanic(cb string) {
	if cb == t.in && t.panics.Add(1) == 1 {
		panic("boom in " + cb)
	}
}

func (t panicTask) Start(ctx context.Context, tc sink.TaskContext) error {
	t.maybePanic("Start")
	return t.recTask.Start(ctx, tc)
}

func (t panicTask) Put(ctx context.Context, recs []connect.Record) error {
	t.maybePanic("Put")
	return t.recTask.Put(ctx, recs)
}

func (t panicTask) Open(ctx context.Context, tps []connect.TopicPartition) error {
	t.maybePanic("Open")
	return t.recTask.Open(ctx, tps)
}

func (t panicTask) Close(ctx context.Context, tps []connect.TopicPartition) error {
	t.maybePanic("Close")
	return t.recTask.Close(ctx, tps)
}

func (t panicTask) PreCommit(ctx context.Context, offs map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	t.maybePanic("PreCommit")
	return t.recTask.PreCommit(ctx, offs)
}

func (t panicTask) Stop(ctx context.Context) error {
	t.maybePanic("Stop")
	return t.recTask.Stop(ctx)
}

// TestPanicFailsTaskNotProcess: a panic in any task callback fails that
// task (FAILED, the panic value and stack in the status error), never the
// process; the restart policy then recovers it, and every record is
// delivered and committed. A panic in Close or Stop at shutdown makes Run
// return the panic.
func TestPanicFailsTaskNotProcess(t *testing.T) {
	for _, cb := range []string{"Start", "Open", "Put", "PreCommit", "Close", "Stop", "NewTask"} {
		t.Run(cb, func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			produce(t, brokers, topic, 1, 30)

			var panics atomic.Int64
			var mu sync.Mutex
			var tasks []*recTask
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task {
				if cb == "NewTask" && panics.Add(1) == 1 {
					panic("boom in NewTask")
				}
				mu.Lock()
				defer mu.Unlock()
				rt := newRecTask()
				tasks = append(tasks, rt)
				return panicTask{recTask: rt, in: cb, panics: &panics}
			})
			cfg.BatchSize = 10
			cfg.OffsetFlushInterval = 20 * time.Millisecond
			cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond}
			p, _ := sink.New(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- p.Run(ctx) }()
			delivered := func() int64 {
				mu.Lock()
				defer mu.Unlock()
				var n int64
				for _, rt := range tasks {
					n += rt.n.Load()
				}
				return n
			}
			atShutdown := cb == "Close" || cb == "Stop"
			if !atShutdown {
				// The failed instance may commit what it put while its
				// partitions close (as Kafka Connect's closeAllPartitions
				// does), before the restarted one runs: wait for both.
				waitFor(t, 60*time.Second, "the restarted task to run, deliver and commit everything", func() bool {
					ts := p.PipelineStatus().Tasks
					return len(ts) == 1 && ts[0].State == connect.StateRunning && ts[0].Restarts >= 1 &&
						delivered() >= 30 && groupOffset(t, brokers, p, topic) == 30
				})
				st := p.PipelineStatus().Tasks[0]
				if st.State != connect.StateRunning || st.Restarts < 1 || st.LastFailure == nil {
					t.Fatalf("state %s restarts %d last failure %v", st.State, st.Restarts, st.LastFailure)
				}
				if msg := st.LastFailure.Error(); !strings.Contains(msg, "boom in "+cb) || !strings.Contains(msg, "goroutine ") {
					t.Fatalf("last failure %q lacks the panic value or the stack", msg)
				}
				cancel()
				if err := <-errc; err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			waitFor(t, 60*time.Second, "every record committed", func() bool {
				return delivered() >= 30 && groupOffset(t, brokers, p, topic) == 30
			})
			cancel()
			err := <-errc
			if err == nil || !strings.Contains(err.Error(), "boom in "+cb) || !strings.Contains(err.Error(), "goroutine ") {
				t.Fatalf("Run: %v; want the panic in %s with its stack", err, cb)
			}
			st := p.PipelineStatus().Tasks[0]
			if st.State != connect.StateFailed || st.Err == nil || !strings.Contains(st.Err.Error(), "boom in "+cb) {
				t.Fatalf("state %s err %v", st.State, st.Err)
			}
			if !tasks[0].stopped.Load() && cb != "Stop" {
				t.Fatal("Stop not called after the panic")
			}
		})
	}
}

// faultDialer dials the broker for a pipeline's clients (sarama's
// Net.Proxy.Dialer) and can break them: kill drops every connection and
// refuses new ones, as if the process had been killed with SIGKILL (no
// LeaveGroup, no final commit); with failCommits set, every OffsetCommit
// request closes its connection instead of being sent.
type faultDialer struct {
	mu          sync.Mutex
	conns       []net.Conn
	dead        bool
	failCommits atomic.Bool
	commitsCut  atomic.Int64
}

func (d *faultDialer) Dial(network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		return nil, errors.New("faultDialer: process killed")
	}
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, d: d}
	d.conns = append(d.conns, c)
	return fc, nil
}

func (d *faultDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		_ = c.Close()
	}
}

type faultConn struct {
	net.Conn
	d *faultDialer
}

// apiOffsetCommit is the Kafka protocol's OffsetCommit API key.
const apiOffsetCommit = 8

func (c *faultConn) Write(b []byte) (int, error) {
	// sarama writes each request with one Write: size, API key, ….
	if c.d.failCommits.Load() && len(b) >= 6 && binary.BigEndian.Uint16(b[4:6]) == apiOffsetCommit {
		c.d.commitsCut.Add(1)
		_ = c.Conn.Close()
		return 0, &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: syscall.ECONNRESET}
	}
	return c.Conn.Write(b)
}

// TestGroupCommitFailureIsCountedAndRetried: an offset commit that cannot
// reach the group coordinator is retried, then counted as a failure and
// shown in the status (CommitErr), with the group's offsets unchanged; once
// the coordinator is reachable again the next commit writes them. A commit
// that fails while the partitions are closed is counted as abandoned
// (OffsetCommitSkips).
func TestGroupCommitFailureIsCountedAndRetried(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 20)

	d := &faultDialer{}
	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.Sarama.Net.Proxy.Enable = true
	cfg.Sarama.Net.Proxy.Dialer = d
	cfg.OffsetFlushInterval = 50 * time.Millisecond
	cfg.OffsetFlushTimeout = 300 * time.Millisecond
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 60*time.Second, "the first 20 records committed", func() bool { return groupOffset(t, brokers, p, topic) == 20 })

	d.failCommits.Store(true)
	produce(t, brokers, topic, 1, 20)
	waitFor(t, 60*time.Second, "a failed commit of the next records", func() bool {
		st := p.PipelineStatus().Tasks[0]
		return task.n.Load() >= 40 && st.OffsetCommitFailures >= 1 && st.CommitErr != nil
	})
	st := p.PipelineStatus().Tasks[0]
	if c := groupOffset(t, brokers, p, topic); c != 20 {
		t.Fatalf("committed %d while every commit failed; want 20", c)
	}
	if st.OffsetCommitRetries < 1 || d.commitsCut.Load() < 2 {
		t.Fatalf("%d commit retries, %d requests cut: want the commit retried", st.OffsetCommitRetries, d.commitsCut.Load())
	}
	if !strings.Contains(st.CommitErr.Error(), "topic "+topic+" partition 0") {
		t.Fatalf("CommitErr %q does not name the partition", st.CommitErr)
	}
	ps := p.PipelineStatus().Tasks[0]
	if ps.OffsetCommitFailures < 1 || ps.OffsetCommits < 1 {
		t.Fatalf("runner status: %d commits, %d failures", ps.OffsetCommits, ps.OffsetCommitFailures)
	}

	d.failCommits.Store(false)
	waitFor(t, 60*time.Second, "the commit to succeed again", func() bool { return groupOffset(t, brokers, p, topic) == 40 })
	waitFor(t, 60*time.Second, "CommitErr cleared", func() bool { return p.PipelineStatus().Tasks[0].CommitErr == nil })
	if n := p.PipelineStatus().Tasks[0].OffsetCommitSkips; n != 0 {
		t.Fatalf("%d commits abandoned while running; the failed ones were retried", n)
	}

	// A commit that fails while the partitions are closed (at stop) is
	// abandoned: counted as skipped, the group keeps the last offsets.
	d.failCommits.Store(true)
	produce(t, brokers, topic, 1, 10)
	waitFor(t, 60*time.Second, "the last records put", func() bool { return task.n.Load() >= 50 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := p.PipelineStatus().Tasks[0]; st.OffsetCommitSkips < 1 || st.CommitErr == nil {
		t.Fatalf("after a failed closing commit: %d skips, CommitErr %v", st.OffsetCommitSkips, st.CommitErr)
	}
	if c := groupOffset(t, brokers, p, topic); c != 40 {
		t.Fatalf("committed %d, want 40", c)
	}
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

func (l *logSink) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// TestRejoinAfterKill: a sink task killed without leaving its group (its
// connections dropped, as kill -9 does) stays a member until its session
// expires; a new one started at once with the same group.id must wait in
// JoinGroup until then. The group member's client allows JoinGroup
// max.poll.interval.ms + 5 s, so the new task joins once the session
// expired, without timing out and rejoining in a loop (sarama's 30 s
// Net.ReadTimeout did, here shortened to 2 s below the 8 s session), and
// resumes from the committed offsets.
func TestRejoinAfterKill(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 50)

	config := func(task sink.Task, logger *slog.Logger) sink.Config {
		cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
		cfg.Sarama.Net.ReadTimeout = 2 * time.Second
		cfg.ConsumerProps = map[string]string{
			"session.timeout.ms":    "8000",
			"heartbeat.interval.ms": "500",
			"max.poll.interval.ms":  "20000",
		}
		cfg.OffsetFlushInterval = 50 * time.Millisecond
		cfg.ShutdownTimeout = time.Second
		cfg.Logger = logger
		return cfg
	}

	d := &faultDialer{}
	first := newRecTask()
	cfg1 := config(first, quiet)
	cfg1.Sarama.Net.Proxy.Enable = true
	cfg1.Sarama.Net.Proxy.Dialer = d
	p1, _ := sink.New(cfg1)
	stop1 := start(t, p1)
	waitFor(t, 60*time.Second, "the first task to commit 50", func() bool { return groupOffset(t, brokers, p1, topic) == 50 })

	d.kill()
	produce(t, brokers, topic, 1, 50)
	logs := &logSink{}
	second := newRecTask()
	p2, _ := sink.New(config(second, slog.New(logs)))
	began := time.Now()
	stop2 := start(t, p2)
	waitFor(t, 90*time.Second, "the new task to deliver the records after the kill", func() bool { return second.n.Load() >= 50 })
	t.Logf("new member delivering %s after the kill (session timeout 8 s)", time.Since(began).Round(100*time.Millisecond))
	waitFor(t, 60*time.Second, "the new task to commit 100", func() bool { return groupOffset(t, brokers, p2, topic) == 100 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	_ = stop1() // its LeaveGroup and commits cannot reach the broker
	if loops := logs.matching("rejoining"); len(loops) > 0 {
		t.Fatalf("the new member's join failed %d times:\n%s", len(loops), strings.Join(loops, "\n"))
	}
	offs := second.offsets()[connect.TopicPartition{Topic: topic}]
	if len(offs) == 0 || offs[0] != 50 {
		t.Fatalf("the new task began at %v; want the committed offset 50", offs[:min(len(offs), 3)])
	}
}

// TestToleranceNoneReportsBeforeFailing: under errors.tolerance=none the
// record that stops the task is first reported, as Kafka Connect does: it is
// in the dead-letter queue (as consumed) and in the error log, which names
// its topic, partition, offset and timestamp but never its key or value,
// even with errors.log.include.messages. Nothing at or past it is committed.
func TestToleranceNoneReportsBeforeFailing(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	dlq := topic + "-dlq"
	in := jsonInput{parts: 1, perPart: 30}
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	in.produce(t, brokers, topic)
	const firstBad = 9

	logs := &logSink{}
	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.ValueConverter = newJSON(t)
	cfg.BatchSize = 4
	cfg.OffsetFlushInterval = 10 * time.Millisecond
	cfg.Logger = slog.New(logs)
	cfg.Errors = sluiceerrors.Config{DLQTopic: dlq, DLQReplicationFactor: 1, DLQContextHeaders: true, LogEnable: true, LogIncludeMessages: true}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = runUntilFailed(ctx, p)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageValueConverter || re.Offset != firstBad {
		t.Fatalf("Run: %v; want a VALUE_CONVERTER failure at offset %d", err, firstBad)
	}
	got := readAll(t, brokers, dlq)
	if len(got) != 1 {
		t.Fatalf("DLQ holds %d records, want the one that failed the task", len(got))
	}
	checkDLQRecord(t, got[0], in.msg(topic, 0, firstBad))
	lines := logs.matching("Error encountered in task")
	if len(lines) != 1 {
		t.Fatalf("%d error log lines, want 1: %q", len(lines), lines)
	}
	ts := in.msg(topic, 0, firstBad).Timestamp.UnixMilli()
	want := fmt.Sprintf("where consumed record is {topic='%s', partition=0, offset=%d, timestamp=%d, timestampType=CreateTime}", topic, firstBad, ts)
	if !strings.Contains(lines[0], want) {
		t.Fatalf("log line %q does not hold %q", lines[0], want)
	}
	for _, attr := range []string{" key=", " value="} {
		if strings.Contains(lines[0], attr) {
			t.Fatalf("log line %q holds the record's%s", lines[0], attr)
		}
	}
	if c := groupOffset(t, brokers, p, topic); c > firstBad {
		t.Fatalf("committed %d, past the bad record %d", c, firstBad)
	}
}
