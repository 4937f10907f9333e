package errhandler

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/redact"
)

// describeTopic returns the topic's metadata and the cluster's broker count.
func describeTopic(t *testing.T, brokers []string, topic string) (*sarama.TopicMetadata, int) {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 1 || md[0].Err != sarama.ErrNoError {
		t.Fatalf("DescribeTopics(%s) = %+v", topic, md)
	}
	return md[0], len(client.Brokers())
}

// exists reports whether topic exists (without auto-creating it).
func exists(t *testing.T, brokers []string, topic string) bool {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		t.Fatal(err)
	}
	return len(md) == 1 && md[0].Err == sarama.ErrNoError
}

// consume reads n records from partition 0 of topic, from the start.
func consume(t *testing.T, brokers []string, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			t.Fatalf("consuming %s: %v", topic, err)
		case <-timeout:
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
	}
	return out
}

func newTestDLQ(t *testing.T, brokers []string, cfg DLQConfig) *DLQ {
	t.Helper()
	cfg.Brokers = brokers
	if cfg.Sarama == nil {
		cfg.Sarama = kafkatest.SaramaConfig(t)
	}
	d, err := NewDLQ(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewDLQ: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestDLQCreatesMissingTopic: NewDLQ creates a missing topic with one
// partition and the replication factor lowered to the cluster size, with a
// warning.
func TestDLQCreatesMissingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	if exists(t, brokers, topic) {
		t.Fatalf("topic %s exists before NewDLQ", topic)
	}
	logs := &syncBuffer{}
	d := newTestDLQ(t, brokers, DLQConfig{Topic: topic, ReplicationFactor: 3, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if d.Topic() != topic {
		t.Errorf("Topic() = %q", d.Topic())
	}
	md, nBrokers := describeTopic(t, brokers, topic)
	if len(md.Partitions) != 1 {
		t.Errorf("%d partitions, want 1", len(md.Partitions))
	}
	wantRF := min(3, nBrokers)
	if got := len(md.Partitions[0].Replicas); got != wantRF {
		t.Errorf("replication factor %d, want %d (3 capped to %d brokers)", got, wantRF, nBrokers)
	}
	if nBrokers < 3 && !strings.Contains(logs.String(), "lowering the dead-letter queue topic's replication factor") {
		t.Errorf("no warning about the lowered replication factor: %q", logs.String())
	}
}

// TestDLQKeepsExistingTopic: an existing topic is used as it is.
func TestDLQKeepsExistingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	logs := &syncBuffer{}
	newTestDLQ(t, brokers, DLQConfig{Topic: topic, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	md, _ := describeTopic(t, brokers, topic)
	if len(md.Partitions) != 2 {
		t.Errorf("%d partitions, want the existing 2", len(md.Partitions))
	}
	if logs.String() != "" {
		t.Errorf("unexpected log %q", logs.String())
	}
}

// TestDLQEmptyTopic: the topic name is required.
func TestDLQEmptyTopic(t *testing.T) {
	_, err := NewDLQ(context.Background(), DLQConfig{Brokers: []string{"127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "errors.deadletterqueue.topic.name") {
		t.Errorf("NewDLQ without a topic: %v", err)
	}
}

// TestDLQReportRaw: a failure with its raw consumed record is written
// byte for byte (key, value, headers in order, timestamp), followed by the
// context headers when enabled.
func TestDLQReportRaw(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: topic, ReplicationFactor: 1, ContextHeaders: true, Metrics: m})
	ts := time.UnixMilli(1700000000123)
	raw := &RawRecord{
		Topic: "orders", Partition: 3, Offset: 42,
		Key:   []byte{0x00, 0x01, 0xfe, 0xff},
		Value: []byte("{\"id\":1,\x00\xc3\x28"),
		Headers: []RawHeader{
			{Key: "trace-id", Value: []byte("abc")},
			{Key: "bin", Value: []byte{0x00, 0xff, 0x10}},
			{Key: "trace-id", Value: []byte("dup")},
		},
		Timestamp: ts,
	}
	f := &Failure{Stage: connect.StageValueConverter, Component: &fakeConverter{}, Record: sinkRecord(), Raw: raw,
		Err: stderrors.New("invalid JSON"), Attempts: 1}
	if err := d.Report(context.Background(), "orders-sink", 2, f); err != nil {
		t.Fatal(err)
	}
	msg := consume(t, brokers, topic, 1)[0]
	if !bytes.Equal(msg.Key, raw.Key) || !bytes.Equal(msg.Value, raw.Value) {
		t.Errorf("key %x value %q, want %x %q", msg.Key, msg.Value, raw.Key, raw.Value)
	}
	if !msg.Timestamp.Equal(ts) {
		t.Errorf("timestamp %v, want %v", msg.Timestamp, ts)
	}
	var got []sarama.RecordHeader
	for _, h := range msg.Headers {
		got = append(got, *h)
	}
	want := []kv{{"trace-id", "abc"}, {"bin", "\x00\xff\x10"}, {"trace-id", "dup"}}
	want = append(want, headerList(ContextHeaders("orders-sink", 2, f))...)
	if len(want) != 3+10+3 {
		t.Fatalf("expected Kafka Connect's 10 context headers and Sluice's 3, have %d", len(want)-3)
	}
	diffHeaders(t, got, want)
	if s := m.Snapshot(); s.DLQProduceRequests != 1 || s.DLQProduceFailures != 0 {
		t.Errorf("metrics %+v", s)
	}
}

// TestDLQReportDescribed: without raw bytes the record is described as
// JSON; without context headers there are no headers; a nil key stays nil.
func TestDLQReportDescribed(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: topic, ReplicationFactor: 1, Metrics: m})
	src := sourceRecord()
	for _, r := range []*connect.Record{src, sinkRecord()} {
		if err := d.Report(context.Background(), "c", 0, &Failure{Stage: connect.StageTransformation, Record: r, Err: stderrors.New("x")}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := consume(t, brokers, topic, 2)
	var got map[string]any
	if err := json.Unmarshal(msgs[0].Value, &got); err != nil {
		t.Fatalf("value %q: %v", msgs[0].Value, err)
	}
	want := map[string]any{
		"topic": "lines", "key": "k-2", "value": "hello",
		"source_partition": map[string]any{"file": "a.txt"},
		"source_offset":    map[string]any{"pos": 7.0},
	}
	if len(got) != len(want) {
		t.Errorf("described as %v, want %v", got, want)
	}
	for k, v := range want {
		if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(t, v) {
			t.Errorf("%s = %s, want %s", k, gb, mustJSON(t, v))
		}
	}
	if msgs[0].Key != nil || len(msgs[0].Headers) != 0 || !msgs[0].Timestamp.Equal(src.Timestamp) {
		t.Errorf("key %q, %d headers, timestamp %v", msgs[0].Key, len(msgs[0].Headers), msgs[0].Timestamp)
	}
	var sink map[string]any
	if err := json.Unmarshal(msgs[1].Value, &sink); err != nil {
		t.Fatal(err)
	}
	if sink["kafka_topic"] != "orders" || sink["kafka_partition"] != 3.0 || sink["kafka_offset"] != 42.0 || sink["topic"] != "orders-renamed" {
		t.Errorf("sink record described as %v", sink)
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 2 || s.DLQProduceFailures != 0 {
		t.Errorf("metrics %+v", s)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDLQReportAfterClose: reporting to a closed queue is an error (not a
// panic) and counts as a failed produce; Close is idempotent.
func TestDLQReportAfterClose(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: kafkatest.Topic(t), ReplicationFactor: 1, Metrics: m})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	err := d.Report(context.Background(), "c", 0, &Failure{Stage: connect.StageTaskPut, Record: sinkRecord(), Err: stderrors.New("x")})
	if err == nil || !strings.Contains(err.Error(), d.Topic()) {
		t.Fatalf("Report after Close: %v", err)
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 1 || s.DLQProduceFailures != 1 {
		t.Errorf("metrics %+v, want 1 request and 1 failure", s)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestDLQReportCancelled: a cancelled context is a failed produce.
func TestDLQReportCancelled(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: kafkatest.Topic(t), ReplicationFactor: 1, Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Report(ctx, "c", 0, &Failure{Stage: connect.StageTaskPut, Err: stderrors.New("x")}); !stderrors.Is(err, context.Canceled) {
		t.Errorf("Report = %v, want context.Canceled", err)
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 1 || s.DLQProduceFailures != 1 {
		t.Errorf("metrics %+v", s)
	}
}

// fastFail is a sarama configuration that gives up on a dead broker fast.
func fastFail(t *testing.T) *sarama.Config {
	sc := kafkatest.SaramaConfig(t)
	sc.Net.DialTimeout = 300 * time.Millisecond
	sc.Net.ReadTimeout = 500 * time.Millisecond
	sc.Net.WriteTimeout = 500 * time.Millisecond
	sc.Metadata.Retry.Max = 0
	sc.Metadata.Retry.Backoff = 10 * time.Millisecond
	sc.Producer.Retry.Max = 1
	sc.Producer.Retry.Backoff = 10 * time.Millisecond
	sc.Producer.Timeout = 500 * time.Millisecond
	sc.Admin.Retry.Max = 0
	sc.Admin.Timeout = 500 * time.Millisecond
	return sc
}

// TestDLQUnreachableBroker: NewDLQ against an address where no broker
// listens fails quickly with an error naming the queue and the cause.
func TestDLQUnreachableBroker(t *testing.T) {
	topic := "unreachable-dlq"
	start := time.Now()
	d, err := NewDLQ(context.Background(), DLQConfig{Brokers: []string{"127.0.0.1:1"}, Topic: topic, Sarama: fastFail(t)})
	if err == nil {
		d.Close()
		t.Fatal("NewDLQ succeeded without a broker")
	}
	if !strings.Contains(err.Error(), "dead-letter queue "+topic) || !stderrors.Is(err, sarama.ErrOutOfBrokers) {
		t.Errorf("error %q does not name the queue and sarama.ErrOutOfBrokers", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("NewDLQ took %v to fail", time.Since(start))
	}
}

// TestDLQBrokerGone: once the broker is gone, Report keeps retrying (a
// broker outage is not a record failure) until its context ends or the
// queue is closed; then it returns an error naming the queue and the cause,
// and counts one failed produce.
func TestDLQBrokerGone(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	m := new(Metrics)
	logs := &syncBuffer{}
	d, err := NewDLQ(context.Background(), DLQConfig{Brokers: c.ListenAddrs(), Topic: "gone-dlq", ReplicationFactor: 1,
		Sarama: fastFail(t), Metrics: m, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	defer d.Close()
	f := &Failure{Stage: connect.StageTaskPut, Raw: &RawRecord{Value: []byte("v")}, Err: stderrors.New("x")}
	if err := d.Report(context.Background(), "c", 0, f); err != nil {
		t.Fatalf("Report while the broker is up: %v", err)
	}
	c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = d.Report(ctx, "c", 0, f)
	if err == nil || !strings.Contains(err.Error(), "writing to dead-letter queue gone-dlq") || !stderrors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Report without a broker = %v, want an error naming the queue and wrapping the context's", err)
	}
	if !strings.Contains(logs.String(), "dead-letter queue unavailable; retrying") {
		t.Errorf("no warning about the retries: %s", logs.String())
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 2 || s.DLQProduceFailures != 1 {
		t.Errorf("metrics %+v, want 2 requests and 1 failure", s)
	}

	// Close ends a Report that retries with a context that never ends.
	done := make(chan error, 1)
	go func() { done <- d.Report(context.Background(), "c", 0, f) }()
	waitFor(t, "the Report to retry", func() bool { return strings.Count(logs.String(), "dead-letter queue unavailable") >= 2 })
	if err := d.Close(); err != nil {
		t.Logf("Close: %v", err) // the producer may report the broker it could not reach
	}
	select {
	case err := <-done:
		if !stderrors.Is(err, sarama.ErrClosedClient) {
			t.Errorf("Report ended by Close = %v, want sarama.ErrClosedClient", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Report did not return after Close")
	}
}

// waitFor polls cond until it holds, failing t after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failProduces makes the cluster answer its next len(codes) Produce requests
// with codes[i] for every partition, without storing anything; later
// requests are handled normally. It returns the count of requests seen.
func failProduces(c *kfake.Cluster, codes ...int16) *atomic.Int32 {
	var n atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		i := int(n.Add(1)) - 1
		if i >= len(codes) {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = codes[i]
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return &n
}

// Kafka error codes injected by the tests.
const (
	codeNotLeaderOrFollower int16 = 6
	codeRequestTimedOut     int16 = 7
	codeMessageTooLarge     int16 = 10
)

// endOffset returns the high watermark of partition 0 of topic.
func endOffset(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// TestDLQRetriesRetriableErrors: produce errors that mean "not yet"
// (NOT_LEADER_OR_FOLLOWER, then REQUEST_TIMED_OUT), more of them than
// sarama's own retries absorb, do not fail a Report: it retries until the
// record is written, and each record reaches the queue exactly once, in
// order.
func TestDLQRetriesRetriableErrors(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	m := new(Metrics)
	logs := &syncBuffer{}
	sc := kafkatest.SaramaConfig(t)
	sc.Producer.Retry.Max = 2 // sarama gives up after 3 attempts; Report goes on
	d := newTestDLQ(t, brokers, DLQConfig{Topic: "retry-dlq", ReplicationFactor: 1, Sarama: sc, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})

	codes := []int16{codeNotLeaderOrFollower, codeNotLeaderOrFollower, codeNotLeaderOrFollower, codeNotLeaderOrFollower,
		codeRequestTimedOut, codeRequestTimedOut, codeRequestTimedOut, codeRequestTimedOut}
	seen := failProduces(c, codes...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range 3 {
		f := &Failure{Stage: connect.StageTaskPut, Raw: &RawRecord{Value: fmt.Appendf(nil, "v%d", i)}, Err: stderrors.New("x")}
		if err := d.Report(ctx, "c", 0, f); err != nil {
			t.Fatalf("Report %d: %v", i, err)
		}
	}
	if n := int(seen.Load()); n <= len(codes) {
		t.Fatalf("%d produce requests, want more than the %d failed ones", n, len(codes))
	}
	if !strings.Contains(logs.String(), "dead-letter queue unavailable; retrying") {
		t.Errorf("sarama absorbed every injected error (no retry by Report): %s", logs.String())
	}
	if end := endOffset(t, brokers, "retry-dlq"); end != 3 {
		t.Fatalf("the queue holds %d records, want 3", end)
	}
	for i, msg := range consume(t, brokers, "retry-dlq", 3) {
		if want := fmt.Sprintf("v%d", i); string(msg.Value) != want {
			t.Errorf("record %d = %q, want %q", i, msg.Value, want)
		}
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 3 || s.DLQProduceFailures != 0 {
		t.Errorf("metrics %+v, want 3 requests and no failure", s)
	}
}

// TestDLQNonRetriableError: an error that retrying cannot fix
// (MESSAGE_TOO_LARGE) fails the Report at once; the queue keeps working.
func TestDLQNonRetriableError(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: "fatal-dlq", ReplicationFactor: 1, Metrics: m})
	failProduces(c, codeMessageTooLarge)
	f := &Failure{Stage: connect.StageTaskPut, Raw: &RawRecord{Value: []byte("big")}, Err: stderrors.New("x")}
	err = d.Report(context.Background(), "c", 0, f)
	if !stderrors.Is(err, sarama.ErrMessageSizeTooLarge) || !strings.Contains(err.Error(), "fatal-dlq") {
		t.Fatalf("Report = %v, want sarama.ErrMessageSizeTooLarge naming the queue", err)
	}
	f.Raw.Value = []byte("ok")
	if err := d.Report(context.Background(), "c", 0, f); err != nil {
		t.Fatalf("Report after the failure: %v", err)
	}
	if end := endOffset(t, brokers, "fatal-dlq"); end != 1 {
		t.Fatalf("the queue holds %d records, want 1", end)
	}
	if msg := consume(t, brokers, "fatal-dlq", 1)[0]; string(msg.Value) != "ok" {
		t.Errorf("record %q", msg.Value)
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 2 || s.DLQProduceFailures != 1 {
		t.Errorf("metrics %+v, want 2 requests and 1 failure", s)
	}
}

// TestDLQWithHandler: end to end, a record skipped under tolerance all is
// in the dead-letter queue with its stage; once the queue cannot take
// records, the task fails instead of losing them.
func TestDLQWithHandler(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	m := new(Metrics)
	d := newTestDLQ(t, brokers, DLQConfig{Topic: topic, ReplicationFactor: 1, ContextHeaders: true, Metrics: m})
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: topic}, "orders-sink", 0, quiet, WithMetrics(m), WithReporters(d))
	raw := &RawRecord{Topic: "orders", Partition: 3, Offset: 42, Value: []byte("not json")}
	skip, err := h.Execute(context.Background(), connect.StageValueConverter, &fakeConverter{}, sinkRecord(), raw, always(stderrors.New("invalid JSON")))
	if !skip || err != nil {
		t.Fatalf("Execute = (%v, %v)", skip, err)
	}
	msg := consume(t, brokers, topic, 1)[0]
	if string(msg.Value) != "not json" {
		t.Errorf("value %q", msg.Value)
	}
	stage := ""
	for _, hd := range msg.Headers {
		if string(hd.Key) == sluiceerrors.HeaderStage {
			stage = string(hd.Value)
		}
	}
	if stage != "VALUE_CONVERTER" {
		t.Errorf("stage header %q", stage)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	skip, err = h.Execute(context.Background(), connect.StageValueConverter, &fakeConverter{}, sinkRecord(), raw, always(stderrors.New("invalid JSON")))
	var rep *ReportError
	if skip || !stderrors.As(err, &rep) {
		t.Fatalf("Execute with a closed queue = (%v, %v), want a *ReportError", skip, err)
	}
	if s := m.Snapshot(); s.DLQProduceRequests != 2 || s.DLQProduceFailures != 1 || s.RecordsSkipped != 1 || s.RecordErrors != 2 {
		t.Errorf("metrics %+v", s)
	}
}

// TestDLQCloseNotHeldBySaramaRetries: a DLQ built from a task producer's
// configuration (a long sarama retry budget and backoff hook, as the source
// pipeline sets them) still ends a retrying Report promptly on Close: each
// attempt is short, so a task stopping while the broker keeps refusing
// writes is not held for minutes by its dead-letter queue.
func TestDLQCloseNotHeldBySaramaRetries(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := fastFail(t)
	sc.Producer.Retry.Max = 1000
	sc.Producer.Retry.BackoffFunc = func(int, int) time.Duration { return 200 * time.Millisecond }
	logs := &syncBuffer{}
	d, err := NewDLQ(context.Background(), DLQConfig{Brokers: c.ListenAddrs(), Topic: "held-dlq", ReplicationFactor: 1,
		Sarama: sc, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	codes := make([]int16, 100000)
	for i := range codes {
		codes[i] = codeNotLeaderOrFollower
	}
	failProduces(c, codes...)
	f := &Failure{Stage: connect.StageTaskPut, Raw: &RawRecord{Value: []byte("v")}, Err: stderrors.New("x")}
	done := make(chan error, 1)
	go func() { done <- d.Report(context.Background(), "c", 0, f) }()
	waitFor(t, "the Report to retry", func() bool { return strings.Contains(logs.String(), "dead-letter queue unavailable") })
	d.Close()
	// With sarama's 1000 retries × 200 ms, one attempt would last 200 s.
	select {
	case err := <-done:
		if !stderrors.Is(err, sarama.ErrClosedClient) {
			t.Errorf("Report ended by Close = %v, want sarama.ErrClosedClient", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Report did not return within 60 s of Close: one attempt is held by sarama's retries")
	}
}

// TestDLQScrubsSecretsInContextHeaders: a secret quoted in the failure's
// error (and its causes) is masked in the exception message, stack trace
// and Go message headers, with the scrubber found on a Runner's logger or given
// explicitly; the record's own bytes are left alone.
func TestDLQScrubsSecretsInContextHeaders(t *testing.T) {
	const secret = "dlq-secret-pw"
	brokers := kafkatest.Brokers(t)
	var set redact.Set
	set.Store(redact.New(secret))
	runnerLog := slog.New(redact.NewHandler(slog.NewTextHandler(io.Discard, nil), &set)).With("connector", "c")
	for name, cfg := range map[string]DLQConfig{
		"logger":   {Logger: runnerLog},
		"explicit": {Scrub: set.Scrub},
	} {
		t.Run(name, func(t *testing.T) {
			topic := kafkatest.Topic(t)
			cfg.Topic, cfg.ReplicationFactor, cfg.ContextHeaders = topic, 1, true
			d := newTestDLQ(t, brokers, cfg)
			raw := &RawRecord{Topic: "orders", Value: []byte("payload " + secret)}
			f := &Failure{Stage: connect.StageTaskPut, Record: sinkRecord(), Raw: raw, Attempts: 1,
				Err: fmt.Errorf("put: %w", stderrors.New("login with "+secret+" refused"))}
			if err := d.Report(context.Background(), "orders-sink", 0, f); err != nil {
				t.Fatal(err)
			}
			msg := consume(t, brokers, topic, 1)[0]
			seen := map[string]string{}
			for _, h := range msg.Headers {
				seen[string(h.Key)] = string(h.Value)
				if strings.Contains(string(h.Value), secret) {
					t.Errorf("header %s shows the secret: %q", h.Key, h.Value)
				}
			}
			for _, k := range []string{sluiceerrors.HeaderExceptionMessage, sluiceerrors.HeaderExceptionStacktrace, sluiceerrors.HeaderGoExceptionMessage} {
				if !strings.Contains(seen[k], "login with "+redact.Mask+" refused") {
					t.Errorf("header %s = %q, want the masked error", k, seen[k])
				}
			}
			if string(msg.Value) != "payload "+secret {
				t.Errorf("the record's bytes changed: %q", msg.Value)
			}
		})
	}
}
