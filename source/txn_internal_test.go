package source

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// failAfterOne returns one batch, then fails.
type failAfterOne struct {
	topic string
	polls int
}

var errTaskBroke = errors.New("task broke")

func (f *failAfterOne) Start(context.Context, TaskContext) error { return nil }
func (f *failAfterOne) Stop(context.Context) error               { return nil }
func (f *failAfterOne) Poll(context.Context) ([]connect.Record, error) {
	f.polls++
	if f.polls > 1 {
		return nil, errTaskBroke
	}
	out := make([]connect.Record, 10)
	for i := range out {
		out[i] = connect.Record{Topic: f.topic, Value: []byte(strconv.Itoa(i)), ValueSchema: connect.OptionalBytesSchema,
			SourcePartition: map[string]any{"p": "0"}, SourceOffset: map[string]any{"i": i}}
	}
	return out, nil
}

// TestEOSFailureDuringAsyncCommit: a task that fails while its previous
// transaction commits in the background (transaction.boundary=poll) keeps
// that transaction: its records are visible, it is counted as committed,
// and nothing is aborted.
func TestEOSFailureDuringAsyncCommit(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	testHookBeforeCommit = func() { time.Sleep(300 * time.Millisecond) } // still committing when Poll fails
	defer func() { testHookBeforeCommit = nil }()
	p, err := New(Config{
		Name: "eos-fail-async", Brokers: brokers, Sarama: kafkatest.SaramaConfig(t),
		NewTask:       func() Task { return &failAfterOne{topic: topic} },
		OffsetStorage: offsets.Storage{Topic: topic + "-offsets", Partitions: 1, ReplicationFactor: 1},
		ExactlyOnce:   ExactlyOnce{Enabled: true, GroupID: "g"},
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A task failure leaves the pipeline running (Kafka Connect): stop it
	// once the task FAILED; Run then returns the task's failure.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if ts := p.PipelineStatus().Tasks; len(ts) == 1 && ts[0].State == connect.StateFailed {
				cancel()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := p.Run(ctx); !errors.Is(err, errTaskBroke) {
		t.Fatalf("Run: %v; want the task's failure", err)
	}
	st := p.PipelineStatus().Tasks[0]
	if st.Transactions != 1 || st.TransactionAborts != 0 {
		t.Errorf("%d transactions committed, %d aborted; want 1 and 0 (the batch committed while the task failed)", st.Transactions, st.TransactionAborts)
	}
	if n := len(kafkatest.ReadCommitted(t, brokers, topic)); n != 10 {
		t.Errorf("read_committed sees %d records; want the committed batch's 10", n)
	}
}
