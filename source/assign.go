package source

import (
	"context"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/assigned"
	"github.com/sluicehq/sluice/internal/winstat"
	"github.com/sluicehq/sluice/offsets"
)

// assignment is the state of a pipeline in assigned mode (AssignTasks):
// the tasks a cluster assigned to this process, run by id with configs
// computed elsewhere, by the machinery shared with the sink pipeline.
type assignment = assigned.Tasks[*taskRunner]

var _ connect.TaskAssignable = (*Pipeline)(nil)

// ComputeTaskConfigs computes the connector's task configurations, as Kafka
// Connect's Connector.taskConfigs on the cluster member that owns the
// connector: with a Config.Connector, its TaskConfigs(properties, tasks.max)
// (an error, a panic, or more configs than tasks.max is an error naming the
// connector); without one, a single task with the connector's properties.
// It starts nothing and may be called from any goroutine, before, during
// or after Run. The maps returned are the caller's.
func (p *Pipeline) ComputeTaskConfigs(ctx context.Context) ([]map[string]string, error) {
	if p.cfg.Connector == nil {
		return []map[string]string{maps.Clone(p.cfg.Properties)}, nil
	}
	configs, err := p.computeTaskConfigs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(configs))
	for i, c := range configs {
		out[i] = maps.Clone(c)
	}
	return out, nil
}

// AssignTasks sets the tasks this pipeline runs: task id → task config.
//
// Called before Run, it puts the pipeline in assigned mode: Run starts
// exactly these tasks (the Connector's TaskConfigs is not called), with
// zero tasks too, and returns only when its ctx is done (or at once when the
// offset store cannot be opened for a reason other than unreachable
// brokers, as in Run). The pipeline is RUNNING (PAUSED) meanwhile whatever
// its tasks do: a task that fails is FAILED in PipelineStatus, is
// restarted under Config.Restart as usual, and does not end Run.
//
// Called during Run (assigned mode): tasks no longer assigned and tasks
// whose config changed stop gracefully, as on a pipeline stop (no more
// polls, records in flight get ShutdownTimeout to be acknowledged, offsets
// are committed, Task.Stop), and AssignTasks waits for them; then tasks
// newly assigned, or with a changed config, start (paused when the pipeline
// is paused). Tasks assigned before and after with an equal config keep
// running untouched. If ctx is done while waiting for a stop, AssignTasks
// returns ctx's error and starts nothing; the stops go on, and the next
// call starts what it assigns once they finished.
//
// Every task keeps its assigned id in logs, errors, client ids
// (connector-producer-<connector>-<id>) and transactional ids
// (<group>-<connector>-<id>). Calls are serialized; safe from any
// goroutine. After Run returned (or while it returns) it is a no-op. Called
// while a Run that was not put in assigned mode runs, it returns an error.
// Ids must not be negative.
func (p *Pipeline) AssignTasks(ctx context.Context, tasks map[int]map[string]string) error {
	return assigned.Assign(ctx, "source", p.cfg.Name, tasks, p.enterAssignedMode)
}

// enterAssignedMode returns the pipeline's assigned-mode state, made and
// kept the first time if Run has not started; nil when Run started without
// it.
func (p *Pipeline) enterAssignedMode() *assignment {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.asg == nil && !p.ran {
		p.asg = assigned.New[*taskRunner]("source", p.cfg.Name, runners{p})
	}
	return p.asg
}

// RestartAssignedTask restarts assigned task id in place, as Kafka
// Connect restarts a task on the worker that runs it: the instance stops
// gracefully (as in AssignTasks) and a new one starts with the same config,
// a FAILED task included; the other tasks are not touched. It is an error
// when the pipeline is not in assigned mode or id is not assigned to it;
// a no-op before Run started the tasks (they start with Run) and after Run
// returned. When ctx is done before the stop finished it returns ctx's
// error and the next AssignTasks or RestartAssignedTask starts the task.
// Serialized with AssignTasks; safe from any goroutine.
func (p *Pipeline) RestartAssignedTask(ctx context.Context, id int) error {
	p.mu.Lock()
	a := p.asg
	p.mu.Unlock()
	return assigned.Restart(ctx, "source", p.cfg.Name, a, id)
}

// runAssigned is Run in assigned mode.
func (p *Pipeline) runAssigned(ctx context.Context, a *assignment) error {
	p.mu.Lock()
	if p.paused {
		p.state = connect.StatePaused
	} else {
		p.state = connect.StateRunning
	}
	if p.tasks == nil {
		p.tasks = []*taskRunner{} // RUNNING with no task is still running (offsets refused)
	}
	p.mu.Unlock()

	release, stopped, err := p.openStores(ctx, p.taskList)
	defer release()
	if stopped || err != nil {
		a.Close()
		return err
	}
	a.Run(ctx)
	p.setState(connect.StateStopped, nil)
	return nil
}

// taskList returns the tasks PipelineStatus lists.
func (p *Pipeline) taskList() []*taskRunner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tasks)
}

// runners gives the assigned-mode machinery (internal/assigned) the
// pipeline's task runners and the tasks PipelineStatus lists.
type runners struct{ p *Pipeline }

// Add makes task id's runner and adds it to the tasks PipelineStatus lists,
// sorted by id.
func (h runners) Add(id int, config map[string]string) *taskRunner {
	r := newTaskRunner(h.p, id, config)
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(h.p.tasks, r.id, func(t *taskRunner, id int) int { return t.id - id })
	h.p.tasks = slices.Insert(h.p.tasks, i, r)
	return r
}

// Remove removes r from the tasks PipelineStatus lists; its counters are
// kept (Pipeline.retired).
func (h runners) Remove(r *taskRunner) {
	winstat.Retire(&h.p.mu, &h.p.tasks, &h.p.retired, func(t *taskRunner) bool { return t == r }, (*taskRunner).status)
}

// RemoveID removes the task with id from the tasks PipelineStatus lists
// (its current runner: a restart replaced the first).
//
// The removed runner's counters are kept (Pipeline.retired), so that a runner
// the same id gets next (a restart in place) continues them.
func (h runners) RemoveID(id int) {
	winstat.Retire(&h.p.mu, &h.p.tasks, &h.p.retired, func(t *taskRunner) bool { return t.id == id }, (*taskRunner).status)
}

// Supervise runs task id until ctx is done, restarted under Config.Restart.
func (h runners) Supervise(ctx context.Context, id int, r *taskRunner, config map[string]string) error {
	return h.p.supervise(ctx, id, r, config)
}

// refresher is an offsets store that can re-read what others committed
// (*offsets.KafkaStore).
type refresher interface {
	Refresh(ctx context.Context) error
}

// refreshers returns the stores behind s that can be refreshed.
func refreshers(s offsets.Store) []refresher {
	var out []refresher
	add := func(s offsets.Store) {
		if o, ok := s.(*ownedStore); ok {
			s = o.current()
		}
		if r, ok := s.(refresher); ok {
			out = append(out, r)
		}
	}
	if c, ok := s.(*connectorStore); ok {
		add(c.primary)
		add(c.secondary)
		return out
	}
	add(s)
	return out
}

// assignedMode reports whether the pipeline runs in assigned mode.
func (p *Pipeline) assignedMode() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asg != nil
}

// refreshOffsets brings the offsets store up to date with what other
// processes committed, before a task assigned here starts: a task that
// moved from another cluster member resumes from the offsets its last
// owner committed, not from what this process read when its pipeline
// started. A failure is logged and the task starts from what the store
// holds (at least once: records since may be sent again).
func (r *taskRunner) refreshOffsets(ctx context.Context) {
	for _, s := range refreshers(r.p.cfg.OffsetStore) {
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("could not re-read the offsets store before starting the task; it resumes from the offsets read earlier, and records since may be sent again", "error", err)
		}
	}
}
