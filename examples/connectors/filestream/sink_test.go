package filestream

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
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
	if err := task.Start(context.Background(), &sinkCtx{cfg: cfg}); err != nil {
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
	err := task.Start(context.Background(), &sinkCtx{cfg: map[string]string{"file": filepath.Join(t.TempDir(), "no", "such", "dir")}})
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
