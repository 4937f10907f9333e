package main

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// The Sluice sink contender notes its first Put batch (time and size),
// not later ones.
func TestNoopTaskFirstBatch(t *testing.T) {
	task := &noopTask{want: 5, done: make(chan struct{}), start: time.Now().Add(-time.Second)}
	recs := make([]connect.Record, 3)
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	first := time.Duration(task.firstAt.Load())
	if first < time.Second || task.firstCnt.Load() != 3 {
		t.Fatalf("after the first batch: firstAt %v, firstCnt %d; want >= 1s, 3", first, task.firstCnt.Load())
	}
	if err := task.Put(context.Background(), recs[:2]); err != nil {
		t.Fatal(err)
	}
	if time.Duration(task.firstAt.Load()) != first || task.firstCnt.Load() != 3 {
		t.Errorf("a later batch changed the first: %v, %d", time.Duration(task.firstAt.Load()), task.firstCnt.Load())
	}
	select {
	case <-task.done:
	default:
		t.Error("done not closed at want records")
	}
}

type fakeSession struct{ sarama.ConsumerGroupSession }

func (fakeSession) Context() context.Context                    { return context.Background() }
func (fakeSession) MarkMessage(*sarama.ConsumerMessage, string) {}

type fakeClaim struct {
	sarama.ConsumerGroupClaim
	ch chan *sarama.ConsumerMessage
}

func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.ch }

// The bare group's handler notes its first message, decodes every value
// with its converter and keeps the first decoding error.
func TestCountHandlerFirstAndDecode(t *testing.T) {
	d, err := jsonData()
	if err != nil {
		t.Fatal(err)
	}
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := &countHandler{want: 3, done: make(chan struct{}), conv: conv, start: time.Now().Add(-time.Second)}
	ch := make(chan *sarama.ConsumerMessage, 3)
	ch <- &sarama.ConsumerMessage{Topic: "t", Value: d.encoded[0]}
	ch <- &sarama.ConsumerMessage{Topic: "t", Value: d.encoded[1]}
	ch <- &sarama.ConsumerMessage{Topic: "t", Value: []byte("not json")}
	close(ch)
	if err := h.ConsumeClaim(fakeSession{}, fakeClaim{ch: ch}); err != nil {
		t.Fatal(err)
	}
	if first := time.Duration(h.firstAt.Load()); first < time.Second {
		t.Errorf("firstAt %v, want >= 1s", first)
	}
	if h.n.Load() != 3 || h.bytes.Load() != int64(len(d.encoded[0])+len(d.encoded[1])+len("not json")) {
		t.Errorf("counted %d records, %d bytes", h.n.Load(), h.bytes.Load())
	}
	if h.err.Load() == nil {
		t.Error("the undecodable value left no error")
	}
	select {
	case <-h.done:
	default:
		t.Error("done not closed at want records")
	}
}

// The JSON contenders against a broker: the producer that encodes records
// its first acknowledgement and sends what the converter produces; the
// decoding group and the Sluice sink with the JSON converter read it back,
// each recording its first record.
func TestJSONContenders(t *testing.T) {
	br := &broker{addrs: kafkatest.Brokers(t)}
	ctx := context.Background()
	d, err := jsonData()
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	topic := newTopic("test-json")
	if err := createTopic(br.addrs, topic, 2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTopic(br.addrs, topic) })
	s, err := runSaramaProducerEncoding(ctx, br, topic, n, d)
	if err != nil {
		t.Fatal(err)
	}
	if s.first <= 0 || s.first > s.elapsed || s.firstCnt != 1 {
		t.Errorf("producer: first %v (count %d), elapsed %v", s.first, s.firstCnt, s.elapsed)
	}
	if s.bytes != d.bytes(n) {
		t.Errorf("producer sent %d value bytes, want %d (the converter's output)", s.bytes, d.bytes(n))
	}
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := runSaramaGroup(ctx, br, topic, n, conv)
	if err != nil {
		t.Fatal(err)
	}
	if g.first <= 0 || g.first > g.elapsed || g.bytes != d.bytes(n) {
		t.Errorf("group: first %v, elapsed %v, bytes %d (want %d)", g.first, g.elapsed, g.bytes, d.bytes(n))
	}
	k, err := runSluiceSink(ctx, br, topic, n, 0, conv)
	if err != nil {
		t.Fatal(err)
	}
	if k.first <= 0 || k.first > k.elapsed || k.firstCnt < 1 || k.firstCnt > n {
		t.Errorf("sink: first %v (count %d), elapsed %v", k.first, k.firstCnt, k.elapsed)
	}
}
