// Command sluicefile runs Sluice's FileStream source or sink connector
// (examples/connectors/filestream) from the same two properties files Kafka
// Connect's connect-standalone takes, so that the benchmark harness (go run
// ./bench) can measure it as a process of its own, side by side with Kafka
// Connect's JVM given the very same files:
//
//	sluicefile worker.properties connector.properties
//
// connector.class selects the source (FileStreamSource, FileStreamSourceConnector
// or org.apache.kafka.connect.file.FileStreamSourceConnector) or the sink.
// Worker keys: bootstrap.servers, the converters, offset.flush.interval.ms,
// offset.storage.file.filename (source offsets), producer.* / consumer.*;
// other worker keys (listeners, plugin.path, ...) are ignored. It runs until
// SIGINT or SIGTERM, then stops gracefully (final offset commit). With
// SLUICE_CPUPROFILE=path it writes a CPU profile of the whole run there.
//
// It is a benchmark helper, not an example: examples/standalone is the
// drop-in for connect-standalone.sh.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/internal/properties"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sluicefile worker.properties connector.properties")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "sluicefile:", err)
		os.Exit(1)
	}
}

func run(workerPath, connectorPath string) error {
	worker, err := properties.ReadFile(workerPath)
	if err != nil {
		return err
	}
	connector, err := properties.ReadFile(connectorPath)
	if err != nil {
		return err
	}
	if path := os.Getenv("SLUICE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	class := strings.TrimSpace(connector["connector.class"])
	switch {
	case class == filestream.SourceClass || slices.Contains(filestream.SourceAliases, class):
		return runSource(ctx, worker, connector, logger)
	case class == filestream.SinkClass || slices.Contains(filestream.SinkAliases, class):
		return runSink(ctx, worker, connector, logger)
	default:
		return fmt.Errorf("connector.class: want a FileStream connector, got %q", class)
	}
}

func runSource(ctx context.Context, worker, connector map[string]string, logger *slog.Logger) error {
	var store offsets.Store
	if path := strings.TrimSpace(worker["offset.storage.file.filename"]); path != "" {
		fs, err := offsets.NewFileStore(path)
		if err != nil {
			return err
		}
		defer fs.Close()
		store = fs
	}
	cfg, err := source.ConfigFromProperties(worker, connector, source.PropertyOptions{
		NewTask:     func() source.Task { return &filestream.SourceTask{Logger: logger} },
		Connector:   filestream.SourceConnector{},
		OffsetStore: store,
	})
	if err != nil {
		return err
	}
	cfg.Logger = logger
	p, err := source.New(cfg)
	if err != nil {
		return err
	}
	logger.Info("running the FileStream source", "connector", cfg.Name)
	return runUntilFailed(ctx, p)
}

func runSink(ctx context.Context, worker, connector map[string]string, logger *slog.Logger) error {
	cfg, err := sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{
		NewTask: func() sink.Task { return &filestream.SinkTask{Logger: logger} },
	})
	if err != nil {
		return err
	}
	cfg.Logger = logger
	p, err := sink.New(cfg)
	if err != nil {
		return err
	}
	logger.Info("running the FileStream sink", "connector", cfg.Name)
	return runUntilFailed(ctx, p)
}

// runUntilFailed runs p until ctx is done or every task of it failed: a
// failed task does not end Run (the connector stays RUNNING, as Kafka
// Connect's), but this one-connector process has nothing left to do then
// and exits with the tasks' errors.
func runUntilFailed(ctx context.Context, p connect.Pipeline) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if p.PipelineStatus().AllTasksFailed() {
				cancel()
				return <-done
			}
		}
	}
}
