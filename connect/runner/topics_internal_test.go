package runner

import (
	"context"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// trackerPipe is a pipeline whose ActiveTopics can be held after it took
// its snapshot, to interleave a read with a reset.
type trackerPipe struct {
	mu     sync.Mutex
	topics []string
	hold   chan struct{} // closed to let a held ActiveTopics return
	taken  chan struct{} // closed once a held ActiveTopics took its snapshot
}

func (p *trackerPipe) Name() string                  { return "tp" }
func (p *trackerPipe) Type() string                  { return connect.TypeSink }
func (p *trackerPipe) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (p *trackerPipe) Pause()                        {}
func (p *trackerPipe) Resume()                       {}
func (p *trackerPipe) PipelineStatus() connect.PipelineStatus {
	return connect.PipelineStatus{Name: "tp"}
}

func (p *trackerPipe) ActiveTopics() []string {
	p.mu.Lock()
	snap := append([]string(nil), p.topics...)
	hold, taken := p.hold, p.taken
	p.hold, p.taken = nil, nil
	p.mu.Unlock()
	if hold != nil {
		close(taken)
		<-hold
	}
	return snap
}

func (p *trackerPipe) ResetActiveTopics() {
	p.mu.Lock()
	p.topics = nil
	p.mu.Unlock()
}

// TestActiveTopicsReadDoesNotUndoAReset: a GET …/topics racing with a
// reset must not bring the reset topics back for good (it read the
// pipeline's set before the reset and used to fold it into the kept set
// after it).
func TestActiveTopicsReadDoesNotUndoAReset(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSlot(r, "tp", nil, nil, nil, connect.StateRunning)
	p := &trackerPipe{topics: []string{"orders"}, hold: make(chan struct{}), taken: make(chan struct{})}
	s.pipe = p
	hold, taken := p.hold, p.taken
	read := make(chan []string, 1)
	go func() { read <- s.activeTopics() }()
	<-taken // the read has the pipeline's topics, not yet its answer
	s.resetActiveTopics()
	close(hold)
	<-read // a read concurrent with the reset may show either side
	if got := s.activeTopics(); len(got) != 0 {
		t.Errorf("active topics after a reset and a concurrent read: %v, want none", got)
	}
}
