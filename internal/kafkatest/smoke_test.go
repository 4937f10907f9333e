package kafkatest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestMain fails the package if any goroutine outlives the tests: the
// helpers promise that everything they start is stopped by t.Cleanup.
// SARAMA_LOG=1 sends sarama's own log to stderr, for debugging.
func TestMain(m *testing.M) {
	if os.Getenv("SARAMA_LOG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	goleak.VerifyTestMain(m)
}

// logBroker records which kind of broker the smoke tests ran against, so a
// CI log shows it.
func logBroker(t *testing.T, brokers []string) {
	t.Helper()
	if kafkatest.External() {
		t.Logf("external broker %v", brokers)
	} else {
		t.Logf("in-process kfake broker %v", brokers)
	}
}

// TestSmokeCompactedTopic creates a compacted topic and reads its
// cleanup.policy back through DescribeConfig.
func TestSmokeCompactedTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	logBroker(t, brokers)
	topic := kafkatest.Topic(t)
	compact := "compact"
	kafkatest.CreateTopic(t, brokers, topic, 1, map[string]*string{"cleanup.policy": &compact})

	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("NewClusterAdmin: %v", err)
	}
	defer admin.Close()

	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{
		Type:        sarama.TopicResource,
		Name:        topic,
		ConfigNames: []string{"cleanup.policy"},
	}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		t.Fatalf("DescribeConfigs(%s): %v", topic, err)
	}
	var entries []sarama.ConfigEntry
	for _, r := range results {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			t.Fatalf("DescribeConfigs(%s): %v %s", topic, r.ErrorCode, r.ErrorMsg)
		}
		entries = append(entries, r.Configs...)
	}
	var found bool
	for _, e := range entries {
		if e.Name == "cleanup.policy" {
			found = true
			if e.Value != "compact" {
				t.Errorf("cleanup.policy = %q, want compact", e.Value)
			}
			if e.Default {
				t.Errorf("cleanup.policy reported as a default, want a topic override")
			}
		}
	}
	if !found {
		t.Fatalf("DescribeConfig(%s) returned no cleanup.policy entry: %+v", topic, entries)
	}
}

// TestSmokeProduceConsume produces records idempotently over three
// partitions with the AsyncProducer, waiting for every acknowledgement, and
// reads them all back through a consumer group, checking per-partition order
// and the committed offsets.
func TestSmokeProduceConsume(t *testing.T) {
	const (
		partitions = 3
		records    = 600
	)
	brokers := kafkatest.Brokers(t)
	logBroker(t, brokers)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, partitions, nil)

	perPartition := produce(t, brokers, topic, partitions, records)
	consume(t, brokers, topic, partitions, records, perPartition)
}

// value encodes a record's partition and its sequence number within that
// partition.
func value(partition int32, seq int) string {
	return fmt.Sprintf("p%d-%d", partition, seq)
}

// parseValue undoes value.
func parseValue(s string) (partition int32, seq int, err error) {
	ps, ss, ok := strings.Cut(strings.TrimPrefix(s, "p"), "-")
	if !ok {
		return 0, 0, fmt.Errorf("malformed value %q", s)
	}
	p, err := strconv.ParseInt(ps, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed value %q: %w", s, err)
	}
	n, err := strconv.Atoi(ss)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed value %q: %w", s, err)
	}
	return int32(p), n, nil
}

// produce sends records records round-robin over the partitions with an
// idempotent AsyncProducer and returns how many went to each partition. It
// counts every acknowledgement before closing the producer and checks that
// each partition's offsets follow the send order.
func produce(t *testing.T, brokers []string, topic string, partitions int32, records int) []int {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// Several batches per partition. Flush.Messages alone never sends a
	// final batch smaller than it: Frequency must be set with it.
	cfg.Producer.Flush.Messages = 50
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond

	producer, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("NewAsyncProducer: %v", err)
	}
	closed := false
	defer func() {
		if !closed { // failure path: close, but never hang the test on it
			producer.AsyncClose()
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for range producer.Successes() {
				}
				for range producer.Errors() {
				}
			}()
			select {
			case <-drained:
			case <-time.After(10 * time.Second):
				t.Errorf("producer did not close within 10s")
			}
		}
	}()

	// Feed the input from a goroutine: with Return.Successes set, Input
	// blocks unless acknowledgements are drained concurrently.
	perPartition := make([]int, partitions)
	msgs := make([]*sarama.ProducerMessage, records)
	for i := range msgs {
		p := int32(i) % partitions
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Partition: p,
			Key:       sarama.StringEncoder("key-" + strconv.Itoa(i)),
			Value:     sarama.StringEncoder(value(p, perPartition[p])),
		}
		perPartition[p]++
	}
	stop := make(chan struct{})
	var fed sync.WaitGroup
	fed.Add(1)
	go func() {
		defer fed.Done()
		for _, m := range msgs {
			select {
			case producer.Input() <- m:
			case <-stop:
				return
			}
		}
	}()
	defer fed.Wait()
	defer close(stop)

	lastOffset := make([]int64, partitions)
	lastSeq := make([]int, partitions)
	for i := range lastOffset {
		lastOffset[i], lastSeq[i] = -1, -1
	}
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	acked := 0
	for acked < records {
		select {
		case m := <-producer.Successes():
			acked++
			v, _ := m.Value.Encode()
			p, seq, err := parseValue(string(v))
			if err != nil || p != m.Partition {
				t.Fatalf("ack for %q landed on partition %d (err %v)", v, m.Partition, err)
			}
			if m.Offset <= lastOffset[p] || seq <= lastSeq[p] {
				t.Fatalf("partition %d: ack for seq %d at offset %d after seq %d at offset %d",
					p, seq, m.Offset, lastSeq[p], lastOffset[p])
			}
			lastOffset[p], lastSeq[p] = m.Offset, seq
		case pe := <-producer.Errors():
			t.Fatalf("produce failed after %d acks: %v", acked, pe)
		case <-timeout.C:
			t.Fatalf("only %d of %d records acknowledged after 60s", acked, records)
		}
	}
	closed = true
	if err := producer.Close(); err != nil {
		t.Fatalf("producer Close: %v", err)
	}
	t.Logf("produced and acknowledged %d records, per partition %v", acked, perPartition)
	return perPartition
}

// handler is a sarama.ConsumerGroupHandler that checks per-partition order,
// marks every message and calls done once want messages were seen.
type handler struct {
	t    *testing.T
	want int
	done context.CancelFunc

	mu      sync.Mutex
	seen    int
	nextSeq map[int32]int
	errs    []error
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h.check(m)
			sess.MarkMessage(m, "")
		}
	}
}

func (h *handler) check(m *sarama.ConsumerMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, seq, err := parseValue(string(m.Value))
	switch {
	case err != nil:
		h.errs = append(h.errs, err)
	case p != m.Partition:
		h.errs = append(h.errs, fmt.Errorf("value %q read from partition %d", m.Value, m.Partition))
	case seq != h.nextSeq[p]:
		h.errs = append(h.errs, fmt.Errorf("partition %d offset %d: got seq %d, want %d", m.Partition, m.Offset, seq, h.nextSeq[p]))
	}
	h.nextSeq[m.Partition] = seq + 1
	h.seen++
	if h.seen == h.want {
		h.done()
	}
}

// consume reads the topic back through a new consumer group until records
// messages were seen, then checks the order and the committed offsets.
func consume(t *testing.T, brokers []string, topic string, partitions int32, records int, perPartition []int) {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	groupID := kafkatest.Topic(t)

	group, err := sarama.NewConsumerGroup(brokers, groupID, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	groupClosed := false
	defer func() {
		if !groupClosed {
			_ = group.Close()
		}
	}()
	var errsDone sync.WaitGroup
	errsDone.Add(1)
	go func() { // Consumer.Return.Errors is set: drain until Close.
		defer errsDone.Done()
		for err := range group.Errors() {
			t.Errorf("consumer group error: %v", err)
		}
	}()
	defer errsDone.Wait()

	// The handler cancels ctx once every record was seen.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := &handler{t: t, want: records, done: cancel, nextSeq: map[int32]int{}}
	for ctx.Err() == nil {
		err := group.Consume(ctx, []string{topic}, h)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Consume: %v", err)
		}
	}
	groupClosed = true
	if err := group.Close(); err != nil { // commits the marked offsets
		t.Fatalf("consumer group Close: %v", err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	for _, err := range h.errs {
		t.Error(err)
	}
	if h.seen != records {
		t.Fatalf("consumed %d of %d records within 90s", h.seen, records)
	}
	for p := range partitions {
		if h.nextSeq[p] != perPartition[p] {
			t.Errorf("partition %d: consumed up to seq %d, produced %d", p, h.nextSeq[p], perPartition[p])
		}
	}

	// The marks must have been committed: the group's offsets are the ends
	// of the partitions.
	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	parts := make([]int32, partitions)
	for p := range parts {
		parts[p] = int32(p)
	}
	offs, err := admin.ListConsumerGroupOffsets(groupID, map[string][]int32{topic: parts})
	if err != nil {
		t.Fatalf("ListConsumerGroupOffsets: %v", err)
	}
	for p := range partitions {
		b := offs.GetBlock(topic, p)
		if b == nil || !errors.Is(b.Err, sarama.ErrNoError) || b.Offset != int64(perPartition[p]) {
			t.Errorf("partition %d: committed offset %+v, want %d", p, b, perPartition[p])
		}
	}
	t.Logf("consumed %d records in order, committed offsets %v", h.seen, perPartition)
}
