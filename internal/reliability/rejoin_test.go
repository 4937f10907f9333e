package reliability

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSinkRejoin is scenario (c): a FileStreamSink worker consuming a topic
// the test keeps producing into is killed with SIGKILL and restarted at
// once, with the same group and consumer.session.timeout.ms=45000 (Kafka
// Connect's default, longer than sarama's 30 s read timeout, so a JoinGroup
// bounded by that timeout loops). The new member's JoinGroup waits for the
// broker to expire the dead one. It fails unless the restarted sink writes
// a record produced after the kill within the session timeout plus 15 s of
// its restart, and unless every record reaches the output in order, untorn.
//
// The full form adds a variant that kills the restarted worker again once
// its JoinGroup waits (see waitJoining), and restarts it at once: the member
// killed in the join is part of the generation that join completes, so
// the broker expires it in its turn, and the bound is two session timeouts
// plus 15 s.
//
// It runs against the in-process broker of a separate examples/standalone
// -embedded process and against the suite's Apache Kafka broker, and with
// SLUICE_RELIABILITY_CONNECT=1 with Kafka Connect on Apache Kafka.
func TestSinkRejoin(t *testing.T) {
	for _, kills := range pick([]int{1}, []int{1, 2}) {
		for _, broker := range []string{brokerEmbedded, brokerKafka} {
			for _, c := range contenders() {
				if c == contenderConnect && broker != brokerKafka {
					continue
				}
				t.Run(fmt.Sprintf("kills=%d/%s/%s", kills, broker, c), func(t *testing.T) { sinkRejoin(t, c, broker, kills) })
			}
		}
	}
}

func sinkRejoin(t *testing.T, contender, broker string, kills int) {
	addrs := brokerAddrs(t, broker)
	session := 45 * time.Second // Kafka Connect's default
	bound := time.Duration(kills)*session + 15*time.Second
	const rate = 200 // records per second
	dir := runDir(t, "rejoin")
	topic := newName("rejoin")
	createTopic(t, addrs, topic)
	output := filepath.Join(dir, "output.txt")

	prod := startProducer(t, addrs, topic, rate)
	w := newWorker(t, contender, dir, addrs,
		[]kv{{"consumer.session.timeout.ms", fmt.Sprint(session.Milliseconds())}},
		sinkConnector(newName("sink"), output, topic, ""))
	r := result{scenario: "sink-rejoin", contender: contender, broker: broker,
		variant: fmt.Sprintf("kills=%d session.timeout=%.0fs", kills, session.Seconds()), dupBound: -1, seconds: -1, secName: "rejoin_s"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	w.start()
	if _, err := waitCovered(w, output, 2*rate, 90*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Fatalf("before the kill: %v\n%s", err, tail(w.logPath, 30))
	}
	for k := range kills {
		if k > 0 {
			waitJoining(t, w, k)
		}
		w.kill()
		w.start()
	}
	restarted := time.Now()
	atKill := prod.acked()
	t.Logf("killed %d times and restarted with %d records produced", kills, atKill)

	// Rejoined: a record produced after the kill is in the output.
	deadline := restarted.Add(bound + 60*time.Second)
	for {
		c, err := scan(output, prod.acked(), false)
		if err != nil {
			t.Fatal(err)
		}
		if c.maxIndex >= atKill {
			r.seconds = time.Since(restarted).Seconds()
			break
		}
		if err := w.alive(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Errorf("the restarted sink delivered nothing new within %s", time.Since(restarted).Round(time.Second))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.seconds > bound.Seconds() {
		t.Errorf("the restarted sink took %.1fs to deliver again: more than %d session timeout(s) of %s + 15s", r.seconds, kills, session)
	}
	n := prod.stop(t)
	r.records = n
	if _, err := waitCovered(w, output, n, 60*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Errorf("after the restart: %v", err)
		r.note = gaveUp(err)
	}
	if !w.stop() {
		t.Errorf("the worker did not stop within a minute of SIGTERM")
	}
	c, err := scan(output, n, true)
	if err != nil {
		t.Fatal(err)
	}
	r.lost, r.dup, r.torn, r.order = c.lost(), c.dup, c.torn, c.order
	checkTally(t, c, output, w)
}

// waitJoining returns once the worker, started for the (k+1)-th time, is
// in its group's join: Sluice 2 s after its start (its consumer joins
// within milliseconds of the start and logs nothing until assigned), Kafka
// Connect 1 s after it logged its second JoinGroup (the one with the member
// id the broker handed out: from then on the member is in the join).
func waitJoining(t testing.TB, w *worker, k int) {
	t.Helper()
	if w.contender != contenderConnect {
		time.Sleep(2 * time.Second)
		return
	}
	log := filepath.Join(w.dir, "connect-log4j.log")
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(log)
		if bytes.Count(data, []byte("need to re-join with the given member-id")) > k {
			time.Sleep(time.Second)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Kafka Connect did not rejoin its group within 60s of its restart; last lines of %s:\n%s", log, tail(log, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// producer produces line(0), line(1), … into a topic at a steady rate, in
// order (one partition, synchronous batches).
type producer struct {
	n     atomic.Int64 // records acknowledged
	stopc chan struct{}
	done  chan struct{}
	err   error
	once  sync.Once
}

func startProducer(t testing.TB, addrs []string, topic string, rate int) *producer {
	t.Helper()
	cfg := saramaConfig("sluice-reliability-producer")
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 100
	sp, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &producer{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer sp.Close()
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		start := time.Now()
		for {
			select {
			case <-p.stopc:
				return
			case <-tk.C:
			}
			want := int(time.Since(start).Seconds() * float64(rate))
			have := int(p.n.Load())
			if want <= have {
				continue
			}
			msgs := make([]*sarama.ProducerMessage, 0, want-have)
			for i := have; i < want; i++ {
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(line(i))})
			}
			if err := sp.SendMessages(msgs); err != nil {
				p.err = err
				return
			}
			p.n.Store(int64(want))
		}
	}()
	t.Cleanup(func() { p.once.Do(func() { close(p.stopc) }); <-p.done })
	return p
}

func (p *producer) acked() int { return int(p.n.Load()) }

// stop stops producing and returns how many records were acknowledged.
func (p *producer) stop(t testing.TB) int {
	t.Helper()
	p.once.Do(func() { close(p.stopc) })
	<-p.done
	if p.err != nil {
		t.Fatalf("producing: %v", p.err)
	}
	return p.acked()
}
