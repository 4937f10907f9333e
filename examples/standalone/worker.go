package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/offsets"
)

// restShutdownTimeout bounds the wait for REST requests in progress at
// shutdown.
const restShutdownTimeout = 5 * time.Second

// options are newWorker's settings beyond the command line.
type options struct {
	// stdout receives announcements (the in-process broker's address),
	// stderr the logs and the in-process broker's warning.
	stdout, stderr io.Writer
	// embedded runs the worker on an in-process broker whatever
	// bootstrap.servers says (the -embedded flag).
	embedded bool
	// logLevel is the minimum level logged (default Info).
	logLevel slog.Leveler
	// sarama is the base Kafka client configuration of the pipelines and
	// the offsets topic store (nil: the project default); tests shorten
	// timings with it.
	sarama *sarama.Config
}

// worker is a configured standalone worker: its Runner holds the connectors,
// its listeners are bound. run runs it.
type worker struct {
	cfg       *workerConfig
	log       *slog.Logger
	runner    *runner.Runner
	listeners []net.Listener
	// schemes are the listeners' schemes: http or https.
	schemes []string
	servers []*http.Server
	// closers release what newWorker opened (offset store, broker), in
	// reverse order.
	closers []func()
}

// newWorker configures a worker from the worker properties file and the
// connector files: it starts the in-process broker if o.embedded is set or
// bootstrap.servers is "embedded" (warning on stderr that its data is not
// kept), opens the offset store, registers the plugins, creates every
// connector (not yet running) and binds the REST listeners. Errors are
// *exitError values naming the file and key at fault. On error everything
// opened is closed again.
func newWorker(ctx context.Context, workerPath string, connectorPaths []string, o options) (_ *worker, err error) {
	if o.stdout == nil {
		o.stdout = io.Discard
	}
	if o.stderr == nil {
		o.stderr = io.Discard
	}
	cfg, err := readWorkerConfig(ctx, workerPath)
	if err != nil {
		return nil, &exitError{exitWorker, err}
	}
	log := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: o.logLevel}))
	for _, msg := range cfg.warnings {
		log.Warn(msg, "file", workerPath)
	}
	files := make([]*connectorFile, 0, len(connectorPaths))
	for _, p := range connectorPaths {
		f, err := readConnectorFile(p)
		if err != nil {
			return nil, &exitError{exitConnector, err}
		}
		files = append(files, f)
	}

	w := &worker{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	fail := func(code int, err error) (*worker, error) { return nil, &exitError{code, err} }

	props := maps.Clone(cfg.props)
	switch {
	case o.embedded || cfg.embedded:
		b, err := sluicetest.StartBroker()
		if err != nil {
			return fail(exitWorker, err)
		}
		w.closers = append(w.closers, b.Close)
		cfg.brokers = b.Addrs()
		addr := strings.Join(cfg.brokers, ",")
		fmt.Fprint(o.stderr, embeddedWarning(addr, cfg, o.embedded))
		fmt.Fprintf(o.stdout, "Using the in-process Kafka broker at %s\n", addr)
	case cfg.bootstrapDefaulted:
		log.Info("bootstrap.servers is not set: using Kafka Connect's default", "bootstrap.servers", defaultBootstrap, "file", workerPath)
	}
	props[keyBootstrap] = strings.Join(cfg.brokers, ",")

	store, err := openStore(ctx, cfg, log, o.sarama)
	if err != nil {
		return fail(exitWorker, err)
	}
	w.closers = append(w.closers, func() {
		if err := store.Close(); err != nil {
			log.Error("closing the offset store", "err", err)
		}
	})

	var auth *basicAuth
	if cfg.basicAuth {
		// KAFKA_OPTS may name the JAAS file, as for Kafka Connect's JVM.
		if auth, err = loadBasicAuth(cfg.props, os.Getenv, log); err != nil {
			return fail(exitWorker, fmt.Errorf("%s: %w", cfg.path, err))
		}
	}
	// The worker id's listener, as Kafka Connect advertises one:
	// rest.advertised.listener's scheme, else http if a listener has it.
	advertised := cfg.advertisedListener
	if advertised == "" {
		advertised = "https"
		if slices.ContainsFunc(cfg.listeners, func(l restListener) bool { return l.scheme == "http" }) {
			advertised = "http"
		}
	}
	var bound net.Addr
	for _, rl := range cfg.listeners {
		l, err := net.Listen("tcp", rl.addr)
		if err != nil {
			return fail(exitWorker, fmt.Errorf("%s: %s: %w", cfg.path, keyListeners, err))
		}
		w.listeners = append(w.listeners, l)
		w.schemes = append(w.schemes, rl.scheme)
		w.closers = append(w.closers, func() { _ = l.Close() })
		if bound == nil && rl.scheme == advertised {
			bound = l.Addr()
		}
	}

	w.runner, err = runner.New(runner.Config{
		Worker:   props,
		WorkerID: cfg.workerID(bound),
		Logger:   log,
	})
	if err != nil {
		return fail(exitWorker, err)
	}
	for _, p := range plugins(pluginEnv{store: store, log: log, sarama: o.sarama}) {
		if err := w.runner.Register(p); err != nil {
			return fail(exitWorker, err)
		}
	}
	for _, f := range files {
		if err := w.createConnector(ctx, props, f); err != nil {
			return fail(exitConnector, err)
		}
	}
	handler := w.runner.Handler()
	if auth != nil {
		handler = auth.wrap(handler)
	}
	for _, scheme := range w.schemes {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		if scheme == "https" {
			srv.TLSConfig = cfg.httpsTLS.Clone()
		}
		w.servers = append(w.servers, srv)
	}
	return w, nil
}

// embeddedWarning is what the worker prints on stderr when it runs on the
// in-process broker at addr: in capitals, because every record it holds is
// lost when the worker exits. flag tells whether -embedded selected it.
func embeddedWarning(addr string, cfg *workerConfig, flag bool) string {
	why, ignored := keyBootstrap+"="+embeddedBootstrap, ""
	if flag {
		why = "-embedded"
		if !cfg.embedded && !cfg.bootstrapDefaulted {
			ignored = ", " + keyBootstrap + " ignored"
		}
	}
	var b strings.Builder
	line := strings.Repeat("*", 78) + "\n"
	b.WriteString(line)
	fmt.Fprintf(&b, "* WARNING: IN-PROCESS KAFKA BROKER (%s%s) at %s\n", why, ignored, addr)
	b.WriteString("* ITS DATA IS NOT KEPT: every topic lives in this process's memory and is lost\n")
	b.WriteString("* when the worker exits or crashes, including records the sinks have not\n")
	b.WriteString("* written yet. For anything but a try-out, run without " + why + "\n")
	fmt.Fprintf(&b, "* and with bootstrap.servers naming your Kafka cluster (default %s).\n", defaultBootstrap)
	b.WriteString(line)
	return b.String()
}

// openStore opens the source offset store the worker properties name.
func openStore(ctx context.Context, cfg *workerConfig, log *slog.Logger, base *sarama.Config) (offsets.Store, error) {
	if cfg.offsetsFile != "" {
		s, err := offsets.NewFileStore(cfg.offsetsFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", cfg.path, keyOffsetsFile, err)
		}
		log.Info("source offsets are stored in a file", "file", cfg.offsetsFile)
		return s, nil
	}
	// The worker's own client: the top-level security keys apply.
	base, err := offsets.ClientConfigFromProperties(cfg.props, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.path, err)
	}
	s, err := offsets.NewKafkaStore(ctx, offsets.KafkaStoreConfig{
		Brokers:           cfg.brokers,
		Topic:             cfg.offsetsTopic,
		Sarama:            base,
		Partitions:        cfg.offsetsPartitions,
		ReplicationFactor: cfg.offsetsReplication,
		Logger:            log,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cfg.path, keyOffsetsTopic, err)
	}
	log.Info("source offsets are stored in a Kafka topic", "topic", cfg.offsetsTopic)
	return s, nil
}

// createConnector adds the connector of a file to the Runner. Beyond the
// Runner's own validation, it builds the pipeline once without running it,
// so that a mistake only the build finds (an unknown converter or transform
// class, a bad client property) fails the worker's start, naming the file,
// rather than the connector later.
func (w *worker) createConnector(ctx context.Context, workerProps map[string]string, f *connectorFile) error {
	config := maps.Clone(f.config)
	config["name"] = f.name
	if class := strings.TrimSpace(config["connector.class"]); class != "" {
		if v, err := w.runner.ValidateConfig(class, config); err == nil && v.ErrorCount == 0 {
			ps := w.runner.Plugins()
			if i := slices.IndexFunc(ps, func(p connect.Plugin) bool { return p.Class == v.Class }); i >= 0 {
				// The trial build sees the values of the ${provider:…}
				// references, as the Runner's builds will; the Runner
				// keeps the file's configuration as written.
				resolved, secrets, err := configprovider.Resolve(ctx, w.cfg.providers, config)
				if err != nil {
					return fmt.Errorf("connector config %s: %w", f.path, err)
				}
				// Its logs are dropped (the Runner's build logs, masked),
				// and its error is shown with every secret masked: the
				// resolved values and the password keys' values.
				quiet := connect.ContextWithLogger(ctx, slog.New(slog.DiscardHandler))
				if _, err := ps[i].New(quiet, maps.Clone(workerProps), resolved); err != nil {
					for _, m := range []map[string]string{workerProps, resolved} {
						for k, v := range m {
							if runner.IsPasswordKey(k) {
								secrets = append(secrets, v)
							}
						}
					}
					slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) }) // longest first
					msg := err.Error()
					for _, v := range secrets {
						if len(v) >= 4 {
							msg = strings.ReplaceAll(msg, v, runner.MaskedValue)
						}
					}
					return fmt.Errorf("connector config %s: %s", f.path, msg)
				}
			}
		}
	}
	if err := w.runner.CreateConnector(f.name, config, f.initial); err != nil {
		return fmt.Errorf("connector config %s: %w", f.path, err)
	}
	return nil
}

// restURLs returns the base URLs of the REST API's listeners
// (http://127.0.0.1:8083, https://…).
func (w *worker) restURLs() []string {
	out := make([]string, len(w.listeners))
	for i, l := range w.listeners {
		out[i] = w.schemes[i] + "://" + l.Addr().String()
	}
	return out
}

// restAddrs returns the addresses the REST API listens on.
func (w *worker) restAddrs() []string {
	out := make([]string, len(w.listeners))
	for i, l := range w.listeners {
		out[i] = l.Addr().String()
	}
	return out
}

// run serves the REST API and runs the connectors until ctx is done (or a
// REST listener fails), then stops gracefully: the REST servers stop, every
// connector drains and commits its offsets, the offset store and the
// in-process broker are closed. It returns once all of that is done.
func (w *worker) run(ctx context.Context) error {
	defer w.close()
	var serving sync.WaitGroup
	serveErr := make(chan error, len(w.servers))
	urls := w.restURLs()
	for i, srv := range w.servers {
		l := w.listeners[i]
		w.log.Info("REST API listening", "url", urls[i])
		serving.Go(func() {
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(l, "", "") // the certificate is in TLSConfig
			} else {
				err = srv.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("REST listener %s: %w", l.Addr(), err)
			}
		})
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- w.runner.Run(runCtx) }()
	w.log.Info("standalone worker started", "worker_id", w.runner.WorkerID(), "connectors", w.runner.Connectors())

	var failure error
	select {
	case <-ctx.Done():
		w.log.Info("stopping: connectors drain and commit their offsets")
	case failure = <-serveErr:
		w.log.Error("stopping", "err", failure)
	}
	sctx, scancel := context.WithTimeout(context.Background(), restShutdownTimeout)
	for _, srv := range w.servers {
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}
	scancel()
	serving.Wait()
	cancel()
	runErr := <-runDone
	if failure == nil && runErr == nil {
		w.log.Info("standalone worker stopped")
	}
	return errors.Join(failure, runErr)
}

// close releases what newWorker opened, in reverse order.
func (w *worker) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
	w.closers = nil
}
