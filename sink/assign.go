package sink

import (
	"context"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/assigned"
	"github.com/sluicehq/sluice/internal/winstat"
)

// assignment is the state of a pipeline in assigned mode (AssignTasks):
// the tasks a cluster assigned to this process, run by id with configs
// computed elsewhere, by the machinery shared with the source pipeline.
type assignment = assigned.Tasks[*taskRunner]

var _ connect.TaskAssignable = (*Pipeline)(nil)

// ComputeTaskConfigs returns the connector's task configurations: tasks.max
// copies of its properties (every sink task consumes the same topics in the
// consumer group). It starts nothing and may be called from any goroutine,
// before, during or after Run; it never fails. The maps returned are the
// caller's.
func (p *Pipeline) ComputeTaskConfigs(ctx context.Context) ([]map[string]string, error) {
	out := make([]map[string]string, p.cfg.TasksMax)
	for i := range out {
		out[i] = maps.Clone(p.cfg.Properties)
	}
	return out, nil
}

// AssignTasks sets the tasks this pipeline runs: task id → task config.
//
// Called before Run, it puts the pipeline in assigned mode: Run starts
// exactly these tasks (instead of tasks.max copies of the properties), with
// zero tasks too, and returns only when its ctx is done. The pipeline is RUNNING (PAUSED) meanwhile whatever
// its tasks do: a task that fails is FAILED in PipelineStatus, is
// restarted under Config.Restart as usual, and does not end Run.
//
// Called during Run (assigned mode): tasks no longer assigned and tasks
// whose config changed stop gracefully, as on a pipeline stop (no new
// batch, offsets committed for what was put, Close, Stop, and the member
// leaves the consumer group, whose other members get its partitions), and
// AssignTasks waits for them; then tasks
// newly assigned, or with a changed config, start (paused when the pipeline
// is paused). Tasks assigned before and after with an equal config keep
// running untouched. If ctx is done while waiting for a stop, AssignTasks
// returns ctx's error and starts nothing; the stops go on, and the next
// call starts what it assigns once they finished.
//
// Every task joins the connector's consumer group (Config.GroupID) wherever
// it runs, so adding or removing a task makes the group rebalance its
// partitions, and keeps its assigned id in logs, errors, client ids
// (connector-consumer-<connector>-<id>) and dead-letter queue headers. Calls are serialized; safe from any
// goroutine. After Run returned (or while it returns) it is a no-op. Called
// while a Run that was not put in assigned mode runs, it returns an error.
// Ids must not be negative.
func (p *Pipeline) AssignTasks(ctx context.Context, tasks map[int]map[string]string) error {
	return assigned.Assign(ctx, "sink", p.cfg.Name, tasks, p.enterAssignedMode)
}

// enterAssignedMode returns the pipeline's assigned-mode state, made and
// kept the first time if Run has not started; nil when Run started without
// it.
func (p *Pipeline) enterAssignedMode() *assignment {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.asg == nil && !p.ran {
		p.asg = assigned.New[*taskRunner]("sink", p.cfg.Name, runners{p})
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
	return assigned.Restart(ctx, "sink", p.cfg.Name, a, id)
}

// runAssigned is Run in assigned mode.
func (p *Pipeline) runAssigned(ctx context.Context, a *assignment) error {
	p.mu.Lock()
	if p.paused {
		p.state = connect.StatePaused
	} else {
		p.state = connect.StateRunning
	}
	p.mu.Unlock()

	a.Run(ctx)
	p.setState(connect.StateStopped, nil)
	return nil
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
	r.pipelinePaused = h.p.paused
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
	return h.p.supervise(ctx, id, r) // r was made with config (Add)
}
