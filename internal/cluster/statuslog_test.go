package cluster

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// The bytes of a real Kafka Connect 4.3.1 worker's status records
// (design19 §1.5).
func TestStatusRecordsGolden(t *testing.T) {
	cases := []struct {
		s    Status
		want string
	}{
		{Status{State: StateRunning, WorkerID: "127.0.0.1:18083", Generation: 5, Version: "4.3.1"},
			`{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18083","generation":5,"version":"4.3.1"}`},
		{Status{State: StateUnassigned, WorkerID: "127.0.0.1:18083", Generation: 5},
			`{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18083","generation":5,"version":null}`},
		{Status{State: StateFailed, Trace: "boom\n\tat X", WorkerID: "h:1", Generation: -1, Version: "v"},
			`{"state":"FAILED","trace":"boom\n\tat X","worker_id":"h:1","generation":-1,"version":"v"}`},
	}
	for _, c := range cases {
		got := string(encodeStatus(c.s))
		if got != c.want {
			t.Errorf("encodeStatus(%+v) = %s, want %s", c.s, got, c.want)
		}
		back, err := parseStatus([]byte(got))
		if err != nil || back != c.s {
			t.Errorf("parseStatus(%s) = %+v, %v; want %+v", got, back, err, c.s)
		}
	}
	// Kafka Connect before KIP-891 writes no "version".
	s, err := parseStatus([]byte(`{"state":"PAUSED","trace":null,"worker_id":"w:1","generation":2}`))
	if err != nil || s != (Status{State: StatePaused, WorkerID: "w:1", Generation: 2}) {
		t.Errorf("a status without version: %+v, %v", s, err)
	}
}

func logsOpenStatusLog(t *testing.T, addrs []string, topic string) *StatusLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := OpenStatusLog(ctx, LogConfig{Addrs: addrs, Sarama: kafkatest.SaramaConfig(t), Topic: topic, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func flushAndRead(t *testing.T, w *StatusLog, readers ...*StatusLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range readers {
		if err := r.ReadToEnd(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Two writers on one status topic (5 partitions by default) see each
// other's statuses; the keys and bytes are Kafka Connect's; deletion
// tombstones the connector's and its tasks' statuses.
func TestStatusLogTwoWriters(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	a := logsOpenStatusLog(t, addrs, topic)
	b := logsOpenStatusLog(t, addrs, topic)
	if n := len(a.reader.parts); n != int(DefaultStatusPartitions) {
		t.Errorf("status topic created with %d partitions, want %d", n, DefaultStatusPartitions)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }() // b tails; a reads on demand
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	ca := Status{State: StateRunning, WorkerID: "a:1", Generation: 3, Version: "1.0"}
	ta0 := Status{State: StateRunning, WorkerID: "a:1", Generation: 3, Version: "1.0"}
	tb1 := Status{State: StateFailed, Trace: "boom", WorkerID: "b:1", Generation: 3, Version: "1.0"}
	a.PutConnector("c-x", ca)
	a.PutTask("c-x", 0, ta0)
	b.PutTask("c-x", 1, tb1)
	flushAndRead(t, a)
	flushAndRead(t, b, a, b)
	for name, l := range map[string]*StatusLog{"a": a, "b": b} {
		if s, ok := l.Connector("c-x"); !ok || s != ca {
			t.Errorf("%s: connector status %+v, %v; want %+v", name, s, ok, ca)
		}
		if got, want := l.Tasks("c-x"), map[int]Status{0: ta0, 1: tb1}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: task statuses %+v, want %+v", name, got, want)
		}
		if got := l.Connectors(); !reflect.DeepEqual(got, []string{"c-x"}) {
			t.Errorf("%s: connectors %v", name, got)
		}
	}
	recs := kafkatest.ReadUncommitted(t, addrs, topic)
	byKey := map[string]string{}
	for _, r := range recs {
		byKey[string(r.Key)] = string(r.Value)
	}
	wantRecs := map[string]string{
		"status-connector-c-x": `{"state":"RUNNING","trace":null,"worker_id":"a:1","generation":3,"version":"1.0"}`,
		"status-task-c-x-0":    `{"state":"RUNNING","trace":null,"worker_id":"a:1","generation":3,"version":"1.0"}`,
		"status-task-c-x-1":    `{"state":"FAILED","trace":"boom","worker_id":"b:1","generation":3,"version":"1.0"}`,
	}
	if !reflect.DeepEqual(byKey, wantRecs) {
		t.Errorf("topic holds %v, want %v", byKey, wantRecs)
	}
	// Keys are partitioned as Kafka's default partitioner does (murmur2),
	// so a key shares its partition with a Kafka Connect worker's writes.
	part := sarama.NewMurmur2Partitioner(topic)
	for _, r := range recs {
		p, err := part.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(r.Key)}, DefaultStatusPartitions)
		if err != nil || p != r.Partition {
			t.Errorf("%s on partition %d, murmur2 says %d (%v)", r.Key, r.Partition, p, err)
		}
	}

	b.DeleteConnector("c-x")
	flushAndRead(t, b, a, b)
	for name, l := range map[string]*StatusLog{"a": a, "b": b} {
		if _, ok := l.Connector("c-x"); ok || len(l.Tasks("c-x")) != 0 {
			t.Errorf("%s: statuses left after DeleteConnector: %v", name, l.Tasks("c-x"))
		}
	}
	tombs := 0
	for _, r := range kafkatest.ReadUncommitted(t, addrs, topic) {
		if r.Value == nil {
			tombs++
		}
	}
	if tombs != 3 {
		t.Errorf("DeleteConnector wrote %d tombstones, want 3 (connector and two tasks)", tombs)
	}
}

// Kafka Connect's rules: a stale UNASSIGNED does not replace a RUNNING of
// the same or a newer generation on reading; safe writes skip a status
// another worker wrote in a newer generation; bad records are skipped.
func TestStatusLogStaleAndSafe(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	l := logsOpenStatusLog(t, addrs, topic)
	run := Status{State: StateRunning, WorkerID: "new:1", Generation: 7}
	l.PutTask("c", 0, run)
	flushAndRead(t, l, l)

	l.PutTask("c", 0, Status{State: StateUnassigned, WorkerID: "old:1", Generation: 6})
	l.PutTask("c", 0, Status{State: StateUnassigned, WorkerID: "old:1", Generation: 7})
	flushAndRead(t, l, l)
	if got := l.Tasks("c")[0]; got != run {
		t.Errorf("after stale UNASSIGNED records: %+v, want %+v kept", got, run)
	}
	newer := Status{State: StateUnassigned, WorkerID: "old:1", Generation: 8}
	l.PutTask("c", 0, newer)
	flushAndRead(t, l, l)
	if got := l.Tasks("c")[0]; got != newer {
		t.Errorf("after a newer UNASSIGNED: %+v, want %+v", got, newer)
	}

	// Safe writes: skipped over a newer generation of another worker,
	// written for the same worker or a newer generation.
	before := len(kafkatest.ReadUncommitted(t, addrs, topic))
	l.PutTaskSafe("c", 0, Status{State: StateFailed, WorkerID: "x:1", Generation: 2})
	flushAndRead(t, l, l)
	if after := len(kafkatest.ReadUncommitted(t, addrs, topic)); after != before {
		t.Errorf("an unsafe write was sent (%d records, had %d)", after, before)
	}
	same := Status{State: StateFailed, WorkerID: "old:1", Generation: 2}
	l.PutTaskSafe("c", 0, same)
	flushAndRead(t, l, l)
	if got := l.Tasks("c")[0]; got != same {
		t.Errorf("safe write of the same worker: %+v, want %+v", got, same)
	}
	l.PutConnectorSafe("c", run) // nothing cached: written
	flushAndRead(t, l, l)
	l.PutConnectorSafe("c", Status{State: StateUnassigned, WorkerID: "z:1", Generation: 3})
	flushAndRead(t, l, l)
	if got, _ := l.Connector("c"); got != run {
		t.Errorf("connector status after an unsafe write: %+v, want %+v", got, run)
	}

	// Bad records are skipped; topic statuses ignored.
	logsProduceRaw(t, addrs, topic,
		[2]string{"status-task-c-0", `{"state":"NOPE","trace":null,"worker_id":"w","generation":1}`},
		[2]string{"status-task-c-0", `[]`},
		[2]string{"status-task-c", `{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}`},
		[2]string{"status-connector-", `{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}`},
		[2]string{"status-topic-t:connector-c", `{"topic":{"name":"t","connector":"c","task":0,"discoverTimestamp":1}}`},
	)
	flushAndRead(t, l, l)
	if got := l.Tasks("c"); !reflect.DeepEqual(got, map[int]Status{0: same}) {
		t.Errorf("bad records changed the view: %+v", got)
	}
	if got := l.Connectors(); !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("connectors after bad records: %v", got)
	}
}

// Close stops Run and leaves no goroutine (the package's goleak TestMain);
// a write after Close is dropped, not blocked.
func TestStatusLogClose(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	l := logsOpenStatusLog(t, addrs, kafkatest.Topic(t))
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	l.PutConnector("c", Status{State: StateRunning, WorkerID: "w:1", Generation: 1})
	flushAndRead(t, l)
	if err := l.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v", err)
	}
	l.PutTask("c", 0, Status{State: StateRunning, WorkerID: "w:1", Generation: 1})
	if err := l.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close with nothing pending = %v", err)
	}
}
