package kproduce_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kproduce"
)

// TestMain fails the package if a goroutine outlives the tests: a
// producer's Close must stop every goroutine it started, its sarama client's
// included (the in-process brokers are closed by the tests' cleanups).
// kafkatest imports kafkaconf, whose init sets go-metrics' UseNilMetrics, so
// sarama starts no process-global metrics goroutine.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hang bounds every wait: reaching it means the producer hung or lost
// messages, never that it was slow.
const hang = 30 * time.Second

// producerConfig is a producer configuration like Sluice's source's
// (acks from all replicas, idempotent, one request in flight per broker,
// both return channels, short backoffs) with manual partitioning, plus mod.
// It fails t if the result does not pass Validate.
func producerConfig(t testing.TB, mod func(*sarama.Config)) *sarama.Config {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	// Apache Kafka answers NOT_LEADER for a moment after a topic is
	// created; with 10 ms backoffs 20 retries ride that out.
	cfg.Producer.Retry.Max = 20
	cfg.Producer.Retry.Backoff = 10 * time.Millisecond
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("producer configuration: %v", err)
	}
	return cfg
}

// privateBroker starts an in-process broker of the test's own (also when
// KAFKA_BOOTSTRAP_SERVERS is set), for tests that inject faults or stop
// it, closed by t.Cleanup.
func privateBroker(t testing.TB) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// run is one kproduce producer under test and what came back from it. Its
// methods are called from the test's goroutine; a feeder goroutine puts
// messages on Input while the test's goroutine receives, so a producer that
// blocks on a full Successes channel cannot stall the test.
type run struct {
	t *testing.T
	p sarama.AsyncProducer

	sent []*sarama.ProducerMessage       // put on Input, in order
	pos  map[*sarama.ProducerMessage]int // index in sent
	meta map[*sarama.ProducerMessage]any // Metadata as put
	seen map[*sarama.ProducerMessage]bool
	ok   []*sarama.ProducerMessage // from Successes, in arrival order
	errs []*sarama.ProducerError   // from Errors, in arrival order

	okClosed, errsClosed bool // the channel was seen closed

	fed    chan struct{} // closed when the current feeder ends
	stop   chan struct{} // closed by the cleanup: feeders give up
	closed bool          // AsyncClose or Close was called
}

// start returns a run of kproduce.New(addrs, cfg). t.Cleanup stops it if
// the test did not.
func start(t *testing.T, addrs []string, cfg *sarama.Config) *run {
	t.Helper()
	p, err := kproduce.New(addrs, cfg)
	if err != nil {
		t.Fatalf("kproduce.New: %v", err)
	}
	r := &run{t: t, p: p, pos: map[*sarama.ProducerMessage]int{}, meta: map[*sarama.ProducerMessage]any{}, seen: map[*sarama.ProducerMessage]bool{}, stop: make(chan struct{})}
	t.Cleanup(func() {
		close(r.stop)
		if r.fed != nil {
			<-r.fed
		}
		if r.closed {
			return
		}
		r.p.AsyncClose()
		r.closed = true
		deadline := time.After(hang)
		okC, errC := r.p.Successes(), r.p.Errors()
		for okC != nil || errC != nil {
			select {
			case _, more := <-okC:
				if !more {
					okC = nil
				}
			case _, more := <-errC:
				if !more {
					errC = nil
				}
			case <-deadline:
				t.Errorf("cleanup: the producer's channels still open %s after AsyncClose", hang)
				return
			}
		}
	})
	return r
}

// put registers msgs and puts them on Input, in order, from a feeder
// goroutine; it returns at once (after the previous feeder ended).
func (r *run) put(msgs ...*sarama.ProducerMessage) {
	r.t.Helper()
	if r.closed {
		r.t.Fatal("put after close")
	}
	r.awaitFed()
	for _, m := range msgs {
		if _, dup := r.pos[m]; dup {
			r.t.Fatal("test bug: message put twice")
		}
		r.pos[m] = len(r.sent)
		r.meta[m] = m.Metadata
		r.sent = append(r.sent, m)
	}
	fed := make(chan struct{})
	r.fed = fed
	in := r.p.Input()
	go func() {
		defer close(fed)
		for _, m := range msgs {
			select {
			case in <- m:
			case <-r.stop:
				return
			}
		}
	}()
}

// putConcurrently registers groups (in order) and puts each group on Input
// from a feeder goroutine of its own; it returns at once.
func (r *run) putConcurrently(groups ...[]*sarama.ProducerMessage) {
	r.t.Helper()
	r.awaitFed()
	for _, g := range groups {
		for _, m := range g {
			r.pos[m] = len(r.sent)
			r.meta[m] = m.Metadata
			r.sent = append(r.sent, m)
		}
	}
	fed := make(chan struct{})
	r.fed = fed
	in := r.p.Input()
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			for _, m := range g {
				select {
				case in <- m:
				case <-r.stop:
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(fed)
	}()
}

// feeding reports whether the current feeder still runs.
func (r *run) feeding() bool {
	if r.fed == nil {
		return false
	}
	select {
	case <-r.fed:
		return false
	default:
		return true
	}
}

// awaitFed receives until the current feeder has put all its messages.
func (r *run) awaitFed() {
	r.t.Helper()
	r.await("the producer to take every message from Input", func() bool { return !r.feeding() })
}

// resolved is how many messages came back, on either channel.
func (r *run) resolved() int { return len(r.ok) + len(r.errs) }

// receive takes one message from Successes or Errors, or notes that the
// feeder ended, waiting at most until deadline; false if nothing happened
// by then. A message that was never
// put or comes back a second time fails t.
func (r *run) receive(deadline <-chan time.Time) bool {
	r.t.Helper()
	okC, errC := r.p.Successes(), r.p.Errors()
	if r.okClosed {
		okC = nil
	}
	if r.errsClosed {
		errC = nil
	}
	if okC == nil && errC == nil {
		return false
	}
	// The feeder ending is progress too: the last message may come back
	// before the feeder closes fed, and nothing else would wake us then.
	var fedC <-chan struct{}
	if r.feeding() {
		fedC = r.fed
	}
	select {
	case <-fedC:
		return true
	case m, more := <-okC:
		if !more {
			r.okClosed = true
			return true
		}
		r.back(m, "Successes")
		r.ok = append(r.ok, m)
	case e, more := <-errC:
		if !more {
			r.errsClosed = true
			return true
		}
		if e == nil || e.Msg == nil {
			r.t.Errorf("Errors delivered %v (no message)", e)
			return true
		}
		r.back(e.Msg, "Errors")
		r.errs = append(r.errs, e)
	case <-deadline:
		return false
	}
	return true
}

func (r *run) back(m *sarama.ProducerMessage, ch string) {
	r.t.Helper()
	i, ok := r.pos[m]
	switch {
	case !ok:
		r.t.Errorf("%s delivered a message that was never put on Input (%s/%d@%d)", ch, m.Topic, m.Partition, m.Offset)
	case r.seen[m]:
		r.t.Errorf("%s delivered message %d (%s/%d@%d) a second time", ch, i, m.Topic, m.Partition, m.Offset)
	case m.Metadata != r.meta[m]:
		r.t.Errorf("%s delivered message %d with Metadata %v, put with %v", ch, i, m.Metadata, r.meta[m])
	}
	r.seen[m] = true
}

// await receives until cond holds, failing t after hang.
func (r *run) await(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.After(hang)
	for !cond() {
		if !r.receive(deadline) {
			if cond() {
				return
			}
			r.t.Fatalf("still waiting after %s for %s: %d of %d messages back (%d successes, %d errors), Successes closed %v, Errors closed %v",
				hang, what, r.resolved(), len(r.sent), len(r.ok), len(r.errs), r.okClosed, r.errsClosed)
		}
	}
}

// wait receives until every message put so far came back.
func (r *run) wait() {
	r.t.Helper()
	r.await("every message to come back", func() bool { return !r.feeding() && r.resolved() >= len(r.sent) })
}

// asyncClose calls AsyncClose once the feeder is done and receives until
// both channels are closed.
func (r *run) asyncClose() {
	r.t.Helper()
	r.awaitFed()
	r.closed = true
	r.p.AsyncClose()
	r.await("Successes and Errors to be closed after AsyncClose", func() bool { return r.okClosed && r.errsClosed })
}

// close calls Close once every message came back and returns its error;
// it fails t unless both channels are closed afterwards (Close drains
// them itself: nothing may come out).
func (r *run) close() error {
	r.t.Helper()
	r.wait()
	r.closed = true
	done := make(chan error, 1)
	go func() { done <- r.p.Close() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(hang):
		r.t.Fatalf("Close still running after %s", hang)
	}
	deadline := time.After(hang)
	for _, ch := range []struct {
		name string
		recv func() (string, bool)
	}{
		{"Successes", func() (string, bool) {
			select {
			case m, more := <-r.p.Successes():
				return fmt.Sprintf("%v", m), more
			case <-deadline:
				return "timeout", true
			}
		}},
		{"Errors", func() (string, bool) {
			select {
			case e, more := <-r.p.Errors():
				return fmt.Sprintf("%v", e), more
			case <-deadline:
				return "timeout", true
			}
		}},
	} {
		if got, more := ch.recv(); more {
			r.t.Errorf("after Close returned, %s is not closed (received %s)", ch.name, got)
		}
	}
	return err
}

// checkAllOK fails t unless every message put came back on Successes.
func (r *run) checkAllOK() {
	r.t.Helper()
	for i, e := range r.errs {
		if i == 5 {
			r.t.Errorf("... %d errors in all", len(r.errs))
			break
		}
		r.t.Errorf("message %d (partition %d) came back on Errors: %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
	}
	if len(r.ok) != len(r.sent) {
		r.t.Errorf("%d of %d messages came back on Successes", len(r.ok), len(r.sent))
	}
}

// okOf returns the messages that came back on Successes and satisfy want,
// in Input order.
func (r *run) okOf(want func(*sarama.ProducerMessage) bool) []*sarama.ProducerMessage {
	var out []*sarama.ProducerMessage
	for _, m := range r.ok {
		if want(m) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *sarama.ProducerMessage) int { return r.pos[a] - r.pos[b] })
	return out
}

// checkGapless fails t unless msgs (a partition's successes, in Input
// order) have consecutive offsets starting at first (first < 0: at any).
func checkGapless(t *testing.T, p int32, msgs []*sarama.ProducerMessage, first int64) {
	t.Helper()
	for i, m := range msgs {
		if m.Partition != p {
			t.Errorf("partition %d message %d: Partition %d", p, i, m.Partition)
			return
		}
		want := first + int64(i)
		if first < 0 {
			want = msgs[0].Offset + int64(i)
		}
		if m.Offset != want {
			t.Errorf("partition %d: message %d in Input order has offset %d, want %d (offsets not gapless in Input order)", p, i, m.Offset, want)
			return
		}
	}
}

// badEncoder is an Encoder whose Encode fails.
type badEncoder struct{ err error }

func (e badEncoder) Encode() ([]byte, error) { return nil, e.err }
func (e badEncoder) Length() int             { return 10 }

// countingEncoder is a ByteEncoder counting its Encode calls in n.
type countingEncoder struct {
	b []byte
	n *atomic.Int64
}

func (e countingEncoder) Encode() ([]byte, error) {
	e.n.Add(1)
	return e.b, nil
}
func (e countingEncoder) Length() int { return len(e.b) }

// tsBase is the base of the test messages' timestamps: recent, so that an
// Apache Kafka broker's retention (7 days by default) does not delete them
// while a test runs, and in the past, within its bounds on timestamps.
var tsBase = time.Now().Add(-time.Hour).Truncate(time.Millisecond)

// message returns a message for topic partition p whose Metadata is idx,
// with key "k<idx>" and value "<tag>-<idx>" padded to size bytes.
func message(topic string, p int32, idx int, tag string, size int) *sarama.ProducerMessage {
	v := fmt.Appendf(nil, "%s-%d;", tag, idx)
	for len(v) < size {
		v = append(v, byte('a'+len(v)%26))
	}
	return &sarama.ProducerMessage{
		Topic: topic, Partition: p, Metadata: idx,
		Key: sarama.ByteEncoder(fmt.Appendf(nil, "k%d", idx)), Value: sarama.ByteEncoder(v),
		Timestamp: tsBase.Add(time.Duration(idx) * time.Millisecond),
	}
}

// messages returns n messages per partition in [0, parts), interleaved
// (partition i%parts), Metadata counting from first.
func messages(topic string, parts int32, n, first int, tag string) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, 0, n*int(parts))
	for i := range n * int(parts) {
		out = append(out, message(topic, int32(i)%parts, first+i, tag, 40))
	}
	return out
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// encoded is e's bytes, nil for a nil Encoder.
func encoded(t *testing.T, e sarama.Encoder) []byte {
	t.Helper()
	if e == nil {
		return nil
	}
	b, err := e.Encode()
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return b
}

// logRec is one record read back from a partition's log.
type logRec struct {
	off      int64
	key, val []byte
	headers  []*sarama.RecordHeader
	ts       time.Time
	appendTS bool // the batch has LogAppendTime
}

// logBatch is one record batch read back from a partition's log.
type logBatch struct {
	base, last    int64
	n             int
	producerID    int64
	producerEpoch int16
	firstSeq      int32
	txn, control  bool
}

// readLog reads partition p of topic from offset 0 to its high watermark
// with raw Fetch requests, returning its records and batches.
func readLog(t *testing.T, addrs []string, topic string, p int32) ([]logRec, []logBatch) {
	t.Helper()
	client, err := sarama.NewClient(addrs, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("sarama client: %v", err)
	}
	defer client.Close()
	var (
		recs    []logRec
		batches []logBatch
		next    int64
	)
	deadline := time.Now().Add(hang)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("reading %s/%d: still not at the high watermark after %s (at offset %d)", topic, p, hang, next)
		}
		b, err := client.Leader(topic, p)
		if err != nil {
			t.Logf("leader of %s/%d: %v", topic, p, err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		req := &sarama.FetchRequest{Version: 11, MinBytes: 1, MaxBytes: 64 << 20, Isolation: sarama.ReadUncommitted, SessionEpoch: -1}
		req.AddBlock(topic, p, next, 16<<20, -1)
		resp, err := b.Fetch(req)
		if err != nil {
			t.Logf("fetching %s/%d@%d: %v", topic, p, next, err)
			_ = client.RefreshMetadata(topic)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		blk := resp.GetBlock(topic, p)
		if blk == nil {
			continue
		}
		if !errors.Is(blk.Err, sarama.ErrNoError) {
			t.Logf("fetching %s/%d@%d: %v", topic, p, next, blk.Err)
			_ = client.RefreshMetadata(topic)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if next >= blk.HighWaterMarkOffset {
			return recs, batches
		}
		for _, rs := range blk.RecordsSet {
			rb := rs.RecordBatch
			if rb == nil {
				t.Fatalf("%s/%d: a legacy message set in the log", topic, p)
			}
			if rb.PartialTrailingRecord {
				break
			}
			batches = append(batches, logBatch{base: rb.FirstOffset, last: rb.LastOffset(), n: len(rb.Records),
				producerID: rb.ProducerID, producerEpoch: rb.ProducerEpoch, firstSeq: rb.FirstSequence,
				txn: rb.IsTransactional, control: rb.Control})
			for _, rec := range rb.Records {
				off := rb.FirstOffset + rec.OffsetDelta
				if off < next {
					continue
				}
				lr := logRec{off: off, key: rec.Key, val: rec.Value, headers: rec.Headers,
					ts: rb.FirstTimestamp.Add(rec.TimestampDelta), appendTS: rb.LogAppendTime}
				if rb.LogAppendTime {
					lr.ts = rb.MaxTimestamp
				}
				recs = append(recs, lr)
			}
			next = max(next, rb.LastOffset()+1)
		}
	}
}

// checkLog fails t unless log (a partition's records, from readLog) holds
// exactly want, in order: offset (as reported on Successes), key, value,
// headers, timestamp (unless want's is zero). Nil and empty are told apart.
func checkLog(t *testing.T, p int32, log []logRec, want []*sarama.ProducerMessage) {
	t.Helper()
	if len(log) != len(want) {
		t.Errorf("partition %d: the log holds %d records, want %d", p, len(log), len(want))
	}
	bad := 0
	for i := range min(len(log), len(want)) {
		l, m := log[i], want[i]
		key, val := encoded(t, m.Key), encoded(t, m.Value)
		var e string
		switch {
		case l.off != m.Offset:
			e = fmt.Sprintf("offset %d, Successes said %d", l.off, m.Offset)
		case (l.key == nil) != (key == nil) || !bytes.Equal(l.key, key):
			e = fmt.Sprintf("key %q (nil %v), want %q (nil %v)", l.key, l.key == nil, key, key == nil)
		case (l.val == nil) != (val == nil) || !bytes.Equal(l.val, val):
			e = fmt.Sprintf("value %.40q (%d bytes, nil %v), want %.40q (%d bytes, nil %v)", l.val, len(l.val), l.val == nil, val, len(val), val == nil)
		case !m.Timestamp.IsZero() && !l.ts.Equal(m.Timestamp):
			e = fmt.Sprintf("timestamp %v, want %v", l.ts, m.Timestamp)
		case len(l.headers) != len(m.Headers):
			e = fmt.Sprintf("%d headers, want %d", len(l.headers), len(m.Headers))
		default:
			for j, h := range l.headers {
				w := m.Headers[j]
				if !bytes.Equal(h.Key, w.Key) || !bytes.Equal(h.Value, w.Value) || (h.Value == nil) != (w.Value == nil) {
					e = fmt.Sprintf("header %d is %q=%q (nil %v), want %q=%q (nil %v)", j, h.Key, h.Value, h.Value == nil, w.Key, w.Value, w.Value == nil)
					break
				}
			}
		}
		if e != "" {
			bad++
			if bad <= 5 {
				t.Errorf("partition %d log record %d: %s", p, i, e)
			}
		}
	}
	if bad > 5 {
		t.Errorf("partition %d: %d records differ in all", p, bad)
	}
}

// checkSequences fails t unless batches (a partition's, from readLog) were
// all written by idempotent producers with contiguous sequence numbers:
// the first producer id and epoch from firstSeq, a later one (the producer
// may take a new id after an error) from 0, never an earlier one again.
func checkSequences(t *testing.T, p int32, batches []logBatch, firstSeq int32) {
	t.Helper()
	if len(batches) == 0 {
		t.Errorf("partition %d: no batches", p)
		return
	}
	type pe struct {
		pid   int64
		epoch int16
	}
	var (
		cur  = pe{batches[0].producerID, batches[0].producerEpoch}
		past = map[pe]bool{}
		seq  = firstSeq
	)
	for _, b := range batches {
		if b.producerID < 0 || b.producerEpoch < 0 {
			t.Errorf("partition %d: batch at %d has producer id %d epoch %d: not idempotent", p, b.base, b.producerID, b.producerEpoch)
			return
		}
		if b.txn || b.control {
			t.Errorf("partition %d: batch at %d is transactional (%v) or a control batch (%v)", p, b.base, b.txn, b.control)
		}
		if id := (pe{b.producerID, b.producerEpoch}); id != cur {
			past[cur] = true
			if past[id] {
				t.Errorf("partition %d: batch at %d goes back to producer id %d epoch %d", p, b.base, id.pid, id.epoch)
			}
			t.Logf("partition %d: from offset %d, producer id %d epoch %d (was %d epoch %d)", p, b.base, id.pid, id.epoch, cur.pid, cur.epoch)
			cur, seq = id, 0
		}
		if b.firstSeq != seq {
			t.Errorf("partition %d: batch at %d (%d records, producer id %d epoch %d) has first sequence %d, want %d", p, b.base, b.n, b.producerID, b.producerEpoch, b.firstSeq, seq)
			return
		}
		seq += int32(b.n)
	}
}

// sameLog reads partition p back and checks it holds exactly want (in
// order, with the offsets Successes reported) and, with idempotent true,
// contiguous sequence numbers from 0.
func sameLog(t *testing.T, addrs []string, topic string, p int32, want []*sarama.ProducerMessage, idempotent bool) {
	t.Helper()
	log, batches := readLog(t, addrs, topic, p)
	checkLog(t, p, log, want)
	if idempotent {
		checkSequences(t, p, batches, 0)
	}
}

// byPartition returns a filter for okOf.
func byPartition(p int32) func(*sarama.ProducerMessage) bool {
	return func(m *sarama.ProducerMessage) bool { return m.Partition == p }
}

// checkWritten checks, for each of topic's first n partitions, that the
// messages that came back on Successes are gapless from offset 0 and are
// what the partition's log holds (sameLog, idempotent).
func (r *run) checkWritten(addrs []string, topic string, n int32) {
	r.t.Helper()
	for p := range n {
		got := r.okOf(byPartition(p))
		checkGapless(r.t, p, got, 0)
		sameLog(r.t, addrs, topic, p, got, true)
	}
}
