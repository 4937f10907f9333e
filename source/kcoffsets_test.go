package source_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// TestResumesFromKafkaConnectOffsetsTopic pre-fills an offsets topic with the
// bytes Kafka Connect writes (a multi-key source partition in non-sorted
// member order, and a partition reset by a tombstone), runs a source
// pipeline on it, and checks that the task resumed from those offsets and
// that the new offset was written under the original key bytes.
func TestResumesFromKafkaConnectOffsetsTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	offsetsTopic := kafkatest.Topic(t) + "-offsets"
	compact := "compact"
	kafkatest.CreateTopic(t, brokers, offsetsTopic, 1, map[string]*string{"cleanup.policy": &compact})
	keyT0 := []byte(`["kc-src",{"table":"t0","db":"d"}]`) // Java HashMap order, not sorted
	keyT1 := []byte(`["kc-src",{"table":"t1","db":"d"}]`)
	raw, err := sarama.NewSyncProducer(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	err = raw.SendMessages([]*sarama.ProducerMessage{
		{Topic: offsetsTopic, Key: sarama.ByteEncoder(keyT0), Value: sarama.ByteEncoder(`{"seq":41}`)},
		{Topic: offsetsTopic, Key: sarama.ByteEncoder(keyT1), Value: sarama.ByteEncoder(`{"seq":9}`)},
		{Topic: offsetsTopic, Key: sarama.ByteEncoder(keyT1)}, // tombstone: t1 was reset
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	store, err := offsets.NewKafkaStore(context.Background(), offsets.KafkaStoreConfig{
		Brokers: brokers, Topic: offsetsTopic, Sarama: kafkatest.SaramaConfig(t), ReplicationFactor: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const perPart = 60
	task := &genTask{topic: topic, parts: 2, perPart: perPart, batch: 7,
		partition: func(i int) map[string]any { return map[string]any{"db": "d", "table": fmt.Sprintf("t%d", i)} }}
	cfg := baseConfig(t, brokers, "kc-src", task)
	cfg.OffsetStore = store
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	want := int64((perPart - 42) + perPart)
	waitFor(t, "remaining records acked", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == want
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := seqs(t, readAll(t, brokers, topic))
	if s := got["p0"]; len(s) != perPart-42 || s[0] != 42 {
		t.Fatalf("t0 resumed wrongly: %d records starting at %v; want %d starting at 42 (offset 41 from Kafka Connect's bytes)", len(s), s[:min(len(s), 1)], perPart-42)
	}
	if s := got["p1"]; len(s) != perPart || s[0] != 0 {
		t.Fatalf("t1 (reset by tombstone) should start at 0: %d records starting at %v", len(s), s[:min(len(s), 1)])
	}

	// The offsets topic's last record for t0 carries the original key bytes.
	var lastT0 *sarama.ConsumerMessage
	for _, m := range readAll(t, brokers, offsetsTopic) {
		if bytes.Contains(m.Key, []byte(`"t0"`)) {
			lastT0 = m
		}
	}
	if lastT0 == nil || !bytes.Equal(lastT0.Key, keyT0) {
		t.Fatalf("new t0 offset written under key %q, want the original bytes %q", lastT0.Key, keyT0)
	}
	if string(lastT0.Value) != fmt.Sprintf(`{"seq":%d}`, perPart-1) {
		t.Fatalf("new t0 offset value %q", lastT0.Value)
	}
}
