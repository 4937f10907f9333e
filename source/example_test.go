package source_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/source"
)

// counter is a source task that emits the numbers from where its committed
// offset says it stopped up to limit, one source partition ("counter":
// "main") whose offset is the last number sent.
type counter struct {
	next, limit int64
	done        context.CancelFunc
}

// counterPartition is the task's one source partition: one map shared by
// all its records, which the pipeline then checks once.
var counterPartition = map[string]any{"counter": "main"}

func (c *counter) Start(ctx context.Context, tc source.TaskContext) error {
	off, err := tc.Offsets().Offset(ctx, counterPartition)
	if err != nil {
		return err
	}
	if off != nil {
		c.next = off["n"].(int64) + 1 // integers read back as int64
	}
	fmt.Println("starting at", c.next)
	return nil
}

func (c *counter) Poll(ctx context.Context) ([]connect.Record, error) {
	if c.next > c.limit { // nothing new: wait a little, as a real source would
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
		return nil, nil
	}
	var batch []connect.Record
	for ; c.next <= c.limit; c.next++ {
		batch = append(batch, connect.Record{
			Topic:           "numbers",
			Value:           []byte(fmt.Sprint(c.next)),
			SourcePartition: counterPartition,
			SourceOffset:    map[string]any{"n": c.next},
		})
	}
	return batch, nil
}

// CommitRecord makes counter a source.RecordCommitter: it is called once the
// broker acknowledged each record; the example stops the pipeline when the
// last one is.
func (c *counter) CommitRecord(_ context.Context, rec *connect.Record, _ *source.RecordMetadata) error {
	if rec.SourceOffset["n"].(int64) == c.limit {
		c.done()
	}
	return nil
}

func (c *counter) Stop(context.Context) error { return nil }

// Run a source task twice: the second run resumes after the offset the
// first one committed. With no OffsetStore, offsets live in Kafka Connect's
// offsets topic connect-offsets on the pipeline's brokers, so a restarted
// process or a replica finds them.
func ExampleNew() {
	broker, err := sluicetest.StartBroker() // or your own Kafka's addresses
	if err != nil {
		panic(err)
	}
	defer broker.Close()

	for _, limit := range []int64{4, 9} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		p, err := source.New(source.Config{
			Name:    "numbers",
			Brokers: broker.Addrs(),
			NewTask: func() source.Task { return &counter{limit: limit, done: cancel} },
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			panic(err)
		}
		err = p.Run(ctx) // returns after a graceful stop and a final offset commit
		cancel()
		if err != nil {
			panic(err)
		}
		// What GET /connectors/numbers/offsets would show.
		entries, err := p.ListOffsets(context.Background())
		if err != nil {
			panic(err)
		}
		for _, e := range entries {
			fmt.Println("committed", e.Partition, e.Offset)
		}
	}
	// Output:
	// starting at 0
	// committed map[counter:main] map[n:4]
	// starting at 5
	// committed map[counter:main] map[n:9]
}
