package filestream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/sink"
)

// writeBufferSize is how many bytes of whole lines the sink gathers before
// it writes them.
const writeBufferSize = 64 << 10

// outputFile is what the sink needs of its file.
type outputFile interface {
	io.Writer
	Sync() error
	Close() error
}

// SinkTask appends record values to a file, or standard output, one per
// line, as Kafka's FileStreamSinkTask (see the package documentation). Use a
// new SinkTask per task: NewTask: func() sink.Task { return
// &filestream.SinkTask{} }.
type SinkTask struct {
	// Logger receives the task's logs; nil selects slog.Default(). The
	// connector name and task id are added.
	Logger *slog.Logger

	// Test hooks: stdout replaces os.Stdout; openFile replaces opening the
	// file with os.OpenFile.
	stdout   io.Writer
	openFile func(name string) (outputFile, error)

	name string     // the file; "" for standard output
	f    outputFile // nil for standard output
	out  io.Writer  // f, or standard output
	// buf holds whole lines (each record's value and its "\n") not yet
	// written: the sink writes only whole lines, so that a crash leaves at
	// most one torn line, the last, which Start trims.
	buf []byte
	// size is the file's length after the last complete write, -1 if
	// unknown; a failed write is truncated back to it.
	size int64
	// err is the first write error: the file may end in a torn line, so
	// nothing is written after it (Put, Flush and Stop return it).
	err   error
	dirty bool // written since the last sync
	conv  converters.String
	log   *slog.Logger
}

var (
	_ sink.Task    = (*SinkTask)(nil)
	_ sink.Flusher = (*SinkTask)(nil)
)

// Start opens the file named by the file key for appending, creating it if
// needed; an empty or absent file selects standard output. If the file does
// not end with "\n", its last line was torn by a crash (or written by
// something else without its terminator): Start truncates the file after
// its last "\n", logging how many bytes it removed, so that the lines
// written from now on stay whole. The torn record's offset was never
// committed, so it is delivered again.
func (t *SinkTask) Start(_ context.Context, tc sink.TaskContext) error {
	t.name = strings.TrimSpace(tc.Config()[FileConfig])
	logger := t.Logger
	if logger == nil {
		logger = slog.Default()
	}
	t.log = logger.With("connector", tc.ConnectorName(), "task", tc.TaskID(), "file", t.logName())
	t.size = -1
	if t.name == "" {
		t.out = t.stdout
		if t.out == nil {
			t.out = os.Stdout
		}
		return nil
	}
	removed, err := trimTornTail(t.name)
	switch {
	case errors.Is(err, fs.ErrPermission):
		// Appending may still be allowed (Kafka only appends).
		t.log.Warn("cannot read the file to check for a torn last line; appending without the check", "error", err)
	case err != nil:
		return fmt.Errorf("%s: checking %q for a torn last line: %w", FileConfig, t.name, err)
	case removed > 0:
		t.log.Warn("removed a torn last line (the file did not end with a newline): its record is written again", "bytes_removed", removed)
	}
	open := t.openFile
	if open == nil {
		open = func(name string) (outputFile, error) {
			return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
		}
	}
	f, err := open(t.name)
	if err != nil {
		return fmt.Errorf("%s: couldn't open or create %q: %w", FileConfig, t.name, err)
	}
	t.f, t.out = f, f
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			t.size = fi.Size()
		}
	}
	t.log.Debug("opened the file for appending")
	return nil
}

// trimTornTail truncates the regular file at name after its last "\n" when
// its last byte is not "\n" (to empty if it has none), syncs it, and
// returns the number of bytes removed. A missing file, an empty one, or one
// that is not a regular file (a pipe, a device) is left alone.
func trimTornTail(name string) (int64, error) {
	fi, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && (!fi.Mode().IsRegular() || fi.Size() == 0)) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return 0, err
	}
	size := fi.Size()
	var last [1]byte
	if size == 0 {
		return 0, nil
	}
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return 0, nil
	}
	keep := int64(0)
	chunk := make([]byte, 64<<10)
	for end := size - 1; end > 0; {
		start := max(0, end-int64(len(chunk)))
		b := chunk[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			keep = start + int64(i) + 1
			break
		}
		end = start
	}
	if err := f.Truncate(keep); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return size - keep, nil
}

// Put appends each record's value and a "\n" to the task's buffer, and
// writes the buffer, whole lines only, whenever it holds writeBufferSize
// bytes or more. A write error fails the task, and every later Put and
// Flush too (the file may end in a torn line, which the next Start trims).
func (t *SinkTask) Put(ctx context.Context, records []connect.Record) error {
	if t.err != nil {
		return t.err
	}
	for i := range records {
		t.appendValue(ctx, &records[i])
		if len(t.buf) >= writeBufferSize {
			if err := t.write(); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendValue appends rec's value and "\n" to the buffer, as Kafka's
// println(record.value()) writes it, except for []byte, written as it is.
func (t *SinkTask) appendValue(ctx context.Context, rec *connect.Record) {
	switch v := rec.Value.(type) {
	case nil:
		t.buf = append(t.buf, "null"...)
	case string:
		t.buf = append(t.buf, v...)
	case []byte:
		t.buf = append(t.buf, v...)
	default:
		b, err := t.conv.FromConnect(ctx, rec.Topic, &rec.Headers, rec.ValueSchema, v)
		if err != nil {
			// A Go value outside the Connect data model: fmt's form.
			b = fmt.Append(nil, v)
		}
		t.buf = append(t.buf, b...)
	}
	t.buf = append(t.buf, '\n')
}

// write writes the buffer (whole lines) in one call. On failure it
// truncates the file back to its length before the write, when it can, and
// keeps the error for every later call.
func (t *SinkTask) write() error {
	if t.err != nil {
		return t.err
	}
	if len(t.buf) == 0 {
		return nil
	}
	t.dirty = true
	n, err := t.out.Write(t.buf)
	if err == nil && n < len(t.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		t.err = fmt.Errorf("writing to %s: %w", t.logName(), err)
		if n > 0 && t.size >= 0 {
			if tr, ok := t.f.(interface{ Truncate(int64) error }); ok {
				if terr := tr.Truncate(t.size); terr != nil {
					t.log.Error("could not remove a partly written line after a write error; the next start trims it", "error", terr)
				}
			}
		}
		return t.err
	}
	if t.size >= 0 {
		t.size += int64(n)
	}
	t.buf = t.buf[:0]
	if cap(t.buf) > 4*writeBufferSize {
		t.buf = nil // one huge record does not pin its buffer
	}
	return nil
}

// Flush writes the buffered lines and, for a file, syncs it to disk, so that
// every record passed to Put is durable before its offset is committed
// (Kafka's task only flushes its stream, in flush, which its preCommit
// calls).
func (t *SinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if err := t.write(); err != nil {
		return err
	}
	if t.f != nil && t.dirty {
		if err := t.f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", t.logName(), err)
		}
	}
	t.dirty = false
	return nil
}

// Stop flushes and syncs what is buffered and closes the file (standard
// output stays open).
func (t *SinkTask) Stop(ctx context.Context) error {
	if t.out == nil {
		return nil
	}
	err := t.Flush(ctx, nil)
	if t.f != nil {
		if cerr := t.f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing %s: %w", t.logName(), cerr))
		}
		t.f = nil
	}
	t.out = nil
	return err
}

func (t *SinkTask) logName() string {
	if t.name == "" {
		return "stdout"
	}
	return t.name
}
