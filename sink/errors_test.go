package sink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// jsonInput is the input of the tolerance tests: per partition, records
// with key "k-<p>-<i>", a JSON value (malformed when i%10 == 9, so the last
// record of each partition of a multiple of 10 is bad), three headers (one
// key twice) and a set timestamp.
type jsonInput struct{ parts, perPart int }

func (in jsonInput) bad(i int) bool { return i%10 == 9 }

func (in jsonInput) msg(topic string, p int32, i int) *sarama.ProducerMessage {
	v := fmt.Sprintf(`{"p":%d,"i":%d}`, p, i)
	if in.bad(i) {
		v = fmt.Sprintf(`{"p":%d,"i":%d,`, p, i) // truncated
	}
	return &sarama.ProducerMessage{
		Topic: topic, Partition: p,
		Key:   sarama.StringEncoder(fmt.Sprintf("k-%d-%d", p, i)),
		Value: sarama.StringEncoder(v),
		Headers: []sarama.RecordHeader{
			{Key: []byte("trace"), Value: []byte(fmt.Sprintf("t-%d-%d", p, i))},
			{Key: []byte("dup"), Value: []byte("a")},
			{Key: []byte("dup"), Value: []byte("b")},
		},
		Timestamp: time.UnixMilli(1_700_000_000_000 + int64(p)*1_000_000 + int64(i)),
	}
}

func (in jsonInput) produce(t testing.TB, brokers []string, topic string) {
	t.Helper()
	var msgs []*sarama.ProducerMessage
	for p := range int32(in.parts) {
		for i := range in.perPart {
			msgs = append(msgs, in.msg(topic, p, i))
		}
	}
	sendAll(t, brokers, msgs)
}

func sendAll(t testing.TB, brokers []string, msgs []*sarama.ProducerMessage) {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Flush.Messages = 1000
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer prod.Close()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if err := prod.SendMessages(msgs[:n]); err != nil {
			t.Fatalf("produce: %v", err)
		}
		msgs = msgs[n:]
	}
}

// readAll returns every record of partition 0 of topic (a dead-letter
// queue has one partition).
func readAll(t testing.TB, brokers []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatalf("end offset of %s: %v", topic, err)
	}
	if end == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
			if m.Offset >= end-1 {
				return out
			}
		case <-timeout:
			t.Fatalf("reading %s: got %d records of %d", topic, len(out), end)
		}
	}
}

func headerValues(m *sarama.ConsumerMessage) map[string]string {
	out := map[string]string{}
	for _, h := range m.Headers {
		out[string(h.Key)] = string(h.Value)
	}
	return out
}

var contextHeaderKeys = []string{
	sluiceerrors.HeaderTopic, sluiceerrors.HeaderPartition, sluiceerrors.HeaderOffset,
	sluiceerrors.HeaderConnectorName, sluiceerrors.HeaderTaskID, sluiceerrors.HeaderStage,
	sluiceerrors.HeaderClassName, sluiceerrors.HeaderExceptionClassName,
	sluiceerrors.HeaderExceptionMessage, sluiceerrors.HeaderExceptionStacktrace,
	// Sluice's Go details, after Kafka Connect's ten.
	sluiceerrors.HeaderGoClassName, sluiceerrors.HeaderGoExceptionClassName, sluiceerrors.HeaderGoExceptionMessage,
}

// checkDLQRecord checks that d is orig (as produced) byte for byte, followed
// by exactly Kafka Connect's ten context headers and Sluice's three, and
// returns those.
func checkDLQRecord(t testing.TB, d *sarama.ConsumerMessage, orig *sarama.ProducerMessage) map[string]string {
	t.Helper()
	key, _ := orig.Key.Encode()
	val, _ := orig.Value.Encode()
	if !bytes.Equal(d.Key, key) || !bytes.Equal(d.Value, val) {
		t.Fatalf("DLQ record %q=%q, want %q=%q", d.Key, d.Value, key, val)
	}
	if !d.Timestamp.Equal(orig.Timestamp) {
		t.Fatalf("DLQ record %q: timestamp %s, want %s", d.Key, d.Timestamp, orig.Timestamp)
	}
	if len(d.Headers) != len(orig.Headers)+len(contextHeaderKeys) {
		t.Fatalf("DLQ record %q has %d headers, want %d original + %d context", d.Key, len(d.Headers), len(orig.Headers), len(contextHeaderKeys))
	}
	for i, h := range orig.Headers {
		if !bytes.Equal(d.Headers[i].Key, h.Key) || !bytes.Equal(d.Headers[i].Value, h.Value) {
			t.Fatalf("DLQ record %q header %d: %q=%q, want %q=%q", d.Key, i, d.Headers[i].Key, d.Headers[i].Value, h.Key, h.Value)
		}
	}
	ctx := map[string]string{}
	for i, k := range contextHeaderKeys {
		h := d.Headers[len(orig.Headers)+i]
		if string(h.Key) != k {
			t.Fatalf("DLQ record %q: context header %d is %q, want %q", d.Key, i, h.Key, k)
		}
		ctx[k] = string(h.Value)
	}
	return ctx
}

func newJSON(t testing.TB) *converters.JSON {
	c, err := converters.NewJSON(converters.JSONConfig{SchemasDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestToleranceAllSkipsMalformedRecordsToDLQ is issue 5's sink acceptance
// line: 10 000 records of which 1 000 are malformed JSON, errors.tolerance=all
// with a dead-letter queue and context headers. The task receives exactly
// the 9 000 good records; the queue holds exactly the 1 000 bad ones, byte
// for byte, with the ten __connect.errors.* headers; the consumer offsets are
// committed to the end (the last record of each partition is a bad one).
func TestToleranceAllSkipsMalformedRecordsToDLQ(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	dlq := topic + "-dlq"
	in := jsonInput{parts: 4, perPart: 2500}
	kafkatest.CreateTopic(t, brokers, topic, int32(in.parts), nil)
	in.produce(t, brokers, topic)
	const total, bad = 10000, 1000

	task := newRecTask()
	conv := newJSON(t)
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.ValueConverter = conv
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQContextHeaders: true, DLQReplicationFactor: 3, LogEnable: true}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsSkipped == total
	})
	running := p.PipelineStatus()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The task got exactly the good records, each partition in order.
	if n := task.n.Load(); n != total-bad {
		t.Fatalf("task received %d records, want %d", n, total-bad)
	}
	for tp, offs := range task.offsets() {
		var want []int64
		for i := range in.perPart {
			if !in.bad(i) {
				want = append(want, int64(i))
			}
		}
		if !slices.Equal(offs, want) {
			t.Fatalf("%s: received %d offsets %v..., want the %d good ones", tp, len(offs), head(offs), len(want))
		}
	}

	// The dead-letter queue holds exactly the bad records, as consumed.
	got := readAll(t, brokers, dlq)
	if len(got) != bad {
		t.Fatalf("DLQ holds %d records, want %d", len(got), bad)
	}
	seen := map[string]bool{}
	for _, d := range got {
		h := headerValues(d)
		part, _ := strconv.Atoi(h[sluiceerrors.HeaderPartition])
		off, _ := strconv.Atoi(h[sluiceerrors.HeaderOffset])
		if !in.bad(off) || part < 0 || part >= in.parts {
			t.Fatalf("DLQ record for partition %d offset %d: not a bad record", part, off)
		}
		orig := in.msg(topic, int32(part), off)
		ctx := checkDLQRecord(t, d, orig)
		val, _ := orig.Value.Encode()
		_, convErr := conv.ToConnect(context.Background(), topic, nil, val)
		want := map[string]string{
			sluiceerrors.HeaderTopic:         topic,
			sluiceerrors.HeaderConnectorName: topic,
			sluiceerrors.HeaderTaskID:        "0",
			sluiceerrors.HeaderStage:         "VALUE_CONVERTER",
			sluiceerrors.HeaderClassName:     "org.apache.kafka.connect.json.JsonConverter",
			// Kafka Connect's classes; the Go ones follow.
			sluiceerrors.HeaderExceptionClassName:   "org.apache.kafka.connect.errors.DataException",
			sluiceerrors.HeaderGoClassName:          "*converters.JSON",
			sluiceerrors.HeaderGoExceptionClassName: "*converters.DataError",
		}
		for k, v := range want {
			if ctx[k] != v {
				t.Fatalf("DLQ record %q: %s = %q, want %q", d.Key, k, ctx[k], v)
			}
		}
		var de *converters.DataError
		if !errors.As(convErr, &de) || ctx[sluiceerrors.HeaderExceptionMessage] != de.JavaMessage() || ctx[sluiceerrors.HeaderGoExceptionMessage] != convErr.Error() {
			t.Fatalf("exception message %q (Go %q), want the converter's %v", ctx[sluiceerrors.HeaderExceptionMessage], ctx[sluiceerrors.HeaderGoExceptionMessage], convErr)
		}
		if st := ctx[sluiceerrors.HeaderExceptionStacktrace]; !strings.Contains(st, convErr.Error()) {
			t.Fatalf("stack trace %q does not hold the message", st)
		}
		k := h[sluiceerrors.HeaderPartition] + "/" + h[sluiceerrors.HeaderOffset]
		if seen[k] {
			t.Fatalf("record %s is in the DLQ twice", k)
		}
		seen[k] = true
	}

	// Committed to the end, skipped records included.
	end := endOffsets(t, brokers, topic, int32(in.parts))
	com := committed(t, brokers, p.GroupID(), topic, int32(in.parts))
	for i := range int32(in.parts) {
		if com[i] != end[i] || end[i] != int64(in.perPart) {
			t.Fatalf("partition %d: committed %d, end offset %d", i, com[i], end[i])
		}
	}

	ts := p.PipelineStatus().Tasks[0]
	if ts.RecordsIn != total || ts.RecordsOut != total-bad || ts.RecordsSkipped != bad || ts.RecordsCommitted != total {
		t.Fatalf("task status %+v", ts)
	}
	if e := ts.Errors; e.RecordsSkipped != bad || e.RecordErrors != bad || e.DLQProduceRequests != bad || e.DLQProduceFailures != 0 || e.ErrorsLogged != bad || e.LastError.IsZero() {
		t.Fatalf("error counters %+v", e)
	}
	rt := running.Tasks[0]
	if running.Type != connect.TypeSink || rt.RecordsIn != total || rt.RecordsOut != total-bad || rt.RecordsDropped != bad ||
		rt.Errors.RecordsSkipped != bad || len(rt.Partitions) != in.parts || rt.LastPoll.IsZero() || rt.LastProgress.IsZero() || rt.Started.IsZero() {
		t.Fatalf("pipeline status while running %+v", running)
	}
}

// TestToleranceNoneFailsAtFirstMalformedRecord: the same input under
// errors.tolerance=none. The task fails at the first bad record, with an
// error naming topic, partition, offset and stage; nothing at or past it is
// committed; the restarted task fails again at the same record, and no
// record was skipped.
func TestToleranceNoneFailsAtFirstMalformedRecord(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	in := jsonInput{parts: 1, perPart: 10000}
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	in.produce(t, brokers, topic)
	const firstBad = 9

	var mu sync.Mutex
	var tasks []*recTask
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task {
		mu.Lock()
		defer mu.Unlock()
		tasks = append(tasks, newRecTask())
		return tasks[len(tasks)-1]
	})
	cfg.ValueConverter = newJSON(t)
	cfg.BatchSize = 4
	cfg.OffsetFlushInterval = 10 * time.Millisecond
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 1, InitialDelay: 10 * time.Millisecond}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = runUntilFailed(ctx, p)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageValueConverter || re.Topic != topic || re.Partition != 0 || re.Offset != firstBad {
		t.Fatalf("Run: %v; want a VALUE_CONVERTER failure at offset %d", err, firstBad)
	}
	for _, want := range []string{"VALUE_CONVERTER", fmt.Sprintf("topic %s partition 0 offset %d", topic, firstBad)} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	ts := p.PipelineStatus().Tasks[0]
	var last *connect.RecordError
	if ts.State != connect.StateFailed || ts.Restarts != 1 || !errors.As(ts.LastFailure, &last) || last.Offset != firstBad || last.Stage != connect.StageValueConverter {
		t.Fatalf("status %s restarts %d last failure %v: the restart must fail at the same record", ts.State, ts.Restarts, ts.LastFailure)
	}
	if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c > firstBad {
		t.Fatalf("committed %d, past the bad record %d", c, firstBad)
	}
	// Nothing skipped: each run received a gap-free run of records before
	// the bad one, starting where the previous one committed.
	mu.Lock()
	defer mu.Unlock()
	if len(tasks) != 2 {
		t.Fatalf("%d task instances, want 2", len(tasks))
	}
	for i, tk := range tasks {
		offs := tk.offsets()[connect.TopicPartition{Topic: topic}]
		for j, o := range offs {
			if o >= firstBad || (j > 0 && o != offs[j-1]+1) {
				t.Fatalf("run %d received offsets %v: want a gap-free run below %d", i+1, offs, firstBad)
			}
		}
	}
	// One record error per instance: the counters add up across the
	// restart (they stay monotonic, as the Runner's metrics promise).
	if ts.RecordsSkipped != 0 || ts.Errors.RecordsSkipped != 0 || ts.Errors.RecordErrors != 2 {
		t.Fatalf("counters %+v %+v", ts, ts.Errors)
	}
}

// TestToleranceAllTransformAndHeaderFailures: failing value conversions,
// transformations and header conversions are skipped to the queue with their
// stage; a retriable transformation failure is retried under
// errors.retry.timeout and then succeeds (nothing skipped for it).
func TestToleranceAllTransformAndHeaderFailures(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	dlq := topic + "-dlq"
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 30)
	sendAll(t, brokers, []*sarama.ProducerMessage{{Topic: topic, Value: sarama.StringEncoder("p0-30"),
		Headers: []sarama.RecordHeader{{Key: []byte("ok"), Value: []byte("1")}, {Key: []byte("poison"), Value: []byte("x")}}}})
	var flaky atomic.Int64
	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.ValueConverter = failingConverter{bad: "p0-4"}
	cfg.HeaderConverter = poisonHeaders{}
	cfg.Transforms = transformFunc(func(rec *connect.Record) (*connect.Record, error) {
		switch string(rec.Value.([]byte)) {
		case "p0-7":
			return nil, errors.New("cannot route")
		case "p0-8":
			if flaky.Add(1) <= 2 {
				return nil, connect.Retriable(errors.New("lookup busy"))
			}
		}
		return rec, nil
	})
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQContextHeaders: true, RetryTimeout: 10 * time.Second}
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 30*time.Second, "every record", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsSkipped == 31
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := task.n.Load(); n != 28 {
		t.Fatalf("task received %d records, want 28", n)
	}
	got := readAll(t, brokers, dlq)
	if len(got) != 3 {
		t.Fatalf("DLQ holds %d records, want 3", len(got))
	}
	for i, want := range []struct{ val, stage string }{{"p0-4", "VALUE_CONVERTER"}, {"p0-7", "TRANSFORMATION"}, {"p0-30", "HEADER_CONVERTER"}} {
		if h := headerValues(got[i]); string(got[i].Value) != want.val || h[sluiceerrors.HeaderStage] != want.stage {
			t.Fatalf("DLQ record %d: %q stage %s, want %q %s", i, got[i].Value, h[sluiceerrors.HeaderStage], want.val, want.stage)
		}
	}
	if h := got[2].Headers; len(h) < 2 || string(h[1].Key) != "poison" || string(h[1].Value) != "x" {
		t.Fatalf("DLQ record lost its original headers: %v", h)
	}
	if e := p.PipelineStatus().Tasks[0].Errors; e.Retries != 2 || e.RecordsSkipped != 3 {
		t.Fatalf("counters %+v, want 2 retries and 3 skipped", e)
	}
	if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c != 31 {
		t.Fatalf("committed %d, want 31", c)
	}
}

// poisonHeaders fails on headers named "poison".
type poisonHeaders struct{}

func (poisonHeaders) FromConnectHeader(context.Context, string, string, *connect.Schema, any) ([]byte, error) {
	return nil, nil
}

func (poisonHeaders) ToConnectHeader(_ context.Context, _, key string, data []byte) (connect.SchemaAndValue, error) {
	if key == "poison" {
		return connect.SchemaAndValue{}, errors.New("poisoned header")
	}
	return connect.SchemaAndValue{Value: string(data)}, nil
}

type transformFunc func(*connect.Record) (*connect.Record, error)

func (f transformFunc) Apply(_ context.Context, r *connect.Record) (*connect.Record, error) {
	return f(r)
}

// TestPutBatchErrorRoutesFailedRecords: Put reports indices 3 and 7 of its
// first batch as failed. Under errors.tolerance=all those two records go to
// the dead-letter queue (their consumed bytes, stage TASK_PUT) and the rest
// of the batch counts as delivered: everything is committed. Under none the
// task fails naming the record at index 3.
func TestPutBatchErrorRoutesFailedRecords(t *testing.T) {
	for _, tol := range []sluiceerrors.Tolerance{sluiceerrors.ToleranceAll, sluiceerrors.ToleranceNone} {
		t.Run(tol.String(), func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			topic := kafkatest.Topic(t)
			dlq := topic + "-dlq"
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			const n = 40
			produce(t, brokers, topic, 1, n)

			task := newRecTask()
			var failedOffs []int64
			var once sync.Once
			task.onPut = func(_ context.Context, recs []connect.Record) error {
				var be *connect.BatchError
				if len(recs) > 7 {
					once.Do(func() {
						failedOffs = []int64{recs[3].OriginalOffset, recs[7].OriginalOffset}
						be = (&connect.BatchError{}).Fail(7, errors.New("row 7 rejected")).Fail(3, errors.New("row 3 rejected"))
					})
				}
				if be != nil {
					return be
				}
				return nil
			}
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
			cfg.BatchSize = 20
			cfg.Linger = 300 * time.Millisecond
			cfg.Errors = sluiceerrors.Config{Tolerance: tol, DLQTopic: dlq, DLQContextHeaders: true}
			p, err := sink.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tol == sluiceerrors.ToleranceNone {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err := runUntilFailed(ctx, p)
				var re *connect.RecordError
				if !errors.As(err, &re) || re.Stage != connect.StageTaskPut || len(failedOffs) != 2 || re.Offset != failedOffs[0] ||
					!strings.Contains(err.Error(), fmt.Sprintf("topic %s partition 0 offset %d", topic, failedOffs[0])) || !strings.Contains(err.Error(), "row 3 rejected") {
					t.Fatalf("Run: %v; want a TASK_PUT failure of the record at index 3 (%v)", err, failedOffs)
				}
				if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c > failedOffs[0]-3 {
					t.Fatalf("committed %d, into the failed batch", c)
				}
				return
			}
			stop := start(t, p)
			waitFor(t, 30*time.Second, "every record", func() bool {
				st := p.PipelineStatus()
				return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut == n-2 && st.Tasks[0].RecordsSkipped == 2
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, brokers, dlq)
			if len(got) != 2 {
				t.Fatalf("DLQ holds %d records, want 2", len(got))
			}
			for i, d := range got {
				h := headerValues(d)
				off := failedOffs[i]
				if string(d.Value) != fmt.Sprintf("p0-%d", off) || string(d.Key) != fmt.Sprintf("k%d", off) ||
					h[sluiceerrors.HeaderOffset] != strconv.FormatInt(off, 10) || h[sluiceerrors.HeaderStage] != "TASK_PUT" ||
					h[sluiceerrors.HeaderClassName] != "org.apache.kafka.connect.sink.SinkTask" || h[sluiceerrors.HeaderGoClassName] != "*sink_test.recTask" || !strings.Contains(h[sluiceerrors.HeaderExceptionMessage], "rejected") {
					t.Fatalf("DLQ record %d: %q=%q %v; want the record at offset %d", i, d.Key, d.Value, h, off)
				}
			}
			if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c != n {
				t.Fatalf("committed %d, want %d", c, n)
			}
			if ts := p.PipelineStatus().Tasks[0]; ts.RecordsOut != n-2 || ts.RecordsSkipped != 2 {
				t.Fatalf("status %+v", ts)
			}
		})
	}
}

// slowLog blocks each error-log report for delay, so that a reporter is
// slow; it counts the reports that began.
type slowLog struct {
	delay   time.Duration
	started *atomic.Int64
}

func (h slowLog) Enabled(context.Context, slog.Level) bool { return true }
func (h slowLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "Error encountered") {
		h.started.Add(1)
		time.Sleep(h.delay)
	}
	return nil
}
func (h slowLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h slowLog) WithGroup(string) slog.Handler      { return h }

// TestErrantRecordReporter: under errors.tolerance=all a task reports records
// from its own goroutines (through a slow error log) and asks for a commit:
// every report that began before the commit has returned, so its record is in
// the dead-letter queue, before PreCommit (and so before the offsets covering
// it are committed). A record the task made up is serialised with the
// converters. Under none the report fails the task, even though the task
// ignores the error.
func TestErrantRecordReporter(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		brokers := kafkatest.Brokers(t)
		topic := kafkatest.Topic(t)
		dlq := topic + "-dlq"
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		const n = 30
		produce(t, brokers, topic, 1, n)

		var logStarted, spawned, completed atomic.Int64
		var wg sync.WaitGroup
		var commitErr atomic.Value
		var commits atomic.Int64
		dlqClient, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		defer dlqClient.Close()
		task := newRecTask()
		task.onPut = func(ctx context.Context, recs []connect.Record) error {
			base := logStarted.Load()
			var mine int64
			for _, rec := range recs {
				if rec.OriginalOffset%10 != 5 {
					continue
				}
				mine++
				spawned.Add(1)
				wg.Go(func() {
					if err := task.tc.Report(context.Background(), &rec, errors.New("rejected downstream")); err != nil {
						commitErr.Store(err)
					}
					completed.Add(1)
				})
			}
			// Wait until the reports have begun (they are in the slow log),
			// then ask for a commit.
			for logStarted.Load() < base+mine {
				time.Sleep(time.Millisecond)
			}
			task.tc.RequestCommit()
			return nil
		}
		task.onCommit = func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
			commits.Add(1)
			// Every report begun so far (and the made-up record's) is in
			// the queue before any offset is committed.
			want := spawned.Load() + 1
			end, err := dlqClient.GetOffset(dlq, 0, sarama.OffsetNewest)
			if err != nil || end < want {
				commitErr.Store(fmt.Errorf("PreCommit while the DLQ holds %d records of %d reported (%v)", end, want, err))
			}
			return offsets, nil
		}
		var once sync.Once
		task.onOpen = func(ctx context.Context, _ []connect.TopicPartition) error {
			once.Do(func() {
				// A record the task made up: not one of a batch.
				if err := task.tc.Report(ctx, &connect.Record{Topic: topic, Value: []byte("made up")}, errors.New("invented")); err != nil {
					commitErr.Store(err)
				}
			})
			return nil
		}
		cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
		cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQContextHeaders: true, LogEnable: true}
		cfg.Logger = slog.New(slowLog{delay: 300 * time.Millisecond, started: &logStarted})
		p, _ := sink.New(cfg)
		stop := start(t, p)
		waitFor(t, 30*time.Second, "every record and report", func() bool { return task.n.Load() == n && completed.Load() == 3 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err, _ := commitErr.Load().(error); err != nil {
			t.Fatal(err)
		}
		if commits.Load() == 0 {
			t.Fatal("no commit")
		}
		got := readAll(t, brokers, dlq)
		if len(got) != 4 {
			t.Fatalf("DLQ holds %d records, want 4", len(got))
		}
		var vals []string
		for _, d := range got {
			vals = append(vals, string(d.Value))
			if h := headerValues(d); h[sluiceerrors.HeaderStage] != "TASK_PUT" {
				t.Fatalf("stage %q", h[sluiceerrors.HeaderStage])
			}
		}
		slices.Sort(vals)
		if !slices.Equal(vals, []string{"made up", "p0-15", "p0-25", "p0-5"}) {
			t.Fatalf("DLQ values %q", vals)
		}
		if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c != n {
			t.Fatalf("committed %d, want %d", c, n)
		}
	})
	t.Run("none", func(t *testing.T) {
		brokers := kafkatest.Brokers(t)
		topic := kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topic, 1, nil)
		produce(t, brokers, topic, 1, 30)
		task := newRecTask()
		var reportErr error
		task.onPut = func(ctx context.Context, recs []connect.Record) error {
			for _, rec := range recs {
				if rec.OriginalOffset == 5 {
					reportErr = task.tc.Report(ctx, &rec, errors.New("rejected downstream"))
				}
			}
			return nil // the task swallows the error
		}
		cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
		cfg.BatchSize = 4
		cfg.OffsetFlushInterval = 10 * time.Millisecond
		p, _ := sink.New(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := runUntilFailed(ctx, p)
		var re *connect.RecordError
		if !errors.As(err, &re) || re.Stage != connect.StageTaskPut || re.Offset != 5 || reportErr == nil || !errors.As(reportErr, &re) {
			t.Fatalf("Run: %v (Report returned %v); want a TASK_PUT failure at offset 5", err, reportErr)
		}
		if c := committed(t, brokers, p.GroupID(), topic, 1)[0]; c > 5 {
			t.Fatalf("committed %d, past the reported record 5", c)
		}
	})
}

// TestRestartPolicy: a task failing twice, then recovering, ends RUNNING with
// 2 restarts; the restarted task resumes from the committed offsets (nothing
// was committed for the failed batches, so every record arrives).
func TestRestartPolicy(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 20)
	var instances atomic.Int64
	var last atomic.Pointer[recTask]
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task {
		task := newRecTask()
		if instances.Add(1) <= 2 {
			task.onPut = func(context.Context, []connect.Record) error { return errors.New("database down") }
		}
		last.Store(task)
		return task
	})
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond}
	p, _ := sink.New(cfg)
	stop := start(t, p)
	waitFor(t, 60*time.Second, "the third instance to deliver", func() bool {
		tk := last.Load()
		return instances.Load() == 3 && tk != nil && tk.n.Load() == 20
	})
	st := p.PipelineStatus().Tasks[0]
	ps := p.PipelineStatus()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.State != connect.StateRunning || st.Restarts != 2 || st.LastFailure == nil || !strings.Contains(st.LastFailure.Error(), "database down") {
		t.Fatalf("status %s restarts %d last failure %v; want RUNNING after 2 restarts", st.State, st.Restarts, st.LastFailure)
	}
	if ps.State != connect.StateRunning || ps.Tasks[0].Restarts != 2 || ps.Tasks[0].LastFailure == nil {
		t.Fatalf("pipeline status %+v", ps)
	}
	checkComplete(t, topic, last.Load().offsets(), map[int32]int64{0: 20})
}

// TestPutRetryKeepsServingAndTimesOut: while a batch is redelivered after
// retriable Put errors, the task goroutine keeps serving commit requests;
// with TaskRetryTimeout (sluice.task.retry.timeout.ms) set, the redelivery
// gives up and the task fails. errors.retry.timeout does not bound it.
func TestPutRetryKeepsServingAndTimesOut(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 10)

	var attempts, commits atomic.Int64
	task := newRecTask()
	task.onPut = func(context.Context, []connect.Record) error {
		attempts.Add(1)
		return connect.Retriable(errors.New("database busy"))
	}
	task.onCommit = func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
		commits.Add(1)
		return offsets, nil
	}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.Errors = sluiceerrors.Config{RetryTimeout: time.Millisecond, RetryDelayMax: 100 * time.Millisecond}
	cfg.TaskRetryTimeout = 1500 * time.Millisecond
	p, _ := sink.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	waitFor(t, 10*time.Second, "a redelivery", func() bool { return attempts.Load() >= 2 })
	task.tc.RequestCommit()
	waitFor(t, 10*time.Second, "a commit during the redelivery", func() bool { return commits.Load() >= 1 })
	err := stopWhenFailed(p, cancel, errc)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageTaskPut || re.Attempts < 3 || !strings.Contains(err.Error(), "database busy") {
		t.Fatalf("Run: %v; want a TASK_PUT failure after the retries", err)
	}
	if st := p.PipelineStatus().Tasks[0]; st.PutRetries < 2 || st.Errors.Retries < 2 || st.RecordsOut != 0 {
		t.Fatalf("status %+v", st)
	}
}
