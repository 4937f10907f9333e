package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestStatusLogTopics: active topics are written with Kafka Connect's key
// and value, read back by every reader (also records Kafka Connect
// wrote), and tombstones remove them and count as deletions.
func TestStatusLogTopics(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	a := logsOpenStatusLog(t, addrs, topic)
	b := logsOpenStatusLog(t, addrs, topic)
	if got := a.Topics("c"); got == nil || len(got) != 0 {
		t.Fatalf("Topics before any = %#v", got)
	}
	a.PutTopic("c", "orders", 2, time.UnixMilli(1700000000123))
	a.PutTopic("c", "payments", 0, time.UnixMilli(1700000000124))
	a.PutTopic("other", "orders", 0, time.UnixMilli(1))
	logsProduceRaw(t, addrs, topic,
		[2]string{"status-topic-refunds:connector-c", `{"topic":{"name":"refunds","connector":"c","task":1,"discoverTimestamp":5}}`},
		[2]string{"status-topic-bad", `{"topic":{}}`},
	)
	flushAndRead(t, a, a, b)
	for name, l := range map[string]*StatusLog{"a": a, "b": b} {
		got := l.Topics("c")
		slices.Sort(got)
		if !slices.Equal(got, []string{"orders", "payments", "refunds"}) {
			t.Errorf("%s: Topics(c) = %v", name, got)
		}
		if got := l.Topics("other"); !slices.Equal(got, []string{"orders"}) {
			t.Errorf("%s: Topics(other) = %v", name, got)
		}
	}
	// The bytes are Kafka Connect's TopicStatus.
	want := `{"topic":{"name":"orders","connector":"c","task":2,"discoverTimestamp":1700000000123}}`
	found := false
	for _, m := range logsReadRaw(t, addrs, topic) {
		if m[0] == "status-topic-orders:connector-c" {
			found = m[1] == want
			if !found {
				t.Errorf("value %s, want %s", m[1], want)
			}
		}
	}
	if !found {
		t.Error("no status-topic-orders:connector-c record")
	}
	before := b.TopicDeletions("c")
	a.DeleteTopic("c", "orders")
	a.DeleteTopic("c", "refunds")
	flushAndRead(t, a, a, b)
	if got := b.Topics("c"); !slices.Equal(got, []string{"payments"}) {
		t.Errorf("after tombstones: %v", got)
	}
	if got := b.TopicDeletions("c"); got != before+2 {
		t.Errorf("TopicDeletions = %d, want %d", got, before+2)
	}
}

// logsReadRaw returns every record of topic as [key, value] ("<null>" for
// a tombstone), partition by partition.
func logsReadRaw(t *testing.T, addrs []string, topic string) [][2]string {
	t.Helper()
	client, err := sarama.NewClient(addrs, kafkatest.SaramaConfig(t))
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
	var out [][2]string
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				v := "<null>"
				if m.Value != nil {
					v = string(m.Value)
				}
				out = append(out, [2]string{string(m.Key), v})
				done = m.Offset+1 >= end
			case <-time.After(30 * time.Second):
				t.Fatalf("reading %s/%d", topic, p)
			}
		}
		pc.Close()
	}
	return out
}
