package sink

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

// Pipeline runs the tasks of one sink connector: each task is a member of the
// connector's consumer group; the records of its partitions are converted,
// transformed and handed to its Put in batches, and consumer offsets are
// committed only for what the task reports durable. Build it with New, run it
// with Run; Pause, Resume and PipelineStatus may be called from any goroutine
// while it runs.
type Pipeline struct {
	cfg Config

	mu      sync.Mutex
	state   connect.State
	err     error
	tasks   []*taskRunner
	ran     bool
	paused  bool
	resumed chan struct{} // closed on Resume; replaced on Pause
	// asg is set by AssignTasks before Run: the pipeline runs in assigned
	// mode (assign.go). Read under mu.
	asg *assignment
	// topics are the active topics (topics.go).
	topics topicset.Set
	// local runs the tasks of a Run not in assigned mode (set by Run, read
	// under mu): the same machinery, started with tasks.max tasks.
	local *assignment
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
		return nil, fmt.Errorf("sink %q: invalid config: %w", cfg.Name, err)
	}
	cfg.Properties = maps.Clone(cfg.Properties)
	if cfg.Properties == nil {
		cfg.Properties = map[string]string{}
	}
	cfg.ConsumerProps = maps.Clone(cfg.ConsumerProps)
	cfg.Topics = append([]string(nil), cfg.Topics...)
	// Check the consumer configuration now, so that a bad property fails New
	// rather than every task.
	p := &Pipeline{cfg: cfg, state: connect.StateUnassigned}
	if _, _, _, err := p.consumerConfig(0); err != nil {
		return nil, fmt.Errorf("sink %q: invalid config: %w", cfg.Name, err)
	}
	r := make(chan struct{})
	close(r)
	p.resumed = r
	p.plugins = winstat.NewPlugins(cfg.KeyConverter, cfg.ValueConverter, cfg.HeaderConverter, cfg.Transforms)
	return p, nil
}

// Name returns the connector name.
func (p *Pipeline) Name() string { return p.cfg.Name }

// GroupID returns the consumer group id the tasks join.
func (p *Pipeline) GroupID() string { return p.cfg.GroupID }

// Run starts TasksMax tasks and blocks until ctx is done. On ctx
// cancellation each task stops gracefully: no new batch is handed to Put, a
// Put in progress may finish, offsets are committed (PreCommit/Flush) for
// the partitions, Close and then Stop are called; a task that does not get
// there within ShutdownTimeout has its context cancelled and skips the final
// commit.
//
// A task that fails (an error at Start, in Put, PreCommit…, or a panic in
// task code) stops consuming, commits what it put (final PreCommit/Flush and
// commit, as Kafka Connect's closeAllPartitions), closes its partitions and
// is stopped; the other tasks go on, and the failed one is restarted (a new
// instance from NewTask) when Config.Restart allows. The final commit is
// skipped after a failure on an errant record the task reported under
// errors.tolerance=none, which may lie below the position. A task that
// failed for good stays FAILED in PipelineStatus, with its error, until
// RestartTask revives it; as in Kafka Connect, the pipeline (the connector)
// stays RUNNING (PAUSED) and Run goes on, even when every task failed.
//
// After the stop Run returns the errors of the tasks that were FAILED then,
// joined (each a *connect.RecordError or an error naming connector and
// task), or nil. It returns only after every goroutine it started has
// exited and every task's Stop returned. A Pipeline runs once.
func (p *Pipeline) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.ran {
		p.mu.Unlock()
		return fmt.Errorf("sink %q: pipeline already ran", p.cfg.Name)
	}
	p.ran = true
	if p.asg != nil {
		a := p.asg
		p.mu.Unlock()
		return p.runAssigned(ctx, a)
	}
	// Standalone: the tasks.max tasks run by the assigned-mode machinery,
	// which keeps Run going whatever the tasks do and restarts one task in
	// place (RestartTask); AssignTasks still refuses (p.asg is nil).
	local := assigned.New[*taskRunner]("sink", p.cfg.Name, runners{p})
	p.local = local
	p.mu.Unlock()
	tasks := make(map[int]map[string]string, p.cfg.TasksMax)
	for i := range p.cfg.TasksMax {
		tasks[i] = maps.Clone(p.cfg.Properties)
	}
	if err := assigned.Assign(ctx, "sink", p.cfg.Name, tasks, func() *assignment { return local }); err != nil {
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
// /connectors/{c}/tasks/{id}/restart: the instance stops gracefully (its
// offsets committed, Close, Stop) and a new one starts from NewTask with the
// same config, a FAILED task included; the other tasks are not touched. It
// implements connect.TaskRestarter for a pipeline whose Run was started
// without AssignTasks (see RestartAssignedTask for assigned mode), and
// returns an error when id is no task of the pipeline or Run has not started
// (the tasks start with Run); a no-op after Run returned. It waits for the
// stop (at most about ShutdownTimeout). Safe from any goroutine.
func (p *Pipeline) RestartTask(id int) error {
	p.mu.Lock()
	a := p.local
	if a == nil {
		a = p.asg
	}
	p.mu.Unlock()
	if a == nil {
		return fmt.Errorf("sink %q: restarting task %d: the pipeline is not running", p.cfg.Name, id)
	}
	return assigned.Restart(context.Background(), "sink", p.cfg.Name, a, id)
}

// supervise runs task id, restarting it under the restart policy when it
// fails: a new task instance rejoins the consumer group after the policy's
// backoff and resumes from the committed offsets.
func (p *Pipeline) supervise(ctx context.Context, id int, r *taskRunner) error {
	return errhandler.Supervise(ctx, p.cfg.Restart,
		func(ctx context.Context) error { return r.run(ctx) },
		func(err error, restarts int, delay time.Duration) {
			next := newTaskRunner(p, id, r.config)
			next.restarts, next.lastFailure = restarts, err
			next.setState(connect.StateRestarting)
			r.log.Warn("task failed; restarting it", "error", err, "delay", delay, "restarts", restarts)
			final := r.status() // r stopped: its counters carry on in next's status
			p.mu.Lock()
			next.pipelinePaused = p.paused
			if i := slices.Index(p.tasks, r); i >= 0 {
				p.tasks[i] = next
				p.retired.Add(final)
			}
			p.mu.Unlock()
			r = next
		},
		func() { r.setState(connect.StateStopped) })
}

func (p *Pipeline) setState(s connect.State, err error) {
	p.mu.Lock()
	p.state, p.err = s, err
	p.mu.Unlock()
}

// Pause stops handing records to the tasks: fetching is paused (the tasks
// stay in the consumer group), a Put in progress finishes, and offsets are
// committed. It is a no-op when paused.
func (p *Pipeline) Pause() {
	p.mu.Lock()
	if p.paused {
		p.mu.Unlock()
		return
	}
	p.paused = true
	p.resumed = make(chan struct{})
	if p.state == connect.StateRunning {
		p.state = connect.StatePaused
	}
	tasks := slices.Clone(p.tasks)
	p.mu.Unlock()
	for _, t := range tasks {
		t.setPipelinePaused(true)
		t.requestCommit()
	}
}

// Resume undoes Pause. It is a no-op when not paused.
func (p *Pipeline) Resume() {
	p.mu.Lock()
	if !p.paused {
		p.mu.Unlock()
		return
	}
	p.paused = false
	close(p.resumed)
	if p.state == connect.StatePaused {
		p.state = connect.StateRunning
	}
	tasks := slices.Clone(p.tasks)
	p.mu.Unlock()
	for _, t := range tasks {
		t.setPipelinePaused(false)
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

// consumerConfig returns the task's fetcher's (kfetch) and the group member's sarama
// configurations for a task, and the consumer properties without a mapping.
func (p *Pipeline) consumerConfig(taskID int) (data, group *sarama.Config, unmapped []string, err error) {
	var cfg *sarama.Config
	if p.cfg.Sarama != nil {
		c := *p.cfg.Sarama
		cfg = &c
	} else {
		cfg = kafkaconf.NewSaramaConfig("")
		// Kafka Connect's consumer defaults (the Java consumer's).
		cfg.Consumer.Group.Session.Timeout = DefaultSessionTimeout
		cfg.Consumer.Group.Heartbeat.Interval = DefaultHeartbeatInterval
		cfg.Consumer.Group.Rebalance.Timeout = DefaultMaxPollInterval
	}
	cfg.ClientID = fmt.Sprintf("connector-consumer-%s-%d", p.cfg.Name, taskID)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyCooperativeSticky()}
	unmapped, err = kafkaconf.ApplyConsumerProps(cfg, "consumer.override.", p.cfg.ConsumerProps)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Return.Errors = true
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("consumer config: %w", err)
	}
	// The group member only coordinates (heartbeats, assignment, commits);
	// records are fetched by the task's fetcher, which can seek. Its own
	// partition consumers are paused at once and fetch as little as
	// possible.
	g := *cfg
	g.Consumer.Fetch.Default = 1
	g.Consumer.Fetch.Max = 1
	g.Consumer.Fetch.MaxBytes = 1
	g.ChannelBufferSize = 1
	g.Net.ReadTimeout = groupReadTimeout(cfg)
	return cfg, &g, unmapped, nil
}

// joinGroupSlack is what the Java consumer adds to max.poll.interval.ms for
// the JoinGroup request's timeout.
const joinGroupSlack = 5 * time.Second

// groupReadTimeout is the response timeout of the group member's client:
// at least max.poll.interval.ms (sarama's Rebalance.Timeout) + 5 s, as the
// Java consumer allows JoinGroup. The broker may legitimately hold a
// JoinGroup that long: when a member died without leaving (kill -9), the
// join completes only once its session expires, or the rebalance timeout
// passes. With sarama's single Net.ReadTimeout (30 s) the join timed out,
// was sent again, and could loop without end.
//
// sarama has one timeout for every request of a client, so heartbeats and
// the other coordination requests of the member get the same allowance: a
// coordinator connection that goes silent without being closed is noticed
// after this long instead of Net.ReadTimeout (a broker that stops or
// restarts closes its connections and is noticed at once). Fetches and
// offset commits use the data client, which keeps Net.ReadTimeout.
func groupReadTimeout(cfg *sarama.Config) time.Duration {
	return max(cfg.Net.ReadTimeout, cfg.Consumer.Group.Rebalance.Timeout+joinGroupSlack)
}

func (p *Pipeline) logger(task int) *slog.Logger {
	// "logger": Kafka Connect's class of the same work, the name GET/PUT
	// /admin/loggers knows it by (see runner.LoggerAttr).
	return p.cfg.Logger.With("logger", "org.apache.kafka.connect.runtime.WorkerSinkTask", "connector", p.cfg.Name, "task", task)
}

var _ connect.ConnectorRestarter = (*Pipeline)(nil)

// RestartConnector restarts the connector part alone, as Kafka Connect's
// legacy POST /connectors/{c}/restart: a sink connector has no code of its
// own in Sluice (its task configs are tasks.max copies of its properties),
// so the restart is only the connector's state transition; the tasks are
// untouched. It returns nil.
func (p *Pipeline) RestartConnector(ctx context.Context) error { return nil }
