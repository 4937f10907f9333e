package offsets

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka error codes the tests inject.
const (
	codeNotLeaderOrFollower int16 = 6
	codeRequestTimedOut     int16 = 7
	codeMessageTooLarge     int16 = 10
)

// produceFaults answers the cluster's Produce requests with injected error
// codes, one per request, while it has codes left; then the cluster
// handles them normally. Nothing of a failed request is stored.
type produceFaults struct {
	mu    sync.Mutex
	codes []int16
	seen  int // Produce requests received
}

func injectProduceFaults(c *kfake.Cluster, codes ...int16) *produceFaults {
	f := &produceFaults{codes: codes}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.seen++
		if len(f.codes) == 0 {
			return nil, nil, false
		}
		code := f.codes[0]
		f.codes = f.codes[1:]
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return f
}

// stop lets every later request through.
func (f *produceFaults) stop() {
	f.mu.Lock()
	f.codes = nil
	f.mu.Unlock()
}

// counts returns the Produce requests seen and the codes not yet used.
func (f *produceFaults) counts() (seen, left int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen, len(f.codes)
}

func repeated(code int16, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = code
	}
	return out
}

// retryStore opens a KafkaStore on a one-partition topic of a new kfake
// cluster, with sarama giving up after 2 attempts (so the store's own
// retries are what the tests see).
func retryStore(t *testing.T) (*kfake.Cluster, *KafkaStore, *logRecorder) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	logs := &logRecorder{}
	s := openKafkaStore(t, c.ListenAddrs(), "connect-offsets", func(cfg *KafkaStoreConfig) {
		cfg.Partitions = 1
		cfg.ReplicationFactor = 1
		cfg.Sarama.Producer.Retry.Max = 1
		cfg.Logger = slog.New(logs)
	})
	return c, s, logs
}

// offsetValues returns the values of each key of the offsets topic, in log
// order. (The records of different keys written by one Write may be stored
// in any order; those of one key keep the order of the Writes.)
func offsetValues(t *testing.T, brokers []string, topic string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range readRaw(t, brokers, topic) {
		out[r.key] = append(out[r.key], string(r.value))
	}
	return out
}

func checkOffsetValues(t *testing.T, got, want map[string][]string) {
	t.Helper()
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("offsets topic holds %q, want %q", got, want)
	}
}

func entriesAt(pos int) []connect.OffsetEntry {
	return []connect.OffsetEntry{
		{Partition: Partition{"f": "a"}, Offset: Offset{"pos": pos}},
		{Partition: Partition{"f": "b"}, Offset: Offset{"pos": pos + 1}},
	}
}

// TestKafkaStoreWriteRetriesRetriableErrors: produce errors that mean "not
// yet" (NOT_LEADER_OR_FOLLOWER, then REQUEST_TIMED_OUT), more than sarama's
// own retries absorb, do not fail a Write: it produces the records again
// until they are acknowledged, and each offset reaches the topic exactly
// once, in order.
func TestKafkaStoreWriteRetriesRetriableErrors(t *testing.T) {
	c, s, logs := retryStore(t)
	brokers := c.ListenAddrs()
	faults := injectProduceFaults(c, append(repeated(codeNotLeaderOrFollower, 3), repeated(codeRequestTimedOut, 3)...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Write(ctx, "conn", entriesAt(10)); err != nil {
		t.Fatalf("Write through retriable errors: %v", err)
	}
	if seen, left := faults.counts(); left != 0 || seen < 7 {
		t.Fatalf("%d produce requests, %d injected errors unused: the test did not exercise the retries", seen, left)
	}
	if !logs.has("offsets topic unavailable; retrying the write") {
		t.Errorf("sarama absorbed every injected error (the store did not retry): %q", logs.msgs)
	}
	if err := s.Write(ctx, "conn", entriesAt(20)); err != nil {
		t.Fatal(err)
	}
	checkOffsetValues(t, offsetValues(t, brokers, s.Topic()), map[string][]string{
		`["conn",{"f":"a"}]`: {`{"pos":10}`, `{"pos":20}`},
		`["conn",{"f":"b"}]`: {`{"pos":11}`, `{"pos":21}`},
	})
	if o, err := s.Get(ctx, "conn", Partition{"f": "b"}); err != nil || o["pos"] != int64(21) {
		t.Fatalf("Get = %v, %v; want pos 21", o, err)
	}
}

// countLogs returns how many messages h received that contain sub.
func countLogs(h *logRecorder, sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// TestKafkaStoreWriteBoundedByContext: while the broker keeps answering
// with retriable errors, Write retries until its context ends (a source
// runner's offset.flush.timeout.ms), then returns the context's error,
// with the last broker error once an attempt failed; nothing is stored or
// shown by Get, and the same offsets written again once the broker is back
// are stored once.
func TestKafkaStoreWriteBoundedByContext(t *testing.T) {
	c, s, logs := retryStore(t)
	brokers := c.ListenAddrs()
	if err := s.Write(context.Background(), "conn", entriesAt(1)); err != nil {
		t.Fatal(err)
	}
	faults := injectProduceFaults(c, repeated(codeNotLeaderOrFollower, 1_000_000)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := s.Write(ctx, "conn", entriesAt(5))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `connector "conn"`) {
		t.Fatalf("Write against a failing broker = %v, want the deadline's error, naming the connector", err)
	}

	// Cancelled once it retries: the error holds the broker's too.
	retries := countLogs(logs, "retrying the write")
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, "conn", entriesAt(5)) }()
	deadline := time.Now().Add(60 * time.Second)
	for countLogs(logs, "retrying the write") == retries {
		if time.Now().After(deadline) {
			t.Fatal("the Write did not retry within 60 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, sarama.ErrNotLeaderForPartition) {
		t.Fatalf("Write cancelled while retrying = %v, want the context's error and the last broker error", err)
	}

	if o, err := s.Get(context.Background(), "conn", Partition{"f": "a"}); err != nil || o["pos"] != int64(1) {
		t.Fatalf("Get after the failed Writes = %v, %v; want the last stored pos 1", o, err)
	}
	faults.stop()
	if err := s.Write(context.Background(), "conn", entriesAt(5)); err != nil {
		t.Fatalf("Write once the broker is back: %v", err)
	}
	checkOffsetValues(t, offsetValues(t, brokers, s.Topic()), map[string][]string{
		`["conn",{"f":"a"}]`: {`{"pos":1}`, `{"pos":5}`},
		`["conn",{"f":"b"}]`: {`{"pos":2}`, `{"pos":6}`},
	})
}

// TestKafkaStoreWriteNonRetriableError: an error retrying cannot fix
// (MESSAGE_TOO_LARGE) fails the Write at once, naming the partition;
// nothing is stored, memory keeps the last stored offset, and the next
// Write succeeds.
func TestKafkaStoreWriteNonRetriableError(t *testing.T) {
	c, s, logs := retryStore(t)
	a := Partition{"f": "a"}
	if err := s.Write(context.Background(), "conn", []connect.OffsetEntry{{Partition: a, Offset: Offset{"pos": 1}}}); err != nil {
		t.Fatal(err)
	}
	faults := injectProduceFaults(c, codeMessageTooLarge)
	err := s.Write(context.Background(), "conn", []connect.OffsetEntry{{Partition: a, Offset: Offset{"pos": 7}}})
	if !errors.Is(err, sarama.ErrMessageSizeTooLarge) || !strings.Contains(err.Error(), `partition {"f":"a"}`) {
		t.Fatalf("Write = %v, want sarama.ErrMessageSizeTooLarge naming the partition", err)
	}
	if seen, _ := faults.counts(); seen != 1 || logs.has("retrying") {
		t.Fatalf("%d produce requests for a non-retriable error, want 1 and no retry", seen)
	}
	if o, err := s.Get(context.Background(), "conn", a); err != nil || o["pos"] != int64(1) {
		t.Fatalf("Get after the failed Write = %v, %v; want pos 1", o, err)
	}
	if err := s.Write(context.Background(), "conn", []connect.OffsetEntry{{Partition: a, Offset: Offset{"pos": 8}}}); err != nil {
		t.Fatal(err)
	}
	checkOffsetValues(t, offsetValues(t, c.ListenAddrs(), s.Topic()), map[string][]string{
		`["conn",{"f":"a"}]`: {`{"pos":1}`, `{"pos":8}`},
	})
}
