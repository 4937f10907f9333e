package filestream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
)

func values(vs ...any) []connect.Record {
	recs := make([]connect.Record, len(vs))
	for i, v := range vs {
		recs[i] = connect.Record{Topic: "t", Value: v}
	}
	return recs
}

func startSink(t *testing.T, task *SinkTask, cfg map[string]string) {
	t.Helper()
	if task.Logger == nil {
		task.Logger = testLogger()
	}
	if err := task.Start(context.Background(), sluicetest.NewSinkTaskContext(cfg)); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSinkWritesLines: values are appended to the file (existing content
// kept) one per line, rendered as Kafka's println(record.value()) would —
// strings and []byte as they are, nil as "null", numbers, lists and maps as
// Java's toString — only once Flush runs (writes are buffered), and Flush
// syncs the file, once per batch of new writes.
func TestSinkWritesLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	appendFile(t, path, []byte("existing\n"))
	var f *syncFile
	task := &SinkTask{openFile: func(name string) (outputFile, error) {
		of, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
		f = &syncFile{File: of}
		return f, err
	}}
	startSink(t, task, map[string]string{"file": " " + path + " "})

	recs := values("plain", []byte("raw\xff\r"), nil, "", int32(42), float64(1e10), true,
		[]any{int64(1), "a"}, map[string]any{"b": int8(1), "a": 2.5}, struct{ X int }{7}, "héllo ✓")
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "existing\n" {
		t.Fatalf("written before Flush: %q", got)
	}
	if err := task.Flush(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := "existing\nplain\nraw\xff\r\nnull\n\n42\n1.0E10\ntrue\n[1, a]\n{a=2.5, b=1}\n{7}\nhéllo ✓\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("file:\n%q\nwant\n%q", got, want)
	}
	if f.syncs != 1 {
		t.Fatalf("%d syncs after Flush, want 1", f.syncs)
	}
	if err := task.Flush(context.Background(), nil); err != nil || f.syncs != 1 {
		t.Fatalf("Flush without new records: %v, %d syncs", err, f.syncs)
	}
	if err := task.Put(context.Background(), values("after")); err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != want+"after\n" || f.syncs != 2 || !f.closed {
		t.Fatalf("after Stop: %q, %d syncs, closed %v", got, f.syncs, f.closed)
	}
}

// TestSinkCreatesFile: a missing file is created (and written through the
// real os.File path).
func TestSinkCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.txt")
	task := &SinkTask{}
	startSink(t, task, map[string]string{"file": path})
	if err := task.Put(context.Background(), values("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "a\nb\n" {
		t.Fatalf("file %q", got)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// closeTrap fails the test when closed: standard output must stay open.
type closeTrap struct {
	bytes.Buffer
	t *testing.T
}

func (c *closeTrap) Close() error { c.t.Error("standard output was closed"); return nil }

// TestSinkStdout: with file empty or absent the task writes to standard
// output (here a buffer), buffered until Flush, and Stop flushes without
// closing it.
func TestSinkStdout(t *testing.T) {
	for _, cfg := range []map[string]string{{}, {"file": ""}, {"file": "  "}} {
		out := &closeTrap{t: t}
		task := &SinkTask{stdout: out}
		startSink(t, task, cfg)
		if err := task.Put(context.Background(), values("one", []byte("two"))); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Fatalf("written before Flush: %q", out.String())
		}
		if err := task.Flush(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if err := task.Put(context.Background(), values("three")); err != nil {
			t.Fatal(err)
		}
		if err := task.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != "one\ntwo\nthree\n" {
			t.Fatalf("%v: stdout %q", cfg, got)
		}
	}
}

// failFile fails every write and sync.
type failFile struct{}

func (failFile) Write([]byte) (int, error) { return 0, errors.New("disk full") }
func (failFile) Sync() error               { return errors.New("sync failed") }
func (failFile) Close() error              { return nil }

// TestSinkErrors: a file that cannot be created fails Start naming the key;
// a write error fails Put (when the buffer spills) or Flush, and a sync
// error fails Flush.
func TestSinkErrors(t *testing.T) {
	task := &SinkTask{Logger: testLogger()}
	err := task.Start(context.Background(), sluicetest.NewSinkTaskContext(map[string]string{"file": filepath.Join(t.TempDir(), "no", "such", "dir")}))
	if err == nil || !strings.HasPrefix(err.Error(), "file: couldn't open or create") {
		t.Fatalf("Start error %v", err)
	}
	task.Stop(context.Background())

	open := func(string) (outputFile, error) { return failFile{}, nil }
	task = &SinkTask{openFile: open}
	startSink(t, task, map[string]string{"file": "x"})
	big := strings.Repeat("x", writeBufferSize+1)
	if err := task.Put(context.Background(), values("a", big, "c")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Put error %v", err)
	}
	if err := task.Stop(context.Background()); err == nil {
		t.Fatal("Stop flushed into a failing file without error")
	}

	task = &SinkTask{openFile: open}
	startSink(t, task, map[string]string{"file": "x"})
	if err := task.Put(context.Background(), values("a")); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush error %v", err)
	}
	task.Stop(context.Background())
}

// syncFailFile accepts writes but fails Sync.
type syncFailFile struct{ bytes.Buffer }

func (*syncFailFile) Sync() error  { return errors.New("sync failed") }
func (*syncFailFile) Close() error { return nil }

func TestSinkSyncError(t *testing.T) {
	task := &SinkTask{openFile: func(string) (outputFile, error) { return &syncFailFile{}, nil }}
	startSink(t, task, map[string]string{"file": "x"})
	if err := task.Put(context.Background(), values("a")); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "syncing x: sync failed") {
		t.Fatalf("Flush error %v", err)
	}
	task.Stop(context.Background())
}

// writeLog records every Write the sink makes to a file.
type writeLog struct {
	*os.File
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return w.File.Write(p)
}

// TestSinkWritesWholeLines: every write to the file holds whole records
// (so a crash between writes leaves only whole lines), including records
// longer than the buffer and batches that fill it many times over.
func TestSinkWritesWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	var wl *writeLog
	task := &SinkTask{openFile: func(name string) (outputFile, error) {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
		wl = &writeLog{File: f}
		return wl, err
	}}
	startSink(t, task, map[string]string{"file": path})
	var want strings.Builder
	var recs []any
	for i := range 3000 {
		v := fmt.Sprintf("record %05d %s", i, strings.Repeat("x", (i*7919)%700))
		if i%1000 == 999 {
			v += strings.Repeat("y", 3*writeBufferSize) // longer than the buffer
		}
		recs = append(recs, v)
		want.WriteString(v + "\n")
	}
	for i := 0; i < len(recs); i += 700 {
		if err := task.Put(context.Background(), values(recs[i:min(i+700, len(recs))]...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != want.String() {
		t.Fatalf("file holds %d bytes, want %d", len(got), want.Len())
	}
	if len(wl.writes) < 10 {
		t.Fatalf("%d writes for %d bytes: the buffer is not written as it fills", len(wl.writes), want.Len())
	}
	for i, w := range wl.writes {
		if len(w) == 0 || w[len(w)-1] != '\n' || !bytes.HasPrefix(w, []byte("record ")) {
			t.Fatalf("write %d of %d (%d bytes) is not whole lines: starts %q, ends %q", i, len(wl.writes), len(w), trunc(string(w[:min(20, len(w))])), w[max(0, len(w)-20):])
		}
	}
}

// TestSinkTrimsTornTail: a file whose last line was torn by a crash (no
// final "\n") is truncated after its last "\n" on Start, with a warning, so
// the lines written next stay whole; a file ending in "\n", an empty one and
// a missing one are left alone.
func TestSinkTrimsTornTail(t *testing.T) {
	long := strings.Repeat("z", 150<<10) // longer than the backward scan's chunk
	for _, c := range []struct {
		name, content, want string
		trimmed             bool
	}{
		{"torn last line", "a\nb\nrecord 00", "a\nb\n", true},
		{"torn single line", "recor", "", true},
		{"long torn line", "a\n" + long, "a\n", true},
		{"long line before a torn one", "a\n" + long + "\nrec", "a\n" + long + "\n", true},
		{"whole lines", "a\nb\n", "a\nb\n", false},
		{"empty", "", "", false},
		{"missing", "-", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.txt")
			if c.content != "-" {
				if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			task := &SinkTask{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			startSink(t, task, map[string]string{"file": path})
			if got := readFile(t, path); got != c.want {
				t.Fatalf("after Start: %q, want %q", trunc(got), trunc(c.want))
			}
			if err := task.Put(context.Background(), values("next")); err != nil {
				t.Fatal(err)
			}
			if err := task.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != c.want+"next\n" {
				t.Fatalf("after Stop: %q, want %q", trunc(got), trunc(c.want+"next\n"))
			}
			warned := strings.Contains(logs.String(), "removed a torn last line")
			if warned != c.trimmed {
				t.Errorf("warning logged: %v, want %v: %s", warned, c.trimmed, logs.String())
			}
			if removed := len(c.content) - len(c.want); c.trimmed && !strings.Contains(logs.String(), fmt.Sprintf("bytes_removed=%d", removed)) {
				t.Errorf("log does not say %d bytes were removed: %s", removed, logs.String())
			}
		})
	}
}

// halfFile writes half of the first write that reaches it, then fails.
type halfFile struct {
	*os.File
	failed bool
}

func (f *halfFile) Write(p []byte) (int, error) {
	if f.failed {
		return 0, errors.New("write after a failed write")
	}
	f.failed = true
	n, _ := f.File.Write(p[:len(p)/2])
	return n, errors.New("no space left on device")
}

// TestSinkWriteErrorLeavesWholeLines: a write that fails part-way is
// truncated back to the last whole line, and the task writes nothing more:
// Put, Flush and Stop keep failing, so no line can follow a torn one.
func TestSinkWriteErrorLeavesWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	appendFile(t, path, []byte("existing\n"))
	task := &SinkTask{openFile: func(name string) (outputFile, error) {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
		return &halfFile{File: f}, err
	}}
	startSink(t, task, map[string]string{"file": path})
	if err := task.Put(context.Background(), values("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Flush = %v, want the write error", err)
	}
	if got := readFile(t, path); got != "existing\n" {
		t.Fatalf("after the failed write: %q, want the partial write removed", got)
	}
	if err := task.Put(context.Background(), values("d")); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("Put after the failed write = %v, want the write error", err)
	}
	if err := task.Flush(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("Flush after the failed write = %v, want the write error", err)
	}
	if err := task.Stop(context.Background()); err == nil {
		t.Error("Stop after a failed write returned nil")
	}
	if got := readFile(t, path); got != "existing\n" {
		t.Fatalf("after Stop: %q", got)
	}
}

// TestSinkWriteOnlyFile: a file the task may append to but not read (so
// not check for a torn line) is appended to, with a warning, as Kafka
// does.
func TestSinkWriteOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte("a\npart"), 0o200); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	task := &SinkTask{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	startSink(t, task, map[string]string{"file": path})
	if err := task.Put(context.Background(), values("b")); err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "a\npartb\n" {
		t.Errorf("file %q", got)
	}
	if !strings.Contains(logs.String(), "cannot read the file to check for a torn last line") {
		t.Errorf("no warning: %s", logs.String())
	}
}
