// Command service is a Go HTTP service that embeds a Sluice pipeline, the
// way an application runs connectors inside its own process: it builds the
// pipelines in Go, supervises them with a runner.Runner, serves Kafka
// Connect's REST API and Prometheus metrics next to its own endpoints, and
// drains gracefully on SIGTERM.
//
//	go run ./examples/service                      # in-process Kafka broker
//	go run ./examples/service -brokers 127.0.0.1:9092 -addr 127.0.0.1:8080
//
// The pipeline: a generator source task produces the numbers 0, 1, 2, … (as
// strings, -rate per second) to a topic, and Kafka's FileStream sink
// (examples/connectors/filestream) appends them to a file, one per line. The
// generator resumes after its last committed number, kept in a file offset
// store, so a restarted service continues the sequence.
//
// Endpoints, on -addr (default 127.0.0.1:8080):
//
//	/metrics         Prometheus: Kafka Connect's metrics (source_record_poll_total,
//	                 sink_record_send_total, sink_record_lag_max, …, see
//	                 runner.MeterName), the Go runtime's and the process's
//	/connectors…     Kafka Connect's REST API over the Runner (status, pause, resume,
//	                 restart, offsets, …); also /, /health, /connector-plugins
//
//	curl -s localhost:8080/connectors?expand=status
//	curl -s localhost:8080/metrics | grep ^source_record
//	curl -s -X PUT localhost:8080/connectors/numbers-generator/pause
//
// On SIGTERM or SIGINT the service stops the HTTP server (requests in
// progress may finish), cancels the Runner's context and waits for Run to
// return: every pipeline has then stopped polling, delivered what it had in
// flight and committed its offsets. It prints the committed source offsets
// on standard output and exits 0. Logs go to standard error.
//
// Flags:
//
//	-addr     HTTP listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	-brokers  Kafka bootstrap servers, comma-separated (default $KAFKA_BOOTSTRAP_SERVERS;
//	          empty: an in-process broker)
//	-topic    the topic (default numbers); the connectors are <topic>-generator and
//	          <topic>-sink, the sink's consumer group connect-<topic>-sink
//	-offsets  the source offsets file (default numbers.offsets)
//	-out      the file the sink appends to (default numbers.txt)
//	-rate     numbers generated per second (default 100)
//	-flush    offset commit interval (default 5s; offsets are also committed on stop)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if ue, ok := errors.AsType[*usageError](err); ok {
			if !ue.printed {
				fmt.Fprintln(os.Stderr, "service:", err)
			}
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// usageError is a command-line mistake (exit status 2); printed says
// whether the flag package already reported it.
type usageError struct {
	err     error
	printed bool
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// httpShutdownTimeout bounds the wait for HTTP requests in progress.
const httpShutdownTimeout = 10 * time.Second

// settings are the command-line flags.
type settings struct {
	addr, brokers, topic, offsets, out string
	rate                               int
	flush                              time.Duration
}

func parseFlags(args []string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.addr, "addr", "127.0.0.1:8080", "HTTP listen address: REST API and /metrics")
	fs.StringVar(&s.brokers, "brokers", os.Getenv("KAFKA_BOOTSTRAP_SERVERS"), "Kafka bootstrap servers, comma-separated; empty starts an in-process broker")
	fs.StringVar(&s.topic, "topic", "numbers", "topic between the generator and the file sink")
	fs.StringVar(&s.offsets, "offsets", "numbers.offsets", "source offsets file")
	fs.StringVar(&s.out, "out", "numbers.txt", "file the sink appends to")
	fs.IntVar(&s.rate, "rate", 100, "numbers generated per second")
	fs.DurationVar(&s.flush, "flush", 5*time.Second, "offset commit interval")
	if err := fs.Parse(args); err != nil {
		return s, &usageError{err, true}
	}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	case s.rate < 1:
		err = fmt.Errorf("-rate: want at least 1, got %d", s.rate)
	case s.flush <= 0:
		err = fmt.Errorf("-flush: want a positive duration, got %v", s.flush)
	case strings.TrimSpace(s.topic) == "":
		err = errors.New("-topic: empty")
	}
	if err != nil {
		return s, &usageError{err, false}
	}
	return s, nil
}

// run is the service: it runs until ctx is done, then drains and returns
// nil after a clean stop.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	brokers := parseBootstrap(s.brokers)
	if len(brokers) == 0 {
		b, err := sluicetest.StartBroker() // kfake, in this process
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = b.Addrs()
		fmt.Fprintf(stdout, "Using the in-process Kafka broker at %s (set -brokers to use your own)\n", strings.Join(brokers, ","))
	}

	store, err := offsets.NewFileStore(s.offsets)
	if err != nil {
		return err
	}
	defer store.Close()

	// Metrics: an OpenTelemetry MeterProvider exporting to a private
	// Prometheus registry, with Kafka Connect's metric names (see
	// runner.MeterName for the exporter options).
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithoutSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer provider.Shutdown(context.Background())

	rn, err := runner.New(runner.Config{MeterProvider: provider, Logger: log})
	if err != nil {
		return err
	}
	if err := addPipelines(rn, s, brokers, store, log); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.Handle("/", rn.Handler()) // put the application's authentication in front of it
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(l) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", l.Addr())

	// The Runner gets its own context: it is cancelled only once the HTTP
	// server has stopped, so the drain is the last thing that happens.
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	runDone := make(chan error, 1)
	go func() { runDone <- rn.Run(runCtx) }()

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: HTTP server first, then the pipelines drain and commit")
	case serveErr = <-serveDone:
		log.Error("HTTP server failed; stopping", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
		_ = srv.Close()
	}
	cancel()
	if serveErr == nil {
		if err := <-serveDone; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	cancelRun()
	if err := <-runDone; err != nil {
		return errors.Join(serveErr, err)
	}

	// Every pipeline has stopped: its offsets are committed.
	entries, err := offsets.ListOffsets(context.Background(), store, generatorName(s))
	if err != nil {
		return errors.Join(serveErr, err)
	}
	for _, e := range entries {
		p, _ := json.Marshal(e.Partition)
		o, _ := json.Marshal(e.Offset)
		fmt.Fprintf(stdout, "committed source offset: %s %s %s\n", generatorName(s), p, o)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped cleanly")
	return nil
}

func generatorName(s settings) string { return s.topic + "-generator" }
func sinkName(s settings) string      { return s.topic + "-sink" }

// addPipelines adds the two pipelines, built in Go, to the Runner. The
// builders run again on every (re)start, e.g. after a REST restart.
func addPipelines(r *runner.Runner, s settings, brokers []string, store offsets.Store, log *slog.Logger) error {
	genConfig := map[string]string{"connector.class": "generator (built in Go)", "topic": s.topic, "rate": fmt.Sprint(s.rate)}
	err := r.AddPipeline(generatorName(s), genConfig, func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name:                generatorName(s),
			Brokers:             brokers,
			NewTask:             func() source.Task { return &generator{topic: s.topic, rate: s.rate} },
			Properties:          genConfig,
			KeyConverter:        converters.NewString(),
			ValueConverter:      converters.NewString(),
			OffsetStore:         store,
			OffsetFlushInterval: s.flush,
			Logger:              connect.ContextLogger(ctx),
		})
	})
	if err != nil {
		return err
	}
	sinkConfig := map[string]string{"connector.class": filestream.SinkClass, "topics": s.topic, filestream.FileConfig: s.out}
	return r.AddPipeline(sinkName(s), sinkConfig, func(ctx context.Context) (connect.Pipeline, error) {
		return sink.New(sink.Config{
			Name:                sinkName(s),
			Brokers:             brokers,
			Topics:              []string{s.topic},
			NewTask:             func() sink.Task { return &filestream.SinkTask{Logger: log} },
			Properties:          sinkConfig,
			KeyConverter:        converters.NewString(),
			ValueConverter:      converters.NewString(),
			OffsetFlushInterval: s.flush,
			Logger:              connect.ContextLogger(ctx),
			OffsetsAlterer:      filestream.SinkConnector{}, // as Kafka's: offsets requests answer the short message
		})
	})
}

// generator is a source task producing the numbers 0, 1, 2, … as strings,
// rate per second in batches every 100 ms. Its one source partition is
// {"sequence": <topic>}, its offset {"n": <number>}.
type generator struct {
	topic string
	rate  int

	partition map[string]any
	next      int64
	ticks     int64
	tick      *time.Ticker
}

var _ source.Task = (*generator)(nil)

// Start resumes after the last committed number.
func (g *generator) Start(ctx context.Context, tc source.TaskContext) error {
	g.partition = map[string]any{"sequence": g.topic}
	off, err := tc.Offsets().Offset(ctx, g.partition)
	if err != nil {
		return err
	}
	if off != nil {
		n, ok := off["n"].(int64)
		if !ok {
			return fmt.Errorf("committed offset %v: want an integer n", off)
		}
		g.next = n + 1
	}
	g.tick = time.NewTicker(100 * time.Millisecond)
	return nil
}

// Poll returns the next batch every 100 ms, and nothing once ctx is done.
func (g *generator) Poll(ctx context.Context) ([]connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-g.tick.C:
	}
	// rate per second over ten ticks, exactly.
	n := (g.ticks+1)*int64(g.rate)/10 - g.ticks*int64(g.rate)/10
	g.ticks++
	if n == 0 {
		return nil, nil
	}
	batch := make([]connect.Record, n)
	for i := range batch {
		batch[i] = connect.Record{
			Topic:           g.topic,
			ValueSchema:     connect.StringSchema,
			Value:           fmt.Sprint(g.next),
			SourcePartition: g.partition,
			SourceOffset:    map[string]any{"n": g.next},
		}
		g.next++
	}
	return batch, nil
}

// Stop releases the ticker.
func (g *generator) Stop(context.Context) error {
	if g.tick != nil {
		g.tick.Stop()
	}
	return nil
}

// parseBootstrap splits a comma-separated bootstrap.servers value, dropping
// blanks; nil when there is none.
func parseBootstrap(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
