package source

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/winstat"
	"github.com/sluicehq/sluice/offsets"
)

// Type returns connect.TypeSource.
func (p *Pipeline) Type() string { return connect.TypeSource }

// PipelineStatus returns the pipeline's current status, computed live: for
// each task the counters and times every pipeline reports (RecordsIn is
// records polled, RecordsOut records acknowledged by Kafka, LastProgress the
// last acknowledgement, Lag -1) and the source-only ones (records written,
// bytes in flight, records held for re-sending). Safe to call from any
// goroutine, before, during and after Run.
func (p *Pipeline) PipelineStatus() connect.PipelineStatus {
	p.mu.Lock()
	st := connect.PipelineStatus{Name: p.cfg.Name, Type: connect.TypeSource, State: p.state, Err: p.err}
	tasks := slices.Clone(p.tasks)
	retired := make([]connect.TaskStatus, len(tasks))
	for i, t := range tasks {
		retired[i] = p.retired.Of(t.id)
	}
	p.mu.Unlock()
	for i, t := range tasks {
		ts := t.status()
		// The counters of the id's earlier runners (restarts in place and
		// by the restart policy): they stay monotonic, as Kafka Connect's.
		winstat.AddCounters(&ts, retired[i])
		st.Tasks = append(st.Tasks, ts)
	}
	return st
}

// running reports whether the pipeline's tasks are running or paused (they
// hold offsets in memory and would overwrite a change).
func (p *Pipeline) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == connect.StateRunning || p.state == connect.StatePaused && p.tasks != nil
}

// ListOffsets returns the connector's committed source offsets (KIP-875
// shape). It may be called at any time.
func (p *Pipeline) ListOffsets(ctx context.Context) ([]connect.OffsetEntry, error) {
	entries, err := offsets.ListOffsets(ctx, p.cfg.OffsetStore, p.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("source %q: listing offsets: %w", p.cfg.Name, err)
	}
	return entries, nil
}

// AlterOffsets sets (or, for a nil Offset, resets) the offsets of the given
// source partitions. It is refused with an error wrapping
// connect.ErrNotStopped while the pipeline runs: stop it first (Kafka
// Connect's rule, KIP-875); the rest of the process is unaffected.
func (p *Pipeline) AlterOffsets(ctx context.Context, entries []connect.OffsetEntry) error {
	if p.running() {
		return fmt.Errorf("source %q: %w", p.cfg.Name, connect.ErrNotStopped)
	}
	if err := offsets.AlterOffsets(ctx, p.cfg.OffsetStore, p.cfg.Name, entries); err != nil {
		return fmt.Errorf("source %q: altering offsets: %w", p.cfg.Name, err)
	}
	return nil
}

// ResetOffsets deletes every committed offset of the connector (tombstones
// in the Kafka topic store), refused like AlterOffsets while running.
func (p *Pipeline) ResetOffsets(ctx context.Context) error {
	if p.running() {
		return fmt.Errorf("source %q: %w", p.cfg.Name, connect.ErrNotStopped)
	}
	if err := offsets.ResetOffsets(ctx, p.cfg.OffsetStore, p.cfg.Name); err != nil {
		return fmt.Errorf("source %q: resetting offsets: %w", p.cfg.Name, err)
	}
	return nil
}

var (
	_ connect.Pipeline      = (*Pipeline)(nil)
	_ connect.OffsetManager = (*Pipeline)(nil)
)
