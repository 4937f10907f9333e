package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// failOnce makes the first task instance that reaches the armed point
// (Start, or Put/Poll) fail, once: the instance a restart brings back
// works.
type failOnce struct {
	atStart bool
	armed   atomic.Bool
	failed  atomic.Int32 // the id of the task that failed, -1 before
}

func newFailOnce(atStart bool) *failOnce {
	f := &failOnce{atStart: atStart}
	f.armed.Store(true)
	f.failed.Store(-1)
	return f
}

func (f *failOnce) fire(start bool, id int, what string) error {
	if start != f.atStart || !f.armed.CompareAndSwap(true, false) {
		return nil
	}
	f.failed.Store(int32(id))
	return fmt.Errorf("task %d: %s failed: is a directory", id, what)
}

type truthSink struct {
	f  *failOnce
	id int
}

func (t *truthSink) Start(_ context.Context, tc sink.TaskContext) error {
	t.id = tc.TaskID()
	return t.f.fire(true, t.id, "start")
}

func (t *truthSink) Put(_ context.Context, recs []connect.Record) error {
	if len(recs) == 0 {
		return nil
	}
	return t.f.fire(false, t.id, "put")
}

func (t *truthSink) Stop(context.Context) error { return nil }

type truthSource struct {
	f     *failOnce
	id    int
	topic string
}

func (t *truthSource) Start(_ context.Context, tc source.TaskContext) error {
	t.id, t.topic = tc.TaskID(), tc.Config()["topic"]
	return t.f.fire(true, t.id, "start")
}

func (t *truthSource) Poll(ctx context.Context) ([]connect.Record, error) {
	if err := t.f.fire(false, t.id, "poll"); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
	return nil, nil
}

func (t *truthSource) Stop(context.Context) error { return nil }

// splitConnector makes n task configs (n read at each call), each with the
// connector's config plus "task.n".
type splitConnector struct{ n atomic.Int32 }

func (c *splitConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	n := min(int(c.n.Load()), maxTasks)
	if n < 0 {
		return nil, errors.New("the upstream refused the connector")
	}
	out := make([]map[string]string, n)
	for i := range out {
		c := map[string]string{"task.n": fmt.Sprint(i)}
		for k, v := range config {
			c[k] = v
		}
		out[i] = c
	}
	return out, nil
}

// truthEnv is a Runner on kafkatest's brokers with a sink and a source
// plugin whose tasks fail through f.
type truthEnv struct {
	t       *testing.T
	r       *runner.Runner
	brokers []string
	f       *failOnce
	conn    *splitConnector
}

func newTruthEnv(t *testing.T, f *failOnce) *truthEnv {
	brokers := kafkatest.Brokers(t)
	r, err := runner.New(runner.Config{
		Worker: map[string]string{
			"bootstrap.servers":            strings.Join(brokers, ","),
			"key.converter":                "org.apache.kafka.connect.storage.StringConverter",
			"value.converter":              "org.apache.kafka.connect.storage.StringConverter",
			"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets"),
			"offset.flush.interval.ms":     "100",
		},
		WorkerID: "w1:sluice", Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &truthEnv{t: t, r: r, brokers: brokers, f: f, conn: &splitConnector{}}
	e.conn.n.Store(1)
	for _, p := range []connect.Plugin{
		sink.Plugin(sink.PluginConfig{Class: "com.example.TruthSink", NewTask: func() sink.Task { return &truthSink{f: f} }}),
		source.Plugin(source.PluginConfig{Class: "com.example.TruthSource", Connector: e.conn,
			NewTask: func() source.Task { return &truthSource{f: f} }}),
	} {
		if err := r.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("Run did not return within 60 s")
		}
	})
	return e
}

// create creates connector name of kind "sink" or "source" with tasks
// tasks (and tasks.max maxTasks), reading or writing a new topic.
func (e *truthEnv) create(name, kind string, tasks, maxTasks int) {
	e.t.Helper()
	topic := kafkatest.Topic(e.t) + "-" + name
	cfg := map[string]string{"tasks.max": fmt.Sprint(maxTasks)}
	if kind == "sink" {
		kafkatest.CreateTopic(e.t, e.brokers, topic, int32(tasks), nil)
		cfg["connector.class"], cfg["topics"] = "com.example.TruthSink", topic
		cfg["consumer.override.session.timeout.ms"] = "6000"
		cfg["consumer.override.heartbeat.interval.ms"] = "500"
		e.produce(topic, int32(tasks))
	} else {
		e.conn.n.Store(int32(tasks))
		cfg["connector.class"], cfg["topic"] = "com.example.TruthSource", topic
	}
	if err := e.r.CreateConnector(name, cfg, ""); err != nil {
		e.t.Fatal(err)
	}
}

// produce writes a few records to every partition of topic.
func (e *truthEnv) produce(topic string, parts int32) {
	e.t.Helper()
	cfg := kafkatest.SaramaConfig(e.t)
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(e.brokers, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	defer p.Close()
	for part := range parts {
		for i := range 5 {
			if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: part, Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// truthStatus is GET /connectors/{name}/status, decoded.
type truthStatus struct {
	Connector struct {
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"connector"`
	Tasks []struct {
		ID    int    `json:"id"`
		State string `json:"state"`
		Trace string `json:"trace"`
	} `json:"tasks"`
}

func (e *truthEnv) status(name string) truthStatus {
	e.t.Helper()
	w := do(e.r.Handler(), "GET", "/connectors/"+name+"/status", "")
	var st truthStatus
	if w.Code != 200 {
		e.t.Fatalf("GET status: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitTasks waits until name's status lists n tasks, each in the state
// want returns for its id.
func (e *truthEnv) waitTasks(name string, n int, want func(id int) connect.State) runner.ConnectorReport {
	e.t.Helper()
	var rep runner.ConnectorReport
	waitUntil(e.t, 60*time.Second, fmt.Sprintf("%s's %d tasks in their states", name, n), func() bool {
		var err error
		rep, err = e.r.Status(name)
		if err != nil || len(rep.Tasks) != n {
			return false
		}
		for _, t := range rep.Tasks {
			if t.State != want(t.ID) || t.State == connect.StateRunning && t.Started.IsZero() {
				return false
			}
		}
		return true
	})
	return rep
}

// TestTaskFailureLeavesConnectorRunning: as Kafka Connect, a task that
// fails (at start, or later in Put/Poll) is FAILED with a trace while its
// connector stays RUNNING, for sink and source pipelines, with one task or
// three; restarting that task (POST …/tasks/{id}/restart, or restart with
// includeTasks=true&onlyFailed=true) revives it without touching the
// others.
func TestTaskFailureLeavesConnectorRunning(t *testing.T) {
	for _, kind := range []string{"sink", "source"} {
		for _, atStart := range []bool{true, false} {
			for _, tasks := range []int{1, 3} {
				when := "later"
				if atStart {
					when = "start"
				}
				t.Run(fmt.Sprintf("%s/%s/tasks%d", kind, when, tasks), func(t *testing.T) {
					f := newFailOnce(atStart)
					e := newTruthEnv(t, f)
					name := "truth-" + kind
					e.create(name, kind, tasks, tasks)
					waitUntil(t, 60*time.Second, "a task failure", func() bool { return f.failed.Load() >= 0 })
					failed := int(f.failed.Load())
					isFailed := func(id int) connect.State {
						if id == failed {
							return connect.StateFailed
						}
						return connect.StateRunning
					}
					rep := e.waitTasks(name, tasks, isFailed)
					if rep.State != connect.StateRunning || rep.Err != nil {
						t.Fatalf("connector %s (%v), want RUNNING", rep.State, rep.Err)
					}
					st := e.status(name)
					if st.Connector.State != "RUNNING" || st.Connector.Trace != "" {
						t.Fatalf("REST connector %+v, want RUNNING without trace", st.Connector)
					}
					for _, ts := range st.Tasks {
						if ts.ID == failed && (ts.State != "FAILED" || !strings.Contains(ts.Trace, "is a directory")) {
							t.Fatalf("REST task %d: %s trace %q, want FAILED with the failure's trace", ts.ID, ts.State, ts.Trace)
						}
						if ts.ID != failed && (ts.State != "RUNNING" || ts.Trace != "") {
							t.Fatalf("REST task %d: %s trace %q, want RUNNING", ts.ID, ts.State, ts.Trace)
						}
					}
					// The healthy tasks' instances, by start time.
					before := map[int]time.Time{}
					for _, ts := range rep.Tasks {
						before[ts.ID] = ts.Started
					}

					path := fmt.Sprintf("/connectors/%s/tasks/%d/restart", name, failed)
					if tasks == 3 {
						path = "/connectors/" + name + "/restart?includeTasks=true&onlyFailed=true"
					}
					if w := do(e.r.Handler(), "POST", path, ""); w.Code != 204 && w.Code != 202 {
						t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
					}
					rep = e.waitTasks(name, tasks, func(int) connect.State { return connect.StateRunning })
					for _, ts := range rep.Tasks {
						if ts.ID != failed && !ts.Started.Equal(before[ts.ID]) {
							t.Fatalf("task %d restarted (started %v, before %v): only task %d should have", ts.ID, ts.Started, before[ts.ID], failed)
						}
					}
					if rep.State != connect.StateRunning || rep.Restarts != 0 {
						t.Fatalf("connector %s restarts %d, want RUNNING and not restarted", rep.State, rep.Restarts)
					}
				})
			}
		}
	}
}

// TestLegacyRestartRestartsOnlyTheConnector: POST /connectors/{c}/restart
// without parameters (or with both false) answers 204 and leaves the tasks
// running untouched (same instance, same restart count), as Kafka
// Connect's connector-only restart; a source connector whose task configs
// changed meanwhile reconfigures only what changed; includeTasks=true
// restarts the tasks too. A missing task is "Task <c>-<n> not found".
func TestLegacyRestartRestartsOnlyTheConnector(t *testing.T) {
	f := newFailOnce(true)
	f.armed.Store(false) // nothing fails
	e := newTruthEnv(t, f)
	running := func(int) connect.State { return connect.StateRunning }
	e.create("legacy-sink", "sink", 2, 2)
	e.create("legacy-source", "source", 2, 3)
	for _, name := range []string{"legacy-sink", "legacy-source"} {
		before := e.waitTasks(name, 2, running)
		for _, path := range []string{"/restart", "/restart?includeTasks=false&onlyFailed=false"} {
			if w := do(e.r.Handler(), "POST", "/connectors/"+name+path, ""); w.Code != 204 || w.Body.Len() != 0 {
				t.Fatalf("POST %s%s: %d %q, want 204", name, path, w.Code, w.Body)
			}
		}
		after := e.waitTasks(name, 2, running)
		if after.State != connect.StateRunning {
			t.Fatalf("%s: connector %s after a legacy restart", name, after.State)
		}
		for i, ts := range after.Tasks {
			if !ts.Started.Equal(before.Tasks[i].Started) || ts.Restarts != before.Tasks[i].Restarts {
				t.Fatalf("%s task %d: started %v restarts %d, before %v %d: a legacy restart must not touch tasks",
					name, ts.ID, ts.Started, ts.Restarts, before.Tasks[i].Started, before.Tasks[i].Restarts)
			}
		}
		w := do(e.r.Handler(), "POST", "/connectors/"+name+"/tasks/9/restart", "")
		if want := `{"error_code":404,"message":"Task ` + name + `-9 not found"}`; w.Code != 404 || strings.TrimSpace(w.Body.String()) != want {
			t.Fatalf("restarting task 9: %d %s, want 404 %s", w.Code, w.Body, want)
		}
	}

	// The source's connector now splits into three tasks: a legacy restart
	// starts task 2 and leaves tasks 0 and 1 (same configs) running.
	before := e.waitTasks("legacy-source", 2, running)
	e.conn.n.Store(3)
	if w := do(e.r.Handler(), "POST", "/connectors/legacy-source/restart", ""); w.Code != 204 {
		t.Fatalf("legacy restart: %d %s", w.Code, w.Body)
	}
	after := e.waitTasks("legacy-source", 3, running)
	for i := range 2 {
		if !after.Tasks[i].Started.Equal(before.Tasks[i].Started) {
			t.Fatalf("task %d restarted although its config did not change", i)
		}
	}

	// A connector restart that fails (its TaskConfigs) fails the connector
	// only: FAILED with a trace, its tasks go on; the next restart, of a
	// FAILED connector, restarts it whole.
	e.conn.n.Store(-1)
	if w := do(e.r.Handler(), "POST", "/connectors/legacy-source/restart", ""); w.Code != 500 || !strings.Contains(w.Body.String(), "the upstream refused the connector") {
		t.Fatalf("failing legacy restart: %d %s, want 500 naming the failure", w.Code, w.Body)
	}
	st := e.status("legacy-source")
	if st.Connector.State != "FAILED" || !strings.Contains(st.Connector.Trace, "the upstream refused the connector") || len(st.Tasks) != 3 {
		t.Fatalf("after a failed connector restart: %+v, want the connector FAILED with a trace and its 3 tasks", st)
	}
	for _, ts := range st.Tasks {
		if ts.State != "RUNNING" {
			t.Fatalf("task %d %s after a failed connector restart, want RUNNING", ts.ID, ts.State)
		}
	}
	e.conn.n.Store(3)
	if w := do(e.r.Handler(), "POST", "/connectors/legacy-source/restart", ""); w.Code != 204 {
		t.Fatalf("legacy restart of a FAILED connector: %d %s", w.Code, w.Body)
	}
	waitUntil(t, 60*time.Second, "the source restarted whole", func() bool {
		rep, err := e.r.Status("legacy-source")
		if err != nil || rep.State != connect.StateRunning || rep.Restarts != 1 || len(rep.Tasks) != 3 {
			return false
		}
		for _, ts := range rep.Tasks {
			if ts.State != connect.StateRunning {
				return false
			}
		}
		return true
	})

	// includeTasks=true restarts every task.
	if w := do(e.r.Handler(), "POST", "/connectors/legacy-sink/restart?includeTasks=true", ""); w.Code != 202 {
		t.Fatalf("restart with tasks: %d %s", w.Code, w.Body)
	}
	waitUntil(t, 60*time.Second, "the sink's tasks restarted", func() bool {
		rep, err := e.r.Status("legacy-sink")
		if err != nil || len(rep.Tasks) != 2 {
			return false
		}
		for _, ts := range rep.Tasks {
			if ts.State != connect.StateRunning || ts.Restarts != 1 {
				return false
			}
		}
		return true
	})
}
