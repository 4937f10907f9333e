package cluster

import (
	"context"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// Golden values: the bytes Kafka Connect 4.3.1's JsonConverter
// (schemas.enable=false) writes for each record type (design19 §1.4, and
// checked with a Java program calling JsonConverter.fromConnectData on
// KafkaConfigBackingStore's schemas in the 4.3.1 jars).
func TestConfigRecordsGolden(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"connector", string(encodeProperties(map[string]string{"tasks.max": "6", "connector.class": "X"})),
			`{"properties":{"connector.class":"X","tasks.max":"6"}}`},
		{"commit", string(encodeCommit(6)), `{"tasks":6}`},
		{"commit-3", string(encodeCommit(3)), `{"tasks":3}`},
		{"target-state stopped", string(encodeTargetState(TargetStopped)), `{"state":"PAUSED","state.v2":"STOPPED"}`},
		{"target-state paused", string(encodeTargetState(TargetPaused)), `{"state":"PAUSED","state.v2":"PAUSED"}`},
		{"target-state started", string(encodeTargetState(TargetStarted)), `{"state":"STARTED","state.v2":"STARTED"}`},
		{"session-key", string(encodeSessionKey(SessionKey{Key: "AAAA", Algorithm: "HmacSHA256", Created: 1})),
			`{"key":"AAAA","algorithm":"HmacSHA256","creation-timestamp":1}`},
		{"restart", string(encodeRestart(true, false)), `{"include-tasks":true,"only-failed":false}`},
		{"tasks-fencing", string(encodeTaskCount(6)), `{"task-count":6}`},
		// Jackson's escapes: control characters as \u00XX, non-BMP as
		// surrogate pairs, '/' verbatim.
		{"escapes", string(encodeProperties(map[string]string{"a\"b": "x\ny/\x01😀"})),
			`{"properties":{"a\"b":"x\ny/\u0001\uD83D\uDE00"}}`},
		{"empty", string(encodeProperties(nil)), `{"properties":{}}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
}

// produceRaw writes records (nil value = tombstone) with a plain producer,
// as another worker would.
func logsProduceRaw(t *testing.T, addrs []string, topic string, kvs ...[2]string) {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	p, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, kv := range kvs {
		m := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(kv[0])}
		if kv[1] != "<null>" {
			m.Value = sarama.StringEncoder(kv[1])
		}
		if _, _, err := p.SendMessage(m); err != nil {
			t.Fatalf("producing %s: %v", kv[0], err)
		}
	}
}

func logsOpenConfigLog(t *testing.T, addrs []string, topic string) *ConfigLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := OpenConfigLog(ctx, LogConfig{Addrs: addrs, Sarama: kafkatest.SaramaConfig(t), Topic: topic, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func logsReadToEnd(t *testing.T, l *ConfigLog) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	off, err := l.ReadToEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

func TestConfigLogRoundTrip(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	ctx := context.Background()
	a := logsOpenConfigLog(t, addrs, topic)
	if got := a.Offset(); got != -1 {
		t.Errorf("offset of an empty topic = %d, want -1 (Kafka Connect's)", got)
	}
	cfg := map[string]string{"connector.class": "X", "tasks.max": "2", "name": "c-1"}
	tasks := []map[string]string{{"task.class": "T", "n": "0"}, {"task.class": "T", "n": "1"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.PutConnectorConfig(ctx, "c-1", cfg))
	must(a.PutTaskConfigs(ctx, "c-1", tasks))
	must(a.PutTargetState(ctx, "c-1", TargetStopped))
	must(a.PutTaskCount(ctx, "c-1", 2))
	must(a.PutSessionKey(ctx, SessionKey{Key: "AAAA", Algorithm: "HmacSHA256", Created: 7}))
	must(a.PutConnectorConfig(ctx, "other", map[string]string{"k": "v"}))

	// A second log on the topic sees everything at open; the writer after
	// ReadToEnd.
	b := logsOpenConfigLog(t, addrs, topic)
	offA := logsReadToEnd(t, a)
	for _, l := range []*ConfigLog{a, b} {
		s := l.Snapshot()
		// 1 connector + 2 tasks + commit + target + count + key + other = 8 records.
		if s.Offset != 8 || l.Offset() != 8 || offA != 8 {
			t.Errorf("offset %d/%d/%d, want 8 (last offset + 1)", s.Offset, l.Offset(), offA)
		}
		c, ok := s.Connectors["c-1"]
		if !ok {
			t.Fatalf("connector c-1 missing: %+v", s)
		}
		want := ConnectorConfig{Config: cfg, TaskConfigs: tasks, TargetState: TargetStopped, TaskCount: 2}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("connector c-1 = %+v, want %+v", c, want)
		}
		if o := s.Connectors["other"]; o.TargetState != TargetStarted || o.TaskCount != -1 || o.TaskConfigs != nil {
			t.Errorf("connector other = %+v, want STARTED, no tasks, count -1", o)
		}
		if s.SessionKey == nil || *s.SessionKey != (SessionKey{Key: "AAAA", Algorithm: "HmacSHA256", Created: 7}) {
			t.Errorf("session key = %+v", s.SessionKey)
		}
	}

	// The snapshot is a deep copy.
	s := a.Snapshot()
	s.Connectors["c-1"].Config["x"] = "y"
	s.Connectors["c-1"].TaskConfigs[0]["x"] = "y"
	if s2 := a.Snapshot(); s2.Connectors["c-1"].Config["x"] != "" || s2.Connectors["c-1"].TaskConfigs[0]["x"] != "" {
		t.Error("modifying a snapshot changed the log's state")
	}

	// The exact bytes on the topic, in write order.
	recs := kafkatest.ReadUncommitted(t, addrs, topic)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Key)+" "+string(r.Value))
	}
	wantRecs := []string{
		`connector-c-1 {"properties":{"connector.class":"X","name":"c-1","tasks.max":"2"}}`,
		`task-c-1-0 {"properties":{"n":"0","task.class":"T"}}`,
		`task-c-1-1 {"properties":{"n":"1","task.class":"T"}}`,
		`commit-c-1 {"tasks":2}`,
		`target-state-c-1 {"state":"PAUSED","state.v2":"STOPPED"}`,
		`tasks-fencing-c-1 {"task-count":2}`,
		`session-key {"key":"AAAA","algorithm":"HmacSHA256","creation-timestamp":7}`,
		`connector-other {"properties":{"k":"v"}}`,
	}
	if !reflect.DeepEqual(got, wantRecs) {
		t.Errorf("topic holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRecs, "\n"))
	}

	// Removal: tombstones of connector- and target-state-, in that order.
	must(a.RemoveConnector(ctx, "c-1"))
	logsReadToEnd(t, b)
	if _, ok := b.Snapshot().Connectors["c-1"]; ok {
		t.Error("removed connector still in the snapshot")
	}
	recs = kafkatest.ReadUncommitted(t, addrs, topic)
	tail := recs[len(recs)-2:]
	if string(tail[0].Key) != "connector-c-1" || tail[0].Value != nil ||
		string(tail[1].Key) != "target-state-c-1" || tail[1].Value != nil {
		t.Errorf("removal wrote %s=%q, %s=%q; want tombstones of connector-c-1 then target-state-c-1",
			tail[0].Key, tail[0].Value, tail[1].Key, tail[1].Value)
	}
	// Re-created: no tasks, STARTED (the target-state tombstone).
	must(a.PutConnectorConfig(ctx, "c-1", cfg))
	logsReadToEnd(t, b)
	if c := b.Snapshot().Connectors["c-1"]; c.TaskConfigs != nil || c.TargetState != TargetStarted {
		t.Errorf("re-created connector = %+v, want no tasks and STARTED", c)
	}
}

// Kafka Connect's reading rules on records another worker wrote: task
// records wait for their commit, a short commit makes the connector
// inconsistent and keeps the previous tasks, V0 and V1 target states,
// tombstones, bad records skipped.
func TestConfigLogReadingRules(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	l := logsOpenConfigLog(t, addrs, topic)
	prop := func(v string) string { return `{"properties":{"k":"` + v + `"}}` }

	logsProduceRaw(t, addrs, topic,
		[2]string{"connector-my-conn", prop("c")},
		[2]string{"task-my-conn-0", prop("t0")},
		[2]string{"task-my-conn-1", prop("t1")},
	)
	logsReadToEnd(t, l)
	c := l.Snapshot().Connectors["my-conn"]
	if c.TaskConfigs != nil {
		t.Errorf("task records without a commit are visible: %+v", c.TaskConfigs)
	}

	logsProduceRaw(t, addrs, topic, [2]string{"commit-my-conn", `{"tasks":2}`})
	logsReadToEnd(t, l)
	c = l.Snapshot().Connectors["my-conn"]
	want := []map[string]string{{"k": "t0"}, {"k": "t1"}}
	if !reflect.DeepEqual(c.TaskConfigs, want) || c.Inconsistent {
		t.Fatalf("after the commit: %+v, want tasks %v, consistent", c, want)
	}

	// A commit of 3 with only task 0 and 2 rewritten: inconsistent, the
	// previous tasks kept; the buffered records are dropped, so a commit
	// of 1 right after finds nothing either.
	logsProduceRaw(t, addrs, topic,
		[2]string{"task-my-conn-0", prop("n0")},
		[2]string{"task-my-conn-2", prop("n2")},
		[2]string{"commit-my-conn", `{"tasks":3}`},
	)
	logsReadToEnd(t, l)
	c = l.Snapshot().Connectors["my-conn"]
	if !c.Inconsistent || !reflect.DeepEqual(c.TaskConfigs, want) {
		t.Errorf("after a short commit: %+v, want inconsistent with the previous tasks", c)
	}
	logsProduceRaw(t, addrs, topic, [2]string{"commit-my-conn", `{"tasks":1}`})
	logsReadToEnd(t, l)
	if c = l.Snapshot().Connectors["my-conn"]; !c.Inconsistent {
		t.Errorf("a commit after a failed one applied dropped task records: %+v", c)
	}
	// A complete commit (extra ids allowed) repairs it.
	logsProduceRaw(t, addrs, topic,
		[2]string{"task-my-conn-0", prop("m0")},
		[2]string{"task-my-conn-1", prop("m1")},
		[2]string{"task-my-conn-5", prop("extra")},
		[2]string{"commit-my-conn", `{"tasks":2}`},
	)
	logsReadToEnd(t, l)
	c = l.Snapshot().Connectors["my-conn"]
	if c.Inconsistent || !reflect.DeepEqual(c.TaskConfigs, []map[string]string{{"k": "m0"}, {"k": "m1"}}) {
		t.Errorf("after a complete commit: %+v", c)
	}

	// Target states: V0 (state only), V1 (state.v2 wins), tombstone.
	for _, tc := range []struct{ value, want string }{
		{`{"state":"PAUSED"}`, TargetPaused},
		{`{"state":"BOGUS"}`, TargetPaused}, // skipped: the previous state stays
		{`{"state":"PAUSED","state.v2":"STOPPED"}`, TargetStopped},
		{`{"state":"STARTED","state.v2":null}`, TargetStarted},
		{`{"state":"PAUSED","state.v2":"PAUSED"}`, TargetPaused},
		{"<null>", TargetStarted},
	} {
		logsProduceRaw(t, addrs, topic, [2]string{"target-state-my-conn", tc.value})
		logsReadToEnd(t, l)
		if got := l.Snapshot().Connectors["my-conn"].TargetState; got != tc.want {
			t.Errorf("target state after %s = %s, want %s", tc.value, got, tc.want)
		}
	}
	// A target state written before the connector (Kafka Connect 4.x
	// writes the initial state first) applies once it exists.
	logsProduceRaw(t, addrs, topic,
		[2]string{"target-state-later", `{"state":"PAUSED","state.v2":"STOPPED"}`},
		[2]string{"connector-later", prop("x")},
	)
	logsReadToEnd(t, l)
	if got := l.Snapshot().Connectors["later"].TargetState; got != TargetStopped {
		t.Errorf("target state written before the connector = %s, want STOPPED", got)
	}

	// Bad records are skipped but count in the offset; unknown keys and
	// logger levels too.
	before := l.Offset()
	logsProduceRaw(t, addrs, topic,
		[2]string{"connector-my-conn", `not json`},
		[2]string{"connector-my-conn", `{"properties":"x"}`},
		[2]string{"task-nodash", prop("x")},
		[2]string{"commit-my-conn", `{"tasks":"two"}`},
		[2]string{"whatever", `{}`},
		[2]string{"logger-cluster-org.apache", `{"level":"DEBUG"}`},
	)
	off := logsReadToEnd(t, l)
	s := l.Snapshot()
	if off != before+6 || s.Offset != off {
		t.Errorf("offset after 6 records = %d (snapshot %d), want %d", off, s.Offset, before+6)
	}
	if got := s.Connectors["my-conn"].Config; !reflect.DeepEqual(got, map[string]string{"k": "c"}) {
		t.Errorf("bad connector records changed the config: %v", got)
	}
	if s.LoggerLevels["org.apache"] != "DEBUG" {
		t.Errorf("logger levels = %v", s.LoggerLevels)
	}

	// Tombstone of the connector: gone, and a commit left behind by
	// compaction does not bring it back.
	logsProduceRaw(t, addrs, topic, [2]string{"connector-my-conn", "<null>"}, [2]string{"commit-my-conn", `{"tasks":0}`})
	logsReadToEnd(t, l)
	if _, ok := l.Snapshot().Connectors["my-conn"]; ok {
		t.Error("tombstoned connector still present")
	}
}

// Restart requests reach the listener only when read after the open (as
// Kafka Connect's, which acts on them only once started); the listener
// gets every batch, never concurrently.
func TestConfigLogRestartsAndListener(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	compact := "compact"
	kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"cleanup.policy": &compact})
	logsProduceRaw(t, addrs, topic,
		[2]string{"connector-c", `{"properties":{}}`},
		[2]string{"restart-connector-c", `{"include-tasks":true,"only-failed":true}`},
	)
	l := logsOpenConfigLog(t, addrs, topic)

	var (
		mu       sync.Mutex
		restarts []RestartRequest
		snaps    []ConfigSnapshot
		inside   bool
		overlap  bool
	)
	l.SetListener(func(s ConfigSnapshot, rs []RestartRequest) {
		mu.Lock()
		if inside {
			overlap = true
		}
		inside = true
		snaps = append(snaps, s)
		restarts = append(restarts, rs...)
		mu.Unlock()
		if len(rs) > 0 {
			// Writing from the listener does not wait for the reader.
			if err := l.PutTargetState(context.Background(), "c", TargetPaused); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		inside = false
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	w := logsOpenConfigLog(t, addrs, topic)
	if err := w.RequestRestart(context.Background(), "c", false, true); err != nil {
		t.Fatal(err)
	}
	logsWaitFor(t, "the listener to see the paused state", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(snaps) > 0 && snaps[len(snaps)-1].Connectors["c"].TargetState == TargetPaused
	})
	// ReadToEnd while Run pumps waits for Run's progress.
	if off := logsReadToEnd(t, w); off != 4 {
		t.Errorf("writer's offset = %d, want 4", off)
	}
	if off := logsReadToEnd(t, l); off != 4 {
		t.Errorf("offset while Run pumps = %d, want 4", off)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on ctx done", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []RestartRequest{{Connector: "c", IncludeTasks: false, OnlyFailed: true, Offset: 2}}
	if !reflect.DeepEqual(restarts, want) {
		t.Errorf("restart requests = %+v, want only the one written after the open: %+v", restarts, want)
	}
	if overlap {
		t.Error("the listener ran concurrently with itself")
	}
	if snaps[0].Offset != 2 {
		t.Errorf("first listener call (at Run's start) had offset %d, want 2", snaps[0].Offset)
	}
}

// ReadToEnd before Run (nobody pumping) reads by itself; Put then
// ReadToEnd is read-your-writes.
func TestConfigLogReadToEndWithoutRun(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	l := logsOpenConfigLog(t, addrs, topic)
	for i := range 3 {
		cfg := map[string]string{"i": string(rune('0' + i))}
		if err := l.PutConnectorConfig(context.Background(), "c", cfg); err != nil {
			t.Fatal(err)
		}
		if off := logsReadToEnd(t, l); off != int64(i+1) {
			t.Errorf("offset after write %d = %d", i, off)
		}
		if got := l.Snapshot().Connectors["c"].Config; !maps.Equal(got, cfg) {
			t.Errorf("read %v after writing %v", got, cfg)
		}
	}
}

// Creating a connector with an initial state writes the state first (as
// Kafka Connect 4.x); invalid states are refused before writing.
func TestConfigLogInitialState(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	l := logsOpenConfigLog(t, addrs, topic)
	ctx := context.Background()
	err := l.PutTargetState(ctx, "c", "RUNNING")
	if err == nil || !strings.Contains(err.Error(), `"RUNNING"`) {
		t.Errorf("PutTargetState(RUNNING) = %v, want an invalid-state error", err)
	}
	if err := l.PutConnectorConfigWithState(ctx, "c", map[string]string{"k": "v"}, "BAD"); err == nil {
		t.Error("PutConnectorConfigWithState(BAD) succeeded")
	}
	if err := l.PutConnectorConfigWithState(ctx, "c", map[string]string{"k": "v"}, TargetStopped); err != nil {
		t.Fatal(err)
	}
	if err := l.PutConnectorConfigWithState(ctx, "d", map[string]string{"k": "w"}, ""); err != nil {
		t.Fatal(err)
	}
	logsReadToEnd(t, l)
	s := l.Snapshot()
	if c := s.Connectors["c"]; c.TargetState != TargetStopped || c.Config["k"] != "v" {
		t.Errorf("connector c = %+v, want STOPPED with its config", c)
	}
	if d := s.Connectors["d"]; d.TargetState != TargetStarted || d.Config["k"] != "w" {
		t.Errorf("connector d = %+v, want STARTED with its config", d)
	}
	var keys []string
	for _, r := range kafkatest.ReadUncommitted(t, addrs, topic) {
		keys = append(keys, string(r.Key))
	}
	if want := []string{"target-state-c", "connector-c", "connector-d"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("records %v, want %v (nothing written for the invalid states)", keys, want)
	}
}

// Closing (with Run running or not) leaves no goroutine behind.
func TestConfigLogCloseLeavesNoGoroutine(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	l := logsOpenConfigLog(t, addrs, kafkatest.Topic(t))
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	if err := l.PutConnectorConfig(context.Background(), "c", nil); err != nil {
		t.Fatal(err)
	}
	logsReadToEnd(t, l)
	if err := l.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	// The package's TestMain (goleak) fails if a goroutine outlives it.
}

// testLogger writes the logs' logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func logsWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
