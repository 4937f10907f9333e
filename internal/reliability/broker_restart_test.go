package reliability

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBrokerRestart is scenario (a): FileStreamSource → topic →
// FileStreamSink in one worker process while the input file grows; the
// suite's Apache Kafka broker is stopped (a controlled shutdown, data kept)
// for 10 s (5 s in the short form) and started again. It fails unless every
// input line reaches the output in input order with no torn line, with no
// human action (the worker keeps running), under errors.tolerance=all and
// none. Duplicates and the seconds from the broker's return until the
// output holds every line written by then (recover_s) are reported.
func TestBrokerRestart(t *testing.T) {
	for _, tolerance := range []string{"all", "none"} {
		for _, c := range contenders() {
			t.Run(fmt.Sprintf("tolerance=%s/%s", tolerance, c), func(t *testing.T) {
				brokerRestart(t, c, tolerance)
			})
		}
	}
}

func brokerRestart(t *testing.T, contender, tolerance string) {
	b := kafkaBroker(t)
	rate := pick(1000, 2000)
	outage := pick(5*time.Second, 10*time.Second)
	dir := runDir(t, "broker-restart")
	topic := newName("restart")
	createTopic(t, b.addrs, topic)
	input, output := filepath.Join(dir, "input.txt"), filepath.Join(dir, "output.txt")

	r := result{scenario: "broker-restart", contender: contender, broker: brokerKafka,
		variant: "tolerance=" + tolerance, dupBound: -1, seconds: -1, secName: "recover_s"}
	r.note = fmt.Sprintf("outage %s", outage)
	app := startAppender(t, input, rate)
	w := newWorker(t, contender, dir, b.addrs, nil,
		sourceConnector(newName("src"), input, topic, tolerance),
		sinkConnector(newName("sink"), output, topic, tolerance))
	defer func() {
		r.pass = !t.Failed()
		report(t, r)
	}()
	w.start()
	// Streaming: a few seconds of lines through before the fault.
	if _, err := waitCovered(w, output, 3*rate, 90*time.Second, deadlineFor(t, 3*time.Minute)); err != nil {
		t.Fatalf("before the fault: %v\n%s", err, tail(w.logPath, 30))
	}

	t.Logf("stopping the broker for %s", outage)
	stopped := time.Now()
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage - time.Since(stopped))
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	atBack := int(app.written.Load())
	t.Logf("broker back after %.1fs; %d lines written so far", back.Sub(stopped).Seconds(), atBack)
	r.note = fmt.Sprintf("broker away %.0fs", back.Sub(stopped).Seconds())

	stall := pick(45*time.Second, 90*time.Second)
	deadline := deadlineFor(t, 4*time.Minute)
	_, err := waitCovered(w, output, atBack, stall, deadline)
	if err != nil {
		t.Errorf("after the broker came back: %v", err)
		stall = 15 * time.Second // what is left to come is in flight, if anything
	} else {
		r.seconds = time.Since(back).Seconds()
		time.Sleep(pick(2*time.Second, 5*time.Second))
	}
	n := app.stop()
	r.records = n
	if _, err := waitCovered(w, output, n, stall, deadline); err != nil {
		t.Errorf("after the input stopped growing: %v", err)
		r.note += "; " + gaveUp(err)
	}
	if err := w.alive(); err != nil {
		t.Errorf("the worker did not survive the outage: %v", err)
	}
	if !w.stop() {
		t.Errorf("%s did not stop within a minute of SIGTERM", contender)
	}
	c, err := scan(output, n, true)
	if err != nil {
		t.Fatal(err)
	}
	r.lost, r.dup, r.torn, r.order = c.lost(), c.dup, c.torn, c.order
	tc := topicTally(t, b.addrs, topic, n)
	r.topic = &tc
	checkTally(t, c, output, w)
}

// checkTally fails t on any lost, torn or reordered line.
func checkTally(t testing.TB, c tally, output string, w *worker) {
	t.Helper()
	if c.lost() > 0 {
		t.Errorf("%d of %d lines lost (first missing: line %d); last lines of %s:\n%s",
			c.lost(), c.n, firstMissing(output, c.n), w.logPath, tail(w.logPath, 30))
	}
	if c.torn > 0 {
		t.Errorf("%d torn lines in the output", c.torn)
	}
	if c.order > 0 {
		t.Errorf("%d lines arrived before an earlier line's first occurrence (order per partition broken)", c.order)
	}
}
