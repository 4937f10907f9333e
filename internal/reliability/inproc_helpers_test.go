package reliability_test

// Helpers of the in-process scenarios (inproc_test.go, postgres_test.go):
// sequence sources and recording sinks, reading topics and committed
// offsets back, counting what was lost, duplicated or reordered, printing
// the figures line, and running a scenario in a child process so that a
// fault that escapes the runtime kills the child, not the suite.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// envFull selects the long forms of the scenarios (SLUICE_RELIABILITY=full).
const envFull = "SLUICE_RELIABILITY"

// envLog sends the pipelines' logs to stderr as they happen
// (SLUICE_RELIABILITY_LOG=1); otherwise the last lines are printed only when
// a scenario fails.
const envLog = "SLUICE_RELIABILITY_LOG"

// envChild names the test a child process runs (see isolated).
const envChild = "SLUICE_RELIABILITY_CHILD"

// envFigures names a file the in-process scenarios append their figures
// lines to (SLUICE_RELIABILITY_FIGURES), since go test shows a passing
// package's output only with -v.
const envFigures = "SLUICE_RELIABILITY_FIGURES"

// fullRun reports whether the long forms were asked for.
func fullRun() bool { return strings.EqualFold(strings.TrimSpace(os.Getenv(envFull)), "full") }

// ciRun reports whether we run under CI (CI=true), where a missing service
// fails a scenario instead of skipping it.
func ciRun() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return strings.EqualFold(v, "true") || v == "1"
}

// noLeaks checks, when the test ends, that every goroutine it started has
// exited. Call it first so that its cleanup runs last, after the brokers
// and pipelines the test started were closed.
func noLeaks(t *testing.T) {
	t.Helper()
	ignore := []goleak.Option{
		goleak.IgnoreCurrent(),
		// sarama's producer circuit breaker sleeps 10 s after send errors,
		// then exits by itself; it cannot be stopped (see source's TestMain).
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
	}
	t.Cleanup(func() {
		if err := goleak.Find(ignore...); err != nil {
			t.Errorf("goroutines left running after the scenario: %v", err)
		}
	})
}

// scenarioLog returns a logger for the pipelines of a scenario. Its lines
// go to stderr with SLUICE_RELIABILITY_LOG set; otherwise the last 60 are
// kept and printed if the test fails.
func scenarioLog(t *testing.T) *slog.Logger {
	t.Helper()
	if os.Getenv(envLog) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tail := &tailWriter{max: 60}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last log lines of the scenario:\n%s", tail.String())
		}
	})
	return slog.New(slog.NewTextHandler(tail, nil))
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if len(line) > 500 {
			line = line[:500] + "…"
		}
		w.lines = append(w.lines, line)
	}
	if n := len(w.lines) - w.max; n > 0 {
		w.lines = slices.Delete(w.lines, 0, n)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// printFigures prints the scenario's figures line on stdout (greppable:
// "reliability: scenario=…"; go test shows it with -v or when the package
// fails), in the process scenarios' format (contender, broker, …, pass),
// logs it, and appends it to the file SLUICE_RELIABILITY_FIGURES names.
// kv alternates keys and values; a negative duration prints as "never".
// Call it after the scenario's checks: pass is whether t has not failed.
func printFigures(t *testing.T, scenario string, kv ...any) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "reliability: scenario=%s contender=sluice", scenario)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		switch x := v.(type) {
		case time.Duration:
			v = strconv.FormatFloat(x.Seconds(), 'f', 1, 64)
			if x < 0 {
				v = "never"
			}
		case float64:
			v = strconv.FormatFloat(x, 'f', 1, 64)
		}
		fmt.Fprintf(&b, " %v=%v", kv[i], v)
	}
	fmt.Fprintf(&b, " pass=%t", !t.Failed())
	fmt.Println(b.String())
	t.Log(b.String())
	if path := os.Getenv(envFigures); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintln(f, b.String())
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Errorf("appending the figures to %s=%s: %v", envFigures, path, err)
		}
	}
}

// waitUntil polls cond every 20 ms until it holds or d passed; it reports
// whether it held. Scenarios wait on conditions, never on time, and use
// generous deadlines: a loaded 2-core machine must pass.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isolated runs the test's body in a child process (this test binary,
// re-run for this one test), so that a panic escaping the runtime kills the
// child instead of the suite: "the process stays alive" is then checked for
// real. The parent fails the test with the child's output when the child
// did not pass, and repeats the child's figures lines. In the child it just
// runs body.
func isolated(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(envChild) == t.Name() {
		body(t)
		return
	}
	var pattern []string
	for part := range strings.SplitSeq(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+strings.Join(pattern, "/"), "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), envChild+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "reliability: ") {
			fmt.Println(line)
		}
	}
	text := out.String()
	switch {
	case err == nil && strings.Contains(text, "--- PASS: "+t.Name()):
		t.Logf("child process passed:\n%s", lastLines(text, 40))
	case strings.Contains(text, "\npanic: ") || strings.HasPrefix(text, "panic: "):
		i := strings.Index(text, "panic: ")
		t.Fatalf("the process died: a panic escaped the runtime (%v):\n%s", err, firstLines(text[i:], 60))
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skipf("child process skipped:\n%s", lastLines(text, 20))
	default:
		t.Fatalf("child process failed (%v):\n%s", err, lastLines(text, 150))
	}
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// --- sources ---

// seqSource is a source task writing, for each of parts source partitions
// {"seq-part": i}, the records "<i>:<seq>" (seq from 0 to perPart-1) to
// partition i of its topic, with source offset {"seq": seq}. It resumes
// after the committed offsets, returns batch records per source partition
// and poll, and sleeps every between polls. hooks are shared by every
// instance (restarts included).
type seqSource struct {
	topic   string
	parts   int
	perPart int64
	batch   int
	every   time.Duration
	hooks   *sourceHooks

	next []int64
}

// sourceHooks lets a scenario act on a seqSource's polls.
type sourceHooks struct {
	// beforePoll runs at the start of every Poll with the sequence number
	// the task is about to emit for partition 0.
	beforePoll func(next int64)
}

func seqPartition(i int) map[string]any { return map[string]any{"seq-part": int64(i)} }

func (s *seqSource) Start(ctx context.Context, tc source.TaskContext) error {
	s.next = make([]int64, s.parts)
	for i := range s.parts {
		off, err := tc.Offsets().Offset(ctx, seqPartition(i))
		if err != nil {
			return err
		}
		if off == nil {
			continue
		}
		seq, ok := off["seq"].(int64)
		if !ok {
			return fmt.Errorf("committed offset %v of %v: want an int64 seq", off, seqPartition(i))
		}
		s.next[i] = seq + 1
	}
	return nil
}

func (s *seqSource) Poll(ctx context.Context) ([]connect.Record, error) {
	if s.hooks != nil && s.hooks.beforePoll != nil {
		s.hooks.beforePoll(s.next[0])
	}
	if s.every > 0 {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(s.every):
		}
	}
	var out []connect.Record
	for i := range s.parts {
		for n := 0; n < s.batch && s.next[i] < s.perPart; n++ {
			seq := s.next[i]
			out = append(out, connect.Record{
				Topic: s.topic, Partition: int32(i), HasPartition: true,
				ValueSchema:     connect.OptionalBytesSchema,
				Value:           []byte(strconv.Itoa(i) + ":" + strconv.FormatInt(seq, 10)),
				SourcePartition: seqPartition(i),
				SourceOffset:    map[string]any{"seq": seq},
			})
			s.next[i]++
		}
	}
	if len(out) == 0 && s.every == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return out, nil
}

func (s *seqSource) Stop(context.Context) error { return nil }

// committedSeqs returns the committed "seq" of each of the parts source
// partitions of connector in store (-1: none).
func committedSeqs(t *testing.T, store offsets.Store, connector string, parts int) []int64 {
	t.Helper()
	out := make([]int64, parts)
	for i := range parts {
		off, err := store.Get(context.Background(), connector, seqPartition(i))
		if err != nil {
			t.Fatalf("reading the committed offset of %v: %v", seqPartition(i), err)
		}
		out[i] = -1
		if off != nil {
			seq, ok := off["seq"].(int64)
			if !ok {
				t.Fatalf("committed offset %v of %v: want an int64 seq", off, seqPartition(i))
			}
			out[i] = seq
		}
	}
	return out
}

// --- sinks ---

// recorder keeps what sink tasks were given, across task instances.
type recorder struct {
	mu   sync.Mutex
	offs map[int32][]int64  // Kafka offsets per partition, in Put order
	vals map[int32][]string // values as strings, same order
	n    atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{offs: map[int32][]int64{}, vals: map[int32][]string{}}
}

func (r *recorder) add(recs []connect.Record) {
	r.mu.Lock()
	for i := range recs {
		rec := &recs[i]
		p := rec.OriginalPartition
		r.offs[p] = append(r.offs[p], rec.OriginalOffset)
		r.vals[p] = append(r.vals[p], valueString(rec.Value))
	}
	r.mu.Unlock()
	r.n.Add(int64(len(recs)))
}

func valueString(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case *connect.Struct:
		id, err := x.Get("id")
		if err != nil {
			return fmt.Sprintf("struct without id: %v", err)
		}
		return fmt.Sprint(id)
	case nil:
		return "<nil>"
	}
	return fmt.Sprint(v)
}

// snapshot returns copies of the offsets and values put so far.
func (r *recorder) snapshot() (map[int32][]int64, map[int32][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	offs, vals := map[int32][]int64{}, map[int32][]string{}
	for p, o := range r.offs {
		offs[p] = slices.Clone(o)
	}
	for p, v := range r.vals {
		vals[p] = slices.Clone(v)
	}
	return offs, vals
}

// recordingSink is a sink task that records what it is given in a shared
// recorder. put, when set, runs first and may fail or panic the Put.
type recordingSink struct {
	rec *recorder
	put func(ctx context.Context, recs []connect.Record) error
}

func (s *recordingSink) Start(context.Context, sink.TaskContext) error { return nil }

func (s *recordingSink) Put(ctx context.Context, recs []connect.Record) error {
	if s.put != nil {
		if err := s.put(ctx, recs); err != nil {
			return err
		}
	}
	s.rec.add(recs)
	return nil
}

func (s *recordingSink) Stop(context.Context) error { return nil }

// --- running pipelines ---

// pipeline is what runInBackground runs.
type pipeline interface {
	Name() string
	Run(ctx context.Context) error
}

// running is a pipeline running in the background.
type running struct {
	p      pipeline
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// runInBackground runs p until stop (also called by t.Cleanup).
func runInBackground(t *testing.T, p pipeline) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = p.Run(ctx)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// exited reports whether Run returned.
func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// tasksFailed reports whether Run returned or every task of the pipeline
// is FAILED (a task failure leaves the connector RUNNING, as in Kafka
// Connect, so Run goes on).
func (r *running) tasksFailed() bool {
	if r.exited() {
		return true
	}
	sp, ok := r.p.(interface{ PipelineStatus() connect.PipelineStatus })
	if !ok {
		return false
	}
	tasks := sp.PipelineStatus().Tasks
	for _, t := range tasks {
		if t.State != connect.StateFailed {
			return false
		}
	}
	return len(tasks) > 0
}

// stop cancels the pipeline and returns Run's error. A pipeline that does
// not return within 2 minutes fails the test.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("pipeline did not stop within 2 minutes of its context being cancelled")
	}
	return r.err
}

// --- reading Kafka back ---

// kRecord is a record read back from Kafka.
type kRecord struct {
	Partition int32
	Offset    int64
	Value     []byte
	Headers   map[string]string
}

// readTopic reads every partition of topic from its start to its end offset
// at the time of the call.
func readTopic(t *testing.T, brokers []string, topic string) map[int32][]kRecord {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer consumer.Close()
	out := map[int32][]kRecord{}
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, p, err)
		}
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("start offset of %s/%d: %v", topic, p, err)
		}
		if end <= start {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			t.Fatalf("consuming %s/%d: %v", topic, p, err)
		}
		timeout := time.NewTimer(60 * time.Second)
	read:
		for {
			select {
			case m := <-pc.Messages():
				r := kRecord{Partition: p, Offset: m.Offset, Value: m.Value}
				if len(m.Headers) > 0 {
					r.Headers = make(map[string]string, len(m.Headers))
					for _, h := range m.Headers {
						r.Headers[string(h.Key)] = string(h.Value)
					}
				}
				out[p] = append(out[p], r)
				if m.Offset >= end-1 {
					break read
				}
			case <-timeout.C:
				pc.Close()
				t.Fatalf("timed out reading %s/%d below offset %d (read %d records)", topic, p, end, len(out[p]))
			}
		}
		timeout.Stop()
		pc.Close()
	}
	return out
}

// endOffsets returns the end offset of each partition of topic.
func endOffsets(t *testing.T, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, p, err)
		}
		out[p] = off
	}
	return out
}

// groupOffsets returns group's committed offsets for the partitions of
// topic listed in ends (-1: none).
func groupOffsets(t *testing.T, brokers []string, group, topic string, ends map[int32]int64) map[int32]int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	defer admin.Close()
	var ps []int32
	for p := range ends {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatalf("offsets of group %s: %v", group, err)
	}
	out := map[int32]int64{}
	for _, p := range ps {
		out[p] = -1
		if b := resp.GetBlock(topic, p); b != nil {
			out[p] = b.Offset
		}
	}
	return out
}

// --- counting ---

// seqStats compares sequence numbers as delivered (in delivery order) with
// the expected 0..want-1.
type seqStats struct {
	// Lost counts expected numbers never delivered; FirstLost is the
	// smallest (-1 when none).
	Lost      int64
	FirstLost int64
	// Dup counts deliveries of a number delivered before.
	Dup int64
	// Reordered counts numbers delivered for the first time after a larger
	// one: order broken (a replay of a delivered number is a duplicate, not
	// a reordering).
	Reordered int64
	// Unexpected counts numbers outside 0..want-1.
	Unexpected int64
	// Example describes the first order violation ("" when none).
	Example string
}

func countSeqs(got []int64, want int64) seqStats {
	st := seqStats{FirstLost: -1}
	seen := make([]bool, want)
	maxSeen := int64(-1)
	for _, s := range got {
		if s < 0 || s >= want {
			st.Unexpected++
			continue
		}
		if seen[s] {
			st.Dup++
			continue
		}
		seen[s] = true
		if s < maxSeen {
			st.Reordered++
			if st.Example == "" {
				st.Example = fmt.Sprintf("%d delivered for the first time after %d", s, maxSeen)
			}
		}
		maxSeen = max(maxSeen, s)
	}
	for s, ok := range seen {
		if !ok {
			st.Lost++
			if st.FirstLost < 0 {
				st.FirstLost = int64(s)
			}
		}
	}
	return st
}

// add sums stats.
func (s seqStats) add(o seqStats) seqStats {
	first := s.FirstLost
	if first < 0 || (o.FirstLost >= 0 && o.FirstLost < first) {
		first = o.FirstLost
	}
	example := s.Example
	if example == "" {
		example = o.Example
	}
	return seqStats{Lost: s.Lost + o.Lost, FirstLost: first, Dup: s.Dup + o.Dup,
		Reordered: s.Reordered + o.Reordered, Unexpected: s.Unexpected + o.Unexpected, Example: example}
}

// parseSeqValue parses "<part>:<seq>".
func parseSeqValue(v string) (part int, seq int64, err error) {
	ps, ss, ok := strings.Cut(v, ":")
	if !ok {
		return 0, 0, fmt.Errorf("value %q: want <part>:<seq>", v)
	}
	part, err = strconv.Atoi(ps)
	if err == nil {
		seq, err = strconv.ParseInt(ss, 10, 64)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("value %q: %w", v, err)
	}
	return part, seq, nil
}

// seqsByPart parses "<part>:<seq>" values, in order, by the part they name;
// a value on the wrong Kafka partition fails the test.
func seqsByPart(t *testing.T, vals map[int32][]string) map[int][]int64 {
	t.Helper()
	out := map[int][]int64{}
	for p, vs := range vals {
		for _, v := range vs {
			part, seq, err := parseSeqValue(v)
			if err != nil {
				t.Fatalf("partition %d: %v", p, err)
			}
			if part != int(p) {
				t.Fatalf("value %q on partition %d", v, p)
			}
			out[part] = append(out[part], seq)
		}
	}
	return out
}

// valuesOf returns the values of read records as strings, by partition.
func valuesOf(recs map[int32][]kRecord) map[int32][]string {
	out := map[int32][]string{}
	for p, rs := range recs {
		for _, r := range rs {
			out[p] = append(out[p], string(r.Value))
		}
	}
	return out
}
