package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/source"
)

// orderSchema is the value schema of the generated orders.
var orderSchema = connect.StructBuilder().Name("com.acme.Order").
	Field("id", connect.Int64Schema).
	Field("customer", connect.StringSchema).
	Field("amount", connect.DecimalSchema(2)).
	Field("placed", connect.TimestampSchema).
	MustBuild()

var customers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}

// testEvery marks every testEvery-th order as a test order: it carries a
// "test" header, which the sink's Filter drops.
const testEvery = 50

// ordersTask generates orders with ids 0, 1, 2, … up to total (forever when
// total < 0), at most rate records per second (0: as fast as the pipeline
// takes them). Its source partition is {"generator": "orders"} and each
// record's offset {"seq": id}, so a restarted task resumes after the last
// committed order.
type ordersTask struct {
	topic string
	total int64
	rate  int

	next    int64
	tick    *time.Ticker // paces batches when rate > 0
	perTick int
}

func (t *ordersTask) Start(ctx context.Context, tc source.TaskContext) error {
	off, err := tc.Offsets().Offset(ctx, map[string]any{"generator": "orders"})
	if err != nil {
		return err
	}
	if off != nil {
		seq, ok := off["seq"].(int64)
		if !ok {
			return fmt.Errorf("committed offset %v has no integer seq", off)
		}
		t.next = seq + 1
	}
	if t.rate > 0 {
		t.tick = time.NewTicker(100 * time.Millisecond)
		t.perTick = max(1, t.rate/10)
	}
	return nil
}

func (t *ordersTask) Poll(ctx context.Context) ([]connect.Record, error) {
	n := int64(500)
	if t.total >= 0 {
		n = min(n, t.total-t.next)
	}
	if n <= 0 { // all generated: idle until stopped
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return nil, nil
	}
	if t.tick != nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.tick.C:
		}
		n = min(n, int64(t.perTick))
	}
	batch := make([]connect.Record, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range batch {
		id := t.next
		order := connect.NewStruct(orderSchema).
			MustPut("id", id).
			MustPut("customer", customers[id%int64(len(customers))]).
			MustPut("amount", connect.NewDecimal(500+id*7919%100000, 2)). // 5.00 … 1004.99
			MustPut("placed", now)
		batch[i] = connect.Record{
			Topic:           t.topic,
			ValueSchema:     orderSchema,
			Value:           order,
			Timestamp:       now,
			SourcePartition: map[string]any{"generator": "orders"},
			SourceOffset:    map[string]any{"seq": id},
		}
		if (id+1)%testEvery == 0 {
			batch[i].Headers.AddString("test", "true")
		}
		t.next++
	}
	return batch, nil
}

func (t *ordersTask) Stop(context.Context) error {
	if t.tick != nil {
		t.tick.Stop()
	}
	return nil
}

// legacyPayloads are what an old system writes into the orders topic: none
// of it is a JSON envelope, so the sink's JSON converter rejects each one.
var legacyPayloads = []string{
	`{"id": 17, "amount": `,                       // truncated
	`{"id":18,"customer":"bob","amount":"12.50"}`, // plain JSON, no {"schema","payload"} envelope
	`19;carol;12.50`,                              // CSV
	`<order id="20"/>`,                            // XML
	`{"schema":{"type":"struct"},"payload":}`,     // broken envelope
}

// legacyTask writes legacyPayloads once, as raw bytes (the pipeline's value
// converter is the default ByteArray converter), then idles.
type legacyTask struct {
	topic string
	next  int64
}

func (t *legacyTask) Start(ctx context.Context, tc source.TaskContext) error {
	off, err := tc.Offsets().Offset(ctx, map[string]any{"feed": "legacy"})
	if err != nil {
		return err
	}
	if line, ok := off["line"].(int64); ok {
		t.next = line + 1
	}
	return nil
}

func (t *legacyTask) Poll(ctx context.Context) ([]connect.Record, error) {
	var batch []connect.Record
	for ; t.next < int64(len(legacyPayloads)); t.next++ {
		batch = append(batch, connect.Record{
			Topic:           t.topic,
			Value:           []byte(legacyPayloads[t.next]),
			SourcePartition: map[string]any{"feed": "legacy"},
			SourceOffset:    map[string]any{"line": t.next},
		})
	}
	if batch == nil {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return batch, nil
}

func (t *legacyTask) Stop(context.Context) error { return nil }
