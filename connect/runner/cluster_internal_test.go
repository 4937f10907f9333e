package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
)

// fakeTA mimics source/sink assigned mode: a removed task takes stopDelay
// to stop; AssignTasks returns ctx's error when ctx ends first; Run waits
// for every task on ctx done.
type fakeTA struct {
	name      string
	stopDelay time.Duration
	mu        sync.Mutex
	running   map[int]chan struct{} // id -> stopped
	stopping  []chan struct{}       // every stop begun, which Run waits for (as source's and sink's Run do)
	live      *atomic.Int32         // task 1 instances alive
	ctx       context.Context
}

func (f *fakeTA) Name() string                           { return f.name }
func (f *fakeTA) Type() string                           { return connect.TypeSource }
func (f *fakeTA) Pause()                                 {}
func (f *fakeTA) Resume()                                {}
func (f *fakeTA) PipelineStatus() connect.PipelineStatus { return connect.PipelineStatus{Name: f.name} }
func (f *fakeTA) ComputeTaskConfigs(context.Context) ([]map[string]string, error) {
	return []map[string]string{{}, {}}, nil
}
func (f *fakeTA) RestartAssignedTask(context.Context, int) error { return nil }

func (f *fakeTA) start(id int) {
	ch := make(chan struct{})
	f.running[id] = ch
	if id == 1 {
		f.live.Add(1)
	}
}

func (f *fakeTA) stop(id int) chan struct{} {
	ch := f.running[id]
	delete(f.running, id)
	f.stopping = append(f.stopping, ch)
	go func() {
		time.Sleep(f.stopDelay)
		if id == 1 {
			f.live.Add(-1)
		}
		close(ch)
	}()
	return ch
}

func (f *fakeTA) AssignTasks(ctx context.Context, tasks map[int]map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		f.running = map[int]chan struct{}{}
	}
	if f.ctx == nil { // before Run: remember
		for id := range tasks {
			f.running[id] = nil
		}
		return nil
	}
	var waits []chan struct{}
	for id := range f.running {
		if _, ok := tasks[id]; !ok {
			waits = append(waits, f.stop(id))
		}
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for id := range tasks {
		if _, ok := f.running[id]; !ok {
			f.start(id)
		}
	}
	return nil
}

func (f *fakeTA) Run(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	ids := []int{}
	for id := range f.running {
		ids = append(ids, id)
	}
	for _, id := range ids {
		f.start(id)
	}
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	for id := range f.running {
		f.stop(id)
	}
	waits := f.stopping // stops begun by AssignTasks too
	f.mu.Unlock()
	for _, w := range waits {
		<-w
	}
	return nil
}

// TestClusterRevokeWaitsForARestartingIncarnation: a revocation
// (applyAssignment with fewer tasks) that arrives while a
// whole-pipeline restart is under way returns only once the revoked task
// stopped, so that its next owner never runs it beside this member.
func TestClusterRevokeWaitsForARestartingIncarnation(t *testing.T) {
	r, err := New(Config{Worker: map[string]string{"bootstrap.servers": "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var live atomic.Int32
	build := func(context.Context) (connect.Pipeline, error) {
		return &fakeTA{name: "c", stopDelay: 2 * time.Second, live: &live}, nil
	}
	for {
		r.mu.Lock()
		st := r.started
		r.mu.Unlock()
		if st {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := newSlot(r, "c", map[string]string{"name": "c"}, nil, build, connect.StateRunning)
	s.clustered, s.pendingStart = true, false
	s.clusterTasks = []map[string]string{{}, {}}
	if err := r.addSlot(s); err != nil {
		t.Fatal(err)
	}
	s.setLocal([]int{0, 1}, false)
	s.applyAssignment()
	for live.Load() != 1 {
		time.Sleep(10 * time.Millisecond)
	}
	// A reconfiguration restarts the whole pipeline (as reconcile does).
	s.reconfigure(map[string]string{"name": "c", "x": "1"}, nil, build)
	// The rebalance revokes task 1 from this member.
	s.setLocal([]int{0}, false)
	t0 := time.Now()
	s.applyAssignment()
	t.Logf("applyAssignment returned after %v; task 1 instances alive here: %d", time.Since(t0), live.Load())
	if live.Load() != 0 {
		t.Errorf("revocation returned while revoked task 1 still runs (stopping) on this member")
	}
}

// TestClusterOffsetsWaitForTheClusterToStop: in cluster mode a STOPPED
// connector's offsets can be altered only once its task configurations
// were emptied (every member stopped its tasks), not merely once this
// member stopped.
func TestClusterOffsetsWaitForTheClusterToStop(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	build := func(context.Context) (connect.Pipeline, error) { return nil, errors.New("not built") }
	s := newSlot(r, "c", map[string]string{"name": "c"}, nil, build, connect.StateStopped)
	s.clustered = true
	s.clusterTasks = []map[string]string{{}}
	if _, _, err := s.offsetManager(context.Background(), true); !errors.Is(err, connect.ErrNotStopped) || !strings.Contains(err.Error(), "other workers") {
		t.Fatalf("offsets of a connector whose tasks may still run elsewhere: %v, want ErrNotStopped", err)
	}
	s.clusterTasks = nil
	if _, _, err := s.offsetManager(context.Background(), true); errors.Is(err, connect.ErrNotStopped) {
		t.Fatalf("offsets of a connector stopped everywhere: %v", err)
	}
}
