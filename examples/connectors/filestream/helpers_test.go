package filestream

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// testLogger discards logs unless FILESTREAM_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("FILESTREAM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// srcCtx is a fake source.TaskContext over an offset store.
type srcCtx struct {
	name  string
	cfg   map[string]string
	store offsets.Store
}

func (c *srcCtx) ConnectorName() string     { return c.name }
func (c *srcCtx) TaskID() int               { return 0 }
func (c *srcCtx) Config() map[string]string { return c.cfg }
func (c *srcCtx) Offsets() offsets.Reader   { return offsets.ConnectorReader(c.store, c.name) }

// startSource starts task with cfg, reading offsets of connector "file-src"
// from store (a new memory store when nil), and stops it at cleanup.
func startSource(t *testing.T, task *SourceTask, cfg map[string]string, store offsets.Store) {
	t.Helper()
	if store == nil {
		store = offsets.NewMemoryStore()
	}
	if task.Logger == nil {
		task.Logger = testLogger()
	}
	if err := task.Start(context.Background(), &srcCtx{name: "file-src", cfg: cfg, store: store}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := task.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// line is what the tests compare of a source record.
type line struct {
	text string
	pos  int64 // -1 without offset
}

func lineOf(t *testing.T, r connect.Record) line {
	t.Helper()
	if r.SourceOffset == nil {
		return line{r.Value.(string), -1}
	}
	return line{r.Value.(string), r.SourceOffset[PositionField].(int64)}
}

// drain polls until a Poll returns no record and returns every line.
func drain(t *testing.T, task *SourceTask) []line {
	t.Helper()
	var out []line
	for {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			out = append(out, lineOf(t, r))
		}
	}
}

// kafkaLines splits data as Kafka's FileStreamSourceTask does, one byte at a
// time: lines end at "\n", "\r\n" or "\r" followed by another byte; a final
// "\r" and an unterminated tail are not lines yet. Positions are the byte
// offsets after each terminator.
func kafkaLines(data []byte) []line {
	var out []line
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			out = append(out, line{string(data[start:i]), int64(i + 1)})
			start = i + 1
		case '\r':
			if i+1 == len(data) {
				return out
			}
			next := i + 1
			if data[next] == '\n' {
				next++
			}
			out = append(out, line{string(data[start:i]), int64(next)})
			start = next
			i = next - 1
		}
	}
	return out
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func equalLines(t *testing.T, what string, got, want []line) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: line %d: got %q at %d, want %q at %d (got %d lines, want %d)",
				what, i, trunc(got[i].text), got[i].pos, trunc(want[i].text), want[i].pos, len(got), len(want))
		}
	}
	t.Fatalf("%s: got %d lines, want %d", what, len(got), len(want))
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// syncFile wraps a file and counts Sync calls.
type syncFile struct {
	*os.File
	mu     sync.Mutex
	syncs  int
	closed bool
}

func (f *syncFile) Sync() error {
	f.mu.Lock()
	f.syncs++
	f.mu.Unlock()
	return f.File.Sync()
}

func (f *syncFile) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return f.File.Close()
}

// elapsed runs f and returns how long it took.
func elapsed(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}
