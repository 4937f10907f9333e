package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/cluster"
)

// The cluster scenario (-only cluster): Runners in cluster mode, each a
// process of its own (bench/clustermember), sharing a source connector and
// a sink connector of clusterTasks tasks each through Kafka's group
// coordinator. It measures the aggregate throughput with 1, 2 and 3 member
// processes, and how long the cluster takes to run every task again after
// a member is killed, leaves, or joins.

// Contenders and figures of the cluster tests.
const (
	cMembers1 = "1 member"
	cMembers2 = "2 members"
	cMembers3 = "3 members"
	cKill     = "SIGKILL 1 of 3"
	cLeave    = "SIGTERM 1 of 3 (graceful leave)"
	cJoin     = "3rd member joins 2"
	// cKillDelayed is cKill with scheduled.rebalance.max.delay.ms=clusterDelay.
	cKillDelayed = "SIGKILL 1 of 3, scheduled.rebalance.max.delay.ms=5000"

	figClusterCPU   = "CPU µs/record (all members)"
	figMemberCores  = "members' CPU (cores busy)"
	figMachineCores = "machine CPU, all processes (cores busy)"
	figClusterRSS   = "peak RSS of the largest member (MiB)"
	figClusterForm  = "start to tasks spread (s)"
	figTasksBack    = "to all 12 tasks RUNNING, spread (s)"
	figSinkGroupBak = "to the sink's consumer group Stable with 6 members (s)"
)

func init() {
	figFormat[figClusterCPU] = "%.2f"
	figFormat[figMemberCores] = "%.2f"
	figFormat[figMachineCores] = "%.2f"
	figFormat[figClusterRSS] = "%.1f"
	figFormat[figClusterForm] = "%.1f"
	figFormat[figTasksBack] = "%.2f"
	figFormat[figSinkGroupBak] = "%.2f"
}

// Cluster settings: Kafka Connect's defaults for the connect group (session
// 10 s, heartbeat 3 s), but scheduled.rebalance.max.delay.ms=0 (Kafka
// Connect's default of 5 min would hold a lost member's tasks back that
// long); the sink's consumers are given the same 10 s session (Kafka
// Connect's consumer default is 45 s, which a killed member's sink
// partitions would wait for).
const (
	clusterTasks            = 6
	clusterSession          = 10 * time.Second
	clusterHeartbeat        = 3 * time.Second
	clusterConsumerSession  = 10 * time.Second
	clusterSourcePartitions = 6
	clusterSinkPartitions   = 12
	clusterPacedRate        = 1000 // records/s per source task in the rebalance scenario
	clusterDelay            = 5 * time.Second
)

// clusterParams are one harness run's volumes.
type clusterParams struct {
	reps         int
	warm, window time.Duration // source: after resume, then measured
	sinkRecords  int64
	memberBin    string
	work         string
	size         int
	sinkTopic    string
}

func benchCluster(ctx context.Context, o options, br *broker, work string, rep *report) error {
	p := clusterParams{
		reps:        pick(o.quick, 1, min(o.reps, 3)),
		warm:        time.Duration(pick(o.quick, 1, 2)) * time.Second,
		window:      time.Duration(pick(o.quick, 3, 10)) * time.Second,
		sinkRecords: int64(pick(o.quick, 2000000, 10000000)),
		work:        filepath.Join(work, "cluster"),
		size:        o.size,
	}
	if err := os.MkdirAll(p.work, 0o755); err != nil {
		return err
	}
	var err error
	if p.memberBin, err = buildClusterMember(ctx, o, p.work); err != nil {
		return err
	}
	timings := fmt.Sprintf("Connect group: session.timeout.ms=%d, heartbeat.interval.ms=%d, scheduled.rebalance.max.delay.ms=0 (a lost member's tasks are reassigned at once; Kafka Connect's default 300000 would hold them back 5 min), connect.protocol=sessioned; sink consumers session.timeout.ms=%d.",
		clusterSession.Milliseconds(), clusterHeartbeat.Milliseconds(), clusterConsumerSession.Milliseconds())
	memberNote := fmt.Sprintf("Each member is a process of its own (`bench/clustermember`: a runner.Runner in cluster mode, REST on loopback), all on this machine, sharing its %d cores with the broker%s. %d repetition(s), the member counts rotated.", rep.facts.cores, brokerWhere(br), p.reps)
	rep.addTest(testInfo{
		id:         "cluster-source",
		title:      fmt.Sprintf("cluster source: one connector, tasks.max=%d, %d B byte records into %d partitions, offsets in the cluster's offsets topic, spread over 1, 2, 3 member processes", clusterTasks, o.size, clusterSourcePartitions),
		contenders: []string{cMembers1, cMembers2, cMembers3},
		figures:    []string{figRecordsPerSec, figClusterCPU, figMemberCores, figMachineCores, figClusterRSS, figClusterForm},
		notes: []string{
			memberNote + " The connector is created PAUSED (its target state written to the config topic before the members start); once its tasks are PAUSED and spread evenly (6/k per member, read from the REST status of member 0), it is resumed over REST and records/s is the growth of the topic's end offsets (acknowledged records) over " + p.window.String() + ", after " + p.warm.String() + ". CPU is the members' user + system time over the same window. " + timings,
		},
	})
	rep.addTest(testInfo{
		id:         "cluster-sink",
		title:      fmt.Sprintf("cluster sink: one connector, tasks.max=%d, no-op tasks, draining %d records of %d B from %d partitions, spread over 1, 2, 3 member processes", clusterTasks, p.sinkRecords, o.size, clusterSinkPartitions),
		contenders: []string{cMembers1, cMembers2, cMembers3},
		figures:    []string{figRecordsPerSec, figSteadyRate, figClusterCPU, figMemberCores, figMachineCores, figClusterRSS, figClusterForm},
		notes: []string{
			memberNote + " The connector is created PAUSED, as above, with a fresh consumer group; once its tasks are PAUSED and spread, and its consumer group Stable with 6 members, it is resumed over REST: records/s is the backlog over the time from the resume to the last record handed to a task, \"after the first record\" from the first record handed to a task to the last. CPU figures are over the time from the resume to the last record. " + timings,
		},
	})
	rep.addTest(testInfo{
		id:         "cluster-rebalance",
		title:      fmt.Sprintf("cluster rebalance: 3 members running a source (tasks.max=%d, %d records/s per task) and a sink reading its topic (tasks.max=%d): 4 tasks per member", clusterTasks, clusterPacedRate, clusterTasks),
		contenders: []string{cKill, cKillDelayed, cLeave, cJoin},
		figures:    []string{figTasksBack, figSinkGroupBak},
		notes: []string{
			memberNote + " " + timings + " SIGKILL: from the kill of a member that does not lead the group to the 12 tasks RUNNING on the 2 survivors (6 each) in the REST status of a survivor; the kill is noticed only when the member's session expires. Graceful leave: the same from SIGTERM (the member stops its tasks, commits, and leaves the group). Join: a new member process started next to 2, to the 12 tasks RUNNING 4 per member. The delayed kill is the same kill in a cluster whose members hold a lost member's tasks back for scheduled.rebalance.max.delay.ms=" + strconv.FormatInt(clusterDelay.Milliseconds(), 10) + " (waiting for it to come back) before reassigning them. The sink's consumer group figure is from the same moment to the group Stable with exactly 6 members (a killed member's consumers stay in it until their own session expires), read once the tasks are where they belong (so it is never below the tasks' figure). Each change comes a heartbeat interval + 1 s after the previous one settled.",
		},
	})

	topic, err := fillClusterSink(br, o.size, p.sinkRecords)
	if err != nil {
		return err
	}
	defer deleteTopic(br.addrs, topic)
	p.sinkTopic = topic

	op := o
	op.reps = p.reps
	ks := map[string]int{cMembers1: 1, cMembers2: 2, cMembers3: 3}
	err = repeat(op, []string{cMembers1, cMembers2, cMembers3}, func(c, label string) error {
		s, err := clusterSourceRun(ctx, &p, br, ks[c])
		if err != nil {
			return fmt.Errorf("source, %s: %w", c, err)
		}
		s.record(rep, "cluster-source", c)
		logf("cluster-source %s %s: %.0f records/s, %.2f CPU µs/record, formed in %.1fs", label, c, s.rate, s.cpuPerRecord, s.form.Seconds())
		s, err = clusterSinkRun(ctx, &p, br, ks[c])
		if err != nil {
			return fmt.Errorf("sink, %s: %w", c, err)
		}
		s.record(rep, "cluster-sink", c)
		logf("cluster-sink %s %s: %.0f records/s, %.2f CPU µs/record, formed in %.1fs", label, c, s.rate, s.cpuPerRecord, s.form.Seconds())
		return nil
	})
	if err != nil {
		return err
	}
	for r := range p.reps {
		label := fmt.Sprintf("rep %d/%d", r+1, p.reps)
		if err := clusterRebalanceRun(ctx, &p, br, rep, label, false); err != nil {
			return fmt.Errorf("rebalance: %w", err)
		}
		if err := clusterRebalanceRun(ctx, &p, br, rep, label, true); err != nil {
			return fmt.Errorf("rebalance, scheduled.rebalance.max.delay.ms=%d: %w", clusterDelay.Milliseconds(), err)
		}
	}
	return nil
}

func brokerWhere(br *broker) string {
	if br.pid == 0 && strings.HasPrefix(br.how, "-embedded") {
		return " (the embedded broker runs in the harness process)"
	}
	return ""
}

// buildClusterMember builds bench/clustermember into dir.
func buildClusterMember(ctx context.Context, o options, dir string) (string, error) {
	bin := filepath.Join(dir, "clustermember")
	repo, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/clustermember")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/clustermember: %v\n%s", err, out)
	}
	return bin, nil
}

// fillClusterSink creates and fills the sink's backlog topic, which every
// sink run drains from the start with a fresh consumer group.
func fillClusterSink(br *broker, size int, n int64) (string, error) {
	topic := newTopic("cluster-in")
	if err := createTopic(br.addrs, topic, clusterSinkPartitions); err != nil {
		return "", err
	}
	value := byteData(size).encoded[0]
	logf("cluster: producing %d records into %s", n, topic)
	if err := fill(br.addrs, topic, int(n), func(int) []byte { return value }, nil); err != nil {
		deleteTopic(br.addrs, topic)
		return "", fmt.Errorf("filling %s: %w", topic, err)
	}
	return topic, nil
}

// clusterSample is one throughput run.
type clusterSample struct {
	rate, steady float64 // steady: sink only
	cpuPerRecord float64
	memberCores  float64
	machineCores float64
	rssMiB       float64
	form         time.Duration
}

func (s clusterSample) record(rep *report, test, c string) {
	rep.add(test, c, figRecordsPerSec, s.rate)
	if s.steady > 0 {
		rep.add(test, c, figSteadyRate, s.steady)
	}
	rep.add(test, c, figClusterCPU, s.cpuPerRecord)
	rep.add(test, c, figMemberCores, s.memberCores)
	rep.add(test, c, figMachineCores, s.machineCores)
	rep.add(test, c, figClusterRSS, s.rssMiB)
	rep.add(test, c, figClusterForm, s.form.Seconds())
}

// clusterMember is one running member process.
type clusterMember struct {
	*child
	url      string // REST base URL
	workerID string // host:port
}

// clusterGroup is one cluster's group id, topics and member processes.
type clusterGroup struct {
	p       *clusterParams
	br      *broker
	group   string
	dir     string
	args    []string // the members' common flags
	members []*clusterMember
	started int
	topics  []string // deleted at close
}

func newClusterGroup(p *clusterParams, br *broker, args ...string) (*clusterGroup, error) {
	g := &clusterGroup{p: p, br: br, group: newTopic("cluster")}
	g.dir = filepath.Join(p.work, g.group)
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return nil, err
	}
	g.topics = []string{g.group + "-configs", g.group + "-offsets", g.group + "-status"}
	g.args = append([]string{
		"-brokers", strings.Join(br.addrs, ","), "-group", g.group,
		"-tasks", strconv.Itoa(clusterTasks), "-size", strconv.Itoa(p.size),
		"-session-timeout", clusterSession.String(), "-heartbeat-interval", clusterHeartbeat.String(),
		"-scheduled-rebalance-max-delay", "-1ms", "-consumer-session-timeout", clusterConsumerSession.String(),
	}, args...)
	return g, nil
}

// start starts one more member process.
func (g *clusterGroup) start() (*clusterMember, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	g.started++
	name := fmt.Sprintf("member %d of %s", g.started, g.group)
	argv := append([]string{g.p.memberBin, "-listen", listen}, g.args...)
	ch, err := startChild(name, argv, g.dir, nil, filepath.Join(g.dir, fmt.Sprintf("member-%d.log", g.started)))
	if err != nil {
		return nil, err
	}
	m := &clusterMember{child: ch, url: "http://" + listen, workerID: listen}
	g.members = append(g.members, m)
	return m, nil
}

// terminate sends SIGTERM to the member's process group without waiting.
func (m *clusterMember) terminate() {
	if !m.exited() {
		syscall.Kill(-m.pid(), syscall.SIGTERM)
	}
}

// close stops every member gracefully (in parallel) and deletes the
// group's topics.
func (g *clusterGroup) close() {
	var wg sync.WaitGroup
	for _, m := range g.members {
		wg.Go(func() { m.stop(30 * time.Second) })
	}
	wg.Wait()
	for _, t := range g.topics {
		deleteTopic(g.br.addrs, t)
	}
}

// pause writes the target state PAUSED of the connectors to the group's
// config topic before any member starts (as Kafka Connect's KIP-980
// creation with initial_state does: the state first), so that their tasks
// start paused and the harness starts the clock with a resume.
func (g *clusterGroup) pause(ctx context.Context, names ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := cluster.OpenConfigLog(ctx, cluster.LogConfig{Addrs: g.br.addrs, Topic: g.group + "-configs", ReplicationFactor: 1, Logger: discard})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, n := range names {
		if err := l.PutTargetState(ctx, n, cluster.TargetPaused); err != nil {
			return err
		}
	}
	return nil
}

// restTask is a task in the REST status.
type restTask struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
}

var restClient = &http.Client{Timeout: 5 * time.Second}

// tasks returns the connector's tasks in the REST status of member m.
func (m *clusterMember) tasks(ctx context.Context, connector string) ([]restTask, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/connectors/"+connector+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := restClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/connectors/%s/status: %s: %s", m.url, connector, resp.Status, bytes.TrimSpace(body))
	}
	var st struct {
		Tasks []restTask `json:"tasks"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("GET %s/connectors/%s/status: %w", m.url, connector, err)
	}
	return st.Tasks, nil
}

// put sends PUT path to member m and wants a 2xx answer.
func (m *clusterMember) put(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := restClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s%s: %s: %s", m.url, path, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// spread reports whether the connectors' tasks, as member m's REST status
// shows them, are all in state and spread evenly over exactly the given
// workers (total tasks per worker).
func spreadOver(ctx context.Context, m *clusterMember, connectors []string, state string, workers []*clusterMember) (bool, error) {
	by := map[string]int{}
	total := 0
	for _, c := range connectors {
		ts, err := m.tasks(ctx, c)
		if err != nil {
			return false, err
		}
		if len(ts) != clusterTasks {
			return false, nil
		}
		for _, t := range ts {
			if t.State != state {
				return false, nil
			}
			by[t.WorkerID]++
			total++
		}
	}
	if len(by) != len(workers) {
		return false, nil
	}
	for _, w := range workers {
		if by[w.workerID] != total/len(workers) {
			return false, nil
		}
	}
	return true, nil
}

// waitSpread polls member m's REST status every 50 ms until spreadOver
// holds, failing if a member in workers exits or after timeout.
func waitSpread(ctx context.Context, m *clusterMember, connectors []string, state string, workers []*clusterMember, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := spreadOver(ctx, m, connectors, state, workers)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		for _, w := range workers {
			if w.exited() {
				return w.failure()
			}
		}
		if time.Now().After(deadline) {
			var st []string
			for _, c := range connectors {
				ts, _ := m.tasks(ctx, c)
				st = append(st, fmt.Sprintf("%s: %+v", c, ts))
			}
			return fmt.Errorf("tasks not %s and spread over %d members after %s (last error %v; status %s); last lines of %s:\n%s",
				state, len(workers), timeout, last, strings.Join(st, "; "), m.logPath, tail(m.logPath, 15))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memberProgress is a member's last progress line.
type memberProgress struct {
	polled, consumed int64
	firstConsumed    time.Time
	lastConsumed     time.Time
	rebalances       int64
	leader           bool
	tasks            string
}

// progress reads member m's last progress line from its log.
func (m *clusterMember) progress() (memberProgress, error) {
	var p memberProgress
	f, err := os.Open(m.logPath)
	if err != nil {
		return p, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return p, err
	}
	const chunk = 64 << 10
	off := max(st.Size()-chunk, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return p, err
	}
	lines := strings.Split(string(buf), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if !strings.HasPrefix(l, "cluster-progress ") || !strings.Contains(l, " tasks=") {
			continue // not one, or cut short by a concurrent write
		}
		for _, kv := range strings.Fields(l)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "polled":
				p.polled = n
			case "consumed":
				p.consumed = n
			case "first_consumed":
				if n > 0 {
					p.firstConsumed = time.Unix(0, n)
				}
			case "last_consumed":
				if n > 0 {
					p.lastConsumed = time.Unix(0, n)
				}
			case "rebalances":
				p.rebalances = n
			case "leader":
				p.leader = v == "true"
			case "tasks":
				p.tasks = v
			}
		}
		return p, nil
	}
	return p, fmt.Errorf("no progress line in %s yet", m.logPath)
}

// cpu returns the members' total CPU time so far and the largest peak RSS.
func membersCPU(ms []*clusterMember) (time.Duration, int64, error) {
	var cpu time.Duration
	var hwm int64
	for _, m := range ms {
		st, err := readProcStats(m.pid())
		if err != nil {
			return 0, 0, fmt.Errorf("reading /proc of %s: %w", m.name, err)
		}
		cpu += st.cpu
		hwm = max(hwm, st.hwmKB)
	}
	return cpu, hwm, nil
}

// rebalances returns each member's completed rebalances and tasks.
func rebalances(ms []*clusterMember) ([]string, error) {
	var out []string
	for _, m := range ms {
		p, err := m.progress()
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%d:%s", p.rebalances, p.tasks))
	}
	return out, nil
}

// formCluster starts k members declaring connector (its tasks PAUSED
// first) and waits until its tasks are spread over them; it returns the
// time that took.
func formCluster(ctx context.Context, g *clusterGroup, connector string, k int) (time.Duration, error) {
	if err := g.pause(ctx, connector); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for range k {
		if _, err := g.start(); err != nil {
			return 0, err
		}
	}
	if err := waitSpread(ctx, g.members[0], []string{connector}, "PAUSED", g.members, 2*time.Minute); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// clusterSourceRun measures the source connector on k members.
func clusterSourceRun(ctx context.Context, p *clusterParams, br *broker, k int) (clusterSample, error) {
	var s clusterSample
	topic := newTopic("cluster-out")
	if err := createTopic(br.addrs, topic, clusterSourcePartitions); err != nil {
		return s, err
	}
	g, err := newClusterGroup(p, br, "-connectors", "source", "-source-topic", topic)
	if err != nil {
		return s, err
	}
	g.topics = append(g.topics, topic)
	defer g.close()
	if s.form, err = formCluster(ctx, g, "source", k); err != nil {
		return s, err
	}
	client, err := sarama.NewClient(br.addrs, saramaConfig("sluice-bench-cluster"))
	if err != nil {
		return s, err
	}
	defer client.Close()
	end := func() (int64, time.Time, error) {
		t0 := time.Now()
		var sum int64
		for p := range int32(clusterSourcePartitions) {
			n, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return 0, t0, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
			}
			sum += n
		}
		return sum, t0.Add(time.Since(t0) / 2), nil
	}
	if err := g.members[0].put(ctx, "/connectors/source/resume"); err != nil {
		return s, err
	}
	if err := sleepCtx(ctx, p.warm); err != nil {
		return s, err
	}
	before, err := rebalances(g.members)
	if err != nil {
		return s, err
	}
	cpu1, _, err := membersCPU(g.members)
	if err != nil {
		return s, err
	}
	busy1 := machineBusy()
	h1, t1, err := end()
	if err != nil {
		return s, err
	}
	if err := sleepCtx(ctx, p.window); err != nil {
		return s, err
	}
	h2, t2, err := end()
	if err != nil {
		return s, err
	}
	cpu2, hwm, err := membersCPU(g.members)
	if err != nil {
		return s, err
	}
	busy2 := machineBusy()
	after, err := rebalances(g.members)
	if err != nil {
		return s, err
	}
	if !slices.Equal(before, after) {
		logf("cluster-source, %d members: the members rebalanced during the window (rebalances:tasks before %v, after %v)", k, before, after)
	}
	if h2 <= h1 {
		return s, fmt.Errorf("no record acknowledged in %s (end offsets %d → %d); last lines of %s:\n%s", p.window, h1, h2, g.members[0].logPath, tail(g.members[0].logPath, 15))
	}
	s.rate = float64(h2-h1) / t2.Sub(t1).Seconds()
	s.cpuPerRecord = float64((cpu2 - cpu1).Microseconds()) / float64(h2-h1)
	s.memberCores = (cpu2 - cpu1).Seconds() / t2.Sub(t1).Seconds()
	s.machineCores = (busy2 - busy1).Seconds() / t2.Sub(t1).Seconds()
	s.rssMiB = float64(hwm) / 1024
	return s, nil
}

// clusterSinkRun measures the sink connector on k members draining the
// backlog topic.
func clusterSinkRun(ctx context.Context, p *clusterParams, br *broker, k int) (clusterSample, error) {
	var s clusterSample
	g, err := newClusterGroup(p, br, "-connectors", "sink", "-sink-topic", p.sinkTopic)
	if err != nil {
		return s, err
	}
	g.args = append(g.args, "-sink-group", g.group+"-sink")
	defer g.close()
	if s.form, err = formCluster(ctx, g, "sink", k); err != nil {
		return s, err
	}
	admin, err := sarama.NewClusterAdmin(br.addrs, saramaConfig("sluice-bench-cluster-admin"))
	if err != nil {
		return s, err
	}
	defer admin.Close()
	if d, err := waitSinkGroup(ctx, admin, g.group+"-sink", time.Now(), time.Minute); err != nil {
		logf("cluster-sink, %d members: the paused tasks' consumer group: %v; measuring with its join", k, err)
	} else {
		s.form += d
	}
	consumed := func() (n int64, first, last time.Time, err error) {
		for _, m := range g.members {
			pr, err := m.progress()
			if err != nil {
				return 0, first, last, err
			}
			n += pr.consumed
			if !pr.firstConsumed.IsZero() && (first.IsZero() || pr.firstConsumed.Before(first)) {
				first = pr.firstConsumed
			}
			if pr.lastConsumed.After(last) {
				last = pr.lastConsumed
			}
		}
		return n, first, last, nil
	}
	n0, _, _, err := consumed()
	if err != nil {
		return s, err
	}
	if n0 > 0 {
		logf("cluster-sink, %d members: %d records consumed while PAUSED", k, n0)
	}
	cpu0, _, err := membersCPU(g.members)
	if err != nil {
		return s, err
	}
	busy0 := machineBusy()
	tResume := time.Now()
	if err := g.members[0].put(ctx, "/connectors/sink/resume"); err != nil {
		return s, err
	}
	deadline := time.Now().Add(2*time.Minute + time.Duration(p.sinkRecords)*20*time.Microsecond)
	for {
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return s, err
		}
		n, first, last, err := consumed()
		if err != nil {
			return s, err
		}
		if n >= p.sinkRecords {
			cpu, hwm, err := membersCPU(g.members)
			if err != nil {
				return s, err
			}
			busy, now := machineBusy(), time.Now()
			if n > p.sinkRecords {
				logf("cluster-sink, %d members: %d records consumed, %d more than the backlog (redelivered)", k, n, n-p.sinkRecords)
			}
			s.rate = float64(p.sinkRecords-n0) / last.Sub(tResume).Seconds()
			if d := last.Sub(first); d > 0 {
				s.steady = float64(p.sinkRecords-n0) / d.Seconds()
			}
			s.cpuPerRecord = float64((cpu - cpu0).Microseconds()) / float64(p.sinkRecords-n0)
			s.memberCores = (cpu - cpu0).Seconds() / now.Sub(tResume).Seconds()
			s.machineCores = (busy - busy0).Seconds() / now.Sub(tResume).Seconds()
			s.rssMiB = float64(hwm) / 1024
			return s, nil
		}
		for _, m := range g.members {
			if m.exited() {
				return s, m.failure()
			}
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("%d of %d records consumed; last lines of %s:\n%s", n, p.sinkRecords, g.members[0].logPath, tail(g.members[0].logPath, 15))
		}
	}
}

// clusterRebalanceRun runs 3 members with both connectors, kills one,
// starts a new one, stops one gracefully, timing each move.
//
// With delayed, the members hold a lost member's tasks back for
// clusterDelay (scheduled.rebalance.max.delay.ms) and only the kill is
// measured, as cKillDelayed.
func clusterRebalanceRun(ctx context.Context, p *clusterParams, br *broker, rep *report, label string, delayed bool) error {
	topic := newTopic("cluster-paced")
	if err := createTopic(br.addrs, topic, clusterSourcePartitions); err != nil {
		return err
	}
	args := []string{"-connectors", "source,sink", "-source-topic", topic, "-sink-topic", topic, "-rate", strconv.Itoa(clusterPacedRate)}
	if delayed {
		args = append(args, "-scheduled-rebalance-max-delay", clusterDelay.String()) // the last -flag wins
	}
	g, err := newClusterGroup(p, br, args...)
	if err != nil {
		return err
	}
	sinkGroup := g.group + "-sink"
	g.args = append(g.args, "-sink-group", sinkGroup)
	g.topics = append(g.topics, topic)
	defer g.close()
	admin, err := sarama.NewClusterAdmin(br.addrs, saramaConfig("sluice-bench-cluster-admin"))
	if err != nil {
		return err
	}
	defer admin.Close()
	both := []string{"source", "sink"}
	for range 3 {
		if _, err := g.start(); err != nil {
			return err
		}
	}
	if err := waitSpread(ctx, g.members[0], both, "RUNNING", g.members, 2*time.Minute); err != nil {
		return err
	}
	if _, err := waitSinkGroup(ctx, admin, sinkGroup, time.Now(), 2*time.Minute); err != nil {
		return err
	}

	// move waits for the tasks and the sink group after a change at t0.
	move := func(c string, t0 time.Time, observer *clusterMember, workers ...*clusterMember) error {
		if err := waitSpread(ctx, observer, both, "RUNNING", workers, 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		tasks := time.Since(t0)
		group, err := waitSinkGroup(ctx, admin, sinkGroup, t0, 2*time.Minute)
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		rep.add("cluster-rebalance", c, figTasksBack, tasks.Seconds())
		rep.add("cluster-rebalance", c, figSinkGroupBak, group.Seconds())
		logf("cluster-rebalance %s %s: tasks RUNNING after %.2fs, sink group Stable after %.2fs", label, c, tasks.Seconds(), group.Seconds())
		return nil
	}

	// settle lets a heartbeat interval pass after a rebalance, so that a
	// change does not always land at the same point of the members'
	// heartbeat cycle (a kill right after a SyncGroup is noticed a whole
	// session later, one a heartbeat later up to a heartbeat sooner).
	settle := func() error { return sleepCtx(ctx, clusterHeartbeat+time.Second) }
	if err := settle(); err != nil {
		return err
	}
	// The victim is a member that does not lead the group: when the
	// leader dies, the new leader has no view of the previous assignment
	// and gives the lost tasks out as new work, without the delay.
	victim := g.members[2]
	for _, m := range slices.Backward(g.members) {
		if pr, err := m.progress(); err == nil && !pr.leader {
			victim = m
			break
		}
	}
	var survivors []*clusterMember
	for _, m := range g.members {
		if m != victim {
			survivors = append(survivors, m)
		}
	}
	m0, m1 := survivors[0], survivors[1]
	t0 := time.Now()
	victim.kill()
	if delayed {
		return move(cKillDelayed, t0, m0, m0, m1)
	}
	if err := move(cKill, t0, m0, m0, m1); err != nil {
		return err
	}

	if err := settle(); err != nil {
		return err
	}
	t0 = time.Now()
	joiner, err := g.start()
	if err != nil {
		return err
	}
	if err := move(cJoin, t0, m0, m0, m1, joiner); err != nil {
		return err
	}

	if err := settle(); err != nil {
		return err
	}
	t0 = time.Now()
	joiner.terminate()
	if err := move(cLeave, t0, m1, m0, m1); err != nil {
		return err
	}
	select {
	case <-joiner.done:
		if joiner.err != nil {
			logf("cluster-rebalance: the member that left exited with %v", joiner.err)
		}
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the member sent SIGTERM did not exit within 30 s; last lines of %s:\n%s", joiner.logPath, tail(joiner.logPath, 15))
	}
	return nil
}

// waitSinkGroup waits until the sink's consumer group is Stable with
// exactly clusterTasks members, and returns the time since t0.
func waitSinkGroup(ctx context.Context, admin sarama.ClusterAdmin, group string, t0 time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ds, err := admin.DescribeConsumerGroups([]string{group})
		if err == nil && len(ds) == 1 {
			last = fmt.Sprintf("%s with %d members", ds[0].State, len(ds[0].Members))
			if ds[0].State == "Stable" && len(ds[0].Members) == clusterTasks {
				return time.Since(t0), nil
			}
		} else if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("consumer group %s not Stable with %d members after %s (last: %s)", group, clusterTasks, timeout, last)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// machineBusy is the machine's CPU time spent outside idle and iowait so
// far, all cores and processes together (/proc/stat), 0 if unreadable.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest times are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTick
}
