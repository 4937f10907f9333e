package source_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// TestStopWhileDLQRefusesWrites: a record the broker refuses for good
// (MESSAGE_TOO_LARGE) is tolerated and reported to the dead-letter queue,
// but the queue's broker keeps refusing the write (NOT_LEADER_OR_FOLLOWER,
// retriable: the report keeps retrying). Stopping the pipeline then returns
// within the shutdown timeout instead of waiting for the broker, and the
// record's offset is not committed: it is polled again after a restart.
func TestStopWhileDLQRefusesWrites(t *testing.T) {
	const topic, dlq = "dlq-stop", "dlq-stop-dlq"
	maxBytes := "2048"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	kafkatest.CreateTopic(t, brokers, topic, 2, map[string]*string{"max.message.bytes": &maxBytes})
	kafkatest.CreateTopic(t, brokers, dlq, 1, nil)
	// Every produce request that writes to the DLQ topic is refused.
	c.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) != 1 || pr.Topics[0].Topic != dlq {
			return nil, nil, false
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = dlq
		for _, p := range pr.Topics[0].Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = 6 // NOT_LEADER_OR_FOLLOWER
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})

	const parts, perPart, big = 2, 300, 120
	task := &bigRecordTask{genTask: &genTask{topic: topic, parts: parts, perPart: perPart, batch: 10}, big: big}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "dlq-stop", task)
	cfg.OffsetStore = store
	cfg.ShutdownTimeout = time.Second
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQReplicationFactor: 1}
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "the DLQ report to retry", 60*time.Second, func() bool {
		return strings.Contains(logs.String(), "dead-letter queue unavailable")
	})
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s of cancellation (shutdown timeout 1 s): held by a DLQ report")
	}
	if got := committed(t, store, "dlq-stop", parts, task.part); got[0] >= big {
		t.Errorf("p0 committed seq %d: past the record whose DLQ report never completed (seq %d)", got[0], big)
	}
}
