package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/converters/avro"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

var orderSchema = connect.StructBuilder().Name("com.acme.Order").
	Field("id", connect.Int64Schema).
	Field("amount", connect.DecimalSchema(2)).
	Field("placed", connect.TimestampSchema).
	Field("note", connect.OptionalStringSchema).
	MustBuild()

// orderTask emits n orders once.
type orderTask struct {
	topic string
	n     int
	done  bool
}

func (o *orderTask) Start(context.Context, source.TaskContext) error { return nil }
func (o *orderTask) Stop(context.Context) error                      { return nil }
func (o *orderTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if o.done {
		<-ctx.Done()
		return nil, nil
	}
	o.done = true
	out := make([]connect.Record, o.n)
	for i := range out {
		v := connect.NewStruct(orderSchema).
			MustPut("id", int64(i)).
			MustPut("amount", connect.NewDecimal(int64(i)*100+99, 2)).
			MustPut("placed", time.UnixMilli(1700000000000+int64(i)).UTC())
		if i%2 == 0 {
			v.MustPut("note", "gift")
		}
		out[i] = connect.Record{Topic: o.topic, KeySchema: connect.Int64Schema, Key: int64(i), ValueSchema: orderSchema, Value: v}
	}
	return out, nil
}

type structSink struct {
	mu  sync.Mutex
	got []connect.Record
}

func (s *structSink) Start(context.Context, sink.TaskContext) error { return nil }
func (s *structSink) Stop(context.Context) error                    { return nil }
func (s *structSink) Put(_ context.Context, recs []connect.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, recs...)
	return nil
}

func (s *structSink) records() []connect.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connect.Record(nil), s.got...)
}

// TestAvroSourceToSink moves Struct records through Kafka with the Avro
// converter (Confluent wire format, an in-process Schema Registry) on both
// ends and checks they arrive equal.
func TestAvroSourceToSink(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	reg := srfake.New()
	defer reg.Close()
	newAvro := func(isKey bool) converters.Converter {
		c, err := avro.New(avro.Config{URLs: []string{reg.URL()}}, isKey)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const n = 200
	src, err := source.New(source.Config{
		Name: "avro-src", Brokers: brokers, Sarama: kafkatest.SaramaConfig(t), Logger: quiet(),
		NewTask:      func() source.Task { return &orderTask{topic: topic, n: n} },
		KeyConverter: newAvro(true), ValueConverter: newAvro(false),
		OffsetStore: offsets.NewMemoryStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := &structSink{}
	snk, err := sink.New(sink.Config{
		Name: "avro-sink", Brokers: brokers, Topics: []string{topic}, Sarama: kafkatest.SaramaConfig(t), Logger: quiet(),
		NewTask:      func() sink.Task { return got },
		KeyConverter: newAvro(true), ValueConverter: newAvro(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range []connect.Pipeline{src, snk} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				t.Errorf("%s: %v", p.Name(), err)
			}
		}()
	}
	eventually(t, "all orders at the sink", 60*time.Second, func() bool { return len(got.records()) == n })
	cancel()
	wg.Wait()
	want := (&orderTask{topic: topic, n: n})
	wantRecs, _ := want.Poll(context.Background())
	for i, r := range got.records() {
		w := wantRecs[i]
		if r.Key != w.Key {
			t.Fatalf("record %d key %v, want %v", i, r.Key, w.Key)
		}
		st, ok := r.Value.(*connect.Struct)
		if !ok {
			t.Fatalf("record %d value %T", i, r.Value)
		}
		for _, f := range []string{"id", "amount", "placed", "note"} {
			a, _ := st.Get(f)
			b, _ := w.Value.(*connect.Struct).Get(f)
			if !connect.ValuesEqual(a, b) {
				t.Fatalf("record %d field %s: %v, want %v", i, f, a, b)
			}
		}
		if r.ValueSchema.Name != "com.acme.Order" {
			t.Fatalf("schema name %q", r.ValueSchema.Name)
		}
	}
}
