package sink_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

func TestMain(m *testing.M) {
	if os.Getenv("SARAMA_TEST_LOG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	// kfake's run loop can stay blocked on its control mutex after Close
	// once a control function (kafkatest.AnswerPlainLikeKafka) has
	// answered: the in-process broker's goroutine, not Sluice's.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).continueSleptControl"))
}

var quiet = func() *slog.Logger {
	if os.Getenv("SINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}()

// recTask records what it receives. Hooks run from the task goroutine.
type recTask struct {
	mu   sync.Mutex
	tc   sink.TaskContext
	got  map[connect.TopicPartition][]int64
	vals map[connect.TopicPartition][]string
	n    atomic.Int64

	opens, closes [][]connect.TopicPartition
	stopped       atomic.Bool

	onPut    func(ctx context.Context, recs []connect.Record) error
	onOpen   func(ctx context.Context, tps []connect.TopicPartition) error
	onCommit func(offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error)
}

func newRecTask() *recTask {
	return &recTask{got: map[connect.TopicPartition][]int64{}, vals: map[connect.TopicPartition][]string{}}
}

func (t *recTask) Start(_ context.Context, tc sink.TaskContext) error { t.tc = tc; return nil }

func (t *recTask) Put(ctx context.Context, recs []connect.Record) error {
	if t.onPut != nil {
		if err := t.onPut(ctx, recs); err != nil {
			return err
		}
	}
	t.mu.Lock()
	for _, r := range recs {
		tp := r.OriginalTopicPartition()
		t.got[tp] = append(t.got[tp], r.OriginalOffset)
		if b, ok := r.Value.([]byte); ok && len(t.vals[tp]) < 1000 {
			t.vals[tp] = append(t.vals[tp], string(b))
		}
	}
	t.mu.Unlock()
	t.n.Add(int64(len(recs)))
	return nil
}

func (t *recTask) Open(ctx context.Context, tps []connect.TopicPartition) error {
	t.mu.Lock()
	t.opens = append(t.opens, slices.Clone(tps))
	t.mu.Unlock()
	if t.onOpen != nil {
		return t.onOpen(ctx, tps)
	}
	return nil
}

func (t *recTask) Close(_ context.Context, tps []connect.TopicPartition) error {
	t.mu.Lock()
	t.closes = append(t.closes, slices.Clone(tps))
	t.mu.Unlock()
	return nil
}

func (t *recTask) PreCommit(_ context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if t.onCommit != nil {
		return t.onCommit(offsets)
	}
	return offsets, nil
}

func (t *recTask) Stop(context.Context) error { t.stopped.Store(true); return nil }

// offsets returns a copy of the received offsets.
func (t *recTask) offsets() map[connect.TopicPartition][]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[connect.TopicPartition][]int64{}
	for tp, o := range t.got {
		out[tp] = slices.Clone(o)
	}
	return out
}

func (t *recTask) counts() (opens, closes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.opens), len(t.closes)
}

// produce writes perPart records "p<i>-<seq>" to each of parts partitions.
func produce(t testing.TB, brokers []string, topic string, parts int32, perPart int) {
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
	const chunk = 5000
	msgs := make([]*sarama.ProducerMessage, 0, chunk)
	flush := func() {
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("produce: %v", err)
		}
		msgs = msgs[:0]
	}
	for p := range parts {
		for i := range perPart {
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic: topic, Partition: p,
				Key:   sarama.StringEncoder(fmt.Sprintf("k%d", i)),
				Value: sarama.StringEncoder(fmt.Sprintf("p%d-%d", p, i)),
			})
			if len(msgs) == chunk {
				flush()
			}
		}
	}
	if len(msgs) > 0 {
		flush()
	}
}

func endOffsets(t testing.TB, brokers []string, topic string, parts int32) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	out := map[int32]int64{}
	for p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = off
	}
	return out
}

// committed returns the group's committed offsets (-1: none).
func committed(t testing.TB, brokers []string, group, topic string, parts int32) map[int32]int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ps := make([]int32, parts)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range ps {
		b := resp.GetBlock(topic, p)
		if b == nil {
			out[p] = -1
			continue
		}
		out[p] = b.Offset
	}
	return out
}

// baseConfig is a test pipeline configuration.
func baseConfig(t testing.TB, brokers []string, name, topic string, newTask func() sink.Task) sink.Config {
	return sink.Config{
		Name:    name,
		Brokers: brokers,
		Topics:  []string{topic},
		NewTask: newTask,
		Sarama:  kafkatest.SaramaConfig(t),
		Logger:  quiet,
		ConsumerProps: map[string]string{
			"session.timeout.ms":    "6000",
			"heartbeat.interval.ms": "500",
		},
	}
}

// start runs p in the background; the returned function stops it and
// returns Run's error.
func start(t testing.TB, p *sink.Pipeline) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(60 * time.Second):
				t.Fatalf("pipeline %s did not stop", p.Name())
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkComplete checks that seen holds every offset below end for each
// partition, in order when inOrder (duplicates allowed only when !inOrder).
func checkComplete(t testing.TB, topic string, seen map[connect.TopicPartition][]int64, end map[int32]int64) {
	t.Helper()
	for p, e := range end {
		tp := connect.TopicPartition{Topic: topic, Partition: p}
		have := map[int64]bool{}
		for _, o := range seen[tp] {
			have[o] = true
		}
		for o := int64(0); o < e; o++ {
			if !have[o] {
				t.Fatalf("partition %d: offset %d never delivered (have %d distinct of %d)", p, o, len(have), e)
			}
		}
	}
}

// runUntilFailed runs p until every task is FAILED (or ctx is done), then
// stops it and returns Run's error: the failed tasks' errors joined. As in
// Kafka Connect, a task failure leaves the connector RUNNING, so Run no
// longer returns by itself when its tasks failed.
func runUntilFailed(ctx context.Context, p *sink.Pipeline) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	return stopWhenFailed(p, cancel, errc)
}

// stopWhenFailed waits until every task of p (run with errc receiving
// Run's result) is FAILED, then cancels the run and returns Run's error.
func stopWhenFailed(p *sink.Pipeline, cancel context.CancelFunc, errc <-chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			st := p.PipelineStatus()
			failed := len(st.Tasks) > 0
			for _, t := range st.Tasks {
				failed = failed && t.State == connect.StateFailed
			}
			if failed {
				cancel()
				return <-errc
			}
		}
	}
}
