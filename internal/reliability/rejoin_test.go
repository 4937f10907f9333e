package reliability

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSinkRejoin is scenario (c): a FileStreamSink worker consuming a topic
// the test keeps producing into is killed with SIGKILL and restarted at
// once, with the same group, killed again 2 s later (while its JoinGroup
// waits) and restarted at once. The last member's JoinGroup waits for the
// broker to expire the dead ones (consumer.session.timeout.ms=45000, Kafka
// Connect's default: longer than sarama's 30 s read timeout, so a JoinGroup
// bounded by that timeout loops). It fails unless the restarted sink writes
// a record produced after the last kill within the session timeout plus
// 15 s of the last restart, and unless every record reaches the output in
// order, untorn. It runs against the in-process broker of a separate
// examples/standalone -embedded process and against the suite's Apache
// Kafka broker, and with SLUICE_RELIABILITY_CONNECT=1 with Kafka Connect on
// Apache Kafka.
func TestSinkRejoin(t *testing.T) {
	for _, broker := range []string{brokerEmbedded, brokerKafka} {
		for _, c := range contenders() {
			if c == contenderConnect && broker != brokerKafka {
				continue
			}
			t.Run(broker+"/"+c, func(t *testing.T) { sinkRejoin(t, c, broker) })
		}
	}
}

func sinkRejoin(t *testing.T, contender, broker string) {
	addrs := brokerAddrs(t, broker)
	session := 45 * time.Second // Kafka Connect's default
	slack := 15 * time.Second
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
		variant: fmt.Sprintf("kills=2 session.timeout=%.0fs", session.Seconds()), dupBound: -1, seconds: -1, secName: "rejoin_s"}
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	w.start()
	if _, err := waitCovered(w, output, 2*rate, 90*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Fatalf("before the kill: %v\n%s", err, tail(w.logPath, 30))
	}
	// Killed, restarted at once, killed again while the new member's
	// JoinGroup waits for the dead one, and restarted at once: the final
	// member waits for both to expire.
	w.kill()
	w.start()
	joining := 2 * time.Second
	if contender == contenderConnect {
		joining = 8 * time.Second // its JVM needs seconds before the consumer sends JoinGroup
	}
	time.Sleep(joining)
	w.kill()
	atKill := prod.acked()
	w.start()
	restarted := time.Now()
	t.Logf("killed twice and restarted with %d records produced", atKill)

	// Rejoined: a record produced after the kill is in the output.
	deadline := restarted.Add(session + slack + 60*time.Second)
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
	if r.seconds > (session + slack).Seconds() {
		t.Errorf("the restarted sink took %.1fs to deliver again: more than the session timeout (%s) + %s", r.seconds, session, slack)
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
