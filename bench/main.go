// Command bench is Sluice's benchmark harness: it measures Sluice side by side
// with the baselines DESIGN.md §6 sets its performance budget against, on one
// broker, in one run, and prints a markdown report.
//
//	go run ./bench            # full run (minutes)
//	go run ./bench -quick     # small volumes, under 3 minutes on 2 cores
//
// Tests (each contender repeated -reps times, interleaved with the others,
// their order rotated between repetitions):
//
//   - source: a bare sarama AsyncProducer sending N records of S bytes
//     (idempotent, acks=all) vs a Sluice source pipeline with an in-memory
//     generator task and the ByteArray converter, with the same producer
//     configuration;
//   - source-json: the same with Struct records through the JSON converter
//     with schemas (Kafka Connect's envelope), the baseline encoding each
//     record with that converter before sending it (a diagnostic producer
//     sends the already-encoded bytes);
//   - source-eos: a Sluice source pipeline exactly-once (default poll
//     boundary: one transaction per Poll) vs the same pipeline
//     at-least-once, the generator returning batches of 2000 (FileStream's
//     batch.size), both with a Kafka offsets store on the bench broker:
//     records/s, CPU and allocations per record, transactions/s and records
//     per transaction;
//   - sink: a bare sarama consumer group reading N records vs a Sluice sink
//     pipeline with a no-op task;
//   - sink-json: the same reading source-json's records, the group's
//     handler decoding each with the JSON converter, Sluice's sink using
//     it as value converter (a group that does not decode is a diagnostic);
//   - observed-source / observed-source-json / observed-sink: the source
//     (byte or JSON records) and sink pipelines under a runner.Runner, bare
//     vs with the Runner's metrics (OpenTelemetry,
//     Prometheus exporter, scraped) and tracing (SDK TracerProvider, no
//     exporter), the sink reading records that carry a traceparent header;
//   - connect-source / connect-sink: Kafka Connect's own standalone worker
//     (fetched from Maven Central, same version as the broker) running
//     FileStreamSource on a file of L lines, or FileStreamSink from a topic of
//     L records, vs the same connectors in Sluice, run by examples/standalone
//     (the connect-standalone drop-in) or, without it or with -sluice-worker
//     sluicefile, by bench/sluicefile, a child process given the very same
//     properties files: records/s, peak RSS, CPU seconds and time to first
//     record, per process;
//   - cluster (only with -only cluster): Runners in cluster mode, each a
//     process of its own (bench/clustermember), sharing a source and a sink
//     connector of tasks.max=6: aggregate records/s with 1, 2 and 3
//     members, and the time until every task runs again after a member is
//     killed (SIGKILL), leaves (SIGTERM) or joins (see bench/cluster.go);
//   - ceiling (only with -only ceiling): the Kafka clients alone — sarama,
//     franz-go (kgo) and Java's kafka-tools perf tools — producing and
//     consuming (see bench/ceiling.go).
//
// The broker: KAFKA_BOOTSTRAP_SERVERS if set; else Apache Kafka from
// scripts/kafka (started on a free port and stopped at exit); -embedded runs
// the in-process Kafka-protocol broker instead. Progress goes to stderr, the
// report to stdout. Child processes (the broker it started, JVMs, Sluice
// processes) are stopped on exit, also on error and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

type options struct {
	quick      bool
	embedded   bool
	reps       int
	records    int // in-process tests
	size       int // record value bytes
	lines      int // Kafka Connect comparison
	partitions int
	only       map[string]bool
	profileDir string
	keep       bool
	connectJVM string
	worker     string // Sluice's worker for the Kafka Connect comparison
}

var allTests = []string{"source", "source-json", "source-eos", "sink", "sink-json", "observed-source", "observed-source-json", "observed-sink", "connect-source", "connect-sink", "cluster", "ceiling"}

// optInTests run only when -only names them (not in the default run).
var optInTests = []string{"cluster", "ceiling"}

func main() {
	var o options
	var only string
	flag.BoolVar(&o.quick, "quick", false, "small volumes (defaults: -records 50000 -lines 20000), for CI: under 3 minutes")
	flag.BoolVar(&o.embedded, "embedded", false, "use the in-process Kafka-protocol broker (kfake) instead of Apache Kafka")
	flag.IntVar(&o.reps, "reps", 0, "repetitions of each contender (default 5, -quick 3)")
	flag.IntVar(&o.records, "records", 0, "records per in-process run (default 1000000, -quick 50000)")
	flag.IntVar(&o.size, "size", 100, "record value size in bytes (lines: size bytes plus \\n)")
	flag.IntVar(&o.lines, "lines", 0, "lines per Kafka Connect comparison run (default 1000000, -quick 20000)")
	flag.IntVar(&o.partitions, "partitions", 4, "partitions of the in-process tests' topics (the Kafka Connect comparison uses 1)")
	flag.StringVar(&only, "only", "", "comma-separated subset of tests: "+strings.Join(allTests, ","))
	flag.StringVar(&o.profileDir, "profile", "", "write CPU profiles into this directory: of every recorded in-process run (the whole harness process), and of the Sluice processes of the Kafka Connect comparison with -sluice-worker sluicefile")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (properties files, logs of the child processes)")
	flag.StringVar(&o.worker, "sluice-worker", "auto", "Sluice process for the Kafka Connect comparison: standalone (examples/standalone, the connect-standalone drop-in), sluicefile (bench/sluicefile, the FileStream connectors alone) or auto (standalone if present)")
	flag.StringVar(&o.connectJVM, "connect-jvm-opts", defaultConnectJVMOpts, "JVM options for Kafka Connect (default: connect-standalone.sh's heap and kafka-run-class.sh's performance options)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if o.records == 0 {
		o.records = pick(o.quick, 50000, 1000000)
	}
	if o.reps == 0 {
		o.reps = pick(o.quick, 3, 5)
	}
	if o.lines == 0 {
		o.lines = pick(o.quick, 20000, 1000000)
	}
	if o.reps < 1 || o.records < 1 || o.lines < 1 || o.size < 1 || o.partitions < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps, -records, -lines, -size and -partitions must be >= 1")
		os.Exit(2)
	}
	switch o.worker {
	case "auto", "standalone", "sluicefile":
	default:
		fmt.Fprintf(os.Stderr, "bench: -sluice-worker: want auto, standalone or sluicefile, got %q\n", o.worker)
		os.Exit(2)
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, t := range strings.Split(only, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(allTests, t) {
				fmt.Fprintf(os.Stderr, "bench: unknown test %q in -only (want %s)\n", t, strings.Join(allTests, ","))
				os.Exit(2)
			}
			o.only[t] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	interrupted := ctx.Err() != nil
	stop()
	cleanup.run()
	if err != nil {
		if interrupted {
			err = fmt.Errorf("interrupted (%w)", err)
		}
		logf("ERROR: %v", err)
		os.Exit(1)
	}
}

func pick(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}

func (o *options) enabled(test string) bool {
	if o.only == nil {
		return !slices.Contains(optInTests, test)
	}
	return o.only[test]
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	t0 := time.Now()
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work directory %s (kept)", work)
	} else {
		cleanup.add(func() { os.RemoveAll(work) })
	}
	if o.profileDir != "" {
		if o.profileDir, err = filepath.Abs(o.profileDir); err != nil {
			return err
		}
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	if o.enabled("source-eos") {
		sarama.Logger = eosTxnLog
	}
	needConnect := o.enabled("connect-source") || o.enabled("connect-sink")
	resolveWorker(&o, repo)

	// Independent preparations, in parallel: the broker, Kafka Connect's
	// jars, the Sluice child binary.
	var (
		br      *broker
		kc      *kafkaConnect
		sluiceF string
	)
	errc := make(chan error, 3)
	go func() {
		var err error
		br, err = startBroker(ctx, o, repo)
		errc <- err
	}()
	go func() {
		if !needConnect {
			errc <- nil
			return
		}
		var err error
		kc, err = fetchKafkaConnect(ctx, repo)
		errc <- err
	}()
	go func() {
		if !needConnect {
			errc <- nil
			return
		}
		var err error
		sluiceF, err = buildSluiceWorker(ctx, o, repo, work)
		errc <- err
	}()
	var errs []error
	for range 3 {
		errs = append(errs, <-errc)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logf("ready in %.1fs: broker %s (%s)", time.Since(t0).Seconds(), strings.Join(br.addrs, ","), br.version)

	facts := machineFacts(br, kc)
	facts.loadStart = loadAvg()
	rep := &report{opts: o, facts: facts}

	if o.enabled("source") {
		if err := benchSource(ctx, o, br, rep, false); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	if o.enabled("source-json") {
		if err := benchSource(ctx, o, br, rep, true); err != nil {
			return fmt.Errorf("source-json: %w", err)
		}
	}
	if o.enabled("source-eos") {
		if err := benchSourceEOS(ctx, o, br, rep); err != nil {
			return fmt.Errorf("source-eos: %w", err)
		}
	}
	if o.enabled("sink") {
		if err := benchSink(ctx, o, br, rep); err != nil {
			return fmt.Errorf("sink: %w", err)
		}
	}
	if o.enabled("sink-json") {
		if err := benchSinkJSON(ctx, o, br, rep); err != nil {
			return fmt.Errorf("sink-json: %w", err)
		}
	}
	if o.enabled("observed-source") {
		if err := benchObservedSource(ctx, o, br, rep, false); err != nil {
			return fmt.Errorf("observed-source: %w", err)
		}
	}
	if o.enabled("observed-source-json") {
		if err := benchObservedSource(ctx, o, br, rep, true); err != nil {
			return fmt.Errorf("observed-source-json: %w", err)
		}
	}
	if o.enabled("observed-sink") {
		if err := benchObservedSink(ctx, o, br, rep); err != nil {
			return fmt.Errorf("observed-sink: %w", err)
		}
	}
	if o.enabled("connect-source") {
		if err := benchConnectSource(ctx, o, br, kc, sluiceF, work, rep); err != nil {
			return fmt.Errorf("connect-source: %w", err)
		}
	}
	if o.enabled("connect-sink") {
		if err := benchConnectSink(ctx, o, br, kc, sluiceF, work, rep); err != nil {
			return fmt.Errorf("connect-sink: %w", err)
		}
	}
	if o.enabled("cluster") {
		if err := benchCluster(ctx, o, br, work, rep); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if o.enabled("ceiling") {
		if err := benchCeiling(ctx, o, br, repo, rep); err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
	}
	rep.facts.loadEnd = loadAvg()
	rep.elapsed = time.Since(t0)
	rep.print(os.Stdout)
	logf("done in %.1fs", time.Since(t0).Seconds())
	return nil
}

// repoRoot finds the module root (the directory holding this module's
// go.mod) from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/sluicehq/sluice\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the sluice repository (no go.mod of github.com/sluicehq/sluice found upwards)")
		}
		dir = parent
	}
}
