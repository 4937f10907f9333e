package source_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// These tests pin what gets committed when a record or a commit fails:
// each asserts the offset store's contents after the failure.

// bigRecordTask makes the record at seq == big of source partition p0 larger
// than the producer accepts (a non-retriable produce error).
type bigRecordTask struct {
	*genTask
	big int64
}

func (b *bigRecordTask) Poll(ctx context.Context) ([]connect.Record, error) {
	batch, err := b.genTask.Poll(ctx)
	for i := range batch {
		if n, _ := asInt64(batch[i].SourceOffset["seq"]); n == b.big && batch[i].SourcePartition["part"] == "p0" {
			batch[i].Value = append(batch[i].Value.([]byte), make([]byte, 4096)...)
		}
	}
	return batch, err
}

// The shape of the oversized-record scenarios: bigParts source partitions
// of bigPerPart records each, the one at seq bigSeq of p0 too large.
const bigParts, bigPerPart, bigSeq = 2, 300, 120

// bigRecordSetup creates a topic of bigParts partitions that refuses records
// over 2 KiB (MESSAGE_TOO_LARGE from the broker) and its dead-letter queue
// topic, and returns a pipeline configuration named name, with a memory
// offset store, whose task makes the record at seq bigSeq of p0 too large.
func bigRecordSetup(t *testing.T, name string) (brokers []string, topic, dlq string, task *bigRecordTask, store *offsets.MemoryStore, cfg source.Config) {
	t.Helper()
	brokers = kafkatest.Brokers(t)
	topic = kafkatest.Topic(t)
	dlq = topic + "-dlq"
	maxBytes := "2048"
	kafkatest.CreateTopic(t, brokers, topic, bigParts, map[string]*string{"max.message.bytes": &maxBytes})
	kafkatest.CreateTopic(t, brokers, dlq, 1, nil)
	task = &bigRecordTask{genTask: &genTask{topic: topic, parts: bigParts, perPart: bigPerPart, batch: 10}, big: bigSeq}
	store = offsets.NewMemoryStore()
	cfg = baseConfig(t, brokers, name, task)
	cfg.OffsetStore = store
	return brokers, topic, dlq, task, store, cfg
}

// TestFailedSendIsNotMarkedDone: under errors.tolerance=none a record whose
// produce failed for good fails the task, and the final commit stores no
// offset at or past it: every committed offset is of a record in Kafka.
//
// As Kafka Connect, the failure is reported (error log, dead-letter queue)
// before the task fails.
func TestFailedSendIsNotMarkedDone(t *testing.T) {
	const parts, perPart, big = bigParts, bigPerPart, bigSeq
	brokers, topic, dlq, task, store, cfg := bigRecordSetup(t, "failed-send")
	cfg.OffsetFlushInterval = 10 * time.Millisecond
	cfg.Errors = sluiceerrors.Config{LogEnable: true, DLQTopic: dlq, DLQReplicationFactor: 1}
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runErr := runUntilFailed(context.Background(), p)
	var re *connect.RecordError
	if !errors.As(runErr, &re) || re.Stage != connect.StageKafkaProduce {
		t.Fatalf("Run: %v; want a KAFKA_PRODUCE failure", runErr)
	}
	c := committed(t, store, "failed-send", parts, task.part)
	if c[0] >= big {
		t.Fatalf("p0: committed seq %d, at or past the record %d that never reached Kafka", c[0], big)
	}
	assertCommittedHeld(t, brokers, topic, store, "failed-send", parts)
	for _, s := range seqs(t, readAll(t, brokers, topic))["p0"] {
		if s == big {
			t.Fatalf("the oversized record %d is in Kafka", big)
		}
	}
	if got := readAll(t, brokers, dlq); len(got) != 1 || !strings.HasPrefix(string(got[0].Value), "p0:120") {
		t.Fatalf("the DLQ holds %d records, want the failed one, reported before the task failed", len(got))
	}
	if log := logs.String(); !strings.Contains(log, "Error encountered in task failed-send-0") || !strings.Contains(log, "seq=120") {
		t.Fatalf("the failed record was not logged before the task failed:\n%s", log)
	}
}

// TestToleratedProduceFailureIsReportedThenCommitted: under
// errors.tolerance=all a produce failure (a record larger than the producer
// accepts) is logged and sent to the dead-letter queue, and only then does
// the offset move past it.
func TestToleratedProduceFailureIsReportedThenCommitted(t *testing.T) {
	// The topic refuses the big record (MESSAGE_TOO_LARGE from the broker);
	// the dead-letter queue takes it.
	const parts, perPart, big = bigParts, bigPerPart, bigSeq
	brokers, topic, dlq, task, store, cfg := bigRecordSetup(t, "tolerated-send")
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, LogEnable: true, LogIncludeMessages: true,
		DLQTopic: dlq, DLQReplicationFactor: 1, DLQContextHeaders: true}
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record done", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut+ts[0].RecordsDropped == parts*perPart
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, v := range committed(t, store, "tolerated-send", parts, task.part) {
		if v != perPart-1 {
			t.Errorf("p%d: committed seq %d, want %d", i, v, perPart-1)
		}
	}
	got := readAll(t, brokers, dlq)
	if len(got) != 1 {
		t.Fatalf("the DLQ holds %d records, want the 1 oversized one", len(got))
	}
	h := headerMap(got[0])
	if h[sluiceerrors.HeaderStage] != string(connect.StageKafkaProduce) || !strings.Contains(h[sluiceerrors.HeaderSourceOffset], `"seq":120`) ||
		!strings.HasPrefix(string(got[0].Value), "p0:120") {
		t.Fatalf("DLQ record %q headers %v", got[0].Value, h)
	}
	log := logs.String()
	for _, want := range []string{"Error encountered in task tolerated-send-0", "KAFKA_PRODUCE", "seq=120", "key_schema=", "value=", "record_topic=" + topic} {
		if !strings.Contains(log, want) {
			t.Errorf("the error log does not hold %q:\n%s", want, log)
		}
	}
	if ts := p.PipelineStatus().Tasks[0]; ts.RecordsDropped != 1 || ts.Errors.RecordsSkipped != 1 || ts.Errors.ErrorsLogged != 1 {
		t.Errorf("dropped %d skipped %d logged %d, want 1 each", ts.RecordsDropped, ts.Errors.RecordsSkipped, ts.Errors.ErrorsLogged)
	}
}

// flakyStore fails every Write while failing is set.
type flakyStore struct {
	offsets.Store
	failing  atomic.Bool
	attempts atomic.Int64
}

func (s *flakyStore) Write(ctx context.Context, c string, e []connect.OffsetEntry) error {
	s.attempts.Add(1)
	if s.failing.Load() {
		return errors.New("offset store unavailable")
	}
	return s.Store.Write(ctx, c, e)
}

// TestFailedOffsetWriteIsNotTreatedAsCommitted: while the store fails,
// nothing is stored and the offsets are kept; once it recovers, the next
// commits write them, although no new record arrived.
func TestFailedOffsetWriteIsNotTreatedAsCommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const parts, perPart = 2, 200
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 20}
	store := &flakyStore{Store: offsets.NewMemoryStore()}
	store.failing.Store(true)
	cfg := baseConfig(t, brokers, "flaky-store", task)
	cfg.OffsetStore = store
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record acknowledged and commits failing", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut == parts*perPart && ts[0].OffsetCommitFailures >= 3
	})
	for i, v := range committed(t, store, "flaky-store", parts, task.part) {
		if v != -1 {
			t.Fatalf("p%d: seq %d stored while every write failed", i, v)
		}
	}
	if ts := p.PipelineStatus().Tasks[0]; ts.State != connect.StateRunning {
		t.Fatalf("task %s while the store fails for less than the bound; want RUNNING", ts.State)
	}
	// The Runner's status (and so offset-commit-failure-percentage) sees
	// the failures.
	failing := p.PipelineStatus().Tasks[0]
	if failing.OffsetCommitFailures < 3 {
		t.Fatalf("runner status: %d commit failures; want >= 3", failing.OffsetCommitFailures)
	}
	store.failing.Store(false)
	waitFor(t, "the kept offsets to be written", 60*time.Second, func() bool {
		c := committed(t, store, "flaky-store", parts, task.part)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	if cs := p.PipelineStatus().Tasks[0]; cs.OffsetCommits <= failing.OffsetCommits {
		t.Fatalf("runner status: %d commits after the store recovered, %d before; want more", cs.OffsetCommits, failing.OffsetCommits)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestOffsetStoreThatKeepsFailingFailsTheTask: commits failing for longer
// than sluice.offset.commit.failure.timeout.ms fail the task visibly.
func TestOffsetStoreThatKeepsFailingFailsTheTask(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	task := &genTask{topic: topic, parts: 1, perPart: -1, batch: 20}
	store := &flakyStore{Store: offsets.NewMemoryStore()}
	store.failing.Store(true)
	cfg := baseConfig(t, brokers, "failing-store", task)
	cfg.OffsetStore = store
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	cfg.OffsetCommitFailureTimeout = 300 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runErr := runUntilFailed(context.Background(), p)
	if runErr == nil || !strings.Contains(runErr.Error(), "OFFSET_COMMIT") || !strings.Contains(runErr.Error(), "offset store unavailable") ||
		!strings.Contains(runErr.Error(), "sluice.offset.commit.failure.timeout.ms") {
		t.Fatalf("Run: %v; want an OFFSET_COMMIT failure naming the bound and the store's error", runErr)
	}
	ts := p.PipelineStatus().Tasks[0]
	if ts.State != connect.StateFailed || ts.Err == nil {
		t.Fatalf("task %s err %v, want FAILED with the error", ts.State, ts.Err)
	}
	if c := committed(t, store, "failing-store", 1, task.part); c[0] != -1 {
		t.Fatalf("seq %d stored by a store that always failed", c[0])
	}
}
