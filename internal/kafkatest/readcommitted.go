package kafkatest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkalog"
)

// readWait bounds each of the two phases of a read (waiting for open
// transactions to end, and consuming): generous, for a loaded machine and
// for Apache Kafka, which aborts the transaction of a producer that died
// only after its transaction.timeout.ms plus up to 10 s.
const readWait = 60 * time.Second

// ReadCommitted returns every record of topic that a read_committed
// consumer can read once the transactions open at the time of the call have
// ended: for each partition, from its oldest offset up to its high
// watermark taken at the start of the call, the records of committed
// transactions and the non-transactional records, without the records of
// aborted transactions and without control records (transaction markers).
// The result lists the partitions in the order the metadata gives them
// (ascending), each in log order.
//
// It waits first, per partition, until the last stable offset (ListOffsets
// with read_committed isolation) reaches that high watermark, that is until
// every transaction holding records below it committed or aborted: a
// read_committed consumer delivers nothing past the first open transaction,
// not even records committed after it, so reading only to the last stable
// offset at the call would miss those. Then it consumes each partition with
// a sarama consumer (Consumer.IsolationLevel = sarama.ReadCommitted) until
// it holds every record below the high watermark. That end is decided
// without an idle timer: when the consumer has nothing ready, a direct
// fetch from the next unread offset tells whether any record a
// read_committed reader delivers remains below the high watermark (the
// trailing offsets are often markers or aborted records, so no message ever
// reaches high watermark - 1).
//
// Records produced after the call starts are not returned (they lie past
// the high watermark taken then), even when the consumer saw them. t fails
// (Fatalf, so call it from the test's goroutine) when the topic cannot be
// read, when a transaction stays open for 60 s (the message names the
// partition and both offsets), or when the records are not all consumed
// within 60 s. Everything it opens is closed before it returns.
func ReadCommitted(t testing.TB, addrs []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	return read(t, addrs, topic, readOpts{isolation: sarama.ReadCommitted})
}

// ReadUncommitted returns every record of topic that a read_uncommitted
// consumer reads, from each partition's oldest offset up to its high
// watermark taken at the start of the call: committed records, records of
// aborted transactions and records of transactions still open, without
// control records (transaction markers), in the order ReadCommitted uses.
// It does not wait for open transactions. Comparing it with ReadCommitted
// shows whether a topic holds records no read_committed reader sees (a
// producer killed mid-transaction, an aborted transaction). Failures as
// ReadCommitted's.
func ReadUncommitted(t testing.TB, addrs []string, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	return read(t, addrs, topic, readOpts{isolation: sarama.ReadUncommitted})
}

// readOpts parameterises read; tests shorten the waits and observe the
// open-transaction wait.
type readOpts struct {
	isolation sarama.IsolationLevel
	// stableWait and consumeWait bound the two phases (0: readWait).
	stableWait, consumeWait time.Duration
	// onOpen, when set, is called once (on read's goroutine) the first
	// time the wait finds a partition whose last stable offset is below
	// the high watermark taken at the call.
	onOpen func()
}

// read implements ReadCommitted and ReadUncommitted.
func read(t testing.TB, addrs []string, topic string, o readOpts) []*sarama.ConsumerMessage {
	t.Helper()
	if o.stableWait <= 0 {
		o.stableWait = readWait
	}
	if o.consumeWait <= 0 {
		o.consumeWait = readWait
	}
	what := fmt.Sprintf("kafkatest: reading topic %q (%s)", topic, isolationName(o.isolation))
	cfg := SaramaConfig(t)
	cfg.Consumer.IsolationLevel = o.isolation
	client, err := sarama.NewClient(addrs, cfg)
	if err != nil {
		t.Fatalf("%s: client for %v: %v", what, addrs, err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("%s: listing partitions: %v", what, err)
	}
	parts = slices.Clone(parts)
	slices.Sort(parts)
	ends := make(map[int32]int64, len(parts))
	for _, p := range parts {
		if ends[p], err = offsetRetrying(client, topic, p, sarama.OffsetNewest); err != nil {
			t.Fatalf("%s: partition %d: high watermark: %v", what, p, err)
		}
	}
	if o.isolation == sarama.ReadCommitted {
		waitStable(t, what, client, topic, parts, ends, o)
	}

	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("%s: consumer: %v", what, err)
	}
	defer consumer.Close()
	deadline := time.Now().Add(o.consumeWait)
	var out []*sarama.ConsumerMessage
	for _, p := range parts {
		out = append(out, readPartition(t, what, client, consumer, topic, p, ends[p], o.isolation, deadline)...)
	}
	return out
}

// isolationName is Kafka's name of an isolation level.
func isolationName(l sarama.IsolationLevel) string {
	if l == sarama.ReadCommitted {
		return "read_committed"
	}
	return "read_uncommitted"
}

// waitStable waits until the last stable offset of every partition of
// parts reaches ends (the high watermarks), failing t after o.stableWait.
func waitStable(t testing.TB, what string, client sarama.Client, topic string, parts []int32, ends map[int32]int64, o readOpts) {
	t.Helper()
	deadline := time.Now().Add(o.stableWait)
	notified := false
	for {
		lso, err := stableOffsets(client, topic, parts)
		if err == nil {
			behind := slices.IndexFunc(parts, func(p int32) bool { return lso[p] < ends[p] })
			if behind < 0 {
				return
			}
			p := parts[behind]
			err = fmt.Errorf("partition %d: the last stable offset is %d, below the high watermark %d taken at the call: "+
				"a transaction holding records there has neither committed nor aborted "+
				"(the broker aborts it at its transaction.timeout.ms, and Apache Kafka up to 10 s later; "+
				"a new producer with the same transactional.id aborts it at once)", p, lso[p], ends[p])
			if !notified && o.onOpen != nil {
				notified = true
				o.onOpen()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: open transactions did not end within %s: %v", what, o.stableWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stableOffsets returns the last stable offset of each partition of parts
// (ListOffsets, latest, read_committed isolation).
func stableOffsets(client sarama.Client, topic string, parts []int32) (map[int32]int64, error) {
	version := client.Config().Version
	byLeader := map[*sarama.Broker]*sarama.OffsetRequest{}
	for _, p := range parts {
		leader, err := client.Leader(topic, p)
		if err != nil {
			_ = client.RefreshMetadata(topic)
			return nil, fmt.Errorf("partition %d: leader: %w", p, err)
		}
		req := byLeader[leader]
		if req == nil {
			req = sarama.NewOffsetRequest(version)
			req.Version = max(req.Version, 2) // the first version with an isolation level
			req.IsolationLevel = sarama.ReadCommitted
			byLeader[leader] = req
		}
		req.AddBlock(topic, p, sarama.OffsetNewest, 1)
	}
	out := make(map[int32]int64, len(parts))
	for leader, req := range byLeader {
		resp, err := leader.GetAvailableOffsets(req)
		if err != nil {
			return nil, fmt.Errorf("listing last stable offsets from broker %d: %w", leader.ID(), err)
		}
		for _, p := range parts {
			b := resp.GetBlock(topic, p)
			if b == nil {
				continue
			}
			if !errors.Is(b.Err, sarama.ErrNoError) {
				_ = client.RefreshMetadata(topic)
				return nil, fmt.Errorf("partition %d: last stable offset: %w", p, b.Err)
			}
			out[p] = b.Offset
		}
	}
	for _, p := range parts {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("partition %d: no last stable offset in the answer", p)
		}
	}
	return out, nil
}

// readPartition consumes partition p from its oldest offset and returns
// every record the consumer delivers below end. It stops once a probe (see
// probe) shows that nothing deliverable remains below end.
func readPartition(t testing.TB, what string, client sarama.Client, consumer sarama.Consumer,
	topic string, p int32, end int64, isolation sarama.IsolationLevel, deadline time.Time) []*sarama.ConsumerMessage {
	t.Helper()
	start, err := offsetRetrying(client, topic, p, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("%s: partition %d: oldest offset: %v", what, p, err)
	}
	if start >= end {
		return nil
	}
	pc, err := consumer.ConsumePartition(topic, p, start)
	if err != nil {
		t.Fatalf("%s: partition %d: consuming from %d: %v", what, p, start, err)
	}
	defer pc.Close()
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()

	var (
		out     []*sarama.ConsumerMessage
		next    = start // nothing below it remains to be delivered
		lastErr error   // the last consumer or probe error, for the failure message
	)
	take := func(m *sarama.ConsumerMessage, ok bool) {
		if !ok {
			t.Fatalf("%s: partition %d: the consumer stopped at offset %d of %d (last error: %v)", what, p, next, end, lastErr)
		}
		if m.Offset >= end {
			next = end // produced after the call: not ours
			return
		}
		out = append(out, m)
		next = max(next, m.Offset+1)
	}
	for next < end {
		select { // first what the consumer has ready
		case m, ok := <-pc.Messages():
			take(m, ok)
			continue
		case err := <-pc.Errors():
			lastErr = err
			continue
		default:
		}
		// The consumer has nothing ready: ask the broker whether any
		// record it will deliver remains below end.
		from := next
		advanced, found, err := kafkalog.Probe(client, topic, p, next, end, isolation)
		if err != nil {
			lastErr = err
		}
		next = max(next, advanced)
		if next >= end || (!found && err == nil && next > from) {
			continue
		}
		var retry <-chan time.Time
		if !found { // the probe failed or could not tell: try again soon
			retry = time.After(100 * time.Millisecond)
		}
		select { // found: the consumer will deliver it
		case m, ok := <-pc.Messages():
			take(m, ok)
		case err := <-pc.Errors():
			lastErr = err
		case <-retry:
		case <-timeout.C:
			t.Fatalf("%s: partition %d: read %d records up to offset %d of %d, then nothing more within the deadline (last error: %v)",
				what, p, len(out), next, end, lastErr)
		}
	}
	return out
}

// offsetRetrying is client.GetOffset, retried for up to readWait while the
// partition's leadership settles (Apache Kafka answers NOT_LEADER for a
// moment after a topic is created).
func offsetRetrying(client sarama.Client, topic string, p int32, at int64) (int64, error) {
	deadline := time.Now().Add(readWait)
	for {
		off, err := client.GetOffset(topic, p, at)
		if err == nil || time.Now().After(deadline) ||
			!(errors.Is(err, sarama.ErrNotLeaderForPartition) || errors.Is(err, sarama.ErrLeaderNotAvailable) ||
				errors.Is(err, sarama.ErrUnknownTopicOrPartition)) {
			return off, err
		}
		_ = client.RefreshMetadata(topic)
		time.Sleep(50 * time.Millisecond)
	}
}
