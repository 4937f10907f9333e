package kfetch_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// envCleaner enables TestCleanerEmptyBatch, which waits up to two minutes
// for Apache Kafka's log cleaner.
const envCleaner = "SLUICE_KFETCH_CLEANER"

// TestCleanerEmptyBatch shows delivery continues past a batch the log cleaner emptied but kept at a segment's end (sarama's decoder drops it); opt-in, external Kafka only.
func TestCleanerEmptyBatch(t *testing.T) {
	if os.Getenv(envCleaner) == "" || !kafkatest.External() {
		t.Skipf("needs %s=1 and an external Apache Kafka: it waits for the log cleaner (log.cleaner.backoff.ms, 15 s, twice)", envCleaner)
	}
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	conf := func(s string) *string { return &s }
	kafkatest.CreateTopic(t, brokers, topic, 1, map[string]*string{
		"cleanup.policy":            conf("compact"),
		"segment.ms":                conf("100"),
		"segment.bytes":             conf("1048576"),
		"min.cleanable.dirty.ratio": conf("0.0001"),
		"min.compaction.lag.ms":     conf("0"),
		"delete.retention.ms":       conf("0"),
	})
	// 1 MB of kept records, then an idempotent producer's tombstone: the
	// end of the first segment, which no cleaning merges with the next
	// (each later segment starts with 64 kB: their sizes add up past
	// segment.bytes).
	var filler []*rec
	for i := range 16 {
		filler = append(filler, keyed(0, fmt.Sprint("f", i), strings.Repeat("x", 64_000))...)
	}
	produce(t, brokers, topic, nil, filler...)
	tomb := &rec{p: 0, key: []byte("gone"), ts: time.Now().Truncate(time.Millisecond)}
	produce(t, brokers, topic, func(cfg *sarama.Config) {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}, tomb)
	t.Logf("filler 0..%d, tombstone at %d", filler[len(filler)-1].off, tomb.off)

	client := newClient(t, brokers, nil)
	leader, err := client.Leader(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	// emptied reports whether a fetch at the tombstone's offset returns
	// no record (the batch emptied by the cleaner, or gone).
	emptied := func() bool {
		req := &sarama.FetchRequest{MinBytes: 1, MaxWaitTime: 10, Version: 12, MaxBytes: 1 << 20}
		req.AddBlock(topic, 0, tomb.off, 1<<20, -1)
		resp, err := leader.Fetch(req)
		if err != nil {
			t.Fatal(err)
		}
		b := resp.GetBlock(topic, 0)
		return b != nil && len(b.RecordsSet) == 0 && b.HighWaterMarkOffset > tomb.off
	}
	var later []*rec
	deadline := time.Now().Add(2 * time.Minute)
	for !emptied() {
		if time.Now().After(deadline) {
			t.Fatal("the cleaner did not empty the tombstone's batch within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond) // past segment.ms: the next record rolls a segment
		r := keyed(0, fmt.Sprint("later", len(later)), strings.Repeat("y", 64_000))
		produce(t, brokers, topic, nil, r...)
		later = append(later, r...)
		time.Sleep(2 * time.Second)
	}
	t.Logf("the tombstone's batch is empty in a fetch; %d later records", len(later))
	if got, want := len(kafkatest.ReadUncommitted(t, brokers, topic)), len(filler)+len(later); got != want {
		t.Fatalf("sarama's consumer reads %d records, want %d", got, want)
	}

	f, log := newFetcher(t, client)
	c := newCollector(topic)
	subscribe(t, f, topic, 0, sarama.OffsetOldest, false, c.handler(0))
	last := later[len(later)-1].off
	deadline = time.Now().Add(20 * time.Second)
	for !c.has(0, last) {
		if time.Now().After(deadline) {
			t.Fatalf("stuck: delivered %s, want up to %d (the batch at %d was emptied by the cleaner)\n%s", c.describe(0), last, tomb.off, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.check(t)
}
