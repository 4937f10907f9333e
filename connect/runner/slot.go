package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/redact"
	"github.com/sluicehq/sluice/internal/topicset"
	"github.com/sluicehq/sluice/internal/winstat"
)

// slot holds one connector of a Runner: its definition (config, plugin or
// builder), its target state and its current pipeline incarnation. One
// goroutine (loop) per slot builds and runs incarnations; the Runner's
// methods change the slot's fields and wake it.
type slot struct {
	r    *Runner
	name string
	log  *slog.Logger // the Runner's lines about this connector (masked)
	// plog is the logger the pipeline gets through connect.ContextLogger:
	// the Runner's, masking secrets in every line the pipeline and its
	// tasks log.
	plog *slog.Logger
	// secrets are the connector's secret values as they stand (see
	// refreshSecretsLocked), read without s.mu by the log handlers and the
	// error paths.
	secrets redact.Set
	done    chan struct{} // closed when loop returned
	wake    chan struct{} // capacity 1

	mu           sync.Mutex
	config       map[string]string
	plugin       *connect.Plugin // nil for a pipeline built in Go
	build        BuildFunc       // nil for a plugin-built connector
	typ          string          // pipeline type once known
	target       connect.State
	gen          uint64 // bumped when the definition changes or a restart is ordered
	pendingStart bool   // the loop should (re)start an incarnation
	removed      bool
	offsetOps    int // offsets operations in progress: the loop does not start meanwhile

	pipe     connect.Pipeline // current (or last) incarnation; nil before the first build
	pipeRan  bool             // pipe.Run was called
	busy     bool             // the loop is building or running an incarnation
	idle     chan struct{}
	cancel   context.CancelFunc // cancels the running incarnation
	buildErr error
	runErr   error
	// resolved are the values config providers supplied at the last
	// build: never shown, kept only to mask them in logs and traces.
	resolved []string
	// lastWorker and lastConfig are the worker and connector
	// configurations as last resolved (config providers), compared by a
	// connector-only restart (restartConnector).
	lastWorker, lastConfig map[string]string
	// held are the clear secret values of every configuration the slot
	// has held (see clearSecrets): a rotated secret stays masked while the
	// incarnation built with it shuts down, logs and reports errors.
	held []string

	// Cluster mode (see slot_cluster.go). clustered slots mirror the
	// config topic and run only the tasks assigned to this member:
	// clusterTasks are the committed task configurations, localTasks and
	// ownsConn this member's share, assigned the tasks handed to the
	// running incarnation. tcValid and tcGen say the task configurations
	// were computed for definition generation tcGen (by the owner),
	// connErr is the failure to compute them. assignMu serializes
	// changes of the running incarnation's tasks; runCtx is its context.
	clustered    bool
	clusterTasks []map[string]string
	localTasks   []int
	ownsConn     bool
	assigned     map[int]map[string]string
	tcValid      bool
	tcGen        uint64
	tcWant       []map[string]string // what the owner last computed
	connErr      error
	assignMu     sync.Mutex
	runCtx       context.Context

	restarting   bool
	restarts     int         // whole-pipeline restarts ordered through the Runner
	taskRestarts map[int]int // in-place task restarts
	acc          map[int]*taskTotals
	folded       bool // pipe's counters are included in acc

	// topics are the active topics of finished incarnations (topics.go).
	topics topicset.Set

	// startups and startupFails count connector startups and those that
	// failed (connect-worker-metrics' connector-startup-*; countStartup).
	startups, startupFails atomic.Int64
}

// taskTotals accumulates the counters of a task's finished incarnations, so
// that metrics stay monotonic across restarts.
type taskTotals struct {
	in, out                     int64
	commits, commitFails, skips int64
	errs                        connect.ErrorMetrics
	restarts                    int
	// starts counts task startups (each incarnation, and each restart of
	// it by the restart policy); startFails those that failed before the
	// task started (connect-worker-metrics' task-startup-*).
	starts, startFails int64
}

// add adds a task incarnation's counters.
func (a *taskTotals) add(t connect.TaskStatus) {
	a.starts += 1 + int64(t.Restarts)
	if t.State == connect.StateFailed && t.Started.IsZero() {
		a.startFails++
	}
	a.in += t.RecordsIn
	a.out += t.RecordsOut
	a.commits += t.OffsetCommits
	a.commitFails += t.OffsetCommitFailures
	a.skips += t.OffsetCommitSkips
	a.errs = winstat.AddErrorMetrics(a.errs, t.Errors)
	a.restarts += t.Restarts
}

func newSlot(r *Runner, name string, config map[string]string, p *connect.Plugin, build BuildFunc, target connect.State) *slot {
	idle := make(chan struct{})
	close(idle)
	s := &slot{
		r: r, name: name,
		done: make(chan struct{}), wake: make(chan struct{}, 1),
		config: config, plugin: p, build: build, target: target,
		pendingStart: target != connect.StateStopped, idle: idle,
		taskRestarts: map[int]int{}, acc: map[int]*taskTotals{},
	}
	if p != nil {
		s.typ = p.Type
	}
	s.refreshSecretsLocked() // s is not shared yet
	s.plog = slog.New(redact.NewHandler(r.base.Handler(), &s.secrets))
	s.log = s.plog.With(LoggerAttr, LoggerWorker, "connector", name)
	return s
}

func (s *slot) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *slot) setBusyLocked(b bool) {
	if b == s.busy {
		return
	}
	s.busy = b
	if b {
		s.idle = make(chan struct{})
	} else {
		close(s.idle)
	}
}

func (s *slot) isRemoved() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removed
}

func (s *slot) configCopy() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.config)
}

func (s *slot) configMasked() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maskConfig(s.config, s.plugin, s.r.isProvider)
}

func (s *slot) definition() (map[string]string, *connect.Plugin, BuildFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.config), s.plugin, s.build
}

func (s *slot) buildFuncLocked() BuildFunc {
	if s.build != nil {
		return s.build
	}
	p, worker, config := s.plugin, s.r.cfg.Worker, maps.Clone(s.config)
	return func(ctx context.Context) (connect.Pipeline, error) {
		worker, config, err := s.resolve(ctx, worker, config)
		if err != nil {
			return nil, err
		}
		return p.New(ctx, worker, config)
	}
}

// resolve returns copies of the worker and connector configurations with
// their config provider references resolved, and remembers the values
// supplied so that scrub masks them. Errors name the key and the provider,
// never a value.
func (s *slot) resolve(ctx context.Context, worker, config map[string]string) (map[string]string, map[string]string, error) {
	if len(s.r.providers) == 0 {
		return maps.Clone(worker), maps.Clone(config), nil
	}
	// The worker's own config.providers.* keys are not resolved (Kafka
	// reads them before resolving anything).
	wv := maps.Clone(worker)
	maps.DeleteFunc(wv, func(k, _ string) bool { return strings.HasPrefix(k, configprovider.KeyProviders) })
	wv, wvals, err := configprovider.Resolve(ctx, s.r.providers, wv)
	if err != nil {
		return nil, nil, fmt.Errorf("worker configuration: %w", err)
	}
	w := maps.Clone(worker)
	maps.Copy(w, wv)
	c, cvals, err := configprovider.Resolve(ctx, s.r.providers, config)
	if err != nil {
		return nil, nil, fmt.Errorf("connector configuration: %w", err)
	}
	vals := slices.Concat(wvals, cvals)
	s.mu.Lock()
	s.lastWorker, s.lastConfig = w, c
	for _, v := range vals {
		if !slices.Contains(s.resolved, v) {
			s.resolved = append(s.resolved, v)
		}
	}
	s.refreshSecretsLocked()
	s.mu.Unlock()
	return w, c, nil
}

// countStartup counts a connector startup for connect-worker-metrics'
// connector-startup-*, failed when err is not nil. Builds that only serve
// an offsets request or run a cluster member's tasks are not startups.
func (s *slot) countStartup(err error) {
	s.startups.Add(1)
	if err != nil {
		s.startupFails.Add(1)
	}
}

// buildPipeline calls build with the connector's logger in ctx, turning a
// panic, a nil pipeline or a misnamed one into an error.
func (s *slot) buildPipeline(ctx context.Context, build BuildFunc) (p connect.Pipeline, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("connector %s: building the pipeline panicked: %v\n%s", s.name, v, debug.Stack())
		}
	}()
	p, err = build(connect.ContextWithLogger(ctx, s.plog))
	if err != nil {
		return nil, fmt.Errorf("connector %s: building the pipeline: %w", s.name, err)
	}
	if p == nil {
		return nil, fmt.Errorf("connector %s: the builder returned no pipeline", s.name)
	}
	if p.Name() != s.name {
		return nil, fmt.Errorf("connector %s: the builder returned a pipeline named %q", s.name, p.Name())
	}
	s.mu.Lock()
	s.typ = p.Type()
	s.mu.Unlock()
	return p, nil
}

// runPipeline calls p.Run, turning a panic into an error.
func (s *slot) runPipeline(ctx context.Context, p connect.Pipeline) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("connector %s: pipeline panicked: %v\n%s", s.name, v, debug.Stack())
		}
	}()
	return p.Run(ctx)
}

// loop builds and runs incarnations until the slot is removed or ctx is
// done.
func (s *slot) loop(ctx context.Context) {
	defer close(s.done)
	for {
		s.mu.Lock()
		for !s.removed && ctx.Err() == nil && !(s.pendingStart && s.target != connect.StateStopped && s.offsetOps == 0 && (!s.clustered || len(s.assigned) > 0)) {
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
			s.mu.Lock()
		}
		if s.removed || ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		s.pendingStart = false
		gen := s.gen
		p := s.pipe
		if s.pipeRan {
			p = nil
		}
		build := s.buildFuncLocked()
		s.setBusyLocked(true)
		s.mu.Unlock()

		if p == nil {
			var err error
			p, err = s.buildPipeline(ctx, build)
			if !s.clustered {
				// A standalone connector starts here; in cluster mode
				// this build runs the member's tasks, and the
				// connector starts where its owner computes the task
				// configurations (clusterRuntime.updateTaskConfigs).
				s.countStartup(err)
			}
			if err != nil {
				s.mu.Lock()
				if gen == s.gen {
					s.buildErr, s.restarting = err, false
				}
				s.setBusyLocked(false)
				s.mu.Unlock()
				s.log.Error("connector failed to start", "error", s.scrub(err.Error()))
				continue
			}
		}

		s.mu.Lock()
		if s.removed || ctx.Err() != nil || gen != s.gen || s.target == connect.StateStopped || (s.clustered && len(s.assigned) == 0) {
			// Superseded while building: keep a still valid pipeline for
			// a later start or offsets operation.
			if gen == s.gen && !s.removed {
				s.pipe, s.pipeRan = p, false
			}
			s.setBusyLocked(false)
			s.mu.Unlock()
			continue
		}
		runCtx, cancel := context.WithCancel(ctx)
		if s.clustered {
			// Run exactly the tasks assigned to this member.
			ta, ok := p.(connect.TaskAssignable)
			var err error
			if !ok {
				err = fmt.Errorf("connector %s: its pipeline (%T) cannot run in cluster mode: it does not implement connect.TaskAssignable", s.name, p)
			} else {
				err = ta.AssignTasks(runCtx, maps.Clone(s.assigned))
			}
			if err != nil {
				cancel()
				s.buildErr, s.restarting = err, false
				s.setBusyLocked(false)
				s.mu.Unlock()
				s.log.Error("connector failed to start", "error", s.scrub(err.Error()))
				continue
			}
		}
		s.pipe, s.pipeRan, s.cancel, s.folded, s.runCtx = p, true, cancel, false, runCtx
		s.buildErr, s.runErr, s.restarting = nil, nil, false
		paused := s.target == connect.StatePaused
		if paused {
			p.Pause()
		}
		s.mu.Unlock()
		s.log.Info("connector started", "type", p.Type(), "paused", paused)

		err := s.runPipeline(runCtx, p)
		cancel()
		final := p.PipelineStatus()
		s.foldTopics(p)

		s.mu.Lock()
		s.cancel = nil
		s.runErr = err
		s.foldLocked(final)
		if gen != s.gen && s.target == connect.StateStopped {
			// Reconfigured while stopping: the next start or offsets
			// operation must use a pipeline built from the new definition.
			s.pipe, s.pipeRan = nil, false
		}
		s.setBusyLocked(false)
		s.mu.Unlock()
		if err != nil {
			s.log.Error("connector failed", "error", s.scrub(err.Error()))
		} else {
			s.log.Info("connector stopped")
		}
	}
}

// foldLocked adds a finished incarnation's counters to the totals.
func (s *slot) foldLocked(st connect.PipelineStatus) {
	if s.folded {
		return
	}
	s.folded = true
	for _, t := range st.Tasks {
		a := s.acc[t.ID]
		if a == nil {
			a = &taskTotals{}
			s.acc[t.ID] = a
		}
		a.add(t)
	}
}

// running reports whether an incarnation's Run is in progress.
func (s *slot) runningLocked() bool { return s.cancel != nil }

func (s *slot) setTarget(t connect.State) {
	s.mu.Lock()
	prev := s.target
	s.target = t
	switch t {
	case connect.StatePaused:
		if s.runningLocked() {
			s.pipe.Pause()
		}
	case connect.StateRunning:
		if s.runningLocked() {
			s.pipe.Resume()
		}
	case connect.StateStopped:
		s.pendingStart = false
		if s.cancel != nil {
			s.cancel()
		}
	}
	if prev == connect.StateStopped && t != connect.StateStopped {
		s.pendingStart = true
		s.signal()
	}
	s.mu.Unlock()
	if prev != t {
		s.log.Info("connector target state changed", "from", string(prev), "to", string(t))
	}
}

// reconfigure replaces the definition and restarts the connector unless it
// is STOPPED.
func (s *slot) reconfigure(config map[string]string, p *connect.Plugin, build BuildFunc) {
	s.mu.Lock()
	s.config, s.plugin, s.build = config, p, build
	if p != nil {
		s.typ = p.Type
	}
	s.refreshSecretsLocked()
	s.gen++
	if !s.busy {
		// The last incarnation was built from the old definition.
		s.pipe, s.pipeRan = nil, false
	}
	restart := s.target != connect.StateStopped
	if restart {
		s.restartLocked()
	} else {
		s.buildErr = nil
	}
	logged := s.logConfigLocked()
	s.mu.Unlock()
	s.log.Info("connector reconfigured", "restarting", restart, "config", logged)
}

// restartLocked orders a whole-pipeline restart.
func (s *slot) restartLocked() {
	s.gen++
	s.restarts++
	s.restarting = true
	s.pendingStart = true
	if s.cancel != nil {
		s.cancel()
	}
	s.signal()
}

func (s *slot) remove() {
	s.mu.Lock()
	s.removed = true
	if s.cancel != nil {
		s.cancel()
	}
	s.signal()
	s.mu.Unlock()
}

// waitIdle waits until the incarnation being built or run (if any) has
// ended; a later one (started by a concurrent Resume) is not waited for.
func (s *slot) waitIdle(ctx context.Context) error {
	s.mu.Lock()
	busy, idle := s.busy, s.idle
	s.mu.Unlock()
	if !busy {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slot) restart(opts RestartOptions) (ConnectorReport, error) {
	rep := s.report()
	if rep.Target == connect.StateStopped {
		return rep, nil
	}
	connFailed := rep.State == connect.StateFailed
	var failed []int
	for _, t := range rep.Tasks {
		if t.State == connect.StateFailed {
			failed = append(failed, t.ID)
		}
	}
	if !opts.IncludeTasks && !opts.OnlyFailed {
		return rep, s.restartConnector(rep)
	}
	whole := false
	var inPlace []int
	switch {
	case !opts.IncludeTasks:
		whole = connFailed
	case !opts.OnlyFailed || connFailed:
		whole = true
	case len(failed) > 0:
		inPlace = failed
	}

	s.mu.Lock()
	tr, canInPlace := s.pipe.(connect.TaskRestarter)
	if len(inPlace) > 0 && !(canInPlace && s.runningLocked()) {
		whole, inPlace = true, nil
	}
	if whole {
		s.restartLocked()
	}
	for _, id := range inPlace {
		s.taskRestarts[id]++
	}
	s.mu.Unlock()

	if whole {
		s.log.Info("connector restarting", "include_tasks", opts.IncludeTasks, "only_failed", opts.OnlyFailed)
		rep.State, rep.Err = connect.StateRestarting, nil
		rep.Restarts++
		for i := range rep.Tasks {
			rep.Tasks[i].State, rep.Tasks[i].Err, rep.Tasks[i].Stalled = connect.StateRestarting, nil, false
			rep.Tasks[i].Restarts++
		}
		return rep, nil
	}
	var errs []error
	for _, id := range inPlace {
		s.log.Info("task restarting", "task", id)
		if err := tr.RestartTask(id); err != nil {
			errs = append(errs, fmt.Errorf("restarting task %s-%d: %w", s.name, id, err))
		}
		for i := range rep.Tasks {
			if rep.Tasks[i].ID == id {
				rep.Tasks[i].State, rep.Tasks[i].Err, rep.Tasks[i].Stalled = connect.StateRestarting, nil, false
				rep.Tasks[i].Restarts++
			}
		}
	}
	return rep, errors.Join(errs...)
}

// restartConnector is Kafka Connect's legacy restart (POST
// /connectors/{c}/restart with neither includeTasks nor onlyFailed): the
// connector alone, its tasks untouched. A pipeline that is not running, or
// whose connector FAILED, has nothing running to keep: it restarts as a
// whole. Otherwise a [connect.ConnectorRestarter] restarts its connector
// part; for any other pipeline the connector has no part of its own to
// restart and the call only logs.
//
// As Kafka Connect resolves a connector's config provider references again
// when it restarts the connector (and reconfigures its tasks when their
// configurations changed), a plugin-built connector whose configuration
// holds references is resolved again: when a value changed, or resolving
// fails, the pipeline restarts as a whole.
func (s *slot) restartConnector(rep ConnectorReport) error {
	s.mu.Lock()
	changed := false
	if s.plugin != nil && len(s.r.providers) > 0 && s.runningLocked() && (hasVariables(s.config) || hasVariables(s.r.cfg.Worker)) {
		worker, config, lastW, lastC, ctx := s.r.cfg.Worker, maps.Clone(s.config), s.lastWorker, s.lastConfig, s.runCtx
		s.mu.Unlock()
		w, c, err := s.resolve(ctx, worker, config)
		changed = err != nil || !maps.Equal(w, lastW) || !maps.Equal(c, lastC)
		s.mu.Lock()
	}
	cr, ok := s.pipe.(connect.ConnectorRestarter)
	if changed || rep.State == connect.StateFailed || !s.runningLocked() {
		s.restartLocked()
		s.mu.Unlock()
		s.log.Info("connector restarting")
		return nil
	}
	ctx := s.runCtx
	s.mu.Unlock()
	s.log.Info("connector restarting; its tasks keep running")
	if !ok {
		return nil
	}
	if err := cr.RestartConnector(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("restarting connector %s: %w", s.name, err)
	}
	return nil
}

func (s *slot) restartTask(id int) error {
	rep := s.report()
	if !slices.ContainsFunc(rep.Tasks, func(t TaskReport) bool { return t.ID == id }) {
		return &runnerError{kind: ErrTaskNotFound, msg: fmt.Sprintf("Task %s-%d not found", s.name, id)}
	}
	s.mu.Lock()
	tr, ok := s.pipe.(connect.TaskRestarter)
	if !ok || !s.runningLocked() {
		s.restartLocked()
		s.mu.Unlock()
		s.log.Info("task restart requested: restarting the whole pipeline", "task", id)
		return nil
	}
	s.taskRestarts[id]++
	s.mu.Unlock()
	s.log.Info("task restarting", "task", id)
	if err := tr.RestartTask(id); err != nil {
		return fmt.Errorf("restarting task %s-%d: %w", s.name, id, err)
	}
	return nil
}

// offsetManager returns the pipeline's OffsetManager, building an (unrun)
// pipeline if there is none yet; mutate requires the connector to be
// STOPPED. release must be called when done: until then the connector does
// not start.
func (s *slot) offsetManager(ctx context.Context, mutate bool) (connect.OffsetManager, func(), error) {
	s.mu.Lock()
	if mutate && (s.target != connect.StateStopped || s.busy) {
		s.mu.Unlock()
		return nil, nil, &runnerError{kind: connect.ErrNotStopped, msg: "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/" + s.name + "/stop' endpoint"}
	}
	if mutate && s.clustered && len(s.clusterTasks) > 0 {
		// Cluster mode: STOPPED everywhere once the connector's owner
		// emptied its task configurations (KIP-875); until then a task on
		// another member may still commit over the change.
		s.mu.Unlock()
		return nil, nil, &runnerError{kind: connect.ErrNotStopped, msg: "Connector " + s.name + " is being stopped: its tasks may still run on other workers; retry once GET /connectors/" + s.name + "/status lists no task"}
	}
	s.offsetOps++
	p, gen, build := s.pipe, s.gen, s.buildFuncLocked()
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		s.offsetOps--
		if s.offsetOps == 0 {
			s.signal()
		}
		s.mu.Unlock()
	}
	if p == nil {
		var err error
		p, err = s.buildPipeline(ctx, build)
		if err != nil {
			release()
			return nil, nil, s.scrubErr(err)
		}
		s.mu.Lock()
		if gen == s.gen && s.pipe == nil && !s.busy {
			s.pipe, s.pipeRan = p, false
		}
		s.mu.Unlock()
	}
	om, ok := p.(connect.OffsetManager)
	if !ok {
		release()
		return nil, nil, &runnerError{kind: connect.ErrOffsetsUnsupported, msg: "Connector " + s.name + " does not support offset management (its pipeline does not implement connect.OffsetManager)"}
	}
	return om, release, nil
}

// TaskReport is a task's live status as a Runner reports it.
type TaskReport struct {
	connect.TaskStatus
	// WorkerID is the worker_id of the member running the task in cluster
	// mode ("" otherwise: the connector's). Remote is true for a task of
	// another member: only its ID, State and Err (the trace it reported)
	// are known here.
	WorkerID string
	Remote   bool
	// Stalled is [connect.TaskStatus.Stalled] at ConnectorReport.At with the
	// Runner's StallAfter: RUNNING with work available but no progress.
	Stalled bool
}

// ConnectorReport is a connector's live status as a Runner reports it.
// Progress facts (records, times) are those of the current pipeline
// incarnation, i.e. since the connector last (re)started; a task's Restarts
// counts every restart of it in the Runner's lifetime (restart policy,
// restart requests and configuration updates).
type ConnectorReport struct {
	Name string
	// Type is [connect.TypeSource], [connect.TypeSink], or "unknown"
	// before a pipeline built in Go was built.
	Type  string
	State connect.State
	// Err is the connector's failure when State is FAILED. Its text (Error)
	// and ErrorTrace(Err) show the connector's secrets (see Config.Logger)
	// masked, as do the tasks' Err, LastFailure and StallError; the errors
	// they wrap (errors.Is, errors.As, errors.Unwrap) are the originals,
	// whose own texts are not masked.
	Err error
	// Target is the state the connector is meant to be in: RUNNING,
	// PAUSED or STOPPED.
	Target   connect.State
	WorkerID string
	// Restarts counts whole-connector restarts ordered through the Runner
	// (Restart, RestartTask without [connect.TaskRestarter], configuration
	// updates).
	Restarts int
	// At is when the report was computed; StallAfter the stall threshold.
	At         time.Time
	StallAfter time.Duration
	Tasks      []TaskReport
	// Version is the connector plugin's [connect.Plugin].Version, else the
	// Runner's Config.Version (a pipeline built in Go, or a plugin without
	// a version): the "version" of the connector and of each task in REST
	// statuses, as Kafka Connect 4.x reports it.
	Version string

	secrets *redact.Secrets // the connector's secrets, masked in REST traces
}

// scrub replaces the connector's secret values in text by MaskedValue.
func (c ConnectorReport) scrub(text string) string { return c.secrets.Scrub(text) }

// refreshSecretsLocked recomputes the connector's secrets from the clear
// secrets of its configuration and the worker's, those of every earlier
// configuration (s.held) and the values config providers supplied; s.mu is
// held (or s is not shared yet).
func (s *slot) refreshSecretsLocked() {
	for _, v := range clearSecrets(s.config, s.plugin, s.r.cfg.Worker, s.r.isProvider) {
		if !slices.Contains(s.held, v) {
			s.held = append(s.held, v)
		}
	}
	s.secrets.Store(redact.New(slices.Concat(s.held, withJAASSecrets(s.resolved))...))
}

// secretValues returns the secrets of a connector: its clear secrets
// (clearSecrets) and the values config providers supplied (resolved), each
// with the password and secret options of a JAAS configuration it holds.
func secretValues(config map[string]string, p *connect.Plugin, worker map[string]string, resolved []string, isProvider func(string) bool) *redact.Secrets {
	return redact.New(slices.Concat(clearSecrets(config, p, worker, isProvider), withJAASSecrets(resolved))...)
}

// clearSecrets returns the values of the connector's password keys
// (isPasswordKey) and of the worker's (IsPasswordKey), each with the
// password and secret options of a JAAS configuration it holds
// (sasl.jaas.config's password="…", clientSecret="…"). A value made only of
// references to configured providers is no secret (Kafka Connect shows
// it; see onlyReferences).
func clearSecrets(config map[string]string, p *connect.Plugin, worker map[string]string, isProvider func(string) bool) []string {
	var vals []string
	for k, v := range config {
		if isPasswordKey(k, p) && !onlyReferences(v, isProvider) {
			vals = append(vals, v)
		}
	}
	for k, v := range worker {
		if IsPasswordKey(k) && !onlyReferences(v, isProvider) {
			vals = append(vals, v)
		}
	}
	return withJAASSecrets(vals)
}

// withJAASSecrets returns vals followed by the secret options of the JAAS
// configurations among them (jaasSecrets).
func withJAASSecrets(vals []string) []string {
	out := slices.Clone(vals)
	for _, v := range vals {
		out = append(out, jaasSecrets(v)...)
	}
	return out
}

// jaasSecrets returns the values of the options of a JAAS configuration
// (sasl.jaas.config) whose name says they are secret (password,
// clientSecret, …), or nil when v is no JAAS configuration.
func jaasSecrets(v string) []string {
	if !strings.Contains(v, "LoginModule") {
		return nil
	}
	_, opts, err := kafkaconf.ParseJAAS(v)
	if err != nil {
		return nil
	}
	var out []string
	for k, o := range opts {
		if k := strings.ToLower(k); strings.Contains(k, "password") || strings.Contains(k, "secret") {
			out = append(out, o)
		}
	}
	return out
}

// reference matches one config provider reference, as Kafka's
// ConfigTransformer finds them; its first group is the provider's name.
var reference = regexp.MustCompile(`\$\{([^}]*?):(?:[^}]*?:)?[^}]*?\}`)

// onlyReferences reports whether v holds config provider references and
// nothing else but spaces, each naming a provider isProvider knows: such a
// value names where a secret is, not the secret. A reference to a provider
// that is not configured stays in the value as written (Kafka passes it on
// literally), so such a value is a clear one.
func onlyReferences(v string, isProvider func(name string) bool) bool {
	refs := reference.FindAllStringSubmatch(v, -1)
	if len(refs) == 0 {
		return false
	}
	for _, m := range refs {
		if !isProvider(m[1]) {
			return false
		}
	}
	return strings.TrimSpace(reference.ReplaceAllString(v, "")) == ""
}

// scrubbedError shows its error with the connector's secrets masked. Its
// chain (Unwrap, and so errors.Is and errors.As) is the original's, whose
// texts are not masked; ErrorTrace masks them too.
type scrubbedError struct {
	err     error
	secrets *redact.Secrets
}

func (e *scrubbedError) Error() string { return e.secrets.Scrub(e.err.Error()) }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubErr returns err showing secrets masked (nil for nil).
func scrubErr(err error, secrets *redact.Secrets) error {
	if err == nil || secrets.Empty() {
		return err
	}
	if se, ok := err.(*scrubbedError); ok && se.secrets == secrets {
		return err
	}
	return &scrubbedError{err: err, secrets: secrets}
}

// logConfig returns the configuration for a log line: secrets masked, and
// secret values quoted inside other values masked too.
func (s *slot) logConfig() logConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logConfigLocked()
}

func (s *slot) logConfigLocked() logConfig {
	secrets := s.secrets.Load()
	out := maskConfig(s.config, s.plugin, s.r.isProvider)
	for k, v := range out {
		out[k] = secrets.Scrub(v)
	}
	return out
}

// scrub masks the connector's secret values in a text.
func (s *slot) scrub(text string) string { return s.secrets.Scrub(text) }

// scrubErr masks the connector's secret values in err's text (see
// scrubbedError).
func (s *slot) scrubErr(err error) error { return scrubErr(err, s.secrets.Load()) }

// Stalled reports whether any task is stalled.
func (c ConnectorReport) Stalled() bool {
	return slices.ContainsFunc(c.Tasks, func(t TaskReport) bool { return t.Stalled })
}

// report computes the live status.
func (s *slot) report() ConnectorReport {
	started, _ := s.r.runState()
	s.mu.Lock()
	rep := ConnectorReport{
		Name: s.name, Type: s.typ, Target: s.target, WorkerID: s.r.cfg.WorkerID,
		Restarts: s.restarts, At: s.r.now(), StallAfter: s.r.stallAfter,
	}
	rep.secrets = s.secrets.Load()
	pipe, pipeRan, busy := s.pipe, s.pipeRan, s.busy
	buildErr, restarting, folded := s.buildErr, s.restarting, s.folded
	target := s.target
	taskRestarts := maps.Clone(s.taskRestarts)
	accRestarts := make(map[int]int, len(s.acc))
	for id, a := range s.acc {
		accRestarts[id] = a.restarts
	}
	s.mu.Unlock()
	if rep.Type == "" {
		rep.Type = "unknown"
	}

	var tasks []connect.TaskStatus
	switch {
	case target == connect.StateStopped && !busy:
		rep.State = connect.StateStopped
	case !started:
		rep.State = connect.StateUnassigned
	case restarting:
		rep.State = connect.StateRestarting
		if pipe != nil && pipeRan {
			tasks = pipe.PipelineStatus().Tasks
			for i := range tasks {
				tasks[i].State, tasks[i].Err = connect.StateRestarting, nil
			}
		}
	case buildErr != nil:
		rep.State, rep.Err = connect.StateFailed, buildErr
	case pipe == nil || !pipeRan:
		rep.State = connect.StateUnassigned
	default:
		ps := pipe.PipelineStatus()
		rep.State, rep.Err, tasks = ps.State, ps.Err, ps.Tasks
		if rep.State == "" {
			rep.State = connect.StateUnassigned
		}
	}
	rep.Err = scrubErr(rep.Err, rep.secrets)
	rep.Tasks = make([]TaskReport, len(tasks))
	for i, t := range tasks {
		t.Err = scrubErr(t.Err, rep.secrets)
		t.LastFailure = scrubErr(t.LastFailure, rep.secrets)
		t.StallError = scrubErr(t.StallError, rep.secrets)
		live := t.Restarts
		if folded {
			live = 0
		}
		t.Restarts = rep.Restarts + taskRestarts[t.ID] + accRestarts[t.ID] + live
		rep.Tasks[i] = TaskReport{TaskStatus: t, Stalled: t.Stalled(rep.At, rep.StallAfter)}
	}
	return rep
}

// taskConfigs returns the current tasks' configurations.
func (s *slot) taskConfigs() []map[string]string {
	if s.clustered {
		return s.clusterTaskConfigs()
	}
	s.mu.Lock()
	p := s.plugin
	s.mu.Unlock()
	return withTaskClass(s.localTaskConfigs(), p)
}

// withTaskClass adds task.class (the plugin's TaskClass, when it declares
// one) to each of configs, as Kafka Connect's Worker adds it to every task
// configuration; configs are modified in place and returned.
func withTaskClass(configs []map[string]string, p *connect.Plugin) []map[string]string {
	if p == nil || p.TaskClass == "" {
		return configs
	}
	for _, c := range configs {
		if _, ok := c[taskClassKey]; !ok {
			c[taskClassKey] = p.TaskClass
		}
	}
	return configs
}

// taskClassKey is Kafka Connect's TaskConfig.TASK_CLASS_CONFIG.
const taskClassKey = "task.class"

// localTaskConfigs is taskConfigs of a standalone connector.
func (s *slot) localTaskConfigs() []map[string]string {
	rep := s.report()
	if len(rep.Tasks) == 0 {
		return []map[string]string{}
	}
	s.mu.Lock()
	pipe, config, secrets := s.pipe, maps.Clone(s.config), s.secrets.Load()
	s.mu.Unlock()
	if l, ok := pipe.(connect.TaskConfigLister); ok {
		if cs := l.TaskConfigs(); cs != nil {
			// The tasks were configured with resolved values: show the
			// references instead, as Kafka Connect's reverse transform
			// does, and mask any secret left.
			out := make([]map[string]string, len(cs))
			for i, c := range cs {
				c = maps.Clone(c)
				out[i] = c
				for k, v := range c {
					if raw, ok := config[k]; ok && configprovider.HasVariables(raw) {
						c[k] = raw
					} else {
						c[k] = secrets.Scrub(v)
					}
				}
			}
			return out
		}
	}
	out := make([]map[string]string, len(rep.Tasks))
	for i := range out {
		out[i] = maps.Clone(config)
	}
	return out
}

// metricsSnapshot returns what the metrics callback needs: the live status
// (nil if the connector has no incarnation to read) and the totals of
// finished incarnations.
func (s *slot) metricsSnapshot() (live *connect.PipelineStatus, acc map[int]taskTotals, report ConnectorReport) {
	report = s.report()
	s.mu.Lock()
	pipe, folded := s.pipe, s.folded
	acc = make(map[int]taskTotals, len(s.acc))
	for id, a := range s.acc {
		acc[id] = *a
	}
	s.mu.Unlock()
	if pipe != nil && !folded {
		ps := pipe.PipelineStatus()
		live = &ps
	}
	return live, acc, report
}

// isProvider reports whether name is one of the Runner's config providers.
func (r *Runner) isProvider(name string) bool {
	_, ok := r.providers[name]
	return ok
}

// hasVariables reports whether a value of config holds a config provider
// reference.
func hasVariables(config map[string]string) bool {
	for _, v := range config {
		if configprovider.HasVariables(v) {
			return true
		}
	}
	return false
}
