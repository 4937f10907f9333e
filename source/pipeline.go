package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/errhandler"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/topicset"
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
	return &Pipeline{cfg: cfg, state: connect.StateUnassigned, resumed: r}, nil
}

// Name returns the connector name.
func (p *Pipeline) Name() string { return p.cfg.Name }

// Run starts the tasks and blocks until they all ended: when ctx is done
// (each task stops gracefully: it is no longer polled, outstanding records
// get up to ShutdownTimeout to be acknowledged, offsets are committed, then
// Task.Stop is called) or when every task failed. It returns nil after a
// graceful stop, or the tasks' errors joined. Run returns only after every
// goroutine it started has exited. A Pipeline runs once: any further call
// of Run, concurrent with the first or after it, returns an error at once
// (build another Pipeline with New to run the connector again).
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

	configs := []map[string]string{p.cfg.Properties}
	if p.cfg.Connector != nil {
		var err error
		configs, err = p.computeTaskConfigs(ctx)
		if err != nil {
			p.setState(connect.StateFailed, err)
			return err
		}
	}
	runners := make([]*taskRunner, len(configs))
	for i, c := range configs {
		runners[i] = newTaskRunner(p, i, c)
	}
	p.mu.Lock()
	p.tasks = runners
	if p.paused {
		p.state = connect.StatePaused
	} else {
		p.state = connect.StateRunning
	}
	p.mu.Unlock()

	release, stopped, err := p.openStores(ctx, func() []*taskRunner { return runners })
	defer release()
	if stopped || err != nil {
		return err
	}

	var wg sync.WaitGroup
	errs := make([]error, len(runners))
	for i, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.supervise(ctx, i, r, configs[i])
		}()
	}
	wg.Wait()
	err = errors.Join(errs...)
	if err != nil {
		p.setState(connect.StateFailed, err)
	} else {
		p.setState(connect.StateStopped, nil)
	}
	return err
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
func (p *Pipeline) replaceTask(old, next *taskRunner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.tasks, old); i >= 0 {
		p.tasks[i] = next
	}
}

func (p *Pipeline) setState(s connect.State, err error) {
	p.mu.Lock()
	p.state, p.err = s, err
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
