package runner_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a running Runner with the fake plugins registered.
type env struct {
	t      *testing.T
	r      *runner.Runner
	f      *fakeFactory
	cancel context.CancelFunc
	done   chan error
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv creates a Runner (not yet running) with the fake plugins.
func newEnv(t *testing.T, cfg runner.Config) *env {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = "worker-1:sluice"
	}
	r, err := runner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeFactory()
	for _, p := range f.plugins() {
		if err := r.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, r: r, f: f}
}

// start runs the Runner until the test ends.
func (e *env) start() *env {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.r.Run(ctx) }()
	e.t.Cleanup(func() { e.stop() })
	return e
}

// stop stops the Runner and waits for Run to return.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Fatal("Run did not return")
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitState waits until the connector and all its tasks (at least tasks of
// them) are in state.
func (e *env) waitState(name string, state connect.State, tasks int) runner.ConnectorReport {
	e.t.Helper()
	var rep runner.ConnectorReport
	eventually(e.t, name+" "+string(state), func() bool {
		var err error
		rep, err = e.r.Status(name)
		if err != nil || rep.State != state || len(rep.Tasks) != tasks {
			return false
		}
		for _, t := range rep.Tasks {
			if t.State != state {
				return false
			}
		}
		return true
	})
	return rep
}

func srcConfig(extra ...string) map[string]string {
	c := map[string]string{"connector.class": fakeSourceClass, "tasks.max": "1"}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = extra[i+1]
	}
	return c
}

func sinkConfig(extra ...string) map[string]string {
	c := map[string]string{"connector.class": fakeSinkClass, "topics": "orders"}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = extra[i+1]
	}
	return c
}

func TestRunnerLifecycle(t *testing.T) {
	e := newEnv(t, runner.Config{})
	if err := e.r.AddPipeline("a", map[string]string{"fake.tasks": "2"}, e.f.goBuilder("a", connect.TypeSource, map[string]string{"fake.tasks": "2"})); err != nil {
		t.Fatal(err)
	}
	rep, err := e.r.Status("a")
	if err != nil || rep.State != connect.StateUnassigned || rep.Type != "unknown" || len(rep.Tasks) != 0 {
		t.Fatalf("before Run: %+v, %v", rep, err)
	}
	e.start()
	rep = e.waitState("a", connect.StateRunning, 2)
	if rep.Type != connect.TypeSource || rep.Target != connect.StateRunning || rep.WorkerID != "worker-1:sluice" {
		t.Fatalf("running: %+v", rep)
	}

	if err := e.r.Pause("a"); err != nil {
		t.Fatal(err)
	}
	rep = e.waitState("a", connect.StatePaused, 2)
	if rep.Target != connect.StatePaused {
		t.Fatalf("target %s", rep.Target)
	}
	if err := e.r.Resume("a"); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 2)

	// Stop waits for the pipeline to exit; STOPPED has no tasks.
	if err := e.r.Stop(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	rep, _ = e.r.Status("a")
	if rep.State != connect.StateStopped || len(rep.Tasks) != 0 || e.f.Pipe("a").PipelineStatus().State != connect.StateStopped {
		t.Fatalf("after Stop: %+v", rep)
	}
	if err := e.r.Stop(context.Background(), "a"); err != nil { // idempotent
		t.Fatal(err)
	}
	// Resume from STOPPED rebuilds the pipeline.
	if err := e.r.Resume("a"); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 2)
	if b := e.f.Builds("a"); b != 2 {
		t.Fatalf("builds = %d, want 2", b)
	}

	rep, err = e.r.Restart("a", runner.RestartOptions{IncludeTasks: true})
	if err != nil || rep.State != connect.StateRestarting || rep.Tasks[0].State != connect.StateRestarting {
		t.Fatalf("restart: %+v, %v", rep, err)
	}
	eventually(t, "rebuild", func() bool { return e.f.Builds("a") == 3 })
	rep = e.waitState("a", connect.StateRunning, 2)
	if rep.Restarts != 1 || rep.Tasks[0].Restarts != 1 {
		t.Fatalf("restarts: connector %d task %d", rep.Restarts, rep.Tasks[0].Restarts)
	}

	if err := e.r.Remove(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Status("a"); !errors.Is(err, runner.ErrConnectorNotFound) || err.Error() != "Connector a not found" {
		t.Fatalf("after Remove: %v", err)
	}
	if n := e.r.Connectors(); len(n) != 0 {
		t.Fatalf("connectors %v", n)
	}
	// The name can be reused.
	if err := e.r.AddPipeline("a", nil, e.f.goBuilder("a", connect.TypeSource, nil)); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
}

// When Remove returns, the name is free: an AddPipeline right after it
// succeeds (it once raced with the slot goroutine's own clean-up and got
// "is being deleted").
func TestRemoveFreesTheNameAtOnce(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	for i := range 200 {
		if err := e.r.AddPipeline("a", nil, e.f.goBuilder("a", connect.TypeSource, nil)); err != nil {
			t.Fatalf("round %d: add: %v", i, err)
		}
		if err := e.r.Remove(context.Background(), "a"); err != nil {
			t.Fatalf("round %d: remove: %v", i, err)
		}
	}
}

// Changing one connector never restarts another (Kafka Connect pain point
// 14): B's Run is called exactly once through A's config update, pause,
// restart and deletion, and C's addition.
func TestRunnerPipelinesAreIndependent(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	for _, n := range []string{"A", "B"} {
		if err := e.r.CreateConnector(n, srcConfig(), ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(n, connect.StateRunning, 1)
	}
	created, err := e.r.PutConnectorConfig("A", srcConfig("fake.tasks", "2"))
	if err != nil || created {
		t.Fatalf("PUT: %v %v", created, err)
	}
	e.waitState("A", connect.StateRunning, 2)
	if e.f.Builds("A") != 2 || e.f.Runs("A") != 2 {
		t.Fatalf("A builds %d runs %d", e.f.Builds("A"), e.f.Runs("A"))
	}
	if err := e.r.Pause("A"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Restart("A", runner.RestartOptions{IncludeTasks: true}); err != nil {
		t.Fatal(err)
	}
	e.waitState("A", connect.StatePaused, 2) // a restart keeps the target state
	if err := e.r.AddPipeline("C", nil, e.f.goBuilder("C", connect.TypeSink, nil)); err != nil {
		t.Fatal(err)
	}
	e.waitState("C", connect.StateRunning, 1)
	if err := e.r.Remove(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	rep := e.waitState("B", connect.StateRunning, 1)
	if e.f.Runs("B") != 1 || e.f.Builds("B") != 1 || rep.Restarts != 0 {
		t.Fatalf("B was touched: runs %d builds %d restarts %d", e.f.Runs("B"), e.f.Builds("B"), rep.Restarts)
	}
	if got := strings.Join(e.r.Connectors(), ","); got != "B,C" {
		t.Fatalf("connectors %s", got)
	}
}

func TestRunnerUnchangedConfigRestartsNothing(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("a", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	if _, err := e.r.PutConnectorConfig("a", srcConfig("name", "a")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if e.f.Builds("a") != 1 {
		t.Fatalf("builds %d", e.f.Builds("a"))
	}
	// A different name in the config is refused.
	if _, err := e.r.PutConnectorConfig("a", srcConfig("name", "b")); !errors.Is(err, runner.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

// Run returns only after every pipeline's Run returned.
func TestRunnerRunWaitsForPipelines(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	for _, n := range []string{"slow1", "slow2"} {
		if err := e.r.CreateConnector(n, srcConfig("fake.exit.delay", "100ms"), ""); err != nil {
			t.Fatal(err)
		}
		e.waitState(n, connect.StateRunning, 1)
	}
	e.stop()
	for _, n := range []string{"slow1", "slow2"} {
		if st := e.f.Pipe(n).PipelineStatus().State; st != connect.StateStopped {
			t.Fatalf("%s is %s after Run returned", n, st)
		}
	}
	if err := e.r.AddPipeline("late", nil, e.f.goBuilder("late", connect.TypeSource, nil)); !errors.Is(err, runner.ErrStopped) {
		t.Fatalf("AddPipeline after Run: %v", err)
	}
	if err := e.r.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestRunnerBuildFailure(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("a", srcConfig("fake.build.fail", "cannot reach the database"), ""); err != nil {
		t.Fatal(err)
	}
	var rep runner.ConnectorReport
	eventually(t, "FAILED", func() bool {
		rep, _ = e.r.Status("a")
		return rep.State == connect.StateFailed
	})
	if rep.Err == nil || !strings.Contains(runner.ErrorTrace(rep.Err), "cannot reach the database") || len(rep.Tasks) != 0 {
		t.Fatalf("%+v", rep)
	}
	// Fixing the configuration restarts it.
	if err := e.r.PatchConnectorConfig("a", map[string]*string{"fake.build.fail": nil}); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
}

func TestRunnerPanickingBuilderFails(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	err := e.r.AddPipeline("p", nil, func(context.Context) (connect.Pipeline, error) { panic("boom") })
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "FAILED", func() bool {
		rep, _ := e.r.Status("p")
		return rep.State == connect.StateFailed && strings.Contains(rep.Err.Error(), "panicked: boom")
	})
}

func TestRunnerRestartOnlyFailed(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("a", srcConfig("fake.fail", "disk full"), ""); err != nil {
		t.Fatal(err)
	}
	rep := e.waitState("a", connect.StateFailed, 1)
	if !strings.Contains(rep.Tasks[0].Err.Error(), "disk full") {
		t.Fatalf("task error %v", rep.Tasks[0].Err)
	}
	rep, err := e.r.Restart("a", runner.RestartOptions{IncludeTasks: true, OnlyFailed: true})
	if err != nil || rep.State != connect.StateRestarting || rep.Tasks[0].State != connect.StateRestarting {
		t.Fatalf("restart: %+v %v", rep, err)
	}
	eventually(t, "rebuild", func() bool { return e.f.Builds("a") == 2 })
	e.waitState("a", connect.StateFailed, 1)

	// onlyFailed on a healthy connector restarts nothing.
	if err := e.r.CreateConnector("ok", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("ok", connect.StateRunning, 1)
	rep, err = e.r.Restart("ok", runner.RestartOptions{IncludeTasks: true, OnlyFailed: true})
	if err != nil || rep.State != connect.StateRunning || rep.Tasks[0].State != connect.StateRunning {
		t.Fatalf("restart of healthy: %+v %v", rep, err)
	}
	time.Sleep(20 * time.Millisecond)
	if e.f.Builds("ok") != 1 {
		t.Fatalf("healthy connector rebuilt")
	}
}

func TestRunnerTaskRestartInPlace(t *testing.T) {
	e := newEnv(t, runner.Config{})
	e.f.restarter = true
	e.start()
	if err := e.r.CreateConnector("a", srcConfig("fake.tasks", "2"), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 2)
	p := e.f.Pipe("a")
	p.SetTask(1, func(ts *connect.TaskStatus) { ts.State, ts.Err = connect.StateFailed, errors.New("bad record") })

	rep, err := e.r.Restart("a", runner.RestartOptions{IncludeTasks: true, OnlyFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != connect.StateRunning || rep.Tasks[0].State != connect.StateRunning || rep.Tasks[1].State != connect.StateRestarting {
		t.Fatalf("restart report: %+v", rep)
	}
	if err := e.r.RestartTask("a", 0); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	restarted := append([]int(nil), p.restarted...)
	p.mu.Unlock()
	if len(restarted) != 2 || restarted[0] != 1 || restarted[1] != 0 || e.f.Builds("a") != 1 {
		t.Fatalf("restarted %v builds %d", restarted, e.f.Builds("a"))
	}
	rep = e.waitState("a", connect.StateRunning, 2)
	if rep.Tasks[1].Restarts != 1 || rep.Tasks[0].Restarts != 1 {
		t.Fatalf("restarts %d %d", rep.Tasks[0].Restarts, rep.Tasks[1].Restarts)
	}
	if err := e.r.RestartTask("a", 7); !errors.Is(err, runner.ErrTaskNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
}

func TestRunnerTaskRestartWithoutRestarterRestartsPipeline(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("a", srcConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	if err := e.r.RestartTask("a", 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rebuild", func() bool { return e.f.Builds("a") == 2 })
	e.waitState("a", connect.StateRunning, 1)
}

func TestRunnerInitialStates(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("p", srcConfig(), connect.StatePaused); err != nil {
		t.Fatal(err)
	}
	e.waitState("p", connect.StatePaused, 1)
	if err := e.r.CreateConnector("s", srcConfig(), connect.StateStopped); err != nil {
		t.Fatal(err)
	}
	rep, _ := e.r.Status("s")
	if rep.State != connect.StateStopped || e.f.Builds("s") != 0 {
		t.Fatalf("%+v builds %d", rep, e.f.Builds("s"))
	}
	if err := e.r.CreateConnector("x", srcConfig(), "SLEEPING"); !errors.Is(err, runner.ErrInvalidConfig) {
		t.Fatalf("bad initial state: %v", err)
	}
	// Pausing a STOPPED connector starts it paused.
	if err := e.r.Pause("s"); err != nil {
		t.Fatal(err)
	}
	e.waitState("s", connect.StatePaused, 1)
}

func TestRunnerOffsetsRequireStopped(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, runner.Config{}).start()
	if err := e.r.CreateConnector("a", srcConfig(), connect.StateStopped); err != nil {
		t.Fatal(err)
	}
	part := map[string]any{"file": "a.txt"}
	// STOPPED before any run: an unrun pipeline is built for the offsets.
	if err := e.r.AlterOffsets(ctx, "a", []connect.OffsetEntry{{Partition: part, Offset: map[string]any{"pos": int64(7)}}}); err != nil {
		t.Fatal(err)
	}
	if e.f.Builds("a") != 1 || e.f.Runs("a") != 0 {
		t.Fatalf("builds %d runs %d", e.f.Builds("a"), e.f.Runs("a"))
	}
	// Resuming runs that pipeline rather than building another.
	if err := e.r.Resume("a"); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	if e.f.Builds("a") != 1 || e.f.Runs("a") != 1 {
		t.Fatalf("builds %d runs %d", e.f.Builds("a"), e.f.Runs("a"))
	}
	got, err := e.r.Offsets(ctx, "a") // listing works while running
	if err != nil || len(got) != 1 || got[0].Offset["pos"] != int64(7) {
		t.Fatalf("offsets %v %v", got, err)
	}
	err = e.r.AlterOffsets(ctx, "a", []connect.OffsetEntry{{Partition: part}})
	if !errors.Is(err, connect.ErrNotStopped) || !strings.Contains(err.Error(), "Connectors must be in the STOPPED state") {
		t.Fatalf("alter while running: %v", err)
	}
	if err := e.r.ResetOffsets(ctx, "a"); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("reset while running: %v", err)
	}
	if err := e.r.Pause("a"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.ResetOffsets(ctx, "a"); !errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("reset while paused: %v", err)
	}
	if err := e.r.Stop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.ResetOffsets(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.r.Offsets(ctx, "a"); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
	// A pipeline without OffsetManager.
	if err := e.r.AddPipeline("plain", nil, func(context.Context) (connect.Pipeline, error) { return &plainPipe{name: "plain"}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Offsets(ctx, "plain"); !errors.Is(err, connect.ErrOffsetsUnsupported) {
		t.Fatalf("plain: %v", err)
	}
}

// plainPipe implements only connect.Pipeline.
type plainPipe struct{ name string }

func (p *plainPipe) Name() string                  { return p.name }
func (p *plainPipe) Type() string                  { return connect.TypeSource }
func (p *plainPipe) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (p *plainPipe) Pause()                        {}
func (p *plainPipe) Resume()                       {}
func (p *plainPipe) PipelineStatus() connect.PipelineStatus {
	return connect.PipelineStatus{Name: p.name, Type: connect.TypeSource, State: connect.StateRunning}
}

func TestRunnerRegisterErrors(t *testing.T) {
	e := newEnv(t, runner.Config{})
	newFn := func(context.Context, map[string]string, map[string]string) (connect.Pipeline, error) { return nil, nil }
	for _, p := range []connect.Plugin{
		{Type: connect.TypeSource, New: newFn},
		{Class: "x.Y", Type: "other", New: newFn},
		{Class: "x.Y", Type: connect.TypeSink},
		{Class: fakeSourceClass, Type: connect.TypeSource, New: newFn},
		{Class: "x.Z", Aliases: []string{fakeSinkClass}, Type: connect.TypeSource, New: newFn},
	} {
		if err := e.r.Register(p); err == nil {
			t.Errorf("Register(%+v) succeeded", p)
		}
	}
	// Lookups by simple name and alias, as Kafka Connect.
	for _, class := range []string{"FakeSourceConnector", "FakeSource"} {
		if err := e.r.CreateConnector("c-"+class, map[string]string{"connector.class": class}, connect.StateStopped); err != nil {
			t.Errorf("class %s: %v", class, err)
		}
	}
	err := e.r.CreateConnector("c", map[string]string{"connector.class": "NoSuch"}, "")
	if !errors.Is(err, runner.ErrInvalidConfig) || !errors.Is(err, runner.ErrPluginNotFound) {
		t.Errorf("unknown class: %v", err)
	}
	if err := e.r.CreateConnector("c", map[string]string{}, ""); !errors.Is(err, runner.ErrInvalidConfig) || !strings.Contains(err.Error(), "contains no connector type") {
		t.Errorf("no class: %v", err)
	}
	err = e.r.CreateConnector("c", srcConfig("tasks.max", "0", "fake.tasks", "x"), "")
	if !errors.Is(err, runner.ErrInvalidConfig) || !strings.Contains(err.Error(), "contains the following 3 error(s)") {
		t.Errorf("invalid: %v", err)
	}
	if err := e.r.CreateConnector("", srcConfig(), ""); !errors.Is(err, runner.ErrInvalidConfig) {
		t.Errorf("empty name: %v", err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunnerLogsWithConnectorAttributesAndMaskedSecrets(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	e := newEnv(t, runner.Config{Logger: log})
	var built *slog.Logger
	e.start()
	secrets := srcConfig("connection.password", "pw-1", "fake.secret", "pw-2", "fake.token", "pw-3",
		"producer.override.sasl.jaas.config", "pw-4", "value.converter.basic.auth.user.info", "pw-5")
	if err := e.r.CreateConnector("a", secrets, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	if err := e.r.AddPipeline("go", map[string]string{"ssl.key.password": "pw-6"}, func(ctx context.Context) (connect.Pipeline, error) {
		built = connect.ContextLogger(ctx)
		return &plainPipe{name: "go"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.waitState("go", connect.StateRunning, 0)
	built.Info("hello from the builder")
	if _, err := e.r.PutConnectorConfig("a", func() map[string]string {
		c := runner.MaskConfig(secrets, "fake.secret", "fake.token")
		c["fake.tasks"] = "2"
		return c
	}()); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 2)
	out := buf.String()
	for i := 1; i <= 6; i++ {
		if strings.Contains(out, "pw-"+string(rune('0'+i))) {
			t.Errorf("secret pw-%d in the log:\n%s", i, out)
		}
	}
	if !strings.Contains(out, "connector=a") {
		t.Errorf("connector attributes missing:\n%s", out)
	}
	// The builder's logger is the Runner's: source and sink pipelines add
	// the connector and task attributes themselves (not twice).
	if !strings.Contains(out, "msg=\"hello from the builder\"\n") {
		t.Errorf("the builder's logger should carry no connector attribute:\n%s", out)
	}
	// "[hidden]" sent back keeps the secrets.
	cfg, _ := e.r.ConnectorConfig("a")
	if cfg["connection.password"] != "pw-1" || cfg["fake.secret"] != "pw-2" || cfg["fake.token"] != "pw-3" || cfg["fake.tasks"] != "2" {
		t.Errorf("config after PUT of masked values: %v", cfg)
	}
	if p := e.f.Pipe("a"); p.config["fake.secret"] != "pw-2" {
		t.Errorf("the pipeline got %q", p.config["fake.secret"])
	}
}

func TestIsPasswordKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "connection.password": true, "ssl.key.password": true, "ssl.keystore.password": true,
		"ssl.truststore.password": true, "producer.override.ssl.key.password": true, "sasl.jaas.config": true,
		"consumer.override.sasl.jaas.config": true, "basic.auth.user.info": true,
		"value.converter.basic.auth.user.info": true, "ssl.keystore.key": true,
		"producer.override.sasl.oauthbearer.client.credentials.client.secret": true,
		"admin.sasl.oauthbearer.assertion.private.key.passphrase":             true,
		"passwords": false, "password.file": false, "connection.user": false, "topic": false,
	} {
		if got := runner.IsPasswordKey(key); got != want {
			t.Errorf("IsPasswordKey(%q) = %v", key, got)
		}
	}
}

func TestErrorTrace(t *testing.T) {
	base := errors.New("connection refused")
	err := connect.NewRecordError("orders", 0, connect.StageTaskPut, nil, nil, 3, base)
	tr := runner.ErrorTrace(err)
	if !strings.HasPrefix(tr, err.Error()) || !strings.Contains(tr, "\nCaused by: *errors.errorString: connection refused") {
		t.Fatalf("trace:\n%s", tr)
	}
	if runner.ErrorTrace(nil) != "" {
		t.Fatal("nil trace")
	}
}

func TestRunnerGoBuiltConfigAndStoppedBeforeRun(t *testing.T) {
	e := newEnv(t, runner.Config{})
	if err := e.r.AddPipeline("g", map[string]string{"x": "1"}, e.f.goBuilder("g", connect.TypeSink, nil)); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Stop(context.Background(), "g"); err != nil {
		t.Fatal(err)
	}
	if rep, _ := e.r.Status("g"); rep.State != connect.StateStopped {
		t.Fatalf("stopped before Run: %s", rep.State)
	}
	// A Go-built pipeline's config can be replaced only by one naming a
	// plugin, or through UpdatePipeline.
	if _, err := e.r.PutConnectorConfig("g", map[string]string{"x": "2"}); !errors.Is(err, runner.ErrInvalidConfig) {
		t.Fatalf("PUT on Go-built: %v", err)
	}
	e.start()
	if err := e.r.UpdatePipeline("g", map[string]string{"x": "3"}, e.f.goBuilder("g", connect.TypeSink, map[string]string{"fake.tasks": "2"})); err != nil {
		t.Fatal(err)
	}
	if rep, _ := e.r.Status("g"); rep.State != connect.StateStopped || e.f.Builds("g") != 0 {
		t.Fatalf("UpdatePipeline of a STOPPED pipeline started it: %s builds %d", rep.State, e.f.Builds("g"))
	}
	if err := e.r.Resume("g"); err != nil {
		t.Fatal(err)
	}
	e.waitState("g", connect.StateRunning, 2)
	if cfg, _ := e.r.ConnectorConfig("g"); cfg["x"] != "3" || cfg["name"] != "g" {
		t.Fatalf("config %v", cfg)
	}
	// Replacing it with a plugin-built definition works.
	if _, err := e.r.PutConnectorConfig("g", sinkConfig()); err != nil {
		t.Fatal(err)
	}
	e.waitState("g", connect.StateRunning, 1)
	if e.f.Builds("g") != 2 {
		t.Fatalf("builds %d", e.f.Builds("g"))
	}
}

// A failure whose text quotes a secret (e.g. a driver echoing its DSN)
// shows it masked in the status trace and the log.
func TestRunnerScrubsSecretsFromErrors(t *testing.T) {
	var buf syncBuffer
	e := newEnv(t, runner.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Worker: map[string]string{"sasl.jaas.config": "worker-secret-9"}})
	e.start()
	cfg := srcConfig("connection.password", "hunter22", "fake.build.fail", "login failed for dsn user:hunter22@db with worker-secret-9")
	if err := e.r.CreateConnector("a", cfg, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateFailed, 0)
	w := do(e.r.Handler(), "GET", "/connectors/a/status", "")
	if strings.Contains(w.Body.String(), "hunter22") || strings.Contains(w.Body.String(), "worker-secret-9") || !strings.Contains(w.Body.String(), "user:[hidden]@db") {
		t.Errorf("status: %s", w.Body)
	}
	if strings.Contains(buf.String(), "hunter22") || strings.Contains(buf.String(), "worker-secret-9") {
		t.Errorf("log: %s", buf.String())
	}
}

// Concurrent operations on several connectors, with status and metrics
// read meanwhile: no race, no deadlock, and Run returns with every
// pipeline goroutine gone (goleak).
func TestRunnerConcurrentOperations(t *testing.T) {
	prom := newPromEnv(t, kcNames...)
	e := newEnv(t, runner.Config{MeterProvider: prom.mp}).start()
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		if err := e.r.CreateConnector(n, srcConfig(), ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	deadline := time.Now().Add(300 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; time.Now().Before(deadline); j++ {
				n := names[(i+j)%len(names)]
				switch (i + j) % 9 {
				case 0:
					_ = e.r.Pause(n)
				case 1:
					_ = e.r.Resume(n)
				case 2:
					_, _ = e.r.Restart(n, runner.RestartOptions{IncludeTasks: true})
				case 3:
					_, _ = e.r.PutConnectorConfig(n, srcConfig("fake.tasks", strconv.Itoa(1+j%3)))
				case 4:
					_ = e.r.Stop(ctx, n)
				case 5:
					_, _ = e.r.Status(n)
				case 6:
					_ = prom.text(t)
				case 7:
					_ = e.r.RestartTask(n, 0)
				case 8:
					_ = do(e.r.Handler(), "GET", "/connectors?expand=status", "")
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range names {
		if err := e.r.Resume(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		eventually(t, n+" running", func() bool {
			rep, _ := e.r.Status(n)
			return rep.State == connect.StateRunning
		})
	}
	e.stop()
}
