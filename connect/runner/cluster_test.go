package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// clusterSeqConnector splits a seq source into tasks.max tasks.
type clusterSeqConnector struct{}

func (clusterSeqConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = map[string]string{"seq.task": strconv.Itoa(i), "topic": config["topic"]}
	}
	return out, nil
}

// clusterSeqTask emits one record every 20 ms for its own source partition.
type clusterSeqTask struct {
	topic string
	part  map[string]any
	next  int64
	tc    source.TaskContext
	log   *clusterLog
}

type clusterLog struct {
	mu     sync.Mutex
	events []string
}

func (l *clusterLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (t *clusterSeqTask) Start(_ context.Context, tc source.TaskContext) error {
	t.tc = tc
	t.topic = tc.Config()["topic"]
	t.part = map[string]any{"task": tc.Config()["seq.task"]}
	t.log.add(fmt.Sprintf("start %s-%d", tc.ConnectorName(), tc.TaskID()))
	return nil
}

func (t *clusterSeqTask) Poll(ctx context.Context) ([]connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(20 * time.Millisecond):
	}
	t.next++
	return []connect.Record{{
		Topic: t.topic, ValueSchema: connect.BytesSchema, Value: fmt.Appendf(nil, "%v:%d", t.part["task"], t.next),
		SourcePartition: t.part, SourceOffset: map[string]any{"seq": t.next},
	}}, nil
}

func (t *clusterSeqTask) Stop(context.Context) error {
	t.log.add(fmt.Sprintf("stop %s-%d", t.tc.ConnectorName(), t.tc.TaskID()))
	return nil
}

type clusterMember struct {
	r      *runner.Runner
	cancel context.CancelFunc
	done   chan error
	log    *clusterLog
	url    string
}

func startClusterMember(t *testing.T, brokers []string, group, topic string, store offsets.Store, idx int) *clusterMember {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if os.Getenv("CLUSTER_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("member", idx)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", 20000+idx)
	r, err := runner.New(runner.Config{
		Logger: logger,
		Cluster: &runner.ClusterConfig{
			GroupID: group, ConfigTopic: group + "-configs", OffsetTopic: group + "-offsets", StatusTopic: group + "-status",
			SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 20 * time.Second,
			ScheduledRebalanceMaxDelay: -1, AdvertisedURL: url, Brokers: brokers, Sarama: kafkatest.SaramaConfig(t),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &clusterMember{r: r, done: make(chan error, 1), log: &clusterLog{}, url: url}
	sc := kafkatest.SaramaConfig(t)
	err = r.AddPipeline("seq", map[string]string{"tasks.max": "6", "topic": topic}, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: "seq", Brokers: brokers, Connector: clusterSeqConnector{}, TasksMax: 6,
			Properties:  map[string]string{"topic": topic},
			NewTask:     func() source.Task { return &clusterSeqTask{log: m.log} },
			Sarama:      sc,
			Logger:      connect.ContextLogger(ctx),
			OffsetStore: store,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() { m.done <- r.Run(ctx) }()
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *clusterMember) stop(t *testing.T) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	m.cancel = nil
	select {
	case err := <-m.done:
		if err != nil {
			t.Errorf("member stopped with: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("member did not stop")
	}
}

// tasksByWorker returns, from r's cluster-wide status of seq, the RUNNING
// tasks by worker id.
func tasksByWorker(r *runner.Runner, want connect.State) (map[string]int, int) {
	rep, err := r.Status("seq")
	if err != nil {
		return nil, 0
	}
	out := map[string]int{}
	for _, t := range rep.Tasks {
		if t.State == want {
			out[t.WorkerID]++
		}
	}
	return out, len(rep.Tasks)
}

func waitCluster(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func spread(byWorker map[string]int, members, each int) bool {
	if len(byWorker) != members {
		return false
	}
	for _, n := range byWorker {
		if n != each {
			return false
		}
	}
	return true
}

// TestClusterSpreadsTasks: three Runners in one group declaring the same
// source connector (tasks.max=6) run two tasks each; every member's
// status lists the 6 tasks with their worker ids; a pause on one member
// pauses the tasks on the others; a fourth member leaves the tasks that
// stay where they are running untouched.
func TestClusterSpreadsTasks(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	store := offsets.NewMemoryStore()
	var ms []*clusterMember
	for i := range 3 {
		ms = append(ms, startClusterMember(t, brokers, group, topic, store, i))
	}
	for i, m := range ms {
		waitCluster(t, 60*time.Second, fmt.Sprintf("member %d to see 6 tasks on 3 workers", i), func() bool {
			by, n := tasksByWorker(m.r, connect.StateRunning)
			return n == 6 && spread(by, 3, 2)
		})
	}
	if err := ms[0].r.Pause("seq"); err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		waitCluster(t, 30*time.Second, fmt.Sprintf("member %d to see 6 PAUSED tasks", i), func() bool {
			by, _ := tasksByWorker(m.r, connect.StatePaused)
			return spread(by, 3, 2)
		})
	}
	if err := ms[1].r.Resume("seq"); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, 30*time.Second, "tasks RUNNING again", func() bool {
		by, _ := tasksByWorker(ms[2].r, connect.StateRunning)
		return spread(by, 3, 2)
	})
	// A fourth member: 6 tasks over 4 → 2,2,1,1; tasks that stay keep running.
	before := map[int][]string{}
	for i, m := range ms {
		m.log.mu.Lock()
		before[i] = append([]string(nil), m.log.events...)
		m.log.mu.Unlock()
	}
	ms = append(ms, startClusterMember(t, brokers, group, topic, store, 3))
	waitCluster(t, 60*time.Second, "tasks spread over 4 workers", func() bool {
		by, n := tasksByWorker(ms[0].r, connect.StateRunning)
		if n != 6 || len(by) != 4 {
			return false
		}
		for _, c := range by {
			if c < 1 || c > 2 {
				return false
			}
		}
		return true
	})
	stops := 0
	for i := range 3 {
		ms[i].log.mu.Lock()
		for _, e := range ms[i].log.events[len(before[i]):] {
			if len(e) > 4 && e[:4] == "stop" {
				stops++
			}
		}
		ms[i].log.mu.Unlock()
	}
	by, _ := tasksByWorker(ms[0].r, connect.StateRunning)
	if moved := by["127.0.0.1:20003"]; stops != moved {
		t.Errorf("the fourth member runs %d tasks, but %d tasks were stopped on the others: only moved tasks may stop", moved, stops)
	}
	// A member leaving: its tasks move to the others.
	ms[3].stop(t)
	waitCluster(t, 60*time.Second, "tasks back on 3 workers", func() bool {
		by, n := tasksByWorker(ms[1].r, connect.StateRunning)
		return n == 6 && spread(by, 3, 2)
	})
}
