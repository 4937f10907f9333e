package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/redact"
)

// failingPutTask is a sink task whose Put fails with err.
type failingPutTask struct{ err error }

func (failingPutTask) Start(context.Context, TaskContext) error      { return nil }
func (t failingPutTask) Put(context.Context, []connect.Record) error { return t.err }
func (failingPutTask) Stop(context.Context) error                    { return nil }

// TestPutSpanErrorScrubbed: a failed Put's span (its status description and
// the exception event's message) carries the error text with the
// connector's secrets masked, as the Runner's masking logger would show it;
// the Put error the pipeline handles is the task's own.
func TestPutSpanErrorScrubbed(t *testing.T) {
	const secret = "s3cr3t-Passw0rd"
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	set := new(redact.Set)
	set.Store(redact.New(secret))
	logger := slog.New(redact.NewHandler(slog.DiscardHandler, set))
	p := &Pipeline{cfg: Config{Name: "scrub", TracerProvider: tp, Logger: logger}}
	r := newTaskRunner(p, 0, nil)
	r.taskCtx = context.Background()
	putErr := fmt.Errorf("login as admin with password %q failed: %w", secret, errors.ErrUnsupported)
	r.task = failingPutTask{err: putErr}
	r.pending = make([]connect.Record, 1)

	if err := r.callPut(); err != putErr {
		t.Fatalf("callPut returned %v, want the task's error", err)
	}
	spans := exp.GetSpans().Snapshots()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Status().Code != codes.Error || strings.Contains(s.Status().Description, secret) ||
		!strings.Contains(s.Status().Description, redact.Mask) {
		t.Fatalf("span status %+v: want an error with the secret masked", s.Status())
	}
	var events int
	for _, e := range s.Events() {
		for _, a := range e.Attributes {
			if strings.Contains(a.Value.String(), secret) {
				t.Fatalf("span event %q attribute %s holds the secret: %s", e.Name, a.Key, a.Value.String())
			}
		}
		events++
	}
	if events == 0 {
		t.Fatal("the Put error was not recorded on the span")
	}

	// Without a masking logger the error is recorded as it is.
	exp.Reset()
	p.cfg.Logger = slog.New(slog.DiscardHandler)
	r = newTaskRunner(p, 0, nil)
	r.taskCtx, r.task, r.pending = context.Background(), failingPutTask{err: putErr}, make([]connect.Record, 1)
	_ = r.callPut()
	if s := exp.GetSpans().Snapshots(); len(s) != 1 || s[0].Status().Description != putErr.Error() {
		t.Fatalf("without masking: spans %v, want one with status %q", s, putErr.Error())
	}
}
