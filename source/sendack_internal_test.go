package source

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// echoProducer is a sarama.AsyncProducer without a broker: every message
// is acknowledged, in order, by one goroutine (as sarama's own hands
// messages back). It isolates the pipeline's own per-record cost.
type echoProducer struct {
	in   chan *sarama.ProducerMessage
	succ chan *sarama.ProducerMessage
	errs chan *sarama.ProducerError
	done chan struct{}
}

func newEchoProducer([]string, *sarama.Config) (sarama.AsyncProducer, error) {
	p := &echoProducer{in: make(chan *sarama.ProducerMessage, 256), succ: make(chan *sarama.ProducerMessage, 256),
		errs: make(chan *sarama.ProducerError), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for m := range p.in {
			p.succ <- m
		}
		close(p.succ)
		close(p.errs)
	}()
	return p, nil
}

func (p *echoProducer) AsyncClose()                               { close(p.in) }
func (p *echoProducer) Close() error                              { close(p.in); <-p.done; return nil }
func (p *echoProducer) Input() chan<- *sarama.ProducerMessage     { return p.in }
func (p *echoProducer) Successes() <-chan *sarama.ProducerMessage { return p.succ }
func (p *echoProducer) Errors() <-chan *sarama.ProducerError      { return p.errs }
func (p *echoProducer) IsTransactional() bool                     { return false }
func (p *echoProducer) TxnStatus() sarama.ProducerTxnStatusFlag   { return sarama.ProducerTxnFlagReady }
func (p *echoProducer) BeginTxn() error                           { return nil }
func (p *echoProducer) CommitTxn() error                          { return nil }
func (p *echoProducer) AbortTxn() error                           { return nil }
func (p *echoProducer) AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata, string) error {
	return nil
}
func (p *echoProducer) AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata, *sarama.ConsumerGroupMetadata) error {
	return nil
}
func (p *echoProducer) AddMessageToTxn(*sarama.ConsumerMessage, string, *string) error { return nil }
func (p *echoProducer) AddMessageToTxnWithGroupMetadata(*sarama.ConsumerMessage, *sarama.ConsumerGroupMetadata, *string) error {
	return nil
}

// reuseTask emits n records of a fixed 100-byte value over 4 source
// partitions in batches of 500, with a partition map per source partition
// and offset maps taken from a ring made beforehand (newReuseTask): a task
// that allocates nothing per record, so that what a benchmark counts is the
// pipeline's.
type reuseTask struct {
	topic string
	n     int
	sent  int
	value any  // the 100-byte value, boxed once
	fresh bool // a new offset map per record (as bench's generator), not the ring's
	parts [4]map[string]any
	offs  []map[string]any
}

const reuseRing = 1 << 16 // > MaxInFlightRecords: a ring map is never in flight twice

func newReuseTask(topic string, n int) *reuseTask {
	m := &reuseTask{topic: topic, n: n, value: make([]byte, 100)}
	for i := range m.parts {
		m.parts[i] = map[string]any{"p": int64(i)}
	}
	m.offs = make([]map[string]any, reuseRing)
	for i := range m.offs {
		m.offs[i] = map[string]any{"o": int64(i)}
	}
	return m
}

func (m *reuseTask) Start(context.Context, TaskContext) error { return nil }

func (m *reuseTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if m.sent >= m.n {
		<-ctx.Done()
		return nil, nil
	}
	n := min(500, m.n-m.sent)
	out := make([]connect.Record, n)
	for i := range out {
		k := m.sent + i
		out[i] = connect.Record{Topic: m.topic, ValueSchema: connect.OptionalBytesSchema, Value: m.value,
			SourcePartition: m.parts[k%4], SourceOffset: m.offs[k%reuseRing]}
		if m.fresh {
			out[i].SourceOffset = map[string]any{"o": int64(k)}
		}
	}
	m.sent += n
	return out, nil
}

func (m *reuseTask) Stop(context.Context) error { return nil }

// runEcho runs n records of a reuseTask through a pipeline whose producer
// acknowledges without a broker, and waits until all were acknowledged.
func runEcho(tb testing.TB, n int, fresh bool, before func()) {
	tb.Helper()
	task := newReuseTask("t", n)
	task.fresh = fresh
	runEchoTask(tb, task, n, offsets.NewMemoryStore(), before)
}

// runEchoTask runs task, which emits n records, with the echo producer and
// store until all were acknowledged, then stops the pipeline (gracefully:
// the final offset commit) and returns its last task status.
func runEchoTask(tb testing.TB, task Task, n int, store offsets.Store, before func(), opts ...func(*Config)) connect.TaskStatus {
	tb.Helper()
	saved := newAsyncProducer
	newAsyncProducer = newEchoProducer
	defer func() { newAsyncProducer = saved }()
	cfg := Config{Name: "echo", Brokers: []string{"127.0.0.1:1"}, NewTask: func() Task { return task },
		Logger: slog.New(slog.DiscardHandler), OffsetStore: store}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	before()
	go func() { done <- p.Run(ctx) }()
	for {
		if st := p.PipelineStatus(); len(st.Tasks) > 0 && st.Tasks[0].RecordsOut >= int64(n) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	return p.PipelineStatus().Tasks[0]
}

// committingTask is a reuseTask that records the CommitRecord calls.
type committingTask struct {
	*reuseTask
	mu      sync.Mutex
	offsets []int64 // SourceOffset["o"] of each CommitRecord, in call order
	badMeta int     // calls without the record's topic in meta
}

func (c *committingTask) CommitRecord(_ context.Context, rec *connect.Record, meta *RecordMetadata) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offsets = append(c.offsets, rec.SourceOffset["o"].(int64))
	if meta == nil || meta.Topic != rec.Topic {
		c.badMeta++
	}
	return nil
}

// The ack loop's runs of acknowledgements keep the per-record contract:
// CommitRecord once per acknowledged record, in order, with its metadata;
// the counters exact once the pipeline stopped; and the committed offset of
// each source partition that of its last record.
func TestAckRunsKeepPerRecordBookkeeping(t *testing.T) {
	const n = 10_000 // < reuseRing: offsets are the record numbers
	task := &committingTask{reuseTask: newReuseTask("t", n)}
	store := offsets.NewMemoryStore()
	st := runEchoTask(t, task, n, store, func() {})
	if len(task.offsets) != n || task.badMeta != 0 {
		t.Fatalf("%d CommitRecord calls (%d with wrong metadata), want %d", len(task.offsets), task.badMeta, n)
	}
	for i, o := range task.offsets {
		if o != int64(i) {
			t.Fatalf("CommitRecord #%d for record %d: out of order", i, o)
		}
	}
	if st.RecordsIn != n || st.RecordsWritten != n || st.RecordsOut != n || st.InFlightBytes != 0 {
		t.Fatalf("status in %d written %d out %d in-flight bytes %d, want %d, %d, %d, 0", st.RecordsIn, st.RecordsWritten, st.RecordsOut, st.InFlightBytes, n, n, n)
	}
	entries, err := store.List(context.Background(), "echo")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("committed %v, want 4 source partitions", entries)
	}
	for _, e := range entries {
		p := e.Partition["p"].(int64)
		if want := int64(n - 4 + int(p)); e.Offset["o"] != want {
			t.Fatalf("source partition %d committed at %v, want %d (its last record)", p, e.Offset, want)
		}
	}
}

// BenchmarkSendAck measures the source runtime's own per-record cost: one
// op is one record polled (from a task that allocates nothing per record),
// checked, converted (ByteArray), tracked, handed to the producer,
// acknowledged and finished, with a producer that acknowledges without a
// broker (no sarama CPU). ns/op is the pipeline's, plus one channel
// hand-off each way.
// cpu-ns/op is the process's CPU time per record (all goroutines: the
// pipeline's, the echo producer's and the benchmark's status polling).
// Sub-benchmarks: the task's offset maps reused from a ring (the runtime
// alone), or a new one per record (what bench's generator and most real
// sources pay on top).
func BenchmarkSendAck(b *testing.B) {
	for _, bc := range []struct {
		name  string
		fresh bool
	}{{"offsets=reused", false}, {"offsets=per-record", true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var cpu0 time.Duration
			runEcho(b, b.N, bc.fresh, func() { b.ResetTimer(); cpu0 = processCPU() })
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// watchStore is a MemoryStore that remembers the highest offset ("o")
// written for each source partition ("p").
type watchStore struct {
	*offsets.MemoryStore
	mu      sync.Mutex
	highest map[int64]int64
}

func (w *watchStore) Write(ctx context.Context, connector string, entries []connect.OffsetEntry) error {
	if err := w.MemoryStore.Write(ctx, connector, entries); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range entries {
		p, o := e.Partition["p"].(int64), e.Offset["o"].(int64)
		if h, ok := w.highest[p]; !ok || o > h {
			w.highest[p] = o
		}
	}
	return nil
}

// ackOrderTask is a reuseTask whose CommitRecord checks that no offset at
// or past its record was committed before it was called.
type ackOrderTask struct {
	*reuseTask
	store  *watchStore
	mu     sync.Mutex
	calls  int
	before []int64 // offsets committed ahead of their CommitRecord
}

func (a *ackOrderTask) CommitRecord(_ context.Context, rec *connect.Record, _ *RecordMetadata) error {
	p, o := rec.SourcePartition["p"].(int64), rec.SourceOffset["o"].(int64)
	a.store.mu.Lock()
	h, ok := a.store.highest[p]
	a.store.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if ok && h >= o {
		a.before = append(a.before, o)
	}
	if a.calls%64 == 1 {
		// Give a periodic commit (every millisecond) the chance to run
		// while this run of acknowledgements is being handed out.
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// CommitRecord is called before its record counts as done for offsets (as
// Kafka Connect's producer callback: commitTaskRecord, then ack), also when
// the ack loop handles acknowledgements in runs: an offset commit never
// covers a record whose CommitRecord has not been called yet. (A source
// that acknowledges upstream in CommitRecord would otherwise lose the
// acknowledgement of committed records when it crashes between the two.)
func TestCommitRecordBeforeOffsetCommit(t *testing.T) {
	const n = 5000
	store := &watchStore{MemoryStore: offsets.NewMemoryStore(), highest: map[int64]int64{}}
	task := &ackOrderTask{reuseTask: newReuseTask("t", n), store: store}
	runEchoTask(t, task, n, store, func() {}, func(c *Config) { c.OffsetFlushInterval = time.Millisecond })
	if task.calls != n {
		t.Fatalf("%d CommitRecord calls, want %d", task.calls, n)
	}
	if len(task.before) > 0 {
		t.Fatalf("%d records were committed before their CommitRecord (first: offset %d)", len(task.before), task.before[0])
	}
}
