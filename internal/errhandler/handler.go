package errhandler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/sluicehq/sluice/connect"
)

// RawHeader is one header of a consumed record, as bytes.
type RawHeader struct {
	Key   string
	Value []byte
}

// RawRecord is a Kafka record as bytes: for sinks, the consumed record exactly
// as read (what the dead-letter queue receives); for sources, the record as
// the pipeline's converters serialised it, when they could.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []RawHeader
	Timestamp time.Time
}

// Failure describes one failed record operation.
type Failure struct {
	Stage connect.Stage
	// Component is the failing converter, transform or task; reporters
	// name it by ClassName (its Kafka Connect class where it has one) and
	// by its Go type.
	Component any
	// Record is the record being processed (as consumed or as polled); Raw
	// its bytes, nil when not available.
	Record   *connect.Record
	Raw      *RawRecord
	Err      error
	Attempts int
}

// Reporter receives the failures that errors.tolerance skips (and, for sinks,
// the errant records a task reports). Report returns once the failure is
// durably reported; an error means it could not be, and the task fails so
// that no record vanishes. Implementations are safe for concurrent use.
type Reporter interface {
	Report(ctx context.Context, connector string, task int, f *Failure) error
}

// Handler applies the errors.* policy for one task: it retries operations,
// decides whether a failed record is skipped or fails the task, hands skipped
// failures to the reporters, and counts. Safe for concurrent use.
type Handler struct {
	cfg       sluiceerrors.Config
	connector string
	task      int
	reporters []Reporter
	metrics   *Metrics
	log       *slog.Logger

	clock    Clock
	newTimer func() Timer
	rand     func(int64) int64

	mu     sync.Mutex
	window []bool // ring of the last WindowSize outcomes, true = failed
	pos    int
	filled int
	failed int
}

// Option customises a Handler.
type Option func(*Handler)

// WithReporters sets the reporters (e.g. a LogReporter and a DLQ).
func WithReporters(r ...Reporter) Option { return func(h *Handler) { h.reporters = r } }

// WithMetrics makes the handler count into m (shared with the pipeline's
// metrics) instead of a private Metrics.
func WithMetrics(m *Metrics) Option { return func(h *Handler) { h.metrics = m } }

// WithLogger sets the logger for retry notices (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock replaces wall-clock time and timers, for tests: the retry
// deadline is read from clock and every wait goes through a timer from
// newTimer.
func WithClock(clock Clock, newTimer func() Timer) Option {
	return func(h *Handler) { h.clock, h.newTimer = clock, newTimer }
}

// WithRand replaces the jitter source: rand(n) returns a value in [0, n).
func WithRand(rand func(n int64) int64) Option { return func(h *Handler) { h.rand = rand } }

// New returns the handler of one task. cfg's defaults are applied;
// cfg must be valid (see sluiceerrors.Config.Validate).
func New(cfg sluiceerrors.Config, connector string, task int, opts ...Option) *Handler {
	cfg = withDefaults(cfg)
	h := &Handler{
		cfg: cfg, connector: connector, task: task,
		clock: systemClock{}, newTimer: func() Timer { return &realTimer{} }, rand: defaultRand,
		log: slog.Default(),
	}
	for _, o := range opts {
		o(h)
	}
	if h.metrics == nil {
		h.metrics = new(Metrics)
	}
	if cfg.WindowSize > 0 {
		h.window = make([]bool, cfg.WindowSize)
	}
	h.log = h.log.With("logger", "org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator", "connector", connector, "task", task)
	return h
}

// withDefaults fills in Kafka Connect's defaults of the settings whose zero
// value means "default".
func withDefaults(cfg sluiceerrors.Config) sluiceerrors.Config {
	if cfg.RetryDelayMax == 0 {
		cfg.RetryDelayMax = sluiceerrors.DefaultRetryDelayMax
	}
	if cfg.DLQReplicationFactor == 0 {
		cfg.DLQReplicationFactor = sluiceerrors.DefaultDLQReplicationFactor
	}
	return cfg
}

// Config returns the handler's configuration, defaults applied.
func (h *Handler) Config() sluiceerrors.Config { return h.cfg }

// Metrics returns the handler's counters.
func (h *Handler) Metrics() *Metrics { return h.metrics }

// Execute runs op, the processing of rec at stage by component, under the
// policy: see Recover for what happens when it fails. The success path
// allocates nothing beyond what op does, but the caller's closure usually
// escapes; hot paths call the operation themselves and Recover only on error.
func (h *Handler) Execute(ctx context.Context, stage connect.Stage, component any, rec *connect.Record, raw *RawRecord, op func(context.Context) error) (skip bool, err error) {
	err = op(ctx)
	if err == nil {
		h.Succeeded()
		return false, nil
	}
	return h.Recover(ctx, stage, component, rec, raw, err, op)
}

// Recover handles a failed record operation whose first attempt returned
// first: a retriable error is retried with op for errors.retry.timeout; a
// failure that remains is handed to Fail. It returns skip=false, err=nil when
// a retry succeeded; skip=true when the record is to be dropped (tolerated
// and reported); or an error that fails the task (a *connect.RecordError
// naming connector, task, stage, component, the record's coordinates and the
// attempt count). raw, when not nil, is what the dead-letter queue receives.
func (h *Handler) Recover(ctx context.Context, stage connect.Stage, component any, rec *connect.Record, raw *RawRecord, first error, op func(context.Context) error) (skip bool, err error) {
	h.metrics.RecordFailures.Add(1)
	retried := func(ctx context.Context) error {
		err := op(ctx)
		if err != nil {
			h.metrics.RecordFailures.Add(1) // every failed attempt, retries included
		}
		return err
	}
	attempts, err := h.retry(ctx, h.cfg.RetryTimeout, first, retried, func(err error, d time.Duration) {
		h.metrics.Retries.Add(1)
		h.log.Debug("retrying", "stage", stage, "error", err, "delay", d)
	})
	if err == nil {
		h.Succeeded()
		return false, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return h.Fail(ctx, &Failure{Stage: stage, Component: component, Record: rec, Raw: raw, Err: err, Attempts: attempts})
}

// Retry runs a task-level operation (Poll, a whole Put, a commit) under the
// retry schedule; see RetryFailed.
func (h *Handler) Retry(ctx context.Context, stage connect.Stage, op func(context.Context) error) (int, error) {
	err := op(ctx)
	if err == nil {
		return 1, nil
	}
	return h.RetryFailed(ctx, stage, err, op)
}

// RetryFailed retries a task-level operation whose first attempt returned
// first: retriable errors are retried for errors.retry.timeout, or without
// limit when that is 0 (as Kafka Connect does for these operations). It
// returns the attempt count and the last error (nil after a successful
// retry). Task-level errors are never tolerated: the caller fails the task on
// error.
func (h *Handler) RetryFailed(ctx context.Context, stage connect.Stage, first error, op func(context.Context) error) (int, error) {
	timeout := h.cfg.RetryTimeout
	if timeout == 0 {
		timeout = -1
	}
	return h.retry(ctx, timeout, first, op, func(err error, d time.Duration) {
		h.metrics.Retries.Add(1)
		h.log.Warn("retriable failure, retrying", "stage", stage, "error", err, "delay", d)
	})
}

// Succeeded records a record processed without failure (window mode counts
// every record). It is cheap when window mode is off.
func (h *Handler) Succeeded() {
	if h.window == nil {
		return
	}
	h.mu.Lock()
	h.push(false)
	h.mu.Unlock()
}

func (h *Handler) push(failed bool) {
	if h.filled == len(h.window) && h.window[h.pos] {
		h.failed--
	}
	h.window[h.pos] = failed
	if failed {
		h.failed++
	}
	h.pos = (h.pos + 1) % len(h.window)
	if h.filled < len(h.window) {
		h.filled++
	}
}

// Fail decides about a record whose processing failed for good: the failure
// is handed to every reporter (the error log, the dead-letter queue) first,
// whatever the tolerance, as Kafka Connect's RetryWithToleranceOperator
// does; then under errors.tolerance=all (and within the window, in window
// mode) skip is true, otherwise the returned error fails the task. A reporter
// that cannot report fails the task too (under none, its error is logged and
// the record's failure is returned).
func (h *Handler) Fail(ctx context.Context, f *Failure) (skip bool, err error) {
	h.metrics.LastErrorTimestamp.Store(h.clock.Now().UnixMilli())
	recErr := connect.NewRecordError(h.connector, h.task, f.Stage, f.Component, f.Record, f.Attempts, f.Err)
	tolerated := h.cfg.Tolerance == sluiceerrors.ToleranceAll
	if tolerated && h.window != nil {
		h.mu.Lock()
		h.push(true)
		over := h.failed > h.cfg.WindowMaxFailures
		n := h.failed
		h.mu.Unlock()
		if over {
			tolerated = false
			recErr.Err = &WindowError{Failed: n, Size: h.cfg.WindowSize, Max: h.cfg.WindowMaxFailures, Err: f.Err}
		}
	}
	if !tolerated {
		for _, r := range h.reporters {
			if err := r.Report(ctx, h.connector, h.task, f); err != nil {
				h.log.Warn("could not report the failed record before failing the task", "stage", f.Stage, "error", err)
			}
		}
		h.metrics.RecordErrors.Add(1)
		return false, recErr
	}
	for _, r := range h.reporters {
		if err := r.Report(ctx, h.connector, h.task, f); err != nil {
			h.metrics.RecordErrors.Add(1)
			return false, connect.NewRecordError(h.connector, h.task, f.Stage, f.Component, f.Record, f.Attempts,
				&ReportError{Err: err, Cause: f.Err})
		}
	}
	h.metrics.RecordErrors.Add(1)
	h.metrics.RecordsSkipped.Add(1)
	return true, nil
}

// WindowError says that window mode's failure limit was exceeded.
type WindowError struct {
	Failed, Size, Max int
	Err               error
}

// Error implements error.
func (e *WindowError) Error() string {
	return fmt.Sprintf("error window exceeded (%d of the last %d records failed, at most %d tolerated): %v", e.Failed, e.Size, e.Max, e.Err)
}

// Unwrap returns the last failure.
func (e *WindowError) Unwrap() error { return e.Err }

// ReportError says that a tolerated failure could not be reported (e.g. the
// dead-letter queue was unreachable), so the task fails instead of losing
// the record.
type ReportError struct {
	Err   error // why reporting failed
	Cause error // the record's failure
}

// Error implements error.
func (e *ReportError) Error() string {
	return "could not report failed record (" + e.Err.Error() + "); record failure: " + e.Cause.Error()
}

// Unwrap returns both errors.
func (e *ReportError) Unwrap() []error { return []error{e.Err, e.Cause} }
