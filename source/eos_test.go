package source_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

// eosSetup returns brokers, a data topic with parts partitions, and a
// pipeline configuration for task with exactly-once delivery on a Kafka
// offsets store of its own.
func eosSetup(t *testing.T, name string, parts int32, task source.Task) ([]string, string, source.Config) {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, parts, nil)
	cfg := baseConfig(t, brokers, name, task)
	cfg.OffsetStore = nil
	cfg.OffsetStorage = offsets.Storage{Topic: topic + "-offsets", ReplicationFactor: 1, Partitions: 3}
	cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: "g"}
	return brokers, topic, cfg
}

// checkExactlyOnce reads topic read_committed and fails t unless every
// source partition p0..p(parts-1) holds seq 0..perPart-1 exactly once, in
// order.
func checkExactlyOnce(t *testing.T, brokers []string, topic string, parts int, perPart int64) {
	t.Helper()
	got := seqs(t, kafkatest.ReadCommitted(t, brokers, topic))
	for i := range parts {
		name := fmt.Sprintf("p%d", i)
		s := got[name]
		var dups, gaps int
		for j, v := range s {
			if v != int64(j) {
				if v < int64(j) {
					dups++
				} else {
					gaps++
				}
			}
		}
		if int64(len(s)) != perPart || dups > 0 || gaps > 0 {
			t.Errorf("%s: %d records read_committed (want %d), %d out of place; first: %v", name, len(s), perPart, dups+gaps, s[:min(len(s), 20)])
		}
	}
}

// committedSeqs reads the connector's committed offsets from the offsets
// topic with a fresh store, as a new process would.
func committedSeqs(t *testing.T, brokers []string, offsetsTopic, name string, parts int) []int64 {
	t.Helper()
	store, err := offsets.NewKafkaStore(context.Background(), offsets.KafkaStoreConfig{
		Brokers: brokers, Topic: offsetsTopic, Sarama: kafkatest.SaramaConfig(t), ReplicationFactor: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	return committed(t, store, name, parts, func(i int) map[string]any { return map[string]any{"part": fmt.Sprintf("p%d", i)} })
}

// TestEOSPollBoundary: one transaction per Poll batch; records and offsets
// commit together; read_committed sees every record once, in order; the
// offsets topic holds Kafka Connect's bytes, readable by a new store; the
// status shows the transactions and their sizes.
func TestEOSPollBoundary(t *testing.T) {
	const parts, perPart, batch = 4, 150, 40
	task := &genTask{parts: parts, perPart: perPart, batch: batch}
	brokers, topic, cfg := eosSetup(t, "eos-poll", 2, task)
	task.topic = topic
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record committed", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut == parts*perPart && func() bool {
			c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-poll", parts)
			return c[0] == perPart-1 && c[3] == perPart-1
		}()
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.TransactionalID != "g-eos-poll-0" {
		t.Errorf("TransactionalID = %q, want g-eos-poll-0 (<group>-<connector>-<task>)", st.TransactionalID)
	}
	// One transaction per batch, or, while a commit runs, the batches
	// polled meanwhile together: whole batches either way.
	if st.TransactionSizeMin < batch || st.TransactionSizeMin%batch != 0 || st.TransactionSizeMax%batch != 0 || st.TransactionAborts != 0 {
		t.Errorf("transaction sizes min/max/avg %d/%d/%g, aborts %d; want whole batches of %d, no abort",
			st.TransactionSizeMin, st.TransactionSizeMax, st.TransactionSizeAvg, st.TransactionAborts, batch)
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
	for i, c := range committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-poll", parts) {
		if c != perPart-1 {
			t.Errorf("p%d: committed seq %d, want %d", i, c, perPart-1)
		}
	}
}

// TestEOSRestartResumes: a pipeline stopped mid-stream (graceful: its open
// transaction commits) and a new one on the same offsets topic continue
// without a duplicate or a gap.
func TestEOSRestartResumes(t *testing.T) {
	const parts, perPart = 3, 400
	task := &genTask{parts: parts, perPart: perPart, batch: 25, onPoll: func() { time.Sleep(2 * time.Millisecond) }}
	brokers, topic, cfg := eosSetup(t, "eos-restart", 1, task)
	task.topic = topic
	done := func() bool {
		c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-restart", parts)
		return c[0] == perPart-1 && c[1] == perPart-1 && c[2] == perPart-1
	}
	for round := range 3 {
		p, err := source.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		stop := runPipeline(t, p)
		if round < 2 {
			waitFor(t, "some transactions", 60*time.Second, func() bool {
				st := p.PipelineStatus()
				return len(st.Tasks) == 1 && st.Tasks[0].Transactions >= 3 || done()
			})
		} else {
			waitFor(t, "every record committed", 60*time.Second, done)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
}

// TestEOSIntervalBoundary: transactions end every interval, spanning
// several batches.
func TestEOSIntervalBoundary(t *testing.T) {
	const parts, perPart = 2, 300
	task := &genTask{parts: parts, perPart: perPart, batch: 5, onPoll: func() { time.Sleep(2 * time.Millisecond) }}
	brokers, topic, cfg := eosSetup(t, "eos-interval", 1, task)
	task.topic = topic
	cfg.ExactlyOnce.Boundary = source.BoundaryInterval
	cfg.ExactlyOnce.BoundaryInterval = 100 * time.Millisecond
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record committed", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut == parts*perPart && st.Tasks[0].Transactions > 0 && st.Tasks[0].InFlight == 0 &&
			func() bool {
				c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-interval", parts)
				return c[0] == perPart-1 && c[1] == perPart-1
			}()
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.TransactionSizeMax <= 5 {
		t.Errorf("largest transaction %d records: an interval transaction should span several batches of 5", st.TransactionSizeMax)
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
}

// boundaryTask defines its own transaction boundaries: it commits after a
// chosen record, aborts every third batch (re-emitting its records in the
// next Poll, as a connector that wants them written must), and commits
// other batches.
type boundaryTask struct {
	genTask
	tc      source.TransactionContext
	n       int
	redo    []connect.Record
	aborted atomic.Int64
}

func (b *boundaryTask) Start(ctx context.Context, tc source.TaskContext) error {
	b.tc = source.TransactionContextOf(tc)
	if b.tc == nil {
		return errors.New("no TransactionContext with transaction.boundary=connector")
	}
	b.redo = nil
	return b.genTask.Start(ctx, tc)
}

func (b *boundaryTask) Poll(ctx context.Context) ([]connect.Record, error) {
	var batch []connect.Record
	redo := b.redo != nil
	if redo {
		batch, b.redo = b.redo, nil
	} else {
		var err error
		if batch, err = b.genTask.Poll(ctx); err != nil || len(batch) == 0 {
			return batch, err
		}
	}
	if redo {
		b.tc.CommitTransaction()
		return batch, nil
	}
	// Aborting drops every record of the transaction: abort only batches
	// that begin one (the previous batch committed entirely).
	b.n++
	switch b.n % 3 {
	case 0:
		b.tc.AbortTransaction()
		b.redo = append([]connect.Record(nil), batch...)
		b.aborted.Add(1)
	case 1:
		b.tc.CommitTransactionAfter(&batch[len(batch)/2]) // the rest joins the next transaction
	default:
		b.tc.CommitTransaction()
	}
	return batch, nil
}

type boundaryConnector struct{}

func (boundaryConnector) TaskConfigs(_ context.Context, c map[string]string, _ int) ([]map[string]string, error) {
	return []map[string]string{c}, nil
}

func (boundaryConnector) CanDefineTransactionBoundaries(context.Context, map[string]string) source.ConnectorTransactionBoundaries {
	return source.BoundariesSupported
}

// TestEOSConnectorBoundary: commits after a record and after a batch, and
// aborted batches (their records dropped, their offsets committed, the
// records re-emitted by the task): each record exactly once, in order.
func TestEOSConnectorBoundary(t *testing.T) {
	const parts, perPart = 2, 200
	task := &boundaryTask{genTask: genTask{parts: parts, perPart: perPart, batch: 10}}
	brokers, topic, cfg := eosSetup(t, "eos-connector", 1, task)
	task.topic = topic
	cfg.Connector = boundaryConnector{}
	cfg.ExactlyOnce.Boundary = source.BoundaryConnector
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	// The last transaction may stay open (a commit requested after a
	// record leaves the rest of its batch to the next one): every record
	// polled and acknowledged, then the graceful stop commits it.
	waitFor(t, "every record polled and acknowledged", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		want := int64(parts*perPart) + 10*task.aborted.Load()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsIn == want && st.Tasks[0].RecordsOut == want
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.TransactionAborts == 0 || task.aborted.Load() == 0 {
		t.Errorf("%d aborts in the status, %d requested: want some", st.TransactionAborts, task.aborted.Load())
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
	// The aborted records are in the log, not visible read_committed.
	if all, comm := len(kafkatest.ReadUncommitted(t, brokers, topic)), parts*perPart; all <= comm {
		t.Errorf("log holds %d records, read_committed %d: the aborted batches should be in the log", all, comm)
	}
}

// TestEOSConnectorBoundaryConflict: asking to commit and abort the same
// record fails the task with Kafka Connect's message.
func TestEOSConnectorBoundaryConflict(t *testing.T) {
	task := &conflictRecordTask{genTask: genTask{parts: 1, perPart: 50, batch: 5}}
	_, topic, cfg := eosSetup(t, "eos-conflict", 1, task)
	task.topic = topic
	cfg.Connector = boundaryConnector{}
	cfg.ExactlyOnce.Boundary = source.BoundaryConnector
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	want := "Connector requested both commit and abort of same record against topic/partition " + topic + "/null"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run: %v; want the task to fail with %q", err, want)
	}
}

type conflictRecordTask struct {
	genTask
	tc source.TransactionContext
}

func (c *conflictRecordTask) Start(ctx context.Context, tc source.TaskContext) error {
	c.tc = source.TransactionContextOf(tc)
	return c.genTask.Start(ctx, tc)
}

func (c *conflictRecordTask) Poll(ctx context.Context) ([]connect.Record, error) {
	batch, err := c.genTask.Poll(ctx)
	if len(batch) > 0 {
		c.tc.CommitTransactionAfter(&batch[1])
		c.tc.AbortTransactionAfter(&batch[1])
	}
	return batch, err
}

// TestEOSFencing: a second pipeline running the same task (same group,
// connector and task id) fences the first, which fails with ErrFenced, is
// not restarted by its restart policy, and writes nothing after; the second
// completes the stream: read_committed sees every record once.
func TestEOSFencing(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t)
	const parts, perPart = 2, 3000
	slow := func() { time.Sleep(3 * time.Millisecond) }
	taskA := &genTask{parts: parts, perPart: perPart, batch: 20, onPoll: slow}
	brokers, topic, cfg := eosSetup(t, "eos-fence", 1, taskA)
	taskA.topic = topic
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 5, InitialDelay: 10 * time.Millisecond}
	a, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	doneA := make(chan error, 1)
	go func() { doneA <- a.Run(ctxA) }()
	waitFor(t, "A's first transactions", 60*time.Second, func() bool {
		st := a.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].Transactions >= 5
	})

	taskB := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 20}
	cfgB := cfg
	cfgB.NewTask = func() source.Task { return taskB }
	b, err := source.New(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	stopB := runPipeline(t, b)
	// A's task fails fenced; its pipeline stays RUNNING (Kafka Connect): stop
	// it then, and Run returns the task's failure.
	waitFor(t, "A's task fenced", 60*time.Second, func() bool {
		ts := a.PipelineStatus().Tasks
		return len(ts) == 1 && ts[0].State == connect.StateFailed
	})
	errA := stopWhenFailed(a, cancelA, doneA)
	if !errors.Is(errA, connect.ErrFenced) {
		t.Fatalf("A ended with %v; want ErrFenced", errA)
	}
	if strings.Contains(errA.Error(), "Unknown error") {
		t.Errorf("A's failure prints sarama's text for PRODUCER_FENCED: %v", errA)
	}
	var fe *connect.FencedError
	if !errors.As(errA, &fe) || fe.TransactionalID != "g-eos-fence-0" || fe.Connector != "eos-fence" {
		t.Errorf("A's failure %#v; want a *connect.FencedError naming g-eos-fence-0", fe)
	}
	if st := a.PipelineStatus().Tasks[0]; st.State != connect.StateFailed || st.Restarts != 0 {
		t.Errorf("A's task: %s after %d restarts; want FAILED, never restarted", st.State, st.Restarts)
	}
	waitFor(t, "B commits every record", 120*time.Second, func() bool {
		c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-fence", parts)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
}

// TestEOSOwnOffsetsTopicRefused: a record for the task's own offsets topic
// fails the task with Kafka Connect's message.
func TestEOSOwnOffsetsTopicRefused(t *testing.T) {
	task := &genTask{parts: 1, perPart: 10}
	_, _, cfg := eosSetup(t, "eos-own", 1, task)
	task.topic = cfg.OffsetStorage.Topic
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "Source tasks may not produce to their own offsets topics when exactly-once support is enabled") {
		t.Fatalf("Run: %v; want Kafka Connect's refusal", err)
	}
}

// TestEOSConnectorOffsetsTopic: with offsets.storage.topic the connector's
// own topic is the primary store: the transactions write there, and a
// partition it does not hold resumes from the worker's topic (Kafka
// Connect's ConnectorOffsetBackingStore).
func TestEOSConnectorOffsetsTopic(t *testing.T) {
	const parts, perPart = 2, 200
	task := &genTask{parts: parts, perPart: perPart, batch: 30}
	brokers, topic, cfg := eosSetup(t, "eos-own-topic", 1, task)
	task.topic = topic
	worker, err := offsets.NewKafkaStore(context.Background(), offsets.KafkaStoreConfig{
		Brokers: brokers, Topic: cfg.OffsetStorage.Topic, Sarama: kafkatest.SaramaConfig(t), ReplicationFactor: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = worker.Write(context.Background(), "eos-own-topic", []connect.OffsetEntry{{Partition: map[string]any{"part": "p0"}, Offset: map[string]any{"seq": 99}}})
	worker.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ExactlyOnce.OffsetsTopic = topic + "-connector-offsets"
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record committed to the connector's topic", 60*time.Second, func() bool {
		c := committedSeqs(t, brokers, cfg.ExactlyOnce.OffsetsTopic, "eos-own-topic", parts)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := seqs(t, kafkatest.ReadCommitted(t, brokers, topic))
	if s := got["p0"]; len(s) != perPart-100 || s[0] != 100 {
		t.Errorf("p0 read %d records from %v; want %d from 100 (the worker topic's offset 99)", len(s), s[:min(1, len(s))], perPart-100)
	}
	if s := got["p1"]; len(s) != perPart || s[0] != 0 {
		t.Errorf("p1 read %d records; want %d from 0", len(s), perPart)
	}
	if c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-own-topic", parts); c[0] != 99 || c[1] != -1 {
		t.Errorf("worker topic holds %v; want [99 -1]: the transactions write the connector's topic", c)
	}
}

// TestEOSAbortRewindsOnProduceError: produce requests refused for a while
// (NOT_LEADER_OR_FOLLOWER, past the producer's retries) abort the open
// transaction; the task restarts from its last committed offsets, shown
// stalled meanwhile, and the stream completes exactly once. In-process
// broker only: it needs the broker to fail on purpose.
func TestEOSAbortRewindsOnProduceError(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t)
	const parts, perPart = 2, 400
	topic := kafkatest.Topic(t)
	c, brokers := newFaultyCluster(t, topic, 1)
	var in injector
	in.install(c)
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 20, onPoll: func() { time.Sleep(time.Millisecond) }}
	cfg := baseConfig(t, brokers, "eos-rewind", task)
	cfg.OffsetStore = nil
	cfg.OffsetStorage = offsets.Storage{Topic: topic + "-offsets", ReplicationFactor: 1, Partitions: 1}
	cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: "g"}
	cfg.ProducerProps = map[string]string{"retries": "3", "retry.backoff.ms": "5", "retry.backoff.max.ms": "20"}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "first transactions", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].Transactions >= 3
	})
	in.set(faultNotLeader)
	var stalled atomic.Bool
	waitFor(t, "an aborted transaction", 60*time.Second, func() bool {
		st := p.PipelineStatus().Tasks[0]
		if st.StallError != nil && st.State == connect.StateRunning {
			stalled.Store(true)
		}
		return st.TransactionAborts >= 1
	})
	waitFor(t, "the task shown stalled", 30*time.Second, func() bool {
		st := p.PipelineStatus().Tasks[0]
		if st.StallError != nil && st.State == connect.StateRunning {
			stalled.Store(true)
		}
		return stalled.Load()
	})
	in.set(faultNone)
	waitFor(t, "every record committed", 60*time.Second, func() bool {
		c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-rewind", parts)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	st := p.PipelineStatus().Tasks[0]
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st.State != connect.StateRunning || st.StallError != nil {
		t.Errorf("after the fault: %s, stall %v; want RUNNING, no stall", st.State, st.StallError)
	}
	checkExactlyOnce(t, brokers, topic, parts, perPart)
}

// neverCommits defines its transaction boundaries and never ends one.
type neverCommits struct{ genTask }

// TestEOSTransactionTimeout: a transaction left open past the producer's
// transaction.timeout.ms (producer.override.transaction.timeout.ms) is
// aborted by the broker; the task fails with Kafka Connect's advice, not as
// fenced, and nothing of the transaction is visible.
func TestEOSTransactionTimeout(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t)
	task := &neverCommits{genTask{parts: 1, perPart: -1, batch: 5, onPoll: func() { time.Sleep(20 * time.Millisecond) }}}
	brokers, topic, cfg := eosSetup(t, "eos-timeout", 1, task)
	task.topic = topic
	cfg.Connector = boundaryConnector{}
	cfg.ExactlyOnce.Boundary = source.BoundaryConnector
	cfg.ProducerProps = map[string]string{"transaction.timeout.ms": "1500"}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err = runUntilFailed(ctx, p)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run: %v; want the task to fail once its transaction timed out", err)
	}
	if errors.Is(err, connect.ErrFenced) || !strings.Contains(err.Error(), "unable to finish writing records to Kafka before its producer transaction expired") ||
		!strings.Contains(err.Error(), "transaction.timeout.ms 1500") {
		t.Fatalf("Run: %v; want Kafka Connect's transaction timeout advice naming transaction.timeout.ms 1500, not a fence", err)
	}
	if n := len(kafkatest.ReadCommitted(t, brokers, topic)); n != 0 {
		t.Errorf("read_committed sees %d records of the timed-out transaction", n)
	}
}

// TestEOSToleratedFailures: under exactly-once, errors.tolerance=all keeps
// its meaning for a failing transform: the failed records are skipped (to
// the dead-letter queue, at least once: its own producer) and their offsets
// commit in the transaction; every other record is read once.
func TestEOSToleratedFailures(t *testing.T) {
	const parts, perPart = 2, 100 // seqs 3, 13, …, 93 fail
	task := &genTask{parts: parts, perPart: perPart, batch: 16}
	brokers, topic, cfg := eosSetup(t, "eos-tolerate", 1, task)
	task.topic = topic
	dlq := topic + "-dlq"
	cfg.Transforms = failEvery3rd
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQReplicationFactor: 1}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record committed", 60*time.Second, func() bool {
		c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-tolerate", parts)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := seqs(t, kafkatest.ReadCommitted(t, brokers, topic))
	for i := range parts {
		s := got[fmt.Sprintf("p%d", i)]
		want := int64(0)
		for _, v := range s {
			if want%10 == 3 {
				want++
			}
			if v != want {
				t.Fatalf("p%d: read %v; want every seq but those ending in 3, once, in order", i, s)
			}
			want++
		}
		if len(s) != perPart-perPart/10 {
			t.Errorf("p%d: %d records, want %d", i, len(s), perPart-perPart/10)
		}
	}
	if n := len(readAll(t, brokers, dlq)); n < parts*perPart/10 {
		t.Errorf("DLQ holds %d records, want at least %d", n, parts*perPart/10)
	}
}

// TestEOSPauseCommits: pausing commits the open transaction (Kafka Connect's
// onPause), here one that its 10-minute interval would keep open.
func TestEOSPauseCommits(t *testing.T) {
	const parts, perPart = 1, 50
	task := &genTask{parts: parts, perPart: perPart, batch: 10}
	brokers, topic, cfg := eosSetup(t, "eos-pause", 1, task)
	task.topic = topic
	cfg.ExactlyOnce.Boundary = source.BoundaryInterval
	cfg.ExactlyOnce.BoundaryInterval = 10 * time.Minute
	cfg.ExactlyOnce.TransactionTimeout = 14 * time.Minute // the broker's max.transaction.timeout.ms is 15 min
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "every record acknowledged", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsOut == perPart
	})
	if st := p.PipelineStatus().Tasks[0]; st.Transactions != 0 {
		t.Fatalf("%d transactions committed before the pause; want none (10-minute interval)", st.Transactions)
	}
	p.Pause()
	waitFor(t, "the pause's commit", 60*time.Second, func() bool {
		st := p.PipelineStatus().Tasks[0]
		return st.State == connect.StatePaused && st.Transactions == 1
	})
	if c := committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-pause", parts); c[0] != perPart-1 {
		t.Errorf("committed %v after the pause; want %d", c, perPart-1)
	}
	if n := len(kafkatest.ReadCommitted(t, brokers, topic)); n != perPart {
		t.Errorf("read_committed sees %d records after the pause; want %d", n, perPart)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// nilRecordTask asks to commit after a nil record.
type nilRecordTask struct {
	genTask
	tc source.TransactionContext
}

func (c *nilRecordTask) Start(ctx context.Context, tc source.TaskContext) error {
	c.tc = source.TransactionContextOf(tc)
	return c.genTask.Start(ctx, tc)
}

func (c *nilRecordTask) Poll(ctx context.Context) ([]connect.Record, error) {
	c.tc.CommitTransactionAfter(nil)
	return c.genTask.Poll(ctx)
}

// TestEOSConnectorBoundaryNilRecord: a boundary request with a nil record
// fails the task with Kafka Connect's message (no panic).
func TestEOSConnectorBoundaryNilRecord(t *testing.T) {
	task := &nilRecordTask{genTask: genTask{parts: 1, perPart: 50, batch: 5}}
	brokers, topic, cfg := eosSetup(t, "eos-nil", 1, task)
	task.topic = topic
	cfg.Connector = boundaryConnector{}
	cfg.ExactlyOnce.Boundary = source.BoundaryConnector
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "Source record used to define transaction boundaries may not be null") {
		t.Fatalf("Run: %v; want Kafka Connect's message for a nil record", err)
	}
	if n := len(kafkatest.ReadCommitted(t, brokers, topic)); n != 0 {
		t.Errorf("read_committed sees %d records of the failed task's open transaction; want 0 (aborted)", n)
	}
}

// firstAbortTask commits every batch (connector boundary) except the very
// first one its instances poll, for which it asks to abort; NewTask builds
// a new instance each time, sharing the counter.
type firstAbortTask struct {
	genTask
	asked *atomic.Bool
	tc    source.TransactionContext
}

func (f *firstAbortTask) Start(ctx context.Context, tc source.TaskContext) error {
	f.tc = source.TransactionContextOf(tc)
	return f.genTask.Start(ctx, tc)
}

func (f *firstAbortTask) Poll(ctx context.Context) ([]connect.Record, error) {
	batch, err := f.genTask.Poll(ctx)
	if len(batch) > 0 {
		if f.asked.CompareAndSwap(false, true) {
			f.tc.AbortTransaction()
		} else {
			f.tc.CommitTransaction()
		}
	}
	return batch, err
}

// TestEOSRewindForgetsBoundaryRequests: a transaction that fails (its
// records refused) rewinds the task; the abort the stopped instance asked
// for is not applied to the new instance's first batch (which would drop it
// and commit its offsets): every record is read once.
func TestEOSRewindForgetsBoundaryRequests(t *testing.T) {
	kafkatest.SkipSaramaTxnRace(t)
	const perPart = 60
	topic := kafkatest.Topic(t)
	c, brokers := newFaultyCluster(t, topic, 1)
	var in injector
	in.install(c)
	in.set(faultNotLeader)
	var asked atomic.Bool
	cfg := baseConfig(t, brokers, "eos-rewind-requests", nil)
	cfg.NewTask = func() source.Task {
		return &firstAbortTask{genTask: genTask{topic: topic, parts: 1, perPart: perPart, batch: 10}, asked: &asked}
	}
	cfg.Connector = boundaryConnector{}
	cfg.OffsetStore = nil
	cfg.OffsetStorage = offsets.Storage{Topic: topic + "-offsets", ReplicationFactor: 1, Partitions: 1}
	cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: "g", Boundary: source.BoundaryConnector}
	cfg.ProducerProps = map[string]string{"retries": "1", "retry.backoff.ms": "5", "retry.backoff.max.ms": "10"}
	var slowed atomic.Bool
	cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		if n, _ := asInt64(r.SourceOffset["seq"]); n == 9 && slowed.CompareAndSwap(false, true) {
			// The first batch's refused records are back before it ends:
			// the failed transaction rewinds before the batch's requests
			// are looked at.
			time.Sleep(500 * time.Millisecond)
		}
		return r, nil
	})
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "the failed transaction's rewind", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].TransactionAborts >= 1
	})
	in.set(faultNone)
	waitFor(t, "every record committed", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		if len(st.Tasks) == 1 && st.Tasks[0].State == connect.StateFailed {
			t.Fatalf("task failed: %v", st.Tasks[0].Err)
		}
		return committedSeqs(t, brokers, cfg.OffsetStorage.Topic, "eos-rewind-requests", 1)[0] == perPart-1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, brokers, topic, 1, perPart)
}

// abortAllTask asks to abort every batch (connector boundary).
type abortAllTask struct {
	genTask
	tc source.TransactionContext
}

func (a *abortAllTask) Start(ctx context.Context, tc source.TaskContext) error {
	a.tc = source.TransactionContextOf(tc)
	return a.genTask.Start(ctx, tc)
}

func (a *abortAllTask) Poll(ctx context.Context) ([]connect.Record, error) {
	batch, err := a.genTask.Poll(ctx)
	if len(batch) > 0 {
		a.tc.AbortTransaction()
	}
	return batch, err
}

// TestEOSStopKeepsRequestedAbort: a stop in the middle of a batch whose
// abort the task asked for aborts the open transaction instead of
// committing it: nothing of it is visible.
func TestEOSStopKeepsRequestedAbort(t *testing.T) {
	task := &abortAllTask{genTask: genTask{parts: 1, perPart: 1000, batch: 50}}
	brokers, topic, cfg := eosSetup(t, "eos-stop-abort", 1, task)
	task.topic = topic
	cfg.Connector = boundaryConnector{}
	cfg.ExactlyOnce.Boundary = source.BoundaryConnector
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		if n, _ := asInt64(r.SourceOffset["seq"]); n == 25 {
			cancel() // the stop comes in the middle of the first batch
		}
		return r, nil
	})
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kafkatest.ReadCommitted(t, brokers, topic); len(got) != 0 {
		t.Errorf("read_committed sees %d records of a transaction the task asked to abort", len(got))
	}
}
