package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestMain fails the package if a goroutine outlives the tests: a stopped
// worker must have stopped its REST servers, its group membership and its
// connectors.
func TestMain(m *testing.M) {
	// sarama's producer circuit breaker sleeps out 10 s after errors,
	// then ends: not a leak of ours.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"))
}

// testWorker is a worker of the tests, running in the background.
type testWorker struct {
	w      *worker
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent use (a worker's log).
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

// startWorker starts a worker on the properties file at path; it is
// stopped by t.Cleanup (or stop).
func startWorker(t *testing.T, path string) *testWorker {
	t.Helper()
	log := &syncBuffer{}
	w, err := newWorker(context.Background(), path, options{stderr: log, logLevel: slog.LevelInfo, sarama: kafkatest.SaramaConfig(t)})
	if err != nil {
		t.Fatalf("newWorker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWorker{w: w, cancel: cancel, done: make(chan error, 1), log: log}
	go func() { tw.done <- w.run(ctx) }()
	t.Cleanup(func() {
		if err := tw.stop(); err != nil {
			t.Errorf("worker %s: %v", w.advertisedURL, err)
		}
		if t.Failed() {
			t.Logf("log of the worker at %s:\n%s", w.advertisedURL, lastLines(log.String(), 40))
		}
	})
	return tw
}

// stop stops the worker gracefully and returns run's error (idempotent).
func (tw *testWorker) stop() error {
	tw.cancel()
	select {
	case err, ok := <-tw.done:
		if ok {
			close(tw.done)
		}
		return err
	case <-time.After(2 * time.Minute):
		return errors.New("did not stop within 2 minutes")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeWorkerFile writes a worker properties file for a test cluster:
// unique group and internal topics, REST on a free loopback port, short
// group timings.
func writeWorkerFile(t *testing.T, brokers []string, extra ...string) string {
	t.Helper()
	name := kafkatest.Topic(t)
	lines := []string{
		"bootstrap.servers=" + strings.Join(brokers, ","),
		"group.id=" + name + "-group",
		"config.storage.topic=" + name + "-configs",
		"offset.storage.topic=" + name + "-offsets",
		"status.storage.topic=" + name + "-status",
		"config.storage.replication.factor=1",
		"offset.storage.replication.factor=1",
		"status.storage.replication.factor=1",
		"offset.storage.partitions=5",
		"status.storage.partitions=5",
		"session.timeout.ms=6000",
		"heartbeat.interval.ms=1000",
		"rebalance.timeout.ms=20000",
		"scheduled.rebalance.max.delay.ms=2000",
		"key.converter=org.apache.kafka.connect.storage.StringConverter",
		"value.converter=org.apache.kafka.connect.storage.StringConverter",
		"offset.flush.interval.ms=1000",
		"consumer.session.timeout.ms=6000",
		"consumer.heartbeat.interval.ms=1000",
		"listeners=http://127.0.0.1:0",
	}
	path := filepath.Join(t.TempDir(), "worker.properties")
	if err := os.WriteFile(path, []byte(strings.Join(append(lines, extra...), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// taskStatus is a task of GET /connectors/{name}/status.
type taskStatus struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace"`
}

// connectorStatus is GET /connectors/{name}/status.
type connectorStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []taskStatus `json:"tasks"`
}

func getJSON(url string, v any) error {
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// TestTwoWorkersOneCluster starts two workers on one worker file (one
// group.id, REST on free ports), POSTs a FileStreamSink connector with
// tasks.max=4 to the first, and checks that the second lists it and
// reports its 4 tasks RUNNING, 2 on each worker (worker_id = each one's
// advertised host:port), and that records of its topic reach the file.
func TestTwoWorkersOneCluster(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 4, nil)
	path := writeWorkerFile(t, brokers)
	a := startWorker(t, path)
	b := startWorker(t, path)
	idA, idB := strings.TrimPrefix(a.w.advertisedURL, "http://"), strings.TrimPrefix(b.w.advertisedURL, "http://")
	if a.w.runner.WorkerID() != idA || b.w.runner.WorkerID() != idB {
		t.Errorf("worker ids %q and %q, want the advertised host:port %q and %q", a.w.runner.WorkerID(), b.w.runner.WorkerID(), idA, idB)
	}

	out := filepath.Join(t.TempDir(), "sink.txt")
	body, _ := json.Marshal(map[string]any{"name": "fsink", "config": map[string]string{
		"connector.class": "FileStreamSink", "tasks.max": "4", "topics": topic, "file": out,
	}})
	resp, err := http.Post(a.w.advertisedURL+"/connectors", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s/connectors: %d %s", a.w.advertisedURL, resp.StatusCode, respBody)
	}

	var last string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, detail := spreadOver(b.w.advertisedURL, "fsink", 4, idA, idB)
		if ok {
			break
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("the second worker's view of fsink after 2 minutes: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var names []string
	if err := getJSON(b.w.advertisedURL+"/connectors", &names); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"fsink"}) {
		t.Errorf("GET /connectors on the second worker = %v, want [fsink]", names)
	}

	// The tasks on both workers deliver: a record on each partition
	// reaches the file.
	produce(t, brokers, topic, 4)
	deadline = time.Now().Add(2 * time.Minute)
	for {
		data, _ := os.ReadFile(out)
		n := strings.Count(string(data), "\n")
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 records in %s after 2 minutes", n, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// spreadOver reports whether url's status of connector shows it RUNNING
// with n tasks RUNNING, n/2 on each of idA and idB.
func spreadOver(url, connector string, n int, idA, idB string) (bool, string) {
	var st connectorStatus
	if err := getJSON(url+"/connectors/"+connector+"/status", &st); err != nil {
		return false, err.Error()
	}
	detail := fmt.Sprintf("%+v", st)
	if st.Connector.State != "RUNNING" || len(st.Tasks) != n {
		return false, detail
	}
	count := map[string]int{}
	for _, ts := range st.Tasks {
		if ts.State != "RUNNING" {
			return false, detail
		}
		count[ts.WorkerID]++
	}
	return count[idA] == n/2 && count[idB] == n/2, detail
}

// produce writes one record to each of parts partitions of topic.
func produce(t *testing.T, brokers []string, topic string, parts int) {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range parts {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: int32(i), Value: sarama.StringEncoder(fmt.Sprintf("record %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkerConfigErrors: the worker refuses a file without
// config.storage.topic (distributed mode keeps its connectors there) and
// with rest.extension.classes, naming the file and the key, with exit
// status 2; a missing argument is a usage error (1).
func TestWorkerConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := "bootstrap.servers=127.0.0.1:1\ngroup.id=g\noffset.storage.topic=o\nstatus.storage.topic=s\nlisteners=http://127.0.0.1:0\n"
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"usage", nil, exitUsage, []string{"usage: distributed"}},
		{"no config topic", []string{write("a.properties", base)}, exitWorker, []string{"a.properties", "config.storage.topic"}},
		{"basic auth", []string{write("b.properties", base+"config.storage.topic=c\nrest.extension.classes=x\n")}, exitWorker,
			[]string{"b.properties", "rest.extension.classes"}},
		{"bad listener", []string{write("c.properties", base+"config.storage.topic=c\nlisteners=ftp://x:1\n")}, exitWorker,
			[]string{"c.properties", "listeners"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), c.args, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if got := exitCode(err); got != c.code {
				t.Errorf("exit code %d, want %d (%v)", got, c.code, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
