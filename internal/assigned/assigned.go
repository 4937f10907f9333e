// Package assigned runs a pipeline's tasks in assigned mode
// (connect.TaskAssignable): the tasks a cluster assigned to this process,
// run by id with configs computed elsewhere, started, stopped and restarted
// one by one while the pipeline runs. The source and sink pipelines share
// it; each supplies its own task runner R through Runners.
package assigned

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Runners is what a pipeline provides to run its assigned tasks: task
// runners of type R, and the list of tasks its status shows. Add, Remove
// and RemoveID are called with the Tasks' lock held, Supervise and RemoveID
// from the task's own goroutine; none may call back into the Tasks.
type Runners[R any] interface {
	// Add makes the runner of task id with config, not started, and adds
	// it to the tasks the pipeline's status lists.
	Add(id int, config map[string]string) R
	// Remove removes r, which never started, from the status list.
	Remove(r R)
	// RemoveID removes the task with id from the status list, whichever
	// runner it has now (a restart may have replaced the first).
	RemoveID(id int)
	// Supervise runs r as task id with config until ctx is done,
	// restarting it as the pipeline's restart policy says. A failure it
	// returns was logged and shows in the status; it does not end Run.
	Supervise(ctx context.Context, id int, r R, config map[string]string) error
}

// Tasks is the state of a pipeline in assigned mode: the tasks assigned to
// it, started or not, and the supervisors of those started. Make it with
// New; its methods are safe from any goroutine and serialized.
type Tasks[R any] struct {
	kind, name string // "source"/"sink" and the connector, for errors
	runners    Runners[R]

	mu       sync.Mutex       // serializes Assign, Restart and Run's phases
	tasks    map[int]*task[R] // the assigned tasks, started or not
	stopping map[int]*task[R] // tasks unassigned whose stop was not seen to finish
	ctx      context.Context  // Run's context once tasks may start; nil before
	closed   bool             // Run is returning or returned: Assign is a no-op
	wg       sync.WaitGroup   // the tasks' supervisors
}

// task is one assigned task: its config and, once started, its supervisor.
type task[R any] struct {
	id      int
	config  map[string]string
	r       R                  // the runner it started with
	cancel  context.CancelFunc // nil until started
	done    chan struct{}      // closed when the supervisor returned
	removed atomic.Bool        // no longer assigned: drop it from the status
}

// New returns the assigned-mode state of the kind ("source" or "sink")
// pipeline of connector name, with no task assigned; kind and name prefix
// its errors.
func New[R any](kind, name string, runners Runners[R]) *Tasks[R] {
	return &Tasks[R]{
		kind: kind, name: name, runners: runners,
		tasks: map[int]*task[R]{}, stopping: map[int]*task[R]{},
	}
}

// Assign is connect.TaskAssignable.AssignTasks for the kind pipeline of
// connector name. It checks the ids (none negative) and copies the
// configs, then gets the pipeline's state from get, which returns it, made
// with New and kept the first time, or nil when the pipeline's Run started
// without one (then Assign returns an error). It reconciles the running
// tasks with tasks: tasks no longer assigned or whose config changed stop
// and are waited for, then new and changed ones are added (and started
// once Run started). When ctx is done while waiting for a stop it returns
// ctx's error and starts nothing; the next call does. After Run returned
// (or while it returns) it is a no-op.
func Assign[R any](ctx context.Context, kind, name string, tasks map[int]map[string]string, get func() *Tasks[R]) error {
	want := make(map[int]map[string]string, len(tasks))
	for id, c := range tasks {
		if id < 0 {
			return fmt.Errorf("%s %q: assigning task %d: task ids must not be negative", kind, name, id)
		}
		want[id] = maps.Clone(c)
		if want[id] == nil {
			want[id] = map[string]string{}
		}
	}
	a := get()
	if a == nil {
		return fmt.Errorf("%s %q: AssignTasks during a Run that was not started in assigned mode (call AssignTasks before Run)", kind, name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	return a.reconcile(ctx, want, -1)
}

// Restart is connect.TaskAssignable.RestartAssignedTask for the kind
// pipeline of connector name whose state is a (nil: not in assigned mode,
// an error). Task id stops as in Assign and a new instance starts with the
// same config; the other tasks are not touched. It is an error when id is
// not assigned; a no-op before Run started the tasks and after Run
// returned. When ctx is done before the stop finished it returns ctx's
// error and the next Assign or Restart starts the task.
func Restart[R any](ctx context.Context, kind, name string, a *Tasks[R], id int) error {
	if a == nil {
		return fmt.Errorf("%s %q: restarting task %d: the pipeline is not in assigned mode (AssignTasks was not called before Run)", kind, name, id)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	t, ok := a.tasks[id]
	if !ok {
		return fmt.Errorf("%s %q: restarting task %d: the task is not assigned to this pipeline", kind, name, id)
	}
	if t.cancel == nil {
		return nil
	}
	want := make(map[int]map[string]string, len(a.tasks))
	for id, t := range a.tasks {
		want[id] = t.config
	}
	return a.reconcile(ctx, want, id)
}

// reconcile makes the tasks of a those of want, restarting task restart
// (-1: none) even if its config did not change; a.mu is held.
func (a *Tasks[R]) reconcile(ctx context.Context, want map[int]map[string]string, restart int) error {
	// Stop what is no longer assigned as it was.
	for id, t := range a.tasks {
		if c, ok := want[id]; ok && maps.Equal(c, t.config) && id != restart {
			continue
		}
		delete(a.tasks, id)
		t.removed.Store(true)
		if t.cancel == nil {
			a.runners.Remove(t.r) // never started
			continue
		}
		t.cancel()
		a.stopping[id] = t
	}
	// Wait for them, and for stops an earlier call stopped waiting for, so
	// that two instances never share an id, a client id or a
	// transactional id.
	for _, id := range slices.Sorted(maps.Keys(a.stopping)) {
		if err := a.awaitStop(ctx, a.stopping[id]); err != nil {
			return err
		}
		delete(a.stopping, id)
	}
	for id, c := range want {
		if _, ok := a.tasks[id]; ok {
			continue
		}
		t := &task[R]{id: id, config: c, r: a.runners.Add(id, c)}
		a.tasks[id] = t
		if a.ctx != nil {
			a.launch(t)
		}
	}
	return nil
}

// awaitStop waits for t's supervisor to return and drops t from the status.
func (a *Tasks[R]) awaitStop(ctx context.Context, t *task[R]) error {
	select {
	case <-t.done:
	default:
		select {
		case <-t.done:
		case <-ctx.Done():
			return fmt.Errorf("%s %q: waiting for task %d to stop: %w", a.kind, a.name, t.id, ctx.Err())
		}
	}
	a.runners.RemoveID(t.id)
	return nil
}

// launch starts t's supervisor; a.mu is held and a.ctx set. Once Run's
// ctx is done (Run is about to return) nothing starts.
func (a *Tasks[R]) launch(t *task[R]) {
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
		_ = a.runners.Supervise(ctx, t.id, t.r, t.config)
		cancel()
		if t.removed.Load() {
			a.runners.RemoveID(t.id)
		}
		close(t.done)
	}()
}

// Run starts the tasks assigned so far, in id order, and those Assign and
// Restart start later, until ctx is done; then it does what Close does. It
// is called once, from the pipeline's Run, and returns only after every
// supervisor it started returned.
func (a *Tasks[R]) Run(ctx context.Context) {
	a.mu.Lock()
	a.ctx = ctx
	for _, id := range slices.Sorted(maps.Keys(a.tasks)) {
		a.launch(a.tasks[id])
	}
	a.mu.Unlock()

	<-ctx.Done()
	a.Close()
}

// Close makes Assign and Restart no-ops, once a call in progress returned,
// and waits for the supervisors started to return. A pipeline whose Run
// returns without calling Run (it failed before any task could start)
// calls Close instead.
func (a *Tasks[R]) Close() {
	a.mu.Lock() // waits for an Assign or Restart in progress
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
}
