package sink

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connect"
)

// taskContext implements TaskContext.
type taskContext struct{ r *taskRunner }

func (c taskContext) ConnectorName() string     { return c.r.p.cfg.Name }
func (c taskContext) TaskID() int               { return c.r.id }
func (c taskContext) Config() map[string]string { return c.r.config }

func (c taskContext) Assignment() []connect.TopicPartition {
	r := c.r
	r.mu.Lock()
	out := make([]connect.TopicPartition, 0, len(r.parts))
	for tp, p := range r.parts {
		if !p.gone {
			out = append(out, tp)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, compareTP)
	return out
}

func (c taskContext) Offset(tp connect.TopicPartition, offset int64) {
	r := c.r
	r.seekMu.Lock()
	if r.seeks == nil {
		r.seeks = map[connect.TopicPartition]int64{}
	}
	r.seeks[tp] = offset
	r.seekMu.Unlock()
	// Seeks are applied by the task goroutine after the current call.
	r.wake()
}

func (c taskContext) setPaused(paused bool, tps []connect.TopicPartition) error {
	r := c.r
	if len(tps) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []string
	for _, tp := range tps {
		if p := r.parts[tp]; p == nil || p.gone {
			missing = append(missing, tp.String())
		}
	}
	if len(missing) > 0 {
		verb := "pause"
		if !paused {
			verb = "resume"
		}
		return fmt.Errorf("connector %q task %d: cannot %s partitions not assigned to the task: %s", r.p.cfg.Name, r.id, verb, strings.Join(missing, ", "))
	}
	for _, tp := range tps {
		p := r.parts[tp]
		p.taskPaused = paused
		r.applyPauseLocked(p)
	}
	if !paused {
		r.wake()
	}
	return nil
}

func (c taskContext) Pause(tps ...connect.TopicPartition) error  { return c.setPaused(true, tps) }
func (c taskContext) Resume(tps ...connect.TopicPartition) error { return c.setPaused(false, tps) }
func (c taskContext) RequestCommit()                             { c.r.requestCommit() }

// Report hands rec to the error handler (see TaskContext.Report).
func (c taskContext) Report(ctx context.Context, rec *connect.Record, err error) error {
	return c.r.report(ctx, rec, err)
}
