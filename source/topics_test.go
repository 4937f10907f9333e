package source_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

// topicsTask polls the records the test queues.
type topicsTask struct {
	mu    sync.Mutex
	queue []connect.Record
	seq   int64
}

func (q *topicsTask) Start(context.Context, source.TaskContext) error { return nil }
func (q *topicsTask) Stop(context.Context) error                      { return nil }

func (q *topicsTask) add(topics ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, tp := range topics {
		q.seq++
		q.queue = append(q.queue, connect.Record{
			Topic: tp, ValueSchema: connect.OptionalBytesSchema, Value: []byte("v"),
			SourcePartition: map[string]any{"p": "0"}, SourceOffset: map[string]any{"seq": q.seq},
		})
	}
}

func (q *topicsTask) Poll(ctx context.Context) ([]connect.Record, error) {
	q.mu.Lock()
	out := q.queue
	q.queue = nil
	q.mu.Unlock()
	if len(out) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
		return nil, nil
	}
	return out, nil
}

// TestActiveTopics: a source's active topics are the topics of the
// records it hands to the producer, after the transforms (a routed
// record's new topic, not a dropped record's), kept over the run and
// forgotten by a reset.
func TestActiveTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	base := kafkatest.Topic(t)
	plain, routedFrom, routedTo, dropped := base+"-plain", base+"-from", base+"-to", base+"-dropped"
	for _, tp := range []string{plain, routedTo} {
		kafkatest.CreateTopic(t, brokers, tp, 1, nil)
	}
	task := &topicsTask{}
	cfg := baseConfig(t, brokers, base, task)
	router, err := transforms.NewRegexRouter(transforms.RegexRouterConfig{Regex: routedFrom, Replacement: routedTo})
	if err != nil {
		t.Fatal(err)
	}
	onlyDropped, err := transforms.NewTopicNameMatches(transforms.TopicNameMatchesConfig{Pattern: dropped})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := transforms.NewChain(
		transforms.Stage{Alias: "drop", Transformation: transforms.NewFilter(), Predicate: onlyDropped},
		transforms.Stage{Alias: "route", Transformation: router},
	)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transforms = chain
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var _ connect.TopicTracker = p
	stop := runPipeline(t, p)
	task.add(dropped, plain, routedFrom, plain, dropped)
	want := []string{plain, routedTo}
	waitFor(t, "plain and routed topics active", 60*time.Second, func() bool { return slices.Equal(p.ActiveTopics(), want) })
	// A dropped record never reaches the producer: its topic stays
	// inactive (the records after it were sent, so it was processed).
	if got := p.ActiveTopics(); slices.Contains(got, dropped) || slices.Contains(got, routedFrom) {
		t.Fatalf("ActiveTopics() = %v", got)
	}

	p.ResetActiveTopics()
	if got := p.ActiveTopics(); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
	task.add(routedFrom)
	waitFor(t, "routed topic active again", 60*time.Second, func() bool { return slices.Equal(p.ActiveTopics(), []string{routedTo}) })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := p.ActiveTopics(); !slices.Equal(got, []string{routedTo}) {
		t.Fatalf("after Run: %v", got)
	}
}
