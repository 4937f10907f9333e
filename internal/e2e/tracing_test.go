package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// collectTask records what Put received.
type collectTask struct {
	mu   sync.Mutex
	got  []string
	span []trace.SpanContext
}

func (c *collectTask) Start(context.Context, sink.TaskContext) error { return nil }
func (c *collectTask) Stop(context.Context) error                    { return nil }
func (c *collectTask) Put(ctx context.Context, recs []connect.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.got = append(c.got, string(r.Value.([]byte)))
	}
	c.span = append(c.span, trace.SpanContextFromContext(ctx))
	return nil
}

func (c *collectTask) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// TestTraceFollowsRecordFromSourceToSink: a record produced by a source
// pipeline and consumed by a sink pipeline (separate tracer providers, as in
// two processes) yields spans sharing one trace id.
func TestTraceFollowsRecordFromSourceToSink(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	srcExp, sinkExp := tracetest.NewInMemoryExporter(), tracetest.NewInMemoryExporter()
	srcTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(srcExp))
	sinkTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(sinkExp))
	defer srcTP.Shutdown(context.Background())
	defer sinkTP.Shutdown(context.Background())

	src, err := source.New(source.Config{
		Name: "trace-src", Brokers: brokers, Sarama: kafkatest.SaramaConfig(t), Logger: quiet(), TracerProvider: srcTP,
		NewTask:     func() source.Task { return &counterTask{} },
		Properties:  map[string]string{"topic": topic, "counter.records": "1"},
		OffsetStore: offsets.NewMemoryStore(),
	})
	if err != nil {
		t.Fatal(err)
	}
	collect := &collectTask{}
	snk, err := sink.New(sink.Config{
		Name: "trace-sink", Brokers: brokers, Topics: []string{topic}, Sarama: kafkatest.SaramaConfig(t), Logger: quiet(),
		TracerProvider: sinkTP, NewTask: func() sink.Task { return collect },
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
	eventually(t, "the record to reach the sink", 60*time.Second, func() bool { return collect.count() == 1 })
	cancel()
	wg.Wait()

	var srcTrace trace.TraceID
	for _, s := range srcExp.GetSpans() {
		if s.Name == "sluice.source.batch" {
			srcTrace = s.SpanContext.TraceID()
		}
	}
	if !srcTrace.IsValid() {
		t.Fatal("no source batch span")
	}
	var putSpans int
	for _, s := range sinkExp.GetSpans() {
		if s.Name != "sluice.sink.put" {
			continue
		}
		putSpans++
		if s.SpanContext.TraceID() != srcTrace {
			t.Fatalf("sink put span in trace %s, source span in trace %s", s.SpanContext.TraceID(), srcTrace)
		}
		if !s.Parent.IsRemote() {
			t.Errorf("put span's parent is not the remote source span: %+v", s.Parent)
		}
	}
	if putSpans != 1 {
		t.Fatalf("%d put spans, want 1", putSpans)
	}
	if sc := collect.span[0]; sc.TraceID() != srcTrace {
		t.Fatalf("Put's ctx carries trace %s, want %s (tasks can add child spans)", sc.TraceID(), srcTrace)
	}
}
