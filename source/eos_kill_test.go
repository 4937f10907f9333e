package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// The crash test of exactly-once delivery: TestEOSKill (the parent) runs
// TestEOSKillChild in child processes (this test binary re-executed) and
// kills them with SIGKILL while a transaction is open; the broker lives in
// the parent (kfake) or outside (KAFKA_BOOTSTRAP_SERVERS), so it survives
// the kills. The child is configured through these environment variables.
const (
	eosEnvChild    = "SLUICE_EOS_CHILD"    // "1" in a child
	eosEnvBrokers  = "SLUICE_EOS_BROKERS"  // bootstrap addresses, comma separated
	eosEnvTopic    = "SLUICE_EOS_TOPIC"    // the data topic
	eosEnvOffsets  = "SLUICE_EOS_OFFSETS"  // the offsets topic
	eosEnvName     = "SLUICE_EOS_NAME"     // the connector name
	eosEnvBoundary = "SLUICE_EOS_BOUNDARY" // transaction.boundary: poll, interval, connector
	eosEnvPerPart  = "SLUICE_EOS_PER_PART" // records per source partition
	eosEnvPace     = "SLUICE_EOS_PACE"     // optional: a duration each Poll waits before returning records
)

// The child's exit codes besides 0 (every record committed, stopped
// gracefully) and 1 (a test failure, e.g. goleak).
const (
	eosExitFenced = 3 // the task ended FAILED with connect.ErrFenced
	eosExitFailed = 4 // the pipeline ended by itself otherwise, or never completed
)

const (
	eosParts     = 4   // source partitions p0..p3
	eosBatch     = 500 // records per Poll
	eosAbortEach = 7   // connector boundary: every 7th batch aborts its transaction
)

// eosLine is what the child prints before each commit
// (testHookBeforeCommit), followed by a space and the number of records its
// tasks generated so far (eosGenerated; re-emitted ones not counted).
const eosLine = "txn-open"

// eosGenerated counts the records the child's tasks generated.
var eosGenerated atomic.Int64

// eosFinalCommitted is set once the transaction holding the task's last
// batch committed. With the connector boundary the committed offsets are
// complete earlier when the last batch is aborted (its offsets commit in a
// transaction of their own, Kafka Connect's rule), before its re-emitted
// records were polled again.
var eosFinalCommitted atomic.Bool

// eosKillConnector declares what the test task supports and runs one task.
type eosKillConnector struct{}

func (eosKillConnector) TaskConfigs(_ context.Context, config map[string]string, _ int) ([]map[string]string, error) {
	return []map[string]string{config}, nil
}

func (eosKillConnector) ExactlyOnceSupport(context.Context, map[string]string) ExactlyOnceSupport {
	return ExactlyOnceSupported
}

func (eosKillConnector) CanDefineTransactionBoundaries(context.Context, map[string]string) ConnectorTransactionBoundaries {
	return BoundariesSupported
}

// eosSeq names one generated record: source partition p, index i.
type eosSeq struct {
	p int
	i int64
}

// eosGenTask generates, for each source partition p of p0..p3, the records
// "p<p>:<i>" for i from 0 to perPart-1, in order, key "p<p>", source
// partition {"p": "p<p>"}, source offset {"i": i}, round-robin over the
// partitions in batches of eosBatch, resuming after the committed offsets.
//
// With a TransactionContext (transaction.boundary=connector) it defines the
// transactions as a connector would: every eosAbortEach-th batch aborts the
// current transaction and re-emits its records first in the next Poll
// (Kafka Connect's semantics: the aborted records' offsets are committed
// with the next transaction, so a task that wants them written re-emits
// them); other batches commit after their middle record (so the rest of
// the batch opens the next transaction) or, every third one and the last,
// after the whole batch.
type eosGenTask struct {
	topic    string
	perPart  int64
	boundary TransactionBoundary
	pace     time.Duration

	tx          TransactionContext
	finalPolled atomic.Bool // Poll returned the last batch, to be committed (read by Commit, concurrently with Poll)
	next        [eosParts]int64
	cursor      int
	polls       int
	pending     []eosSeq // connector: the records of the open transaction, in order
	reemit      []eosSeq // connector: an aborted transaction's records, for the next Poll
}

func (g *eosGenTask) Start(ctx context.Context, tc TaskContext) error {
	g.tx = TransactionContextOf(tc)
	if g.boundary == BoundaryConnector && g.tx == nil {
		return errors.New("transaction.boundary=connector but the task context has no TransactionContext")
	}
	for p := range eosParts {
		off, err := tc.Offsets().Offset(ctx, eosPartition(p))
		if err != nil {
			return fmt.Errorf("reading the offset of p%d: %w", p, err)
		}
		if off == nil {
			continue
		}
		i, err := eosInt(off["i"])
		if err != nil {
			return fmt.Errorf("offset of p%d: %w", p, err)
		}
		g.next[p] = i + 1
	}
	return nil
}

func eosPartition(p int) map[string]any { return map[string]any{"p": "p" + strconv.Itoa(p)} }

func eosInt(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case float64:
		return int64(n), nil
	case json.Number:
		return n.Int64()
	}
	return 0, fmt.Errorf("offset i has type %T (%v)", v, v)
}

func (g *eosGenTask) record(s eosSeq) connect.Record {
	name := "p" + strconv.Itoa(s.p)
	return connect.Record{
		Topic:           g.topic,
		KeySchema:       connect.OptionalBytesSchema,
		Key:             []byte(name),
		ValueSchema:     connect.OptionalBytesSchema,
		Value:           []byte(name + ":" + strconv.FormatInt(s.i, 10)),
		SourcePartition: eosPartition(s.p),
		SourceOffset:    map[string]any{"i": s.i},
	}
}

func (g *eosGenTask) Poll(ctx context.Context) ([]connect.Record, error) {
	seqs := g.reemit
	g.reemit = nil
	for tries := 0; len(seqs) < eosBatch && tries < eosParts; {
		p := g.cursor % eosParts
		g.cursor++
		if g.next[p] >= g.perPart {
			tries++
			continue
		}
		tries = 0
		seqs = append(seqs, eosSeq{p, g.next[p]})
		g.next[p]++
		eosGenerated.Add(1)
	}
	if len(seqs) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
		return nil, nil
	}
	pace := g.pace
	if g.boundary == BoundaryInterval {
		// paced, so that a transaction spans a few batches rather than
		// thousands of records: a kill then leaves work for the next child
		pace = max(pace, 10*time.Millisecond)
	}
	if pace > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(pace):
		}
	}
	out := make([]connect.Record, len(seqs))
	for i, s := range seqs {
		out[i] = g.record(s)
	}
	exhausted := !slices.ContainsFunc(g.next[:], func(n int64) bool { return n < g.perPart })
	if g.tx == nil {
		g.finalPolled.Store(exhausted)
		return out, nil
	}
	g.polls++
	switch {
	case g.polls%eosAbortEach == 0:
		g.tx.AbortTransaction()
		g.reemit = append(g.pending, seqs...)
		g.pending = nil
	case exhausted || g.polls%3 == 0:
		g.tx.CommitTransaction()
		g.pending = nil
		g.finalPolled.Store(exhausted)
	default:
		k := len(out) / 2
		g.tx.CommitTransactionAfter(&out[k])
		g.pending = slices.Clone(seqs[k+1:])
	}
	return out, nil
}

// Commit is called after each committed transaction.
func (g *eosGenTask) Commit(context.Context) error {
	if g.finalPolled.Load() {
		eosFinalCommitted.Store(true)
	}
	return nil
}

func (g *eosGenTask) Stop(context.Context) error { return nil }

// TestEOSKillChild is the child process of TestEOSKill: it runs the
// generator with exactly-once delivery until every record is committed (the
// transaction of the last batch committed, and the store lists the last
// offset of every source partition), then stops gracefully, prints
// "status ..." and exits 0. Before each commit it prints eosLine and sleeps
// 20-100 ms, so that a SIGKILL lands mid-transaction. When the pipeline
// ends by itself it prints "status ..." and exits eosExitFenced (fenced) or
// eosExitFailed. It is skipped unless run by TestEOSKill.
func TestEOSKillChild(t *testing.T) {
	if os.Getenv(eosEnvChild) != "1" {
		t.Skip("the child process of TestEOSKill, run by it with " + eosEnvChild + "=1")
	}
	boundary, err := ParseTransactionBoundary(os.Getenv(eosEnvBoundary))
	if err != nil {
		t.Fatal(err)
	}
	perPart, err := strconv.ParseInt(os.Getenv(eosEnvPerPart), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	topic, name := os.Getenv(eosEnvTopic), os.Getenv(eosEnvName)
	var pace time.Duration
	if v := os.Getenv(eosEnvPace); v != "" {
		if pace, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("SARAMA_LOG") != "" { // sarama's own log, in the failure message's stderr tail
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}

	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	testHookBeforeCommit = func() {
		say("%s %d", eosLine, eosGenerated.Load())
		time.Sleep(time.Duration(20+rand.IntN(81)) * time.Millisecond)
	}

	// sarama's default 500 ms fetch wait makes each read of the offsets
	// store (open, then Refresh at the task's start) last about a second
	// after a kill; shorter, the restarts are quicker.
	base := kafkaconf.NewSaramaConfig("")
	base.Consumer.MaxWaitTime = 50 * time.Millisecond
	p, err := New(Config{
		Sarama:    base,
		Name:      name,
		Brokers:   strings.Split(os.Getenv(eosEnvBrokers), ","),
		NewTask:   func() Task { return &eosGenTask{topic: topic, perPart: perPart, boundary: boundary, pace: pace} },
		Connector: eosKillConnector{},
		OffsetStorage: offsets.Storage{
			Topic:             os.Getenv(eosEnvOffsets),
			Partitions:        3,
			ReplicationFactor: 1,
		},
		ExactlyOnce: ExactlyOnce{
			Enabled:          true,
			GroupID:          "g",
			Support:          SupportRequired,
			Boundary:         boundary,
			BoundaryInterval: 20 * time.Millisecond,
		},
		// At most two batches per transaction, so that a child runs
		// several transactions whatever the group commit gathers while a
		// commit is in flight: the kill lands in its 1st, 2nd or 3rd
		// (a child whose whole job fitted in two transactions finished
		// before its kill, and the test proved nothing).
		MaxInFlightRecords: 2 * eosBatch,
		// a fenced task must not be restarted even so (it would fence its
		// successor in turn)
		Restart: sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	status := func(err error) {
		st := p.PipelineStatus()
		var task connect.TaskStatus
		if len(st.Tasks) > 0 {
			task = st.Tasks[0]
		}
		say("status task=%s restarts=%d fenced=%v run=%s task-err=%s last-failure=%s", task.State, task.Restarts,
			errors.Is(err, connect.ErrFenced), eosOneLine(err), eosOneLine(task.Err), eosOneLine(task.LastFailure))
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(150 * time.Second)
	for complete := false; !complete; {
		select {
		case err := <-runErr: // ended by itself: a connector failure
			status(err)
			if errors.Is(err, connect.ErrFenced) {
				os.Exit(eosExitFenced)
			}
			os.Exit(eosExitFailed)
		case <-deadline:
			say("not complete after 150s")
			status(nil)
			os.Exit(eosExitFailed)
		case <-tick.C:
			if ts := p.PipelineStatus().Tasks; len(ts) == 1 && ts[0].State == connect.StateFailed {
				// The task failed for good (the connector stays RUNNING,
				// as in Kafka Connect): stop; Run returns its failure.
				cancel()
				err := <-runErr
				status(err)
				if errors.Is(err, connect.ErrFenced) {
					os.Exit(eosExitFenced)
				}
				os.Exit(eosExitFailed)
			}
			entries, err := p.ListOffsets(ctx)
			if err != nil {
				continue
			}
			complete = eosFinalCommitted.Load() && eosComplete(entries, perPart)
		}
	}
	cancel()
	err = <-runErr
	status(err)
	if err != nil {
		t.Fatalf("Run after every record was committed: %v", err)
	}
}

// eosComplete reports whether entries hold offset perPart-1 for every
// source partition.
func eosComplete(entries []connect.OffsetEntry, perPart int64) bool {
	done := 0
	for _, e := range entries {
		if i, err := eosInt(e.Offset["i"]); err == nil && i == perPart-1 {
			done++
		}
	}
	return done == eosParts
}

func eosOneLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), "\n", " | ")
}

// eosChild is a running child process.
type eosChild struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *eosLines
	stderr *eosBuffer
	done   chan struct{} // closed once the process was waited for
	err    error         // Wait's result, set before done is closed
	start  time.Time
}

// eosLines keeps a child's stdout and counts eosLine lines.
type eosLines struct {
	mu        sync.Mutex
	buf       []byte
	lines     []string
	opens     atomic.Int64  // eosLine lines
	generated atomic.Int64  // the count on the last one
	changed   chan struct{} // gets a value (non-blocking) when a line arrives
}

func (l *eosLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		if rest, ok := strings.CutPrefix(line, eosLine+" "); ok {
			l.opens.Add(1)
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
				l.generated.Store(n)
			}
			continue
		}
		l.lines = append(l.lines, line)
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(b), nil
}

// status returns the child's last "status ..." line, or "".
func (l *eosLines) status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range slices.Backward(l.lines) {
		if strings.HasPrefix(s, "status ") {
			return s
		}
	}
	return ""
}

// tail returns the last n lines (eosLine lines are not kept), joined.
func (l *eosLines) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range slices.Backward(l.lines) {
		out = append(out, s)
		if len(out) == n {
			break
		}
	}
	slices.Reverse(out)
	return strings.Join(out, "\n")
}

// eosBuffer is a bytes.Buffer safe for the concurrent Write of exec's copier
// and a reader.
type eosBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *eosBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// tail returns the last n bytes.
func (b *eosBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

// startEOSChild starts the child with env added to this process's
// environment; it dies with the test (kafkatest.DieWithTest) and is killed
// by t.Cleanup if still running.
func startEOSChild(t *testing.T, name string, env []string) *eosChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEOSKillChild$", "-test.timeout=3m")
	cmd.Env = append(append(os.Environ(), eosEnvChild+"=1"), env...)
	c := &eosChild{t: t, name: name, cmd: cmd, out: &eosLines{changed: make(chan struct{}, 1)}, stderr: &eosBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.stderr
	kafkatest.DieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	c.start = time.Now()
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// describe returns the child's exit, status line and output tails, for a
// failure message.
func (c *eosChild) describe() string {
	return fmt.Sprintf("%s: exit %v\nstdout (tail):\n%s\nstderr (tail):\n%s", c.name, c.err, c.out.tail(15), c.stderr.tail(4000))
}

// waitOpen waits until the child printed its n-th eosLine and returns true,
// or returns false if it exited first; it fails t after the deadline.
func (c *eosChild) waitOpen(n int64, deadline time.Time) bool {
	c.t.Helper()
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	for c.out.opens.Load() < n {
		select {
		case <-c.out.changed:
		case <-c.done:
			return c.out.opens.Load() >= n
		case <-timeout.C:
			c.t.Fatalf("%s printed %d of %d %q lines before the deadline\n%s", c.name, c.out.opens.Load(), n, eosLine, c.describe())
		}
	}
	return true
}

// killMidTxn kills the child with SIGKILL as soon as it prints its n-th
// eosLine: during the 20-100 ms the child sleeps before committing, so with
// a transaction open, after n-1 transactions committed. It returns false,
// killing nothing, when the child exited first.
func (c *eosChild) killMidTxn(n int64) bool {
	c.t.Helper()
	if !c.waitOpen(n, time.Now().Add(90*time.Second)) {
		return false
	}
	if err := c.cmd.Process.Kill(); err != nil {
		c.t.Fatalf("killing %s: %v", c.name, err)
	}
	<-c.done
	return true
}

// wait waits for the child to exit and returns its exit code.
func (c *eosChild) wait(timeout time.Duration) int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Fatalf("%s still running after %s; killed\n%s", c.name, timeout, c.describe())
	}
	return c.cmd.ProcessState.ExitCode()
}

// eosKillSetup creates the data topic and returns the child environment.
func eosKillSetup(t *testing.T, brokers []string, boundary string, perPart int64) (topic string, env []string) {
	t.Helper()
	topic = kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	return topic, []string{
		eosEnvBrokers + "=" + strings.Join(brokers, ","),
		eosEnvTopic + "=" + topic,
		eosEnvOffsets + "=" + topic + "-offsets",
		eosEnvName + "=" + topic,
		eosEnvBoundary + "=" + boundary,
		eosEnvPerPart + "=" + strconv.FormatInt(perPart, 10),
	}
}

// TestEOSKill: exactly-once delivery survives SIGKILL mid-transaction. For
// each transaction boundary a child process (TestEOSKillChild) generating
// 4 source partitions of records "p<p>:<i>" is killed 5 times (2 with
// -short) while a transaction is open, and restarted, resuming from the
// committed offsets; the last child commits everything and exits 0. A
// read_committed reader then finds every record exactly once, in order per
// source partition, while the log holds more records under
// read_uncommitted (the killed transactions' records, which never
// committed). With the connector boundary the task also commits after a
// record and aborts every 7th batch and re-emits it. fencing/<boundary>
// (only poll with -short): a second child started while the first runs
// fences it: the first ends FAILED with connect.ErrFenced (exit code
// eosExitFenced) and is not restarted although it has a restart policy,
// the second completes; again every record exactly once.
//
// Where a child is killed: when it prints eosLine for its 1st, 2nd or 3rd
// transaction (at random), that is after the transaction's records and
// offsets were sent and before CommitTxn (the child sleeps 20-100 ms
// there), so each child but the first resumes from 0-2 committed
// transactions. A random delay after the start would not do: a restarted
// child's start-up time varies more than its transactions last (tens of
// milliseconds), so kills would land in its first transaction every time,
// or, with the interval boundary, after the child had finished.
func TestEOSKill(t *testing.T) {
	if os.Getenv(eosEnvChild) != "" {
		t.Skip("in a child process")
	}
	brokers := kafkatest.Brokers(t) // lives in this process: it survives the kills
	kills := 5
	perPart := int64(5000)
	if testing.Short() {
		kills, perPart = 2, 2500
	}
	for _, boundary := range []string{"poll", "interval", "connector"} {
		t.Run(boundary, func(t *testing.T) {
			topic, env := eosKillSetup(t, brokers, boundary, perPart)
			killed := 0
			var last *eosChild
			for k := range kills {
				c := startEOSChild(t, fmt.Sprintf("child %d", k+1), env)
				if !c.killMidTxn(1 + rand.Int64N(3)) {
					last = c // it completed (or failed) before the kill
					break
				}
				killed++
				t.Logf("killed child %d after %s, in transaction %d, %d records generated", k+1, time.Since(c.start).Round(time.Millisecond), c.out.opens.Load(), c.out.generated.Load())
			}
			if last == nil {
				last = startEOSChild(t, fmt.Sprintf("child %d", kills+1), env)
			}
			if code := last.wait(150 * time.Second); code != 0 {
				t.Fatalf("the last child did not complete\n%s", last.describe())
			}
			if st := last.out.status(); !strings.Contains(st, "task=STOPPED restarts=0 ") {
				t.Errorf("the last child's task was restarted or did not stop: %s", st)
			}
			t.Logf("%s completed in %s, %d transactions", last.name, time.Since(last.start).Round(time.Millisecond), last.out.opens.Load())
			if killed < 1 {
				t.Fatalf("no child was killed mid-transaction (the first completed by itself): the test proves nothing\n%s", last.describe())
			}
			if killed < kills {
				t.Logf("only %d of %d kills: %s completed before its kill", killed, kills, last.name)
			}
			committed := checkExactlyOnce(t, brokers, topic, perPart)
			uncommitted := len(kafkatest.ReadUncommitted(t, brokers, topic))
			t.Logf("%d kills; %d records committed, %d in the log (read_uncommitted)", killed, committed, uncommitted)
			// With the connector boundary the requested aborts leave
			// records behind too, so the check proves nothing there (the
			// kills land mid-transaction by construction: after a
			// transaction's "txn-open" line, before its commit).
			if boundary != "connector" && uncommitted <= committed {
				t.Errorf("read_uncommitted sees %d records, read_committed %d: no killed transaction left records behind, so no kill landed mid-transaction",
					uncommitted, committed)
			}
		})
	}
	fencing := []string{"poll", "interval", "connector"}
	if testing.Short() {
		fencing = fencing[:1]
	}
	for _, boundary := range fencing {
		t.Run("fencing/"+boundary, func(t *testing.T) {
			// The fenced child's producer fails records.
			kafkatest.SkipSaramaTxnRace(t)
			perPart := perPart / 2 // the second child writes most of them
			topic, env := eosKillSetup(t, brokers, boundary, perPart)
			// The first child is slow (a few seconds per thousand
			// records), so that it is still writing when the second one
			// starts, whatever its transactions' sizes.
			first := startEOSChild(t, "first child", append(slices.Clone(env), eosEnvPace+"=300ms"))
			if !first.waitOpen(2, time.Now().Add(90*time.Second)) {
				t.Fatalf("the first child exited before its second transaction\n%s", first.describe())
			}
			second := startEOSChild(t, "second child", env)
			code := first.wait(120 * time.Second)
			if code != eosExitFenced || !strings.Contains(first.out.status(), "task=FAILED restarts=0 fenced=true") {
				t.Errorf("the first child: exit code %d, want %d (FAILED, fenced, not restarted); status %q\n%s",
					code, eosExitFenced, first.out.status(), first.describe())
			} else {
				t.Logf("first child: %s", first.out.status())
			}
			if code := second.wait(150 * time.Second); code != 0 {
				t.Fatalf("the second child did not complete\n%s", second.describe())
			}
			if st := second.out.status(); !strings.Contains(st, "task=STOPPED restarts=0 ") {
				t.Errorf("the second child's task was restarted or did not stop: %s", st)
			}
			checkExactlyOnce(t, brokers, topic, perPart)
		})
	}
}

// checkExactlyOnce reads topic with read_committed isolation and checks
// that it holds every record "p<p>:<i>" (p < 4, i < perPart) exactly once,
// in order per source partition, under key "p<p>". It returns the number
// of records read.
func checkExactlyOnce(t *testing.T, brokers []string, topic string, perPart int64) int {
	t.Helper()
	msgs := kafkatest.ReadCommitted(t, brokers, topic)
	seen := make([]map[int64]int, eosParts)
	last := make([]int64, eosParts)
	for p := range seen {
		seen[p], last[p] = map[int64]int{}, -1
	}
	var dups, disorder, bad int
	var examples []string
	example := func(format string, args ...any) {
		if len(examples) < 10 {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	for _, m := range msgs {
		name, num, ok := strings.Cut(string(m.Value), ":")
		p, perr := strconv.Atoi(strings.TrimPrefix(name, "p"))
		i, ierr := strconv.ParseInt(num, 10, 64)
		if !ok || perr != nil || ierr != nil || p < 0 || p >= eosParts || i < 0 || i >= perPart || string(m.Key) != name {
			bad++
			example("unexpected record key %q value %q at %d/%d", m.Key, m.Value, m.Partition, m.Offset)
			continue
		}
		if seen[p][i]++; seen[p][i] > 1 {
			dups++
			example("duplicate %s at %d/%d", m.Value, m.Partition, m.Offset)
		}
		if i <= last[p] {
			disorder++
			example("%s after p%d:%d at %d/%d", m.Value, p, last[p], m.Partition, m.Offset)
		}
		last[p] = i
	}
	missing := 0
	for p := range eosParts {
		for i := range perPart {
			if seen[p][i] == 0 {
				if missing++; missing <= 3 {
					example("missing p%d:%d", p, i)
				}
			}
		}
	}
	if dups+disorder+bad+missing > 0 {
		t.Errorf("read_committed: %d records for %d expected: %d duplicates, %d missing, %d out of order, %d unexpected; e.g.:\n%s",
			len(msgs), eosParts*perPart, dups, missing, disorder, bad, strings.Join(examples, "\n"))
	}
	return len(msgs)
}
