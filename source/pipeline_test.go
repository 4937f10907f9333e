package source_test

import (
	"context"
	"fmt"
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
	"github.com/sluicehq/sluice/source"
)

func TestMain(m *testing.M) {
	// sarama's producer opens a circuit breaker after repeated send errors
	// (the backpressure test provokes them); the breaker's timer goroutine
	// sleeps 10 s and then exits by itself. It is sarama's, cannot be
	// stopped, and is the only goroutine tolerated here.
	// kfake's run loop can stay blocked on its control mutex after Close
	// once a control function (kafkatest.AnswerPlainLikeKafka) has
	// answered: the in-process broker's goroutine, not Sluice's.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).continueSleptControl"))
}

// genTask emits records "p<i>:<seq>" round-robin over parts source
// partitions, perPart records each (forever when perPart < 0), resuming from
// committed offsets.
type genTask struct {
	topic   string
	parts   int
	perPart int64
	batch   int
	// partition builds the source partition map of partition i.
	partition func(i int) map[string]any

	next          []int64
	cursor        int
	polls         atomic.Int64
	stopped       atomic.Bool
	pollAfterStop atomic.Bool
	onPoll        func()
}

func (g *genTask) part(i int) map[string]any {
	if g.partition != nil {
		return g.partition(i)
	}
	return map[string]any{"part": fmt.Sprintf("p%d", i)}
}

func (g *genTask) Start(ctx context.Context, tc source.TaskContext) error {
	g.next = make([]int64, g.parts)
	for i := range g.parts {
		off, err := tc.Offsets().Offset(ctx, g.part(i))
		if err != nil {
			return err
		}
		if off != nil {
			seq, err := asInt64(off["seq"])
			if err != nil {
				return err
			}
			g.next[i] = seq + 1
		}
	}
	return nil
}

func asInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case float64:
		return int64(n), nil
	}
	return 0, fmt.Errorf("offset seq has type %T", v)
}

func (g *genTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if g.stopped.Load() {
		g.pollAfterStop.Store(true)
	}
	g.polls.Add(1)
	if g.onPoll != nil {
		g.onPoll()
	}
	batch := g.batch
	if batch == 0 {
		batch = 100
	}
	out := make([]connect.Record, 0, batch)
	for tries := 0; len(out) < batch && tries < g.parts; {
		i := g.cursor % g.parts
		g.cursor++
		if g.perPart >= 0 && g.next[i] >= g.perPart {
			tries++
			continue
		}
		tries = 0
		seq := g.next[i]
		g.next[i]++
		name := fmt.Sprintf("p%d", i)
		out = append(out, connect.Record{
			Topic:           g.topic,
			KeySchema:       connect.OptionalBytesSchema,
			Key:             []byte(name),
			ValueSchema:     connect.OptionalBytesSchema,
			Value:           []byte(name + ":" + strconv.FormatInt(seq, 10)),
			SourcePartition: g.part(i),
			SourceOffset:    map[string]any{"seq": seq},
		})
	}
	if len(out) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
		return nil, nil
	}
	return out, nil
}

func (g *genTask) Stop(context.Context) error {
	g.stopped.Store(true)
	return nil
}

// readAll reads every record of topic from the beginning to the end offsets.
func readAll(t *testing.T, brokers []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var out []*sarama.ConsumerMessage
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		if end <= start {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case m := <-pc.Messages():
				out = append(out, m)
				if m.Offset >= end-1 {
					goto done
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("timed out reading %s partition %d at offset < %d", topic, p, end)
			}
		}
	done:
		pc.Close()
	}
	return out
}

// seqs groups read records by source partition name, in Kafka order.
func seqs(t *testing.T, msgs []*sarama.ConsumerMessage) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for _, m := range msgs {
		name, seqStr, ok := strings.Cut(string(m.Value), ":")
		if !ok {
			t.Fatalf("unexpected value %q", m.Value)
		}
		seq, err := strconv.ParseInt(seqStr, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = append(out[name], seq)
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// baseConfig is a pipeline configuration with a memory offset store, set
// explicitly (there is no memory default); tests of committed offsets set
// their own store.
func baseConfig(t *testing.T, brokers []string, name string, task source.Task) source.Config {
	return source.Config{
		Name:        name,
		Brokers:     brokers,
		NewTask:     func() source.Task { return task },
		Sarama:      kafkatest.SaramaConfig(t),
		OffsetStore: offsets.NewMemoryStore(),
	}
}

// runPipeline starts p.Run in the background and returns a stop function
// that cancels it and returns Run's error.
func runPipeline(t *testing.T, p *source.Pipeline) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Run did not return within 60 s of cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func committed(t *testing.T, store offsets.Store, name string, parts int, part func(int) map[string]any) []int64 {
	t.Helper()
	out := make([]int64, parts)
	for i := range parts {
		off, err := store.Get(context.Background(), name, part(i))
		if err != nil {
			t.Fatal(err)
		}
		if off == nil {
			out[i] = -1
			continue
		}
		n, err := asInt64(off["seq"])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = n
	}
	return out
}

func TestExactlyOnceInOrderAndCommittedOffsets(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 4, nil)
	const parts, perPart = 4, 25000
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 500}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "gen-exact", task)
	cfg.OffsetStore = store
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "all records acknowledged", 120*time.Second, func() bool {
		return p.PipelineStatus().Tasks != nil && p.PipelineStatus().Tasks[0].RecordsOut == parts*perPart
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !task.stopped.Load() {
		t.Fatal("Run returned before the task's Stop was called")
	}
	if task.pollAfterStop.Load() {
		t.Fatal("Poll was called after Stop")
	}
	got := seqs(t, readAll(t, brokers, topic))
	for i := range parts {
		name := fmt.Sprintf("p%d", i)
		s := got[name]
		if len(s) != perPart {
			t.Fatalf("%s: %d records in Kafka, want %d", name, len(s), perPart)
		}
		for j, v := range s {
			if v != int64(j) {
				t.Fatalf("%s: record %d has seq %d: lost, duplicated or out of order", name, j, v)
			}
		}
	}
	c := committed(t, store, "gen-exact", parts, task.part)
	for i, v := range c {
		if v != perPart-1 {
			t.Errorf("partition p%d: committed seq %d, want %d", i, v, perPart-1)
		}
	}
	st := p.PipelineStatus()
	if st.State != connect.StateStopped || st.Tasks[0].State != connect.StateStopped {
		t.Errorf("after stop: pipeline %s task %s, want STOPPED", st.State, st.Tasks[0].State)
	}
}

// runUntilFailed runs p until every task is FAILED (or ctx is done, or Run
// returned by itself: a connector failure), then stops it and returns Run's
// error: the failed tasks' errors joined. As in Kafka Connect, a task
// failure leaves the connector RUNNING, so Run no longer returns by itself
// when its tasks failed.
func runUntilFailed(ctx context.Context, p *source.Pipeline) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	return stopWhenFailed(p, cancel, errc)
}

// stopWhenFailed waits until every task of p (run with errc receiving
// Run's result) is FAILED, then cancels the run and returns Run's error.
func stopWhenFailed(p *source.Pipeline, cancel context.CancelFunc, errc <-chan error) error {
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
