package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// t0 is the fixed time base of the fakes' progress facts, so that status
// bodies are deterministic.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// fakeFactory builds fake pipelines and counts builds and runs per
// connector. Its offsets store is shared by every pipeline it builds.
type fakeFactory struct {
	mu        sync.Mutex
	builds    map[string]int
	runs      map[string]*atomic.Int32
	pipes     map[string]*fakePipe // last built, by connector
	offsets   map[string]map[string]connect.OffsetEntry
	restarter bool // build pipelines implementing connect.TaskRestarter
	// onBuild, if set, adjusts a freshly built pipeline.
	onBuild func(p *fakePipe)
}

func newFakeFactory() *fakeFactory {
	return &fakeFactory{
		builds:  map[string]int{},
		runs:    map[string]*atomic.Int32{},
		pipes:   map[string]*fakePipe{},
		offsets: map[string]map[string]connect.OffsetEntry{},
	}
}

func (f *fakeFactory) Builds(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds[name]
}

func (f *fakeFactory) Runs(name string) int {
	f.mu.Lock()
	c := f.runs[name]
	f.mu.Unlock()
	if c == nil {
		return 0
	}
	return int(c.Load())
}

func (f *fakeFactory) Pipe(name string) *fakePipe {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pipes[name]
}

// build returns a pipeline described by config: fake.tasks (default 1),
// fake.fail (Run fails with that message), fake.build.fail (the build
// fails with it), fake.exit.delay (Run takes that long to return after
// cancellation).
func (f *fakeFactory) build(name, typ string, config map[string]string) (connect.Pipeline, error) {
	if msg := config["fake.build.fail"]; msg != "" {
		return nil, errors.New(msg)
	}
	n := 1
	if v := config["fake.tasks"]; v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return nil, err
		}
	}
	delay, _ := time.ParseDuration(config["fake.exit.delay"])
	f.mu.Lock()
	f.builds[name]++
	if f.runs[name] == nil {
		f.runs[name] = &atomic.Int32{}
	}
	if f.offsets[name] == nil {
		f.offsets[name] = map[string]connect.OffsetEntry{}
	}
	p := &fakePipe{
		f: f, name: name, typ: typ, state: connect.StateUnassigned, runs: f.runs[name],
		failMsg: config["fake.fail"], exitDelay: delay, started: make(chan struct{}),
		config: maps.Clone(config),
	}
	for i := range n {
		p.tasks = append(p.tasks, fakeTaskStatus(typ, i))
	}
	f.pipes[name] = p
	onBuild, restarter := f.onBuild, f.restarter
	f.mu.Unlock()
	if onBuild != nil {
		onBuild(p)
	}
	if restarter {
		return &fakeRestarterPipe{p}, nil
	}
	return p, nil
}

// fakeTaskStatus returns fixed progress facts for task i.
func fakeTaskStatus(typ string, i int) connect.TaskStatus {
	ts := connect.TaskStatus{
		ID: i, State: connect.StateUnassigned, Started: t0,
		LastPoll: t0.Add(2 * time.Second), LastProgress: t0.Add(3 * time.Second), LastCommit: t0.Add(4 * time.Second),
		Errors: connect.ErrorMetrics{RecordFailures: 3, RecordErrors: 1, RecordsSkipped: 1, Retries: 2, ErrorsLogged: 1, LastError: t0.Add(time.Second)},
	}
	if typ == connect.TypeSource {
		ts.RecordsIn, ts.RecordsOut, ts.RecordsDropped, ts.InFlight, ts.Lag = 100, 95, 5, 0, -1
		return ts
	}
	ts.RecordsIn, ts.RecordsOut, ts.RecordsDropped, ts.InFlight, ts.Lag = 100, 80, 0, 20, 40
	ts.OffsetCommits, ts.OffsetCommitFailures, ts.OffsetCommitSkips = 3, 1, 1
	ts.Errors.DLQProduceRequests = 1
	ts.Partitions = []connect.PartitionStatus{
		{TopicPartition: connect.TopicPartition{Topic: "orders", Partition: 0}, Position: 50, Committed: 40, HighWatermark: 60},
		{TopicPartition: connect.TopicPartition{Topic: "orders", Partition: 1}, Position: 50, Committed: 50, HighWatermark: 70},
	}
	return ts
}

// fakePipe is a connect.Pipeline (and OffsetManager) whose status the test
// controls.
type fakePipe struct {
	f         *fakeFactory
	name, typ string
	runs      *atomic.Int32
	failMsg   string
	exitDelay time.Duration
	started   chan struct{} // closed when Run started
	config    map[string]string

	mu      sync.Mutex
	state   connect.State
	err     error
	paused  bool
	running bool
	tasks   []connect.TaskStatus
	// restarted lists task ids restarted in place.
	restarted []int
}

func (p *fakePipe) Name() string { return p.name }
func (p *fakePipe) Type() string { return p.typ }

func (p *fakePipe) Run(ctx context.Context) error {
	p.runs.Add(1)
	p.mu.Lock()
	p.running = true
	st := connect.StateRunning
	if p.paused {
		st = connect.StatePaused
	}
	p.setLocked(st)
	var err error
	if p.failMsg != "" {
		err = fmt.Errorf("task %s-0 failed: %w", p.name, errors.New(p.failMsg))
		p.state, p.err = connect.StateFailed, err
		for i := range p.tasks {
			p.tasks[i].State, p.tasks[i].Err = connect.StateFailed, err
		}
		p.running = false
	}
	p.mu.Unlock()
	close(p.started)
	if err != nil {
		return err
	}
	<-ctx.Done()
	time.Sleep(p.exitDelay)
	p.mu.Lock()
	p.running = false
	p.setLocked(connect.StateStopped)
	p.mu.Unlock()
	return nil
}

func (p *fakePipe) setLocked(s connect.State) {
	p.state = s
	for i := range p.tasks {
		if p.tasks[i].State != connect.StateFailed {
			p.tasks[i].State = s
		}
	}
}

func (p *fakePipe) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	if p.state == connect.StateRunning {
		p.setLocked(connect.StatePaused)
	}
}

func (p *fakePipe) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	if p.state == connect.StatePaused {
		p.setLocked(connect.StateRunning)
	}
}

func (p *fakePipe) PipelineStatus() connect.PipelineStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return connect.PipelineStatus{Name: p.name, Type: p.typ, State: p.state, Err: p.err, Tasks: slices.Clone(p.tasks)}
}

// SetTask changes task i's status.
func (p *fakePipe) SetTask(i int, fn func(*connect.TaskStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.tasks[i])
}

func partitionKey(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func (p *fakePipe) ListOffsets(context.Context) ([]connect.OffsetEntry, error) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	store := p.f.offsets[p.name]
	out := []connect.OffsetEntry{}
	for _, k := range slices.Sorted(maps.Keys(store)) {
		out = append(out, store[k])
	}
	return out, nil
}

func (p *fakePipe) AlterOffsets(_ context.Context, entries []connect.OffsetEntry) error {
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	if running {
		return errors.New("fake: pipeline is running")
	}
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	store := p.f.offsets[p.name]
	for _, e := range entries {
		if e.Offset == nil {
			delete(store, partitionKey(e.Partition))
		} else {
			store[partitionKey(e.Partition)] = e
		}
	}
	return nil
}

func (p *fakePipe) ResetOffsets(context.Context) error {
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	if running {
		return errors.New("fake: pipeline is running")
	}
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	clear(p.f.offsets[p.name])
	return nil
}

// fakeRestarterPipe restarts tasks in place.
type fakeRestarterPipe struct{ *fakePipe }

func (p *fakeRestarterPipe) RestartTask(id int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id < 0 || id >= len(p.tasks) {
		return fmt.Errorf("no task %d", id)
	}
	p.restarted = append(p.restarted, id)
	p.tasks[id].State, p.tasks[id].Err = connect.StateRunning, nil
	return nil
}

// Plugin classes of the fakes.
const (
	fakeSourceClass = "com.example.FakeSourceConnector"
	fakeSinkClass   = "com.example.FakeSinkConnector"
)

// plugins returns the fake source and sink plugins.
func (f *fakeFactory) plugins() []connect.Plugin {
	mk := func(class, typ string) connect.Plugin {
		return connect.Plugin{
			Class: class, Type: typ, Version: "1.2.3",
			New: func(ctx context.Context, worker, connector map[string]string) (connect.Pipeline, error) {
				return f.build(connector["name"], typ, connector)
			},
			Validate: func(c map[string]string) []connect.ConfigIssue {
				if v, ok := c["fake.tasks"]; ok {
					if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 8 {
						return []connect.ConfigIssue{{Key: "fake.tasks", Message: "must be an integer from 1 to 8"}}
					}
				}
				return nil
			},
			Config: []connect.ConfigKey{
				{Name: "fake.tasks", Type: "INT", Default: "1", Importance: "HIGH", Group: "Fake", Order: 1, Documentation: "Number of fake tasks."},
				{Name: "fake.secret", Type: "PASSWORD", Importance: "HIGH", Group: "Fake", Order: 2, Documentation: "A secret."},
			},
			PasswordKeys: []string{"fake.token"},
		}
	}
	src := mk(fakeSourceClass, connect.TypeSource)
	src.TaskClass = "com.example.FakeSourceTask" // task.class in task configs; the sink declares none
	return []connect.Plugin{src, mk(fakeSinkClass, connect.TypeSink)}
}

// goBuilder returns a BuildFunc for a pipeline built in Go.
func (f *fakeFactory) goBuilder(name, typ string, config map[string]string) runner.BuildFunc {
	return func(ctx context.Context) (connect.Pipeline, error) { return f.build(name, typ, config) }
}
