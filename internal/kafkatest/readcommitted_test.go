package kafkatest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// txnProducer returns a transactional sarama producer with its own
// transactional id, closed by t.Cleanup.
func txnProducer(t *testing.T, brokers []string) sarama.SyncProducer {
	t.Helper()
	cfg := SaramaConfig(t)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Transaction.ID = Topic(t)
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// msg is a record with value v for partition p of topic.
func msg(topic string, p int32, v string) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder(v)}
}

// begin begins a transaction on p and sends msgs in it.
func begin(t *testing.T, p sarama.SyncProducer, msgs ...*sarama.ProducerMessage) {
	t.Helper()
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sending in the transaction: %v", err)
	}
}

// end commits (commit) or aborts p's transaction.
func end(t *testing.T, p sarama.SyncProducer, commit bool) {
	t.Helper()
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

// values renders msgs as "partition:value" in order.
func values(msgs []*sarama.ConsumerMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d:%s", m.Partition, m.Value)
	}
	return out
}

// openTxnTopic builds, on a new two-partition topic, the log of design
// 7.4 plus aborted transactions, and leaves transaction X open:
//
//	p0: c0 c1 (committed) | a0 (aborted) | x0 (X, open) | c2 (committed after X opened)
//	p1: a1 (aborted) | c3 (committed) | a2 (aborted, last)
//
// It returns the topic and X's producer.
func openTxnTopic(t *testing.T, brokers []string) (string, sarama.SyncProducer) {
	t.Helper()
	topic := Topic(t)
	CreateTopic(t, brokers, topic, 2, nil)
	w, x := txnProducer(t, brokers), txnProducer(t, brokers)
	begin(t, w, msg(topic, 0, "c0"), msg(topic, 0, "c1"))
	end(t, w, true)
	begin(t, w, msg(topic, 0, "a0"), msg(topic, 1, "a1"))
	end(t, w, false)
	begin(t, x, msg(topic, 0, "x0"))
	begin(t, w, msg(topic, 0, "c2"), msg(topic, 1, "c3"))
	end(t, w, true)
	begin(t, w, msg(topic, 1, "a2"))
	end(t, w, false)
	return topic, x
}

// TestReadCommitted: ReadCommitted returns the committed records, not the
// aborted ones, and waits for a transaction open at the call: X's record
// and the record committed after X opened (beyond the last stable offset
// at the call) are read once X commits, and only the latter once X aborts.
// Trailing markers and an aborted batch at the end of a partition do not
// keep it waiting. ReadUncommitted returns every data record at once.
func TestReadCommitted(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			brokers := Brokers(t)
			topic, x := openTxnTopic(t, brokers)

			uncommitted := values(ReadUncommitted(t, brokers, topic))
			if want := []string{"0:c0", "0:c1", "0:a0", "0:x0", "0:c2", "1:a1", "1:c3", "1:a2"}; !slices.Equal(uncommitted, want) {
				t.Errorf("ReadUncommitted = %q, want %q", uncommitted, want)
			}

			sawOpen := false
			got := values(read(t, brokers, topic, readOpts{isolation: sarama.ReadCommitted, onOpen: func() {
				sawOpen = true
				end(t, x, commit) // X ends while ReadCommitted waits for it
			}}))
			if !sawOpen {
				t.Error("the read did not wait for the open transaction")
			}
			want := []string{"0:c0", "0:c1", "0:x0", "0:c2", "1:c3"}
			if !commit {
				want = slices.DeleteFunc(want, func(s string) bool { return s == "0:x0" })
			}
			if !slices.Equal(got, want) {
				t.Errorf("read_committed = %q, want %q", got, want)
			}
			// Once nothing is open, the public function reads the same.
			if again := values(ReadCommitted(t, brokers, topic)); !slices.Equal(again, want) {
				t.Errorf("ReadCommitted = %q, want %q", again, want)
			}
		})
	}
}

// TestReadCommittedEmpty: a topic without records, and one whose only
// records are aborted, read as empty without waiting.
func TestReadCommittedEmpty(t *testing.T) {
	brokers := Brokers(t)
	topic := Topic(t)
	CreateTopic(t, brokers, topic, 2, nil)
	if got := ReadCommitted(t, brokers, topic); len(got) != 0 {
		t.Errorf("empty topic: %q", values(got))
	}
	w := txnProducer(t, brokers)
	begin(t, w, msg(topic, 0, "a0"), msg(topic, 1, "a1"))
	end(t, w, false)
	if got := ReadCommitted(t, brokers, topic); len(got) != 0 {
		t.Errorf("aborted records only: %q", values(got))
	}
	if got := values(ReadUncommitted(t, brokers, topic)); !slices.Equal(got, []string{"0:a0", "1:a1"}) {
		t.Errorf("ReadUncommitted: %q", got)
	}
}

// fatalTB records the first Fatalf and ends the calling goroutine, as
// testing.T does, without failing the test.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// TestReadCommittedOpenTxnTimesOut: a transaction that stays open fails the
// read after the wait, with a message naming the partition and both
// offsets; nothing is returned.
func TestReadCommittedOpenTxnTimesOut(t *testing.T) {
	brokers := Brokers(t)
	topic, x := openTxnTopic(t, brokers)
	defer end(t, x, false)

	f := &fatalTB{TB: t}
	done := make(chan []*sarama.ConsumerMessage)
	go func() {
		var got []*sarama.ConsumerMessage
		defer func() { done <- got }()
		got = read(f, brokers, topic, readOpts{isolation: sarama.ReadCommitted, stableWait: time.Second})
	}()
	if got := <-done; got != nil {
		t.Errorf("returned %q while a transaction was open", values(got))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, want := range []string{"read_committed", topic, "partition 0", "high watermark 8", "did not end within 1s"} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("failure %q does not contain %q", f.msg, want)
		}
	}
	// X's record is at offset 5, or at 4 when Apache Kafka appended it
	// before the marker of the aborted transaction before it (EndTxn
	// returns before the coordinator writes the markers).
	if !strings.Contains(f.msg, "last stable offset is 5,") && !strings.Contains(f.msg, "last stable offset is 4,") {
		t.Errorf("failure %q does not give X's offset (4 or 5) as the last stable offset", f.msg)
	}
}
