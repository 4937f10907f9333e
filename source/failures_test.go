package source_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// panicky is a genTask that panics in the named callback.
type panicky struct {
	*genTask
	in string
}

func (p *panicky) Start(ctx context.Context, tc source.TaskContext) error {
	if p.in == "Start" {
		panic("boom in Start")
	}
	return p.genTask.Start(ctx, tc)
}

func (p *panicky) Poll(ctx context.Context) ([]connect.Record, error) {
	if p.in == "Poll" {
		panic(fmt.Errorf("boom in Poll"))
	}
	return p.genTask.Poll(ctx)
}

func (p *panicky) Stop(ctx context.Context) error {
	if p.in == "Stop" {
		panic("boom in Stop")
	}
	return p.genTask.Stop(ctx)
}

func (p *panicky) CommitRecord(context.Context, *connect.Record, *source.RecordMetadata) error {
	if p.in == "CommitRecord" {
		panic("boom in CommitRecord")
	}
	return nil
}

func (p *panicky) Commit(context.Context) error {
	if p.in == "Commit" {
		panic("boom in Commit")
	}
	return nil
}

type panickyConnector struct{}

func (panickyConnector) TaskConfigs(context.Context, map[string]string, int) ([]map[string]string, error) {
	panic("boom in TaskConfigs")
}

// TestPanicsFailTheTaskNotTheProcess: a panic in any task or connector
// callback fails that task (FAILED, with the panic value and stack trace in
// the status error and the log), and the process goes on.
func TestPanicsFailTheTaskNotTheProcess(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, in := range []string{"Start", "Poll", "Stop", "CommitRecord", "Commit", "TaskConfigs"} {
		t.Run(in, func(t *testing.T) {
			topic := kafkatest.Topic(t)
			task := &panicky{genTask: &genTask{topic: topic, parts: 1, perPart: 20}, in: in}
			cfg := baseConfig(t, brokers, "panic-"+in, task)
			cfg.OffsetFlushInterval = 10 * time.Millisecond
			var logs syncBuffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if in == "TaskConfigs" {
				cfg.Connector = panickyConnector{}
			}
			p, err := source.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if in == "Stop" {
				// Stop runs when the task stops: stop it once it delivered.
				go func() {
					waitFor(t, "delivery", 30*time.Second, func() bool {
						ts := p.PipelineStatus().Tasks
						return len(ts) > 0 && ts[0].RecordsOut == 20
					})
					cancel()
				}()
			}
			runErr := runUntilFailed(ctx, p)
			want := "boom in " + in
			if runErr == nil || !strings.Contains(runErr.Error(), want) || !strings.Contains(runErr.Error(), "panicked") ||
				!strings.Contains(runErr.Error(), "goroutine") {
				t.Fatalf("Run: %v; want the panic value %q and its stack trace", runErr, want)
			}
			// As Kafka Connect: a connector failure (TaskConfigs) fails
			// the pipeline; a task's leaves it RUNNING, STOPPED once Run
			// returned.
			st := p.PipelineStatus()
			if wantState := connect.StateStopped; in == "TaskConfigs" && st.State != connect.StateFailed || in != "TaskConfigs" && st.State != wantState {
				t.Fatalf("pipeline %s after a panic in %s", st.State, in)
			}
			if in != "TaskConfigs" {
				ts := st.Tasks[0]
				if ts.State != connect.StateFailed || ts.Err == nil || !strings.Contains(ts.Err.Error(), want) || !strings.Contains(ts.Err.Error(), "safe.go") {
					t.Fatalf("task %s err %v; want FAILED with the panic and trace", ts.State, ts.Err)
				}
				if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "task failed") {
					t.Fatalf("the log does not show the panic:\n%s", logs.String())
				}
			}
		})
	}
}

// TestPanicRestartedByPolicy: a task whose Poll panics once is restarted by
// the restart policy and then delivers everything.
func TestPanicRestartedByPolicy(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	var instances atomic.Int64
	cfg := baseConfig(t, brokers, "panic-restart", nil)
	cfg.NewTask = func() source.Task {
		in := ""
		if instances.Add(1) == 1 {
			in = "Poll"
		}
		return &panicky{genTask: &genTask{topic: topic, parts: 1, perPart: 10}, in: in}
	}
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 2, InitialDelay: 10 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "the restarted task to deliver", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut == 10
	})
	ts := p.PipelineStatus().Tasks[0]
	if ts.State != connect.StateRunning || ts.Restarts != 1 || ts.LastFailure == nil || !strings.Contains(ts.LastFailure.Error(), "boom in Poll") {
		t.Fatalf("task %s restarts %d last failure %v", ts.State, ts.Restarts, ts.LastFailure)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// retriablePoll fails Poll with a retriable error the first n times.
type retriablePoll struct {
	*genTask
	n, calls atomic.Int64
	always   bool
}

func (r *retriablePoll) Poll(ctx context.Context) ([]connect.Record, error) {
	if c := r.calls.Add(1); r.always || c <= r.n.Load() {
		return nil, connect.Retriable(errors.New("source system busy"))
	}
	return r.genTask.Poll(ctx)
}

// TestRetriablePollRetriesWithoutLimit: errors.retry.timeout governs
// converters and transforms only; a retriable Poll error is retried without
// limit by default, and sluice.task.retry.timeout.ms bounds it.
func TestRetriablePollRetriesWithoutLimit(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	task := &retriablePoll{genTask: &genTask{topic: topic, parts: 1, perPart: 10}}
	task.n.Store(3) // 300 + 600 + 1200 ms of backoff: well past errors.retry.timeout
	cfg := baseConfig(t, brokers, "poll-retry", task)
	cfg.Errors = sluiceerrors.Config{RetryTimeout: time.Millisecond}
	cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "delivery after the retries", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut == 10
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := p.PipelineStatus().Tasks[0].Errors.Retries; got != 3 {
		t.Errorf("%d retries counted, want 3", got)
	}

	// The bounded form.
	bounded := &retriablePoll{genTask: &genTask{topic: topic, parts: 1, perPart: 10}, always: true}
	cfg = baseConfig(t, brokers, "poll-retry-bounded", bounded)
	cfg.TaskRetryTimeout = 500 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	p, err = source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runErr := runUntilFailed(context.Background(), p)
	var re *connect.RecordError
	if !errors.As(runErr, &re) || re.Stage != connect.StageTaskPoll || !strings.Contains(runErr.Error(), "source system busy") {
		t.Fatalf("Run: %v; want a TASK_POLL failure once sluice.task.retry.timeout.ms ran out", runErr)
	}
}

// TestTaskRetryTimeoutProperty: the property form of the bound.
func TestTaskRetryTimeoutProperty(t *testing.T) {
	for v, want := range map[string]time.Duration{"2500": 2500 * time.Millisecond, "-1": -1, "0": 0} {
		cfg, err := source.ConfigFromProperties(map[string]string{"bootstrap.servers": "x:1"},
			map[string]string{"name": "c", "sluice.task.retry.timeout.ms": v, "sluice.offset.commit.failure.timeout.ms": v},
			source.PropertyOptions{NewTask: func() source.Task { return &genTask{} }})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TaskRetryTimeout != want || cfg.OffsetCommitFailureTimeout != want {
			t.Errorf("%s: TaskRetryTimeout %v OffsetCommitFailureTimeout %v, want %v", v, cfg.TaskRetryTimeout, cfg.OffsetCommitFailureTimeout, want)
		}
	}
	_, err := source.ConfigFromProperties(map[string]string{"bootstrap.servers": "x:1"},
		map[string]string{"name": "c", "sluice.task.retry.timeout.ms": "soon"},
		source.PropertyOptions{NewTask: func() source.Task { return &genTask{} }})
	if err == nil || !strings.Contains(err.Error(), "sluice.task.retry.timeout.ms") {
		t.Fatalf("err %v, want one naming sluice.task.retry.timeout.ms", err)
	}
}

// timeOffsetTask emits records whose offset at seq == bad is a time.Time,
// which no offset store can hold.
type timeOffsetTask struct {
	*genTask
	bad int64
}

func (t *timeOffsetTask) Poll(ctx context.Context) ([]connect.Record, error) {
	batch, err := t.genTask.Poll(ctx)
	for i := range batch {
		if n, _ := asInt64(batch[i].SourceOffset["seq"]); n == t.bad {
			batch[i].SourceOffset = map[string]any{"seq": n, "at": time.Unix(0, 0)}
		}
	}
	return batch, err
}

// TestUnsupportedOffsetTypeRejectedAtPoll: an offset of a type the store
// cannot serialise is a record failure at Poll naming the source partition:
// under none the task fails and nothing past it is committed; under all the
// record is skipped and the partition's offsets go on.
func TestUnsupportedOffsetTypeRejectedAtPoll(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, tol := range []sluiceerrors.Tolerance{sluiceerrors.ToleranceNone, sluiceerrors.ToleranceAll} {
		t.Run(tol.String(), func(t *testing.T) {
			topic := kafkatest.Topic(t)
			task := &timeOffsetTask{genTask: &genTask{topic: topic, parts: 1, perPart: 100, batch: 10}, bad: 50}
			store := offsets.NewMemoryStore()
			name := "offset-type-" + tol.String()
			cfg := baseConfig(t, brokers, name, task)
			cfg.OffsetStore = store
			cfg.Errors = sluiceerrors.Config{Tolerance: tol}
			cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
			p, err := source.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tol == sluiceerrors.ToleranceNone {
				runErr := runUntilFailed(context.Background(), p)
				if runErr == nil || !strings.Contains(runErr.Error(), "time.Time") || !strings.Contains(runErr.Error(), "part=p0") {
					t.Fatalf("Run: %v; want a failure naming the type and the source partition", runErr)
				}
				if c := committed(t, store, name, 1, task.part); c[0] >= 50 {
					t.Fatalf("committed seq %d, at or past the rejected record 50", c[0])
				}
				return
			}
			stop := runPipeline(t, p)
			waitFor(t, "every record done", 60*time.Second, func() bool {
				ts := p.PipelineStatus().Tasks
				return len(ts) > 0 && ts[0].RecordsOut+ts[0].RecordsDropped == 100
			})
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if c := committed(t, store, name, 1, task.part); c[0] != 99 {
				t.Fatalf("committed seq %d, want 99", c[0])
			}
			if ts := p.PipelineStatus().Tasks[0]; ts.RecordsDropped != 1 || ts.OffsetCommitFailures != 0 {
				t.Fatalf("dropped %d, commit failures %d; want 1 and 0", ts.RecordsDropped, ts.OffsetCommitFailures)
			}
		})
	}
}

// TestTopicCreationDescribesFirst: with topic creation configured, an
// existing topic is described, not created, so a principal without CREATE
// permission works; a missing one is created.
func TestTopicCreationDescribesFirst(t *testing.T) {
	existing := kafkatest.Topic(t)
	c, brokers := newFaultyCluster(t, existing, 1)
	var creates atomic.Int64
	c.ControlKey(kmsg.CreateTopics.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		creates.Add(1)
		return nil, nil, false
	})
	task := &genTask{topic: existing, parts: 1, perPart: 10}
	cfg := baseConfig(t, brokers, "describe-first", task)
	cfg.TopicCreation = &source.TopicCreation{Partitions: 1, ReplicationFactor: 1}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "delivery", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut == 10
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := creates.Load(); n != 0 {
		t.Fatalf("%d CreateTopics requests for a topic that exists", n)
	}

	missing := existing + "-new"
	task = &genTask{topic: missing, parts: 1, perPart: 10}
	cfg = baseConfig(t, brokers, "describe-first-missing", task)
	cfg.TopicCreation = &source.TopicCreation{Partitions: 2, ReplicationFactor: 1}
	cfg.ProducerProps = map[string]string{"allow.auto.create.topics": "false"}
	p, err = source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop = runPipeline(t, p)
	waitFor(t, "delivery to the created topic", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut == 10
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := creates.Load(); n != 1 {
		t.Fatalf("%d CreateTopics requests for one missing topic, want 1", n)
	}
}
