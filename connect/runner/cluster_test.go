package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// clusterSeqConnector splits a seq source into tasks.max tasks.
type clusterSeqConnector struct{}

func (clusterSeqConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = map[string]string{"seq.task": strconv.Itoa(i), "topic": config["topic"], "seq.max": config["seq.max"]}
	}
	return out, nil
}

// clusterSeqTask emits one record every 20 ms for its own source partition.
type clusterSeqTask struct {
	topic string
	part  map[string]any
	next  int64
	max   int64 // 0: no end
	tc    source.TaskContext
	log   *clusterLog
}

type clusterLog struct {
	mu     sync.Mutex
	events []string
}

// count counts the events "<what> <connector>-<task>".
func (l *clusterLog) count(what, connector string, task int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e == fmt.Sprintf("%s %s-%d", what, connector, task) {
			n++
		}
	}
	return n
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
	t.max, _ = strconv.ParseInt(tc.Config()["seq.max"], 10, 64)
	if off, err := tc.Offsets().Offset(context.Background(), t.part); err == nil && off != nil {
		if n, ok := off["seq"].(int64); ok {
			t.next = n
		}
	}
	t.log.add(fmt.Sprintf("start %s-%d", tc.ConnectorName(), tc.TaskID()))
	return nil
}

func (t *clusterSeqTask) Poll(ctx context.Context) ([]connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(20 * time.Millisecond):
	}
	if t.max > 0 && t.next >= t.max {
		<-ctx.Done()
		return nil, nil
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

// clusterSinkTask counts the records put, by value, in its member's sink
// counter.
type clusterSinkTask struct {
	tc   sink.TaskContext
	log  *clusterLog
	seen *sync.Map
}

func (t *clusterSinkTask) Start(_ context.Context, tc sink.TaskContext) error {
	t.tc = tc
	t.log.add(fmt.Sprintf("start %s-%d", tc.ConnectorName(), tc.TaskID()))
	return nil
}

func (t *clusterSinkTask) Put(_ context.Context, recs []connect.Record) error {
	for _, r := range recs {
		t.seen.Store(string(r.Value.([]byte)), true)
	}
	return nil
}

func (t *clusterSinkTask) Stop(context.Context) error {
	t.log.add(fmt.Sprintf("stop %s-%d", t.tc.ConnectorName(), t.tc.TaskID()))
	return nil
}

type clusterMember struct {
	r      *runner.Runner
	cancel context.CancelFunc
	done   chan error
	log    *clusterLog
	url    string
	sunk   sync.Map // values the member's sink tasks put
}

// clusterOpts are a test member's options: max records per seq task (0:
// no end), the drain sink's group (none without), a MeterProvider.
type clusterOpts struct {
	max       int
	sinkGroup string
	mp        metric.MeterProvider
}

// startClusterMemberWith starts a member declaring the seq source and,
// with a sinkGroup, the drain sink reading the seq topic (tasks.max=6
// each).
func startClusterMemberWith(t *testing.T, brokers []string, group, topic string, store offsets.Store, idx int, o clusterOpts) *clusterMember {
	max, sinkGroup := o.max, o.sinkGroup
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if os.Getenv("CLUSTER_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("member", idx)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	r, err := runner.New(runner.Config{
		Logger: logger, MeterProvider: o.mp,
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
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sc := kafkatest.SaramaConfig(t)
	props := map[string]string{"tasks.max": "6", "topic": topic, "seq.max": strconv.Itoa(max)}
	err = r.AddPipeline("seq", props, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: "seq", Brokers: brokers, Connector: clusterSeqConnector{}, TasksMax: 6,
			Properties:  props,
			NewTask:     func() source.Task { return &clusterSeqTask{log: m.log} },
			Sarama:      sc,
			Logger:      connect.ContextLogger(ctx),
			OffsetStore: store,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if sinkGroup != "" {
		err = r.AddPipeline("drain", map[string]string{"tasks.max": "6"}, func(ctx context.Context) (connect.Pipeline, error) {
			return sink.New(sink.Config{
				Name: "drain", Brokers: brokers, Topics: []string{topic}, TasksMax: 6, GroupID: sinkGroup,
				NewTask: func() sink.Task { return &clusterSinkTask{log: m.log, seen: &m.sunk} },
				Sarama:  sc, Logger: connect.ContextLogger(ctx),
			})
		})
		if err != nil {
			t.Fatal(err)
		}
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

// allTasksByWorker returns the RUNNING tasks of seq and drain by worker
// id, from r's cluster-wide status; nil unless both have 6 tasks.
func allTasksByWorker(r *runner.Runner) map[string]int {
	total := map[string]int{}
	for _, name := range []string{"seq", "drain"} {
		rep, err := r.Status(name)
		if err != nil || len(rep.Tasks) != 6 {
			return nil
		}
		for _, task := range rep.Tasks {
			if task.State == connect.StateRunning {
				total[task.WorkerID]++
			}
		}
	}
	return total
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
	sinkGroup := "connect-drain-" + group
	for i := range 3 {
		ms = append(ms, startClusterMemberWith(t, brokers, group, topic, store, i, clusterOpts{sinkGroup: sinkGroup}))
	}
	// The source's 6 tasks and the sink's 6: 12 tasks, 4 on each member
	// (tasks are balanced over all connectors, as Kafka Connect's), as
	// every member sees them.
	for i, m := range ms {
		waitCluster(t, 60*time.Second, fmt.Sprintf("member %d to see 12 tasks, 4 on each member", i), func() bool {
			return spread(allTasksByWorker(m.r), 3, 4)
		})
	}
	// Every member's REST status lists the 12 tasks with their worker ids.
	for i, m := range ms {
		by := map[string]int{}
		for _, name := range []string{"seq", "drain"} {
			st := restStatus(t, m.url, name)
			for _, task := range st.Tasks {
				by[task.WorkerID]++
			}
			if len(st.Tasks) != 6 {
				t.Errorf("member %d: REST status of %s lists %d tasks: %+v", i, name, len(st.Tasks), st)
			}
		}
		if !spread(by, 3, 4) || by[ms[0].r.WorkerID()] != 4 {
			t.Errorf("member %d: REST statuses put tasks on workers %v", i, by)
		}
	}
	seqRunning := func(m *clusterMember, want connect.State) bool {
		by, n := tasksByWorker(m.r, want)
		c := 0
		for _, k := range by {
			c += k
		}
		return n == 6 && c == 6
	}
	// Pause over REST on member 0: every seq task pauses, wherever it runs.
	restCall(t, http.MethodPut, ms[0].url+"/connectors/seq/pause", http.StatusAccepted)
	for i, m := range ms {
		waitCluster(t, 30*time.Second, fmt.Sprintf("member %d to see 6 PAUSED seq tasks", i), func() bool {
			return seqRunning(m, connect.StatePaused)
		})
	}
	restCall(t, http.MethodPut, ms[1].url+"/connectors/seq/resume", http.StatusAccepted)
	waitCluster(t, 30*time.Second, "seq RUNNING again", func() bool { return seqRunning(ms[2], connect.StateRunning) })
	// A task restart sent to a member that does not run the task is
	// forwarded to the one that does.
	st := restStatus(t, ms[0].url, "seq")
	for _, task := range st.Tasks {
		if task.WorkerID != ms[0].r.WorkerID() {
			owner := slices.IndexFunc(ms, func(m *clusterMember) bool { return m.r.WorkerID() == task.WorkerID })
			stops0, starts0 := ms[owner].log.count("stop", "seq", task.ID), ms[owner].log.count("start", "seq", task.ID)
			restCall(t, http.MethodPost, fmt.Sprintf("%s/connectors/seq/tasks/%d/restart", ms[0].url, task.ID), http.StatusNoContent)
			waitCluster(t, 30*time.Second, "the forwarded restart to stop and start the task on its owner", func() bool {
				return ms[owner].log.count("stop", "seq", task.ID) == stops0+1 && ms[owner].log.count("start", "seq", task.ID) == starts0+1
			})
			break
		}
	}
	waitCluster(t, 30*time.Second, "tasks RUNNING after the restart", func() bool {
		return spread(allTasksByWorker(ms[2].r), 3, 4)
	})
	// A fourth member: 6 tasks over 4 → 2,2,1,1; tasks that stay keep running.
	before := map[int][]string{}
	for i, m := range ms {
		m.log.mu.Lock()
		before[i] = append([]string(nil), m.log.events...)
		m.log.mu.Unlock()
	}
	ms = append(ms, startClusterMemberWith(t, brokers, group, topic, store, 3, clusterOpts{sinkGroup: sinkGroup}))
	waitCluster(t, 60*time.Second, "12 tasks spread over 4 workers, 3 each", func() bool {
		return spread(allTasksByWorker(ms[0].r), 4, 3)
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
	if moved := allTasksByWorker(ms[0].r)[ms[3].r.WorkerID()]; stops != moved {
		t.Errorf("the fourth member runs %d tasks, but %d tasks were stopped on the others: only moved tasks may stop", moved, stops)
	}
	// A member leaving: its tasks move to the others.
	ms[3].stop(t)
	waitCluster(t, 60*time.Second, "tasks back on 3 workers", func() bool {
		return spread(allTasksByWorker(ms[1].r), 3, 4)
	})
}

type restTask struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
}

type restConnectorStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []restTask `json:"tasks"`
}

func restStatus(t *testing.T, base, name string) restConnectorStatus {
	t.Helper()
	resp, err := http.Get(base + "/connectors/" + name + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st restConnectorStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func restCall(t *testing.T, method, url string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s (want %d)", method, url, resp.Status, body, want)
	}
}

// TestClusterDeclaredOnce: two replicas of an application declaring the
// same source connector in Go produce each record once (before cluster
// mode each replica ran every task: every record twice).
func TestClusterDeclaredOnce(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	store := offsets.NewMemoryStore()
	const perTask = 150
	a := startClusterMemberWith(t, brokers, group, topic, store, 0, clusterOpts{max: perTask})
	waitCluster(t, 60*time.Second, "the first replica to run the 6 tasks", func() bool {
		by, n := tasksByWorker(a.r, connect.StateRunning)
		return n == 6 && len(by) == 1
	})
	b := startClusterMemberWith(t, brokers, group, topic, store, 1, clusterOpts{max: perTask})
	waitCluster(t, 60*time.Second, "the tasks to spread over both replicas", func() bool {
		by, n := tasksByWorker(b.r, connect.StateRunning)
		return n == 6 && spread(by, 2, 3)
	})
	var recs []*sarama.ConsumerMessage
	waitCluster(t, 60*time.Second, "every record", func() bool {
		recs = kafkatest.ReadUncommitted(t, brokers, topic)
		return len(recs) >= 6*perTask
	})
	time.Sleep(time.Second) // anything produced twice would show now
	recs = kafkatest.ReadUncommitted(t, brokers, topic)
	seen := map[string]int{}
	for _, m := range recs {
		seen[string(m.Value)]++
	}
	dups := 0
	for v, n := range seen {
		if n > 1 {
			dups++
			if dups < 5 {
				t.Errorf("record %s produced %d times", v, n)
			}
		}
	}
	if len(seen) != 6*perTask || len(recs) != 6*perTask {
		t.Errorf("%d records, %d distinct; want %d each (duplicates: %d)", len(recs), len(seen), 6*perTask, dups)
	}
	// Stopped on one replica (KIP-875), the connector stops everywhere; then
	// its offsets can be reset from the other.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.r.Stop(ctx, "seq"); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, 60*time.Second, "seq STOPPED with no task on both replicas", func() bool {
		for _, m := range []*clusterMember{a, b} {
			rep, err := m.r.Status("seq")
			if err != nil || rep.State != connect.StateStopped || len(rep.Tasks) != 0 {
				return false
			}
		}
		return true
	})
	if err := b.r.ResetOffsets(ctx, "seq"); err != nil {
		t.Fatalf("resetting the offsets of a connector stopped everywhere: %v", err)
	}
	if offs, err := b.r.Offsets(ctx, "seq"); err != nil || len(offs) != 0 {
		t.Fatalf("offsets after the reset: %v, %v", offs, err)
	}
}

// TestClusterCoordinatorMetrics: a member reports Kafka Connect's
// connect-coordinator-metrics (assigned connectors and tasks, rebalances,
// join and sync times) and ClusterStatus its membership.
func TestClusterCoordinatorMetrics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	prom := newPromEnv(t, kcNames...)
	m := startClusterMemberWith(t, brokers, group, topic, offsets.NewMemoryStore(), 0, clusterOpts{mp: prom.mp})
	waitCluster(t, 60*time.Second, "the 6 tasks", func() bool {
		by, n := tasksByWorker(m.r, connect.StateRunning)
		return n == 6 && len(by) == 1
	})
	st, ok := m.r.ClusterStatus()
	if !ok || !st.Leader || st.Generation < 1 || st.MemberID == "" || st.Protocol != "sessioned" ||
		len(st.Connectors) != 1 || st.Connectors[0] != "seq" || len(st.Tasks) != 6 || st.Rebalances < 2 || st.WorkerID != m.r.WorkerID() {
		t.Errorf("ClusterStatus: %+v", st)
	}
	// GET / shows the same, in Sluice's "sluice" extension of Kafka
	// Connect's ServerInfo.
	resp, err := http.Get(m.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Version string `json:"version"`
		Sluice  struct {
			Cluster struct {
				GroupID    string   `json:"group_id"`
				MemberID   string   `json:"member_id"`
				Generation int32    `json:"generation"`
				Leader     bool     `json:"leader"`
				Tasks      []string `json:"tasks"`
				Rebalances int64    `json:"rebalances"`
			} `json:"cluster"`
		} `json:"sluice"`
	}
	err = json.NewDecoder(resp.Body).Decode(&root)
	resp.Body.Close()
	if c := root.Sluice.Cluster; err != nil || root.Version == "" || c.GroupID != group || c.MemberID != st.MemberID || c.Generation < 1 || !c.Leader || len(c.Tasks) != 6 || c.Rebalances < 2 {
		t.Errorf("GET /: %+v (%v)", root, err)
	}
	text := prom.text(t)
	labels := fmt.Sprintf(`{group="%s",member="%s",worker_id="%s"}`, group, st.MemberID, st.WorkerID)
	wantSample(t, text, "assigned_connectors"+labels, 1)
	wantSample(t, text, "assigned_tasks"+labels, 6)
	wantSample(t, text, "connect_generation"+labels, float64(st.Generation))
	for _, name := range []string{"rebalance_total", "join_total", "sync_total"} {
		if v := sample(text, name+labels); v < 2 {
			t.Errorf("%s = %v, want at least 2 (a join, then the one that assigns the tasks)", name, v)
		}
	}
	for _, name := range []string{"join_time_max", "sync_time_avg", "rebalance_latency_max", "last_rebalance_seconds_ago", "failed_rebalance_total", "heartbeat_total"} {
		if v := sample(text, name+labels); v < 0 {
			t.Errorf("%s missing\n%s", name, text)
		}
	}
	// Kafka Connect's connect-worker-rebalance-metrics, without attributes
	// but the string values'.
	wantSample(t, text, `connect_protocol{protocol="SESSIONED"}`, 1)
	wantSample(t, text, `leader_name{leader="`+st.LeaderURL+`"}`, 1)
	if v := sample(text, "epoch"); v < float64(st.Generation) {
		t.Errorf("epoch = %v, want at least %d", v, st.Generation)
	}
	if v := sample(text, "completed_rebalances_total"); v < 2 {
		t.Errorf("completed_rebalances_total = %v, want at least 2", v)
	}
	for _, name := range []string{"rebalancing", "rebalance_max_time_ms", "rebalance_avg_time_ms", "time_since_last_rebalance_ms"} {
		if v := sample(text, name); v < 0 {
			t.Errorf("%s missing or negative\n%s", name, text)
		}
	}
	if mx, avg := sample(text, "rebalance_max_time_ms"), sample(text, "rebalance_avg_time_ms"); avg > mx {
		t.Errorf("rebalance_avg_time_ms %v > rebalance_max_time_ms %v", avg, mx)
	}
	// Every name of the group is exported.
	for _, m := range kcMetrics(t) {
		if m.group != "connect-worker-rebalance-metrics" {
			continue
		}
		if n := strings.ReplaceAll(m.name, "-", "_"); !strings.Contains(text, "\n# TYPE "+n+" ") {
			t.Errorf("%s (connect-worker-rebalance-metrics) not exported", n)
		}
	}
}

type slowStopTask struct{ clusterSeqTask }

func (t *slowStopTask) Stop(ctx context.Context) error {
	time.Sleep(3 * time.Second)
	return nil
}

// TestClusterDeleteRecreate: a connector deleted and created again under
// the same name (by another member) while its old tasks still stop runs
// again once they stopped.
func TestClusterDeleteRecreate(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := runner.New(runner.Config{
		Logger: logger,
		Cluster: &runner.ClusterConfig{
			GroupID: group, ConfigTopic: group + "-configs", OffsetTopic: group + "-offsets", StatusTopic: group + "-status",
			SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 20 * time.Second,
			ScheduledRebalanceMaxDelay: -1, AdvertisedURL: "http://127.0.0.1:1", Brokers: brokers, Sarama: kafkatest.SaramaConfig(t),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := kafkatest.SaramaConfig(t)
	props := map[string]string{"tasks.max": "1", "topic": topic, "seq.max": "0"}
	log := &clusterLog{}
	store := offsets.NewMemoryStore()
	if err := r.AddPipeline("seq", props, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: "seq", Brokers: brokers, Connector: clusterSeqConnector{}, TasksMax: 1, Properties: props,
			NewTask: func() source.Task { return &slowStopTask{clusterSeqTask{log: log}} },
			Sarama:  sc, Logger: connect.ContextLogger(ctx), OffsetStore: store,
		})
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitCluster(t, 60*time.Second, "seq running", func() bool {
		by, n := tasksByWorker(r, connect.StateRunning)
		return n == 1 && len(by) == 1
	})
	// Another member (here: a second writer) deletes and re-creates seq.
	cl, err := cluster.OpenConfigLog(context.Background(), cluster.LogConfig{Addrs: brokers, Sarama: sc, Topic: group + "-configs", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cfg := map[string]string{"tasks.max": "1", "topic": topic, "seq.max": "0", "name": "seq"}
	if err := cl.RemoveConnector(context.Background(), "seq"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cl.PutConnectorConfig(context.Background(), "seq", cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if by, n := tasksByWorker(r, connect.StateRunning); n == 1 && len(by) == 1 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, err = r.Status("seq")
	t.Fatalf("re-created connector seq does not run 20 s after its creation (Status err: %v)", err)
}
