package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// Worker keys read by the standalone worker itself (the pipelines read the
// others: converters, offset.flush.*, producer.*, consumer.*).
const (
	keyBootstrap          = "bootstrap.servers"
	keyOffsetsFile        = "offset.storage.file.filename"
	keyOffsetsTopic       = "offset.storage.topic"
	keyOffsetsPartitions  = "offset.storage.partitions"
	keyOffsetsReplication = "offset.storage.replication.factor"
	keyListeners          = "listeners"
	keyRestHost           = "rest.host.name"
	keyRestPort           = "rest.port"
	keyAdvertisedHost     = "rest.advertised.host.name"
	keyAdvertisedPort     = "rest.advertised.port"
	keyAdvertisedListener = "rest.advertised.listener"
)

// defaultBootstrap is bootstrap.servers when the worker file does not set
// it: Kafka Connect's default.
const defaultBootstrap = "localhost:9092"

// embeddedBootstrap, as the value of bootstrap.servers, selects the
// in-process broker (as does the -embedded flag).
const embeddedBootstrap = "embedded"

// defaultListener is where the REST API listens when neither listeners nor
// rest.port/rest.host.name is set: Kafka's port, on the loopback interface
// only (Kafka listens on every interface; the API has no authentication
// unless rest.extension.classes turns it on).
const defaultListener = "http://127.0.0.1:8083"

// restListener is a REST listener of the listeners key.
type restListener struct {
	// scheme is "http" or "https".
	scheme string
	// addr is the host:port to bind (an empty host: every interface).
	addr string
}

// workerConfig is a parsed worker properties file.
type workerConfig struct {
	path  string
	props map[string]string
	// brokers are the bootstrap addresses: bootstrap.servers, else
	// Kafka's default localhost:9092. Empty when embedded is set (the
	// in-process broker's address is filled in once it runs).
	brokers []string
	// embedded is set by bootstrap.servers=embedded: the worker runs an
	// in-process broker whose topics are lost when it exits.
	embedded bool
	// bootstrapDefaulted is set when bootstrap.servers is absent.
	bootstrapDefaulted bool
	// Exactly one of offsetsFile and offsetsTopic is set.
	offsetsFile        string
	offsetsTopic       string
	offsetsPartitions  int32
	offsetsReplication int16
	// listeners are where to serve the REST API.
	listeners []restListener
	// httpsTLS serves the https listeners (nil when there is none): from
	// the listeners.https.ssl.* keys, else the top-level ssl.* keys.
	httpsTLS *tls.Config
	// httpsFromTopLevel is set when the top-level ssl.* keys configure
	// the https listeners (no listeners.https.* key is set).
	httpsFromTopLevel bool
	// advertisedListener is rest.advertised.listener (http, https or
	// empty): the scheme of the listener that gives the worker id.
	advertisedListener string
	// basicAuth is set by rest.extension.classes naming Kafka Connect's
	// BasicAuthSecurityRestExtension.
	basicAuth bool
	// advertisedHost and advertisedPort override the worker id's parts.
	advertisedHost, advertisedPort string
	// warnings are about keys that are accepted but ignored.
	warnings []string
	// providers are the config providers the file declares
	// (config.providers), by name.
	providers map[string]configprovider.Provider
}

// readWorkerConfig reads the worker properties file at path, resolves its
// config provider references and checks it. Errors name the file and the
// key.
func readWorkerConfig(ctx context.Context, path string) (*workerConfig, error) {
	props, err := runner.ReadPropertiesFile(path)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	props, providers, err := resolveWorkerVariables(ctx, path, props)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	c, err := parseWorkerConfig(path, props)
	if err != nil {
		return nil, err
	}
	c.providers = providers
	return c, nil
}

// parseWorkerConfig checks worker properties read from path. Every problem
// is reported, each naming path and its key.
func parseWorkerConfig(path string, props map[string]string) (*workerConfig, error) {
	c := &workerConfig{path: path, props: props}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", path, key, fmt.Sprintf(format, args...)))
	}

	switch v, ok := props[keyBootstrap]; {
	case !ok:
		c.brokers, c.bootstrapDefaulted = []string{defaultBootstrap}, true
	case strings.EqualFold(strings.TrimSpace(v), embeddedBootstrap):
		c.embedded = true
	default:
		c.brokers = parseBootstrap(v)
		if len(c.brokers) == 0 {
			bad(keyBootstrap, "empty value: name the Kafka brokers (host:port,…), leave the key out for Kafka's default %s, or set %s for an in-process broker that keeps nothing", defaultBootstrap, embeddedBootstrap)
		}
	}

	file, hasFile := props[keyOffsetsFile]
	topic, hasTopic := props[keyOffsetsTopic]
	file, topic = strings.TrimSpace(file), strings.TrimSpace(topic)
	switch {
	case file != "" && topic != "":
		bad(keyOffsetsFile, "set either %s or %s, not both", keyOffsetsFile, keyOffsetsTopic)
	case file != "":
		c.offsetsFile = file
	case topic != "":
		c.offsetsTopic = topic
	case hasFile || hasTopic:
		bad(keyOffsetsFile, "empty value: name the offsets file (or set %s to keep offsets in a Kafka topic)", keyOffsetsTopic)
	default:
		bad(keyOffsetsFile, "missing required configuration %q which has no default value (or set %s to keep offsets in a Kafka topic)", keyOffsetsFile, keyOffsetsTopic)
	}
	if v, ok := props[keyOffsetsPartitions]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || (n < 1 && n != -1) {
			bad(keyOffsetsPartitions, "want an integer >= 1 or -1 (the broker's default), got %q", v)
		}
		c.offsetsPartitions = int32(n)
	}
	if v, ok := props[keyOffsetsReplication]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
		if err != nil || (n < 1 && n != -1) {
			bad(keyOffsetsReplication, "want an integer >= 1 or -1 (the broker's default), got %q", v)
		}
		c.offsetsReplication = int16(n)
	}

	// The REST listeners. An https listener may take the top-level ssl.*
	// keys: unless security.protocol is SSL or SASL_SSL they are then not
	// the Kafka clients' (Kafka's clients, and Sluice's, do not use ssl.*
	// keys without TLS).
	listeners, err := parseListeners(props)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	c.listeners = listeners
	if slices.ContainsFunc(listeners, func(l restListener) bool { return l.scheme == "https" }) {
		tlsCfg, err := runner.HTTPSConfigFromProperties(props)
		if err != nil {
			for _, e := range leafErrors(err) {
				errs = append(errs, fmt.Errorf("%s: %w (for the https listener of %s)", path, e, keyListeners))
			}
		}
		c.httpsTLS = tlsCfg
		c.httpsFromTopLevel = !slices.ContainsFunc(slices.Collect(maps.Keys(props)), func(k string) bool { return strings.HasPrefix(k, runner.HTTPSListenerPrefix) })
	}
	if v, ok := props[keyAdvertisedListener]; ok && strings.TrimSpace(v) != "" {
		c.advertisedListener = strings.ToLower(strings.TrimSpace(v))
		switch {
		case c.advertisedListener != "http" && c.advertisedListener != "https":
			bad(keyAdvertisedListener, "want http or https, got %q", v)
		case len(listeners) > 0 && !slices.ContainsFunc(listeners, func(l restListener) bool { return l.scheme == c.advertisedListener }):
			bad(keyAdvertisedListener, "%s, but %s has no %s listener", c.advertisedListener, keyListeners, c.advertisedListener)
		}
	}
	if v, ok := props[keyRestExtensions]; ok {
		basic, err := parseRestExtensions(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		c.basicAuth = basic
	}
	// Converters, offset.flush.*, task.shutdown.*, producer.* and
	// consumer.*: parsed as the pipelines will (each connector's pipeline
	// parses the worker properties with its own), so that a mistake fails
	// here, naming the worker file. The sink parse sees only the consumer
	// keys: the shared ones are reported once, by the source parse.
	// The offset.storage.* keys are the worker's own (checked above: the
	// worker opens the store and hands it to every source pipeline).
	const self = "worker" // the placeholder connector name
	pipelineProps := maps.Clone(props)
	maps.DeleteFunc(pipelineProps, func(k, _ string) bool { return strings.HasPrefix(k, "offset.storage.") })
	// The worker opens the offset store (with the top-level security
	// keys) and hands it to the pipelines: a stand-in store here.
	trial, err := source.ConfigFromProperties(pipelineProps, map[string]string{"name": self}, source.PropertyOptions{OffsetStore: offsets.NewMemoryStore()})
	for _, e := range leafErrors(err) {
		errs = append(errs, fmt.Errorf("%s: %s", path, strings.TrimPrefix(e.Error(), `source connector "`+self+`": `)))
	}
	if err == nil && trial.ExactlyOnce.Enabled && (c.offsetsFile != "") != (c.offsetsTopic != "") {
		for _, e := range exactlyOnceWorkerErrors(trial, c) {
			errs = append(errs, fmt.Errorf("%s: %w", path, e))
		}
		if c.offsetsFile != "" {
			c.warnings = append(c.warnings, exactlyOnceFileWarning)
		}
	}
	maps.DeleteFunc(pipelineProps, func(k, _ string) bool { return !strings.HasPrefix(k, "consumer.") })
	_, err = sink.ConfigFromProperties(pipelineProps, map[string]string{"name": self, "topics": self}, sink.PropertyOptions{})
	for _, e := range leafErrors(err) {
		errs = append(errs, fmt.Errorf("%s: %s", path, strings.TrimPrefix(e.Error(), `sink connector "`+self+`": `)))
	}

	c.advertisedHost = strings.TrimSpace(props[keyAdvertisedHost])
	c.advertisedPort = strings.TrimSpace(props[keyAdvertisedPort])
	if c.advertisedPort != "" {
		if n, err := strconv.Atoi(c.advertisedPort); err != nil || n < 1 || n > 65535 {
			bad(keyAdvertisedPort, "want a port number, got %q", c.advertisedPort)
		}
	}

	// The top-level security keys configure the worker's own clients (the
	// offsets topic store) and the connectors' admin clients (topic
	// creation, the dead-letter queue topic), as Kafka Connect's; the
	// connectors' producers and consumers read producer.* and consumer.*.
	proto := strings.ToUpper(strings.TrimSpace(props["security.protocol"]))
	knownProto := slices.Contains([]string{"", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, proto) // else refused above
	for _, k := range slices.Sorted(maps.Keys(props)) {
		switch {
		case knownProto && strings.HasPrefix(k, "sasl.") && !strings.HasPrefix(proto, "SASL_"),
			knownProto && strings.HasPrefix(k, "ssl.") && proto != "SSL" && proto != "SASL_SSL" && !c.httpsFromTopLevel:
			// Kafka's clients do not use the keys of a protocol they do
			// not speak (nor do Sluice's: offsets.ClientConfigFromProperties).
			c.warnings = append(c.warnings, fmt.Sprintf("%s is not used: security.protocol is %s", k, cmp.Or(proto, "PLAINTEXT (the default)")))
		case k == "plugin.path":
			c.warnings = append(c.warnings, "plugin.path is ignored: Sluice's connectors are compiled in (see examples/standalone/plugins.go)")
		case strings.HasPrefix(k, "internal."):
			c.warnings = append(c.warnings, k+" is ignored: offsets always use Kafka Connect's internal JSON format (Kafka removed the internal converter keys in 3.0)")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// exactlyOnceWorkerErrors returns what source.Config.Validate refuses in
// the worker's exactly-once settings (exactly.once.source.support=enabled
// without group.id, with producer.* keys an exactly-once producer cannot
// have), with its messages: trial is the worker properties parsed as a
// placeholder connector's, c the worker's offset store. The worker refuses
// them at start, as they would fail every source connector it runs,
// including those created later through the REST API. The offsets file is
// not among them: a connector with its own offsets.storage.topic runs
// exactly once on it (the file is the secondary store), the others are
// refused when created, so the worker only warns (exactlyOnceFileWarning).
func exactlyOnceWorkerErrors(trial source.Config, c *workerConfig) []error {
	trial.NewTask = func() source.Task { return nil } // never called: Validate only
	trial.OffsetStore = nil
	trial.OffsetStorage = offsets.Storage{File: c.offsetsFile, Topic: c.offsetsTopic}
	if c.offsetsFile != "" {
		trial.ExactlyOnce.OffsetsTopic = "connector-offsets" // as a connector's own topic would
	}
	return leafErrors(trial.Validate())
}

// exactlyOnceFileWarning is the worker's warning when exactly-once sources
// are enabled on the offsets file.
const exactlyOnceFileWarning = keyOffsetsFile + " with exactly.once.source.support=enabled: exactly-once sources write their offsets in the task's Kafka transaction, " +
	"so only source connectors with their own offsets.storage.topic can run; set " + keyOffsetsTopic + " instead of " + keyOffsetsFile + " for the others"

// parseListeners returns the REST API's listeners: from listeners (Kafka's
// list of http:// and https:// URLs; an empty value turns the API off),
// else from rest.host.name and rest.port (http), else the default.
func parseListeners(props map[string]string) ([]restListener, error) {
	v, ok := props[keyListeners]
	if !ok {
		host, hasHost := props[keyRestHost]
		port, hasPort := props[keyRestPort]
		if !hasHost && !hasPort {
			v = defaultListener
		} else {
			host, port = strings.TrimSpace(host), strings.TrimSpace(port)
			if port == "" {
				port = "8083"
			}
			if !hasHost {
				host = "127.0.0.1"
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return nil, fmt.Errorf("%s: want a port number, got %q", keyRestPort, port)
			}
			return []restListener{{scheme: "http", addr: net.JoinHostPort(host, port)}}, nil
		}
	}
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
		port := u.Port()
		if port == "" {
			return nil, fmt.Errorf("%s: %q has no port", keyListeners, item)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%s: %q: bad port", keyListeners, item)
		}
		out = append(out, restListener{scheme: scheme, addr: net.JoinHostPort(u.Hostname(), port)})
	}
	return out, nil
}

// workerID returns the worker_id of status responses, as Kafka's standalone
// worker: the advertised REST host and port, bound is the first REST
// listener's actual address (nil when the API is off).
func (c *workerConfig) workerID(bound net.Addr) string {
	host, port := "", ""
	if bound != nil {
		host, port, _ = net.SplitHostPort(bound.String())
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = ""
		}
	}
	if c.advertisedHost != "" {
		host = c.advertisedHost
	}
	if c.advertisedPort != "" {
		port = c.advertisedPort
	}
	if host == "" {
		host, _ = os.Hostname()
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		return host + ":sluice"
	}
	return net.JoinHostPort(host, port)
}

// leafErrors flattens err's tree of joined errors into its leaves.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			out = append(out, leafErrors(x)...)
		}
	case interface{ Unwrap() error }:
		// A prefix over joined errors (`source connector "x": ` +
		// errors.Join(…)): the leaves, each with the prefix.
		inner := e.Unwrap()
		if _, joined := inner.(interface{ Unwrap() []error }); joined {
			prefix, _ := strings.CutSuffix(err.Error(), inner.Error())
			for _, x := range leafErrors(inner) {
				out = append(out, fmt.Errorf("%s%w", prefix, x))
			}
			break
		}
		out = append(out, err)
	default:
		out = append(out, err)
	}
	return out
}

// parseBootstrap splits a comma-separated bootstrap.servers value, dropping
// blanks.
func parseBootstrap(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
