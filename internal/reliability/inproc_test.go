package reliability_test

// In-process scenarios of the fault-injection suite: produce errors injected
// on the embedded broker, malformed records, panicking tasks. The pipelines
// run in the test process (the panic scenarios in a child process of their
// own, see isolated); each scenario prints a "reliability: scenario=…"
// figures line and fails on any lost record.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// TestProduceErrorsInjected: a source pipeline writes 3 partitions of
// numbered records to the embedded broker, which answers produce requests
// with errors for a few seconds, then normally again; a sink pipeline reads
// the topic.
//
// refused: the broker answers every produce request with
// NOT_LEADER_OR_FOLLOWER for 2 s, then with REQUEST_TIMED_OUT for 8 s (5 s
// and 20 s with SLUICE_RELIABILITY=full), writing nothing (kfake's control
// hooks). Under errors.tolerance=all and none: no
// record lost, order per partition kept, no duplicate in the topic (the
// broker wrote nothing it refused), the task was never FAILED, the
// committed source offsets are exactly what was delivered, and the sink
// received everything with the group's offsets at the end of the topic.
// Whether the task's status showed the error it kept getting (StallError)
// during the fault is reported, not checked: the source lets sarama retry
// in order for a few seconds before it sees the error itself.
//
// written: for 8 s (20 s) the broker writes every produce request but
// answers REQUEST_TIMED_OUT, as Apache Kafka does when replication does not
// finish in time (kfake's faults). Same checks, except that duplicates are
// counted, not failed: a retry in the same idempotent producer session is
// deduplicated by the broker, a re-send by a new producer is not.
//
// The scenario is defined on the embedded broker: it starts its own kfake
// cluster even when KAFKA_BOOTSTRAP_SERVERS is set.
func TestProduceErrorsInjected(t *testing.T) {
	t.Run("refused,tolerance=all", func(t *testing.T) { produceErrorsScenario(t, faultRefused, sluiceerrors.ToleranceAll) })
	t.Run("refused,tolerance=none", func(t *testing.T) { produceErrorsScenario(t, faultRefused, sluiceerrors.ToleranceNone) })
	t.Run("written,tolerance=all", func(t *testing.T) { produceErrorsScenario(t, faultWritten, sluiceerrors.ToleranceAll) })
}

// produceFault is how the broker fails produce requests.
type produceFault int

const (
	// faultRefused answers NOT_LEADER_OR_FOLLOWER, then REQUEST_TIMED_OUT,
	// and writes nothing.
	faultRefused produceFault = iota
	// faultWritten writes the records and answers REQUEST_TIMED_OUT.
	faultWritten
)

func (f produceFault) String() string {
	if f == faultWritten {
		return "written"
	}
	return "refused"
}

func produceErrorsScenario(t *testing.T, fault produceFault, tol sluiceerrors.Tolerance) {
	noLeaks(t)
	log := scenarioLog(t)
	const parts = 3
	perPart := int64(3000)
	// The fault outlasts sarama's own in-order retries (about 7 s), so the
	// pipeline's redelivery runs too.
	notLeader, timedOut := 2*time.Second, 8*time.Second
	if fullRun() {
		perPart, notLeader, timedOut = 20000, 5*time.Second, 20*time.Second
	}
	if fault == faultWritten {
		notLeader = 0
	}
	total := int64(parts) * perPart
	topic := kafkatest.Topic(t)

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, topic), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("starting the embedded broker: %v", err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()

	errCfg := sluiceerrors.Config{Tolerance: tol, LogEnable: true}
	rec := newRecorder()
	name := fmt.Sprintf("produce-errors-%s-%s", fault, tol)
	sk, err := sink.New(sink.Config{
		Name: name + "-sink", Brokers: brokers, Topics: []string{topic},
		NewTask:             func() sink.Task { return &recordingSink{rec: rec} },
		Errors:              errCfg,
		OffsetFlushInterval: time.Second,
		Sarama:              kafkatest.SaramaConfig(t),
		ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
		Logger:              log,
	})
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemoryStore()
	// ~2 000 records/s: the stream is well under way when the fault
	// starts and goes on during and after it.
	src, err := source.New(source.Config{
		Name: name + "-source", Brokers: brokers,
		NewTask: func() source.Task {
			return &seqSource{topic: topic, parts: parts, perPart: perPart, batch: 20, every: 25 * time.Millisecond}
		},
		OffsetStore:         store,
		OffsetFlushInterval: 500 * time.Millisecond,
		Errors:              errCfg,
		Logger:              log,
	})
	if err != nil {
		t.Fatal(err)
	}
	sinkRun := runInBackground(t, sk)
	srcRun := runInBackground(t, src)
	ctx := context.Background()

	srcTask := func() connect.TaskStatus {
		st := src.PipelineStatus()
		if len(st.Tasks) == 0 {
			return connect.TaskStatus{State: st.State}
		}
		return st.Tasks[0]
	}
	if !waitUntil(ctx, 60*time.Second, func() bool { return srcTask().RecordsOut >= total/5 || srcRun.exited() }) {
		t.Fatalf("the source acknowledged %d records in 60 s, before any fault", srcTask().RecordsOut)
	}

	// The fault.
	var injectedNL, injectedTO atomic.Int64
	faultStart := time.Now()
	faultEnd := faultStart.Add(notLeader + timedOut)
	var written *kfake.FaultHandle
	switch fault {
	case faultRefused:
		// Every produce request is answered with an error, first
		// NOT_LEADER_OR_FOLLOWER, then REQUEST_TIMED_OUT; nothing is
		// written.
		cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			var code int16
			switch el := time.Since(faultStart); {
			case el < notLeader:
				code = kerr.NotLeaderForPartition.Code
				injectedNL.Add(1)
			case el < notLeader+timedOut:
				code = kerr.RequestTimedOut.Code
				injectedTO.Add(1)
			default:
				cluster.DropControl()
				return nil, nil, false
			}
			cluster.KeepControl()
			return produceErrorResponse(req, code), nil, true
		})
	case faultWritten:
		// Every produce request to the topic is written, and answered
		// REQUEST_TIMED_OUT.
		written = cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.RequestTimedOut, Count: -1})
	}
	var failedDuringFault bool
	var lastErr, stallErr error
	for time.Now().Before(faultEnd) {
		ts := srcTask()
		if ts.State == connect.StateFailed {
			failedDuringFault = true
		}
		if ts.Err != nil {
			lastErr = ts.Err
		}
		if ts.StallError != nil && ts.State == connect.StateRunning {
			stallErr = ts.StallError
		}
		time.Sleep(50 * time.Millisecond)
	}
	if written != nil {
		written.Remove()
		injectedTO.Store(int64(written.Hits()))
	}
	writtenAtEnd := srcTask().RecordsWritten
	t.Logf("fault over: task %s, %d acked of %d written, last error: %v, stall error: %v", srcTask().State, srcTask().RecordsOut, writtenAtEnd, lastErr, stallErr)

	// Recovery: everything handed to the producer before the fault ended is
	// acknowledged (not dropped: a dropped record is no recovery).
	droppedAtEnd := srcTask().RecordsDropped
	recoverAfter := time.Duration(-1)
	settled := waitUntil(ctx, 90*time.Second, func() bool {
		ts := srcTask()
		return ts.RecordsOut+ts.RecordsDropped >= writtenAtEnd || srcRun.exited()
	})
	if ts := srcTask(); settled && !srcRun.exited() && ts.RecordsOut >= writtenAtEnd && ts.RecordsDropped == droppedAtEnd {
		recoverAfter = time.Since(faultEnd)
	}
	// The end of the stream: every record acknowledged (or dropped) and none
	// in flight. (Polled is not enough: records polled but not yet sent when
	// the pipeline stops are abandoned, uncommitted, for a restart to poll
	// again.)
	waitUntil(ctx, 90*time.Second, func() bool {
		ts := srcTask()
		return (ts.RecordsOut+ts.RecordsDropped >= total && ts.InFlight == 0) || srcRun.exited()
	})
	srcExited := srcRun.exited()
	srcErr := srcRun.stop(t)
	committed := committedSeqs(t, store, src.Name(), parts)
	final := srcTask()

	// The sink delivers whatever reached the topic.
	ends := endOffsets(t, brokers, topic)
	waitUntil(ctx, 60*time.Second, func() bool {
		offs, _ := rec.snapshot()
		for p, end := range ends {
			if o := offs[p]; end > 0 && (len(o) == 0 || o[len(o)-1] < end-1) {
				return sinkRun.exited()
			}
		}
		return true
	})
	sinkErr := sinkRun.stop(t)
	group := groupOffsets(t, brokers, sk.GroupID(), topic, ends)

	topicSeqs := seqsByPart(t, valuesOf(readTopic(t, brokers, topic)))
	inTopic := countAll(topicSeqs, parts, perPart)
	// Committed = delivered: no committed source offset covers a record
	// that is not in the topic.
	var committedUndelivered int64
	for i, c := range committed {
		have := map[int64]bool{}
		for _, seq := range topicSeqs[i] {
			have[seq] = true
		}
		for seq := int64(0); seq <= c; seq++ {
			if !have[seq] {
				committedUndelivered++
			}
		}
	}
	_, sinkVals := rec.snapshot()
	atSink := countAll(seqsByPart(t, sinkVals), parts, perPart)

	if srcErr != nil || srcExited {
		t.Errorf("the source pipeline stopped by itself (%v): a broker answering with retriable errors must never fail the task", srcErr)
	}
	if failedDuringFault {
		t.Errorf("the source task was FAILED during the fault (last error: %v); retriable produce errors are \"not yet\", never a task failure", lastErr)
	}
	if injectedNL.Load()+injectedTO.Load() == 0 {
		t.Errorf("no produce request was answered with an error: the fault was not injected")
	}
	if inTopic.Lost > 0 {
		t.Errorf("%d of %d records never reached the topic (the first lost: seq %d); %d were dropped as record failures",
			inTopic.Lost, total, inTopic.FirstLost, final.RecordsDropped)
	}
	if inTopic.Reordered > 0 || inTopic.Unexpected > 0 {
		t.Errorf("order per partition broken in the topic: %d records out of order (first: %s), %d unexpected", inTopic.Reordered, inTopic.Example, inTopic.Unexpected)
	}
	if inTopic.Dup > 0 && fault == faultRefused {
		t.Errorf("%d duplicates in the topic: the broker wrote none of the refused requests, so a retry must write each record once", inTopic.Dup)
	}
	if committedUndelivered > 0 {
		t.Errorf("the committed source offsets cover %d records that never reached the topic", committedUndelivered)
	}
	for i, c := range committed {
		if c != perPart-1 {
			t.Errorf("source partition %v: committed seq %d after a graceful stop, want %d (every record delivered)", seqPartition(i), c, perPart-1)
		}
	}
	if sinkErr != nil {
		t.Errorf("sink pipeline: %v", sinkErr)
	}
	if atSink.Lost > 0 || atSink.Reordered > 0 {
		t.Errorf("sink: %d records never put, %d out of order (first: %s)", atSink.Lost, atSink.Reordered, atSink.Example)
	}
	for p, end := range ends {
		if group[p] != end {
			t.Errorf("sink group offset of partition %d is %d, want the end of the topic %d", p, group[p], end)
		}
	}
	printFigures(t, "produce-errors",
		"broker", "embedded", "fault", fault, "tolerance", tol, "records", total,
		"delivered", total-inTopic.Lost, "lost", inTopic.Lost, "dup", inTopic.Dup, "order_violations", inTopic.Reordered,
		"committed_undelivered", committedUndelivered, "sink_lost", atSink.Lost, "sink_dup", atSink.Dup,
		"injected_not_leader", injectedNL.Load(), "injected_timed_out", injectedTO.Load(),
		"fault_s", notLeader+timedOut, "recover_s", recoverAfter,
		"failed_during_fault", failedDuringFault, "stall_error_in_status", stallErr != nil, "dropped", final.RecordsDropped)
}

// countAll counts the sequences of parts partitions against 0..perPart-1.
func countAll(seqs map[int][]int64, parts int, perPart int64) seqStats {
	st := seqStats{FirstLost: -1}
	for i := range parts {
		one := countSeqs(seqs[i], perPart)
		if one.Example != "" {
			one.Example = fmt.Sprintf("partition %d: %s", i, one.Example)
		}
		st = st.add(one)
	}
	for part := range seqs {
		if part < 0 || part >= parts {
			st.Unexpected += int64(len(seqs[part]))
		}
	}
	return st
}

// produceErrorResponse answers a produce request with code for every
// partition it carries, as a broker refusing the write does.
func produceErrorResponse(req kmsg.Request, code int16) kmsg.Response {
	r := req.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = code
			sp.BaseOffset = -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// The DLQ context headers, as Kafka Connect names them
// (reference/kafka-connect.md, "Context headers").
var dlqHeaders = []string{
	"__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset",
	"__connect.errors.connector.name", "__connect.errors.task.id", "__connect.errors.stage",
	"__connect.errors.class.name", "__connect.errors.exception.class.name",
	"__connect.errors.exception.message", "__connect.errors.exception.stacktrace",
}

// validEnvelope is a JsonConverter envelope (schemas.enable=true) of a
// struct {id: int64}.
func validEnvelope(id int) []byte {
	return fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"reliability.Value"},"payload":{"id":%d}}`, id)
}

// malformedValue returns one of three kinds of values the JsonConverter
// with schemas.enable=true refuses: text that is not JSON, JSON cut short,
// and an envelope whose payload does not match its schema.
func malformedValue(i int) []byte {
	switch i % 3 {
	case 0:
		return fmt.Appendf(nil, "malformed record %d: not JSON at all", i)
	case 1:
		return fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}]},"payload":{"id":%d`, i)
	default:
		return fmt.Appendf(nil, `{"schema":{"type":"int64","optional":false},"payload":"not a number %d"}`, i)
	}
}

// coord is a record's place in Kafka.
type coord struct {
	partition int32
	offset    int64
}

// produceValues writes values to topic, value i to partition parts[i], and
// returns where each landed.
func produceValues(t *testing.T, brokers []string, topic string, values [][]byte, parts []int32) []coord {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	prod, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer prod.Close()
	out := make([]coord, len(values))
	const chunk = 1000
	for start := 0; start < len(values); start += chunk {
		end := min(start+chunk, len(values))
		msgs := make([]*sarama.ProducerMessage, 0, end-start)
		for i := start; i < end; i++ {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: parts[i], Value: sarama.ByteEncoder(values[i])})
		}
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("producing the records: %v", err)
		}
		for j, m := range msgs {
			out[start+j] = coord{m.Partition, m.Offset}
		}
	}
	return out
}

// sinkCommittedAt reports whether every partition of the sink's task 0 has
// its committed offset at ends.
func sinkCommittedAt(p *sink.Pipeline, topic string, ends map[int32]int64) bool {
	st := p.PipelineStatus()
	if len(st.Tasks) == 0 {
		return false
	}
	got := map[int32]int64{}
	for _, ps := range st.Tasks[0].Partitions {
		if ps.TopicPartition.Topic == topic {
			got[ps.TopicPartition.Partition] = ps.Committed
		}
	}
	for p, end := range ends {
		if got[p] != end {
			return false
		}
	}
	return true
}

// TestMalformedRecords: a sink pipeline with the JsonConverter
// (schemas.enable=true) reads a topic where most records are malformed.
//
// tolerance=all: 10 000 malformed records among 2 000 valid ones, on two
// partitions. Every malformed record is in the dead-letter queue exactly as
// consumed, with Kafka Connect's __connect.errors.* headers naming its
// topic, partition and offset, the stage and the exception; every valid one
// is put; the group's offsets end at the end of the topic.
//
// tolerance=none: the task stops at the first malformed record; the error
// names its topic, partition and offset; the record is reported to the
// dead-letter queue before the task fails (as Kafka Connect does); records
// before it were put (all those below the committed offset), none at or
// after it; the group's committed offset is not past it, and a restarted
// pipeline stops at the same record.
//
// Apache Kafka when KAFKA_BOOTSTRAP_SERVERS is set, kfake otherwise.
func TestMalformedRecords(t *testing.T) {
	t.Run("tolerance=all", malformedAllScenario)
	t.Run("tolerance=none", malformedNoneScenario)
}

func malformedAllScenario(t *testing.T) {
	noLeaks(t)
	log := scenarioLog(t)
	brokers := kafkatest.Brokers(t)
	topic, dlqTopic := kafkatest.Topic(t), kafkatest.Topic(t)+"-dlq"
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)

	const malformed, valid = 10000, 2000
	values := make([][]byte, 0, malformed+valid)
	parts := make([]int32, 0, malformed+valid)
	isValid := make([]bool, 0, malformed+valid)
	for i := range malformed + valid {
		ok := i%6 == 5
		if ok {
			values = append(values, validEnvelope(i))
		} else {
			values = append(values, malformedValue(i))
		}
		parts = append(parts, int32(i%2))
		isValid = append(isValid, ok)
	}
	coords := produceValues(t, brokers, topic, values, parts)
	byCoord := make(map[coord]int, len(coords))
	for i, c := range coords {
		byCoord[c] = i
	}
	ends := endOffsets(t, brokers, topic)

	jsonConv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	name := "malformed-all"
	sk, err := sink.New(sink.Config{
		Name: name, Brokers: brokers, Topics: []string{topic},
		GroupID:        kafkatest.Topic(t),
		NewTask:        func() sink.Task { return &recordingSink{rec: rec} },
		ValueConverter: jsonConv,
		Errors: sluiceerrors.Config{
			Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlqTopic, DLQReplicationFactor: 1, DLQContextHeaders: true,
		},
		OffsetFlushInterval: time.Second,
		Sarama:              kafkatest.SaramaConfig(t),
		ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
		Logger:              log,
	})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	run := runInBackground(t, sk)
	done := waitUntil(context.Background(), 120*time.Second, func() bool { return sinkCommittedAt(sk, topic, ends) || run.exited() })
	elapsed := time.Since(started)
	runErr := run.stop(t)
	group := groupOffsets(t, brokers, sk.GroupID(), topic, ends)
	final := sk.PipelineStatus()

	// What was put: valid records only, each once.
	offs, vals := rec.snapshot()
	put := map[int]int{}
	var putWrong int
	for p, os := range offs {
		for j, o := range os {
			i, ok := byCoord[coord{p, o}]
			if !ok || !isValid[i] || vals[p][j] != fmt.Sprint(i) {
				putWrong++
				continue
			}
			put[i]++
		}
	}
	// What reached the dead-letter queue: malformed records only, each
	// with its original bytes and the context headers.
	dlq := readTopic(t, brokers, dlqTopic)
	inDLQ := map[int]int{}
	var dlqRecords, dlqWrong, badHeaders int
	var firstBad string
	for _, rs := range dlq {
		for _, r := range rs {
			dlqRecords++
			var missing []string
			for _, h := range dlqHeaders {
				if r.Headers[h] == "" {
					missing = append(missing, h)
				}
			}
			p, perr := strconv.ParseInt(r.Headers["__connect.errors.partition"], 10, 32)
			o, oerr := strconv.ParseInt(r.Headers["__connect.errors.offset"], 10, 64)
			i, known := byCoord[coord{int32(p), o}]
			switch {
			case len(missing) > 0:
				badHeaders++
				if firstBad == "" {
					firstBad = fmt.Sprintf("DLQ record at %d/%d lacks headers %v (has %v)", r.Partition, r.Offset, missing, r.Headers)
				}
			case perr != nil || oerr != nil || !known || r.Headers["__connect.errors.topic"] != topic:
				dlqWrong++
				if firstBad == "" {
					firstBad = fmt.Sprintf("DLQ record at %d/%d names %s/%s/%s, not a record of the topic", r.Partition, r.Offset,
						r.Headers["__connect.errors.topic"], r.Headers["__connect.errors.partition"], r.Headers["__connect.errors.offset"])
				}
			case isValid[i] || !bytes.Equal(r.Value, values[i]) || r.Headers["__connect.errors.stage"] != "VALUE_CONVERTER" ||
				r.Headers["__connect.errors.connector.name"] != name || r.Headers["__connect.errors.task.id"] != "0":
				dlqWrong++
				if firstBad == "" {
					firstBad = fmt.Sprintf("DLQ record at %d/%d for record %d (valid=%v): value %q, headers %v", r.Partition, r.Offset, i, isValid[i], r.Value, r.Headers)
				}
			default:
				inDLQ[i]++
			}
		}
	}
	var lostValid, lostMalformed, dupPut, dupDLQ int
	for i, ok := range isValid {
		switch {
		case ok && put[i] == 0:
			lostValid++
		case ok && put[i] > 1:
			dupPut += put[i] - 1
		case !ok && inDLQ[i] == 0:
			lostMalformed++
		case !ok && inDLQ[i] > 1:
			dupDLQ += inDLQ[i] - 1
		}
	}
	var skipped int64
	if len(final.Tasks) > 0 {
		skipped = final.Tasks[0].RecordsSkipped
	}
	if runErr != nil {
		t.Errorf("the sink pipeline failed under errors.tolerance=all: %v", runErr)
	}
	if !done {
		t.Errorf("the group's offsets did not reach the end of the topic within 120 s")
	}
	if lostValid > 0 {
		t.Errorf("%d of %d valid records were never put", lostValid, valid)
	}
	if putWrong > 0 {
		t.Errorf("%d records were put that are not valid records of the topic (or with the wrong value)", putWrong)
	}
	if lostMalformed > 0 {
		t.Errorf("%d of %d malformed records are not in the dead-letter queue", lostMalformed, malformed)
	}
	if badHeaders > 0 || dlqWrong > 0 {
		t.Errorf("dead-letter queue: %d records without every __connect.errors.* header, %d wrong; first: %s", badHeaders, dlqWrong, firstBad)
	}
	for p, end := range ends {
		if group[p] != end {
			t.Errorf("group offset of partition %d is %d, want the end of the topic %d", p, group[p], end)
		}
	}
	printFigures(t, "malformed", "broker", brokerKind(), "tolerance", "all", "records", len(values), "malformed", malformed, "valid", valid,
		"lost", lostValid+lostMalformed, "lost_valid", lostValid, "lost_malformed", lostMalformed,
		"dup", dupPut+dupDLQ, "dlq", len(inDLQ), "dlq_records", dlqRecords, "skipped", skipped, "elapsed_s", elapsed)
}

func malformedNoneScenario(t *testing.T) {
	noLeaks(t)
	log := scenarioLog(t)
	brokers := kafkatest.Brokers(t)
	topic, dlqTopic := kafkatest.Topic(t), kafkatest.Topic(t)+"-dlq"
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	kafkatest.CreateTopic(t, brokers, dlqTopic, 1, nil)

	const before, after = 300, 300
	values := make([][]byte, 0, before+1+after)
	for i := range before {
		values = append(values, validEnvelope(i))
	}
	values = append(values, malformedValue(0))
	for i := range after {
		values = append(values, validEnvelope(before+1+i))
	}
	coords := produceValues(t, brokers, topic, values, make([]int32, len(values)))
	bad := coords[before]
	ends := endOffsets(t, brokers, topic)
	group := kafkatest.Topic(t)

	jsonConv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	newPipeline := func() *sink.Pipeline {
		sk, err := sink.New(sink.Config{
			Name: "malformed-none", Brokers: brokers, Topics: []string{topic}, GroupID: group,
			NewTask:        func() sink.Task { return &recordingSink{rec: rec} },
			ValueConverter: jsonConv,
			BatchSize:      50,
			Errors: sluiceerrors.Config{
				Tolerance: sluiceerrors.ToleranceNone, LogEnable: true,
				DLQTopic: dlqTopic, DLQReplicationFactor: 1, DLQContextHeaders: true,
			},
			OffsetFlushInterval: 200 * time.Millisecond,
			Sarama:              kafkatest.SaramaConfig(t),
			ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
			Logger:              log,
		})
		if err != nil {
			t.Fatal(err)
		}
		return sk
	}

	// Two runs: the second, started after the first failed, must stop at
	// the same record (nothing was committed past it).
	var errs [2]error
	var committedAfter [2]int64
	for run := range errs {
		sk := newPipeline()
		r := runInBackground(t, sk)
		if !waitUntil(context.Background(), 60*time.Second, r.tasksFailed) {
			t.Fatalf("run %d: the task did not stop at the malformed record within 60 s (%d records put)", run+1, rec.n.Load())
		}
		errs[run] = r.stop(t)
		committedAfter[run] = groupOffsets(t, brokers, group, topic, ends)[0]
	}

	// Lost: a record below a committed offset that was never put. (Records
	// of the malformed one's batch before it are not put, as in Kafka
	// Connect, which converts a whole batch before Put; nor are they
	// committed.)
	offs, _ := rec.snapshot()
	putSet := map[int64]int{}
	var pastBad int64
	for _, o := range offs[0] {
		putSet[o]++
		if o >= bad.offset {
			pastBad++
		}
	}
	// Kafka Connect reports a failed record (log, dead-letter queue) before
	// failing the task under none too: once per run, naming the record.
	var dlq, dlqOther int
	for _, rs := range readTopic(t, brokers, dlqTopic) {
		for _, r := range rs {
			dlq++
			if r.Headers["__connect.errors.offset"] != strconv.FormatInt(bad.offset, 10) || !bytes.Equal(r.Value, values[before]) {
				dlqOther++
			}
		}
	}
	var lost, dup, putBefore int64
	firstLost := int64(-1)
	for o := range max(committedAfter[0], committedAfter[1]) {
		if putSet[o] == 0 {
			lost++
			if firstLost < 0 {
				firstLost = o
			}
		}
	}
	for o, n := range putSet {
		if o < bad.offset {
			putBefore++
		}
		dup += int64(n - 1)
	}
	for run, err := range errs {
		if err == nil {
			t.Errorf("run %d: the pipeline stopped without an error; errors.tolerance=none must fail the task at the malformed record", run+1)
			continue
		}
		var re *connect.RecordError
		if !errors.As(err, &re) {
			t.Errorf("run %d: the error is no *connect.RecordError naming the record: %v", run+1, err)
		} else if re.Topic != topic || re.Partition != bad.partition || re.Offset != bad.offset || re.Stage != connect.StageValueConverter {
			t.Errorf("run %d: the error names %s/%d/%d stage %s, want %s/%d/%d stage %s: %v", run+1, re.Topic, re.Partition, re.Offset, re.Stage,
				topic, bad.partition, bad.offset, connect.StageValueConverter, err)
		}
		if want := fmt.Sprintf("topic %s partition %d offset %d", topic, bad.partition, bad.offset); !strings.Contains(err.Error(), want) {
			t.Errorf("run %d: the error message does not say %q: %v", run+1, want, err)
		}
	}
	if lost > 0 {
		t.Errorf("%d records below the committed offset were never put (first: offset %d)", lost, firstLost)
	}
	if dlq == 0 || dlqOther > 0 {
		t.Errorf("dead-letter queue: %d records, %d of them not the malformed record; under errors.tolerance=none the record is reported before the task fails", dlq, dlqOther)
	}
	if putBefore == 0 {
		t.Errorf("no record before the malformed one was put: the scenario did not run as meant")
	}
	if pastBad > 0 {
		t.Errorf("%d records at or past the malformed record (offset %d) were put", pastBad, bad.offset)
	}
	for run, c := range committedAfter {
		if c > bad.offset {
			t.Errorf("run %d: the group's committed offset is %d, past the malformed record at offset %d", run+1, c, bad.offset)
		}
	}
	printFigures(t, "malformed", "broker", brokerKind(), "tolerance", "none", "records", len(values), "malformed_at", bad.offset,
		"lost", lost, "dup", dup, "put_before_malformed", putBefore, "put_past_malformed", pastBad, "dlq", dlq,
		"committed_run1", committedAfter[0], "committed_run2", committedAfter[1])
}

// brokerKind names the broker the scenario ran against.
func brokerKind() string {
	if kafkatest.External() {
		return "kafka"
	}
	return "embedded"
}

// TestPanickingTask: a task whose Poll (source) or Put (sink) panics, run
// by a runner.Runner with the pipeline's restart policy at one restart.
// The first panic fails the task and the policy restarts it: records flow
// again. The second fails it for good: the task is FAILED with the panic
// and a stack naming the panicking method, in its status and in the REST
// status trace; the process is alive (the scenario runs in a child process
// of its own: a panic escaping the runtime kills the child and fails the
// test). A restart through the Runner (Kafka Connect's REST restart) then
// delivers the rest: no record lost, duplicates reported.
func TestPanickingTask(t *testing.T) {
	t.Run("source-poll", func(t *testing.T) { isolated(t, panicSourceScenario) })
	t.Run("sink-put", func(t *testing.T) { isolated(t, panicSinkScenario) })
}

// panicPlan panics the first time check is called with n >= at, once per
// value of at, across task instances.
type panicPlan struct {
	at    []int64
	fired []atomic.Bool
	count atomic.Int64
}

func newPanicPlan(at ...int64) *panicPlan {
	return &panicPlan{at: at, fired: make([]atomic.Bool, len(at))}
}

func (p *panicPlan) check(where string, n int64) {
	for i, at := range p.at {
		if n >= at && !p.fired[i].Swap(true) {
			p.count.Add(1)
			panic(fmt.Sprintf("reliability: injected panic #%d in %s at %d", i+1, where, n))
		}
	}
}

// runRunner runs r until the test ends.
func runRunner(t *testing.T, r *runner.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Runner.Run: %v", err)
			}
		case <-time.After(2 * time.Minute):
			t.Errorf("Runner.Run did not return within 2 minutes of its context being cancelled")
		}
	})
}

// restTaskStatus returns task 0's state and trace from the REST status
// endpoint.
func restTaskStatus(t *testing.T, r *runner.Runner, name string) (state, trace string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/connectors/"+name+"/status", nil))
	var body struct {
		Tasks []struct {
			ID    int    `json:"id"`
			State string `json:"state"`
			Trace string `json:"trace"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET /connectors/%s/status: %d %s: %v", name, rec.Code, rec.Body, err)
	}
	for _, ts := range body.Tasks {
		if ts.ID == 0 {
			return ts.State, ts.Trace
		}
	}
	return "", ""
}

// connectorFailed reports whether the connector's task 0 failed for good:
// FAILED after the policy's one restart (a task the policy is about to
// restart is FAILED for a moment, with no restart yet), while the connector
// stays RUNNING, as in Kafka Connect.
func connectorFailed(r *runner.Runner, name string) bool {
	rep, err := r.Status(name)
	return err == nil && rep.State == connect.StateRunning && len(rep.Tasks) == 1 &&
		rep.Tasks[0].State == connect.StateFailed && rep.Tasks[0].Restarts >= 1
}

// task0 returns task 0's report, or a zero one.
func task0(r *runner.Runner, name string) runner.TaskReport {
	rep, err := r.Status(name)
	if err != nil || len(rep.Tasks) == 0 {
		return runner.TaskReport{}
	}
	return rep.Tasks[0]
}

// errText returns err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkPanicStatus checks that task 0 is FAILED with the second panic and a
// stack through frame in its status and REST trace, and that the policy
// restarted it once after the first panic.
func checkPanicStatus(t *testing.T, r *runner.Runner, name, frame string) {
	t.Helper()
	ts := task0(r, name)
	if ts.State != connect.StateFailed {
		t.Errorf("task 0 is %s, want FAILED", ts.State)
	}
	if msg := errText(ts.Err); !strings.Contains(msg, "injected panic #2") || !strings.Contains(msg, frame) {
		t.Errorf("task 0's error does not hold the panic and a stack through %s:\n%s", frame, msg)
	}
	if ts.Restarts < 1 {
		t.Errorf("task 0 was restarted %d times by the restart policy, want 1", ts.Restarts)
	}
	if msg := errText(ts.LastFailure); !strings.Contains(msg, "injected panic #1") || !strings.Contains(msg, frame) {
		t.Errorf("task 0's last failure does not hold the first panic and a stack through %s:\n%s", frame, msg)
	}
	state, trace := restTaskStatus(t, r, name)
	if state != string(connect.StateFailed) || !strings.Contains(trace, "injected panic #2") || !strings.Contains(trace, frame) {
		t.Errorf("REST status: task 0 is %q, want FAILED with the panic and a stack through %s in its trace:\n%s", state, frame, trace)
	}
}

func panicSourceScenario(t *testing.T) {
	noLeaks(t)
	log := scenarioLog(t)
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	const perPart = 3000
	plan := newPanicPlan(1000, 2000)
	hooks := &sourceHooks{beforePoll: func(next int64) { plan.check("Poll", next) }}
	store := offsets.NewMemoryStore()
	name := "panic-source"

	rn, err := runner.New(runner.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	err = rn.AddPipeline(name, map[string]string{"connector.class": "seqSource (built in Go)"}, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: name, Brokers: brokers,
			NewTask: func() source.Task {
				return &seqSource{topic: topic, parts: 1, perPart: perPart, batch: 50, every: 10 * time.Millisecond, hooks: hooks}
			},
			OffsetStore:         store,
			OffsetFlushInterval: 200 * time.Millisecond,
			Restart:             sluiceerrors.RestartPolicy{MaxRestarts: 1, InitialDelay: 100 * time.Millisecond},
			Sarama:              kafkatest.SaramaConfig(t),
			Logger:              connect.ContextLogger(ctx),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, rn)

	ctx := context.Background()
	if !waitUntil(ctx, 60*time.Second, func() bool { return connectorFailed(rn, name) }) {
		ts := task0(rn, name)
		t.Fatalf("task 0 did not fail for good after two panics in Poll within 60 s: %s, restarts %d, error %v", ts.State, ts.Restarts, ts.Err)
	}
	checkPanicStatus(t, rn, name, "seqSource).Poll")
	// Records flowed again after the first panic: only the restarted task
	// emits sequence numbers from 1000 on.
	flowedAgain := 0
	for _, seq := range seqsByPart(t, valuesOf(readTopic(t, brokers, topic)))[0] {
		if seq >= 1000 {
			flowedAgain++
		}
	}
	if flowedAgain == 0 {
		t.Errorf("no record was delivered after the policy restarted the task")
	}

	restarted := time.Now()
	if _, err := rn.Restart(name, runner.RestartOptions{IncludeTasks: true, OnlyFailed: true}); err != nil {
		t.Fatalf("restarting the connector: %v", err)
	}
	recovered := waitUntil(ctx, 60*time.Second, func() bool { return committedSeqs(t, store, name, 1)[0] == perPart-1 })
	recoverAfter := time.Duration(-1)
	if recovered {
		recoverAfter = time.Since(restarted)
	}
	st := countSeqs(seqsByPart(t, valuesOf(readTopic(t, brokers, topic)))[0], perPart)

	if !recovered {
		t.Errorf("after the Runner restarted the connector, the committed offset did not reach seq %d within 60 s (it is %d)", perPart-1, committedSeqs(t, store, name, 1)[0])
	}
	if st.Lost > 0 {
		t.Errorf("%d of %d records never reached the topic (first: seq %d)", st.Lost, perPart, st.FirstLost)
	}
	if st.Reordered > 0 {
		t.Errorf("%d records out of order", st.Reordered)
	}
	printFigures(t, "panicking-task", "broker", brokerKind(), "task", "source-poll", "records", perPart,
		"lost", st.Lost, "dup", st.Dup, "order_violations", st.Reordered, "panics", plan.count.Load(),
		"policy_restarts", 1, "flowed_after_policy_restart", flowedAgain, "recover_s", recoverAfter)
}

func panicSinkScenario(t *testing.T) {
	noLeaks(t)
	log := scenarioLog(t)
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	const n = 3000
	values := make([][]byte, n)
	for i := range values {
		values[i] = fmt.Appendf(nil, "0:%d", i)
	}
	produceValues(t, brokers, topic, values, make([]int32, n))
	ends := endOffsets(t, brokers, topic)
	plan := newPanicPlan(1000, 2000)
	rec := newRecorder()
	name := "panic-sink"
	group := kafkatest.Topic(t)

	rn, err := runner.New(runner.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	err = rn.AddPipeline(name, map[string]string{"connector.class": "recordingSink (built in Go)"}, func(ctx context.Context) (connect.Pipeline, error) {
		return sink.New(sink.Config{
			Name: name, Brokers: brokers, Topics: []string{topic}, GroupID: group,
			NewTask: func() sink.Task {
				return &recordingSink{rec: rec, put: func(_ context.Context, recs []connect.Record) error {
					plan.check("Put", recs[len(recs)-1].OriginalOffset)
					return nil
				}}
			},
			BatchSize:           100,
			OffsetFlushInterval: 200 * time.Millisecond,
			Restart:             sluiceerrors.RestartPolicy{MaxRestarts: 1, InitialDelay: 100 * time.Millisecond},
			Sarama:              kafkatest.SaramaConfig(t),
			ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
			Logger:              connect.ContextLogger(ctx),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, rn)

	ctx := context.Background()
	if !waitUntil(ctx, 90*time.Second, func() bool { return connectorFailed(rn, name) }) {
		ts := task0(rn, name)
		t.Fatalf("task 0 did not fail for good after two panics in Put within 90 s: %s, restarts %d, error %v", ts.State, ts.Restarts, ts.Err)
	}
	checkPanicStatus(t, rn, name, "recordingSink).Put")
	flowedAgain := 0
	offs, _ := rec.snapshot()
	for _, o := range offs[0] {
		if o >= 1000 {
			flowedAgain++
		}
	}
	if flowedAgain == 0 {
		t.Errorf("no record was put after the policy restarted the task")
	}

	restarted := time.Now()
	if _, err := rn.Restart(name, runner.RestartOptions{IncludeTasks: true, OnlyFailed: true}); err != nil {
		t.Fatalf("restarting the connector: %v", err)
	}
	recovered := waitUntil(ctx, 90*time.Second, func() bool {
		ts := task0(rn, name)
		for _, p := range ts.Partitions {
			if p.Topic == topic && p.Partition == 0 && p.Committed == ends[0] {
				return true
			}
		}
		return false
	})
	recoverAfter := time.Duration(-1)
	if recovered {
		recoverAfter = time.Since(restarted)
	}
	committed := groupOffsets(t, brokers, group, topic, ends)[0]
	_, vals := rec.snapshot()
	st := countSeqs(seqsByPart(t, vals)[0], n)

	if !recovered {
		t.Errorf("after the Runner restarted the connector, the committed offset did not reach %d within 90 s", ends[0])
	}
	if st.Lost > 0 {
		t.Errorf("%d of %d records were never put (first: offset %d)", st.Lost, n, st.FirstLost)
	}
	if committed != ends[0] {
		t.Errorf("the group's committed offset is %d, want the end of the topic %d", committed, ends[0])
	}
	printFigures(t, "panicking-task", "broker", brokerKind(), "task", "sink-put", "records", n,
		"lost", st.Lost, "dup", st.Dup, "order_violations", st.Reordered, "panics", plan.count.Load(),
		"policy_restarts", 1, "flowed_after_policy_restart", flowedAgain, "recover_s", recoverAfter)
}

// typedNilSink records every batch and returns a typed nil
// *connect.BatchError: a nil pointer in a non-nil error interface.
type typedNilSink struct{ rec *recorder }

func (s *typedNilSink) Start(context.Context, sink.TaskContext) error { return nil }

func (s *typedNilSink) Put(_ context.Context, recs []connect.Record) error {
	s.rec.add(recs)
	var be *connect.BatchError
	return be
}

func (s *typedNilSink) Stop(context.Context) error { return nil }

// TestTypedNilBatchError: a sink task's Put returns a typed nil
// *connect.BatchError for every batch. It means success: every record is
// put once (no redelivery), none is skipped or sent to the dead-letter
// queue, the task never fails, and the group's offsets end at the end of
// the topic. Runs in a child process of its own (see isolated): treating
// the typed nil as a failure list used to panic the process.
func TestTypedNilBatchError(t *testing.T) {
	isolated(t, func(t *testing.T) {
		noLeaks(t)
		log := scenarioLog(t)
		brokers := kafkatest.Brokers(t)
		topic, dlqTopic := kafkatest.Topic(t), kafkatest.Topic(t)+"-dlq"
		kafkatest.CreateTopic(t, brokers, topic, 2, nil)
		kafkatest.CreateTopic(t, brokers, dlqTopic, 1, nil)
		const n = 2000
		values := make([][]byte, n)
		parts := make([]int32, n)
		for i := range values {
			values[i] = fmt.Appendf(nil, "%d:%d", i%2, i/2)
			parts[i] = int32(i % 2)
		}
		produceValues(t, brokers, topic, values, parts)
		ends := endOffsets(t, brokers, topic)

		rec := newRecorder()
		sk, err := sink.New(sink.Config{
			Name: "typed-nil-batch-error", Brokers: brokers, Topics: []string{topic}, GroupID: kafkatest.Topic(t),
			NewTask:             func() sink.Task { return &typedNilSink{rec: rec} },
			BatchSize:           100,
			Errors:              sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlqTopic, DLQReplicationFactor: 1},
			OffsetFlushInterval: 200 * time.Millisecond,
			Sarama:              kafkatest.SaramaConfig(t),
			ConsumerProps:       map[string]string{"session.timeout.ms": "10000", "heartbeat.interval.ms": "500"},
			Logger:              log,
		})
		if err != nil {
			t.Fatal(err)
		}
		run := runInBackground(t, sk)
		var failed bool
		done := waitUntil(context.Background(), 60*time.Second, func() bool {
			if st := sk.PipelineStatus(); len(st.Tasks) > 0 && st.Tasks[0].State == connect.StateFailed {
				failed = true
			}
			return sinkCommittedAt(sk, topic, ends) || run.exited()
		})
		final := sk.PipelineStatus()
		runErr := run.stop(t)
		group := groupOffsets(t, brokers, sk.GroupID(), topic, ends)
		_, vals := rec.snapshot()
		st := countAll(seqsByPart(t, vals), 2, n/2)
		var dlq int
		for _, rs := range readTopic(t, brokers, dlqTopic) {
			dlq += len(rs)
		}
		var skipped int64
		if len(final.Tasks) > 0 {
			skipped = final.Tasks[0].RecordsSkipped
		}

		if runErr != nil || failed {
			t.Errorf("the task failed on a typed nil *connect.BatchError (%v); it means success", runErr)
		}
		if !done {
			t.Errorf("the group's offsets did not reach the end of the topic within 60 s")
		}
		if st.Lost > 0 || st.Dup > 0 || st.Reordered > 0 {
			t.Errorf("put: %d records lost, %d duplicated (redelivered), %d out of order", st.Lost, st.Dup, st.Reordered)
		}
		if skipped > 0 || dlq > 0 {
			t.Errorf("%d records skipped and %d sent to the dead-letter queue: a typed nil *connect.BatchError lists no failure", skipped, dlq)
		}
		for p, end := range ends {
			if group[p] != end {
				t.Errorf("group offset of partition %d is %d, want the end of the topic %d", p, group[p], end)
			}
		}
		printFigures(t, "typed-nil-batch-error", "broker", brokerKind(), "records", n,
			"lost", st.Lost, "dup", st.Dup, "order_violations", st.Reordered, "dlq", dlq, "skipped", skipped)
	})
}
