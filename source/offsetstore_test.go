package source_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// defaultStoreConfig is a pipeline configuration with no offset store:
// the pipeline opens its default, the Kafka topic connect-offsets.
func defaultStoreConfig(t *testing.T, brokers []string, name string, task source.Task) source.Config {
	cfg := baseConfig(t, brokers, name, task)
	cfg.OffsetStore = nil
	return cfg
}

// runToAcks runs a pipeline until its task acknowledged n records, then
// stops it gracefully (committing offsets).
func runToAcks(t *testing.T, cfg source.Config, n int64) *source.Pipeline {
	t.Helper()
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, fmt.Sprintf("%d acks", n), 120*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut >= n
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return p
}

// TestDefaultOffsetStoreResumesAfterRestart: a pipeline given no store
// commits to the Kafka topic connect-offsets, so a new pipeline (a restart,
// or a replica elsewhere) resumes from the committed offsets instead of
// from scratch. With a memory default, the second run would write seqs
// 0..9 again.
func TestDefaultOffsetStoreResumesAfterRestart(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	name := "default-store-" + topic
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)

	runToAcks(t, defaultStoreConfig(t, brokers, name, &genTask{topic: topic, parts: 2, perPart: 10}), 20)
	runToAcks(t, defaultStoreConfig(t, brokers, name, &genTask{topic: topic, parts: 2, perPart: 25}), 30)

	got := seqs(t, readAll(t, brokers, topic))
	for i := range 2 {
		s := got[fmt.Sprintf("p%d", i)]
		if len(s) != 25 {
			t.Fatalf("p%d: %d records %v, want seqs 0..24 once: the restart did not resume from the committed offset", i, len(s), s)
		}
		for j, v := range s {
			if v != int64(j) {
				t.Fatalf("p%d: record %d has seq %d: restarted from scratch or skipped", i, j, v)
			}
		}
	}

	// The offsets are in the topic Kafka Connect distributed uses by default.
	store, err := offsets.NewKafkaStore(t.Context(), offsets.KafkaStoreConfig{
		Brokers: brokers, Topic: offsets.DefaultTopic, Sarama: kafkatest.SaramaConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	task := &genTask{parts: 2}
	if c := committed(t, store, name, 2, task.part); c[0] != 24 || c[1] != 24 {
		t.Fatalf("committed seqs in %s: %v, want [24 24]", offsets.DefaultTopic, c)
	}
}

// TestReplicasSeeTheSameOffsets: two pipelines of the same connector, each
// with the store it opens itself (as replicas in two processes), see the
// offsets either one committed: ListOffsets before, between and after runs
// opens the store for the call.
func TestReplicasSeeTheSameOffsets(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	name := "replica-" + topic
	storage := offsets.Storage{Topic: "offsets-" + topic, Partitions: 3, ReplicationFactor: 1}
	replica := func(perPart int64) source.Config {
		cfg := defaultStoreConfig(t, brokers, name, &genTask{topic: topic, parts: 1, perPart: perPart})
		cfg.OffsetStorage = storage
		return cfg
	}
	a, err := source.New(replica(-1))
	if err != nil {
		t.Fatal(err)
	}
	bTask := &genTask{topic: topic, parts: 1, perPart: 10}
	bCfg := replica(10)
	bCfg.NewTask = func() source.Task { return bTask }
	b, err := source.New(bCfg)
	if err != nil {
		t.Fatal(err)
	}
	if es, err := b.ListOffsets(t.Context()); err != nil || len(es) != 0 {
		t.Fatalf("before any run: %v %v, want no offsets", es, err)
	}
	runToAcks(t, replica(7), 7) // a run of the connector elsewhere commits seq 6
	want := []connect.OffsetEntry{{Partition: map[string]any{"part": "p0"}, Offset: map[string]any{"seq": int64(6)}}}
	for label, p := range map[string]*source.Pipeline{"a": a, "b": b} {
		es, err := p.ListOffsets(t.Context())
		if err != nil || fmt.Sprint(es) != fmt.Sprint(want) {
			t.Fatalf("replica %s sees %v (%v), want %v", label, es, err, want)
		}
	}
	// Replica b resumes where that run stopped, and a sees what b committed.
	stop := runPipeline(t, b)
	waitFor(t, "3 acks", 60*time.Second, func() bool { st := b.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	es, err := a.ListOffsets(t.Context())
	if err != nil || len(es) != 1 || fmt.Sprint(es[0].Offset["seq"]) != "9" {
		t.Fatalf("replica a sees %v (%v), want seq 9", es, err)
	}
	if s := seqs(t, readAll(t, brokers, topic))["p0"]; len(s) != 10 {
		t.Fatalf("records %v, want seqs 0..9 once", s)
	}
}

// TestOwnedStoreAdminWhileStopped: AlterOffsets and ResetOffsets on a
// pipeline that is not running write through a store opened for the call,
// and the next run reads what they wrote.
func TestOwnedStoreAdminWhileStopped(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	cfg := defaultStoreConfig(t, brokers, "admin-"+topic, &genTask{topic: topic, parts: 1, perPart: 10})
	cfg.OffsetStorage = offsets.Storage{File: filepath.Join(t.TempDir(), "offsets.json")}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AlterOffsets(t.Context(), []connect.OffsetEntry{{Partition: map[string]any{"part": "p0"}, Offset: map[string]any{"seq": 6}}}); err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "3 acks", 60*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := seqs(t, readAll(t, brokers, topic))["p0"]; fmt.Sprint(s) != "[7 8 9]" {
		t.Fatalf("records %v, want seqs 7..9 (resumed from the altered offset 6)", s)
	}
	if err := p.ResetOffsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if es, err := p.ListOffsets(t.Context()); err != nil || len(es) != 0 {
		t.Fatalf("after reset: %v %v", es, err)
	}
}

// TestUnreachableDefaultStoreRetriesThenFailsNamingIt: with the brokers
// away, Run keeps trying to open the default store (no task starts, no
// memory store is used in its place) and the status tells why, as it does
// for a task whose producer cannot reach the brokers: the pipeline and its
// task are RUNNING and the task is stalled with an error naming the
// offsets topic and how to choose another store. Cancelling is a graceful
// stop: Run returns nil and the pipeline is STOPPED.
func TestUnreachableDefaultStoreRetriesThenFailsNamingIt(t *testing.T) {
	var logs syncBuffer
	task := &genTask{topic: "t", parts: 1, perPart: 1}
	cfg := defaultStoreConfig(t, []string{"127.0.0.1:1"}, "unreachable-store", task)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var st connect.PipelineStatus
	waitFor(t, "the task stalled on the offset store", 120*time.Second, func() bool {
		st = p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].StallError != nil
	})
	if !strings.Contains(logs.String(), "the offset store cannot be opened yet") {
		t.Errorf("no retry warning in the log:\n%s", logs.String())
	}
	if task.polls.Load() != 0 {
		t.Fatal("a task started without an offset store")
	}
	ts := st.Tasks[0]
	if st.State != connect.StateRunning || st.Err != nil || ts.State != connect.StateRunning || ts.Err != nil ||
		ts.StalledSince.IsZero() || !ts.Stalled(time.Now(), time.Hour) {
		t.Fatalf("status while the store cannot be opened: pipeline %s (%v), task %+v; want both RUNNING, the task stalled", st.State, st.Err, ts)
	}
	for _, want := range []string{`offsets topic "connect-offsets"`, "Config.OffsetStore", "offset.storage.topic", "offset.storage.file.filename", "127.0.0.1:1"} {
		if !strings.Contains(ts.StallError.Error(), want) {
			t.Errorf("stall error %q; want it to name %q", ts.StallError, want)
		}
	}
	cancel()
	select {
	case err = <-done:
	case <-time.After(120 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if err != nil {
		t.Fatalf("Run after a graceful stop while waiting for the store: %v, want nil", err)
	}
	if st := p.PipelineStatus(); st.State != connect.StateStopped || st.Err != nil || len(st.Tasks) != 1 || st.Tasks[0].State != connect.StateStopped {
		t.Fatalf("status after the stop: %+v, want STOPPED", st)
	}
	if task.polls.Load() != 0 {
		t.Fatal("a task ran without an offset store")
	}
}

// TestDefaultStorePermanentOpenFailureFailsRun: a store that cannot be
// opened for a reason retrying does not cure (here an offsets file that is
// not an offsets file) fails Run at once, naming the store and how to
// choose another; the pipeline and its task are FAILED with that error and
// the task never started.
func TestDefaultStorePermanentOpenFailureFailsRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	if err := os.WriteFile(path, []byte("not offsets"), 0o600); err != nil {
		t.Fatal(err)
	}
	task := &genTask{topic: "t", parts: 1, perPart: 1}
	cfg := defaultStoreConfig(t, []string{"127.0.0.1:1"}, "corrupt-store", task)
	cfg.OffsetStorage = offsets.Storage{File: path}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(t.Context())
	for _, want := range []string{path, "Config.OffsetStore", "offset.storage.topic", "offset.storage.file.filename"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v; want it to name %q", err, want)
		}
	}
	st := p.PipelineStatus()
	if st.State != connect.StateFailed || st.Err == nil || len(st.Tasks) != 1 || st.Tasks[0].State != connect.StateFailed || st.Tasks[0].Err == nil {
		t.Fatalf("status: %+v, want the pipeline and its task FAILED with the error", st)
	}
	if task.polls.Load() != 0 {
		t.Fatal("a task ran without an offset store")
	}
}

// TestRunnerShowsUnreachableDefaultStore: under a runner.Runner, a source
// pipeline waiting for its default store shows its task RUNNING and
// stalled in the REST status with the store's error, and stopping the
// Runner meanwhile is a clean stop, not a connector failure.
func TestRunnerShowsUnreachableDefaultStore(t *testing.T) {
	var logs syncBuffer
	r, err := runner.New(runner.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddPipeline("waits", nil, func(context.Context) (connect.Pipeline, error) {
		cfg := defaultStoreConfig(t, []string{"127.0.0.1:1"}, "waits", &genTask{topic: "t", parts: 1, perPart: 1})
		cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
		return source.New(cfg)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var ts []restTask
	waitFor(t, "the stall in the REST status", 120*time.Second, func() bool {
		ts = restStatus(t, r, "waits")
		return len(ts) == 1 && ts[0].Sluice.StallError != ""
	})
	if ts[0].State != "RUNNING" || !ts[0].Sluice.Stalled || !strings.Contains(ts[0].Sluice.StallError, `offsets topic "connect-offsets"`) || ts[0].Sluice.StalledSince == "" {
		t.Fatalf("task waiting for the offset store: %+v", ts[0])
	}
	rep, err := r.Status("waits")
	if err != nil || rep.State != connect.StateRunning || !rep.Stalled() {
		t.Fatalf("Runner status: %+v (%v), want RUNNING and stalled", rep, err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		t.Fatal("Runner.Run did not return")
	}
	if strings.Contains(logs.String(), "connector failed") || !strings.Contains(logs.String(), "connector stopped") {
		t.Fatalf("stopping while the store could not be opened must be a clean stop; log:\n%s", logs.String())
	}
}

// TestRunTwiceFailsFast: a second Run, concurrent with the first or after
// it, returns an error at once instead of running the tasks (and opening
// the pipeline's own store) a second time.
func TestRunTwiceFailsFast(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	cfg := defaultStoreConfig(t, brokers, "twice-"+topic, &genTask{topic: topic, parts: 1, perPart: -1})
	cfg.OffsetStorage = offsets.Storage{File: filepath.Join(t.TempDir(), "offsets.json")}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() { <-start; errs <- p.Run(ctx) }()
	}
	close(start)
	var first error
	select {
	case first = <-errs:
	case <-time.After(120 * time.Second):
		t.Fatal("neither of two concurrent Runs returned: both ran")
	}
	if first == nil || !strings.Contains(first.Error(), "Run was already called") {
		t.Fatalf("the second Run: %v; want an error saying Run was already called", first)
	}
	waitFor(t, "records acknowledged", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut > 0
	})
	cancel()
	select {
	case err = <-errs:
	case <-time.After(120 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if err != nil {
		t.Fatalf("the first Run: %v", err)
	}
	if err := p.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "Run was already called") {
		t.Fatalf("Run after Run returned: %v; want an error saying Run was already called", err)
	}
}

// TestOffsetStoreAndStorageBothSetIsAnError: the caller's store and a
// storage selection cannot both be given.
func TestOffsetStoreAndStorageBothSetIsAnError(t *testing.T) {
	cfg := baseConfig(t, []string{"127.0.0.1:1"}, "both", &genTask{})
	cfg.OffsetStorage = offsets.Storage{Topic: "x"}
	if _, err := source.New(cfg); err == nil || !strings.Contains(err.Error(), "OffsetStore and OffsetStorage") {
		t.Fatalf("New: %v; want an error naming OffsetStore and OffsetStorage", err)
	}
	cfg.OffsetStore = nil
	cfg.OffsetStorage = offsets.Storage{File: "f", Topic: "x"}
	if _, err := source.New(cfg); err == nil || !strings.Contains(err.Error(), "offset.storage.file.filename and offset.storage.topic") {
		t.Fatalf("New: %v; want an error naming both keys", err)
	}
}
