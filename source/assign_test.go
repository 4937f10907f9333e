package source_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// asgRegistry records every task instance the pipelines under test create,
// by the task id their TaskContext gives them.
type asgRegistry struct {
	topic string
	mu    sync.Mutex
	byID  map[int][]*asgTask // started instances, in start order
	// release, when set, is what Stop of a task with config
	// "blockstop"="true" waits for.
	release chan struct{}
}

func newAsgRegistry(topic string) *asgRegistry {
	return &asgRegistry{topic: topic, byID: map[int][]*asgTask{}}
}

func (g *asgRegistry) newTask() source.Task { return &asgTask{reg: g} }

// instances returns the instances of task id that were started.
func (g *asgRegistry) instances(id int) []*asgTask {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.byID[id])
}

// asgTask emits "t<id>:<seq>" records with source partition {"task": "<id>"}
// and offset {"seq": seq}, 5 per poll every few milliseconds, resuming after
// the committed offset. A config "fail"="true" makes Start fail.
type asgTask struct {
	reg    *asgRegistry
	id     int
	config map[string]string
	first  int64 // first seq emitted by this instance
	next   int64
	starts atomic.Int64
	stops  atomic.Int64
	polls  atomic.Int64
}

func asgPartition(id int) map[string]any { return map[string]any{"task": strconv.Itoa(id)} }

func (a *asgTask) Start(ctx context.Context, tc source.TaskContext) error {
	a.starts.Add(1)
	a.id, a.config = tc.TaskID(), maps.Clone(tc.Config())
	a.reg.mu.Lock()
	a.reg.byID[a.id] = append(a.reg.byID[a.id], a)
	a.reg.mu.Unlock()
	if a.config["fail"] == "true" {
		return errors.New("configured to fail")
	}
	off, err := tc.Offsets().Offset(ctx, asgPartition(a.id))
	if err != nil {
		return err
	}
	if off != nil {
		seq, err := asInt64(off["seq"])
		if err != nil {
			return err
		}
		a.next = seq + 1
	}
	a.first = a.next
	return nil
}

func (a *asgTask) Poll(ctx context.Context) ([]connect.Record, error) {
	a.polls.Add(1)
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(5 * time.Millisecond):
	}
	out := make([]connect.Record, 5)
	for i := range out {
		out[i] = connect.Record{
			Topic:           a.reg.topic,
			KeySchema:       connect.OptionalBytesSchema,
			Key:             fmt.Appendf(nil, "t%d", a.id), // one Kafka partition per task: in order
			ValueSchema:     connect.OptionalBytesSchema,
			Value:           fmt.Appendf(nil, "t%d:%d", a.id, a.next),
			SourcePartition: asgPartition(a.id),
			SourceOffset:    map[string]any{"seq": a.next},
		}
		a.next++
	}
	return out, nil
}

func (a *asgTask) Stop(context.Context) error {
	if a.config["blockstop"] == "true" {
		<-a.reg.release
	}
	a.stops.Add(1)
	return nil
}

// asgConfig is a pipeline of registry g's tasks on a memory store shared by
// the pipelines of a test.
func asgConfig(t *testing.T, brokers []string, name string, g *asgRegistry, store offsets.Store) source.Config {
	cfg := baseConfig(t, brokers, name, nil)
	cfg.NewTask = g.newTask
	cfg.OffsetStore = store
	return cfg
}

func taskIDs(st connect.PipelineStatus) []int {
	var ids []int
	for _, ts := range st.Tasks {
		ids = append(ids, ts.ID)
	}
	return ids
}

func taskStatus(st connect.PipelineStatus, id int) (connect.TaskStatus, bool) {
	for _, ts := range st.Tasks {
		if ts.ID == id {
			return ts, true
		}
	}
	return connect.TaskStatus{}, false
}

// waitDelivering waits until PipelineStatus lists exactly ids, each
// RUNNING with acknowledged records.
func waitDelivering(t *testing.T, p *source.Pipeline, ids ...int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("tasks %v delivering", ids), 60*time.Second, func() bool {
		st := p.PipelineStatus()
		if !slices.Equal(taskIDs(st), ids) {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State != connect.StateRunning || ts.RecordsOut == 0 {
				return false
			}
		}
		return true
	})
}

func assign(t *testing.T, p interface {
	AssignTasks(context.Context, map[int]map[string]string) error
}, tasks map[int]map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.AssignTasks(ctx, tasks); err != nil {
		t.Fatalf("AssignTasks(%v): %v", tasks, err)
	}
}

// checkContiguous fails t unless the topic holds, for each task id, seqs
// 0..n-1 exactly once, in order, and returns n per task.
func checkContiguous(t *testing.T, brokers []string, topic string, ids ...int) map[int]int {
	t.Helper()
	got := seqs(t, readAll(t, brokers, topic))
	n := map[int]int{}
	for _, id := range ids {
		s := got[fmt.Sprintf("t%d", id)]
		if len(s) == 0 {
			t.Errorf("task %d: no record", id)
		}
		for j, v := range s {
			if v != int64(j) {
				t.Fatalf("task %d: record %d has seq %d (of %d records): a stop did not commit its offsets, or a task was restarted from older offsets", id, j, v, len(s))
			}
		}
		n[id] = len(s)
	}
	if len(got) != len(ids) {
		t.Errorf("records of source partitions %v, want only tasks %v", slices.Sorted(maps.Keys(got)), ids)
	}
	return n
}

// TestAssignTasksKeepsUnmovedTasks: a pipeline assigned {0,1} runs exactly
// those; reassigned {1,2} it stops 0 gracefully (offsets committed), starts
// 2, and leaves 1 alone (same instance, started once); a changed config
// restarts that task only; an empty assignment keeps Run running with no
// task; tasks added back resume from their committed offsets, and so does
// a new pipeline: no duplicate, no gap.
func TestAssignTasksKeepsUnmovedTasks(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	name := "assign-" + topic
	store := offsets.NewMemoryStore()
	g := newAsgRegistry(topic)
	a := map[string]string{"v": "a"}

	p, err := source.New(asgConfig(t, brokers, name, g, store))
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p, map[int]map[string]string{0: a, 1: a})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	waitDelivering(t, p, 0, 1)
	t0, t1 := g.instances(0)[0], g.instances(1)[0]
	polls1 := t1.polls.Load()

	assign(t, p, map[int]map[string]string{1: a, 2: a})
	if n := t0.stops.Load(); n != 1 {
		t.Fatalf("task 0 stopped %d times when AssignTasks returned, want 1 (graceful stop awaited)", n)
	}
	if ids := taskIDs(p.PipelineStatus()); !slices.Equal(ids, []int{1, 2}) {
		t.Fatalf("tasks after reassigning {1,2}: %v", ids)
	}
	off, err := store.Get(t.Context(), name, asgPartition(0))
	if err != nil || off == nil {
		t.Fatalf("task 0's committed offset after its stop: %v, %v", off, err)
	}
	waitDelivering(t, p, 1, 2)
	if ins := g.instances(1); len(ins) != 1 || ins[0] != t1 || t1.starts.Load() != 1 || t1.stops.Load() != 0 {
		t.Fatalf("task 1: %d instances, starts %d, stops %d; want the same instance, started once, never stopped", len(ins), t1.starts.Load(), t1.stops.Load())
	}
	waitFor(t, "task 1 to keep polling", 30*time.Second, func() bool { return t1.polls.Load() > polls1 })

	// A changed config restarts that task only.
	b := map[string]string{"v": "b"}
	t2 := g.instances(2)[0]
	assign(t, p, map[int]map[string]string{1: b, 2: a})
	waitDelivering(t, p, 1, 2)
	if ins := g.instances(1); len(ins) != 2 || ins[1].config["v"] != "b" || t1.stops.Load() != 1 {
		t.Fatalf("task 1 after a config change: %d instances (last config %v), old one stopped %d times; want a new instance with v=b", len(ins), ins[len(ins)-1].config, t1.stops.Load())
	}
	if ins := g.instances(2); len(ins) != 1 || t2.stops.Load() != 0 {
		t.Fatalf("task 2 was disturbed by task 1's config change: %d instances, %d stops", len(ins), t2.stops.Load())
	}
	if first := g.instances(1)[1].first; first == 0 {
		t.Fatalf("task 1's new instance started from seq 0, not after its committed offset")
	}

	// No task: Run goes on.
	assign(t, p, map[int]map[string]string{})
	st := p.PipelineStatus()
	if len(st.Tasks) != 0 || st.State != connect.StateRunning {
		t.Fatalf("after an empty assignment: state %s, tasks %v; want RUNNING with none", st.State, taskIDs(st))
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned with no task assigned: %v", err)
	default:
	}
	// Task 0 comes back, resuming after its committed offset.
	assign(t, p, map[int]map[string]string{0: a})
	waitDelivering(t, p, 0)
	if ins := g.instances(0); len(ins) != 2 || ins[1].first == 0 {
		t.Fatalf("task 0 reassigned: %d instances, first seq %d; want a new one resuming after its offsets", len(ins), ins[len(ins)-1].first)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := p.PipelineStatus(); st.State != connect.StateStopped {
		t.Fatalf("state after Run: %s", st.State)
	}
	// After Run: a no-op.
	assign(t, p, map[int]map[string]string{5: a})
	if ids := taskIDs(p.PipelineStatus()); !slices.Equal(ids, []int{0}) {
		t.Fatalf("AssignTasks after Run changed the tasks: %v", ids)
	}

	// A new pipeline (another process) resumes each task after its
	// offsets.
	p2, err := source.New(asgConfig(t, brokers, name, g, store))
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p2, map[int]map[string]string{0: a, 1: b, 2: a})
	stop := runPipeline(t, p2)
	waitDelivering(t, p2, 0, 1, 2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, brokers, topic, 0, 1, 2)
}

// TestAssignTasksZeroTasksOwnedStore: assigned no task, Run opens the
// offset store it owns and keeps running; tasks assigned later use it, and
// a new pipeline on the same topic store resumes after their offsets. A
// failing assigned task is FAILED and does not end Run; reassigned with a
// good config it runs. Ids are the assigned ones: status, TaskContext,
// errors.
func TestAssignTasksZeroTasksOwnedStore(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	name := "assign-store-" + topic
	storage := offsets.Storage{Topic: "offsets-" + topic, Partitions: 3, ReplicationFactor: 1}
	g := newAsgRegistry(topic)
	cfg := asgConfig(t, brokers, name, g, nil)
	cfg.OffsetStorage = storage

	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	waitFor(t, "RUNNING with no task", 30*time.Second, func() bool {
		st := p.PipelineStatus()
		return st.State == connect.StateRunning && len(st.Tasks) == 0
	})

	assign(t, p, map[int]map[string]string{4: {"fail": "true"}, 7: {}})
	waitFor(t, "task 4 FAILED, task 7 delivering", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		t4, ok4 := taskStatus(st, 4)
		t7, ok7 := taskStatus(st, 7)
		return ok4 && ok7 && t4.State == connect.StateFailed && t7.State == connect.StateRunning && t7.RecordsOut > 0
	})
	st := p.PipelineStatus()
	if st.State != connect.StateRunning || !slices.Equal(taskIDs(st), []int{4, 7}) {
		t.Fatalf("with a failed task: pipeline %s, tasks %v; want RUNNING, [4 7]", st.State, taskIDs(st))
	}
	if t4, _ := taskStatus(st, 4); t4.Err == nil || !strings.Contains(t4.Err.Error(), `connector "`+name+`" task 4`) {
		t.Fatalf("task 4's error %v does not name the assigned id", t4.Err)
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned after a task failed: %v", err)
	default:
	}
	// A restart in place: the failed task fails again, the other is not
	// touched.
	if err := p.RestartAssignedTask(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "task 4 restarted and FAILED again", 30*time.Second, func() bool {
		t4, _ := taskStatus(p.PipelineStatus(), 4)
		return len(g.instances(4)) == 2 && t4.State == connect.StateFailed
	})
	if ins := g.instances(7); len(ins) != 1 || ins[0].stops.Load() != 0 {
		t.Fatal("restarting task 4 disturbed task 7")
	}
	assign(t, p, map[int]map[string]string{4: {}, 7: {}})
	waitDelivering(t, p, 4, 7)
	t7 := g.instances(7)[0]
	if err := p.RestartAssignedTask(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if t7.stops.Load() != 1 {
		t.Fatalf("task 7 not stopped when RestartAssignedTask returned")
	}
	waitDelivering(t, p, 4, 7)
	if n, last := len(g.instances(7)), g.instances(4); n != 2 || len(last) != 3 || last[2].stops.Load() != 0 {
		t.Fatalf("after restarting task 7: %d instances of 7, %d of 4 (last stopped %d times); want 2, 3, 0", n, len(last), last[len(last)-1].stops.Load())
	}
	if err := p.RestartAssignedTask(t.Context(), 9); err == nil || !strings.Contains(err.Error(), "task 9: the task is not assigned") {
		t.Fatalf("restarting an unassigned task: %v", err)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}

	p2, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p2, map[int]map[string]string{4: {}, 7: {}})
	stop := runPipeline(t, p2)
	waitDelivering(t, p2, 4, 7)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{4, 7} {
		ins := g.instances(id)
		if last := ins[len(ins)-1]; last.first == 0 {
			t.Errorf("task %d in a new pipeline started from seq 0: the offsets of the first were not in the store it owns", id)
		}
	}
	checkContiguous(t, brokers, topic, 4, 7)
}

// TestAssignTasksPausedStartPaused: tasks assigned while the pipeline is
// paused start paused (Start called, no Poll) and poll once resumed.
func TestAssignTasksPausedStartPaused(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	g := newAsgRegistry(topic)
	p, err := source.New(asgConfig(t, brokers, "assign-pause-"+topic, g, offsets.NewMemoryStore()))
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p, map[int]map[string]string{})
	stop := runPipeline(t, p)
	p.Pause()
	assign(t, p, map[int]map[string]string{3: {}})
	waitFor(t, "task 3 started", 30*time.Second, func() bool { return len(g.instances(3)) == 1 })
	if st := p.PipelineStatus(); st.State != connect.StatePaused {
		t.Fatalf("pipeline state %s, want PAUSED", st.State)
	}
	time.Sleep(300 * time.Millisecond) // a window in which an unpaused task polls
	if n := g.instances(3)[0].polls.Load(); n != 0 {
		t.Fatalf("task 3 assigned while paused polled %d times", n)
	}
	p.Resume()
	waitDelivering(t, p, 3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAssignTasksExactlyOnceIDs: an exactly-once task keeps its assigned
// id in its transactional id (<group>-<connector>-<id>), which is what
// fences its previous owner when it moves.
func TestAssignTasksExactlyOnceIDs(t *testing.T) {
	g := newAsgRegistry("")
	brokers, topic, cfg := eosSetup(t, "assign-eos", 1, nil)
	g.topic = topic
	cfg.NewTask = g.newTask
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p, map[int]map[string]string{3: {}})
	stop := runPipeline(t, p)
	waitDelivering(t, p, 3)
	ts, _ := taskStatus(p.PipelineStatus(), 3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ts.TransactionalID != "g-assign-eos-3" {
		t.Fatalf("TransactionalID = %q, want g-assign-eos-3", ts.TransactionalID)
	}
	if got := seqs(t, kafkatest.ReadCommitted(t, brokers, topic))["t3"]; len(got) == 0 || got[0] != 0 {
		t.Fatalf("task 3's committed records: %v", got)
	}
}

// splitConnector splits into one task per "part" listed in "parts".
type splitConnector struct{ calls atomic.Int64 }

func (c *splitConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	c.calls.Add(1)
	n, err := strconv.Atoi(config["n"])
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"n": config["n"], "part": strconv.Itoa(i)}
	}
	return out, nil
}

// TestTaskConfigsAndAssignedRunSkipsConnector: TaskConfigs is the
// Connector's split checked against tasks.max, or the properties alone
// without a Connector; an assigned Run does not call the Connector.
func TestTaskConfigsAndAssignedRunSkipsConnector(t *testing.T) {
	conn := &splitConnector{}
	brokers := kafkatest.Brokers(t)
	cfg := source.Config{Name: "tc", Brokers: brokers, Sarama: kafkatest.SaramaConfig(t), NewTask: func() source.Task { return &asgTask{} },
		OffsetStore: offsets.NewMemoryStore(), Properties: map[string]string{"n": "2"}, TasksMax: 3, Connector: conn}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ComputeTaskConfigs(t.Context())
	want := []map[string]string{{"n": "2", "part": "0"}, {"n": "2", "part": "1"}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("TaskConfigs = %v, %v; want %v", got, err, want)
	}
	cfg.Properties = map[string]string{"n": "4"}
	p4, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p4.ComputeTaskConfigs(t.Context()); err == nil || !strings.Contains(err.Error(), "more than tasks.max=3") {
		t.Fatalf("TaskConfigs with 4 configs for tasks.max=3: %v", err)
	}
	cfg.Properties = map[string]string{"n": "x"}
	pBad, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pBad.ComputeTaskConfigs(t.Context()); err == nil || !strings.Contains(err.Error(), `source "tc": connector could not compute task configs`) {
		t.Fatalf("TaskConfigs of a failing connector: %v", err)
	}

	cfg.Connector = nil
	cfg.Properties = map[string]string{"k": "v"}
	plain, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := plain.ComputeTaskConfigs(t.Context()); err != nil || fmt.Sprint(got) != "[map[k:v]]" {
		t.Fatalf("TaskConfigs without a Connector = %v, %v; want the properties", got, err)
	}

	// Assigned mode never asks the Connector.
	calls := conn.calls.Load()
	assign(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	waitFor(t, "RUNNING", 30*time.Second, func() bool { return p.PipelineStatus().State == connect.StateRunning })
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	if conn.calls.Load() != calls {
		t.Fatal("an assigned Run called the Connector's TaskConfigs")
	}
	// AssignTasks during a Run not in assigned mode is refused.
	cfg.Properties = map[string]string{"n": "1"}
	cfg.Connector = conn
	cfg.NewTask = func() source.Task { return blockingTask{} }
	normal, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, normal)
	waitFor(t, "normal RUNNING", 30*time.Second, func() bool { return normal.PipelineStatus().State == connect.StateRunning })
	if err := normal.AssignTasks(t.Context(), map[int]map[string]string{0: {}}); err == nil {
		t.Fatal("AssignTasks during a normal Run succeeded")
	}
	if err := normal.RestartAssignedTask(t.Context(), 0); err == nil {
		t.Fatal("RestartAssignedTask during a normal Run succeeded")
	}
	if err := p.AssignTasks(t.Context(), map[int]map[string]string{-1: {}}); err == nil {
		t.Fatal("a negative task id was accepted")
	}
	stop()
}

// blockingTask polls nothing until stopped.
type blockingTask struct{}

func (blockingTask) Start(context.Context, source.TaskContext) error { return nil }
func (blockingTask) Poll(ctx context.Context) ([]connect.Record, error) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Millisecond):
	}
	return nil, nil
}
func (blockingTask) Stop(context.Context) error { return nil }

// TestAssignTasksWaitsForStops: when AssignTasks's ctx ends before a
// removed task stopped, it returns ctx's error; a later call does not start
// an instance with the same id until the old one stopped, then starts it.
func TestAssignTasksWaitsForStops(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	g := newAsgRegistry(topic)
	g.release = make(chan struct{})
	p, err := source.New(asgConfig(t, brokers, "assign-wait-"+topic, g, offsets.NewMemoryStore()))
	if err != nil {
		t.Fatal(err)
	}
	assign(t, p, map[int]map[string]string{0: {"blockstop": "true"}})
	stop := runPipeline(t, p)
	waitDelivering(t, p, 0)
	short := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return p.AssignTasks(ctx, map[int]map[string]string{0: {}})
	}
	// The config changes: task 0 must stop first, and its Stop blocks.
	if err := short(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AssignTasks while task 0's Stop blocks: %v, want a deadline error", err)
	}
	if err := short(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second AssignTasks while task 0's Stop blocks: %v, want a deadline error", err)
	}
	if n := len(g.instances(0)); n != 1 {
		t.Fatalf("%d instances of task 0 while the first has not stopped", n)
	}
	close(g.release)
	assign(t, p, map[int]map[string]string{0: {}})
	waitDelivering(t, p, 0)
	if ins := g.instances(0); len(ins) != 2 || ins[0].stops.Load() != 1 || ins[1].first == 0 {
		t.Fatalf("task 0: %d instances; want the old one stopped and a new one resuming after its offsets", len(ins))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAssignTasksMovedTaskReadsOthersOffsets: two pipelines, as on two
// cluster members, each with its own Kafka offsets store on one topic
// (opened when its Run started). Task 0 runs on the first and commits; it
// is then moved to the second, whose store was opened before those
// commits: the task resumes after the first's last committed offset, not
// from what the second's store read at its start (which would re-send
// everything).
func TestAssignTasksMovedTaskReadsOthersOffsets(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	name := "assign-move-" + topic
	storage := offsets.Storage{Topic: "offsets-" + topic, Partitions: 1, ReplicationFactor: 1}
	g := newAsgRegistry(topic)
	run := func(p *source.Pipeline) (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- p.Run(ctx) }()
		return cancel, errc
	}
	newPipe := func(tasks map[int]map[string]string) *source.Pipeline {
		cfg := asgConfig(t, brokers, name, g, nil)
		cfg.OffsetStorage = storage
		cfg.OffsetFlushInterval = 50 * time.Millisecond
		p, err := source.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		assign(t, p, tasks)
		return p
	}
	a, b := newPipe(map[int]map[string]string{0: {}}), newPipe(nil)
	cancelA, errA := run(a)
	defer cancelA()
	cancelB, errB := run(b)
	defer cancelB()
	waitFor(t, "b RUNNING with its store open", 30*time.Second, func() bool {
		return b.PipelineStatus().State == connect.StateRunning
	})
	waitFor(t, "task 0 on a to commit a few offsets", 60*time.Second, func() bool {
		st, ok := taskStatus(a.PipelineStatus(), 0)
		return ok && st.OffsetCommits >= 3 && st.RecordsOut >= 50
	})
	assign(t, a, nil)                              // the move: a stops task 0 (drain, final commit)…
	assign(t, b, map[int]map[string]string{0: {}}) // …and b starts it
	waitFor(t, "task 0 delivering on b", 30*time.Second, func() bool {
		st, ok := taskStatus(b.PipelineStatus(), 0)
		in := g.instances(0)
		return ok && st.RecordsOut >= 20 && len(in) == 2 && in[1].polls.Load() > 0 // after Start set first
	})
	if second := g.instances(0)[1]; second.first == 0 {
		t.Errorf("the moved task started from seq 0: its new owner's store did not see the first owner's commits")
	}
	cancelA()
	cancelB()
	for _, c := range []chan error{errA, errB} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	// A graceful move sends nothing twice: the first owner committed what
	// it sent before stopping, the second resumed after it.
	seen := map[string]int{}
	for _, m := range kafkatest.ReadUncommitted(t, brokers, topic) {
		seen[string(m.Value)]++
	}
	for v, n := range seen {
		if n > 1 {
			t.Errorf("record %s sent %d times across the move", v, n)
		}
	}
}
