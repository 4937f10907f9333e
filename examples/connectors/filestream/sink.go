package filestream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/sink"
)

// writeBufferSize is the sink's bufio buffer size.
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

	name  string     // the file; "" for standard output
	f     outputFile // nil for standard output
	w     *bufio.Writer
	dirty bool // written since the last sync
	conv  converters.String
	log   *slog.Logger
}

var (
	_ sink.Task    = (*SinkTask)(nil)
	_ sink.Flusher = (*SinkTask)(nil)
)

// Start opens the file named by the file key for appending, creating it if
// needed; an empty or absent file selects standard output.
func (t *SinkTask) Start(_ context.Context, tc sink.TaskContext) error {
	t.name = strings.TrimSpace(tc.Config()[FileConfig])
	logger := t.Logger
	if logger == nil {
		logger = slog.Default()
	}
	t.log = logger.With("connector", tc.ConnectorName(), "task", tc.TaskID(), "file", t.logName())
	if t.name == "" {
		out := t.stdout
		if out == nil {
			out = os.Stdout
		}
		t.w = bufio.NewWriterSize(out, writeBufferSize)
		return nil
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
	t.f = f
	t.w = bufio.NewWriterSize(f, writeBufferSize)
	t.log.Debug("opened the file for appending")
	return nil
}

// Put writes each record's value and a "\n" to the buffer. A write error
// (the buffer spilling to a failing file) fails the task.
func (t *SinkTask) Put(ctx context.Context, records []connect.Record) error {
	if len(records) > 0 {
		t.dirty = true
	}
	for i := range records {
		if err := t.writeValue(ctx, &records[i]); err != nil {
			return fmt.Errorf("writing to %s: %w", t.logName(), err)
		}
	}
	return nil
}

// writeValue writes rec's value as Kafka's println(record.value()) does,
// except for []byte, written as it is. bufio.Writer's errors are sticky, so
// the final WriteByte reports any error of the line.
func (t *SinkTask) writeValue(ctx context.Context, rec *connect.Record) error {
	switch v := rec.Value.(type) {
	case nil:
		t.w.WriteString("null")
	case string:
		t.w.WriteString(v)
	case []byte:
		t.w.Write(v)
	default:
		b, err := t.conv.FromConnect(ctx, rec.Topic, &rec.Headers, rec.ValueSchema, v)
		if err != nil {
			// A Go value outside the Connect data model: fmt's form.
			b = fmt.Append(nil, v)
		}
		t.w.Write(b)
	}
	return t.w.WriteByte('\n')
}

// Flush writes the buffer and, for a file, syncs it to disk, so that every
// record passed to Put is durable before its offset is committed.
func (t *SinkTask) Flush(context.Context, map[connect.TopicPartition]int64) error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("flushing %s: %w", t.logName(), err)
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
	if t.w == nil {
		return nil
	}
	err := t.Flush(ctx, nil)
	if t.f != nil {
		if cerr := t.f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing %s: %w", t.logName(), cerr))
		}
		t.f = nil
	}
	t.w = nil
	return err
}

func (t *SinkTask) logName() string {
	if t.name == "" {
		return "stdout"
	}
	return t.name
}
