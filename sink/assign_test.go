package sink_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// asgRegistry records every sink task instance started, by the task id
// its TaskContext gives it.
type asgRegistry struct {
	mu   sync.Mutex
	byID map[int][]*asgTask
	// put, when set, runs before each Put (e.g. to slow consumption).
	put func()
}

func newAsgRegistry() *asgRegistry { return &asgRegistry{byID: map[int][]*asgTask{}} }

func (g *asgRegistry) newTask() sink.Task { return &asgTask{recTask: newRecTask(), reg: g} }

func (g *asgRegistry) instances(id int) []*asgTask {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.byID[id])
}

// seen returns every offset any instance received, by partition.
func (g *asgRegistry) seen() map[connect.TopicPartition][]int64 {
	g.mu.Lock()
	var all []*asgTask
	for _, ins := range g.byID {
		all = append(all, ins...)
	}
	g.mu.Unlock()
	out := map[connect.TopicPartition][]int64{}
	for _, in := range all {
		for tp, o := range in.offsets() {
			out[tp] = append(out[tp], o...)
		}
	}
	return out
}

// distinct counts the distinct offsets seen.
func distinct(seen map[connect.TopicPartition][]int64) int64 {
	var n int64
	for _, offs := range seen {
		s := map[int64]bool{}
		for _, o := range offs {
			s[o] = true
		}
		n += int64(len(s))
	}
	return n
}

// asgTask is a recTask that registers itself by its assigned id on Start;
// a config "fail"="true" makes Start fail.
type asgTask struct {
	*recTask
	reg    *asgRegistry
	id     int
	config map[string]string
	starts atomic.Int64
	stops  atomic.Int64
}

func (a *asgTask) Start(ctx context.Context, tc sink.TaskContext) error {
	a.starts.Add(1)
	a.id, a.config = tc.TaskID(), maps.Clone(tc.Config())
	a.reg.mu.Lock()
	a.reg.byID[a.id] = append(a.reg.byID[a.id], a)
	a.reg.mu.Unlock()
	if a.config["fail"] == "true" {
		return errors.New("configured to fail")
	}
	return a.recTask.Start(ctx, tc)
}

func (a *asgTask) Put(ctx context.Context, recs []connect.Record) error {
	if a.reg.put != nil {
		a.reg.put()
	}
	return a.recTask.Put(ctx, recs)
}

func (a *asgTask) Stop(ctx context.Context) error {
	a.stops.Add(1)
	return a.recTask.Stop(ctx)
}

func sinkTaskIDs(st connect.PipelineStatus) []int {
	var ids []int
	for _, ts := range st.Tasks {
		ids = append(ids, ts.ID)
	}
	return ids
}

func sinkAssign(t *testing.T, p *sink.Pipeline, tasks map[int]map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.AssignTasks(ctx, tasks); err != nil {
		t.Fatalf("AssignTasks(%v): %v", tasks, err)
	}
}

// waitMembers waits until p lists exactly ids, each RUNNING with
// partitions assigned.
func waitMembers(t *testing.T, p *sink.Pipeline, ids ...int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("tasks %v of %s with partitions", ids, p.Name()), func() bool {
		st := p.PipelineStatus()
		if !slices.Equal(sinkTaskIDs(st), ids) {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State != connect.StateRunning || len(ts.Partitions) == 0 {
				return false
			}
		}
		return true
	})
}

// waitAll waits until the instances of g together saw every record below
// the end offsets, and the group committed them.
func waitAll(t *testing.T, brokers []string, group, topic string, parts int32, g *asgRegistry) {
	t.Helper()
	end := endOffsets(t, brokers, topic, parts)
	var total int64
	for _, e := range end {
		total += e
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d records delivered and committed", total), func() bool {
		if distinct(g.seen()) < total {
			return false
		}
		c := committed(t, brokers, group, topic, parts)
		for p, e := range end {
			if c[p] != e {
				return false
			}
		}
		return true
	})
	checkComplete(t, topic, g.seen(), end)
}

// TestAssignTasksSinkKeepsUnmovedTasks: a sink pipeline assigned {0,1}
// runs two group members with those ids; reassigned {1,2}, task 0 stops
// gracefully (Close, Stop), task 1's instance runs on (the group only moves
// partitions) and task 2 joins; a changed config restarts that task only;
// with no task Run goes on, and a task added back consumes what was
// produced meanwhile: every record delivered, offsets committed to the end.
func TestAssignTasksSinkKeepsUnmovedTasks(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 6
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, 200)
	g := newAsgRegistry()
	g.put = func() { time.Sleep(5 * time.Millisecond) }
	cfg := baseConfig(t, brokers, "assign-"+topic, topic, g.newTask)
	cfg.BatchSize = 20
	cfg.OffsetFlushInterval = 200 * time.Millisecond
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := map[string]string{"v": "a"}
	sinkAssign(t, p, map[int]map[string]string{0: a, 1: a})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	waitMembers(t, p, 0, 1)
	produce(t, brokers, topic, parts, 50) // to every partition: both tasks get some
	waitFor(t, 60*time.Second, "records in both tasks", func() bool {
		i0, i1 := g.instances(0), g.instances(1)
		return len(i0) == 1 && len(i1) == 1 && i0[0].n.Load() > 0 && i1[0].n.Load() > 0
	})
	t0, t1 := g.instances(0)[0], g.instances(1)[0]

	sinkAssign(t, p, map[int]map[string]string{1: a, 2: a})
	if t0.stops.Load() != 1 {
		t.Fatalf("task 0 not stopped when AssignTasks returned (stops %d)", t0.stops.Load())
	}
	if _, closes := t0.counts(); closes == 0 {
		t.Fatal("task 0 stopped without closing its partitions (no final commit)")
	}
	waitMembers(t, p, 1, 2)
	if ins := g.instances(1); len(ins) != 1 || t1.starts.Load() != 1 || t1.stops.Load() != 0 {
		t.Fatalf("task 1: %d instances, starts %d, stops %d; want the same instance, never stopped", len(ins), t1.starts.Load(), t1.stops.Load())
	}
	if st := p.PipelineStatus(); st.Tasks[0].MemberID == st.Tasks[1].MemberID {
		t.Fatalf("tasks 1 and 2 share member id %q", st.Tasks[0].MemberID)
	}
	t2 := g.instances(2)[0]

	// A changed config restarts task 1 only.
	sinkAssign(t, p, map[int]map[string]string{1: {"v": "b"}, 2: a})
	waitMembers(t, p, 1, 2)
	if ins := g.instances(1); len(ins) != 2 || ins[1].config["v"] != "b" || t1.stops.Load() != 1 {
		t.Fatalf("task 1 after a config change: %d instances, old one stopped %d times", len(ins), t1.stops.Load())
	}
	if len(g.instances(2)) != 1 || t2.stops.Load() != 0 {
		t.Fatalf("task 2 was restarted by task 1's config change")
	}
	waitAll(t, brokers, p.GroupID(), topic, parts, g)

	// No task: Run goes on; a task added back consumes what came meanwhile.
	sinkAssign(t, p, nil)
	if st := p.PipelineStatus(); len(st.Tasks) != 0 || st.State != connect.StateRunning {
		t.Fatalf("after an empty assignment: %s, tasks %v", st.State, sinkTaskIDs(st))
	}
	produce(t, brokers, topic, parts, 50)
	select {
	case err := <-runErr:
		t.Fatalf("Run returned with no task: %v", err)
	default:
	}
	sinkAssign(t, p, map[int]map[string]string{0: a})
	waitAll(t, brokers, p.GroupID(), topic, parts, g)
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestAssignTasksSinkTwoProcesses: two sink pipelines of one connector
// (two processes) with disjoint task ids share the consumer group
// connect-<name> and together consume every record; the members' client
// ids carry the assigned ids; moving task 1 from one to the other loses
// nothing (at-least-once). A failing task is FAILED and does not end Run,
// and a task assigned while paused starts paused.
func TestAssignTasksSinkTwoProcesses(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 4
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	produce(t, brokers, topic, parts, 100)
	name := "assign2-" + topic
	g := newAsgRegistry()
	cfg := baseConfig(t, brokers, name, topic, g.newTask)
	cfg.OffsetFlushInterval = 200 * time.Millisecond
	pa, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sinkAssign(t, pa, map[int]map[string]string{0: {}, 1: {}})
	sinkAssign(t, pb, map[int]map[string]string{2: {}})
	stopA, stopB := start(t, pa), start(t, pb)
	waitMembers(t, pa, 0, 1)
	waitMembers(t, pb, 2)
	waitAll(t, brokers, pa.GroupID(), topic, parts, g)
	if pa.GroupID() != "connect-"+name {
		t.Fatalf("group %q", pa.GroupID())
	}
	if got, want := groupClientIDs(t, brokers, pa.GroupID()), []string{
		"connector-consumer-" + name + "-0", "connector-consumer-" + name + "-1", "connector-consumer-" + name + "-2",
	}; !slices.Equal(got, want) {
		t.Fatalf("group members' client ids %v, want %v", got, want)
	}

	// Move task 1 from A to B while records flow.
	produce(t, brokers, topic, parts, 100)
	sinkAssign(t, pa, map[int]map[string]string{0: {}})
	sinkAssign(t, pb, map[int]map[string]string{1: {}, 2: {}})
	waitMembers(t, pa, 0)
	waitMembers(t, pb, 1, 2)
	produce(t, brokers, topic, parts, 100)
	waitAll(t, brokers, pa.GroupID(), topic, parts, g)
	if len(g.instances(2)) != 1 || g.instances(2)[0].stops.Load() != 0 {
		t.Fatal("task 2 was restarted by task 1's move")
	}

	// A failing task does not end Run; tasks assigned while paused start
	// paused.
	sinkAssign(t, pb, map[int]map[string]string{1: {}, 2: {}, 5: {"fail": "true"}})
	waitFor(t, 30*time.Second, "task 5 FAILED", func() bool {
		st := pb.PipelineStatus()
		return len(st.Tasks) == 3 && st.Tasks[2].ID == 5 && st.Tasks[2].State == connect.StateFailed
	})
	if st := pb.PipelineStatus(); st.State != connect.StateRunning {
		t.Fatalf("pipeline with a failed task: %s, want RUNNING", st.State)
	}
	if err := pb.RestartAssignedTask(t.Context(), 5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "task 5 restarted and FAILED again", func() bool {
		st := pb.PipelineStatus()
		return len(g.instances(5)) == 2 && len(st.Tasks) == 3 && st.Tasks[2].State == connect.StateFailed
	})
	if len(g.instances(1)) != 2 || len(g.instances(2)) != 1 {
		t.Fatalf("restarting task 5 restarted others: %d instances of 1, %d of 2", len(g.instances(1)), len(g.instances(2)))
	}
	pa.Pause()
	sinkAssign(t, pa, map[int]map[string]string{0: {}, 3: {}})
	waitFor(t, 30*time.Second, "task 3 started", func() bool { return len(g.instances(3)) == 1 })
	produce(t, brokers, topic, parts, 100)
	time.Sleep(500 * time.Millisecond) // a window in which an unpaused task would read
	if st := pa.PipelineStatus(); st.State != connect.StatePaused || st.Tasks[1].ID != 3 || st.Tasks[1].RecordsIn != 0 {
		t.Fatalf("paused pipeline: %s, task %d read %d records; want PAUSED, task 3 reading nothing", st.State, st.Tasks[1].ID, st.Tasks[1].RecordsIn)
	}
	pa.Resume()
	waitAll(t, brokers, pa.GroupID(), topic, parts, g)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
}

// groupClientIDs returns the sorted client ids of group's members.
func groupClientIDs(t *testing.T, brokers []string, group string) []string {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ds, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(ds) != 1 {
		t.Fatalf("describing group %s: %v", group, err)
	}
	var ids []string
	for _, m := range ds[0].Members {
		ids = append(ids, m.ClientId)
	}
	slices.Sort(ids)
	return ids
}

// TestSinkTaskConfigs: tasks.max copies of the properties, the caller's to
// change.
func TestSinkTaskConfigs(t *testing.T) {
	cfg := baseConfig(t, []string{"127.0.0.1:1"}, "tc", "t", func() sink.Task { return newRecTask() })
	cfg.TasksMax = 3
	cfg.Properties = map[string]string{"k": "v"}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ComputeTaskConfigs(t.Context())
	if err != nil || fmt.Sprint(got) != "[map[k:v] map[k:v] map[k:v]]" {
		t.Fatalf("TaskConfigs = %v, %v", got, err)
	}
	if err := p.RestartAssignedTask(t.Context(), 0); err == nil {
		t.Fatal("RestartAssignedTask of a pipeline not in assigned mode succeeded")
	}
	got[0]["k"] = "changed"
	if again, _ := p.ComputeTaskConfigs(t.Context()); again[0]["k"] != "v" {
		t.Fatal("TaskConfigs returned the pipeline's own map")
	}
}
