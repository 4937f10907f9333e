package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/connect/sluicetest"
)

// logOutput is where the workers under test log: nowhere, unless
// STANDALONE_TEST_LOG is set.
func logOutput() io.Writer {
	if os.Getenv("STANDALONE_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// writeFile writes a properties file of lines into dir and returns its path.
func writeFile(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// workerProps returns the lines of a worker file for tests: the broker,
// the String converters (so a file is copied byte for byte), fast commits,
// a REST listener on a free port, and consumer settings for quick group
// joins, then extra.
func workerProps(brokers []string, extra ...string) []string {
	return append([]string{
		"bootstrap.servers=" + strings.Join(brokers, ","),
		"key.converter=org.apache.kafka.connect.storage.StringConverter",
		"value.converter=org.apache.kafka.connect.storage.StringConverter",
		"offset.flush.interval.ms=500",
		"listeners=http://127.0.0.1:0",
		"consumer.session.timeout.ms=6000",
		"consumer.heartbeat.interval.ms=500",
	}, extra...)
}

// runningWorker is a worker run by startWorker.
type runningWorker struct {
	w      *worker
	stdout *syncBuffer
	stop   func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startWorker configures a worker from files (the worker file first) and
// runs it; stop (also run by t.Cleanup) stops it gracefully and checks that
// it returned nil.
func startWorker(t *testing.T, files ...string) *runningWorker {
	t.Helper()
	return startWorkerLogging(t, logOutput(), files...)
}

// startWorkerLogging is startWorker with the worker's logs written to
// stderr.
func startWorkerLogging(t *testing.T, stderr io.Writer, files ...string) *runningWorker {
	t.Helper()
	out := &syncBuffer{}
	w, err := newWorker(context.Background(), files[0], files[1:], options{
		stdout: out, stderr: stderr, sarama: sluicetest.SaramaConfig(t),
	})
	if err != nil {
		t.Fatalf("newWorker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("worker: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("the worker did not stop within 60 s")
			}
		})
	}
	t.Cleanup(stop)
	return &runningWorker{w: w, stdout: out, stop: stop}
}

// lines returns lines [from, to) of a test file: ASCII and multi-byte
// UTF-8, tabs, various lengths.
func lines(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %06d %s|\t%s\n", i, strings.Repeat("é✓", i%5), strings.Repeat("x", i%61))
	}
	return b.Bytes()
}

func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// waitForFile waits until the file at path holds at least len(want) bytes,
// then fails t unless it holds exactly want.
func waitForFile(t *testing.T, path string, want []byte) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := os.ReadFile(path)
		if len(got) >= len(want) {
			checkBytes(t, path, got, want)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s has %d of %d bytes", path, len(got), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s (%d bytes) differs from the expected %d bytes at byte %d", what, len(got), len(want), i)
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

// checkOffsetsFile checks that the offsets file holds exactly one entry:
// connector's offset of file at position.
func checkOffsetsFile(t *testing.T, path, connector, file string, position int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Entries []struct{ Key, Value string }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	wantKey := `["` + connector + `",{"filename":` + jsonString(file) + `}]`
	wantValue := fmt.Sprintf(`{"position":%d}`, position)
	if len(doc.Entries) != 1 || doc.Entries[0].Key != wantKey || doc.Entries[0].Value != wantValue {
		t.Fatalf("offsets file:\n%s\nwant one entry, key %s, value %s", data, wantKey, wantValue)
	}
}

// TestCopyFileAndRestart: FileStreamSource → topic → FileStreamSink copies
// a 100 000-line file byte for byte; after lines are appended, a restarted
// worker (same offsets file) copies only the new lines.
func TestCopyFileAndRestart(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil) // one partition: the lines stay in order
	dir := t.TempDir()
	in, out, offsetsFile := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt"), filepath.Join(dir, "connect.offsets")
	input := lines(0, 100_000)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{
		writeFile(t, dir, "worker.properties", workerProps(brokers, "offset.storage.file.filename="+offsetsFile)...),
		writeFile(t, dir, "source.properties",
			"name=local-file-source",
			"connector.class=org.apache.kafka.connect.file.FileStreamSourceConnector",
			"tasks.max=1",
			"file="+in,
			"topic="+topic),
		writeFile(t, dir, "sink.properties",
			"name=sink-"+topic,
			"connector.class=FileStreamSink", // a short name, as Kafka accepts
			"tasks.max=1",
			"file="+out,
			"topics="+topic),
	}

	start := time.Now()
	w := startWorker(t, files...)
	waitForFile(t, out, input)
	w.stop()
	t.Logf("%d lines (%d bytes) copied in %v", 100_000, len(input), time.Since(start).Round(time.Millisecond))
	checkOffsetsFile(t, offsetsFile, "local-file-source", in, len(input))
	if s := w.stdout.String(); s != "" {
		t.Errorf("stdout with bootstrap.servers set: %q, want nothing", s)
	}

	more := lines(100_000, 100_500)
	appendTo(t, in, more)
	all := append(slices.Clip(input), more...)
	w = startWorker(t, files...)
	waitForFile(t, out, all)
	w.stop()
	got, _ := os.ReadFile(out)
	checkBytes(t, out+" after the restart", got, all)
	checkOffsetsFile(t, offsetsFile, "local-file-source", in, len(all))
}

// topicRecord is a record read back from a topic.
type topicRecord struct {
	partition  int32
	key, value []byte
}

// readTopic returns every record of topic, by partition, then offset.
func readTopic(t *testing.T, brokers []string, topic string) []topicRecord {
	t.Helper()
	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []topicRecord
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
	read:
		for {
			select {
			case m := <-pc.Messages():
				out = append(out, topicRecord{partition: p, key: m.Key, value: m.Value})
				if m.Offset+1 >= end {
					break read
				}
			case err := <-pc.Errors():
				t.Fatal(err)
			case <-timeout:
				t.Fatalf("reading %s/%d: timed out", topic, p)
			}
		}
		if err := pc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestOffsetsTopic: with offset.storage.topic, the worker resumes from an
// offset written in Kafka Connect's bytes (and partitioning), and writes
// its own offsets in the same format, under the same key bytes.
func TestOffsetsTopic(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	offsetsTopic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	compact := "compact"
	sluicetest.CreateTopic(t, brokers, offsetsTopic, 5, map[string]*string{"cleanup.policy": &compact})

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	input := lines(0, 1000)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	position := len(lines(0, 400)) // Kafka Connect copied lines 0..399

	// What Kafka Connect's worker writes: the JsonConverter without schemas,
	// key [connector, partition], value the offset, murmur2-partitioned.
	key := []byte(`["local-file-source",{"filename":` + jsonString(in) + `}]`)
	cfg := sluicetest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*sarama.ProducerMessage{
		{Topic: offsetsTopic, Key: sarama.ByteEncoder(key), Value: sarama.StringEncoder(`{"position":123}`)},
		{Topic: offsetsTopic, Key: sarama.StringEncoder(`["another-connector",{"filename":"x.txt"}]`), Value: sarama.StringEncoder(`{"position":7}`)},
		{Topic: offsetsTopic, Key: sarama.ByteEncoder(key), Value: sarama.StringEncoder(fmt.Sprintf(`{"position":%d}`, position))},
	}
	if err := producer.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
	keyPartition := msgs[0].Partition
	if err := producer.Close(); err != nil {
		t.Fatal(err)
	}

	files := []string{
		writeFile(t, dir, "worker.properties", workerProps(brokers,
			// Kafka's sample converters this time: the JSON envelope.
			"key.converter=org.apache.kafka.connect.json.JsonConverter",
			"value.converter=org.apache.kafka.connect.json.JsonConverter",
			"key.converter.schemas.enable=true",
			"value.converter.schemas.enable=true",
			"offset.storage.topic="+offsetsTopic,
			"offset.storage.replication.factor=1")...),
		writeFile(t, dir, "source.properties",
			"name=local-file-source",
			"connector.class=org.apache.kafka.connect.file.FileStreamSourceConnector",
			"file="+in,
			"topic="+topic),
		writeFile(t, dir, "sink.properties",
			"name=sink-"+topic,
			"connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector",
			"file="+out,
			"topics="+topic),
	}
	w := startWorker(t, files...)
	waitForFile(t, out, input[position:])
	w.stop()
	got, _ := os.ReadFile(out)
	checkBytes(t, out, got, input[position:])

	var last *topicRecord
	var ours, others int
	recs := readTopic(t, brokers, offsetsTopic)
	for i, r := range recs {
		switch {
		case bytes.Equal(r.key, key):
			ours++
			last = &recs[i]
			if r.partition != keyPartition {
				t.Errorf("offset written to partition %d, Kafka Connect's partitioner chose %d", r.partition, keyPartition)
			}
		case string(r.key) == `["another-connector",{"filename":"x.txt"}]`:
			others++
		default:
			t.Errorf("unexpected offsets record %s = %s", r.key, r.value)
		}
	}
	if ours < 3 || others != 1 {
		t.Fatalf("offsets topic holds %d records for key %s (want the 2 written here and new ones) and %d others (want 1)", ours, key, others)
	}
	if want := fmt.Sprintf(`{"position":%d}`, len(input)); string(last.value) != want {
		t.Errorf("last offset written for %s: %s, want %s", key, last.value, want)
	}
}

// getJSON GETs url and decodes the JSON response into v.
func getJSON(t *testing.T, client *http.Client, url string, v any) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// TestREST: the worker serves Kafka Connect's REST API on its listener.
func TestREST(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, lines(0, 10), 0o644); err != nil {
		t.Fatal(err)
	}
	sinkName := "sink-" + topic
	w := startWorker(t,
		writeFile(t, dir, "worker.properties", workerProps(brokers, "offset.storage.file.filename="+filepath.Join(dir, "offsets"))...),
		writeFile(t, dir, "source.properties", "name=local-file-source", "connector.class=FileStreamSource", "file="+in, "topic="+topic),
		// The REST API's JSON form of a connector file.
		writeFile(t, dir, "sink.json", fmt.Sprintf(`{"name": %q, "config": {"connector.class": "FileStreamSinkConnector", "tasks.max": 1, "file": %q, "topics": %q}}`, sinkName, out, topic)),
	)
	waitForFile(t, out, lines(0, 10))

	addrs := w.w.restAddrs()
	if len(addrs) != 1 {
		t.Fatalf("REST listeners %v, want one", addrs)
	}
	base := "http://" + addrs[0]
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

	var names []string
	getJSON(t, client, base+"/connectors", &names)
	if want := []string{"local-file-source", sinkName}; !slices.Equal(names, want) {
		t.Errorf("GET /connectors = %q, want %q", names, want)
	}
	for _, name := range names {
		var st struct {
			Name      string
			Connector struct {
				State    string
				WorkerID string `json:"worker_id"`
			}
			Tasks []struct {
				ID    int
				State string
			}
			Type string
		}
		getJSON(t, client, base+"/connectors/"+name+"/status", &st)
		if st.Name != name || st.Connector.State != "RUNNING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
			t.Errorf("GET /connectors/%s/status = %+v, want the connector and its task RUNNING", name, st)
		}
		if st.Connector.WorkerID != addrs[0] {
			t.Errorf("worker_id %q, want the REST address %s", st.Connector.WorkerID, addrs[0])
		}
	}
	var info map[string]any
	getJSON(t, client, base+"/", &info)
	if _, ok := info["version"]; !ok {
		t.Errorf("GET / = %v, want a version", info)
	}
	w.stop()
	if _, err := client.Get(base + "/connectors"); err == nil {
		t.Error("the REST API still answers after the worker stopped")
	}
}

// TestConfigErrors: bad configurations fail the start with Kafka's exit
// codes and messages naming the file and the key. Nothing here needs a
// broker: the worker fails before connecting to one.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	offsets := "offset.storage.file.filename=" + filepath.Join(dir, "offsets")
	good := writeFile(t, dir, "good.properties", "bootstrap.servers=127.0.0.1:1", offsets, "listeners=")
	source := writeFile(t, dir, "source.properties", "name=src", "connector.class=FileStreamSource", "file=in.txt", "topic=t")

	cases := []struct {
		name string
		args []string
		code int
		want []string // substrings of the error
	}{
		{"no arguments", nil, exitUsage, []string{"usage:"}},
		{"missing worker file", []string{filepath.Join(dir, "nope.properties")}, exitWorker, []string{"nope.properties"}},
		{"no offset store", []string{writeFile(t, dir, "w1.properties", "bootstrap.servers=127.0.0.1:1"), source},
			exitWorker, []string{"w1.properties", "offset.storage.file.filename", "offset.storage.topic"}},
		{"empty bootstrap.servers", []string{writeFile(t, dir, "w8.properties", offsets, "bootstrap.servers= , "), source},
			exitWorker, []string{"w8.properties", "bootstrap.servers", "empty", "localhost:9092", "embedded"}},
		{"both offset stores", []string{writeFile(t, dir, "w2.properties", offsets, "offset.storage.topic=x"), source},
			exitWorker, []string{"w2.properties", "not both"}},
		{"bad converter", []string{writeFile(t, dir, "w3.properties", offsets, "value.converter=com.example.Nope"), source},
			exitWorker, []string{"w3.properties", "value.converter"}},
		{"bad flush interval", []string{writeFile(t, dir, "w4.properties", offsets, "offset.flush.interval.ms=soon"), source},
			exitWorker, []string{"w4.properties", "offset.flush.interval.ms"}},
		{"https listener", []string{writeFile(t, dir, "w5.properties", offsets, "listeners=https://:8443"), source},
			exitWorker, []string{"w5.properties", "listeners", "http"}},
		{"GSSAPI", []string{writeFile(t, dir, "w7.properties", offsets, "producer.security.protocol=SASL_SSL", "producer.sasl.mechanism=GSSAPI"), source},
			exitWorker, []string{"w7.properties", "producer.sasl.mechanism", "GSSAPI"}},
		{"bad JAAS", []string{writeFile(t, dir, "w9.properties", offsets, "consumer.security.protocol=SASL_PLAINTEXT", "consumer.sasl.mechanism=PLAIN",
			`consumer.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="pw-in-clear"`), source},
			exitWorker, []string{"w9.properties", "consumer.sasl.jaas.config", "';'"}},
		{"unsupported security key", []string{writeFile(t, dir, "w10.properties", offsets, "producer.security.protocol=SSL", "producer.ssl.cipher.suites=X"), source},
			exitWorker, []string{"w10.properties", "producer.ssl.cipher.suites", "not supported"}},
		{"bad producer property", []string{writeFile(t, dir, "w6.properties", offsets, "producer.acks=some"), source},
			exitWorker, []string{"w6.properties", "producer.acks"}},
		{"connector without name", []string{good, writeFile(t, dir, "c1.properties", "connector.class=FileStreamSource", "topic=t")},
			exitConnector, []string{"c1.properties", "name"}},
		{"connector without topic", []string{good, writeFile(t, dir, "c2.properties", "name=c2", "connector.class=FileStreamSource", "file=x")},
			exitConnector, []string{"c2.properties", "topic"}},
		{"unknown connector class", []string{good, writeFile(t, dir, "c3.properties", "name=c3", "connector.class=com.example.Nope")},
			exitConnector, []string{"c3.properties", "com.example.Nope", "FileStreamSourceConnector"}},
		{"bad transform", []string{good, writeFile(t, dir, "c4.properties", "name=c4", "connector.class=FileStreamSource", "topic=t",
			"transforms=x", "transforms.x.type=com.example.Nope")},
			exitConnector, []string{"c4.properties", "transforms.x"}},
		{"sink without topics", []string{good, writeFile(t, dir, "c5.properties", "name=c5", "connector.class=FileStreamSink")},
			exitConnector, []string{"c5.properties", "topics"}},
		{"duplicate connector", []string{good, source, source}, exitConnector, []string{"source.properties", "src", "already exists"}},
		{"bad JSON connector", []string{good, writeFile(t, dir, "c6.json", `{"name": "c6", "config": {"tasks.max": [1]}}`)},
			exitConnector, []string{"c6.json", "tasks.max"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a worker that gets through the start stops at once
			var stdout bytes.Buffer
			err := run(ctx, c.args, &stdout, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if got := exitCode(err); got != c.code {
				t.Errorf("exit code %d, want %d (%v)", got, c.code, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw-in-clear") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

// TestConnectorFileForms: properties and both JSON forms.
func TestConnectorFileForms(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{"name": "c", "connector.class": "FileStreamSource", "tasks.max": "1", "topic": "t"}
	for _, f := range []struct {
		name, content string
		initial       string
	}{
		{"c.properties", "name=c\nconnector.class=FileStreamSource\ntasks.max=1\ntopic=t\n", ""},
		{"flat.json", `{"name":"c","connector.class":"FileStreamSource","tasks.max":1,"topic":"t"}`, ""},
		{"request.json", `{"name":"c","config":{"connector.class":"FileStreamSource","tasks.max":"1","topic":"t"},"initial_state":"paused"}`, "PAUSED"},
	} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		cf, err := readConnectorFile(path)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		got := cf.config
		if _, ok := got["name"]; !ok {
			got["name"] = cf.name
		}
		if cf.name != "c" || !maps.Equal(got, want) || string(cf.initial) != f.initial {
			t.Errorf("%s: name %q, config %v, initial %q", f.name, cf.name, got, cf.initial)
		}
	}
}

// TestDefaultBootstrap: a worker file without bootstrap.servers uses
// Kafka Connect's default localhost:9092, not an in-process broker, and says
// so in its log; nothing is announced.
func TestDefaultBootstrap(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	w, err := newWorker(context.Background(), writeFile(t, dir, "worker.properties",
		"offset.storage.file.filename="+filepath.Join(dir, "offsets"), "listeners="), nil,
		options{stdout: &stdout, stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if !slices.Equal(w.cfg.brokers, []string{"localhost:9092"}) {
		t.Errorf("brokers %q, want Kafka's default [localhost:9092]", w.cfg.brokers)
	}
	if s := stdout.String(); s != "" {
		t.Errorf("stdout %q, want nothing (no in-process broker)", s)
	}
	if s := stderr.String(); strings.Contains(s, "IN-PROCESS") || !strings.Contains(s, "bootstrap.servers=localhost:9092") {
		t.Errorf("stderr %q, want a log line naming the default and no in-process broker warning", s)
	}
}

// TestInProcessBroker: the in-process broker is an explicit opt-in, by the
// -embedded flag (which overrides bootstrap.servers) or by
// bootstrap.servers=embedded; either way the worker prints its address on
// stdout and a loud warning on stderr that its data is not kept, runs on
// it, and stops it.
func TestInProcessBroker(t *testing.T) {
	for _, c := range []struct {
		name  string
		flag  bool
		props []string
		why   string
	}{
		{"flag", true, nil, "(-embedded)"},
		{"flag over a bootstrap.servers", true, []string{"bootstrap.servers=127.0.0.1:1"}, "(-embedded, bootstrap.servers ignored)"},
		{"value", false, []string{"bootstrap.servers= Embedded "}, "(bootstrap.servers=embedded)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			worker := writeFile(t, dir, "worker.properties", append([]string{
				"offset.storage.file.filename=" + filepath.Join(dir, "offsets"), "listeners="}, c.props...)...)
			args := []string{worker}
			if c.flag {
				args = append([]string{"-embedded"}, args...)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the worker starts, then stops at once
			var stdout, stderr syncBuffer
			if err := run(ctx, args, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			out, errOut := stdout.String(), stderr.String()
			if !strings.HasPrefix(out, "Using the in-process Kafka broker at 127.0.0.1:") {
				t.Errorf("stdout %q", out)
			}
			for _, want := range []string{"WARNING: IN-PROCESS KAFKA BROKER " + c.why, "ITS DATA IS NOT KEPT", "lost"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not say %q:\n%s", want, errOut)
				}
			}
		})
	}
}

// TestUsage: -h and unknown flags are usage errors (exit status 1) that
// show the -embedded flag.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"--help"}, {"-nope", "w.properties"}, {"-embedded"}} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "[-embedded] worker.properties") {
			t.Errorf("run(%q) = %v (exit %d), want the usage (exit %d)", args, err, exitCode(err), exitUsage)
		}
	}
}

// TestListeners: where the REST API listens.
func TestListeners(t *testing.T) {
	for _, c := range []struct {
		props map[string]string
		want  []string
	}{
		{map[string]string{}, []string{"127.0.0.1:8083"}},
		{map[string]string{"listeners": "http://:8083"}, []string{":8083"}},
		{map[string]string{"listeners": "HTTP://localhost:9000, http://[::1]:9001"}, []string{"localhost:9000", "[::1]:9001"}},
		{map[string]string{"listeners": ""}, nil},
		{map[string]string{"rest.port": "9002"}, []string{"127.0.0.1:9002"}},
		{map[string]string{"rest.host.name": "0.0.0.0", "rest.port": "9003"}, []string{"0.0.0.0:9003"}},
		{map[string]string{"listeners": "http://127.0.0.1:9004", "rest.port": "1"}, []string{"127.0.0.1:9004"}},
		{map[string]string{"listeners": "http://127.0.0.1:9005,HTTPS://:9006"}, []string{"http://127.0.0.1:9005", "https://:9006"}},
	} {
		ls, err := parseListeners(c.props)
		var got []string
		for _, l := range ls {
			if strings.Contains(strings.ToLower(c.props["listeners"]), "https") { // mixed lists: with the schemes
				got = append(got, l.scheme+"://"+l.addr)
			} else {
				got = append(got, l.addr)
			}
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseListeners(%v) = %q, %v; want %q", c.props, got, err, c.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:8083", "ftp://:8443", "http://host", "https://:99999"} {
		if _, err := parseListeners(map[string]string{"listeners": bad}); err == nil || !strings.Contains(err.Error(), "listeners") {
			t.Errorf("parseListeners(listeners=%s): error %v, want one naming listeners", bad, err)
		}
	}
}

// TestSampleFiles: the sample files carry Kafka's keys and values, and a
// worker accepts them (with the offsets file and REST listener moved for
// the test; nothing is run, so no file is written next to them).
func TestSampleFiles(t *testing.T) {
	read := func(name string) map[string]string {
		t.Helper()
		props, err := runner.ReadPropertiesFile(filepath.Join("config", name))
		if err != nil {
			t.Fatal(err)
		}
		return props
	}
	for name, want := range map[string]map[string]string{
		"connect-standalone.properties": {
			"bootstrap.servers":            "localhost:9092",
			"key.converter":                "org.apache.kafka.connect.json.JsonConverter",
			"value.converter":              "org.apache.kafka.connect.json.JsonConverter",
			"key.converter.schemas.enable": "true", "value.converter.schemas.enable": "true",
			"offset.storage.file.filename": "/tmp/connect.offsets",
			"offset.flush.interval.ms":     "10000",
		},
		"connect-file-source.properties": {
			"name": "local-file-source", "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
			"tasks.max": "1", "file": "test.txt", "topic": "connect-test",
		},
		"connect-file-sink.properties": {
			"name": "local-file-sink", "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
			"tasks.max": "1", "file": "test.sink.txt", "topics": "connect-test",
		},
	} {
		if got := read(name); !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}

	dir := t.TempDir()
	sample, err := os.ReadFile(filepath.Join("config", "connect-standalone.properties"))
	if err != nil {
		t.Fatal(err)
	}
	worker := filepath.Join(dir, "worker.properties")
	sample = append(sample, "\nlisteners=\noffset.storage.file.filename="+filepath.Join(dir, "offsets")+"\n"...)
	if err := os.WriteFile(worker, sample, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := newWorker(context.Background(), worker,
		[]string{filepath.Join("config", "connect-file-source.properties"), filepath.Join("config", "connect-file-sink.properties")},
		options{stderr: logOutput()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if got := w.runner.Connectors(); !slices.Equal(got, []string{"local-file-sink", "local-file-source"}) {
		t.Errorf("connectors %q", got)
	}
}
