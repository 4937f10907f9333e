package sink_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// keepTask keeps every value it is given, uncopied, as a task that holds
// records past Put may (the ByteArray converter hands the consumed bytes
// over without a copy).
type keepTask struct {
	mu   sync.Mutex
	vals [][]byte
}

func (k *keepTask) Start(context.Context, sink.TaskContext) error { return nil }
func (k *keepTask) Stop(context.Context) error                    { return nil }
func (k *keepTask) Put(_ context.Context, recs []connect.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range recs {
		k.vals = append(k.vals, r.Value.([]byte))
	}
	return nil
}

func (k *keepTask) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.vals)
}

// The values a sink task receives through the ByteArray converter are the
// consumed bytes themselves, uncopied: that is only safe while the Kafka
// client never writes into a buffer it has handed out. This guards it for
// every compression codec (whose decoders use pooled buffers) and for
// uncompressed batches: values kept from the first fetches still read as
// produced after every later fetch, and appending to one does not write into
// the next.
func TestKeptByteArrayValuesSurviveLaterFetches(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	codecs := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP, sarama.CompressionSnappy,
		sarama.CompressionLZ4, sarama.CompressionZSTD}
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	const perCodec = 4000
	var want []string
	for _, codec := range codecs {
		cfg := kafkatest.SaramaConfig(t)
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Return.Successes = true
		cfg.Producer.Compression = codec
		cfg.Producer.Flush.Messages = 500
		cfg.Producer.Flush.Frequency = 5 * time.Millisecond
		prod, err := sarama.NewSyncProducer(brokers, cfg)
		if err != nil {
			t.Fatal(err)
		}
		msgs := make([]*sarama.ProducerMessage, 0, perCodec)
		for i := range perCodec {
			v := fmt.Sprintf("%s-%05d-%s", codec, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
			want = append(want, v)
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)})
		}
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("produce (%s): %v", codec, err)
		}
		prod.Close()
	}
	task := &keepTask{}
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.Sarama.Consumer.Fetch.Default = 16 << 10 // many fetches
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "all records", func() bool { return task.len() >= len(want) })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	task.mu.Lock()
	defer task.mu.Unlock()
	if len(task.vals) != len(want) {
		t.Fatalf("%d values, want %d", len(task.vals), len(want))
	}
	for _, v := range task.vals {
		// Must not write into the next record's bytes (the slices are
		// capped): 16 bytes reach past the next record's header fields.
		if grown := append(v, "!!!!!!!!!!!!!!!!"...); len(grown) != len(v)+16 {
			t.Fatal("append")
		}
	}
	for i, v := range task.vals {
		if string(v) != want[i] {
			t.Fatalf("value %d reads %q after later fetches, produced as %q", i, v, want[i])
		}
	}
}
