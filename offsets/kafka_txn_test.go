package offsets

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// txnProducer returns a transactional sarama producer placing records like
// Kafka's Java producer (murmur2), as a source task's producer does.
func txnProducer(t *testing.T, brokers []string) sarama.SyncProducer {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
	cfg.Producer.Transaction.ID = kafkatest.Topic(t)
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// sendTxn sends msgs in one transaction of p, then commits it (commit) or
// aborts it.
func sendTxn(t *testing.T, p sarama.SyncProducer, msgs []*sarama.ProducerMessage, commit bool) {
	t.Helper()
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sending in the transaction: %v", err)
	}
	var err error
	if commit {
		err = p.CommitTxn()
	} else {
		err = p.AbortTxn()
	}
	if err != nil {
		t.Fatalf("ending the transaction (commit %v): %v", commit, err)
	}
}

// offsetMessages calls s.OffsetMessages and fails t on error.
func offsetMessages(t *testing.T, s *KafkaStore, connector string, entries []connect.OffsetEntry) []*sarama.ProducerMessage {
	t.Helper()
	msgs, err := s.OffsetMessages(connector, entries)
	if err != nil {
		t.Fatalf("OffsetMessages: %v", err)
	}
	return msgs
}

// readCommittedRaw reads, with read_committed isolation, exactly n[p]
// records from each partition p of topic (from its start).
func readCommittedRaw(t *testing.T, brokers []string, topic string, n map[int32]int) []rawRecord {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var out []rawRecord
	for p, want := range n {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
		for got := 0; got < want; got++ {
			select {
			case m := <-pc.Messages():
				out = append(out, rawRecord{p, m.Offset, string(m.Key), m.Value})
			case <-timeout:
				t.Fatalf("partition %d: %d of %d records read within 30s", p, got, want)
			}
		}
		pc.Close()
	}
	return out
}

// get calls s.Get and fails t on error.
func get(t *testing.T, s Store, connector string, p Partition) Offset {
	t.Helper()
	o, err := s.Get(context.Background(), connector, p)
	if err != nil {
		t.Fatalf("Get(%s, %v): %v", connector, p, err)
	}
	return o
}

// TestKafkaStoreOffsetMessagesCommitted: the records of OffsetMessages, sent
// and committed in a transaction, are those Write produces (key and value
// bytes, partition, tombstone; Kafka Connect's key bytes for a partition it
// wrote), and a new store reads them back.
func TestKafkaStoreOffsetMessagesCommitted(t *testing.T) {
	ctx := context.Background()
	brokers := kafkatest.Brokers(t)
	const (
		multiKey = `["conn",{"table":"t1","db":"d"}]` // Kafka Connect's (HashMap) order, not sorted
		goneKey  = `["conn",{"table":"gone"}]`
	)
	entries := []connect.OffsetEntry{
		{Partition: Partition{"db": "d", "table": "t1"}, Offset: Offset{"id": 43}},
		{Partition: Partition{"table": "t2"}, Offset: Offset{"id": 7, "ts": 1.5, "s": "x\u00e9"}},
		{Partition: Partition{"table": "gone"}},                        // reset: a tombstone
		{Partition: Partition{"table": "t2"}, Offset: Offset{"id": 8}}, // the last entry wins
	}
	wantList := []connect.OffsetEntry{
		{Partition: Partition{"db": "d", "table": "t1"}, Offset: Offset{"id": int64(43)}},
		{Partition: Partition{"table": "t2"}, Offset: Offset{"id": int64(8)}},
	}

	// Two topics with the same history: one written by Write, one by a
	// transaction carrying OffsetMessages.
	var stores [2]*KafkaStore
	var topics [2]string
	seed := map[int32]int{}
	for i := range stores {
		topics[i] = kafkatest.Topic(t)
		kafkatest.CreateTopic(t, brokers, topics[i], 5, compactPolicy)
		parts := produceRaw(t, brokers, topics[i], []byte(multiKey), []byte(`{"id":1}`), []byte(goneKey), []byte(`{"id":1}`))
		if i == 0 {
			for _, p := range parts {
				seed[p]++
			}
		}
		stores[i] = openKafkaStore(t, brokers, topics[i], nil)
	}
	written, txn := stores[0], stores[1]
	if err := written.Write(ctx, "conn", entries); err != nil {
		t.Fatal(err)
	}
	msgs := offsetMessages(t, txn, "conn", entries)
	if len(msgs) != 3 {
		t.Fatalf("OffsetMessages returned %d messages, want 3 (one per partition)", len(msgs))
	}
	placed := map[string]int32{}
	for _, m := range msgs {
		if m.Topic != topics[1] || m.Metadata != nil {
			t.Fatalf("message topic %q metadata %v, want topic %q and no metadata", m.Topic, m.Metadata, topics[1])
		}
		k, _ := m.Key.Encode()
		placed[string(k)] = m.Partition
	}
	if m := msgs[2]; m.Value != nil {
		t.Fatalf("the reset's message has value %v, want none (a tombstone)", m.Value)
	}
	// Nothing is stored before the transaction is committed and Committed
	// is called.
	if o := get(t, txn, "conn", Partition{"db": "d", "table": "t1"}); !reflect.DeepEqual(o, Offset{"id": int64(1)}) {
		t.Fatalf("after OffsetMessages: %v, want the old offset", o)
	}
	sendTxn(t, txnProducer(t, brokers), msgs, true)
	txn.Committed("conn", entries)
	if l, err := txn.List(ctx, "conn"); err != nil || !reflect.DeepEqual(l, wantList) {
		t.Fatalf("List after Committed = %v, %v; want %v", l, err, wantList)
	}

	// The records are byte for byte those of Write, in the same partitions.
	n := maps.Clone(seed)
	for _, p := range placed {
		n[p]++
	}
	var raw [2]map[string]rawRecord // the last record of each key
	for i := range topics {
		raw[i] = map[string]rawRecord{}
		for _, r := range readCommittedRaw(t, brokers, topics[i], n) {
			if prev, ok := raw[i][r.key]; !ok || prev.offset < r.offset {
				raw[i][r.key] = r
			}
		}
	}
	if len(raw[0]) != 3 {
		t.Fatalf("Write produced %v, want 3 records", raw[0])
	}
	for key, w := range raw[0] {
		r, ok := raw[1][key]
		if !ok || string(r.value) != string(w.value) || (r.value == nil) != (w.value == nil) || r.partition != w.partition {
			t.Errorf("key %s: Write produced value %q in partition %d; the transaction %q in partition %d (found %v)",
				key, w.value, w.partition, r.value, r.partition, ok)
		}
		if placed[key] != w.partition {
			t.Errorf("key %s: OffsetMessages set Partition %d, Write used %d", key, placed[key], w.partition)
		}
	}
	if _, ok := raw[1][multiKey]; !ok {
		t.Errorf("the transaction did not reuse Kafka Connect's key bytes %s: %v", multiKey, raw[1])
	}

	// New stores read both topics alike.
	for i := range topics {
		s := openKafkaStore(t, brokers, topics[i], nil)
		if l, err := s.List(ctx, "conn"); err != nil || !reflect.DeepEqual(l, wantList) {
			t.Fatalf("new store on topic %d: List = %v, %v; want %v", i, l, err, wantList)
		}
	}
}

// TestKafkaStoreOffsetMessagesErrors: an entry Kafka Connect refuses yields
// no message; a closed store refuses.
func TestKafkaStoreOffsetMessagesErrors(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := openKafkaStore(t, brokers, kafkatest.Topic(t), func(c *KafkaStoreConfig) { c.Partitions = 2 })
	msgs, err := s.OffsetMessages("conn", []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "b"}, Offset: Offset{"pos": []int{1}}},
	})
	var fe *FormatError
	if !errors.As(err, &fe) || msgs != nil || !strings.Contains(err.Error(), s.Topic()) {
		t.Fatalf("OffsetMessages with an invalid offset = %v, %v; want a FormatError naming the topic and no message", msgs, err)
	}
	_ = s.Close()
	if _, err := s.OffsetMessages("conn", []connect.OffsetEntry{{Partition: Partition{"f": "a"}}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("OffsetMessages after Close = %v, want ErrClosed", err)
	}
	if err := s.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close = %v, want ErrClosed", err)
	}
}

// TestKafkaStoreOffsetMessagesAborted: offsets sent in an aborted
// transaction are never seen, neither by Refresh nor by a new store, and
// do not hide later committed ones.
func TestKafkaStoreOffsetMessagesAborted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 3 })
	p := txnProducer(t, brokers)
	at := func(f string, pos int) []connect.OffsetEntry {
		return []connect.OffsetEntry{{Partition: Partition{"f": f}, Offset: Offset{"pos": pos}}}
	}
	sendTxn(t, p, offsetMessages(t, s, "eos", at("a", 1)), true)
	sendTxn(t, p, offsetMessages(t, s, "eos", append(at("a", 100), at("c", 100)...)), false)
	check := func(s *KafkaStore, what string, wantA, wantB any) {
		t.Helper()
		if o := get(t, s, "eos", Partition{"f": "a"}); !reflect.DeepEqual(o, Offset{"pos": wantA}) {
			t.Fatalf("%s: a = %v, want pos %v", what, o, wantA)
		}
		if o := get(t, s, "eos", Partition{"f": "c"}); o != nil {
			t.Fatalf("%s: c = %v, want none (aborted)", what, o)
		}
		o := get(t, s, "eos", Partition{"f": "b"})
		if wantB == nil && o != nil || wantB != nil && !reflect.DeepEqual(o, Offset{"pos": wantB}) {
			t.Fatalf("%s: b = %v, want %v", what, o, wantB)
		}
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(s, "Refresh", int64(1), nil)
	check(openKafkaStore(t, brokers, topic, nil), "new store", int64(1), nil)

	// Committed after the aborted transaction: seen past its records and
	// markers.
	sendTxn(t, p, offsetMessages(t, s, "eos", at("b", 2)), true)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(s, "second Refresh", int64(1), int64(2))
	check(openKafkaStore(t, brokers, topic, nil), "second new store", int64(1), int64(2))
}

// TestKafkaStoreRefreshSeesLaterCommits: a store opened before another
// process committed offsets (in a transaction or with Write, a reset too)
// sees them after Refresh, and only then.
func TestKafkaStoreRefreshSeesLaterCommits(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	other := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 4 })
	ctx := context.Background()
	if err := other.Write(ctx, "eos", []connect.OffsetEntry{{Partition: Partition{"f": "reset"}, Offset: Offset{"pos": 9}}}); err != nil {
		t.Fatal(err)
	}
	s := openKafkaStore(t, brokers, topic, nil)
	if o := get(t, s, "eos", Partition{"f": "reset"}); !reflect.DeepEqual(o, Offset{"pos": int64(9)}) {
		t.Fatalf("at open: %v", o)
	}

	committed := []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 5}},
		{Partition: Partition{"f": "reset"}},
	}
	sendTxn(t, txnProducer(t, brokers), offsetMessages(t, other, "eos", committed), true)
	other.Committed("eos", committed)
	if err := other.Write(ctx, "eos", []connect.OffsetEntry{{Partition: Partition{"f": "w"}, Offset: Offset{"pos": 6}}}); err != nil {
		t.Fatal(err)
	}
	if o := get(t, s, "eos", Partition{"f": "a"}); o != nil {
		t.Fatalf("before Refresh: a = %v; the store does not follow the topic by itself", o)
	}
	want := []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": int64(5)}},
		{Partition: Partition{"f": "w"}, Offset: Offset{"pos": int64(6)}},
	}
	for i := range 2 { // the second Refresh finds nothing new
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if l, err := s.List(ctx, "eos"); err != nil || !reflect.DeepEqual(l, want) {
			t.Fatalf("Refresh %d: List = %v, %v; want %v", i+1, l, err, want)
		}
	}
}

// TestKafkaStoreRefreshKeepsNewerCommitted: what Committed (or an
// acknowledged Write) applies while Refresh reads is not overwritten by the
// older records Refresh read for the same partition.
func TestKafkaStoreRefreshKeepsNewerCommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	other := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 2 })
	s := openKafkaStore(t, brokers, topic, nil)
	ctx := context.Background()
	if err := other.Write(ctx, "eos", []connect.OffsetEntry{
		{Partition: Partition{"f": "mine"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "theirs"}, Offset: Offset{"pos": 1}},
	}); err != nil {
		t.Fatal(err)
	}
	newer := []connect.OffsetEntry{{Partition: Partition{"f": "mine"}, Offset: Offset{"pos": 2}}}
	s.beforeRefreshApply = func() {
		// A task of this process commits while Refresh runs (its record
		// lies past the high watermark Refresh reads to).
		sendTxn(t, txnProducer(t, brokers), offsetMessages(t, s, "eos", newer), true)
		s.Committed("eos", newer)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s.beforeRefreshApply = nil
	if o := get(t, s, "eos", Partition{"f": "mine"}); !reflect.DeepEqual(o, Offset{"pos": int64(2)}) {
		t.Fatalf("mine = %v, want pos 2 (Committed during Refresh), not the older record Refresh read", o)
	}
	if o := get(t, s, "eos", Partition{"f": "theirs"}); !reflect.DeepEqual(o, Offset{"pos": int64(1)}) {
		t.Fatalf("theirs = %v, want pos 1", o)
	}
	// The next Refresh reads the record Committed stood for; same result.
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if o := get(t, s, "eos", Partition{"f": "mine"}); !reflect.DeepEqual(o, Offset{"pos": int64(2)}) {
		t.Fatalf("after a second Refresh: mine = %v, want pos 2", o)
	}
}

// TestKafkaStoreRefreshWaitsForOpenTxn: Refresh waits for transactions
// open on the offsets topic when it starts. Bounded by ReadTimeout or ctx,
// it fails (having applied the committed records it read, never the open
// transaction's); once the transaction commits, Refresh returns its
// offsets. Close ends a waiting Refresh.
func TestKafkaStoreRefreshWaitsForOpenTxn(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	const readTimeout = 10 * time.Second
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 4; c.ReadTimeout = readTimeout })
	ctx := context.Background()

	// Two source partitions on different topic partitions.
	at := func(f string, pos int) []connect.OffsetEntry {
		return []connect.OffsetEntry{{Partition: Partition{"f": f}, Offset: Offset{"pos": pos}}}
	}
	open := offsetMessages(t, s, "eos", at("open", 2))
	var done []*sarama.ProducerMessage
	var doneName string
	for i := 0; done == nil; i++ {
		name := "done" + strings.Repeat("x", i)
		if m := offsetMessages(t, s, "eos", at(name, 1)); m[0].Partition != open[0].Partition {
			done, doneName = m, name
		}
	}
	sendTxn(t, txnProducer(t, brokers), done, true)
	p := txnProducer(t, brokers)
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessages(open); err != nil {
		t.Fatal(err)
	}

	// Bounded by ReadTimeout.
	err := s.Refresh(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ReadTimeout") {
		t.Fatalf("Refresh with a transaction open = %v, want DeadlineExceeded naming ReadTimeout", err)
	}
	if o := get(t, s, "eos", Partition{"f": doneName}); !reflect.DeepEqual(o, Offset{"pos": int64(1)}) {
		t.Fatalf("after the failed Refresh: the committed offset = %v, want pos 1", o)
	}
	if o := get(t, s, "eos", Partition{"f": "open"}); o != nil {
		t.Fatalf("after the failed Refresh: the open transaction's offset = %v, want none", o)
	}
	// Bounded by ctx.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Refresh(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh with a cancelled context = %v", err)
	}

	// The transaction commits while Refresh waits (or before it started):
	// Refresh returns its offset.
	errc := make(chan error, 1)
	go func() { errc <- s.Refresh(ctx) }()
	if err := p.CommitTxn(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Refresh once the transaction committed: %v", err)
	}
	if o := get(t, s, "eos", Partition{"f": "open"}); !reflect.DeepEqual(o, Offset{"pos": int64(2)}) {
		t.Fatalf("after the commit: %v, want pos 2", o)
	}

	// Close ends a Refresh that waits for an open transaction.
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessages(offsetMessages(t, s, "eos", at("open", 3))); err != nil {
		t.Fatal(err)
	}
	go func() { errc <- s.Refresh(ctx) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh ended by Close = %v, want ErrClosed", err)
	}
	if err := p.AbortTxn(); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaStoreCommitted: Committed updates what Get and List return
// without producing anything.
func TestKafkaStoreCommitted(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 2 })
	ctx := context.Background()
	s.Committed("eos", []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}},
		{Partition: Partition{"f": "b"}, Offset: Offset{"pos": 2}},
	})
	s.Committed("eos", []connect.OffsetEntry{{Partition: Partition{"f": "b"}}})                               // reset
	s.Committed("eos", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"x": []int{}}}}) // refused: ignored
	want := []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": int64(1)}}}
	if l, err := s.List(ctx, "eos"); err != nil || !reflect.DeepEqual(l, want) {
		t.Fatalf("List after Committed = %v, %v; want %v", l, err, want)
	}

	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, p := range []int32{0, 1} {
		if end, err := client.GetOffset(topic, p, sarama.OffsetNewest); err != nil || end != 0 {
			t.Fatalf("partition %d: end offset %d, %v; Committed must produce nothing", p, end, err)
		}
	}
	if l, err := openKafkaStore(t, brokers, topic, nil).List(ctx, "eos"); err != nil || len(l) != 0 {
		t.Fatalf("a new store: %v, %v; want nothing", l, err)
	}
}
