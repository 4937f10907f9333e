package filestream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

const (
	// idleWait is how long Poll waits when there is no data (Kafka: 1 s).
	idleWait = time.Second
	// readBufferSize is the bufio buffer size; longer lines are assembled
	// in the pending buffer.
	readBufferSize = 64 << 10
	// keepPending is the pending buffer capacity kept between lines; a
	// larger one (after a very long line) is released.
	keepPending = 1 << 20
)

// SourceTask reads lines from a file, or standard input, as Kafka's
// FileStreamSourceTask (see the package documentation). Use a new
// SourceTask per task: NewTask: func() source.Task { return
// &filestream.SourceTask{} }.
type SourceTask struct {
	// Logger receives the task's logs; nil selects slog.Default(). The
	// connector name and task id are added.
	Logger *slog.Logger

	// Test hooks: stdin replaces os.Stdin (and is closed by Stop when it is
	// an io.Closer); idle replaces idleWait; bufSize replaces
	// readBufferSize.
	stdin   io.Reader
	idle    time.Duration
	bufSize int

	cfg  sourceConfig
	part map[string]any // {"filename": file}: every record's SourcePartition, built once in Start
	tc   source.TaskContext
	log  *slog.Logger

	f     *os.File // the file, once open; nil for standard input
	in    *pump    // standard input
	br    *bufio.Reader
	buf   []byte // bytes read but not yet returned; buf[start:] is pending
	start int
	clean int   // buf[start:start+clean] holds no line end: not scanned again
	pos   int64 // file position of buf[start]
	err   error // a read error, returned once the lines before it were

	openFailing bool // the last attempt to open the file failed
}

var _ source.Task = (*SourceTask)(nil)

// Start reads the configuration and opens the input. For a file it reads the
// committed offset of {"filename": file} and seeks to its position; a file
// that cannot be opened yet is opened by a later Poll. An invalid
// configuration or offset fails.
func (t *SourceTask) Start(ctx context.Context, tc source.TaskContext) error {
	cfg, err := parseSourceConfig(tc.Config())
	if err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	t.cfg, t.tc = cfg, tc
	// One map shared by every record (never modified): the runtime
	// recognises it without walking it, and no line allocates it.
	t.part = map[string]any{FilenameField: t.cfg.file}
	logger := t.Logger
	if logger == nil {
		logger = slog.Default()
	}
	t.log = logger.With("connector", tc.ConnectorName(), "task", tc.TaskID(), "file", t.logName())
	if t.cfg.file == "" {
		if t.stdin != nil {
			t.in = newPump(t.stdin)
		} else {
			t.in = stdinPump()
		}
		t.br = bufio.NewReaderSize(t.in, t.readSize())
		t.log.Info("reading standard input")
		return nil
	}
	_, err = t.open(ctx)
	return err
}

// Poll returns the next lines, at most batch.size. With nothing to return it
// waits up to about a second for data (returning early when ctx is done)
// and returns nil.
func (t *SourceTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.br == nil {
		ok, err := t.open(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			t.wait(ctx)
			return nil, nil
		}
	}
	recs, read, err := t.readLines()
	if err != nil {
		t.err = fmt.Errorf("reading %s: %w", t.logName(), err)
		if len(recs) == 0 {
			return nil, t.err
		}
		return recs, nil
	}
	if len(recs) == 0 {
		if !read {
			t.wait(ctx)
		}
		return nil, nil
	}
	return recs, nil
}

// Stop closes the file. Standard input is left open; a read from it that is
// in progress ends with the process or when data arrives, which the next
// task reading standard input receives.
func (t *SourceTask) Stop(context.Context) error {
	var err error
	if t.f != nil {
		err = t.f.Close()
		t.f = nil
	}
	if t.in != nil && t.stdin != nil {
		t.in.close()
	}
	t.in = nil
	t.br = nil
	return err
}

func (t *SourceTask) logName() string {
	if t.cfg.file == "" {
		return "stdin"
	}
	return t.cfg.file
}

func (t *SourceTask) readSize() int {
	if t.bufSize > 0 {
		return t.bufSize
	}
	return readBufferSize
}

// open opens the file and moves to its committed position. It reports false
// (and no error) when the file cannot be opened yet.
func (t *SourceTask) open(ctx context.Context) (bool, error) {
	f, err := os.Open(t.cfg.file)
	var fi os.FileInfo
	if err == nil {
		fi, err = f.Stat()
		if err == nil && fi.IsDir() {
			err = errors.New("is a directory")
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		if !t.openFailing {
			t.log.Warn("cannot open the file; retrying every second until it can be read", "error", err)
		} else {
			t.log.Debug("cannot open the file yet", "error", err)
		}
		t.openFailing = true
		return false, nil
	}
	t.openFailing = false
	pos, err := t.committedPosition(ctx)
	if err != nil {
		f.Close()
		return false, err
	}
	if pos > 0 {
		if _, err := f.Seek(pos, io.SeekStart); err != nil {
			f.Close()
			return false, fmt.Errorf("seeking %s to the committed position %d: %w", t.cfg.file, pos, err)
		}
		if fi.Mode().IsRegular() && fi.Size() < pos {
			t.log.Warn("the committed position is beyond the end of the file (truncated or replaced?); "+
				"as Kafka Connect, reading resumes once the file grows past it", "position", pos, "size", fi.Size())
		}
	}
	t.f, t.pos = f, pos
	t.buf, t.start, t.clean = t.buf[:0], 0, 0
	t.br = bufio.NewReaderSize(f, t.readSize())
	t.log.Debug("opened the file", "position", pos)
	return true, nil
}

// committedPosition returns the position of the committed offset of the
// file's source partition, 0 when there is none.
func (t *SourceTask) committedPosition(ctx context.Context) (int64, error) {
	part := offsets.Partition{FilenameField: t.cfg.file}
	off, err := t.tc.Offsets().Offset(ctx, part)
	if err != nil {
		return 0, connect.Retriable(fmt.Errorf("reading the committed offset of source partition %s: %w", connect.FormatMap(part), err))
	}
	v := off[PositionField]
	if v == nil {
		return 0, nil
	}
	pos, ok := toInt64(v)
	if !ok || pos < 0 {
		return 0, fmt.Errorf("committed offset %s of source partition %s: %s: want an integer >= 0, got %T %v",
			connect.FormatMap(off), connect.FormatMap(part), PositionField, v, v)
	}
	return pos, nil
}

// toInt64 converts any Go integer that fits.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case uint:
		return int64(n), uint64(n) <= math.MaxInt64
	case uint32:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint8:
		return int64(n), true
	}
	return 0, false
}

// readLines returns up to batch.size lines from what is available now;
// read reports whether any byte was read. A read error is returned with the
// complete lines read before it.
func (t *SourceTask) readLines() (recs []connect.Record, read bool, err error) {
	now := time.Now()
	end := false // no more data now
	for len(recs) < t.cfg.batchSize {
		pending := t.buf[t.start:]
		if line, n, ok := nextLine(pending, t.clean); ok {
			recs = append(recs, t.record(line, n, now))
			t.start += n
			t.clean = 0
			continue
		}
		// No line end in pending but maybe a final '\r', which the next
		// byte completes.
		t.clean = len(pending)
		if t.clean > 0 && pending[t.clean-1] == '\r' {
			t.clean--
		}
		if end {
			break
		}
		chunk, rerr := t.br.ReadSlice('\n')
		if len(chunk) > 0 {
			read = true
			if rerr == nil && t.start == len(t.buf) {
				// Common case: a whole line, nothing pending. chunk ends
				// with '\n'; a '\r' elsewhere than before it ends a line.
				switch cr := bytes.IndexByte(chunk, '\r'); cr {
				case -1:
					recs = append(recs, t.record(chunk[:len(chunk)-1], len(chunk), now))
					continue
				case len(chunk) - 2:
					recs = append(recs, t.record(chunk[:cr], len(chunk), now))
					continue
				}
			}
			t.appendPending(chunk)
		}
		switch {
		case rerr == nil, errors.Is(rerr, bufio.ErrBufferFull):
		case errors.Is(rerr, io.EOF):
			end = true
		default:
			end, err = true, rerr
		}
	}
	t.trimPending()
	return recs, read, err
}

// nextLine finds the first line of b, whose first from bytes are known to
// hold no line end: it ends at "\n", "\r\n" or a "\r" followed by another
// byte. It returns the line without terminator and the number of bytes it
// spans with its terminator.
func nextLine(b []byte, from int) (line []byte, n int, ok bool) {
	i := bytes.IndexAny(b[from:], "\r\n")
	if i < 0 {
		return nil, 0, false
	}
	i += from
	switch {
	case b[i] == '\n':
		return b[:i], i + 1, true
	case i+1 == len(b):
		return nil, 0, false // "\r" last: it may start a "\r\n"
	case b[i+1] == '\n':
		return b[:i], i + 2, true
	}
	return b[:i], i + 1, true
}

// appendPending adds chunk to the pending bytes, reusing the buffer.
func (t *SourceTask) appendPending(chunk []byte) {
	if t.start == len(t.buf) {
		t.buf, t.start, t.clean = t.buf[:0], 0, 0
	} else if t.start > 0 && cap(t.buf)-len(t.buf) < len(chunk) {
		n := copy(t.buf, t.buf[t.start:])
		t.buf, t.start = t.buf[:n], 0
	}
	t.buf = append(t.buf, chunk...)
}

// trimPending releases the pending buffer when it is empty and large.
func (t *SourceTask) trimPending() {
	if t.start == len(t.buf) {
		if cap(t.buf) > keepPending {
			t.buf = nil
		} else {
			t.buf = t.buf[:0]
		}
		t.start = 0
	}
}

// record builds the record of a line spanning n bytes with its terminator.
func (t *SourceTask) record(line []byte, n int, now time.Time) connect.Record {
	rec := connect.Record{
		Topic:       t.cfg.topic,
		ValueSchema: connect.StringSchema,
		Value:       string(line),
		Timestamp:   now,
	}
	if t.f != nil {
		t.pos += int64(n)
		rec.SourcePartition = t.part
		rec.SourceOffset = map[string]any{PositionField: t.pos}
	}
	return rec
}

// wait blocks until ctx is done, the idle wait passed or, for standard
// input, data arrived.
func (t *SourceTask) wait(ctx context.Context) {
	d := idleWait
	if t.idle > 0 {
		d = t.idle
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	var data <-chan []byte
	if t.in != nil {
		data = t.in.waitChan()
	}
	select {
	case <-ctx.Done():
	case <-timer.C:
	case c, ok := <-data:
		t.in.received(c, ok)
	}
}
