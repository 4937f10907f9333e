package connect

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// TestContextLogger: ContextLogger returns the logger ContextWithLogger put
// in the context, and slog.Default() when there is none (or it is nil).
func TestContextLogger(t *testing.T) {
	l := slog.New(slog.NewTextHandler(io.Discard, nil))
	if got := ContextLogger(ContextWithLogger(context.Background(), l)); got != l {
		t.Errorf("ContextLogger after ContextWithLogger = %p, want %p", got, l)
	}
	if got := ContextLogger(context.Background()); got != slog.Default() {
		t.Errorf("ContextLogger without a logger = %p, want slog.Default()", got)
	}
	if got := ContextLogger(ContextWithLogger(context.Background(), nil)); got != slog.Default() {
		t.Errorf("ContextLogger with a nil logger = %p, want slog.Default()", got)
	}
}
