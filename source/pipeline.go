package source

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/assigned"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/topicset"
	"github.com/sluicehq/sluice/internal/winstat"
)

// Pipeline runs the tasks of one source connector: each task's records are
// transformed, converted and produced to Kafka, and their source offsets
// committed once acknowledged. Build it with New, run it with Run; Pause,
// Resume and PipelineStatus may be called from any goroutine while it runs.
type Pipeline struct {
	cfg Config

	mu      sync.Mutex
	ran     bool // Run was called
	state   connect.State
	err     error
	tasks   []*taskRunner
	paused  bool
	resumed chan struct{} // closed on Resume; replaced on Pause
	// asg is set by AssignTasks before Run: the pipeline runs in assigned
	// mode (assign.go). Read under mu.
	asg *assignment
	// topics are the active topics (topics.go).
	topics topicset.Set
	// local runs the tasks of a Run not in assigned mode (set by Run, read
	// under mu): the same machinery, started with the computed task
	// configs; taskConfigs are those configs (RestartConnector compares).
	local       *assignment
	taskConfigs []map[string]string
	connMu      sync.Mutex // serializes RestartConnector
	// connFailed: the FAILED state is RestartConnector's (its task configs
	// failed), which a later successful RestartConnector may lift; any
	// other state change (setState) clears it. runDone: Run returned.
	connFailed, runDone bool
	// plugins names the converters, transforms and predicates (New).
	plugins *winstat.Plugins
	// retired are the counters of task runners removed or replaced (a
	// restart), by task id, under mu; PipelineStatus adds them to the id's
	// live runner.
	retired winstat.Retired
}

// New validates cfg, applies defaults and returns a pipeline ready to Run.
func New(cfg Config) (*Pipeline, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("source %q: invalid config: %w", cfg.Name, err)
	}
	cfg.Properties = maps.Clone(cfg.Properties)
	if cfg.Properties == nil {
		cfg.Properties = map[string]string{}
	}
	r := make(chan struct{})
	close(r)
	plugins := winstat.NewPlugins(cfg.KeyConverter, cfg.ValueConverter, cfg.HeaderConverter, cfg.Transforms)
	return &Pipeline{cfg: cfg, state: connect.StateUnassigned, resumed: r, plugins: plugins}, nil
}

// Name returns the connector name.
func (p *Pipeline) Name() string { return p.cfg.Name }

// Run starts the tasks and blocks until ctx is done; then each task stops
// gracefully: it is no longer polled, outstanding records get up to
// ShutdownTimeout to be acknowledged, offsets are committed, then Task.Stop
// is called. After the stop Run returns the errors of the tasks that were
// FAILED then, joined, or nil. It returns only after every goroutine it
// started has exited. A Pipeline runs once: any further call
// of Run, concurrent with the first or after it, returns an error at once
// (build another Pipeline with New to run the connector again).
//
// With a Config.Connector, Run first computes the task configs
// (TaskConfigs); a failure there is the connector's: Run returns it and the
// pipeline is FAILED with it, as a Kafka Connect connector whose taskConfigs
// failed. A task that fails (at Start, in Poll, producing, or a panic in
// task code) is restarted when Config.Restart allows; one that failed for
// good stays FAILED in PipelineStatus, with its error, until RestartTask
// revives it, while the other tasks go on. As in Kafka Connect the pipeline
// (the connector) stays RUNNING (PAUSED) and Run goes on, even when every
// task failed.
//
// A pipeline given no Config.OffsetStore opens its store
// (Config.OffsetStorage) before any task starts and closes it before
// returning. While the store cannot be opened because the brokers are
// unreachable, Run retries (backing off up to 30 s); meanwhile the pipeline
// is RUNNING (PAUSED after Pause), its tasks are RUNNING but not started,
// and each task's connect.TaskStatus.StallError names the store and the
// failure, as for a task whose producer cannot reach the brokers. When ctx is done during
// that wait, Run returns nil and the pipeline is STOPPED. Any other failure
// to open the store is returned, naming the store and how to choose
// another; the pipeline and its tasks are then FAILED and no task started.
func (p *Pipeline) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.ran {
		p.mu.Unlock()
		return fmt.Errorf("source %q: Run was already called (a Pipeline runs once; build another with New)", p.cfg.Name)
	}
	p.ran = true
	asg := p.asg
	p.mu.Unlock()
	if asg != nil {
		return p.runAssigned(ctx, asg)
	}
	defer func() {
		p.mu.Lock()
		p.runDone = true
		p.mu.Unlock()
	}()

	configs := []map[string]string{p.cfg.Properties}
	if p.cfg.Connector != nil {
		var err error
		configs, err = p.computeTaskConfigs(ctx)
		if err != nil {
			p.setState(connect.StateFailed, err)
			return err
		}
	}
	// Standalone: the tasks run by the assigned-mode machinery, which keeps
	// Run going whatever the tasks do and restarts one task in place
	// (RestartTask); AssignTasks still refuses (p.asg is nil).
	local := assigned.New[*taskRunner]("source", p.cfg.Name, runners{p})
	tasks := make(map[int]map[string]string, len(configs))
	for i, c := range configs {
		tasks[i] = maps.Clone(c)
	}
	p.mu.Lock()
	p.local, p.taskConfigs = local, configs
	p.mu.Unlock()
	if err := assigned.Assign(ctx, "source", p.cfg.Name, tasks, func() *assignment { return local }); err != nil {
		local.Close()
		p.setState(connect.StateFailed, err)
		return err
	}
	if err := p.runAssigned(ctx, local); err != nil {
		return err
	}
	return p.PipelineStatus().TaskErrors()
}

// RestartTask restarts task id in place, as Kafka Connect's POST
// /connectors/{c}/tasks/{id}/restart: the instance stops gracefully (no
// more polls, records in flight get ShutdownTimeout to be acknowledged,
// offsets committed, Task.Stop) and a new one starts from NewTask with the
// same config, a FAILED task included; the other tasks are not touched. It
// implements connect.TaskRestarter; it returns an error when id is no task
// of the pipeline or Run has not started (the tasks start with Run), and is
// a no-op after Run returned. It waits for the stop. Safe from any
// goroutine.
func (p *Pipeline) RestartTask(id int) error {
	p.mu.Lock()
	a := p.local
	if a == nil {
		a = p.asg
	}
	p.mu.Unlock()
	if a == nil {
		return fmt.Errorf("source %q: restarting task %d: the pipeline is not running", p.cfg.Name, id)
	}
	return assigned.Restart(context.Background(), "source", p.cfg.Name, a, id)
}

// computeTaskConfigs calls the Connector's TaskConfigs with a copy of the
// connector's properties and checks the result against tasks.max.
func (p *Pipeline) computeTaskConfigs(ctx context.Context) ([]map[string]string, error) {
	configs, err := callTaskConfigs(ctx, p.cfg.Connector, maps.Clone(p.cfg.Properties), p.cfg.TasksMax)
	if err != nil {
		return nil, fmt.Errorf("source %q: connector could not compute task configs: %w", p.cfg.Name, err)
	}
	if len(configs) > p.cfg.TasksMax {
		return nil, fmt.Errorf("source %q: connector returned %d task configs, more than tasks.max=%d", p.cfg.Name, len(configs), p.cfg.TasksMax)
	}
	return configs, nil
}

// openStores opens the offset stores the pipeline owns before any task
// starts, retrying while the brokers are unreachable; meanwhile the tasks
// that tasks returns are shown RUNNING and stalled. It returns stopped when
// ctx was done meanwhile (the pipeline and tasks are then STOPPED), or the
// failure to open a store (the pipeline and tasks are then FAILED). release
// closes the stores that were opened; it is never nil.
func (p *Pipeline) openStores(ctx context.Context, tasks func() []*taskRunner) (release func(), stopped bool, err error) {
	var opened []*ownedStore
	release = func() {
		for i := len(opened) - 1; i >= 0; i-- {
			if cerr := opened[i].release(); cerr != nil {
				p.cfg.Logger.Warn("closing the offset store", "connector", p.cfg.Name, "error", cerr)
			}
		}
	}
	for _, owned := range ownedStores(p.cfg.OffsetStore) {
		err := owned.acquire(ctx, func(err error) {
			// Shown like a producer that cannot reach the brokers: the
			// tasks are RUNNING, stalled, with the error they wait on.
			for _, r := range tasks() {
				r.setStall(fmt.Errorf("connector %q task %d: waiting for the offset store: %w", p.cfg.Name, r.id, err))
				r.setState(connect.StateRunning)
			}
		})
		if err != nil && ctx.Err() != nil {
			// Stopped while the store could not be opened: a graceful
			// stop, as when a task's producer waits for the brokers.
			for _, r := range tasks() {
				r.clearStall()
				r.setState(connect.StateStopped)
			}
			p.setState(connect.StateStopped, nil)
			return release, true, nil
		}
		if err != nil {
			err = fmt.Errorf("source %q: %w", p.cfg.Name, err)
			for _, r := range tasks() {
				r.clearStall()
				r.fail(err)
				r.setState(connect.StateFailed)
			}
			p.setState(connect.StateFailed, err)
			return release, false, err
		}
		for _, r := range tasks() {
			r.clearStall()
			r.setState(connect.StateUnassigned) // RUNNING again once started
		}
		opened = append(opened, owned)
	}
	return release, false, nil
}

// ownedStores returns the stores in s that the pipeline opens and closes
// itself.
func ownedStores(s any) []*ownedStore {
	switch s := s.(type) {
	case *ownedStore:
		return []*ownedStore{s}
	case *connectorStore:
		return s.owned()
	}
	return nil
}

// supervise runs task i, restarting it under the restart policy when it
// fails.
func (p *Pipeline) supervise(ctx context.Context, i int, r *taskRunner, config map[string]string) error {
	return errhandler.Supervise(ctx, p.cfg.Restart,
		func(ctx context.Context) error { return r.run(ctx) },
		func(err error, restarts int, delay time.Duration) {
			next := newTaskRunner(p, i, config)
			next.restarts, next.lastFailure = restarts, err
			next.setState(connect.StateRestarting)
			r.log.Warn("task failed; restarting it", "error", err, "delay", delay, "restarts", restarts)
			p.replaceTask(r, next)
			r = next
		},
		func() { r.setState(connect.StateStopped) })
}

// replaceTask puts next in old's place in the tasks PipelineStatus lists.
// old stopped: its counters carry on in next's status (Pipeline.retired).
func (p *Pipeline) replaceTask(old, next *taskRunner) {
	final := old.status()
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.tasks, old); i >= 0 {
		p.tasks[i] = next
		p.retired.Add(final)
	}
}

func (p *Pipeline) setState(s connect.State, err error) {
	p.mu.Lock()
	p.state, p.err = s, err
	p.connFailed = false
	p.mu.Unlock()
}

// Pause stops polling every task; producing and committing what was already
// polled goes on, and offsets are committed. It is a no-op when paused.
func (p *Pipeline) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		return
	}
	p.paused = true
	p.resumed = make(chan struct{})
	if p.state == connect.StateRunning {
		p.state = connect.StatePaused
	}
	for _, t := range p.tasks {
		t.requestCommit()
	}
}

// Resume undoes Pause. It is a no-op when not paused.
func (p *Pipeline) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return
	}
	p.paused = false
	close(p.resumed)
	if p.state == connect.StatePaused {
		p.state = connect.StateRunning
	}
}

// pauseGate returns nil when running, or a channel closed on Resume.
func (p *Pipeline) pauseGate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return nil
	}
	return p.resumed
}

// producerConfig returns the task's sarama configuration, the redelivery
// policy read from the producer properties (see redeliver.go) and the
// properties that have no mapping.
func (p *Pipeline) producerConfig(taskID int) (*sarama.Config, deliveryPolicy, []string, error) {
	var cfg *sarama.Config
	if p.cfg.Sarama != nil {
		c := *p.cfg.Sarama
		cfg = &c
	} else {
		cfg = newSaramaConfig()
	}
	cfg.ClientID = fmt.Sprintf("connector-producer-%s-%d", p.cfg.Name, taskID)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	delivery, props, err := parseDelivery(producerPrefix, p.cfg.ProducerProps)
	if err != nil {
		return nil, delivery, nil, err
	}
	if p.cfg.ExactlyOnce.Enabled {
		// Set by the task itself (txnState.producerConfig).
		delete(props, propTransactionalID)
		delete(props, propTransactionTimeout)
	}
	unmapped, err := applyProducerProps(cfg, props)
	if err != nil {
		return nil, delivery, nil, err
	}
	cfg.Producer.Retry.Max = delivery.saramaRetries() // the pipeline re-drives beyond it
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Partitioner = newPartitioner
	cfg.ChannelBufferSize = max(cfg.ChannelBufferSize, 1024) // fewer goroutine hand-offs per record
	if err := cfg.Validate(); err != nil {
		return nil, delivery, nil, fmt.Errorf("producer config: %w", err)
	}
	return cfg, delivery, unmapped, nil
}

// adminConfig returns the configuration of the task's admin client (topic
// creation, the dead-letter queue topic): a copy of the producer's, pcfg,
// unless AdminProps is set, and the admin properties that have no mapping.
func (p *Pipeline) adminConfig(taskID int, pcfg *sarama.Config) (*sarama.Config, []string, error) {
	base := p.cfg.Sarama
	if base == nil {
		base = newSaramaConfig()
	}
	cfg, unmapped, err := kafkaconf.AdminConfig(base, pcfg, fmt.Sprintf("connector-adminclient-%s-%d", p.cfg.Name, taskID), "admin.override.", p.cfg.AdminProps)
	if err != nil {
		return nil, nil, fmt.Errorf("admin client config: %w", err)
	}
	return cfg, unmapped, nil
}

func (p *Pipeline) logger(task int) *slog.Logger {
	// "logger": Kafka Connect's class of the same work, the name GET/PUT
	// /admin/loggers knows it by (see runner.LoggerAttr).
	return p.cfg.Logger.With("logger", "org.apache.kafka.connect.runtime.WorkerSourceTask", "connector", p.cfg.Name, "task", task)
}

var _ connect.ConnectorRestarter = (*Pipeline)(nil)

// RestartConnector restarts the connector part alone, as Kafka Connect's
// legacy POST /connectors/{c}/restart: without a Config.Connector it does
// nothing; with one, it computes the task configs again and, only when they
// differ from those the tasks run with, reconfigures the tasks (changed and
// removed tasks stop gracefully, new ones start; the others keep running).
// A failure to compute them makes the pipeline FAILED with it (the tasks go
// on) and is returned; a later success makes it RUNNING (PAUSED) again. It
// does nothing before Run, after it, or in assigned mode (the cluster
// computes task configs). ctx bounds waiting for the task stops. Calls are
// serialized; safe from any goroutine.
func (p *Pipeline) RestartConnector(ctx context.Context) error {
	p.connMu.Lock()
	defer p.connMu.Unlock()
	p.mu.Lock()
	a, prev, done := p.local, p.taskConfigs, p.runDone
	p.mu.Unlock()
	if p.cfg.Connector == nil || a == nil || done {
		return nil
	}
	configs, err := p.computeTaskConfigs(ctx)
	p.mu.Lock()
	// Only a RUNNING or PAUSED pipeline, or one FAILED by an earlier
	// RestartConnector, changes state: a FAILED that Run set (an offset
	// store that failed, Run returning) stays, as does any state once Run
	// returned.
	live := !p.runDone && (p.state == connect.StateRunning || p.state == connect.StatePaused ||
		p.state == connect.StateFailed && p.connFailed)
	switch {
	case !live:
	case err != nil:
		p.state, p.err, p.connFailed = connect.StateFailed, err, true
	case p.paused:
		p.state, p.err, p.connFailed = connect.StatePaused, nil, false
	default:
		p.state, p.err, p.connFailed = connect.StateRunning, nil, false
	}
	p.mu.Unlock()
	if err != nil || !live {
		return err
	}
	if slices.EqualFunc(prev, configs, func(a, b map[string]string) bool { return maps.Equal(a, b) }) {
		return nil
	}
	p.cfg.Logger.Info("connector restarted with changed task configs; reconfiguring its tasks", "connector", p.cfg.Name, "tasks", len(configs))
	tasks := make(map[int]map[string]string, len(configs))
	for i, c := range configs {
		tasks[i] = maps.Clone(c)
	}
	if err := assigned.Assign(ctx, "source", p.cfg.Name, tasks, func() *assignment { return a }); err != nil {
		return err
	}
	p.mu.Lock()
	p.taskConfigs = configs
	p.mu.Unlock()
	return nil
}
