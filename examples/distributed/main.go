package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the default handling comes back: a second
		// Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(exitCode(err))
	}
}

// Exit codes, as Kafka's ConnectDistributed.
const (
	exitUsage  = 1
	exitWorker = 2
)

// exitError is an error with the process exit code it calls for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the exit code err calls for (exitWorker unless it says
// otherwise).
func exitCode(err error) int {
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return exitWorker
}

const usage = "usage: distributed [-listeners URLs] worker.properties\n" +
	"  -listeners  the REST listeners, replacing the file's listeners (e.g. http://127.0.0.1:8084)"

// Worker keys the command reads itself (the Runner reads the cluster keys
// with runner.ClusterConfigFromProperties, the pipelines the others).
const (
	keyBootstrap          = "bootstrap.servers"
	keyListeners          = "listeners"
	keyAdvertisedHost     = "rest.advertised.host.name"
	keyAdvertisedPort     = "rest.advertised.port"
	keyAdvertisedListener = "rest.advertised.listener"
	keyRestExtensions     = "rest.extension.classes"
)

// Defaults: Kafka Connect's bootstrap.servers; the REST API on Kafka's
// port but on the loopback interface only (it has no authentication).
const (
	defaultBootstrap = "localhost:9092"
	defaultListener  = "http://127.0.0.1:8083"
)

// restShutdownTimeout bounds the wait for REST requests in progress at
// shutdown.
const restShutdownTimeout = 5 * time.Second

// run is the command: it configures a worker from args, runs it until ctx
// is done, then stops it gracefully. Logs go to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("distributed", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage error says it all
	listeners := fs.String("listeners", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{exitUsage, errors.New(usage)}
		}
		return &exitError{exitUsage, fmt.Errorf("%w\n%s", err, usage)}
	}
	if fs.NArg() != 1 {
		return &exitError{exitUsage, errors.New(usage)}
	}
	o := options{stderr: stderr}
	if *listeners != "" {
		o.listeners = listeners
	}
	w, err := newWorker(ctx, fs.Arg(0), o)
	if err != nil {
		return err
	}
	return w.run(ctx)
}

// options are newWorker's settings beyond the worker file.
type options struct {
	// stderr receives the logs.
	stderr io.Writer
	// logLevel is the minimum level logged (default Info).
	logLevel slog.Leveler
	// listeners, when set, replaces the file's listeners.
	listeners *string
	// sarama is the base Kafka client configuration of the cluster member
	// and the pipelines (nil: from the worker properties); tests shorten
	// timings with it.
	sarama *sarama.Config
}

// worker is a configured cluster member: its Runner is in cluster mode,
// its REST listeners are bound. run runs it.
type worker struct {
	path      string
	log       *slog.Logger
	runner    *runner.Runner
	listeners []net.Listener
	servers   []*http.Server
	// advertisedURL is the member's REST URL in the group.
	advertisedURL string
}

// restListener is a REST listener of the listeners key.
type restListener struct {
	scheme string // http or https
	addr   string // host:port to bind
}

// newWorker configures a worker from the worker properties file: it reads
// and checks the file (resolving its config provider references), binds
// the REST listeners, builds the Runner in cluster mode and registers the
// plugins. Errors are *exitError values naming the file and the key. On
// error the listeners are closed again.
func newWorker(ctx context.Context, path string, o options) (_ *worker, err error) {
	if o.stderr == nil {
		o.stderr = io.Discard
	}
	fail := func(err error) (*worker, error) { return nil, &exitError{exitWorker, err} }
	props, err := runner.ReadPropertiesFile(path)
	if err != nil {
		return fail(fmt.Errorf("worker config: %w", err))
	}
	if props, err = resolveWorkerVariables(ctx, path, props); err != nil {
		return fail(fmt.Errorf("worker config: %w", err))
	}
	if o.listeners != nil {
		props[keyListeners] = *o.listeners
	}
	if _, ok := props[keyListeners]; !ok {
		// Sluice's default, also for the advertised URL
		// (runner.ClusterConfigFromProperties would take Kafka's, every
		// interface).
		props[keyListeners] = defaultListener
	}
	log := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: o.logLevel}))
	for _, k := range slices.Sorted(maps.Keys(props)) {
		switch {
		case k == "plugin.path":
			log.Warn("plugin.path is ignored: Sluice's connectors are compiled in (see examples/distributed/plugins.go)", "file", path)
		case strings.HasPrefix(k, "internal."):
			log.Warn(k+" is ignored: the internal topics always use Kafka Connect's internal JSON format", "file", path)
		case k == keyRestExtensions && strings.TrimSpace(props[k]) != "":
			return fail(fmt.Errorf("%s: %s: not supported by examples/distributed (examples/standalone has basic authentication)", path, k))
		}
	}
	if v, ok := props[keyBootstrap]; !ok {
		props[keyBootstrap] = defaultBootstrap
		log.Info("bootstrap.servers is not set: using Kafka Connect's default", "bootstrap.servers", defaultBootstrap, "file", path)
	} else if strings.TrimSpace(v) == "" {
		return fail(fmt.Errorf("%s: %s: empty value: name the Kafka brokers (host:port,…)", path, keyBootstrap))
	}
	cluster, err := runner.ClusterConfigFromProperties(props)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if cluster == nil {
		return fail(fmt.Errorf("%s: config.storage.topic: missing required configuration which has no default value (distributed mode keeps the connectors in this topic; examples/standalone runs without one)", path))
	}
	if o.sarama != nil {
		cluster.Sarama = o.sarama
	}

	ls, err := parseListeners(props)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if len(ls) == 0 {
		return fail(fmt.Errorf("%s: %s: empty: a distributed worker needs a REST listener (the members forward requests to each other)", path, keyListeners))
	}
	var httpsTLS *tls.Config
	if slices.ContainsFunc(ls, func(l restListener) bool { return l.scheme == "https" }) {
		if httpsTLS, err = runner.HTTPSConfigFromProperties(props); err != nil {
			return fail(fmt.Errorf("%s: %w (for the https listener of %s)", path, err, keyListeners))
		}
	}
	w := &worker{path: path, log: log}
	defer func() {
		if err != nil {
			for _, l := range w.listeners {
				_ = l.Close()
			}
		}
	}()
	advertised := strings.ToLower(strings.TrimSpace(props[keyAdvertisedListener]))
	if advertised == "" {
		advertised = ls[0].scheme
	}
	var bound net.Addr
	for _, rl := range ls {
		l, err := net.Listen("tcp", rl.addr)
		if err != nil {
			return fail(fmt.Errorf("%s: %s: %w", path, keyListeners, err))
		}
		w.listeners = append(w.listeners, l)
		srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		if rl.scheme == "https" {
			srv.TLSConfig = httpsTLS.Clone()
		}
		w.servers = append(w.servers, srv)
		if bound == nil && rl.scheme == advertised {
			bound = l.Addr()
		}
	}
	if bound == nil {
		return fail(fmt.Errorf("%s: %s: %s has no %s listener", path, keyAdvertisedListener, keyListeners, advertised))
	}
	// The advertised URL: what the file says, with the bound port when
	// the listener's port is 0 (any free port) and the file names none.
	w.advertisedURL = advertisedURL(cluster.AdvertisedURL, advertised, bound, props)
	cluster.AdvertisedURL = w.advertisedURL

	w.runner, err = runner.New(runner.Config{Worker: props, Logger: log, Cluster: cluster})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	for _, p := range plugins(log, o.sarama) {
		if err := w.runner.Register(p); err != nil {
			return fail(err)
		}
	}
	for _, srv := range w.servers {
		srv.Handler = w.runner.Handler()
	}
	return w, nil
}

// advertisedURL returns the member's REST URL: fromProps (what
// runner.ClusterConfigFromProperties made of the rest.advertised.* keys
// and listeners) unless it is empty or names port 0, else the scheme and
// the bound address, with rest.advertised.host.name and
// rest.advertised.port overriding their parts.
func advertisedURL(fromProps, scheme string, bound net.Addr, props map[string]string) string {
	if u, err := url.Parse(fromProps); err == nil && u.Host != "" && u.Port() != "0" && u.Port() != "" {
		return fromProps
	}
	host, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host, _ = os.Hostname()
	}
	if v := strings.TrimSpace(props[keyAdvertisedHost]); v != "" {
		host = v
	}
	if v := strings.TrimSpace(props[keyAdvertisedPort]); v != "" {
		port = v
	}
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// parseListeners returns the REST listeners of the listeners key (Kafka's
// comma-separated http:// and https:// URLs).
func parseListeners(props map[string]string) ([]restListener, error) {
	v := props[keyListeners]
	var out []restListener
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		u, err := url.Parse(item)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not a listener URL such as http://127.0.0.1:8083", keyListeners, item)
		}
		scheme := strings.ToLower(u.Scheme)
		if scheme != "http" && scheme != "https" {
			return nil, fmt.Errorf("%s: %q: want an http:// or https:// URL", keyListeners, item)
		}
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%s: %q: want a port number", keyListeners, item)
		}
		out = append(out, restListener{scheme: scheme, addr: net.JoinHostPort(u.Hostname(), u.Port())})
	}
	return out, nil
}

// resolveWorkerVariables returns the worker properties read from path with
// their config provider references resolved, as Kafka's AbstractConfig
// resolves a worker's own file at start (KIP-421). The config.providers.*
// keys themselves are kept as written: the Runner builds the providers
// from them again for the connectors' references.
func resolveWorkerVariables(ctx context.Context, path string, props map[string]string) (map[string]string, error) {
	providers, err := configprovider.FromProperties(props, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(providers) == 0 {
		return props, nil
	}
	own := maps.Clone(props)
	maps.DeleteFunc(own, func(k, _ string) bool { return strings.HasPrefix(k, configprovider.KeyProviders) })
	resolved, _, err := configprovider.Resolve(ctx, providers, own)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := maps.Clone(props)
	maps.Copy(out, resolved)
	return out, nil
}

// run serves the REST API and runs the member until ctx is done (or a
// REST listener fails), then stops gracefully: the REST servers stop, the
// member's tasks drain and commit their offsets, it leaves the group. It
// returns once all of that is done.
func (w *worker) run(ctx context.Context) error {
	var serving sync.WaitGroup
	serveErr := make(chan error, len(w.servers))
	for i, srv := range w.servers {
		l := w.listeners[i]
		w.log.Info("REST API listening", "addr", l.Addr().String())
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
	w.log.Info("distributed worker started", "worker_id", w.runner.WorkerID(), "url", w.advertisedURL, "file", w.path)

	var failure error
	select {
	case <-ctx.Done():
		w.log.Info("stopping: tasks drain and commit their offsets, the worker leaves its group")
	case failure = <-serveErr:
		w.log.Error("stopping", "err", failure)
	case failure = <-runDone:
		// The Runner stopped by itself (it could not join its group, say).
		runDone <- failure
		if failure == nil {
			failure = errors.New("the runner stopped")
		}
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
		w.log.Info("distributed worker stopped")
	}
	if errors.Is(runErr, failure) {
		runErr = nil
	}
	return errors.Join(failure, runErr)
}
