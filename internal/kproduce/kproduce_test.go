package kproduce_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kproduce"
)

// TestRoundTrip shows 20 000 keyed messages over 4 partitions (hash partitioner) come back exactly once on Successes
// with the partitioner's partition and gapless offsets in Input order, and the log holds each exactly once with its
// key, value (null and empty told apart), headers and timestamp (the send time for a zero one), in contiguous
// idempotent sequences. Close returns nil and closes both channels.
func TestRoundTrip(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts, n = 4, 20_000
	kafkatest.CreateTopic(t, addrs, topic, parts, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Partitioner = sarama.NewHashPartitioner }))

	hp := sarama.NewHashPartitioner(topic)
	wantPart := map[*sarama.ProducerMessage]int32{}
	zeroTS := map[*sarama.ProducerMessage]bool{}
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range n {
		m := &sarama.ProducerMessage{Topic: topic, Metadata: i, Key: sarama.ByteEncoder(fmt.Appendf(nil, "key-%d", i%997))}
		switch {
		case i%50 == 7: // a tombstone: null value
		case i%50 == 8:
			m.Value = sarama.ByteEncoder([]byte{})
		default:
			v := fmt.Appendf(nil, "value-%d;", i)
			for len(v) < (i%7)*60 {
				v = append(v, byte('a'+len(v)%26))
			}
			m.Value = sarama.StringEncoder(string(v))
		}
		if i%3 == 0 {
			m.Headers = []sarama.RecordHeader{
				{Key: []byte("h1"), Value: fmt.Appendf(nil, "hv-%d", i)},
				{Key: []byte("empty"), Value: []byte{}},
				{Key: []byte("null")},
			}
		}
		switch {
		case i%100 == 9:
			zeroTS[m] = true // the producer stamps the send time
		case i%10 == 5: // earlier than the messages before it
			m.Timestamp = tsBase.Add(-30*time.Minute + time.Duration(i)*3*time.Millisecond)
		default:
			m.Timestamp = tsBase.Add(time.Duration(i) * 7 * time.Millisecond)
		}
		p, err := hp.Partition(m, parts)
		if err != nil {
			t.Fatal(err)
		}
		wantPart[m] = p
		msgs[i] = m
	}
	before := time.Now().Truncate(time.Millisecond)
	r.put(msgs...)
	r.wait()
	after := time.Now()
	r.checkAllOK()
	wrong := 0
	for _, m := range r.ok {
		if m.Partition != wantPart[m] {
			if wrong++; wrong <= 5 {
				t.Errorf("message %d came back with partition %d, the hash partitioner picks %d", r.pos[m], m.Partition, wantPart[m])
			}
		}
	}
	for p := range int32(parts) {
		got := r.okOf(byPartition(p))
		if len(got) == 0 {
			t.Errorf("partition %d: no message", p)
			continue
		}
		checkGapless(t, p, got, 0)
		log, batches := readLog(t, addrs, topic, p)
		checkLog(t, p, log, got)
		checkSequences(t, p, batches, 0)
		for i := range min(len(log), len(got)) {
			if zeroTS[got[i]] && (log[i].ts.Before(before) || log[i].ts.After(after)) {
				t.Errorf("partition %d offset %d: put with a zero timestamp, the log has %v, not a time in [%v, %v]", p, log[i].off, log[i].ts, before, after)
			}
		}
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestManualPartitioner shows the manual partitioner honours msg.Partition, and a partition out of range comes back
// on Errors with sarama.ErrInvalidPartition without holding up the others.
func TestManualPartitioner(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 3
	kafkatest.CreateTopic(t, addrs, topic, parts, nil)
	r := start(t, addrs, producerConfig(t, nil))
	msgs := messages(topic, parts, 200, 0, "manual")
	for i, m := range msgs {
		if i%7 == 0 {
			m.Key = nil // the manual partitioner needs no key
		}
	}
	bad := map[*sarama.ProducerMessage]bool{}
	for _, at := range []struct {
		i int
		p int32
	}{{50, parts}, {51, 99}, {300, -1}, {599, parts}} {
		m := message(topic, at.p, 10_000+at.i, "bad", 10)
		bad[m] = true
		msgs = append(msgs[:at.i:at.i], append([]*sarama.ProducerMessage{m}, msgs[at.i:]...)...)
	}
	r.put(msgs...)
	r.wait()
	for _, e := range r.errs {
		if !bad[e.Msg] {
			t.Errorf("message %d (partition %d) came back on Errors: %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
		} else if !errors.Is(e.Err, sarama.ErrInvalidPartition) {
			t.Errorf("message %d for partition %d came back with %v, want sarama.ErrInvalidPartition", r.pos[e.Msg], e.Msg.Partition, e.Err)
		}
	}
	for _, m := range r.ok {
		if bad[m] {
			t.Errorf("message %d for partition %d (of %d) succeeded at offset %d", r.pos[m], m.Partition, parts, m.Offset)
		}
	}
	if len(r.errs) != len(bad) || len(r.ok) != len(msgs)-len(bad) {
		t.Errorf("%d successes and %d errors, want %d and %d", len(r.ok), len(r.errs), len(msgs)-len(bad), len(bad))
	}
	for p := range int32(parts) {
		got := r.okOf(byPartition(p))
		if len(got) != 200 {
			t.Errorf("partition %d: %d successes, want 200", p, len(got))
		}
		checkGapless(t, p, got, 0)
		sameLog(t, addrs, topic, p, got, true)
	}
	r.asyncClose()
}

// TestManyTopics shows one producer writing to three topics of 1, 2 and 5 partitions at once (hash partitioner):
// every message lands in its topic at the partitioner's partition, gapless, with contiguous sequences.
func TestManyTopics(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	counts := []int32{1, 2, 5}
	topics := make([]string, len(counts))
	for i, n := range counts {
		topics[i] = kafkatest.Topic(t)
		kafkatest.CreateTopic(t, addrs, topics[i], n, nil)
	}
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Partitioner = sarama.NewHashPartitioner }))
	var msgs []*sarama.ProducerMessage
	want := map[*sarama.ProducerMessage]int32{}
	for i := range 6000 {
		ti := i % 3
		if i%100 < 10 {
			ti = 1 // runs of one topic too
		}
		m := message(topics[ti], 0, i, fmt.Sprintf("t%d", ti), 30)
		p, err := sarama.NewHashPartitioner(topics[ti]).Partition(m, counts[ti])
		if err != nil {
			t.Fatal(err)
		}
		want[m] = p
		msgs = append(msgs, m)
	}
	r.put(msgs...)
	r.wait()
	r.checkAllOK()
	for _, m := range r.ok {
		if m.Partition != want[m] {
			t.Errorf("message %d to %s came back with partition %d, the hash partitioner picks %d", r.pos[m], m.Topic, m.Partition, want[m])
			break
		}
	}
	for ti, topic := range topics {
		for p := range counts[ti] {
			got := r.okOf(func(m *sarama.ProducerMessage) bool { return m.Topic == topic && m.Partition == p })
			if len(got) == 0 {
				t.Errorf("%s/%d: no message", topic, p)
				continue
			}
			checkGapless(t, p, got, 0)
			sameLog(t, addrs, topic, p, got, true)
		}
	}
	r.asyncClose()
}

// TestConcurrentInput shows four goroutines putting messages on Input at once, each for a partition of its own:
// each partition's log holds its goroutine's messages in the order it put them.
func TestConcurrentInput(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 4
	kafkatest.CreateTopic(t, addrs, topic, parts, nil)
	r := start(t, addrs, producerConfig(t, nil))
	groups := make([][]*sarama.ProducerMessage, parts)
	for p := range int32(parts) {
		for i := range 3000 {
			groups[p] = append(groups[p], message(topic, p, int(p)*10_000+i, fmt.Sprintf("g%d", p), 50))
		}
	}
	r.putConcurrently(groups...)
	r.wait()
	r.checkAllOK()
	for p := range int32(parts) {
		got := r.okOf(byPartition(p))
		checkGapless(t, p, got, 0)
		sameLog(t, addrs, topic, p, got, true)
	}
	r.asyncClose()
}

// TestCompression shows each codec's batches round-trip.
func TestCompression(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	for _, codec := range []sarama.CompressionCodec{sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD} {
		t.Run(codec.String(), func(t *testing.T) {
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, addrs, topic, 2, nil)
			r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Compression = codec }))
			r.put(messages(topic, 2, 1000, 0, codec.String())...)
			r.wait()
			r.checkAllOK()
			r.checkWritten(addrs, topic, 2)
			r.asyncClose()
		})
	}
}

// TestFlushMaxMessages shows Producer.Flush.MaxMessages bounds the records of a batch.
func TestFlushMaxMessages(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 1, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Flush.MaxMessages = 7 }))
	r.put(messages(topic, 1, 500, 0, "max7")...)
	r.wait()
	r.checkAllOK()
	got := r.okOf(byPartition(0))
	checkGapless(t, 0, got, 0)
	log, batches := readLog(t, addrs, topic, 0)
	checkLog(t, 0, log, got)
	checkSequences(t, 0, batches, 0)
	for _, b := range batches {
		if b.n > 7 {
			t.Errorf("batch at %d holds %d records, Flush.MaxMessages is 7", b.base, b.n)
		}
	}
	r.asyncClose()
}

// TestLargeMessages shows 48 MB of 160 kB messages (more than the producer buffers, so Input waits for answers) all
// go through, in order.
func TestLargeMessages(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, nil))
	var msgs []*sarama.ProducerMessage
	for i := range 300 {
		m := message(topic, int32(i%2), i, "large", 0)
		m.Value = sarama.ByteEncoder(randomBytes(160_000))
		msgs = append(msgs, m)
	}
	r.put(msgs...)
	r.wait()
	r.checkAllOK()
	r.checkWritten(addrs, topic, 2)
	r.asyncClose()
}

// TestWritablePartitions shows a partitioner that does not require consistency (round robin) spreads messages over
// the partitions that have a leader, as sarama's producer does (Client.WritablePartitions, the partitioner's choice
// an index into it): with partition 1 of 3 leaderless, all go to partitions 0 and 2. It runs on an in-process broker
// of its own, whose metadata it rewrites.
func TestWritablePartitions(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 3, nil)
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: topic, Partitions: []int32{1}, Err: kerr.LeaderNotAvailable, Count: -1})
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Partitioner = sarama.NewRoundRobinPartitioner
		cfg.Metadata.Retry.Max = 1
	}))
	r.put(messages(topic, 1, 300, 0, "rr")...)
	r.wait()
	r.checkAllOK()
	n := map[int32]int{}
	for _, m := range r.ok {
		n[m.Partition]++
	}
	if n[1] != 0 || n[0]+n[2] != 300 {
		t.Errorf("messages per partition %v: want none on the leaderless partition 1", n)
	}
	for _, p := range []int32{0, 2} {
		checkGapless(t, p, r.okOf(byPartition(p)), 0)
	}
	r.asyncClose()
}

// TestUnknownTopic shows messages to a topic that does not exist (on a broker that does not create topics) come
// back on Errors with UNKNOWN_TOPIC_OR_PARTITION, and the messages to an existing topic put between them succeed.
// It runs on an in-process broker of its own.
func TestUnknownTopic(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	topic, missing := kafkatest.Topic(t), kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 1, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Metadata.Retry.Max = 1 }))
	msgs := messages(topic, 1, 200, 0, "known")
	bad := map[*sarama.ProducerMessage]bool{}
	for i := 10; i < len(msgs); i += 20 {
		msgs[i].Topic = missing
		bad[msgs[i]] = true
	}
	r.put(msgs...)
	r.wait()
	for _, e := range r.errs {
		if !bad[e.Msg] {
			t.Errorf("message %d to %s came back on Errors: %v", r.pos[e.Msg], e.Msg.Topic, e.Err)
		} else if !errors.Is(e.Err, sarama.ErrUnknownTopicOrPartition) {
			t.Errorf("message %d to the missing topic came back with %v, want UNKNOWN_TOPIC_OR_PARTITION", r.pos[e.Msg], e.Err)
		}
	}
	if len(r.errs) != len(bad) || len(r.ok) != len(msgs)-len(bad) {
		t.Errorf("%d successes and %d errors, want %d and %d", len(r.ok), len(r.errs), len(msgs)-len(bad), len(bad))
	}
	got := r.okOf(func(m *sarama.ProducerMessage) bool { return m.Topic == topic })
	checkGapless(t, 0, got, 0)
	sameLog(t, addrs, topic, 0, got, true)
	r.asyncClose()
}

// TestIdempotentBatches shows the written batches carry the producer id (a new one per producer) and contiguous
// sequence numbers from 0 with Producer.Idempotent, and no producer id without it.
func TestIdempotentBatches(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 1, nil)
	var want []*sarama.ProducerMessage
	for round, idempotent := range []bool{true, true, false} {
		cfg := producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Idempotent = idempotent })
		r := start(t, addrs, cfg)
		for k := range 3 {
			r.put(messages(topic, 1, 300, (round*3+k)*1000, fmt.Sprintf("round%d-%d", round, k))...)
			r.wait()
		}
		r.checkAllOK()
		got := r.okOf(byPartition(0))
		checkGapless(t, 0, got, int64(len(want)))
		want = append(want, got...)
		r.asyncClose()
	}
	log, batches := readLog(t, addrs, topic, 0)
	checkLog(t, 0, log, want)
	var pids []int64
	seq := int32(0)
	for _, b := range batches {
		switch {
		case b.base < 900: // the first producer's
		case b.base < 1800: // the second's
			if len(pids) > 0 && b.producerID == pids[0] {
				t.Errorf("batch at %d: the second producer has the first one's producer id %d", b.base, b.producerID)
			}
		default:
			if b.producerID != -1 {
				t.Errorf("batch at %d of a non-idempotent producer: producer id %d, want -1", b.base, b.producerID)
			}
			continue
		}
		if len(pids) == 0 || pids[len(pids)-1] != b.producerID {
			pids = append(pids, b.producerID)
			seq = 0
		}
		if b.producerID < 0 || b.producerEpoch < 0 {
			t.Errorf("batch at %d of an idempotent producer: producer id %d epoch %d", b.base, b.producerID, b.producerEpoch)
		}
		if b.firstSeq != seq {
			t.Errorf("batch at %d (%d records, producer id %d): first sequence %d, want %d", b.base, b.n, b.producerID, b.firstSeq, seq)
		}
		seq = b.firstSeq + int32(b.n)
	}
	if len(pids) != 2 {
		t.Errorf("the idempotent producers' batches carry %d producer ids (%v), want 2", len(pids), pids)
	}
	if len(batches) < 9 {
		t.Errorf("%d batches, want at least 9 (three producers, three rounds each)", len(batches))
	}
}

// TestRetryKeepsOrder shows retriable errors on one partition, answered before or after the broker appended the
// batch, or a broken connection, are retried: every message succeeds, is encoded once and is written exactly once,
// in Input order, with contiguous sequences; the other partition is unaffected. It runs on an in-process broker of
// its own (whose answers it rewrites), also when KAFKA_BOOTSTRAP_SERVERS is set.
func TestRetryKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    *kerr.Error // a Fault on partition 1
		breaks bool        // close the connection instead, for every partition
	}{
		{"not-leader", kerr.NotLeaderForPartition, false},
		{"not-enough-replicas", kerr.NotEnoughReplicas, false},
		{"timed-out-after-append", kerr.RequestTimedOut, false},
		{"not-enough-replicas-after-append", kerr.NotEnoughReplicasAfterAppend, false},
		{"connection-closed", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const faults = 3
			cluster, addrs := privateBroker(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, addrs, topic, 2, nil)
			r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Retry.Max = 5 }))
			r.put(messages(topic, 2, 100, 0, "before")...)
			r.wait()
			r.checkAllOK()

			var hits func() int
			if tc.breaks {
				var mu sync.Mutex
				n := 0
				for range faults {
					cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
						mu.Lock()
						defer mu.Unlock()
						n++
						return nil, errors.New("kproduce test: connection closed"), true
					})
				}
				hits = func() int { mu.Lock(); defer mu.Unlock(); return n }
			} else {
				h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: tc.err, Count: faults})
				hits = h.Hits
			}
			var encodes atomic.Int64
			more := messages(topic, 2, 1000, 200, "during")
			for _, m := range more {
				m.Value = countingEncoder{b: encoded(t, m.Value), n: &encodes}
			}
			r.put(more...)
			r.wait()
			r.checkAllOK()
			if h := hits(); h != faults {
				t.Errorf("the fault answered %d produce requests, want %d", h, faults)
			}
			if n := encodes.Load(); n != int64(len(more)) {
				t.Errorf("%d values were encoded %d times", len(more), n)
			}
			r.checkWritten(addrs, topic, 2)
			r.asyncClose()
		})
	}
}

// TestLeaderMoves shows partitions whose leaders move between two brokers while 20 000 messages are produced: the
// producer follows them (NOT_LEADER, a metadata refresh, the other broker) and every message is written exactly once,
// in order, with contiguous sequences. It runs on an in-process two-broker cluster of its own.
func TestLeaderMoves(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	topic := kafkatest.Topic(t)
	const parts = 3
	kafkatest.CreateTopic(t, addrs, topic, parts, nil)
	r := start(t, addrs, producerConfig(t, nil))
	msgs := messages(topic, parts, 20_000/parts, 0, "moving")
	r.put(msgs...)
	moves := 0
	for k := 1; k <= 6; k++ {
		r.await(fmt.Sprintf("%d successes", k*len(msgs)/8), func() bool { return len(r.ok) >= k*len(msgs)/8 })
		for p := range int32(parts) {
			if p == int32(k%parts) {
				continue // one partition stays put this time
			}
			lead := cluster.LeaderFor(topic, p)
			if err := cluster.MoveTopicPartition(topic, p, 1-lead); err != nil {
				t.Fatalf("moving %s/%d from broker %d: %v", topic, p, lead, err)
			}
			moves++
		}
	}
	r.wait()
	r.checkAllOK()
	t.Logf("%d leader moves", moves)
	for p := range int32(parts) {
		got := r.okOf(byPartition(p))
		checkGapless(t, p, got, 0)
		sameLog(t, addrs, topic, p, got, true)
	}
	r.asyncClose()
}

// TestAutoCreatedTopic shows messages to a topic that does not exist yet go through once the broker creates it on
// the producer's metadata request (auto.create.topics.enable, as the test brokers have it).
func TestAutoCreatedTopic(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	r := start(t, addrs, producerConfig(t, nil))
	r.put(messages(topic, 1, 200, 0, "auto")...)
	r.wait()
	r.checkAllOK()
	got := r.okOf(byPartition(0))
	checkGapless(t, 0, got, 0)
	sameLog(t, addrs, topic, 0, got, true)
	r.asyncClose()
}

// TestRetriesExhausted shows a partition whose broker keeps answering NOT_LEADER gets every message back on Errors,
// in Input order, with that error, once Retry.Max retries are spent, while the other partition's messages succeed;
// once the broker answers again the partition takes new messages (the failed sequences were not burnt). It runs on
// an in-process broker of its own.
func TestRetriesExhausted(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	var (
		bmu     sync.Mutex
		retries []int // BackoffFunc's first argument, per call
	)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Retry.Max = 2
		cfg.Producer.Retry.BackoffFunc = func(n, max int) time.Duration {
			bmu.Lock()
			defer bmu.Unlock()
			if max != 2 {
				t.Errorf("BackoffFunc(%d, %d): Retry.Max is 2", n, max)
			}
			retries = append(retries, n)
			return 10 * time.Millisecond
		}
	}))
	h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.NotLeaderForPartition, Count: -1})
	msgs := messages(topic, 2, 500, 0, "doomed")
	r.put(msgs...)
	r.wait()
	var failed []*sarama.ProducerMessage
	for _, e := range r.errs {
		if e.Msg.Partition != 1 {
			t.Errorf("message %d of partition %d came back on Errors: %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
			continue
		}
		if !errors.Is(e.Err, sarama.ErrNotLeaderForPartition) {
			t.Errorf("message %d of partition 1 came back with %v, want NOT_LEADER_OR_FOLLOWER", r.pos[e.Msg], e.Err)
		}
		failed = append(failed, e.Msg)
	}
	if len(failed) != 500 {
		t.Errorf("%d of partition 1's 500 messages came back on Errors", len(failed))
	}
	for i := 1; i < len(failed); i++ {
		if r.pos[failed[i]] < r.pos[failed[i-1]] {
			t.Errorf("partition 1: Errors delivered message %d after %d (not in Input order)", r.pos[failed[i]], r.pos[failed[i-1]])
			break
		}
	}
	ok0 := r.okOf(byPartition(0))
	if len(ok0) != 500 || len(r.ok) != 500 {
		t.Errorf("%d successes (%d of partition 0), want partition 0's 500", len(r.ok), len(ok0))
	}
	checkGapless(t, 0, ok0, 0)
	if hits := h.Hits(); hits < 3 {
		t.Errorf("partition 1's produce requests were answered %d times, want at least 1 + Retry.Max = 3", hits)
	}
	bmu.Lock()
	if !slices.Contains(retries, 1) || !slices.Contains(retries, 2) || slices.ContainsFunc(retries, func(n int) bool { return n < 1 || n > 2 }) {
		t.Errorf("Retry.BackoffFunc was called with %v retries, want 1 and 2", retries)
	}
	bmu.Unlock()

	// The broker answers again: new messages to partition 1 succeed from offset 0.
	h.Remove()
	after := messages(topic, 2, 100, 1000, "after")
	r.put(after...)
	r.wait()
	for _, e := range r.errs[len(failed):] {
		t.Errorf("after the fault: message %d of partition %d came back on Errors: %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
	}
	ok1 := r.okOf(byPartition(1))
	if len(ok1) != 100 {
		t.Errorf("after the fault: %d of partition 1's 100 messages succeeded", len(ok1))
	}
	checkGapless(t, 1, ok1, 0)
	for p := range int32(2) {
		sameLog(t, addrs, topic, p, r.okOf(byPartition(p)), true)
	}
	r.asyncClose()
}

// TestPartitionErrors shows what one non-retriable answer for a partition's batch does. A refusal of the batch itself
// (INVALID_RECORD, TOPIC_AUTHORIZATION_FAILED) hands back that batch only: later messages of the partition succeed,
// gapless (its sequence numbers were not burnt). A sequence error (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
// INVALID_PRODUCER_EPOCH) hands back that batch and every later message of the partition, with the error (the
// partition is poisoned for this producer id), and a new producer writes to it again. Either way the messages handed
// back are one run of the partition's messages in Input order and the other partition is unaffected. It runs on an
// in-process broker of its own.
func TestPartitionErrors(t *testing.T) {
	for _, tc := range []struct {
		err    *kerr.Error
		poison bool
	}{
		{kerr.OutOfOrderSequenceNumber, true},
		{kerr.UnknownProducerID, true},
		{kerr.InvalidProducerEpoch, true},
		{kerr.InvalidRecord, false},
		{kerr.TopicAuthorizationFailed, false},
	} {
		t.Run(tc.err.Message, func(t *testing.T) {
			cluster, addrs := privateBroker(t)
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, addrs, topic, 2, nil)
			r := start(t, addrs, producerConfig(t, nil))
			r.put(messages(topic, 2, 100, 0, "before")...)
			r.wait()
			r.checkAllOK()
			h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: tc.err, Count: 1})
			during := messages(topic, 2, 1000, 200, "during")
			r.put(during...)
			r.wait()
			if h.Hits() != 1 {
				t.Fatalf("the fault answered %d requests, want 1", h.Hits())
			}
			after := messages(topic, 2, 100, 5000, "after")
			r.put(after...)
			r.wait()

			var p1 []*sarama.ProducerMessage // partition 1's messages since the fault, in Input order
			for _, m := range append(slices.Clone(during), after...) {
				if m.Partition == 1 {
					p1 = append(p1, m)
				}
			}
			failed := map[*sarama.ProducerMessage]bool{}
			for _, pe := range r.errs {
				failed[pe.Msg] = true
				if pe.Msg.Partition != 1 {
					t.Errorf("message %d of partition %d came back on Errors: %v", r.pos[pe.Msg], pe.Msg.Partition, pe.Err)
				} else if !errors.Is(pe.Err, sarama.KError(tc.err.Code)) {
					t.Errorf("message %d came back with %v, want %v", r.pos[pe.Msg], pe.Err, sarama.KError(tc.err.Code))
				}
			}
			first, last := -1, -1
			for i, m := range p1 {
				if failed[m] {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			t.Logf("partition 1: messages %d..%d of %d came back on Errors", first, last, len(p1))
			switch {
			case first < 0:
				t.Fatalf("no message came back on Errors")
			case last-first+1 != len(r.errs):
				t.Errorf("partition 1's messages %d..%d (since the fault) include %d failed ones: not one run", first, last, len(r.errs))
			case tc.poison && last != len(p1)-1:
				t.Errorf("partition 1's messages after %d succeeded: a sequence error must fail every later message of the partition", last)
			case !tc.poison && last >= len(p1)-100:
				t.Errorf("partition 1's messages up to %d came back on Errors: the ones put after the refused batch came back must succeed", last)
			}
			r.checkWritten(addrs, topic, 2)
			r.asyncClose()

			if tc.poison {
				// A new producer (a new producer id) writes to the partition.
				r2 := start(t, addrs, producerConfig(t, nil))
				more := messages(topic, 2, 50, 9000, "new-producer")
				r2.put(more...)
				r2.wait()
				r2.checkAllOK()
				r2.asyncClose()
				log, batches := readLog(t, addrs, topic, 1)
				if n := len(r.okOf(byPartition(1))); len(log) != n+50 {
					t.Errorf("partition 1's log holds %d records, want %d", len(log), n+50)
				}
				checkSequences(t, 1, batches, 0)
			}
		})
	}
}

// TestNoDuplicateWhenAnotherPartitionFails shows a batch waiting to be retried after REQUEST_TIMED_OUT (which the
// broker had appended) is not written a second time when, meanwhile, another partition's retries run out: whatever
// the producer does about the failed partition (a new producer id would make the retry pass for new records), the
// retry must still be recognised as a duplicate. Partition 1 keeps answering NOT_LEADER and exhausts Retry.Max = 2
// (attempts at about 0, B and 2B, B the backoff); partition 0's batch, first sent at about 1.5 B, times out after
// being appended and is due again at about 2.5 B, after partition 1 gave up. It runs on an in-process broker of its
// own.
func TestNoDuplicateWhenAnotherPartitionFails(t *testing.T) {
	const backoff = 200 * time.Millisecond
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Retry.Max = 2
		cfg.Producer.Retry.Backoff = backoff
	}))
	r.put(messages(topic, 2, 10, 0, "before")...)
	r.wait()
	r.checkAllOK()

	h1 := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.NotLeaderForPartition, Count: -1})
	p1 := messages(topic, 2, 10, 100, "doomed")
	for _, m := range p1 {
		m.Partition = 1
	}
	r.put(p1...)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := h1.Wait(ctx, 2); err != nil {
		t.Fatalf("waiting for partition 1's second attempt: %v", err)
	}
	time.Sleep(backoff / 2) // arranges the order of the attempts; no outcome depends on it
	h0 := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{0}, Err: kerr.RequestTimedOut, Count: 1})
	p0 := messages(topic, 1, 10, 200, "timed-out")
	r.put(p0...)
	r.wait()
	h1.Remove()
	t.Logf("partition 1 answered NOT_LEADER %d times, partition 0 REQUEST_TIMED_OUT %d times", h1.Hits(), h0.Hits())

	for _, e := range r.errs {
		if e.Msg.Partition != 1 {
			t.Errorf("message %d of partition %d came back on Errors: %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
		}
	}
	log, batches := readLog(t, addrs, topic, 0)
	count := map[string]int{}
	for _, l := range log {
		count[string(l.val)]++
	}
	ok := map[*sarama.ProducerMessage]bool{}
	for _, m := range r.ok {
		ok[m] = true
	}
	for _, m := range p0 {
		if n := count[string(encoded(t, m.Value))]; n != 1 {
			t.Errorf("partition 0: message %d is in the log %d times (came back on Successes: %v)", r.pos[m], n, ok[m])
		}
	}
	checkLog(t, 0, log, r.okOf(byPartition(0)))
	for _, b := range batches {
		t.Logf("partition 0 batch at %d: %d records, producer id %d epoch %d, first sequence %d", b.base, b.n, b.producerID, b.producerEpoch, b.firstSeq)
	}
	r.asyncClose()
}

// TestPoisonedPartition shows a partition whose retries run out after REQUEST_TIMED_OUT (the batch may have been
// written) hands every later message back at once with that error, while the other partition goes on; a new
// producer writes to it again, and no record is in the log twice. It runs on an in-process broker of its own.
func TestPoisonedPartition(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Retry.Max = 2 }))
	r.put(messages(topic, 2, 100, 0, "before")...)
	r.wait()
	r.checkAllOK()
	h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.RequestTimedOut, Count: -1})
	r.put(messages(topic, 2, 100, 1000, "timed-out")...)
	r.wait()
	h.Remove()
	if h.Hits() < 3 {
		t.Errorf("partition 1 answered REQUEST_TIMED_OUT %d times, want at least 1 + Retry.Max = 3", h.Hits())
	}
	r.put(messages(topic, 2, 100, 2000, "after")...)
	r.wait()
	for _, e := range r.errs {
		if e.Msg.Partition != 1 || !errors.Is(e.Err, sarama.ErrRequestTimedOut) {
			t.Errorf("message %d of partition %d came back with %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
		}
	}
	if len(r.errs) != 200 {
		t.Errorf("%d messages came back on Errors, want partition 1's 200 since the fault", len(r.errs))
	}
	ok0 := r.okOf(byPartition(0))
	if len(ok0) != 300 {
		t.Errorf("%d of partition 0's 300 messages succeeded", len(ok0))
	}
	checkGapless(t, 0, ok0, 0)
	sameLog(t, addrs, topic, 0, ok0, true)
	r.asyncClose()

	r2 := start(t, addrs, producerConfig(t, nil))
	more := messages(topic, 2, 100, 3000, "new-producer")
	r2.put(more...)
	r2.wait()
	r2.checkAllOK()
	r2.asyncClose()
	log, _ := readLog(t, addrs, topic, 1)
	seen := map[string]bool{}
	for _, l := range log {
		if seen[string(l.val)] {
			t.Errorf("partition 1 offset %d: %.30q is in the log twice", l.off, l.val)
		}
		seen[string(l.val)] = true
	}
	for _, m := range r2.okOf(byPartition(1)) {
		if !seen[string(encoded(t, m.Value))] {
			t.Errorf("partition 1: the new producer's message at offset %d is not in the log", m.Offset)
		}
	}
}

// TestNotIdempotentNotPoisoned shows a producer without Producer.Idempotent keeps writing to a partition whose
// retries ran out after REQUEST_TIMED_OUT: it has no producer id and no sequence numbers that a possibly written batch
// could make unusable (as sarama's producer, it may have written that batch, and a retry may have written it twice).
// It runs on an in-process broker of its own.
func TestNotIdempotentNotPoisoned(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Idempotent = false
		cfg.Producer.Retry.Max = 2
	}))
	h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.RequestTimedOut, Count: -1})
	r.put(messages(topic, 2, 100, 0, "timed-out")...)
	r.wait()
	h.Remove()
	if len(r.errs) != 100 {
		t.Fatalf("%d messages came back on Errors, want partition 1's 100", len(r.errs))
	}
	r.put(messages(topic, 2, 100, 1000, "after")...)
	r.wait()
	for _, e := range r.errs[100:] {
		t.Errorf("after the fault, message %d of partition %d came back with %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
		break
	}
	if n := len(r.okOf(byPartition(1))); n != 100 {
		t.Errorf("after the fault, %d of partition 1's 100 messages succeeded", n)
	}
	r.asyncClose()
}

// TestAsyncCloseStopsRetries shows AsyncClose does not wait for a failing partition's retries (Retry.Max 1000, 100 ms
// apart, would take 100 s): its messages come back on Errors at once and both channels close. It runs on an
// in-process broker of its own.
func TestAsyncCloseStopsRetries(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Retry.Max = 1000
		cfg.Producer.Retry.Backoff = 100 * time.Millisecond
	}))
	h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.NotLeaderForPartition, Count: -1})
	r.put(messages(topic, 2, 100, 0, "stuck")...)
	r.await("partition 0's messages", func() bool { return len(r.ok) >= 100 })
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := h.Wait(ctx, 2); err != nil {
		t.Fatalf("waiting for partition 1's first retry: %v", err)
	}
	r.asyncClose()
	if len(r.ok) != 100 || len(r.errs) != 100 {
		t.Errorf("%d successes and %d errors, want 100 and 100", len(r.ok), len(r.errs))
	}
	for _, e := range r.errs {
		if e.Msg.Partition != 1 || !errors.Is(e.Err, sarama.ErrNotLeaderForPartition) {
			t.Errorf("message %d of partition %d came back with %v", r.pos[e.Msg], e.Msg.Partition, e.Err)
			break
		}
	}
}

// TestEncodeError shows a message whose Key or Value encoder fails comes back on Errors with that error, unsent,
// and the messages before and after it on its partition succeed with gapless offsets and contiguous sequences.
func TestEncodeError(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	for _, field := range []string{"key", "value"} {
		t.Run(field, func(t *testing.T) {
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, addrs, topic, 2, nil)
			r := start(t, addrs, producerConfig(t, nil))
			errBad := fmt.Errorf("kproduce test: %s encoder fails", field)
			bad := message(topic, 0, 99_999, "bad", 10)
			if field == "key" {
				bad.Key = badEncoder{errBad}
			} else {
				bad.Value = badEncoder{errBad}
			}
			msgs := append(messages(topic, 2, 150, 0, "before"), bad)
			msgs = append(msgs, messages(topic, 2, 150, 300, "after")...)
			r.put(msgs...)
			r.wait()
			switch {
			case len(r.errs) != 1:
				t.Errorf("%d messages came back on Errors, want 1", len(r.errs))
				for _, e := range r.errs {
					t.Logf("message %d: %v", r.pos[e.Msg], e.Err)
				}
			case r.errs[0].Msg != bad:
				t.Errorf("message %d came back on Errors (%v), want the badly encoded one", r.pos[r.errs[0].Msg], r.errs[0].Err)
			case !errors.Is(r.errs[0].Err, errBad):
				t.Errorf("the badly encoded message came back with %v, want the encoder's error", r.errs[0].Err)
			}
			if len(r.ok) != len(msgs)-1 {
				t.Errorf("%d successes, want %d", len(r.ok), len(msgs)-1)
			}
			for p := range int32(2) {
				got := r.okOf(func(m *sarama.ProducerMessage) bool { return m != bad && m.Partition == p })
				checkGapless(t, p, got, 0)
				sameLog(t, addrs, topic, p, got, true)
			}
			r.asyncClose()
		})
	}
}

// TestTooLarge shows a message over Producer.MaxMessageBytes comes back with sarama.ErrMessageSizeTooLarge, unsent,
// and the rest succeed, gapless.
func TestTooLarge(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.MaxMessageBytes = 10_000 }))
	big := message(topic, 0, 99_999, "big", 0)
	big.Value = sarama.ByteEncoder(randomBytes(20_000))
	msgs := append(messages(topic, 2, 100, 0, "before"), big)
	msgs = append(msgs, messages(topic, 2, 100, 200, "after")...)
	r.put(msgs...)
	r.wait()
	switch {
	case len(r.errs) != 1:
		t.Errorf("%d messages came back on Errors, want 1", len(r.errs))
		for _, e := range r.errs {
			t.Logf("message %d: %v", r.pos[e.Msg], e.Err)
		}
	case r.errs[0].Msg != big:
		t.Errorf("message %d came back on Errors (%v), want the big one", r.pos[r.errs[0].Msg], r.errs[0].Err)
	case !errors.Is(r.errs[0].Err, sarama.ErrMessageSizeTooLarge):
		t.Errorf("the big message came back with %v, want sarama.ErrMessageSizeTooLarge", r.errs[0].Err)
	}
	for p := range int32(2) {
		got := r.okOf(func(m *sarama.ProducerMessage) bool { return m != big && m.Partition == p })
		if len(got) != 200 {
			t.Errorf("partition %d: %d successes, want 200", p, len(got))
		}
		checkGapless(t, p, got, 0)
		sameLog(t, addrs, topic, p, got, true)
	}
	r.asyncClose()
}

// TestBrokerRejects shows what the producer does with the topic's max.message.bytes (smaller than the broker's):
// a batch over it comes back MESSAGE_TOO_LARGE and later messages of the partition still succeed (the sequence was
// rolled back); with Producer.MaxMessageBytes set to the topic's limit, batches are cut to fit it.
func TestBrokerRejects(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	t.Run("message-too-large", func(t *testing.T) {
		topic := kafkatest.Topic(t)
		limit := "4000"
		kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"max.message.bytes": &limit})
		r := start(t, addrs, producerConfig(t, nil)) // MaxMessageBytes: sarama's default, 1 000 000
		r.put(messages(topic, 1, 10, 0, "small")...)
		r.wait()
		r.checkAllOK()
		big := message(topic, 0, 99_999, "big", 0)
		big.Value = sarama.ByteEncoder(randomBytes(8000))
		r.put(big)
		r.wait()
		switch {
		case len(r.errs) != 1:
			t.Fatalf("the 8000-byte message came back on Successes at offset %d, want MESSAGE_TOO_LARGE on Errors (topic max.message.bytes %s)", big.Offset, limit)
		case !errors.Is(r.errs[0].Err, sarama.ErrMessageSizeTooLarge):
			t.Errorf("the 8000-byte message came back with %v, want MESSAGE_TOO_LARGE", r.errs[0].Err)
		}
		r.put(messages(topic, 1, 10, 100, "small-after")...)
		r.wait()
		for _, e := range r.errs[1:] {
			t.Errorf("message %d after the rejected one came back on Errors: %v", r.pos[e.Msg], e.Err)
		}
		got := r.okOf(byPartition(0))
		if len(got) != 20 {
			t.Errorf("%d of 20 small messages succeeded", len(got))
		}
		checkGapless(t, 0, got, 0)
		sameLog(t, addrs, topic, 0, got, true)
		r.asyncClose()
	})
	t.Run("many-rejected", func(t *testing.T) {
		// 40 MB rejected (more than the producer buffers): what it held
		// for them is released, and later messages go through.
		topic := kafkatest.Topic(t)
		limit := "100000"
		kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"max.message.bytes": &limit})
		r := start(t, addrs, producerConfig(t, nil))
		var big []*sarama.ProducerMessage
		for i := range 50 {
			m := message(topic, 0, i, "big", 0)
			m.Value = sarama.ByteEncoder(randomBytes(800_000))
			big = append(big, m)
		}
		r.put(big...)
		r.wait()
		if len(r.errs) != len(big) {
			t.Fatalf("%d of %d messages over the topic's max.message.bytes came back on Errors", len(r.errs), len(big))
		}
		for _, e := range r.errs {
			if !errors.Is(e.Err, sarama.ErrMessageSizeTooLarge) {
				t.Errorf("message %d came back with %v, want MESSAGE_TOO_LARGE", r.pos[e.Msg], e.Err)
				break
			}
		}
		r.put(messages(topic, 1, 100, 100, "small")...)
		r.wait()
		got := r.okOf(byPartition(0))
		if len(got) != 100 {
			t.Errorf("%d of 100 small messages succeeded", len(got))
		}
		checkGapless(t, 0, got, 0)
		sameLog(t, addrs, topic, 0, got, true)
		r.asyncClose()
	})
	t.Run("batches-fit", func(t *testing.T) {
		const limit = 20_000
		topic := kafkatest.Topic(t)
		ls := fmt.Sprint(limit)
		kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"max.message.bytes": &ls})
		r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.MaxMessageBytes = limit }))
		var msgs []*sarama.ProducerMessage
		for i := range 300 {
			m := message(topic, 0, i, "fit", 0)
			m.Value = sarama.ByteEncoder(randomBytes(900 + i%7*300)) // incompressible, 900-2700 bytes
			msgs = append(msgs, m)
		}
		r.put(msgs...)
		r.wait()
		r.checkAllOK()
		got := r.okOf(byPartition(0))
		checkGapless(t, 0, got, 0)
		sameLog(t, addrs, topic, 0, got, true)
		r.asyncClose()
	})
}

// TestCloseInFlight shows AsyncClose right after 50 000 messages were handed over sends them all, then closes both
// channels; every message comes back exactly once.
func TestCloseInFlight(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const parts = 4
	kafkatest.CreateTopic(t, addrs, topic, parts, nil)
	r := start(t, addrs, producerConfig(t, nil))
	msgs := messages(topic, parts, 50_000/parts, 0, "inflight")
	r.put(msgs...)
	r.asyncClose()
	if r.resolved() != len(msgs) {
		t.Errorf("%d of %d messages came back before the channels closed", r.resolved(), len(msgs))
	}
	r.checkAllOK()
	for p := range int32(parts) {
		checkGapless(t, p, r.okOf(byPartition(p)), 0)
	}
}

// TestAcksZero shows that with RequiredAcks NoResponse (not idempotent) every message comes back on Successes and
// reaches the log, in Input order.
func TestAcksZero(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	// Apache Kafka answers NOT_LEADER for a moment after a topic is created,
	// and drops what it gets with acks=0 then: one acknowledged message per
	// partition first.
	w := start(t, addrs, producerConfig(t, nil))
	w.put(messages(topic, 2, 1, 0, "warm-up")...)
	w.wait()
	w.checkAllOK()
	w.asyncClose()

	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.RequiredAcks = sarama.NoResponse
		cfg.Producer.Idempotent = false
	}))
	msgs := messages(topic, 2, 1000, 10, "acks0")
	r.put(msgs...)
	r.wait()
	r.checkAllOK()
	r.asyncClose()
	for p := range int32(2) {
		var want [][]byte
		for _, m := range msgs {
			if m.Partition == p {
				want = append(want, encoded(t, m.Value))
			}
		}
		var log []logRec
		deadline := time.Now().Add(hang)
		for {
			log, _ = readLog(t, addrs, topic, p)
			if len(log) >= 1+len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(log) != 1+len(want) {
			t.Errorf("partition %d: the log holds %d records, want %d", p, len(log), 1+len(want))
			continue
		}
		for i, l := range log[1:] {
			if string(l.val) != string(want[i]) {
				t.Errorf("partition %d offset %d: value %.30q, want %.30q", p, l.off, l.val, want[i])
				break
			}
		}
	}
}

// TestBrokerAway shows a broker that goes away while messages are in flight does not hang the producer: every
// message comes back exactly once, on Successes or Errors, and a partition's successes precede its errors in Input
// order. It runs on an in-process broker of its own.
func TestBrokerAway(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Retry.Max = 2
		cfg.Metadata.Retry.Max = 2
		cfg.Net.DialTimeout = time.Second
		cfg.Net.ReadTimeout = 5 * time.Second
		cfg.Net.WriteTimeout = 5 * time.Second
	}))
	msgs := messages(topic, 2, 2000, 0, "away")
	r.put(msgs...)
	r.await("a first success", func() bool { return len(r.ok) > 0 })
	cluster.Close()
	r.wait()
	t.Logf("%d successes, %d errors", len(r.ok), len(r.errs))
	failedAt := map[int32]int{0: len(msgs), 1: len(msgs)}
	for _, e := range r.errs {
		failedAt[e.Msg.Partition] = min(failedAt[e.Msg.Partition], r.pos[e.Msg])
	}
	for _, m := range r.ok {
		if r.pos[m] > failedAt[m.Partition] {
			t.Errorf("partition %d: message %d succeeded after message %d failed", m.Partition, r.pos[m], failedAt[m.Partition])
			break
		}
	}
	for p := range int32(2) {
		checkGapless(t, p, r.okOf(byPartition(p)), 0)
	}

	// Messages put once the broker is gone come back too, on Errors.
	n := len(r.errs)
	r.put(messages(topic, 2, 50, 10_000, "gone")...)
	r.wait()
	if len(r.errs)-n != 100 {
		t.Errorf("%d of 100 messages put after the broker went away came back on Errors", len(r.errs)-n)
	}
	r.asyncClose()
}

// TestBrokerAwayAfterError shows messages put after the broker went away come back on Errors also when the producer
// had, before that, given up on a batch of another partition (an earlier version then needed a new producer id,
// which it could not get, and held the messages for ever). It runs on an in-process broker of its own.
func TestBrokerAwayAfterError(t *testing.T) {
	cluster, addrs := privateBroker(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 2, nil)
	r := start(t, addrs, producerConfig(t, func(cfg *sarama.Config) {
		cfg.Producer.Retry.Max = 2
		cfg.Metadata.Retry.Max = 2
		cfg.Net.DialTimeout = time.Second
	}))
	r.put(messages(topic, 2, 10, 0, "before")...)
	r.wait()
	r.checkAllOK()
	cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1}, Err: kerr.NotLeaderForPartition, Count: -1})
	p1 := messages(topic, 1, 10, 100, "doomed")
	for _, m := range p1 {
		m.Partition = 1
	}
	r.put(p1...)
	r.wait()
	if len(r.errs) != len(p1) {
		t.Fatalf("%d of partition 1's %d messages came back on Errors", len(r.errs), len(p1))
	}
	cluster.Close()
	p0 := messages(topic, 1, 10, 200, "gone")
	r.put(p0...)
	r.wait()
	if len(r.errs) != len(p1)+len(p0) {
		t.Errorf("%d of the %d messages put after the broker went away came back on Errors", len(r.errs)-len(p1), len(p0))
	}
	r.asyncClose()
}

// TestLogAppendTime shows that under LogAppendTime the broker's timestamp comes back on Successes. Only Apache Kafka
// honours message.timestamp.type; the in-process broker does not.
func TestLogAppendTime(t *testing.T) {
	if !kafkatest.External() {
		t.Skip("kfake ignores message.timestamp.type (it stamps append time only on batches whose producer set the attribute)")
	}
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	lat := "LogAppendTime"
	kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"message.timestamp.type": &lat})
	r := start(t, addrs, producerConfig(t, nil))
	before := time.Now().Add(-time.Minute)
	r.put(messages(topic, 1, 100, 0, "lat")...)
	r.wait()
	r.checkAllOK()
	log, _ := readLog(t, addrs, topic, 0)
	got := r.okOf(byPartition(0))
	for i := range min(len(log), len(got)) {
		m := got[i]
		if !m.Timestamp.Equal(log[i].ts) || m.Timestamp.Before(before) {
			t.Errorf("offset %d: Successes has timestamp %v, the log (append time %v) %v", m.Offset, m.Timestamp, log[i].appendTS, log[i].ts)
			break
		}
	}
	r.asyncClose()
}

// TestNotTransactional shows New refuses a transactional id, a producer it returns is not transactional and its
// transaction methods return sarama.ErrNonTransactedProducer.
func TestNotTransactional(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	cfg := producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Transaction.ID = kafkatest.Topic(t) })
	if p, err := kproduce.New(addrs, cfg); err == nil {
		_ = p.Close()
		t.Error("New accepted a Producer.Transaction.ID")
	}
	r := start(t, addrs, producerConfig(t, nil))
	if r.p.IsTransactional() {
		t.Error("IsTransactional is true")
	}
	for name, err := range map[string]error{
		"BeginTxn":        r.p.BeginTxn(),
		"CommitTxn":       r.p.CommitTxn(),
		"AbortTxn":        r.p.AbortTxn(),
		"AddOffsetsToTxn": r.p.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{}, "g"),
		"AddMessageToTxn": r.p.AddMessageToTxn(&sarama.ConsumerMessage{Topic: "t"}, "g", nil),
	} {
		if !errors.Is(err, sarama.ErrNonTransactedProducer) {
			t.Errorf("%s: %v, want sarama.ErrNonTransactedProducer", name, err)
		}
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestNoBroker shows New fails, leaving nothing running, when no broker answers.
func TestNoBroker(t *testing.T) {
	cfg := producerConfig(t, func(cfg *sarama.Config) {
		cfg.Metadata.Retry.Max = 1
		cfg.Net.DialTimeout = time.Second
	})
	if p, err := kproduce.New([]string{"127.0.0.1:1"}, cfg); err == nil {
		_ = p.Close()
		t.Error("New succeeded without a broker")
	}
}

// TestNoProducerID shows New fails, leaving nothing running, when the broker refuses an idempotent producer id. It
// runs on an in-process broker of its own.
func TestNoProducerID(t *testing.T) {
	cluster, addrs := privateBroker(t)
	h := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.InitProducerID}, TopLevel: true, Err: kerr.ClusterAuthorizationFailed, Count: -1})
	p, err := kproduce.New(addrs, producerConfig(t, nil))
	if err == nil {
		_ = p.Close()
		t.Fatal("New succeeded though the broker refuses InitProducerID")
	}
	if !errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
		t.Errorf("New: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}
	if h.Hits() == 0 {
		t.Error("New did not ask for a producer id")
	}
}

// TestCloseReturnsErrors shows Close hands back the errors it drained as sarama.ProducerErrors.
func TestCloseReturnsErrors(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, topic, 1, nil)
	p, err := kproduce.New(addrs, producerConfig(t, func(cfg *sarama.Config) { cfg.Producer.Return.Successes = false }))
	if err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("kproduce test: bad value")
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 10 {
			m := message(topic, 0, i, "x", 10)
			if i == 3 || i == 7 {
				m.Value = badEncoder{errBad}
			}
			select {
			case p.Input() <- m:
			case <-time.After(hang):
				return
			}
		}
	}()
	select {
	case <-sent:
	case <-time.After(hang):
		t.Fatal("Input blocked")
	}
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err = <-done:
	case <-time.After(hang):
		t.Fatalf("Close still running after %s", hang)
	}
	var pe sarama.ProducerErrors
	if !errors.As(err, &pe) || len(pe) != 2 {
		t.Fatalf("Close returned %v, want sarama.ProducerErrors with 2 errors", err)
	}
	for _, e := range pe {
		if !errors.Is(e.Err, errBad) {
			t.Errorf("Close's error %v, want the encoder's", e.Err)
		}
	}
}
