package source

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/assigned"
)

// toggleConnector computes one fixed task config, or fails when fail is set.
type toggleConnector struct{ fail atomic.Bool }

func (c *toggleConnector) TaskConfigs(context.Context, map[string]string, int) ([]map[string]string, error) {
	if c.fail.Load() {
		return nil, errors.New("cannot list tables")
	}
	return []map[string]string{{"table": "t"}}, nil
}

// RestartConnector lifts only the FAILED state it set itself: a FAILED that
// Run set (an offset store failing while Run returns) stays FAILED with its
// error, and nothing changes once Run returned.
func TestRestartConnectorKeepsForeignFailure(t *testing.T) {
	ctx := context.Background()
	c := &toggleConnector{}
	p := &Pipeline{cfg: Config{Name: "legacy", Connector: c, TasksMax: 1, Logger: slog.New(slog.DiscardHandler)}}
	p.local = assigned.New[*taskRunner]("source", "legacy", runners{p})
	p.taskConfigs = []map[string]string{{"table": "t"}} // unchanged: no reassignment
	state := func() (connect.State, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.state, p.err
	}

	// Its own failure, then a success: FAILED, then RUNNING again.
	p.setState(connect.StateRunning, nil)
	c.fail.Store(true)
	if err := p.RestartConnector(ctx); err == nil {
		t.Fatal("RestartConnector: no error from a failing TaskConfigs")
	}
	if s, err := state(); s != connect.StateFailed || err == nil {
		t.Fatalf("after a failing RestartConnector: %v %v, want FAILED", s, err)
	}
	c.fail.Store(false)
	if err := p.RestartConnector(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := state(); s != connect.StateRunning || err != nil {
		t.Fatalf("after a successful RestartConnector: %v %v, want RUNNING", s, err)
	}

	// The offset store fails (Run sets FAILED): a restart keeps it FAILED,
	// even after RestartConnector had failed before.
	storeErr := errors.New("offset store: broken")
	for _, ownFirst := range []bool{false, true} {
		p.setState(connect.StateRunning, nil)
		if ownFirst {
			c.fail.Store(true)
			_ = p.RestartConnector(ctx)
			c.fail.Store(false)
		}
		p.setState(connect.StateFailed, storeErr)
		if err := p.RestartConnector(ctx); err != nil {
			t.Fatal(err)
		}
		if s, err := state(); s != connect.StateFailed || !errors.Is(err, storeErr) {
			t.Fatalf("ownFirst=%v: after RestartConnector on a FAILED pipeline: %v %v, want FAILED with %v", ownFirst, s, err, storeErr)
		}
	}

	// After Run returned: no change at all.
	p.setState(connect.StateRunning, nil)
	c.fail.Store(true)
	_ = p.RestartConnector(ctx)
	p.mu.Lock()
	p.runDone = true
	p.mu.Unlock()
	c.fail.Store(false)
	if err := p.RestartConnector(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := state(); s != connect.StateFailed {
		t.Fatalf("RestartConnector after Run returned changed the state to %v", s)
	}
}
