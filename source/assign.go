package source

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// assignment is the state of a pipeline in assigned mode: the tasks a
// cluster assigned to this process (AssignTasks), run by id with configs
// computed elsewhere.
type assignment struct {
	mu       sync.Mutex            // serializes AssignTasks and Run's phases
	tasks    map[int]*assignedTask // the assigned tasks, started or not
	stopping map[int]*assignedTask // tasks unassigned whose stop was not seen to finish
	ctx      context.Context       // Run's context once tasks may start; nil before
	closed   bool                  // Run is returning or returned: AssignTasks is a no-op
	wg       sync.WaitGroup        // the tasks' supervisors
}

// assignedTask is one assigned task: its config and, once started, its
// supervisor.
type assignedTask struct {
	id      int
	config  map[string]string
	r       *taskRunner        // the runner it started with
	cancel  context.CancelFunc // nil until started
	done    chan struct{}      // closed when the supervisor returned
	removed atomic.Bool        // no longer assigned: drop it from the status
}

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
	want := make(map[int]map[string]string, len(tasks))
	for id, c := range tasks {
		if id < 0 {
			return fmt.Errorf("source %q: assigning task %d: task ids must not be negative", p.cfg.Name, id)
		}
		want[id] = maps.Clone(c)
		if want[id] == nil {
			want[id] = map[string]string{}
		}
	}
	p.mu.Lock()
	a := p.asg
	if a == nil {
		if p.ran {
			p.mu.Unlock()
			return fmt.Errorf("source %q: AssignTasks during a Run that was not started in assigned mode (call AssignTasks before Run)", p.cfg.Name)
		}
		a = &assignment{tasks: map[int]*assignedTask{}, stopping: map[int]*assignedTask{}}
		p.asg = a
	}
	p.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	return p.reconcile(ctx, a, want, -1)
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
	if a == nil {
		return fmt.Errorf("source %q: restarting task %d: the pipeline is not in assigned mode (AssignTasks was not called before Run)", p.cfg.Name, id)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	t, ok := a.tasks[id]
	if !ok {
		return fmt.Errorf("source %q: restarting task %d: the task is not assigned to this pipeline", p.cfg.Name, id)
	}
	if t.cancel == nil {
		return nil
	}
	want := make(map[int]map[string]string, len(a.tasks))
	for id, t := range a.tasks {
		want[id] = t.config
	}
	return p.reconcile(ctx, a, want, id)
}

// reconcile makes the tasks of a those of want, restarting task restart
// (-1: none) even if its config did not change; a.mu is held.
func (p *Pipeline) reconcile(ctx context.Context, a *assignment, want map[int]map[string]string, restart int) error {
	// Stop what is no longer assigned as it was.
	for id, t := range a.tasks {
		if c, ok := want[id]; ok && maps.Equal(c, t.config) && id != restart {
			continue
		}
		delete(a.tasks, id)
		t.removed.Store(true)
		if t.cancel == nil {
			p.dropTask(t.r) // never started
			continue
		}
		t.cancel()
		a.stopping[id] = t
	}
	// Wait for them, and for stops an earlier call stopped waiting for, so
	// that two instances never share an id, a client id or a
	// transactional id.
	for _, id := range slices.Sorted(maps.Keys(a.stopping)) {
		if err := p.awaitStop(ctx, a.stopping[id]); err != nil {
			return err
		}
		delete(a.stopping, id)
	}
	for id, c := range want {
		if _, ok := a.tasks[id]; ok {
			continue
		}
		t := &assignedTask{id: id, config: c, r: newTaskRunner(p, id, c)}
		p.insertTask(t.r)
		a.tasks[id] = t
		if a.ctx != nil {
			p.launch(a, t)
		}
	}
	return nil
}

// awaitStop waits for t's supervisor to return and drops t from the status.
func (p *Pipeline) awaitStop(ctx context.Context, t *assignedTask) error {
	select {
	case <-t.done:
	default:
		select {
		case <-t.done:
		case <-ctx.Done():
			return fmt.Errorf("source %q: waiting for task %d to stop: %w", p.cfg.Name, t.id, ctx.Err())
		}
	}
	p.dropTaskID(t.id)
	return nil
}

// launch starts t's supervisor; a.mu is held and a.ctx set. Once Run's
// ctx is done (Run is about to return) nothing starts.
func (p *Pipeline) launch(a *assignment, t *assignedTask) {
	if a.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	t.cancel, t.done = cancel, make(chan struct{})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		// A failure was logged and is shown in the status (FAILED) until
		// the task is reassigned; it does not end Run.
		_ = p.supervise(ctx, t.id, t.r, t.config)
		cancel()
		if t.removed.Load() {
			p.dropTaskID(t.id)
		}
		close(t.done)
	}()
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
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		return err
	}
	a.mu.Lock()
	a.ctx = ctx
	for _, id := range slices.Sorted(maps.Keys(a.tasks)) {
		p.launch(a, a.tasks[id])
	}
	a.mu.Unlock()

	<-ctx.Done()
	a.mu.Lock() // waits for an AssignTasks in progress
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
	p.setState(connect.StateStopped, nil)
	return nil
}

// taskList returns the tasks PipelineStatus lists.
func (p *Pipeline) taskList() []*taskRunner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tasks)
}

// insertTask adds r to the tasks PipelineStatus lists, sorted by id.
func (p *Pipeline) insertTask(r *taskRunner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.tasks, r.id, func(t *taskRunner, id int) int { return t.id - id })
	p.tasks = slices.Insert(p.tasks, i, r)
}

// dropTask removes r from the tasks PipelineStatus lists.
func (p *Pipeline) dropTask(r *taskRunner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tasks = slices.DeleteFunc(p.tasks, func(t *taskRunner) bool { return t == r })
}

// dropTaskID removes the task with id from the tasks PipelineStatus lists
// (its current runner: a restart replaced the first).
func (p *Pipeline) dropTaskID(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tasks = slices.DeleteFunc(p.tasks, func(t *taskRunner) bool { return t.id == id })
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
