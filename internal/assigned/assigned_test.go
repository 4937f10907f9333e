package assigned

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// runner is a fake task runner: one instance of a task.
type runner struct {
	id      int
	config  map[string]string
	started chan struct{} // closed when Supervise began
}

// fake records what the machinery asks of a pipeline.
type fake struct {
	mu      sync.Mutex
	listed  map[int]*runner // the status list, by id
	events  []string        // "start <id> <v>", "stop <id> <v>"
	hold    chan struct{}   // non-nil: a stopping Supervise waits for it to close
	stopReq chan int        // receives a task's id when its ctx is done
}

func newFake() *fake { return &fake{listed: map[int]*runner{}, stopReq: make(chan int, 16)} }

func (f *fake) Add(id int, config map[string]string) *runner {
	r := &runner{id: id, config: config, started: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed[id] = r
	return r
}

func (f *fake) Remove(r *runner) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listed[r.id] == r {
		delete(f.listed, r.id)
	}
}

func (f *fake) RemoveID(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.listed, id)
}

func (f *fake) Supervise(ctx context.Context, id int, r *runner, config map[string]string) error {
	f.event("start %d %s", id, config["v"])
	close(r.started)
	<-ctx.Done()
	f.stopReq <- id
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	f.event("stop %d %s", id, config["v"])
	return errors.New("ignored")
}

func (f *fake) event(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, args...))
}

func (f *fake) takeEvents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.events
	f.events = nil
	return e
}

func (f *fake) runners() map[int]*runner {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.listed)
}

// cfg is a task config with version v.
func cfg(v string) map[string]string { return map[string]string{"v": v} }

// waitStarted waits for the listed runners of ids to have started.
func waitStarted(t *testing.T, f *fake, ids ...int) {
	t.Helper()
	for _, id := range ids {
		r := f.runners()[id]
		if r == nil {
			t.Fatalf("task %d is not listed: %v", id, slices.Sorted(maps.Keys(f.runners())))
		}
		select {
		case <-r.started:
		case <-time.After(30 * time.Second):
			t.Fatalf("task %d did not start", id)
		}
	}
}

// start makes the Tasks of f, gives them get's initial assignment and
// runs them until the returned stop is called; stop waits for Run.
func start(t *testing.T, f *fake, tasks map[int]map[string]string) (a *Tasks[*runner], stop func()) {
	t.Helper()
	a = New[*runner]("source", "c1", f)
	if err := Assign(context.Background(), "source", "c1", tasks, func() *Tasks[*runner] { return a }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	return a, func() {
		cancel()
		<-done
	}
}

func TestAssignReconcilesByIDAndConfig(t *testing.T) {
	f := newFake()
	a, stop := start(t, f, map[int]map[string]string{0: cfg("a"), 1: cfg("b")})
	defer stop()
	get := func() *Tasks[*runner] { return a }
	waitStarted(t, f, 0, 1)
	before := f.runners()
	f.takeEvents()

	// 0's config changes, 1 stays, 2 is new.
	if err := Assign(context.Background(), "source", "c1", map[int]map[string]string{0: cfg("a2"), 1: cfg("b"), 2: cfg("c")}, get); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, f, 0, 1, 2)
	after := f.runners()
	if after[1] != before[1] {
		t.Error("task 1, assigned with an equal config, was replaced")
	}
	if after[0] == before[0] || after[0].config["v"] != "a2" {
		t.Errorf("task 0 runs %v; want a new instance with config a2", after[0].config)
	}
	ev := f.takeEvents()
	if i, j := slices.Index(ev, "stop 0 a"), slices.Index(ev, "start 0 a2"); i < 0 || j < 0 || i > j {
		t.Errorf("events %q: want task 0's old instance stopped before the new one started", ev)
	}
	if slices.Contains(ev, "stop 1 b") {
		t.Errorf("events %q: task 1 was stopped", ev)
	}

	// Nothing assigned: every task stops and leaves the status.
	if err := Assign(context.Background(), "source", "c1", nil, get); err != nil {
		t.Fatal(err)
	}
	if got := f.runners(); len(got) != 0 {
		t.Errorf("after an empty assignment the status lists %v", slices.Sorted(maps.Keys(got)))
	}
}

func TestRestartReplacesOneTask(t *testing.T) {
	f := newFake()
	a, stop := start(t, f, map[int]map[string]string{0: cfg("a"), 1: cfg("b")})
	defer stop()
	waitStarted(t, f, 0, 1)
	before := f.runners()
	f.takeEvents()
	if err := Restart(context.Background(), "sink", "c1", a, 1); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, f, 1)
	after := f.runners()
	if after[1] == before[1] || after[1].config["v"] != "b" {
		t.Errorf("task 1 after Restart: same instance %v, config %v; want a new one with config b", after[1] == before[1], after[1].config)
	}
	if after[0] != before[0] {
		t.Error("Restart of task 1 replaced task 0")
	}
	if ev := f.takeEvents(); !slices.Equal(ev, []string{"stop 1 b", "start 1 b"}) {
		t.Errorf("events %q; want task 1 stopped then started", ev)
	}
}

func TestErrorsNameKindConnectorAndTask(t *testing.T) {
	f := newFake()
	a := New[*runner]("sink", "c1", f)
	get := func() *Tasks[*runner] { return a }
	none := func() *Tasks[*runner] { return nil }
	ctx := context.Background()
	for _, c := range []struct {
		err  error
		want string
	}{
		{Assign(ctx, "sink", "c1", map[int]map[string]string{-1: nil}, get), `sink "c1": assigning task -1: task ids must not be negative`},
		{Assign(ctx, "sink", "c1", nil, none), `sink "c1": AssignTasks during a Run that was not started in assigned mode (call AssignTasks before Run)`},
		{Restart(ctx, "sink", "c1", (*Tasks[*runner])(nil), 3), `sink "c1": restarting task 3: the pipeline is not in assigned mode (AssignTasks was not called before Run)`},
		{Restart(ctx, "sink", "c1", a, 3), `sink "c1": restarting task 3: the task is not assigned to this pipeline`},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("error %v; want %q", c.err, c.want)
		}
	}
	// Before Run: a task is assigned and listed but not started, and a
	// restart of it is a no-op.
	if err := Assign(ctx, "sink", "c1", map[int]map[string]string{3: nil}, get); err != nil {
		t.Fatal(err)
	}
	if err := Restart(ctx, "sink", "c1", a, 3); err != nil {
		t.Fatal(err)
	}
	if r := f.runners()[3]; r == nil || r.config == nil {
		t.Fatalf("task 3 listed as %v; want listed with an empty config", r)
	}
	// Unassigned before Run: it leaves the status without having started.
	if err := Assign(ctx, "sink", "c1", nil, get); err != nil {
		t.Fatal(err)
	}
	if len(f.runners()) != 0 || len(f.takeEvents()) != 0 {
		t.Errorf("after unassigning a task never started: listed %v", f.runners())
	}
	a.Close()
}

func TestAssignGivesUpWaitingAndStartsLater(t *testing.T) {
	f := newFake()
	f.hold = make(chan struct{})
	a, stop := start(t, f, map[int]map[string]string{0: cfg("a")})
	defer stop()
	var once sync.Once
	release := func() {
		once.Do(func() {
			f.mu.Lock()
			close(f.hold)
			f.hold = nil
			f.mu.Unlock()
		})
	}
	defer release() // before stop, also when the test fails
	get := func() *Tasks[*runner] { return a }
	waitStarted(t, f, 0)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Assign(ctx, "source", "c1", map[int]map[string]string{0: cfg("a2")}, get) }()
	<-f.stopReq // task 0 was asked to stop and is held
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || err.Error() != `source "c1": waiting for task 0 to stop: context canceled` {
		t.Fatalf("Assign while the stop is held: %v", err)
	}
	if r := f.runners()[0]; r == nil || r.config["v"] != "a" {
		t.Fatalf("while the old instance stops, the status lists %v; want the old instance", r)
	}
	release()

	// The next call waits for the stop it gave up on, then starts task 0.
	if err := Assign(context.Background(), "source", "c1", map[int]map[string]string{0: cfg("a2")}, get); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, f, 0)
	if ev := f.takeEvents(); !slices.Equal(ev, []string{"start 0 a", "stop 0 a", "start 0 a2"}) {
		t.Errorf("events %q", ev)
	}
}

func TestAssignAfterRunIsANoOp(t *testing.T) {
	f := newFake()
	a, stop := start(t, f, map[int]map[string]string{0: cfg("a")})
	waitStarted(t, f, 0)
	stop()
	if ev := f.takeEvents(); !slices.Equal(ev, []string{"start 0 a", "stop 0 a"}) {
		t.Errorf("events %q; want task 0 stopped when Run's ctx is done", ev)
	}
	get := func() *Tasks[*runner] { return a }
	if err := Assign(context.Background(), "source", "c1", map[int]map[string]string{1: cfg("b")}, get); err != nil {
		t.Fatal(err)
	}
	if err := Restart(context.Background(), "source", "c1", a, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.runners()[1]; ok {
		t.Error("Assign after Run returned added a task")
	}
	if ev := f.takeEvents(); len(ev) != 0 {
		t.Errorf("events after Run returned: %q", ev)
	}
}
