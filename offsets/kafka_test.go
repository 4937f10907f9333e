package offsets

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

var compactPolicy = map[string]*string{"cleanup.policy": ptr("compact")}

func ptr[T any](v T) *T { return &v }

// logRecorder is a slog.Handler that keeps the messages it receives.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }
func (h *logRecorder) has(sub string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.msgs, func(m string) bool { return strings.Contains(m, sub) })
}

func openKafkaStore(t *testing.T, brokers []string, topic string, mod func(*KafkaStoreConfig)) *KafkaStore {
	t.Helper()
	cfg := KafkaStoreConfig{
		Brokers:     brokers,
		Topic:       topic,
		Sarama:      kafkatest.SaramaConfig(t),
		ReadTimeout: 60 * time.Second,
		Logger:      slog.New(&logRecorder{}),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewKafkaStore(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewKafkaStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type rawRecord struct {
	partition int32
	offset    int64
	key       string
	value     []byte // nil: tombstone
}

// produceRaw writes records the way a Kafka Connect worker does (murmur2 of
// the key bytes, like Kafka's Java producer), with a plain sarama producer.
// A nil value is a tombstone. It returns the partition of each record.
func produceRaw(t *testing.T, brokers []string, topic string, kv ...[]byte) []int32 {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var parts []int32
	for i := 0; i < len(kv); i += 2 {
		m := &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(kv[i])}
		if kv[i+1] != nil {
			m.Value = sarama.ByteEncoder(kv[i+1])
		}
		part, _, err := p.SendMessage(m)
		if err != nil {
			t.Fatalf("producing %s: %v", kv[i], err)
		}
		parts = append(parts, part)
	}
	return parts
}

// readRaw reads every record of topic with a plain sarama consumer.
func readRaw(t *testing.T, brokers []string, topic string) []rawRecord {
	t.Helper()
	cfg := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawRecord
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		if start >= end {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			t.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				out = append(out, rawRecord{p, m.Offset, string(m.Key), m.Value})
				done = m.Offset+1 >= end
			case <-timeout:
				t.Fatalf("partition %d: not read to %d within 30s", p, end)
			}
		}
		pc.Close()
	}
	return out
}

// lastRaw returns the last record of recs whose key is key.
func lastRaw(t *testing.T, recs []rawRecord, key string) rawRecord {
	t.Helper()
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].key == key {
			return recs[i]
		}
	}
	t.Fatalf("no record with key %s", key)
	return rawRecord{}
}

// TestKafkaStoreKafkaConnectTopic opens a store on an offsets topic written
// with Kafka Connect's bytes, and checks that Sluice reads it, writes back
// under Kafka Connect's exact key bytes, and resets with tombstones.
func TestKafkaStoreKafkaConnectTopic(t *testing.T) {
	ctx := context.Background()
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 5, compactPolicy)

	const (
		fileKey  = `["file-src",{"filename":"test.txt"}]`
		multiKey = `["conn",{"table":"t1","db":"d"}]` // HashMap order, not sorted
		goneKey  = `["conn",{"table":"gone"}]`
	)
	parts := produceRaw(t, brokers, topic,
		[]byte(fileKey), []byte(`{"position":30}`),
		[]byte(multiKey), []byte(`{"id":42}`),
		[]byte(goneKey), []byte(`{"id":1}`),
		[]byte(`not-a-source-offset-key`), []byte(`{}`),
		[]byte(`["file-src",{"filename":"f.txt"}]`), []byte(`{"position":1.5,"big":9007199254740993}`),
		[]byte(goneKey), nil, // tombstone
	)
	multiPartition := parts[1]

	rec := &logRecorder{}
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Logger = slog.New(rec) })
	if !rec.has("not a source offset") {
		t.Errorf("the invalid key was not logged: %v", rec.msgs)
	}

	get := func(s Store, conn string, p Partition) Offset {
		t.Helper()
		o, err := s.Get(ctx, conn, p)
		if err != nil {
			t.Fatalf("Get(%s, %v): %v", conn, p, err)
		}
		return o
	}
	if o := get(s, "file-src", Partition{"filename": "test.txt"}); !reflect.DeepEqual(o, Offset{"position": int64(30)}) {
		t.Fatalf("file-src test.txt = %#v", o)
	}
	if o := get(s, "file-src", Partition{"filename": "f.txt"}); !reflect.DeepEqual(o, Offset{"position": 1.5, "big": int64(9007199254740993)}) {
		t.Fatalf("file-src f.txt = %#v", o)
	}
	if o := get(s, "conn", Partition{"db": "d", "table": "t1"}); !reflect.DeepEqual(o, Offset{"id": int64(42)}) {
		t.Fatalf("conn multi-key = %#v", o)
	}
	if o := get(s, "conn", Partition{"table": "gone"}); o != nil {
		t.Fatalf("tombstoned partition = %#v", o)
	}
	if l, err := s.List(ctx, "conn"); err != nil || len(l) != 1 {
		t.Fatalf("List conn = %v, %v", l, err)
	}

	// Write for the multi-key partition: the record must carry Kafka
	// Connect's original key bytes, in the same topic partition.
	if err := s.Write(ctx, "conn", []connect.OffsetEntry{
		{Partition: Partition{"table": "t1", "db": "d"}, Offset: Offset{"id": 43}},
		{Partition: Partition{"table": "t2", "db": "d"}, Offset: Offset{"id": 7}},
	}); err != nil {
		t.Fatal(err)
	}
	if o := get(s, "conn", Partition{"db": "d", "table": "t1"}); !reflect.DeepEqual(o, Offset{"id": int64(43)}) {
		t.Fatalf("after Write: %#v", o)
	}
	// Reset one partition through the admin API: a tombstone.
	if err := AlterOffsets(ctx, s, "file-src", []connect.OffsetEntry{{Partition: Partition{"filename": "test.txt"}}}); err != nil {
		t.Fatal(err)
	}
	if o := get(s, "file-src", Partition{"filename": "test.txt"}); o != nil {
		t.Fatalf("after reset: %#v", o)
	}

	raw := readRaw(t, brokers, topic)
	r := lastRaw(t, raw, multiKey)
	if string(r.value) != `{"id":43}` || r.partition != multiPartition {
		t.Fatalf("rewritten record = %+v, want value {\"id\":43} in partition %d", r, multiPartition)
	}
	r = lastRaw(t, raw, `["conn",{"db":"d","table":"t2"}]`) // a new partition: sorted members
	if string(r.value) != `{"id":7}` {
		t.Fatalf("new record = %+v", r)
	}
	r = lastRaw(t, raw, fileKey)
	if r.value != nil {
		t.Fatalf("reset wrote value %q, want a tombstone", r.value)
	}
	for _, rr := range raw {
		if rr.key == `["conn",{"db":"d","table":"t1"}]` {
			t.Fatalf("a record was written under the canonical key instead of Kafka Connect's bytes: %+v", rr)
		}
		if rr.key == "" || strings.ContainsAny(rr.key, " \n") {
			t.Fatalf("unexpected key bytes %q", rr.key)
		}
	}

	// A second store on the same topic sees the same state.
	s2 := openKafkaStore(t, brokers, topic, nil)
	for _, conn := range []string{"conn", "file-src"} {
		l1, err1 := s.List(ctx, conn)
		l2, err2 := s2.List(ctx, conn)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(l1, l2) {
			t.Fatalf("List(%s): first store %v (%v), reopened %v (%v)", conn, l1, err1, l2, err2)
		}
	}
	if o := get(s2, "conn", Partition{"db": "d", "table": "t1"}); !reflect.DeepEqual(o, Offset{"id": int64(43)}) {
		t.Fatalf("reopened: %#v", o)
	}

	// Reset everything of conn; a third store sees nothing for it.
	if err := ResetOffsets(ctx, s2, "conn"); err != nil {
		t.Fatal(err)
	}
	s3 := openKafkaStore(t, brokers, topic, nil)
	if l, err := ListOffsets(ctx, s3, "conn"); err != nil || len(l) != 0 {
		t.Fatalf("after ResetOffsets: %v, %v", l, err)
	}
	if l, err := ListOffsets(ctx, s3, "file-src"); err != nil || len(l) != 1 {
		t.Fatalf("file-src after resetting conn: %v, %v", l, err)
	}
	r = lastRaw(t, readRaw(t, brokers, topic), multiKey)
	if r.value != nil {
		t.Fatalf("ResetOffsets wrote %q under Kafka Connect's key, want a tombstone", r.value)
	}

	// After a reset, the partition is still written under Kafka Connect's
	// key bytes (the store that saw the tombstone at open remembers them).
	if err := s3.Write(ctx, "conn", []connect.OffsetEntry{{Partition: Partition{"db": "d", "table": "t1"}, Offset: Offset{"id": 44}}}); err != nil {
		t.Fatal(err)
	}
	raw = readRaw(t, brokers, topic)
	if r := lastRaw(t, raw, multiKey); string(r.value) != `{"id":44}` {
		t.Fatalf("write after reset: last record under Kafka Connect's key = %+v", r)
	}
	for _, rr := range raw {
		if rr.key == `["conn",{"db":"d","table":"t1"}]` {
			t.Fatalf("a record was written under the canonical key instead of Kafka Connect's bytes: %+v", rr)
		}
	}
}

func TestKafkaStoreCreatesTopic(t *testing.T) {
	ctx := context.Background()
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	rec := &logRecorder{}
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) {
		c.Partitions = 3
		c.Logger = slog.New(rec) // ReplicationFactor 0: 3, capped to the single test broker
	})
	if !rec.has("replication factor") {
		t.Errorf("no warning about the lowered replication factor: %v", rec.msgs)
	}

	admin, err := sarama.NewClusterAdmin(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || len(md[0].Partitions) != 3 {
		t.Fatalf("DescribeTopics = %+v, %v; want 3 partitions", md, err)
	}
	res, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"cleanup.policy"}}}, sarama.DescribeConfigsOptions{})
	if err != nil || len(res) != 1 || res[0].ErrorCode != sarama.ErrNoError || len(res[0].Configs) != 1 || res[0].Configs[0].Value != "compact" {
		t.Fatalf("cleanup.policy = %+v, %v", res, err)
	}

	storeContract(t, s, func(old Store) Store {
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		return openKafkaStore(t, brokers, topic, nil)
	})
	_ = ctx
}

func TestKafkaStoreRefusesNonCompactedTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for name, policy := range map[string]map[string]*string{
		"default":        nil,
		"delete":         {"cleanup.policy": ptr("delete")},
		"compact,delete": {"cleanup.policy": ptr("compact,delete")},
	} {
		t.Run(name, func(t *testing.T) {
			topic := kafkatest.Topic(t)
			kafkatest.CreateTopic(t, brokers, topic, 1, policy)
			s, err := NewKafkaStore(context.Background(), KafkaStoreConfig{
				Brokers: brokers, Topic: topic, Sarama: kafkatest.SaramaConfig(t), Logger: slog.New(&logRecorder{}),
			})
			if err == nil {
				s.Close()
				t.Fatal("a non-compacted topic was accepted")
			}
			for _, want := range []string{topic, "cleanup.policy=compact", "kafka-configs"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			t.Log(err)
		})
	}
}

// TestKafkaStoreTransactionalTopic: Kafka Connect's exactly-once source
// support writes offsets in transactions. Committed offsets count, aborted
// ones do not, and a partition that ends with a transaction marker (which
// a consumer never delivers) does not stall the store's opening.
func TestKafkaStoreTransactionalTopic(t *testing.T) {
	ctx := context.Background()
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, compactPolicy)

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
	send := func(key, value string, commit bool) {
		t.Helper()
		if err := p.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	send(`["eos",{"f":"a"}]`, `{"pos":1}`, true)
	send(`["eos",{"f":"b"}]`, `{"pos":2}`, true)
	send(`["eos",{"f":"a"}]`, `{"pos":100}`, false) // aborted
	send(`["eos",{"f":"c"}]`, `{"pos":3}`, false)   // aborted
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.ReadTimeout = 20 * time.Second })
	t.Logf("opened in %v", time.Since(start))
	l, err := s.List(ctx, "eos")
	want := []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": int64(1)}},
		{Partition: Partition{"f": "b"}, Offset: Offset{"pos": int64(2)}},
	}
	if err != nil || !reflect.DeepEqual(l, want) {
		t.Fatalf("List = %v, %v; want %v", l, err, want)
	}
}

func TestKafkaStoreConcurrentWrites(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	s := openKafkaStore(t, brokers, topic, func(c *KafkaStoreConfig) { c.Partitions = 4 })
	want := concurrentWrites(t, s, 25)
	s2 := openKafkaStore(t, brokers, topic, nil)
	o, err := s2.Get(context.Background(), "conc", Partition{"shared": true})
	if err != nil || o["i"] != want["shared"] {
		t.Fatalf("reopened store: shared = %v, %v; want %d (the last acknowledged write)", o, err, want["shared"])
	}
}

func TestKafkaStoreWriteContext(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := openKafkaStore(t, brokers, kafkatest.Topic(t), func(c *KafkaStoreConfig) { c.Partitions = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Write(ctx, "c", []connect.OffsetEntry{{Partition: Partition{"f": "a"}, Offset: Offset{"pos": 1}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context = %v", err)
	}
}

func TestKafkaStoreConfigValidate(t *testing.T) {
	for _, c := range []KafkaStoreConfig{
		{Topic: "t"},
		{Brokers: []string{"x:1"}},
		{Brokers: []string{"x:1"}, Topic: "t", Partitions: -2},
		{Brokers: []string{"x:1"}, Topic: "t", ReplicationFactor: -2},
		{Brokers: []string{"x:1"}, Topic: "t", ReadTimeout: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
		if _, err := NewKafkaStore(context.Background(), c); err == nil {
			t.Errorf("NewKafkaStore(%+v) succeeded", c)
		}
	}
	if err := (KafkaStoreConfig{Brokers: []string{"x:1"}, Topic: "t"}).Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
	old := sarama.NewConfig()
	old.Version = sarama.V0_10_2_0
	if _, err := kafkaStoreSaramaConfig(old); err == nil {
		t.Error("a sarama Version below 0.11 was accepted")
	}
}

// Kafka's own expectations for Utils.murmur2 (clients UtilsTest.testMurmur2).
var kafkaMurmur2 = map[string]int32{
	"21":                         -973932308,
	"foobar":                     -790332482,
	"a-little-bit-long-string":   -985981536,
	"a-little-bit-longer-string": -1486304829,
	"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
	"abc": 479470107,
}

// TestMurmur2Partitioner checks that the store partitions records like
// Kafka's Java producer: toPositive(murmur2(key)) % partitions.
func TestMurmur2Partitioner(t *testing.T) {
	cfg, err := kafkaStoreSaramaConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	part := cfg.Producer.Partitioner("t")
	for key, h := range kafkaMurmur2 {
		positive := h & 0x7fffffff // Kafka's Utils.toPositive
		for _, n := range []int32{math.MaxInt32, 25, 7} {
			got, err := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			if want := positive % n; got != want {
				t.Errorf("key %q, %d partitions: partition %d, want %d (murmur2 %d)", key, n, got, want, h)
			}
		}
	}
	if !part.RequiresConsistency() {
		t.Error("the partitioner does not require consistency")
	}
}

// TestKafkaStoreOldSluiceNonBMPKey: an offset an older Sluice wrote with a
// character outside the BMP as raw UTF-8 in the key (EncodeKey now writes
// Kafka Connect's surrogate-pair escapes) is found and rewritten under the
// key bytes in the topic, in the same topic partition.
func TestKafkaStoreOldSluiceNonBMPKey(t *testing.T) {
	ctx := context.Background()
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 5, compactPolicy)
	const old = "[\"src\",{\"file\":\"a😀b\"}]"
	parts := produceRaw(t, brokers, topic, []byte(old), []byte(`{"position":42}`))

	s := openKafkaStore(t, brokers, topic, nil)
	p := Partition{"file": "a😀b"}
	if o, err := s.Get(ctx, "src", p); err != nil || !reflect.DeepEqual(o, Offset{"position": int64(42)}) {
		t.Fatalf("Get = %#v, %v", o, err)
	}
	if err := s.Write(ctx, "src", []connect.OffsetEntry{{Partition: p, Offset: Offset{"position": 43}}}); err != nil {
		t.Fatal(err)
	}
	raw := readRaw(t, brokers, topic)
	r := lastRaw(t, raw, old)
	if string(r.value) != `{"position":43}` || r.partition != parts[0] {
		t.Fatalf("rewritten record = %+v, want value {\"position\":43} in partition %d", r, parts[0])
	}
	for _, rr := range raw {
		if rr.key != old {
			t.Fatalf("a record was written under other key bytes than the old Sluice's: %+v", rr)
		}
	}
}
