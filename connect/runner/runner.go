package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/internal/safecall"
)

// DefaultStallAfter is Config.StallAfter's default.
const DefaultStallAfter = time.Minute

// Config configures a Runner. Its zero value is usable.
type Config struct {
	// Worker holds worker-level Kafka Connect properties (bootstrap.servers,
	// key.converter, offset.flush.interval.ms, …) handed to every [connect.Plugin]'s
	// New. It is copied.
	Worker map[string]string
	// WorkerID is the worker_id shown in status responses (default
	// "<hostname>:sluice").
	WorkerID string
	// Logger receives the Runner's logs, with a "connector" attribute (and
	// "task" where one is concerned); builders find it through
	// [connect.ContextLogger] (source and sink pipelines add the connector
	// and task attributes themselves). Default: slog.Default().
	//
	// Every line logged about a connector, by the Runner or through the
	// logger its builder got (so by its pipeline, tasks, error reporters
	// and dead-letter queue), has the connector's secrets replaced by
	// MaskedValue in its message and attribute values: the values of its
	// password keys (IsPasswordKey, [connect.Plugin].PasswordKeys,
	// PASSWORD-typed keys) and the worker's, the password and secret
	// options of a sasl.jaas.config, the values config providers supplied,
	// and the quoted (%q, JSON) and base64 forms of all these. A secret
	// shorter than 4 bytes is not masked in free text. A secret a
	// configuration update replaced stays masked, so that the incarnation
	// built with it shuts down without showing it.
	//
	// Masking covers what a pipeline logs through the logger the Runner
	// hands its builder (connect.ContextLogger of the build context), which
	// the plugins built from properties use. A BuildFunc that sets its
	// source or sink Config.Logger to a logger of its own opts out of
	// masking for that pipeline: its log lines, its dead-letter queue
	// headers and its tracing spans' error texts then show secrets as they
	// are; pass connect.ContextLogger(ctx) (or a logger derived from it
	// with With or WithGroup) to keep them masked.
	//
	// New wraps the logger's handler in the level filter of the
	// /admin/loggers endpoints (see SetLoggerLevel and LoggerAttr): lines
	// carry a "logger" attribute with Kafka Connect's class names
	// (LoggerWorker, LoggerWorkerSinkTask, …) and are dropped below their
	// logger's level. The handler's own minimum still applies: a level
	// below it set through the API lets nothing more through.
	Logger *slog.Logger
	// MeterProvider receives Kafka Connect's metrics, read from the
	// pipelines' status at collection time (see MeterName); nil means no
	// metrics.
	MeterProvider metric.MeterProvider
	// StallAfter is how long a RUNNING task with work available (lag or
	// records in flight) may go without delivering anything before it is
	// reported stalled (default DefaultStallAfter).
	StallAfter time.Duration
	// ConfigProviders resolve ${name:path:key} and ${name:key} references
	// in the configurations of connectors built from properties, by
	// provider name (the "name" in the reference): a secrets manager, a
	// vault, or anything else implementing [configprovider.Provider]. They
	// come on top of (and replace, for the same name) the providers the
	// Worker properties declare with Kafka Connect's config.providers keys
	// (see [configprovider.FromProperties]; the built-in classes are Kafka's
	// FileConfigProvider, EnvVarConfigProvider and DirectoryConfigProvider).
	// The Runner keeps every configuration as written and resolves the
	// references (the connector's and the Worker properties') each time it
	// builds the connector (start, restart, resume from STOPPED, offsets
	// operation), so that a changed secret is picked up by a restart;
	// resolved values are never shown by the REST API, logged, or put in
	// status traces. References that no provider resolves are left as
	// written, as Kafka Connect leaves them. A pipeline built in Go
	// (AddPipeline) resolves nothing: its BuildFunc builds it as it likes.
	ConfigProviders map[string]configprovider.Provider
	// ConfigProviderClasses are provider classes that
	// config.providers.<name>.class may name in the Worker properties,
	// beyond Kafka's built-in ones (which an entry may replace).
	ConfigProviderClasses map[string]configprovider.Factory
	// Cluster makes the Runner a member of a cluster of Runners sharing
	// their connectors and tasks through Kafka (see ClusterConfig). When
	// nil, New derives it from the Worker properties when they hold
	// config.storage.topic (ClusterConfigFromProperties); otherwise the
	// Runner runs every connector and task itself (standalone).
	Cluster *ClusterConfig
	// Version, Commit and KafkaClusterID are reported by GET / (Kafka
	// Connect's ServerInfo: {"version","commit","kafka_cluster_id"}); Version
	// is also the metrics' instrumentation scope version. Version and Commit
	// default to what the package-level Version function returns,
	// KafkaClusterID to the id the brokers report (Runner.KafkaClusterID).
	Version, Commit, KafkaClusterID string
	// DisableTopicTracking turns Kafka Connect's active-topic tracking
	// (KIP-558) off: GET /connectors/{name}/topics and its reset answer
	// 403 "Topic tracking is disabled.". The Worker property
	// topic.tracking.enable=false sets it too (default: tracking on).
	DisableTopicTracking bool
	// DisableTopicTrackingReset refuses PUT /connectors/{name}/topics/reset
	// (403 "Topic tracking reset is disabled."). The Worker property
	// topic.tracking.allow.reset=false sets it too (default: allowed).
	DisableTopicTrackingReset bool
}

// BuildFunc builds a new, not yet run [connect.Pipeline]. A Pipeline runs once, so the
// Runner calls its BuildFunc again for every (re)start: after a restart, a
// resume from STOPPED, or a configuration change. ctx carries the Runner's
// logger for the connector (see [connect.ContextLogger]) and is meant for the build
// only: the pipeline gets its run context from Run. In cluster mode the
// pipeline must implement [connect.TaskAssignable] (source and sink
// pipelines do), and the Runner also builds one, never run, to compute
// the connector's task configurations on the member that owns it.
type BuildFunc func(ctx context.Context) (connect.Pipeline, error)

// Errors returned by the Runner; test with errors.Is. The REST handler maps
// them to Kafka Connect's status codes (shown in brackets).
var (
	ErrConnectorNotFound = errors.New("connector not found")             // 404
	ErrConnectorExists   = errors.New("connector already exists")        // 409
	ErrTaskNotFound      = errors.New("task not found")                  // 404
	ErrPluginNotFound    = errors.New("connector plugin not found")      // 404 (400 in a connector config)
	ErrInvalidConfig     = errors.New("invalid connector configuration") // 400
	ErrStopped           = errors.New("runner stopped")                  // 503
	// ErrRebalancing refuses a request that needs to know where a task
	// runs while the cluster is rebalancing (cluster mode); retry it.
	ErrRebalancing = errors.New("cluster is rebalancing") // 409
)

// runnerError is an error with a Kafka-Connect-style message that matches
// one of the sentinel errors above.
type runnerError struct {
	kind error
	msg  string
	err  error // an optional cause
}

func (e *runnerError) Error() string        { return e.msg }
func (e *runnerError) Is(target error) bool { return target == e.kind }
func (e *runnerError) Unwrap() error        { return e.err }

func notFound(name string) error {
	return &runnerError{kind: ErrConnectorNotFound, msg: "Connector " + name + " not found"}
}

// Runner supervises pipelines (connectors) with independent lifecycles:
// adding, reconfiguring, pausing, stopping, restarting or removing one never
// touches another. Pipelines are built in Go (AddPipeline) or from Kafka
// Connect property maps through the plugins the application registered
// (Register, CreateConnector, PutConnectorConfig), and each runs in its own
// goroutine under its own context. Pipelines added before Run start when Run
// is called; those added later start at once. Handler serves Kafka Connect's
// REST API over the Runner.
//
// A Runner's methods are safe for concurrent use. Status is computed live
// from each pipeline's [connect.Pipeline.PipelineStatus] when asked, never cached.
type Runner struct {
	cfg Config
	// log is the Runner's own logger (LoggerWorker); base, the one the
	// connectors' loggers derive from. Both filter by levels (loggers.go).
	log, base  *slog.Logger
	levels     *logLevels
	levelLog   *slog.Logger
	stallAfter time.Duration
	now        func() time.Time

	providers map[string]configprovider.Provider // read-only after New

	mu      sync.Mutex
	plugins []*connect.Plugin
	slots   map[string]*slot
	ctx     context.Context // Run's, once started
	started bool            // Run was called
	closing bool            // Run's context is done: no new slot goroutines
	done    bool            // Run returned
	wg      sync.WaitGroup  // slot goroutines

	metrics *runnerMetrics
	cluster *clusterRuntime // nil in standalone mode

	clusterID clusterIDCache // clusterid.go
}

// New returns a Runner configured by cfg. It fails when cfg.Validate
// fails, when the Worker properties' config.providers keys are invalid
// (the error names the key) or when the metrics instruments cannot be
// registered with cfg.MeterProvider.
func New(cfg Config) (*Runner, error) {
	cfg.Worker = maps.Clone(cfg.Worker)
	if cfg.Worker == nil {
		cfg.Worker = map[string]string{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	cfg.applyTopicTrackingProps()
	providers, err := configprovider.FromProperties(cfg.Worker, cfg.ConfigProviderClasses)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	maps.Copy(providers, cfg.ConfigProviders)
	if cfg.WorkerID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		cfg.WorkerID = host + ":sluice"
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.Version == "" || cfg.Commit == "" {
		v, c := Version()
		if cfg.Version == "" {
			cfg.Version = v
		}
		if cfg.Commit == "" {
			cfg.Commit = c
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Cluster == nil {
		c, err := ClusterConfigFromProperties(cfg.Worker)
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		cfg.Cluster = c
	}
	base, levels := installLogLevels(log)
	log = base.With(LoggerAttr, LoggerWorker)
	r := &Runner{cfg: cfg, log: log, base: base, levels: levels, levelLog: base.With(LoggerAttr, loggerLoggers), stallAfter: cfg.StallAfter, now: time.Now, slots: map[string]*slot{}, providers: providers}
	if cfg.Cluster != nil {
		cr, err := newClusterRuntime(r, *cfg.Cluster)
		if err != nil {
			return nil, err
		}
		r.cluster = cr
		r.cfg.WorkerID = cr.workerID
	}
	if cfg.MeterProvider != nil {
		m, err := newRunnerMetrics(r, cfg.MeterProvider)
		if err != nil {
			return nil, fmt.Errorf("runner: registering metrics: %w", err)
		}
		r.metrics = m
	}
	return r, nil
}

// WorkerID returns the worker id shown in status responses.
func (r *Runner) WorkerID() string { return r.cfg.WorkerID }

// Run starts every pipeline added so far (those added later start when
// added) and blocks until ctx is done; then it stops every pipeline (each
// pipeline's Run gets a cancelled context and drains as its contract says)
// and returns once every pipeline goroutine has exited. After Run returned,
// the Runner accepts no new pipelines (ErrStopped) and its metrics
// callback is unregistered. Run may be called once; it returns nil after a
// graceful stop.
//
// In cluster mode (Config.Cluster) Run first opens the config and status
// topics (creating them if missing; while Kafka cannot be reached it
// retries, backing off up to 30 s), writes the connectors declared with
// AddPipeline whose configuration the config topic does not hold as
// declared, and joins the group; this member then runs the connectors and
// tasks the group assigns it. When ctx is done it leaves the group (its
// tasks stop and their work moves to the other members) before returning.
// A topic Kafka Connect would refuse (a config topic with more than one
// partition, or not compacted) or a group the broker refuses for good
// ends Run with an error naming the topic or group.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("runner: Runner.Run called twice")
	}
	r.started = true
	// In cluster mode a failure to join (a config topic Kafka Connect
	// would refuse, an authorization error) ends Run: cancel lets it stop
	// the slots without waiting for the caller's ctx.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.ctx = ctx
	for _, s := range r.slots {
		r.startSlotLocked(s)
	}
	r.mu.Unlock()
	r.log.Info("runner started", "worker_id", r.cfg.WorkerID)

	var runErr error
	if r.cluster != nil {
		runErr = r.cluster.run(ctx)
		if runErr != nil {
			r.log.Error("runner cannot run as a cluster member; stopping", "error", runErr)
		}
		cancel()
	}
	<-ctx.Done()
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
	if r.metrics != nil {
		r.metrics.close()
	}
	r.log.Info("runner stopped", "worker_id", r.cfg.WorkerID)
	return runErr
}

// startSlotLocked starts s's goroutine; r.mu is held and Run has started.
func (r *Runner) startSlotLocked(s *slot) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		s.loop(r.ctx)
		r.mu.Lock()
		if r.slots[s.name] == s && s.isRemoved() {
			delete(r.slots, s.name)
		}
		r.mu.Unlock()
	}()
}

// addSlot registers a new slot and starts it if Run is running.
func (r *Runner) addSlot(s *slot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing || r.done {
		return &runnerError{kind: ErrStopped, msg: "The runner has stopped; connector " + s.name + " cannot be added"}
	}
	if old, ok := r.slots[s.name]; ok {
		if old.isRemoved() {
			return &runnerError{kind: ErrConnectorExists, msg: "Connector " + s.name + " is being deleted; retry once it is gone"}
		}
		return &runnerError{kind: ErrConnectorExists, msg: "Connector " + s.name + " already exists"}
	}
	r.slots[s.name] = s
	if r.started {
		r.startSlotLocked(s)
	}
	return nil
}

// slot returns the live (not removed) slot of name.
func (r *Runner) slot(name string) (*slot, error) {
	r.mu.Lock()
	s, ok := r.slots[name]
	r.mu.Unlock()
	if !ok || s.isRemoved() {
		return nil, notFound(name)
	}
	return s, nil
}

// slotAny returns the slot of name, removed or not, or nil.
func (r *Runner) slotAny(name string) *slot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slots[name]
}

// liveSlots returns the live slots sorted by name.
func (r *Runner) liveSlots() []*slot {
	r.mu.Lock()
	out := make([]*slot, 0, len(r.slots))
	for _, s := range r.slots {
		out = append(out, s)
	}
	r.mu.Unlock()
	out = slices.DeleteFunc(out, func(s *slot) bool { return s.isRemoved() })
	slices.SortFunc(out, func(a, b *slot) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return out
}

func (r *Runner) runState() (started, done bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started, r.closing || r.done
}

func validName(name string) error {
	if name == "" {
		return &runnerError{kind: ErrInvalidConfig, msg: "Connector name cannot be empty"}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return &runnerError{kind: ErrInvalidConfig, msg: fmt.Sprintf("Connector name %q contains a control character", name)}
		}
	}
	return nil
}

// AddPipeline adds a pipeline built in Go: build is called (again) every
// time the pipeline (re)starts. config is what GET
// /connectors/{name}/config shows (passwords masked) and may be nil; its
// "name" is set to name. The pipeline starts RUNNING once Run runs; call
// Pause or Stop before Run to start it otherwise. It fails with
// ErrConnectorExists if name is taken, and with ErrStopped after Run
// returned.
//
// In cluster mode AddPipeline declares the connector on this member: once
// Run opened the config topic, config is written there unless it holds an
// equal one (every replica declaring the same connector converges on one
// record; a different one replaces it, last writer wins), and the
// connector runs once in the cluster, its tasks wherever the group
// assigns them; this member builds with build whatever share it is
// assigned, and also to compute the connector's task configurations when
// it owns the connector (that pipeline is not run). A name already in the
// config topic is not an error. Pause, Stop and UpdatePipeline need the
// connector to be in the config topic: call them after Run started.
func (r *Runner) AddPipeline(name string, config map[string]string, build BuildFunc) error {
	if err := validName(name); err != nil {
		return err
	}
	if build == nil {
		return &runnerError{kind: ErrInvalidConfig, msg: "connector " + name + ": a BuildFunc is required"}
	}
	r.warnConfig(name, nil, "", config)
	if r.cluster != nil {
		if _, done := r.runState(); done {
			return &runnerError{kind: ErrStopped, msg: "The runner has stopped; connector " + name + " cannot be added"}
		}
		return r.cluster.declare(name, withName(config, name), build)
	}
	s := newSlot(r, name, withName(config, name), nil, build, connect.StateRunning)
	if err := r.addSlot(s); err != nil {
		return err
	}
	s.log.Info("connector added", "config", s.logConfig())
	return nil
}

// UpdatePipeline replaces a pipeline's config and builder and restarts that
// pipeline only (unless it is STOPPED: it then starts with the new ones when
// resumed). It fails with ErrConnectorNotFound for an unknown name.
func (r *Runner) UpdatePipeline(name string, config map[string]string, build BuildFunc) error {
	if build == nil {
		return &runnerError{kind: ErrInvalidConfig, msg: "connector " + name + ": a BuildFunc is required"}
	}
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	typ := s.typ
	s.mu.Unlock()
	r.warnConfig(name, nil, typ, config)
	if r.cluster != nil {
		return r.cluster.declare(name, withName(config, name), build)
	}
	s.reconfigure(withName(config, name), nil, build)
	return nil
}

// CreateConnector adds a connector from Kafka Connect properties: config's
// connector.class names a registered [connect.Plugin], whose New builds the pipeline
// with the Runner's worker properties and config. The configuration is
// validated first (framework keys and the plugin's Validate); an invalid
// one fails with an error matching ErrInvalidConfig that lists every issue.
// initial is RUNNING (or ""), PAUSED or STOPPED (KIP-980). It fails with
// ErrConnectorExists if name is taken.
//
// A key of config that neither the framework nor the plugin's Config
// defines (e.g. errors.tolerence) is accepted but logged at WARN on
// Config.Logger with the connector's name, in Kafka's classic wording "The
// configuration 'errors.tolerence' was supplied but isn't a known config."
// and a did-you-mean hint; so are connector-level key.converter.* (value.,
// header.) sub-keys without the converter key, which have no effect, and a
// dead letter queue under errors.tolerance=none, which receives only the
// record that fails the task. PutConnectorConfig, PatchConnectorConfig,
// AddPipeline and UpdatePipeline log the same (for a pipeline built in
// Go, whose keys the Runner cannot know, only unknown keys in the
// framework's namespaces such as errors.* and transforms.*). See
// ValidateConfig for how the validate endpoint shows unknown keys.
func (r *Runner) CreateConnector(name string, config map[string]string, initial connect.State) error {
	if err := validName(name); err != nil {
		return err
	}
	switch initial {
	case "":
		initial = connect.StateRunning
	case connect.StateRunning, connect.StatePaused, connect.StateStopped:
	default:
		return &runnerError{kind: ErrInvalidConfig, msg: fmt.Sprintf("Invalid initial state %q: use RUNNING, PAUSED or STOPPED", initial)}
	}
	config, err := checkConfigName(name, config)
	if err != nil {
		return err
	}
	p, err := r.checkConnectorConfig(config)
	if err != nil {
		return err
	}
	r.warnConfig(name, p, "", config)
	if r.cluster != nil {
		if r.cluster.exists(name) {
			return &runnerError{kind: ErrConnectorExists, msg: "Connector " + name + " already exists"}
		}
		return r.cluster.putConfig(context.Background(), name, config, clusterTarget(initial))
	}
	s := newSlot(r, name, config, p, nil, initial)
	if err := r.addSlot(s); err != nil {
		return err
	}
	s.log.Info("connector created", "class", p.Class, "initial_state", string(initial), "config", s.logConfig())
	return nil
}

// checkConfigName returns a copy of config whose "name" is name, or an error
// if config names another connector (as Kafka Connect's REST layer does).
func checkConfigName(name string, config map[string]string) (map[string]string, error) {
	if n, ok := config["name"]; ok && n != name {
		return nil, &runnerError{kind: ErrInvalidConfig, msg: fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name)}
	}
	return withName(config, name), nil
}

func withName(config map[string]string, name string) map[string]string {
	c := maps.Clone(config)
	if c == nil {
		c = map[string]string{}
	}
	c["name"] = name
	return c
}

// PutConnectorConfig creates the connector if it does not exist (created is
// then true) or replaces its configuration, restarting that connector only
// (a STOPPED one stays stopped and uses the new configuration when
// resumed). An unchanged configuration restarts nothing. Values of password
// keys equal to "[hidden]" (what GET /config shows) keep their current
// value. Errors as CreateConnector's; a pipeline added with AddPipeline can
// be given a configuration only if it names a registered connector.class
// (use UpdatePipeline otherwise).
func (r *Runner) PutConnectorConfig(name string, config map[string]string) (created bool, err error) {
	if err := validName(name); err != nil {
		return false, err
	}
	config, err = checkConfigName(name, config)
	if err != nil {
		return false, err
	}
	s, err := r.slot(name)
	if err != nil {
		return true, r.CreateConnector(name, config, connect.StateRunning)
	}
	return false, r.updateConfig(s, config)
}

// PatchConnectorConfig merges patch into the connector's configuration (a
// nil value removes the key; KIP-477) and applies the result as
// PutConnectorConfig does. It fails with ErrConnectorNotFound for an unknown
// connector.
func (r *Runner) PatchConnectorConfig(name string, patch map[string]*string) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	cfg := s.configCopy()
	for k, v := range patch {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = *v
		}
	}
	cfg, err = checkConfigName(name, cfg)
	if err != nil {
		return err
	}
	return r.updateConfig(s, cfg)
}

func (r *Runner) updateConfig(s *slot, config map[string]string) error {
	old, plugin, build := s.definition()
	// "[hidden]" placeholders of password keys keep the current value.
	for k, v := range config {
		if v == MaskedValue && isPasswordKey(k, plugin) {
			if cur, ok := old[k]; ok {
				config[k] = cur
			}
		}
	}
	if build != nil && plugin == nil {
		if _, ok := config["connector.class"]; !ok {
			return &runnerError{kind: ErrInvalidConfig, msg: "Connector " + s.name + " was built in Go (Runner.AddPipeline): its configuration can be replaced only by one with a registered connector.class, or with Runner.UpdatePipeline"}
		}
	}
	p, err := r.checkConnectorConfig(config)
	if err != nil {
		return err
	}
	r.warnConfig(s.name, p, "", config)
	if maps.Equal(old, config) && plugin == p {
		s.log.Info("connector configuration unchanged; nothing restarted")
		return nil
	}
	if r.cluster != nil {
		return r.cluster.putConfig(context.Background(), s.name, config, "")
	}
	s.reconfigure(config, p, nil)
	return nil
}

// ConnectorConfig returns a copy of the connector's configuration as
// written, passwords in clear and config provider references unresolved:
// it is the application's own configuration (the REST handler masks the
// passwords, see Handler).
func (r *Runner) ConnectorConfig(name string) (map[string]string, error) {
	s, err := r.slot(name)
	if err != nil {
		return nil, err
	}
	return s.configCopy(), nil
}

// Connectors returns the connectors' names, sorted.
func (r *Runner) Connectors() []string {
	slots := r.liveSlots()
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.name
	}
	return out
}

// Status returns the connector's live status: its state and each task's,
// with progress facts and the stalled flag. The report's errors show the
// connector's secrets masked (see ConnectorReport.Err).
func (r *Runner) Status(name string) (ConnectorReport, error) {
	s, err := r.slot(name)
	if err != nil {
		return ConnectorReport{}, err
	}
	return s.statusReport(), nil
}

// TaskConfigs returns each current task's configuration (see
// [connect.TaskConfigLister]); a connector that is not running has none.
// A key whose connector configuration holds a config provider reference
// shows that reference, not the resolved value (as Kafka Connect's), and
// values config providers supplied are masked elsewhere.
func (r *Runner) TaskConfigs(name string) ([]map[string]string, error) {
	s, err := r.slot(name)
	if err != nil {
		return nil, err
	}
	return s.taskConfigs(), nil
}

// Pause pauses the connector: its tasks stop taking new records but keep
// their resources (Kafka Connect's PAUSED). Pausing a STOPPED connector
// starts it paused. It is idempotent.
func (r *Runner) Pause(name string) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	if r.cluster != nil {
		return r.cluster.setTarget(context.Background(), name, connect.StatePaused)
	}
	s.setTarget(connect.StatePaused)
	return nil
}

// Resume undoes Pause, and starts a STOPPED connector (KIP-875). A FAILED
// connector stays failed: restart it. It is idempotent.
func (r *Runner) Resume(name string) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	if r.cluster != nil {
		return r.cluster.setTarget(context.Background(), name, connect.StateRunning)
	}
	s.setTarget(connect.StateRunning)
	return nil
}

// Stop stops the connector's pipeline (its tasks drain and commit as their
// contract says) and keeps it STOPPED until resumed, restarted or
// reconfigured; its offsets can then be altered or reset (KIP-875). Stop
// waits until the pipeline stopped or ctx is done. It is idempotent.
func (r *Runner) Stop(ctx context.Context, name string) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	if r.cluster != nil {
		if err := r.cluster.setTarget(ctx, name, connect.StateStopped); err != nil {
			return err
		}
	} else {
		s.setTarget(connect.StateStopped)
	}
	return s.waitIdle(ctx)
}

// RestartOptions selects what Restart restarts (KIP-745).
type RestartOptions struct {
	// IncludeTasks restarts the tasks too; OnlyFailed restarts only the
	// connector and tasks that are FAILED.
	IncludeTasks, OnlyFailed bool
}

// Restart restarts the connector as opts say and returns its status at that
// moment with what is being restarted shown RESTARTING (the body of Kafka
// Connect's 202 response). With neither option (Kafka Connect's legacy
// restart, 204) only the connector restarts and its tasks keep running
// untouched: through [connect.ConnectorRestarter] when the pipeline
// implements it (a source recomputes its task configs and reconfigures
// only the tasks whose config changed), else nothing but the state
// transition; a connector that is FAILED or not running, or whose config
// provider references now resolve to other values, restarts as a whole
// (standalone; in cluster mode as before). Otherwise a pipeline restarts
// as a whole (connector and tasks together) unless only failed tasks are
// to be restarted and it implements [connect.TaskRestarter]; the status
// says which. Restarting a STOPPED connector does nothing. A whole restart
// proceeds asynchronously; a connector-only one is done on return.
func (r *Runner) Restart(name string, opts RestartOptions) (ConnectorReport, error) {
	s, err := r.slot(name)
	if err != nil {
		return ConnectorReport{}, err
	}
	if r.cluster != nil {
		rep := s.statusReport()
		if err := r.cluster.requestRestart(context.Background(), name, opts); err != nil {
			return rep, err
		}
		return restartingReport(rep, opts), nil
	}
	rep, err := s.restart(opts)
	rep.Version = s.version()
	return rep, s.scrubErr(err)
}

// RestartTask restarts one task: in place when the pipeline implements
// [connect.TaskRestarter], else by restarting the pipeline. It fails with
// ErrTaskNotFound when the connector has no such task.
func (r *Runner) RestartTask(name string, task int) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	if r.cluster != nil {
		return s.scrubErr(r.cluster.restartTask(s, task, true))
	}
	return s.scrubErr(s.restartTask(task))
}

// Remove stops the connector and removes it (DELETE /connectors/{name}). It
// waits until the pipeline stopped or ctx is done; in the latter case the
// connector is gone from every listing already and is removed once its
// pipeline stopped.
func (r *Runner) Remove(ctx context.Context, name string) error {
	s, err := r.slot(name)
	if err != nil {
		return err
	}
	if r.cluster != nil {
		if err := r.cluster.remove(ctx, name); err != nil {
			return err
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	s.remove()
	s.log.Info("connector deleted")
	started, _ := r.runState()
	if !started {
		r.mu.Lock()
		if r.slots[name] == s && !r.started {
			delete(r.slots, name)
		}
		r.mu.Unlock()
		return nil
	}
	select {
	case <-s.done:
		// The slot's goroutine deletes it too, but only after done is
		// closed: delete it here so that the name is free when Remove
		// returns (an AddPipeline right after must not see it).
		r.mu.Lock()
		if r.slots[name] == s {
			delete(r.slots, name)
		}
		r.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Offsets lists the connector's committed offsets (KIP-875 shape); it works
// in any state. It fails with [connect.ErrOffsetsUnsupported] when the pipeline
// does not implement [connect.OffsetManager].
func (r *Runner) Offsets(ctx context.Context, name string) ([]connect.OffsetEntry, error) {
	s, err := r.slot(name)
	if err != nil {
		return nil, err
	}
	om, release, err := s.offsetManager(ctx, false)
	if err != nil {
		return nil, err
	}
	defer release()
	out, err := om.ListOffsets(ctx)
	if err != nil {
		return nil, s.scrubErr(err)
	}
	if out == nil {
		out = []connect.OffsetEntry{}
	}
	return out, nil
}

// AlterOffsets alters (or, for a nil Offset, resets) the given partitions'
// offsets. The connector must be STOPPED ([connect.ErrNotStopped] otherwise,
// Kafka Connect's rule) and its pipeline must implement
// [connect.OffsetManager]. It is AlterConnectorOffsets without its report.
func (r *Runner) AlterOffsets(ctx context.Context, name string, entries []connect.OffsetEntry) error {
	_, err := r.AlterConnectorOffsets(ctx, name, entries)
	return err
}

// AlterConnectorOffsets is AlterOffsets that first asks the connector
// (when its pipeline implements [connect.ConnectorOffsetsAlterer]) and
// reports whether the connector manages its offsets itself (see
// [connect.OffsetsAlterer]; REST then answers Kafka Connect's short
// message, else its "framework-managed" one). An error of the connector
// leaves the store unchanged.
func (r *Runner) AlterConnectorOffsets(ctx context.Context, name string, entries []connect.OffsetEntry) (managed bool, err error) {
	s, err := r.slot(name)
	if err != nil {
		return false, err
	}
	om, release, err := s.offsetManager(ctx, true)
	if err != nil {
		return false, err
	}
	defer release()
	if managed, err = askConnectorOffsets(ctx, s, om, entries); err != nil {
		return false, err
	}
	if err := om.AlterOffsets(ctx, entries); err != nil {
		return false, s.scrubErr(err)
	}
	s.log.Info("offsets altered", "partitions", len(entries))
	return managed, nil
}

// ResetOffsets deletes every committed offset of the connector; it must be
// STOPPED, as for AlterOffsets. It is ResetConnectorOffsets without its
// report.
func (r *Runner) ResetOffsets(ctx context.Context, name string) error {
	_, err := r.ResetConnectorOffsets(ctx, name)
	return err
}

// ResetConnectorOffsets is ResetOffsets that first asks the connector, as
// AlterConnectorOffsets does, with every committed partition and a nil
// offset (Kafka Connect's reset), and reports its answer.
func (r *Runner) ResetConnectorOffsets(ctx context.Context, name string) (managed bool, err error) {
	s, err := r.slot(name)
	if err != nil {
		return false, err
	}
	om, release, err := s.offsetManager(ctx, true)
	if err != nil {
		return false, err
	}
	defer release()
	if _, ok := om.(connect.ConnectorOffsetsAlterer); ok {
		current, err := om.ListOffsets(ctx)
		if err != nil {
			return false, s.scrubErr(err)
		}
		reset := make([]connect.OffsetEntry, len(current))
		for i, e := range current {
			reset[i] = connect.OffsetEntry{Partition: e.Partition}
		}
		if managed, err = askConnectorOffsets(ctx, s, om, reset); err != nil {
			return false, err
		}
	}
	if err := om.ResetOffsets(ctx); err != nil {
		return false, s.scrubErr(err)
	}
	s.log.Info("offsets reset")
	return managed, nil
}

// askConnectorOffsets hands an offsets change to the connector first.
func askConnectorOffsets(ctx context.Context, s *slot, om connect.OffsetManager, entries []connect.OffsetEntry) (bool, error) {
	ca, ok := om.(connect.ConnectorOffsetsAlterer)
	if !ok {
		return false, nil
	}
	// Connector code: a panic fails the request (a 500 naming it), not
	// the caller.
	var managed bool
	err := safecall.Call("AlterOffsets", func() (err error) {
		managed, err = ca.AlterConnectorOffsets(ctx, entries)
		return err
	})
	if errors.Is(err, errors.ErrUnsupported) {
		// Kafka Connect's message as is; the cause stays in the chain.
		msg := fmt.Sprintf("Failed to modify offsets for connector %s because it doesn't support external modification of offsets", s.name)
		return false, s.scrubErr(&runnerError{kind: errors.ErrUnsupported, msg: msg, err: err})
	}
	if err != nil {
		// As Kafka Connect, the connector's own message (a 500).
		return false, s.scrubErr(err)
	}
	return managed, nil
}
