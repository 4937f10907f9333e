package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// TestExactlyOnceSource: with exactly.once.source.support=enabled, group.id
// and offset.storage.topic in the worker file and exactly.once.support=
// required in the FileStream source's file, the worker starts (Kafka
// Connect's standalone mode would refuse) and the source writes in
// transactions: a read_committed consumer and a FileStream sink with
// consumer.isolation.level=read_committed get every line once, in order;
// the topic holds commit markers beside the records (a non-transactional
// producer writes none); the task reports its transactional id
// <group.id>-<connector>-<task> and committed transactions of at most
// batch.size records (transaction.boundary=poll: one per batch); REST
// status says RUNNING. After a graceful restart with more lines the source
// resumes from the offsets it committed in its transactions: still each
// line once.
func TestExactlyOnceSource(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	group := "group-" + topic
	const name, batch = "eos-source", 500

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, lines(0, 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{
		writeFile(t, dir, "worker.properties", workerProps(brokers,
			"offset.storage.topic="+sluicetest.Topic(t), "offset.storage.partitions=3",
			"exactly.once.source.support=enabled", "group.id="+group,
			"consumer.isolation.level=read_committed")...),
		writeFile(t, dir, "source.properties", "name="+name, "connector.class=FileStreamSource", "file="+in, "topic="+topic,
			"batch.size=500", "exactly.once.support=required", "transaction.boundary=poll"),
		writeFile(t, dir, "sink.properties", "name=sink-"+topic, "connector.class=FileStreamSink", "file="+out, "topics="+topic),
	}

	w := startWorker(t, files...)
	waitForFile(t, out, lines(0, 2000))

	// The Runner's status: the task's transactional id and transactions.
	rep, err := w.w.runner.Status(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tasks) != 1 {
		t.Fatalf("status of %s: %d tasks, want 1", name, len(rep.Tasks))
	}
	task := rep.Tasks[0]
	if want := group + "-" + name + "-0"; task.TransactionalID != want {
		t.Errorf("TaskStatus.TransactionalID = %q, want %q", task.TransactionalID, want)
	}
	// One transaction per Poll batch (at most batch.size lines), or the
	// batches polled while the previous transaction committed together.
	if task.State != connect.StateRunning || task.Transactions < 1 || task.TransactionSizeMin < 1 || task.TransactionSizeMax > 2000 ||
		task.Transactions*batch < 2000 && task.TransactionSizeMax <= batch {
		t.Errorf("task status %s, %d transactions of %d to %d records; want RUNNING, transactions of whole batches (batch.size %d) covering the 2000 lines",
			task.State, task.Transactions, task.TransactionSizeMin, task.TransactionSizeMax, batch)
	}
	t.Logf("task %s: %d transactions (%d aborted), %d to %d records (avg %.0f)", task.TransactionalID, task.Transactions,
		task.TransactionAborts, task.TransactionSizeMin, task.TransactionSizeMax, task.TransactionSizeAvg)

	// Kafka Connect's REST status.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	var st struct {
		Connector struct{ State string }
		Tasks     []struct {
			ID    int
			State string
		}
		Type string
	}
	getJSON(t, client, "http://"+w.w.restAddrs()[0]+"/connectors/"+name+"/status", &st)
	if st.Connector.State != "RUNNING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" || st.Type != "source" {
		t.Errorf("GET /connectors/%s/status = %+v, want a source connector and its task RUNNING", name, st)
	}

	w.stop()
	checkCommitted(t, brokers, topic, lines(0, 2000))
	checkTransactional(t, brokers, topic, 2000)

	// A restart resumes from the offsets committed in the transactions.
	appendTo(t, in, lines(2000, 3000))
	w = startWorker(t, files...)
	waitForFile(t, out, lines(0, 3000))
	w.stop()
	checkCommitted(t, brokers, topic, lines(0, 3000))
}

// checkCommitted fails t unless topic, whose writers stopped, holds want's
// lines, in order, each once, for a read_committed reader
// (kafkatest.ReadCommitted, which reads to the end without timers).
func checkCommitted(t *testing.T, brokers []string, topic string, want []byte) {
	t.Helper()
	lines := strings.SplitAfter(string(want), "\n")
	lines = lines[:len(lines)-1] // after the last "\n"
	msgs := kafkatest.ReadCommitted(t, brokers, topic)
	for i, m := range msgs {
		if i >= len(lines) {
			t.Fatalf("read_committed: %d records, want %d: record %d (offset %d) is %q, a duplicate", len(msgs), len(lines), i, m.Offset, m.Value)
		}
		if got := string(m.Value) + "\n"; got != lines[i] {
			t.Fatalf("read_committed record %d (offset %d) = %q, want %q: a record lost, duplicated or out of order", i, m.Offset, got, lines[i])
		}
	}
	if len(msgs) < len(lines) {
		t.Fatalf("read_committed: %d records, want %d", len(msgs), len(lines))
	}
}

// waitCommitted waits until a read_committed consumer of topic's
// partition 0 got n records (or fails t after 90 s).
func waitCommitted(t *testing.T, brokers []string, topic string, n int) {
	t.Helper()
	cfg := sluicetest.SaramaConfig(t)
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	deadline := time.After(90 * time.Second)
	for i := range n {
		select {
		case <-pc.Messages():
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("read_committed: %d of %d records after 90 s", i, n)
		}
	}
}

// checkTransactional fails t unless topic's partition 0, holding n records
// of one producer, ends past offset n: transactions' commit markers take
// offsets, a non-transactional producer's records do not leave gaps.
func checkTransactional(t *testing.T, brokers []string, topic string, n int64) {
	t.Helper()
	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	if end <= n {
		t.Errorf("%s ends at offset %d after %d records: no transaction markers, the records were not written in transactions", topic, end, n)
	}
}

// TestExactlyOnceConfigErrors: exactly-once sources need a group id, so
// the worker refuses exactly.once.source.support=enabled without group.id,
// with or without connectors, naming the key (source.Config's messages).
// They need a Kafka offsets topic too: on the offsets file the worker warns,
// and refuses a source connector without its own offsets.storage.topic,
// with source.Config's message naming the keys; one with its own topic is
// accepted. Preparing and disabled start on the file. A connector's
// exactly-once keys are checked: exactly.once.support=required on a worker
// without it, an unknown transaction.boundary, connector-defined boundaries
// FileStream cannot define. Nothing here needs a broker.
func TestExactlyOnceConfigErrors(t *testing.T) {
	dir := t.TempDir()
	file := "offset.storage.file.filename=" + filepath.Join(dir, "offsets")
	topic := "offset.storage.topic=connect-offsets"
	worker := func(name string, lines ...string) string {
		return writeFile(t, dir, name, append([]string{"bootstrap.servers=127.0.0.1:1", "listeners="}, lines...)...)
	}
	src := writeFile(t, dir, "source.properties", "name=src", "connector.class=FileStreamSource", "file=in.txt", "topic=t")
	noTopicStore := "use a Kafka offsets store (offset.storage.topic)"
	noGroup := "group.id: exactly-once sources need a group id"

	cases := []struct {
		name    string
		args    []string
		code    int      // 0: starts
		want    []string // substrings of the error (of the log when it starts)
		notWant []string
	}{
		{"enabled with the offsets file", []string{worker("w1.properties", file, "exactly.once.source.support=enabled", "group.id=g"), src},
			exitConnector, []string{"source.properties", "exactly.once.source.support: exactly-once sources write their offsets in the task's Kafka transaction", noTopicStore}, []string{noGroup}},
		{"enabled with the offsets file, no connector", []string{worker("w2.properties", file, "exactly.once.source.support=Enabled", "group.id=g")},
			0, []string{exactlyOnceFileWarning}, nil},
		{"enabled with the offsets file, a connector with its own offsets topic", []string{worker("w13.properties", file, "exactly.once.source.support=enabled", "group.id=g"),
			writeFile(t, dir, "own.properties", "name=own", "connector.class=FileStreamSource", "file=in.txt", "topic=t",
				"offsets.storage.topic=own-offsets", "exactly.once.support=required")},
			0, []string{exactlyOnceFileWarning}, nil},
		{"enabled without group.id", []string{worker("w3.properties", topic, "exactly.once.source.support=enabled"), src},
			exitWorker, []string{"w3.properties", noGroup, "<group>-<connector>-<task>"}, []string{noTopicStore}},
		{"enabled with a blank group.id, no connector", []string{worker("w4.properties", topic, "exactly.once.source.support=enabled", "group.id= ")},
			exitWorker, []string{"w4.properties", noGroup}, nil},
		{"enabled with neither", []string{worker("w5.properties", file, "exactly.once.source.support=enabled"), src},
			exitWorker, []string{"w5.properties", noGroup}, nil},
		{"unknown exactly.once.source.support", []string{worker("w6.properties", file, "exactly.once.source.support=sometimes")},
			exitWorker, []string{"w6.properties", "exactly.once.source.support", "sometimes", "disabled, preparing, enabled"}, nil},
		{"preparing with the offsets file", []string{worker("w7.properties", file, "exactly.once.source.support=preparing"), src}, 0, nil, nil},
		{"disabled with the offsets file", []string{worker("w8.properties", file, "exactly.once.source.support=disabled", "group.id=g"), src}, 0, nil, nil},
		{"required on a worker without exactly-once", []string{worker("w9.properties", file),
			writeFile(t, dir, "c1.properties", "name=c1", "connector.class=FileStreamSource", "file=in.txt", "topic=t", "exactly.once.support=required")},
			exitConnector, []string{"c1.properties", "exactly.once.support: This worker does not have exactly-once source support enabled."}, nil},
		{"unknown transaction.boundary", []string{worker("w10.properties", file),
			writeFile(t, dir, "c2.properties", "name=c2", "connector.class=FileStreamSource", "file=in.txt", "topic=t", "transaction.boundary=batch")},
			exitConnector, []string{"c2.properties", "transaction.boundary", "batch"}, nil},
		{"connector-defined boundaries", []string{worker("w11.properties", file),
			writeFile(t, dir, "c3.properties", "name=c3", "connector.class=FileStreamSource", "file=in.txt", "topic=t", "transaction.boundary=connector")},
			exitConnector, []string{"c3.properties", "transaction.boundary: The connector does not support connector-defined transaction boundaries"}, nil},
		{"negative transaction.boundary.interval.ms", []string{worker("w12.properties", file),
			writeFile(t, dir, "c4.properties", "name=c4", "connector.class=FileStreamSource", "file=in.txt", "topic=t",
				"transaction.boundary=interval", "transaction.boundary.interval.ms=-5")},
			exitConnector, []string{"c4.properties", "transaction.boundary.interval.ms"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a worker that gets through the start stops at once
			var stdout, stderr bytes.Buffer
			err := run(ctx, c.args, &stdout, &stderr)
			if c.code == 0 {
				if err != nil {
					t.Fatalf("want a start, got %v", err)
				}
				for _, w := range c.want {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("the log does not mention %q:\n%s", w, stderr.String())
					}
				}
				return
			}
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
			for _, w := range c.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q mentions %q", err, w)
				}
			}
		})
	}
}

// TestExactlyOnceUnsupportedConnector: on a worker with exactly-once
// sources enabled, exactly.once.support=required is refused for a
// FileStream source reading standard input (no offsets to resume from;
// the connector declares it unsupported, as Kafka's), with Kafka Connect's
// message naming the key, and accepted (requested, the default) otherwise.
func TestExactlyOnceUnsupportedConnector(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	dir := t.TempDir()
	wf := writeFile(t, dir, "worker.properties", workerProps(brokers,
		"offset.storage.topic="+sluicetest.Topic(t), "offset.storage.partitions=1",
		"exactly.once.source.support=enabled", "group.id=group-"+sluicetest.Topic(t))...)
	stdin := writeFile(t, dir, "stdin.properties", "name=stdin", "connector.class=FileStreamSource", "topic=t", "exactly.once.support=required")
	o := options{stdout: io.Discard, stderr: logOutput(), sarama: sluicetest.SaramaConfig(t)}
	_, err := newWorker(context.Background(), wf, []string{stdin}, o)
	const msg = "exactly.once.support: The connector does not support exactly-once semantics with the provided configuration."
	if err == nil || exitCode(err) != exitConnector || !strings.Contains(err.Error(), "stdin.properties") || !strings.Contains(err.Error(), msg) {
		t.Errorf("required for standard input: %v (exit %d), want exit %d naming stdin.properties and %q", err, exitCode(err), exitConnector, msg)
	}
	requested := writeFile(t, dir, "requested.properties", "name=requested", "connector.class=FileStreamSource", "topic=t", "exactly.once.support=requested")
	w, err := newWorker(context.Background(), wf, []string{requested}, o)
	if err != nil {
		t.Fatalf("requested for standard input: %v, want a start", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stops at once: the store and listeners are closed
	if err := w.run(ctx); err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestExactlyOnceConnectorOffsetsTopic: a source connector's own
// offsets.storage.topic (KIP-618) holds its offsets under exactly-once
// delivery, on a worker whose store is an offsets topic or the offsets file
// (then the only way to run it exactly once): they are read back from the
// connector's topic by a store opened on it after the worker stopped, and a
// read_committed reader gets every line once.
func TestExactlyOnceConnectorOffsetsTopic(t *testing.T) {
	for _, store := range []string{"topic", "file"} {
		t.Run(store, func(t *testing.T) {
			brokers := sluicetest.Brokers(t)
			topic := sluicetest.Topic(t)
			sluicetest.CreateTopic(t, brokers, topic, 1, nil)
			own := sluicetest.Topic(t)
			const name = "eos-own-offsets"

			dir := t.TempDir()
			in := filepath.Join(dir, "in.txt")
			input := lines(0, 1000)
			if err := os.WriteFile(in, input, 0o644); err != nil {
				t.Fatal(err)
			}
			workerStore := []string{"offset.storage.topic=" + sluicetest.Topic(t), "offset.storage.partitions=1"}
			if store == "file" {
				workerStore = []string{"offset.storage.file.filename=" + filepath.Join(dir, "offsets")}
			}
			w := startWorker(t,
				writeFile(t, dir, "worker.properties", workerProps(brokers,
					append(workerStore, "exactly.once.source.support=enabled", "group.id=group-"+topic)...)...),
				writeFile(t, dir, "source.properties", "name="+name, "connector.class=FileStreamSource", "file="+in, "topic="+topic,
					"exactly.once.support=required", "offsets.storage.topic="+own))
			waitCommitted(t, brokers, topic, 1000)
			w.stop()
			checkCommitted(t, brokers, topic, input)

			s, err := offsets.NewKafkaStore(context.Background(), offsets.KafkaStoreConfig{Brokers: brokers, Topic: own, Sarama: sluicetest.SaramaConfig(t)})
			if err != nil {
				t.Fatalf("opening the connector's offsets topic %s: %v", own, err)
			}
			defer s.Close()
			entries, err := s.List(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Partition["filename"] != in || fmt.Sprint(entries[0].Offset["position"]) != fmt.Sprint(len(input)) {
				t.Errorf("offsets of %s in its own topic %s: %v, want position %d of %s", name, own, entries, len(input), in)
			}
		})
	}
}

// TestExactlyOnceFencing: a second worker started with the same group.id
// and connector (a replica, or a restarted process whose predecessor still
// runs) fences the first's task through the transactional id: the first
// task fails with connect.ErrFenced, shown by the REST status as FAILED
// with the fence in its trace, and stays failed; the second goes on, and a
// read_committed reader gets every line once, in order.
func TestExactlyOnceFencing(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t) // the fenced worker's producer fails records
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	const name = "eos-fenced"

	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, lines(0, 500), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{
		writeFile(t, dir, "worker.properties", workerProps(brokers,
			"offset.storage.topic="+sluicetest.Topic(t), "offset.storage.partitions=1",
			"exactly.once.source.support=enabled", "group.id=group-"+topic)...),
		writeFile(t, dir, "source.properties", "name="+name, "connector.class=FileStreamSource", "file="+in, "topic="+topic,
			"batch.size=100", "exactly.once.support=required"),
	}
	older := startWorker(t, files...)
	waitCommitted(t, brokers, topic, 500)
	newer := startWorker(t, files...)

	// The older task learns of the fence when it next writes: lines are
	// appended until it has failed.
	n := 500
	deadline := time.Now().Add(90 * time.Second)
	var task connect.TaskStatus
	for {
		rep, err := older.w.runner.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Tasks) == 1 {
			task = rep.Tasks[0].TaskStatus
		}
		if task.State == connect.StateFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the older worker's task is %s after 90 s of lines appended under a newer instance, want FAILED (fenced)", task.State)
		}
		appendTo(t, in, lines(n, n+50))
		n += 50
		time.Sleep(100 * time.Millisecond)
	}
	if !errors.Is(task.Err, connect.ErrFenced) {
		t.Errorf("the older task failed with %v, want connect.ErrFenced", task.Err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	var st struct {
		Tasks []struct {
			State string
			Trace string
		}
	}
	getJSON(t, client, "http://"+older.w.restAddrs()[0]+"/connectors/"+name+"/status", &st)
	if len(st.Tasks) != 1 || st.Tasks[0].State != "FAILED" || !strings.Contains(st.Tasks[0].Trace, connect.ErrFenced.Error()) {
		t.Errorf("REST status of the fenced task: %+v, want FAILED with %q in the trace", st.Tasks, connect.ErrFenced)
	}

	// More lines: the newer worker writes them, the older stays failed.
	appendTo(t, in, lines(n, n+500))
	n += 500
	waitCommitted(t, brokers, topic, n)
	if rep, err := older.w.runner.Status(name); err != nil || len(rep.Tasks) != 1 || rep.Tasks[0].State != connect.StateFailed {
		t.Errorf("the fenced task's status later: %+v (%v), want still FAILED", rep.Tasks, err)
	}
	if rep, err := newer.w.runner.Status(name); err != nil || len(rep.Tasks) != 1 || rep.Tasks[0].State != connect.StateRunning {
		t.Errorf("the newer task's status: %+v (%v), want RUNNING", rep.Tasks, err)
	}
	newer.stop()
	older.stop()
	checkCommitted(t, brokers, topic, lines(0, n))
}

// TestExactlyOnceIntervalBoundary: transaction.boundary=interval with
// transaction.boundary.interval.ms takes effect through the connector file:
// a transaction spans the batches polled during the interval, so with
// batch.size 100 and 3000 lines ready at start, a committed transaction
// holds more than one batch (with the poll boundary none could), and a
// read_committed reader gets every line once.
func TestExactlyOnceIntervalBoundary(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	const name, batch = "eos-interval", 100

	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	input := lines(0, 3000)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t,
		writeFile(t, dir, "worker.properties", workerProps(brokers,
			"offset.storage.topic="+sluicetest.Topic(t), "offset.storage.partitions=1",
			"exactly.once.source.support=enabled", "group.id=group-"+topic)...),
		writeFile(t, dir, "source.properties", "name="+name, "connector.class=FileStreamSource", "file="+in, "topic="+topic,
			fmt.Sprintf("batch.size=%d", batch), "transaction.boundary=interval", "transaction.boundary.interval.ms=3000"))
	waitCommitted(t, brokers, topic, 3000)
	rep, err := w.w.runner.Status(name)
	if err != nil || len(rep.Tasks) != 1 {
		t.Fatalf("status of %s: %+v, %v", name, rep, err)
	}
	task := rep.Tasks[0]
	t.Logf("task %s: %d transactions, %d to %d records", task.TransactionalID, task.Transactions, task.TransactionSizeMin, task.TransactionSizeMax)
	if task.TransactionSizeMax <= batch {
		t.Errorf("largest committed transaction: %d records, want more than one batch (%d) with transaction.boundary=interval", task.TransactionSizeMax, batch)
	}
	w.stop()
	checkCommitted(t, brokers, topic, input)
}
