package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

// freezableStore fails every Write once frozen, simulating a process that
// crashes without committing. With freezeAt > 0 it freezes itself right
// after the first successful write whose offsets cover at least freezeAt
// records (seq+1 summed over partitions), so the test knows exactly which
// commit was the last one, however late the commit goroutine runs.
type freezableStore struct {
	offsets.Store
	freezeAt int64
	frozen   atomic.Bool
	writes   atomic.Int64
}

func (s *freezableStore) Write(ctx context.Context, c string, e []connect.OffsetEntry) error {
	if s.frozen.Load() {
		return errors.New("simulated crash: offsets not written")
	}
	if err := s.Store.Write(ctx, c, e); err != nil {
		return err
	}
	s.writes.Add(1)
	if s.freezeAt > 0 {
		var total int64
		for _, part := range []string{"p0", "p1"} {
			off, err := s.Store.Get(ctx, c, map[string]any{"part": part})
			if err == nil && off != nil {
				n, _ := asInt64(off["seq"])
				total += n + 1
			}
		}
		if total >= s.freezeAt {
			s.frozen.Store(true)
		}
	}
	return nil
}

// TestRestartResumesFromCommittedOffsetsWithBoundedReplay: offsets are
// committed on the ack watermark (the flush interval is an hour), and a run
// that "crashes" (its commits lost) is followed by one that resumes exactly
// at the last committed offsets: nothing is missing, and the records
// replayed are exactly those run 1 wrote after its last commit.
//
// It once failed on a loaded machine: it bounded the replay by the acks
// counted after it froze the store plus one watermark interval, but the
// commit goroutine may run late, so more than one interval of acks can pass
// between the last successful commit's snapshot and the freeze. The store
// now freezes itself right after a known commit, and the replay is checked
// against that commit, which holds whatever the scheduling.
func TestRestartResumesFromCommittedOffsetsWithBoundedReplay(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const parts, commitEvery = 2, 1000
	store := &freezableStore{Store: offsets.NewMemoryStore(), freezeAt: 10000}
	run := func(task *genTask, during func(p *source.Pipeline)) *source.Pipeline {
		cfg := baseConfig(t, brokers, "gen-restart", task)
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		cfg.OffsetStore = store
		cfg.CommitEveryRecords = commitEvery
		cfg.OffsetFlushInterval = time.Hour // only the watermark and stop commit
		p, err := source.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		stop := runPipeline(t, p)
		during(p)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		return p
	}
	acked := func(p *source.Pipeline) int64 {
		st := p.PipelineStatus()
		if len(st.Tasks) == 0 {
			return 0
		}
		return st.Tasks[0].RecordsOut
	}
	run(&genTask{topic: topic, parts: parts, perPart: -1, batch: 100}, func(p *source.Pipeline) {
		// The watermark commits: without them nothing is written before
		// the stop, and the store never freezes.
		waitFor(t, "a watermark commit covering 10000 records", 120*time.Second, store.frozen.Load)
		frozenAt := acked(p)
		waitFor(t, "2000 more acks", 120*time.Second, func() bool { return acked(p) >= frozenAt+2000 })
	})
	committedRun1 := committed(t, store, "gen-restart", parts, (&genTask{}).part)
	var total int64
	for _, c := range committedRun1 {
		total += c + 1
	}
	if total < 10000 {
		t.Fatalf("the last commit covers %d records, want >= 10000", total)
	}
	// Run 2 must get past everything run 1 wrote, to show nothing is missing.
	run1 := seqs(t, readAll(t, brokers, topic))
	var behind int64
	for _, s := range run1 {
		behind += int64(len(s))
	}
	behind -= total
	store.frozen.Store(false)
	store.freezeAt = 0
	run(&genTask{topic: topic, parts: parts, perPart: -1, batch: 100}, func(p *source.Pipeline) {
		waitFor(t, "run 2 to pass run 1", 120*time.Second, func() bool { return acked(p) >= behind+2000 })
	})

	got := seqs(t, readAll(t, brokers, topic))
	var totalDup int64
	for i := range parts {
		name := fmt.Sprintf("p%d", i)
		s := got[name]
		seen := map[int64]int{}
		var maxSeq int64 = -1
		for _, v := range s {
			seen[v]++
			if v > maxSeq {
				maxSeq = v
			}
		}
		for v := int64(0); v <= maxSeq; v++ {
			if seen[v] == 0 {
				idx := -1
				for j, x := range s {
					if x == v-1 {
						idx = j
					}
				}
				lo, hi := max(idx-5, 0), min(idx+8, len(s))
				t.Fatalf("%s: seq %d missing after restart (gap); committed run 1 %d; around: %v", name, v, committedRun1[i], s[lo:hi])
			}
		}
		// Run 1 wrote up to w1; run 2 resumed at committed+1, so exactly the
		// records after the last commit up to w1 appear twice.
		var w1 int64 = -1
		for _, v := range run1[name] {
			w1 = max(w1, v)
		}
		var dups int64
		for v, n := range seen {
			if n > 2 {
				t.Fatalf("%s: seq %d appears %d times", name, v, n)
			}
			if n == 2 {
				dups++
				if v <= committedRun1[i] || v > w1 {
					t.Fatalf("%s: seq %d duplicated but it was committed (seq %d) or not written by run 1 (last %d)", name, v, committedRun1[i], w1)
				}
			}
		}
		if want := w1 - committedRun1[i]; dups != want {
			t.Fatalf("%s: %d records replayed, want exactly the %d run 1 wrote after its last commit (seq %d..%d]", name, dups, want, committedRun1[i], w1)
		}
		totalDup += dups
	}
	if totalDup == 0 {
		t.Fatal("expected the uncommitted records to be replayed (the crash lost their offsets)")
	}
	t.Logf("duplicates after crash+restart: %d, all after the last commit; %d commits in run 1", totalDup, store.writes.Load())
}

func TestFilteredRecordsAdvanceOffsets(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const parts, perPart = 2, 1000 // last seq 999 is odd: dropped
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 64}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "gen-filter", task)
	cfg.OffsetStore = store
	var dropped atomic.Int64
	cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		n, _ := asInt64(r.SourceOffset["seq"])
		if n%2 == 1 {
			dropped.Add(1)
			return nil, nil
		}
		return r, nil
	})
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "all records done", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsDropped == parts*perPart
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if dropped.Load() != parts*perPart/2 {
		t.Fatalf("dropped %d, want %d", dropped.Load(), parts*perPart/2)
	}
	for i, v := range committed(t, store, "gen-filter", parts, task.part) {
		if v != perPart-1 {
			t.Errorf("p%d: committed seq %d, want %d (the last polled record, although filtered)", i, v, perPart-1)
		}
	}
	got := seqs(t, readAll(t, brokers, topic))
	for name, s := range got {
		if len(s) != perPart/2 {
			t.Errorf("%s: %d records in Kafka, want %d", name, len(s), perPart/2)
		}
	}
	if st := p.PipelineStatus().Tasks[0]; st.RecordsDropped != parts*perPart/2 {
		t.Errorf("status RecordsDropped = %d", st.RecordsDropped)
	}
}

// TestBackpressureCapsInFlightAndMissingTopicStalls: a topic that does not
// exist (auto-creation refused) is a retriable fault, not a record failure:
// the task stays RUNNING, stops polling once the in-flight cap is reached,
// shows the error it keeps getting, commits nothing, and delivers every
// record in order once the topic appears.
func TestBackpressureCapsInFlightAndMissingTopicStalls(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	missing := kafkatest.Topic(t) // created only later; auto-creation is refused below
	const maxInFlight, batch, parts, perPart = 50, 10, 2, 200
	task := &genTask{topic: missing, parts: parts, perPart: perPart, batch: batch}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "gen-backpressure", task)
	cfg.OffsetStore = store
	cfg.OffsetFlushInterval = 50 * time.Millisecond
	cfg.MaxInFlightRecords = maxInFlight
	cfg.ProducerProps = map[string]string{"allow.auto.create.topics": "false", "retry.backoff.max.ms": "200"}
	cfg.Sarama.Metadata.Retry.Max = 5
	cfg.Sarama.Metadata.Retry.Backoff = 20 * time.Millisecond
	var p *source.Pipeline
	var maxSeen atomic.Int64
	var mu sync.Mutex
	task.onPoll = func() {
		mu.Lock()
		defer mu.Unlock()
		if st := p.PipelineStatus(); len(st.Tasks) > 0 && int64(st.Tasks[0].InFlight) > maxSeen.Load() {
			maxSeen.Store(int64(st.Tasks[0].InFlight))
		}
	}
	var err error
	p, err = source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "the task to report the error it keeps getting", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].StallError != nil
	})
	st := p.PipelineStatus()
	ts := st.Tasks[0]
	if st.State != connect.StateRunning || ts.State != connect.StateRunning {
		t.Fatalf("state %s / task %s, want RUNNING while the topic is missing", st.State, ts.State)
	}
	for _, want := range []string{missing, "KAFKA_PRODUCE", "gen-backpressure", "source partition"} {
		if !strings.Contains(ts.StallError.Error(), want) {
			t.Errorf("stall error %q does not name %q", ts.StallError, want)
		}
	}
	if ts.StalledSince.IsZero() {
		t.Error("StalledSince is zero while stalled")
	}
	cs := p.PipelineStatus().Tasks[0]
	if cs.StallError == nil || !cs.Stalled(time.Now(), time.Hour) {
		t.Errorf("connect status: StallError %v, Stalled %v; want the error and stalled", cs.StallError, cs.Stalled(time.Now(), time.Hour))
	}
	// Polling stops once the cap is reached: in flight never exceeds the cap
	// plus one poll batch, and nothing more was polled.
	time.Sleep(300 * time.Millisecond) // let several redelivery rounds fail
	ts = p.PipelineStatus().Tasks[0]
	if got := maxSeen.Load(); got > maxInFlight+batch-1 {
		t.Fatalf("in-flight reached %d records, cap is %d (+%d for one batch)", got, maxInFlight, batch-1)
	}
	if ts.RecordsIn > maxInFlight+batch-1+batch {
		t.Fatalf("polled %d records while nothing was acknowledged; cap %d", ts.RecordsIn, maxInFlight)
	}
	if ts.RecordsOut != 0 || ts.RecordsDropped != 0 {
		t.Fatalf("acked %d, dropped %d records of a missing topic", ts.RecordsOut, ts.RecordsDropped)
	}
	for i, v := range committed(t, store, "gen-backpressure", parts, task.part) {
		if v != -1 {
			t.Fatalf("p%d: offset %d committed although nothing was acknowledged", i, v)
		}
	}
	// The topic appears: every record is delivered, in order, none lost.
	kafkatest.CreateTopic(t, brokers, missing, 2, nil)
	waitFor(t, "all records acknowledged", 120*time.Second, func() bool {
		return p.PipelineStatus().Tasks[0].RecordsOut == parts*perPart
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ts := p.PipelineStatus().Tasks[0]; ts.StallError != nil {
		t.Errorf("stall error %v after recovery", ts.StallError)
	}
	assertComplete(t, brokers, missing, parts, perPart)
	for i, v := range committed(t, store, "gen-backpressure", parts, task.part) {
		if v != perPart-1 {
			t.Errorf("p%d: committed seq %d, want %d", i, v, perPart-1)
		}
	}
}

// assertComplete checks that topic holds seq 0..perPart-1 of every source
// partition p0..p<parts-1>, each once or more, in order (a seq may repeat
// only right after itself or by a replay from an earlier one: it never
// goes back past a seq not yet seen), and returns the duplicates.
func assertComplete(t *testing.T, brokers []string, topic string, parts int, perPart int64) int {
	t.Helper()
	got := seqs(t, readAll(t, brokers, topic))
	dups := 0
	for i := range parts {
		name := fmt.Sprintf("p%d", i)
		s := got[name]
		next := int64(0) // the lowest seq not yet seen
		for j, v := range s {
			switch {
			case v == next:
				next++
			case v < next:
				dups++ // a re-send of a record Kafka already had
			default:
				t.Fatalf("%s: record %d has seq %d, want %d: lost or out of order (around %v)", name, j, v, next, s[max(j-5, 0):min(j+5, len(s))])
			}
		}
		if next != perPart {
			t.Fatalf("%s: %d distinct records in order, want %d", name, next, perPart)
		}
	}
	return dups
}

// TestLastAckFollowsAcknowledgements: the last-ack time (status, stall
// detection) is set once the acknowledgements of a burst pause, however
// few they are, and moves on with the next burst.
func TestLastAckFollowsAcknowledgements(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	var perPart atomic.Int64
	perPart.Store(3)
	task := &genTask{topic: topic, parts: 1, perPart: -1, batch: 1000}
	task.onPoll = func() { task.perPart = perPart.Load() }
	p, err := source.New(baseConfig(t, brokers, "last-ack", task))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	stop := runPipeline(t, p)
	acked := func(n int64) func() bool {
		return func() bool { ts := p.PipelineStatus().Tasks; return len(ts) > 0 && ts[0].RecordsOut == n }
	}
	waitFor(t, "3 records acknowledged", 60*time.Second, acked(3))
	first := p.PipelineStatus().Tasks[0].LastProgress
	if first.Before(before) {
		t.Fatalf("LastAck %v after 3 acknowledgements, want a time after the start (%v)", first, before)
	}
	time.Sleep(20 * time.Millisecond)
	perPart.Store(3 + 700) // a burst that is not a multiple of the clock interval
	waitFor(t, "703 records acknowledged", 60*time.Second, acked(703))
	if second := p.PipelineStatus().Tasks[0].LastProgress; !second.After(first.Add(10 * time.Millisecond)) {
		t.Fatalf("LastAck %v after the second burst, want later than the first burst's %v", second, first)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
