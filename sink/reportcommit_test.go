package sink_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// gateLog is a slog handler whose error report line (the log reporter's)
// asks for a commit and then waits for release: the report is in progress
// while the commit it asked for begins.
type gateLog struct {
	tc      func() sink.TaskContext
	release chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (g *gateLog) Enabled(context.Context, slog.Level) bool { return true }
func (g *gateLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Error encountered in task") {
		g.once.Do(func() {
			g.tc().RequestCommit()
			close(g.entered)
			<-g.release
		})
	}
	return nil
}
func (g *gateLog) WithAttrs([]slog.Attr) slog.Handler { return g }
func (g *gateLog) WithGroup(string) slog.Handler      { return g }

// TestAsyncReportUnderToleranceNoneCommitsNothingPastIt: a task that reports
// an errant record from a goroutine of its own (TaskContext.Report may be
// called from any goroutine) under errors.tolerance=none fails; a commit
// that waited for that report (or is due after it) must not commit the
// positions of records already put past the reported one.
func TestAsyncReportUnderToleranceNoneCommitsNothingPastIt(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for i := range 3 { // the race the fix closes is lost at random without it
		t.Run("", func(t *testing.T) {
			topic := kafkatest.Topic(t)
			const n, bad = 20, 5
			kafkatest.CreateTopic(t, brokers, topic, 1, nil)
			produce(t, brokers, topic, 1, n)

			task := newRecTask()
			var tcv atomic.Value
			gl := &gateLog{tc: func() sink.TaskContext { return tcv.Load().(sink.TaskContext) }, release: make(chan struct{}), entered: make(chan struct{})}
			var reportOnce sync.Once
			var reportErr atomic.Value
			task.onPut = func(ctx context.Context, recs []connect.Record) error {
				tcv.Store(task.tc)
				for _, r := range recs {
					if r.OriginalOffset == bad {
						rec := r
						reportOnce.Do(func() {
							go func() {
								// The report (whose log line asks for a
								// commit and holds it at the report gate)
								// starts once every record was put: a
								// commit held there also holds the task,
								// so records fetched later would never be
								// put.
								for deadline := time.Now().Add(30 * time.Second); task.n.Load() < n && time.Now().Before(deadline); {
									time.Sleep(time.Millisecond)
								}
								err := task.tc.Report(context.Background(), &rec, errors.New("bad record"))
								reportErr.Store(&err)
							}()
						})
					}
				}
				return nil
			}
			cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
			cfg.OffsetFlushInterval = time.Hour // only the requested commit
			cfg.Logger = slog.New(gl)
			cfg.Errors = sluiceerrors.Config{LogEnable: true}
			p, err := sink.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- p.Run(ctx) }()
			select {
			case <-gl.entered:
			case <-ctx.Done():
				t.Fatal("the report never started")
			}
			// Let the put of every record and the requested commit reach
			// the report gate, then let the report (and the failure) go on.
			waitFor(t, 30*time.Second, "every record put", func() bool { return task.n.Load() >= n })
			time.Sleep(time.Duration(50*(i+1)) * time.Millisecond)
			close(gl.release)
			runErr := stopWhenFailed(p, cancel, errc)
			if runErr == nil {
				t.Fatal("Run returned nil; want the reported record's failure")
			}
			if c := groupOffset(t, brokers, p, topic); c > bad {
				t.Fatalf("committed %d, past the record %d reported under errors.tolerance=none", c, bad)
			}
		})
	}
}
