// Quickstart runs a complete Sluice data flow in one process, against an
// in-process Kafka broker, and explains what happened:
//
//	orders-generator ─┐ JSON with schemas                     ┌─▶ orders.jsonl
//	                  ├─▶ topic orders ─▶ orders-to-file sink ┤
//	legacy-feed ──────┘ raw bytes                             └─▶ topic orders-dlq (malformed records)
//
// The three pipelines are:
//
//   - a source whose task generates com.acme.Order structs (id, customer, a
//     Decimal amount, a Timestamp) and writes them with the JSON converter
//     (Kafka Connect's envelope with schemas); every 50th order is a test
//     order, marked by a "test" header;
//   - a second source, legacy-feed, that writes five malformed payloads into
//     the same topic as raw bytes;
//   - a sink that reads the topic with the JSON converter, applies an SMT
//     chain configured with Kafka Connect's transforms= properties (a Filter
//     gated by a HasHeaderKey predicate, InsertField, TimestampConverter),
//     and writes one JSON object per line to a file; the malformed records
//     fail conversion and, under errors.tolerance=all, go to the dead-letter
//     queue topic with the __connect.errors.* context headers.
//
// It prints progress every second and, at the end, what each pipeline did,
// the committed source offsets and consumer group offsets, a dead-letter
// record's headers and where the output file is. Run it from the repository
// root:
//
//	go run ./examples/quickstart                     # 20 000 orders, then exit
//	go run ./examples/quickstart -records 100000 -rate 0
//	go run ./examples/quickstart -follow             # until Ctrl-C, which stops gracefully
//
// With KAFKA_BOOTSTRAP_SERVERS set (e.g. 127.0.0.1:9092) it uses that Kafka
// instead of the in-process broker; topic and connector names then get a
// per-run suffix, so runs do not see each other's records. The broker must
// allow automatic topic creation, as Kafka's default configuration does.
//
// Flags: -records N (orders to generate, default 20000), -rate N (orders per
// second, default 5000, 0 for as fast as possible), -follow (generate until
// interrupted), -out DIR (output directory, default a new temporary one),
// -v (the pipelines' info logs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills the process at once
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type options struct {
	records int64
	rate    int
	follow  bool
	out     string
	verbose bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.Int64Var(&o.records, "records", 20000, "orders to generate")
	fs.IntVar(&o.rate, "rate", 5000, "orders per second (0: as fast as possible)")
	fs.BoolVar(&o.follow, "follow", false, "keep generating until interrupted (Ctrl-C)")
	fs.StringVar(&o.out, "out", "", "output directory (default: a new temporary directory)")
	fs.BoolVar(&o.verbose, "v", false, "show the pipelines' info logs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.records < 0 || o.rate < 0 {
		return o, errors.New("-records and -rate must not be negative")
	}
	if o.follow {
		o.records = -1
	}
	return o, nil
}

// run is the whole program; main adds only signal handling and exit codes.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	opts, err := parseFlags(args)
	if err != nil {
		return err
	}
	level := slog.LevelWarn // warnings and errors.log.enable's error lines
	if opts.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Kafka: KAFKA_BOOTSTRAP_SERVERS, or a broker in this process.
	brokers := parseBootstrap(os.Getenv("KAFKA_BOOTSTRAP_SERVERS"))
	suffix := ""
	if brokers != nil {
		suffix = fmt.Sprintf("-%06x", rand.Uint32()>>8)
		fmt.Fprintf(stdout, "Kafka at %v (KAFKA_BOOTSTRAP_SERVERS); this run's names end in %s\n", brokers, suffix)
	} else {
		// The same kfake broker Sluice's own tests use: no Java, no Docker,
		// gone when closed.
		broker, err := sluicetest.StartBroker()
		if err != nil {
			return err
		}
		defer broker.Close()
		brokers = broker.Addrs()
		fmt.Fprintf(stdout, "Kafka: in-process broker at %v\n", brokers)
	}
	topic, dlqTopic := "orders"+suffix, "orders-dlq"+suffix

	dir := opts.out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sluice-quickstart-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	outFile := filepath.Join(dir, "orders.jsonl")
	if err := os.Remove(outFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	// One sarama base configuration for every client. Version is an upper
	// bound that sarama negotiates down per request with the broker
	// (Kafka 4 brokers refuse the oldest request versions, so do not go
	// below V2_1_0_0); a short fetch wait makes stopping quick (sarama's
	// default is 500 ms). The pipelines force what they need on their copy
	// (acks=all and idempotence for sources, manual commits for sinks).
	saramaCfg := sarama.NewConfig()
	saramaCfg.ClientID = "sluice-quickstart"
	saramaCfg.Version = sarama.V4_0_0_0
	saramaCfg.Consumer.MaxWaitTime = 100 * time.Millisecond

	// Kafka Connect's JsonConverter defaults: schemas.enable=true, so every
	// value travels with its schema in a {"schema":…,"payload":…} envelope.
	jsonConv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		return err
	}

	orders, err := source.New(source.Config{
		Name:           "orders-generator" + suffix,
		Brokers:        brokers,
		NewTask:        func() source.Task { return &ordersTask{topic: topic, total: opts.records, rate: opts.rate} },
		ValueConverter: jsonConv,
		Sarama:         saramaCfg,
		Logger:         logger,
	})
	if err != nil {
		return err
	}
	legacy, err := source.New(source.Config{
		Name:    "legacy-feed" + suffix,
		Brokers: brokers,
		NewTask: func() source.Task { return &legacyTask{topic: topic} },
		// No ValueConverter: the ByteArray converter writes the bytes as they are.
		Sarama: saramaCfg,
		Logger: logger,
	})
	if err != nil {
		return err
	}

	// The sink's SMTs, configured exactly as for Kafka Connect (types by
	// class name or short name).
	chain, err := transforms.NewRegistry().ParseChain(map[string]string{
		"transforms":                          "dropTest,addPipeline,placedISO",
		"transforms.dropTest.type":            "org.apache.kafka.connect.transforms.Filter",
		"transforms.dropTest.predicate":       "isTest", // negate=true would keep only the test orders
		"transforms.addPipeline.type":         "InsertField$Value",
		"transforms.addPipeline.static.field": "pipeline",
		"transforms.addPipeline.static.value": "quickstart",
		"transforms.placedISO.type":           "TimestampConverter$Value",
		"transforms.placedISO.field":          "placed",
		"transforms.placedISO.target.type":    "string",
		"transforms.placedISO.format":         "yyyy-MM-dd'T'HH:mm:ss.SSSX",
		"predicates":                          "isTest",
		"predicates.isTest.type":              "HasHeaderKey",
		"predicates.isTest.name":              "test",
	})
	if err != nil {
		return err
	}
	defer chain.Close()

	toFile, err := sink.New(sink.Config{
		Name:           "orders-to-file" + suffix, // consumer group connect-orders-to-file
		Brokers:        brokers,
		Topics:         []string{topic},
		NewTask:        func() sink.Task { return &jsonLinesTask{path: outFile} },
		ValueConverter: jsonConv,
		Transforms:     chain,
		Errors: sluiceerrors.Config{
			Tolerance:            sluiceerrors.ToleranceAll, // errors.tolerance=all
			LogEnable:            true,                      // errors.log.enable=true
			DLQTopic:             dlqTopic,                  // errors.deadletterqueue.topic.name
			DLQReplicationFactor: 1,                         // errors.deadletterqueue.topic.replication.factor
			DLQContextHeaders:    true,                      // errors.deadletterqueue.context.headers.enable
		},
		Sarama: saramaCfg,
		Logger: logger,
	})
	if err != nil {
		return err
	}

	width := len(orders.Name()) // the longest name
	fmt.Fprintln(stdout, "Pipelines:")
	fmt.Fprintf(stdout, "  source %-*s → topic %s (JSON with schemas)\n", width, orders.Name(), topic)
	fmt.Fprintf(stdout, "  source %-*s → topic %s (%d malformed records)\n", width, legacy.Name(), topic, len(legacyPayloads))
	fmt.Fprintf(stdout, "  sink   %-*s topic %s → %s (dead letters → topic %s)\n", width, toFile.Name(), topic, outFile, dlqTopic)
	if opts.follow {
		fmt.Fprintln(stdout, "Following: press Ctrl-C to stop.")
	}

	// Run the three pipelines until the demo volume went through the sink
	// (or, with -follow, until interrupted); then stop them gracefully: each
	// commits its offsets before Run returns.
	start := time.Now()
	runCtx, stopPipelines := context.WithCancel(ctx)
	defer stopPipelines()
	pipelines := []connect.Pipeline{orders, legacy, toFile}
	errc := make(chan error, len(pipelines))
	var wg sync.WaitGroup
	for _, p := range pipelines {
		wg.Go(func() {
			if err := p.Run(runCtx); err != nil {
				errc <- fmt.Errorf("pipeline %s: %w", p.Name(), err)
			}
		})
	}
	want := opts.records + int64(len(legacyPayloads)) // records the sink must handle
	var failure error
	prog := progress{out: stdout, start: start}
	second, check := time.NewTicker(time.Second), time.NewTicker(50*time.Millisecond)
	defer second.Stop()
	defer check.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "Interrupted: stopping gracefully.")
			break wait
		case failure = <-errc: // Run returns early only when a connector failed
			break wait
		case <-second.C:
			prog.print(orders.PipelineStatus(), toFile.PipelineStatus())
		case <-check.C:
			if !opts.follow && sum(toFile.PipelineStatus()).done() >= want {
				break wait
			}
			// A failed task leaves its pipeline running, as in Kafka
			// Connect; the demo stops when a pipeline has no task left
			// (Run then returns the tasks' failures).
			if slices.ContainsFunc(pipelines, allTasksFailed) {
				break wait
			}
		}
	}
	stopPipelines()
	wg.Wait()
	close(errc)
	for err := range errc {
		failure = errors.Join(failure, err)
	}
	if failure != nil {
		return failure
	}

	// The pipelines are stopped; ctx may be done (Ctrl-C), so the summary
	// gets its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return summarize(sctx, stdout, summary{
		elapsed: time.Since(start), brokers: brokers, sarama: saramaCfg,
		orders: orders, legacy: legacy, toFile: toFile, dlqTopic: dlqTopic, outFile: outFile, width: width,
	})
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

// allTasksFailed reports whether every task of p is FAILED.
func allTasksFailed(p connect.Pipeline) bool {
	tasks := p.PipelineStatus().Tasks
	for _, t := range tasks {
		if t.State != connect.StateFailed {
			return false
		}
	}
	return len(tasks) > 0
}
