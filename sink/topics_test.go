package sink_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/transforms"
)

// TestActiveTopics: a topic becomes active when a task takes one of its
// records for delivery, also when a transform then drops it (Kafka
// Connect records it before the transforms); a subscribed topic without
// records is not active; a reset forgets them and a topic seen again is
// active again.
func TestActiveTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	a, b, idle := kafkatest.Topic(t)+"-a", kafkatest.Topic(t)+"-b", kafkatest.Topic(t)+"-idle"
	for _, tp := range []string{a, b, idle} {
		kafkatest.CreateTopic(t, brokers, tp, 1, nil)
	}
	produce(t, brokers, a, 1, 5)
	produce(t, brokers, b, 1, 5)

	task := newRecTask()
	cfg := baseConfig(t, brokers, a, a, func() sink.Task { return task })
	cfg.Topics = []string{a, b, idle}
	onlyB, err := transforms.NewTopicNameMatches(transforms.TopicNameMatchesConfig{Pattern: b})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := transforms.NewChain(transforms.Stage{Alias: "dropB", Transformation: transforms.NewFilter(), Predicate: onlyB})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transforms = chain
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var _ connect.TopicTracker = p
	if got := p.ActiveTopics(); got == nil || len(got) != 0 {
		t.Fatalf("before Run: ActiveTopics() = %#v, want empty", got)
	}
	stop := start(t, p)
	sorted := func() []string {
		s := p.ActiveTopics()
		slices.Sort(s)
		return s
	}
	want := []string{a, b}
	slices.Sort(want)
	waitFor(t, 60*time.Second, "topics a and b active", func() bool { return slices.Equal(sorted(), want) })
	waitFor(t, 60*time.Second, "a's records put", func() bool { return task.n.Load() >= 5 })
	if task.n.Load() != 5 {
		t.Fatalf("put %d records, want a's 5 (b's are filtered)", task.n.Load())
	}

	p.ResetActiveTopics()
	if got := p.ActiveTopics(); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
	produce(t, brokers, b, 1, 3)
	waitFor(t, 60*time.Second, "b active again", func() bool { return slices.Equal(p.ActiveTopics(), []string{b}) })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := p.ActiveTopics(); !slices.Equal(got, []string{b}) {
		t.Fatalf("after Run: %v", got)
	}
}

// TestActiveTopicsTransformFailureTolerated: under errors.tolerance=all, a
// topic whose every record fails in a transform (and is skipped) is
// active, as Kafka Connect's WorkerSinkTask records the topic before the
// transformation chain; a topic whose every record fails in the value
// converter is not.
func TestActiveTopicsTransformFailureTolerated(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	bad, unconv := kafkatest.Topic(t)+"-smtfail", kafkatest.Topic(t)+"-convfail"
	for _, tp := range []string{bad, unconv} {
		kafkatest.CreateTopic(t, brokers, tp, 1, nil)
	}
	produce(t, brokers, bad, 1, 3)
	produce(t, brokers, unconv, 1, 3)
	task := newRecTask()
	cfg := baseConfig(t, brokers, bad, bad, func() sink.Task { return task })
	cfg.Topics = []string{bad, unconv}
	cfg.ValueConverter = topicFailingConverter{topic: unconv}
	cfg.Transforms = transformFunc(func(rec *connect.Record) (*connect.Record, error) {
		if rec.Topic == bad {
			return nil, errors.New("cannot route")
		}
		return rec, nil
	})
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "every record skipped", func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) == 1 && st.Tasks[0].RecordsSkipped == 6
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := p.ActiveTopics(); !slices.Equal(got, []string{bad}) {
		t.Fatalf("ActiveTopics() = %v, want [%s]", got, bad)
	}
}

// topicFailingConverter is a ByteArray-like value converter failing on
// every record of one topic.
type topicFailingConverter struct{ topic string }

func (topicFailingConverter) FromConnect(context.Context, string, *connect.Headers, *connect.Schema, any) ([]byte, error) {
	return nil, nil
}

func (c topicFailingConverter) ToConnect(_ context.Context, topic string, _ connect.Headers, data []byte) (connect.SchemaAndValue, error) {
	if topic == c.topic {
		return connect.SchemaAndValue{}, errors.New("not convertible")
	}
	return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema, Value: bytes.Clone(data)}, nil
}
