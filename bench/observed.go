package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// Contenders of the observability tests: the same pipeline under a
// runner.Runner, bare or observed.
const (
	cRunner         = "Sluice under a Runner"
	cRunnerObserved = "Sluice under a Runner, metrics + tracing"
	// cSaramaTraceparent is the bare producer of the source test sending
	// the same traceparent header on every record: what carrying the
	// header costs without Sluice. Per-record propagation is kept (issue
	// #16), so the source observability target is Sluice's own overhead
	// net of that cost (see report.netOfHeader).
	cSaramaTraceparent = "sarama, traceparent header on every record"
)

// observability is what the observed contender adds: the Runner's metrics
// through the OpenTelemetry Prometheus exporter, scraped (the text
// exposition rendered and discarded) every scrapeEvery, and an SDK
// TracerProvider with no exporter (spans are sampled, recorded and
// dropped; sources write the traceparent header on every record).
type observability struct {
	mp   *sdkmetric.MeterProvider
	tp   *sdktrace.TracerProvider
	stop func()
}

// observedReps is how many times -reps the observability tests repeat each
// contender: their differences are a few percent, within this machine's
// run-to-run noise, so they need more pairs than the other tests.
const observedReps = 3

// observedOptions is o with the observability tests' repetitions.
func observedOptions(o options) options {
	o.reps *= observedReps
	return o
}

// scrapeEvery is far more often than any Prometheus scrape interval.
const scrapeEvery = 100 * time.Millisecond

func startObservability() (*observability, error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, err
	}
	o := &observability{
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)),
		tp: sdktrace.NewTracerProvider(),
	}
	scrape := promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(scrapeEvery)
		defer t.Stop()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				scrape.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
	})
	o.stop = func() {
		close(done)
		wg.Wait()
		_ = o.tp.Shutdown(context.Background())
		_ = o.mp.Shutdown(context.Background())
	}
	return o, nil
}

// runUnderRunner runs one pipeline, built by build with the given tracer
// provider (nil: none), under a Runner (with obs's MeterProvider when obs is
// set) until its tasks delivered n records (source: acknowledged by Kafka;
// sink: put), then stops it.
func runUnderRunner(ctx context.Context, br *broker, name string, n int, obs *observability, build func(trace.TracerProvider) (connect.Pipeline, error)) (inSample, error) {
	cfg := runner.Config{Logger: discard}
	var tp trace.TracerProvider
	if obs != nil {
		cfg.MeterProvider, tp = obs.mp, obs.tp
	}
	r, err := runner.New(cfg)
	if err != nil {
		return inSample{}, err
	}
	if err := r.AddPipeline(name, nil, func(context.Context) (connect.Pipeline, error) { return build(tp) }); err != nil {
		return inSample{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	m := startMeter(br)
	go func() { done <- r.Run(rctx) }()
	deadline := time.Now().Add(runTimeout(n))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for delivered := int64(0); delivered < int64(n); {
		select {
		case err := <-done:
			return inSample{}, fmt.Errorf("runner ended early: %v", err)
		case <-ctx.Done():
			return inSample{}, ctx.Err()
		case <-tick.C:
		}
		st, err := r.Status(name)
		if err != nil {
			return inSample{}, err
		}
		if st.State == connect.StateFailed {
			return inSample{}, fmt.Errorf("connector failed: %w", st.Err)
		}
		delivered = 0
		for _, t := range st.Tasks {
			if t.State == connect.StateFailed {
				return inSample{}, fmt.Errorf("task %d failed: %w", t.ID, t.Err)
			}
			delivered += t.RecordsOut
		}
		if time.Now().After(deadline) {
			return inSample{}, fmt.Errorf("timed out after %d of %d records", delivered, n)
		}
	}
	s := m.sample(0)
	cancel()
	if err := <-done; err != nil {
		return inSample{}, fmt.Errorf("runner stop: %w", err)
	}
	return s, nil
}

// observedRunner returns the function that runs one contender c of an
// observability test with n records: it starts the observability of the
// observed contender (stopped after the run), collects garbage, profiles a
// recorded run, and records and logs the sample measure returns.
func observedRunner(o options, rep *report, test string) func(c string, n int, record bool, label string, measure func(*observability) (inSample, error)) error {
	reps := map[string]int{}
	return func(c string, n int, record bool, label string, measure func(*observability) (inSample, error)) error {
		var obs *observability
		if c == cRunnerObserved {
			var err error
			if obs, err = startObservability(); err != nil {
				return err
			}
			defer obs.stop()
		}
		runtime.GC()
		stop := func() {}
		if record {
			reps[c]++
			stop = startProfile(o.profileDir, profileName(test, c, reps[c]))
		}
		s, err := measure(obs)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if record {
			rep.addInProcess(test, c, n, s)
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s)", test, label, c, n, s.elapsed.Seconds(), float64(n)/s.elapsed.Seconds())
		return nil
	}
}

// benchObservedSource compares a source pipeline under a Runner without and
// with metrics and tracing, with the byte records of the source test or
// (json) its JSON records.
func benchObservedSource(ctx context.Context, o options, br *broker, rep *report, json bool) error {
	test, d := "observed-source", byteData(o.size)
	if json {
		var err error
		test = "observed-source-json"
		if d, err = jsonData(); err != nil {
			return err
		}
	}
	info := testInfo{
		id: test,
		title: fmt.Sprintf("%s: source path under a Runner, %d records of %d B (%s), %d partitions, without and with metrics and tracing",
			test, o.records, d.avgSize(), d.label, o.partitions),
		contenders:  []string{cRunner, cRunnerObserved},
		baselineFor: map[string]string{cRunnerObserved: cRunner},
		paired:      true,
		figures:     []string{figRecordsPerSec, figMBPerSec, figCPUPerRecord, figBrokerCPUPerRecord, figAllocsPerRecord},
		notes: []string{fmt.Sprintf("%d repetitions per contender (%d× -reps).", observedOptions(o).reps, observedReps), fmt.Sprintf("`%s`: the Runner's Kafka Connect metrics through the OpenTelemetry Prometheus exporter, "+
			"scraped every %v, and an SDK TracerProvider with no exporter: a span per poll batch and per offset commit, "+
			"and the %d-byte W3C `traceparent` header (key and value) on every record, which the broker stores too.",
			cRunnerObserved, scrapeEvery, len(tracing.HeaderKey)+55)},
	}
	// The bare producer of the source test without and with the header
	// separates what the header costs (sarama's encoding, the bytes on the
	// wire and at the broker) from Sluice's instrumentation: the target is
	// measured against a bare producer that carries the same header.
	traced := d
	traced.headers = []sarama.RecordHeader{{Key: []byte(tracing.HeaderKey), Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}}
	info.contenders = append(info.contenders, cSarama, cSaramaTraceparent)
	info.baselineFor[cSaramaTraceparent] = cSarama
	info.notes = append(info.notes, fmt.Sprintf("`%s` / `%s`: the source test's bare AsyncProducer "+
		"without and with the same header on every record, i.e. the header's cost without Sluice. "+
		"The target compares Sluice's observed/bare ratio with this one (per repetition), so it holds Sluice to 5 %% "+
		"of overhead beyond what a bare producer carrying the same header pays.", cSaramaTraceparent, cSarama))
	rep.addTest(info)
	run := observedRunner(o, rep, test)
	one := func(c string, n int, record bool, label string) error {
		topic := newTopic("observed")
		if err := createTopic(br.addrs, topic, int32(o.partitions)); err != nil {
			return err
		}
		defer deleteTopic(br.addrs, topic)
		return run(c, n, record, label, func(obs *observability) (inSample, error) {
			switch c {
			case cSarama:
				return runSaramaProducer(ctx, br, topic, n, d)
			case cSaramaTraceparent:
				return runSaramaProducer(ctx, br, topic, n, traced)
			}
			task := &genTask{topic: topic, n: n, schema: d.schema, values: d.values}
			name := "bench-source-" + topic
			s, err := runUnderRunner(ctx, br, name, n, obs, func(tp trace.TracerProvider) (connect.Pipeline, error) {
				return source.New(source.Config{
					Name:           name,
					Brokers:        br.addrs,
					NewTask:        func() source.Task { return task },
					ValueConverter: d.conv,
					Sarama:         producerConfig(),
					Logger:         discard,
					TracerProvider: tp,
					// Offsets are not what this measures: the default
					// Kafka store's setup (reading connect-offsets) would
					// fall in the timed window.
					OffsetStore: offsets.NewMemoryStore(),
				})
			})
			s.bytes = d.bytes(n)
			return s, err
		})
	}
	return interleave(observedOptions(o), info.contenders, min(o.records, 20000), o.records, one)
}

// benchObservedSink compares a sink pipeline with a no-op task under a
// Runner without and with metrics and tracing, reading records that carry
// the traceparent header a traced source writes (one trace per 1000
// records), so the observed sink parses them and continues those traces.
func benchObservedSink(ctx context.Context, o options, br *broker, rep *report) error {
	const test = "observed-sink"
	rep.addTest(testInfo{
		id: test,
		title: fmt.Sprintf("%s: sink path under a Runner, %d records of %d B with a traceparent header (ByteArray converter), %d partitions, without and with metrics and tracing",
			test, o.records, o.size, o.partitions),
		contenders:  []string{cRunner, cRunnerObserved},
		baselineFor: map[string]string{cRunnerObserved: cRunner},
		paired:      true,
		figures:     []string{figRecordsPerSec, figMBPerSec, figCPUPerRecord, figBrokerCPUPerRecord, figAllocsPerRecord},
		notes: []string{fmt.Sprintf("%d repetitions per contender (%d× -reps).", observedOptions(o).reps, observedReps), fmt.Sprintf("`%s`: as in observed-source; the sink's span per Put batch is a child of the "+
			"trace in the batch's first record, linked to the others, and there is a span per offset commit.", cRunnerObserved)},
	})
	parents := make([][]sarama.RecordHeader, 64)
	for i := range parents {
		var tid trace.TraceID
		var sid trace.SpanID
		tid[0], tid[15], sid[7] = byte(i+1), 0x42, byte(i+1)
		tp := tracing.Traceparent(trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
		parents[i] = []sarama.RecordHeader{{Key: []byte(tracing.HeaderKey), Value: tp}}
	}
	headers := func(i int) []sarama.RecordHeader { return parents[(i/1000)%len(parents)] }
	warm := min(o.records, 20000)
	topics, drop, err := sinkTopics(o, br, test, warm, headers)
	defer drop()
	if err != nil {
		return err
	}
	run := observedRunner(o, rep, test)
	one := func(c string, n int, record bool, label string) error {
		return run(c, n, record, label, func(obs *observability) (inSample, error) {
			task := &noopTask{want: int64(n), done: make(chan struct{})}
			name := newTopic("sink")
			s, err := runUnderRunner(ctx, br, name, n, obs, func(tp trace.TracerProvider) (connect.Pipeline, error) {
				return sink.New(sink.Config{
					Name:           name,
					Brokers:        br.addrs,
					NewTask:        func() sink.Task { return task },
					Topics:         []string{topics[n]},
					Sarama:         consumerConfig(),
					Logger:         discard,
					TracerProvider: tp,
				})
			})
			s.bytes = uint64(task.bytes.Load())
			return s, err
		})
	}
	return interleave(observedOptions(o), []string{cRunner, cRunnerObserved}, warm, o.records, one)
}
