package reliability

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestKillExactlyOnce is the exactly-once variant of scenario (b), TestKill:
// FileStreamSource → topic → FileStreamSink, the source with exactly-once
// delivery (worker exactly.once.source.support=enabled, a group.id, source
// offsets in an offsets topic; connector exactly.once.support=required,
// transaction.boundary=poll, batch.size 2000) in one examples/standalone
// process, killed with SIGKILL at random moments (3 times in the short form,
// 10 in the full one; each 1–4 s after the previous restart caught up)
// while the input file grows, and restarted at once. The sink runs in a
// second examples/standalone process with consumer.isolation.level=
// read_committed and is never killed: the FileStream sink is at least once,
// and killing it would add its own duplicates. It fails on any lost, torn,
// reordered or duplicated line, in the output file and in a read_committed
// reading of the topic. The read_uncommitted reading of the topic counts the
// records of aborted transactions (written before a kill, never committed):
// they show kills that landed inside a transaction.
//
// It runs against the in-process broker of a separate examples/standalone
// -embedded process, and against Apache Kafka: KAFKA_BOOTSTRAP_SERVERS when
// set (the scenario never stops the broker, so a shared one will do), else
// the suite's own broker. Kafka Connect is no contender: its standalone mode
// refuses exactly-once sources.
func TestKillExactlyOnce(t *testing.T) {
	for _, broker := range []string{brokerEmbedded, brokerKafka} {
		t.Run(broker, func(t *testing.T) { killExactlyOnceScenario(t, broker) })
	}
}

// steadyBrokerAddrs is brokerAddrs for a scenario that never stops or
// restarts the broker: its Apache Kafka form runs on KAFKA_BOOTSTRAP_SERVERS
// when set (CI's broker, or a developer's), without starting the suite's
// own.
func steadyBrokerAddrs(t testing.TB, kind string) []string {
	t.Helper()
	if kind == brokerKafka {
		if v := strings.TrimSpace(os.Getenv("KAFKA_BOOTSTRAP_SERVERS")); v != "" {
			return kafkaconf.ParseBootstrap(v)
		}
	}
	return brokerAddrs(t, kind)
}

func killExactlyOnceScenario(t *testing.T, broker string) {
	addrs := steadyBrokerAddrs(t, broker)
	rate := pick(1000, 2000)
	kills := pick(3, 10)
	dir := runDir(t, "kill-eos")
	topic := newName("kill-eos")
	createTopic(t, addrs, topic)
	input, output := filepath.Join(dir, "input.txt"), filepath.Join(dir, "output.txt")
	srcDir, sinkDir := filepath.Join(dir, "source"), filepath.Join(dir, "sink")
	for _, d := range []string{srcDir, sinkDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	r := result{scenario: "kill-9/exactly-once", contender: contenderSluice, broker: broker,
		dupBound: 0, seconds: -1}
	app := startAppender(t, input, rate)
	src := newWorker(t, contenderSluice, srcDir, addrs, []kv{
		{"offset.storage.topic", newName("offsets")},
		{"offset.storage.partitions", "5"},
		{"exactly.once.source.support", "enabled"},
		{"group.id", newName("group")},
	}, append(sourceConnector(newName("src"), input, topic, ""),
		kv{"exactly.once.support", "required"}, kv{"transaction.boundary", "poll"}))
	sink := newWorker(t, contenderSluice, sinkDir, addrs, []kv{{"consumer.isolation.level", "read_committed"}},
		sinkConnector(newName("sink"), output, topic, ""))
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	src.start()
	sink.start()
	logs := func() string {
		return fmt.Sprintf("last lines of %s:\n%s\nlast lines of %s:\n%s", src.logPath, tail(src.logPath, 30), sink.logPath, tail(sink.logPath, 15))
	}
	if _, err := waitCovered(sink, output, rate, 90*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Fatalf("before the first kill: %v\n%s", err, logs())
	}
	// As in TestKill: each kill 1–4 s after the previous restart caught up,
	// then as soon as the topic has a transaction open (within
	// openTxnWait; the source commits about once a second, the FileStream
	// task's pause at the end of its file), so that most kills interrupt
	// one. A restarted task's producer fences its killed predecessor and
	// aborts the transaction it left open, which until then holds back
	// every read_committed reader (the sink) at its first offset.
	stall := pick(60*time.Second, 90*time.Second)
	deadline := deadlineFor(t, pick(8*time.Minute, 15*time.Minute))
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill moments: seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 18))
	atKill, inTxn := 0, 0
	watch := newTxnWatch(t, addrs, topic)
	defer watch.close()
	var caughtUp []float64 // seconds from each restart until the output held every line written before its kill
	for k := range kills {
		if k > 0 {
			restarted := time.Now()
			if _, err := waitCovered(sink, output, atKill, stall, deadline); err != nil {
				t.Errorf("after kill %d: %v\n%s", k, err, logs())
				r.note = gaveUp(err)
				stall = 15 * time.Second
				break
			}
			caughtUp = append(caughtUp, time.Since(restarted).Seconds())
		}
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(3*time.Second))))
		for _, w := range []*worker{src, sink} {
			if err := w.alive(); err != nil {
				t.Fatalf("before kill %d: %v", k+1, err)
			}
		}
		open := watch.waitOpen(openTxnWait)
		atKill = int(app.written.Load())
		src.kill()
		if open {
			inTxn++
		}
		t.Logf("kill %d: %d lines written so far; a transaction was open just before: %t", k+1, atKill, open)
		src.start()
	}
	time.Sleep(pick(2*time.Second, 5*time.Second))
	n := app.stop()
	r.records = n
	if _, err := waitCovered(sink, output, n, stall, deadline); err != nil && r.note == "" {
		t.Errorf("after the last kill: %v\n%s", err, logs())
		r.note = gaveUp(err)
	}
	if !src.stop() {
		t.Error("the source worker did not stop within a minute of SIGTERM")
	}
	if !sink.stop() {
		t.Error("the sink worker did not stop within a minute of SIGTERM")
	}
	c, err := scan(output, n, true)
	if err != nil {
		t.Fatal(err)
	}
	r.lost, r.dup, r.torn, r.order = c.lost(), c.dup, c.torn, c.order
	committed := tallyRecords(kafkatest.ReadCommitted(t, addrs, topic), n)
	r.topic = &committed
	written := tallyRecords(kafkatest.ReadUncommitted(t, addrs, topic), n)
	aborted := written.dup - committed.dup // records of aborted transactions: read_uncommitted sees them
	if len(caughtUp) > 0 {
		worst := 0.0
		for _, s := range caughtUp {
			worst = max(worst, s)
		}
		r.seconds, r.secName = worst, "catchup_s_max"
	}
	r.variant = fmt.Sprintf("kills=%d (%d with a transaction open) boundary=poll", kills, inTxn)
	r.note = strings.TrimPrefix(r.note+fmt.Sprintf("; %d records of aborted transactions in the topic", aborted), "; ")
	t.Logf("topic: read_committed %d distinct, %d duplicated; read_uncommitted %d records more (aborted transactions); catch-up after restarts %v s",
		committed.distinct, committed.dup, aborted, caughtUp)

	checkTally(t, c, output, sink)
	if c.dup > 0 {
		t.Errorf("%d duplicated lines in the output after %d kills of an exactly-once source (read_committed sink)", c.dup, kills)
	}
	if committed.lost() > 0 || committed.dup > 0 || committed.torn > 0 || committed.order > 0 {
		t.Errorf("read_committed reading of %s: %d lost, %d duplicated, %d torn, %d out of order; want none", topic,
			committed.lost(), committed.dup, committed.torn, committed.order)
	}
}

// tallyRecords counts the values of msgs, in order, against the input's
// first n lines.
func tallyRecords(msgs []*sarama.ConsumerMessage, n int) tally {
	a := newTallier(n)
	for _, m := range msgs {
		a.add(m.Value)
	}
	return a.tally
}

// openTxnWait bounds how long a kill waits for an open transaction.
const openTxnWait = 3 * time.Second

// txnWatch tells whether a one-partition topic has a transaction open: its
// last stable offset (ListOffsets with read_committed) below its high
// watermark (read_uncommitted) taken just before.
type txnWatch struct {
	t      testing.TB
	topic  string
	client sarama.Client
}

func newTxnWatch(t testing.TB, addrs []string, topic string) *txnWatch {
	t.Helper()
	client, err := sarama.NewClient(addrs, saramaConfig("sluice-reliability-watch"))
	if err != nil {
		t.Fatalf("watching %s: %v", topic, err)
	}
	return &txnWatch{t: t, topic: topic, client: client}
}

func (w *txnWatch) close() { _ = w.client.Close() }

// endOffset returns the partition's end offset under isolation: the last
// stable offset or the high watermark.
func (w *txnWatch) endOffset(isolation sarama.IsolationLevel) (int64, error) {
	leader, err := w.client.Leader(w.topic, 0)
	if err != nil {
		return 0, err
	}
	req := sarama.NewOffsetRequest(w.client.Config().Version)
	req.IsolationLevel = isolation
	req.AddBlock(w.topic, 0, sarama.OffsetNewest, 1)
	resp, err := leader.GetAvailableOffsets(req)
	if err != nil {
		return 0, err
	}
	b := resp.GetBlock(w.topic, 0)
	if b == nil {
		return 0, fmt.Errorf("no offset for %s/0 in the answer", w.topic)
	}
	if !errors.Is(b.Err, sarama.ErrNoError) {
		return 0, b.Err
	}
	return b.Offset, nil
}

// waitOpen polls until a transaction is open on the topic (true) or for
// at most d (false). A failed request is logged, and counts as none open.
func (w *txnWatch) waitOpen(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		hwm, err := w.endOffset(sarama.ReadUncommitted)
		if err == nil {
			var lso int64
			if lso, err = w.endOffset(sarama.ReadCommitted); err == nil && lso < hwm {
				return true // an open transaction holds the LSO below what was written
			}
		}
		if err != nil {
			w.t.Logf("watching %s for an open transaction: %v", w.topic, err)
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
