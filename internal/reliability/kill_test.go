package reliability

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// TestKill is scenario (b): FileStreamSource → topic → FileStreamSink in
// one worker process, killed with SIGKILL at random moments (3 times in
// the short form, 10 in the full one; each 1–4 s after the previous
// restart caught up) while the input file grows, and restarted at once on
// the same files (source offsets in offset.storage.file.filename). It
// fails on any lost line, any torn line in the output, any order
// violation, or more duplicates than one commit window per kill. The
// sink's consumer.session.timeout.ms is 10 s, so that a restart does not
// wait 45 s for the broker to expire the killed member (TestSinkRejoin
// covers that). It runs against the in-process broker of a separate
// examples/standalone -embedded process (so it survives the kills, and the
// test needs only Go) and against the suite's Apache Kafka broker.
func TestKill(t *testing.T) {
	for _, broker := range []string{brokerEmbedded, brokerKafka} {
		for _, c := range contenders() {
			if c == contenderConnect && broker != brokerKafka {
				continue
			}
			t.Run(broker+"/"+c, func(t *testing.T) { killScenario(t, c, broker) })
		}
	}
}

func killScenario(t *testing.T, contender, broker string) {
	addrs := brokerAddrs(t, broker)
	rate := pick(1000, 2000)
	kills := pick(3, 10)
	dir := runDir(t, "kill")
	topic := newName("kill")
	createTopic(t, addrs, topic)
	input, output := filepath.Join(dir, "input.txt"), filepath.Join(dir, "output.txt")

	// One commit window per kill, on each side of the topic: what the
	// source sent but had not committed, and what the sink wrote but had
	// not committed, plus a batch of each (batch.size, max.poll.records).
	window := 2*rate*flushIntervalMS/1000 + 2000 + 500
	r := result{scenario: "kill-9", contender: contender, broker: broker,
		variant: fmt.Sprintf("kills=%d", kills), dupBound: kills * window, seconds: -1}
	app := startAppender(t, input, rate)
	// A short session timeout: every restart waits for the broker to expire
	// the killed member, and this scenario is about what is lost, torn or
	// duplicated; TestSinkRejoin covers rejoining with the default timeout.
	w := newWorker(t, contender, dir, addrs, []kv{{"consumer.session.timeout.ms", "10000"}},
		sourceConnector(newName("src"), input, topic, ""),
		sinkConnector(newName("sink"), output, topic, ""))
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	w.start()
	if _, err := waitCovered(w, output, rate, 90*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Fatalf("before the first kill: %v\n%s", err, tail(w.logPath, 30))
	}
	// Each kill comes at a random moment 1–4 s after the previous restart
	// caught up (its output holds every line written before that kill), so
	// that each kill interrupts one commit window, not a backlog of them.
	stall := pick(60*time.Second, 90*time.Second)
	deadline := deadlineFor(t, pick(8*time.Minute, 15*time.Minute))
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill moments: seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 14))
	atKill := 0
	for k := range kills {
		if k > 0 {
			if _, err := waitCovered(w, output, atKill, stall, deadline); err != nil {
				t.Errorf("after kill %d: %v", k, err)
				r.note = gaveUp(err)
				stall = 15 * time.Second
				break
			}
		}
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(3*time.Second))))
		if err := w.alive(); err != nil {
			t.Fatalf("before kill %d: %v", k+1, err)
		}
		atKill = int(app.written.Load())
		w.kill()
		t.Logf("kill %d: %d lines written so far", k+1, atKill)
		w.start()
	}
	time.Sleep(pick(2*time.Second, 5*time.Second))
	n := app.stop()
	r.records = n
	if _, err := waitCovered(w, output, n, stall, deadline); err != nil {
		t.Errorf("after the last kill: %v", err)
		r.note = gaveUp(err)
	}
	if !w.stop() {
		t.Errorf("%s did not stop within a minute of SIGTERM", contender)
	}
	c, err := scan(output, n, true)
	if err != nil {
		t.Fatal(err)
	}
	r.lost, r.dup, r.torn, r.order = c.lost(), c.dup, c.torn, c.order
	tc := topicTally(t, addrs, topic, n)
	r.topic = &tc
	checkTally(t, c, output, w)
	if c.dup > r.dupBound {
		t.Errorf("%d duplicated lines after %d kills: more than one commit window (%d lines) per kill", c.dup, kills, window)
	}
}
