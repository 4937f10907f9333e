package filestream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// TestSourceMixedLineEndings: a file with "\n", "\r\n" and lone "\r"
// terminators, empty lines, non-ASCII and invalid UTF-8 bytes yields Kafka's
// lines, values byte-exact and each position the byte offset after the
// line's terminator; a final "\r" is held back until the next byte arrives
// and then ends a "\r\n" line.
func TestSourceMixedLineEndings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	content := []byte("a\nbb\r\nccc\rdddd\n\n\r\n\r\rhéllo ✓\r\n\xff\xferaw\nlast\r")
	appendFile(t, path, content)
	task := &SourceTask{idle: time.Millisecond}
	startSource(t, task, map[string]string{"file": path, "topic": "t"}, nil)

	want := []line{
		{"a", 2}, {"bb", 6}, {"ccc", 10}, {"dddd", 15}, {"", 16}, {"", 18}, {"", 19}, {"", 20},
		{"héllo ✓", 32}, {"\xff\xferaw", 38},
	}
	equalLines(t, "reference splitter", kafkaLines(content), want) // the reference agrees
	equalLines(t, "first read", drain(t, task), want)

	appendFile(t, path, []byte("\nnext"))
	equalLines(t, "after the \\n", drain(t, task), []line{{"last", 44}})
	appendFile(t, path, []byte("\r"))
	equalLines(t, "lone \\r at the end", drain(t, task), nil)
	appendFile(t, path, []byte("x"))
	equalLines(t, "\\r then x", drain(t, task), []line{{"next", 49}})
}

// TestSourceRandomContentTailed: random content (lines of 0 to 100 000
// bytes, random terminators, arbitrary bytes) appended in random pieces
// (cutting lines and "\r\n" pairs anywhere) is read, after each piece,
// exactly as the reference splitter splits what was written so far, for
// tiny and normal read buffers and several batch sizes. (The expectation
// for a prefix is derived from the split of the whole content; the test of
// mixed line endings checks the reference against hand-computed lines.)
func TestSourceRandomContentTailed(t *testing.T) {
	for _, bufSize := range []int{16, 17, 4096, 0} {
		for _, batch := range []int{1, 3, 2000} {
			t.Run(fmt.Sprintf("buf%d/batch%d", bufSize, batch), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(bufSize), uint64(batch)))
				var content []byte
				for range 400 {
					n := rng.IntN(40)
					switch rng.IntN(50) {
					case 0:
						n = 100000
					case 1, 2:
						n = rng.IntN(3000)
					}
					for range n {
						content = append(content, "ab\xc3\xa9\xff \t"[rng.IntN(7)])
					}
					content = append(content, []string{"\n", "\r\n", "\r", "\n\r", "\r\r\n"}[rng.IntN(5)]...)
				}
				content = append(content, "tail"...)

				all := kafkaLines(content)
				path := filepath.Join(t.TempDir(), "in.txt")
				task := &SourceTask{idle: time.Millisecond, bufSize: bufSize}
				startSource(t, task, map[string]string{"file": path, "topic": "t", "batch.size": fmt.Sprint(batch)}, nil)
				var got []line
				for written := 0; written < len(content); {
					n := min(len(content)-written, 1+rng.IntN(20000))
					appendFile(t, path, content[written:written+n])
					written += n
					for {
						recs, err := task.Poll(context.Background())
						if err != nil {
							t.Fatal(err)
						}
						if len(recs) > batch {
							t.Fatalf("Poll returned %d records, batch.size is %d", len(recs), batch)
						}
						if len(recs) == 0 {
							break
						}
						for _, r := range recs {
							got = append(got, lineOf(t, r))
						}
					}
					// The lines of the content written so far: those of the
					// whole content ending before written, or at it with a
					// "\n" (a "\r" there still waits for the next byte).
					k := 0
					for k < len(all) && (all[k].pos < int64(written) || all[k].pos == int64(written) && content[written-1] == '\n') {
						k++
					}
					equalLines(t, fmt.Sprintf("after %d bytes", written), got, all[:k])
				}
			})
		}
	}
}

// TestSourceRecordShape: records carry the configured topic, a nil key, the
// line as a string with connect.StringSchema, a timestamp, and Kafka's source
// partition {"filename": file as configured, not cleaned} and offset
// {"position": int64}, which encode to Kafka Connect's offsets-topic bytes.
func TestSourceRecordShape(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/./in.txt" // kept as configured: it is the partition
	appendFile(t, file, []byte("hello\nworld\n"))
	task := &SourceTask{idle: time.Millisecond}
	startSource(t, task, map[string]string{"file": file, "topic": " lines "}, nil)
	before := time.Now()
	recs, err := task.Poll(context.Background())
	if err != nil || len(recs) != 2 {
		t.Fatalf("Poll: %d records, %v", len(recs), err)
	}
	r := recs[1]
	// One partition map for every line (built once, not per line), which
	// the runtime then recognises without walking it.
	if reflect.ValueOf(recs[0].SourcePartition).UnsafePointer() != reflect.ValueOf(r.SourcePartition).UnsafePointer() {
		t.Fatal("each line has its own SourcePartition map")
	}
	if r.Topic != "lines" || r.Key != nil || r.KeySchema != nil || r.ValueSchema != connect.StringSchema ||
		r.Value != "world" || r.HasPartition || r.Timestamp.IsZero() || r.Timestamp.After(time.Now()) || r.Timestamp.Before(before.Add(-time.Second)) {
		t.Fatalf("record: %+v", r)
	}
	key, err := offsets.EncodeKey("file-src", r.SourcePartition)
	if err != nil {
		t.Fatal(err)
	}
	val, err := offsets.EncodeValue(r.SourceOffset)
	if err != nil {
		t.Fatal(err)
	}
	fileJSON, _ := json.Marshal(file)
	if want := `["file-src",{"filename":` + string(fileJSON) + `}]`; string(key) != want {
		t.Fatalf("offsets-topic key %s, want %s", key, want)
	}
	if want := `{"position":12}`; string(val) != want {
		t.Fatalf("offsets-topic value %s, want %s", val, want)
	}
}

// kafkaOffsetStore returns a FileStore whose file holds, byte for byte, the
// offsets-topic record Kafka Connect writes for connector "file-src" reading
// file up to position.
func kafkaOffsetStore(t *testing.T, file, position string) offsets.Store {
	t.Helper()
	fileJSON, _ := json.Marshal(file)
	doc, _ := json.Marshal(map[string]any{
		"version": 1,
		"entries": []map[string]string{{
			"key":   `["file-src",{"filename":` + string(fileJSON) + `}]`,
			"value": `{"position":` + position + `}`,
		}},
	})
	path := filepath.Join(t.TempDir(), "offsets.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := offsets.NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSourceResumesFromKafkaOffset: with the offset Kafka Connect committed
// ({"position":N} under ["file-src",{"filename":...}]), the task starts at
// byte N and later positions continue from it.
func TestSourceResumesFromKafkaOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendFile(t, path, []byte("one\r\ntwo\nthree\rfour\n"))
	store := kafkaOffsetStore(t, path, "9") // after "one\r\ntwo\n"
	task := &SourceTask{idle: time.Millisecond}
	startSource(t, task, map[string]string{"file": path, "topic": "t"}, store)
	equalLines(t, "resumed", drain(t, task), []line{{"three", 15}, {"four", 20}})
	appendFile(t, path, []byte("five\n"))
	equalLines(t, "tailed", drain(t, task), []line{{"five", 25}})
}

// TestSourceInvalidCommittedOffset: a position that is not a non-negative
// integer fails Start, naming the field (Kafka: "Offset position is the
// incorrect type"); an offset without position starts at 0.
func TestSourceInvalidCommittedOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendFile(t, path, []byte("x\n"))
	for _, pos := range []string{`1.5`, `"10"`, `-1`, `true`} {
		store := kafkaOffsetStore(t, path, pos)
		task := &SourceTask{Logger: testLogger()}
		err := task.Start(context.Background(), &srcCtx{name: "file-src", cfg: map[string]string{"file": path, "topic": "t"}, store: store})
		if err == nil || !strings.Contains(err.Error(), "position: want an integer >= 0") {
			t.Errorf("position %s: Start error %v", pos, err)
		}
		if err := task.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}

	store := offsets.NewMemoryStore()
	if err := store.Write(context.Background(), "file-src", []connect.OffsetEntry{{
		Partition: offsets.Partition{"filename": path}, Offset: offsets.Offset{"other": int64(5)},
	}}); err != nil {
		t.Fatal(err)
	}
	task := &SourceTask{idle: time.Millisecond}
	startSource(t, task, map[string]string{"file": path, "topic": "t"}, store)
	equalLines(t, "no position", drain(t, task), []line{{"x", 2}})
}

// TestSourceOffsetBeyondEnd: a committed position past the end of the file
// (truncated) is kept, as Kafka's skip does: a warning is logged, nothing is
// read until the file grows past the position, and reading starts there.
func TestSourceOffsetBeyondEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	appendFile(t, path, []byte("abc\n"))
	store := kafkaOffsetStore(t, path, "10")
	var logs bytes.Buffer
	task := &SourceTask{idle: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	startSource(t, task, map[string]string{"file": path, "topic": "t"}, store)
	if !strings.Contains(logs.String(), "beyond the end of the file") || !strings.Contains(logs.String(), "position=10") {
		t.Fatalf("no warning logged: %s", logs.String())
	}
	equalLines(t, "short file", drain(t, task), nil)
	appendFile(t, path, []byte("0123456789\nXYZ\n"))
	equalLines(t, "grown file", drain(t, task), []line{{"6789", 15}, {"XYZ", 19}})
}

// TestSourceBatchSize: Poll returns at most batch.size lines (the default
// being 2000) and the next Poll continues where it stopped.
func TestSourceBatchSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	var b strings.Builder
	for i := range 4500 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	appendFile(t, path, []byte(b.String()))
	for _, c := range []struct {
		batch string
		want  []int
	}{
		{"", []int{2000, 2000, 500}},
		{"1000", []int{1000, 1000, 1000, 1000, 500}},
		{" 4500 ", []int{4500}},
	} {
		cfg := map[string]string{"file": path, "topic": "t"}
		if c.batch != "" {
			cfg["batch.size"] = c.batch
		}
		task := &SourceTask{idle: time.Millisecond}
		startSource(t, task, cfg, nil)
		var sizes []int
		next := 0
		for {
			recs, err := task.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			sizes = append(sizes, len(recs))
			for _, r := range recs {
				if want := fmt.Sprintf("line %d", next); r.Value != want {
					t.Fatalf("batch.size %q: got %q, want %q", c.batch, r.Value, want)
				}
				next++
			}
		}
		if fmt.Sprint(sizes) != fmt.Sprint(c.want) {
			t.Errorf("batch.size %q: batches %v, want %v", c.batch, sizes, c.want)
		}
	}
}

// TestSourceFileAppearsLater: a file missing at Start is opened by a later
// Poll (Kafka retries every second), a partial line is held back, and lines
// appended later are read (tailing).
func TestSourceFileAppearsLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.txt")
	task := &SourceTask{idle: time.Millisecond}
	startSource(t, task, map[string]string{"file": path, "topic": "t"}, nil)
	equalLines(t, "missing", drain(t, task), nil)
	appendFile(t, path, []byte("abc"))
	equalLines(t, "partial", drain(t, task), nil)
	appendFile(t, path, []byte("\ndef\n"))
	equalLines(t, "complete", drain(t, task), []line{{"abc", 4}, {"def", 8}})
	for i := range 3 {
		appendFile(t, path, []byte("more\n"))
		equalLines(t, "grown", drain(t, task), []line{{"more", int64(13 + 5*i)}})
	}
}

// TestSourcePollReturnsOnCancel: an idle Poll waits about a second for data
// (as Kafka's) but returns as soon as its context is done, for an idle file,
// a missing file and standard input without data. (The acceptance suite's
// PollReturnsOnCancel covers the idle file too.) The idle wait is an hour
// here, so a Poll that returns at all honoured the cancellation.
func TestSourcePollReturnsOnCancel(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	appendFile(t, empty, nil)
	pr, pw := io.Pipe()
	defer pw.Close()

	idle := &SourceTask{}
	startSource(t, idle, map[string]string{"file": empty, "topic": "t"}, nil)
	if d := elapsed(func() { idle.Poll(context.Background()) }); d < 900*time.Millisecond {
		t.Errorf("idle Poll returned after %s, want it to wait about a second", d)
	}

	for name, c := range map[string]struct {
		cfg  map[string]string
		task *SourceTask
	}{
		"idle file":    {map[string]string{"file": empty, "topic": "t"}, &SourceTask{idle: time.Hour}},
		"missing file": {map[string]string{"file": filepath.Join(dir, "missing"), "topic": "t"}, &SourceTask{idle: time.Hour}},
		"stdin":        {map[string]string{"topic": "t"}, &SourceTask{stdin: pr, idle: time.Hour}},
	} {
		startSource(t, c.task, c.cfg, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		done := make(chan []connect.Record, 1)
		go func() {
			recs, _ := c.task.Poll(ctx)
			done <- recs
		}()
		select {
		case recs := <-done:
			if recs != nil {
				t.Errorf("%s: Poll returned %v once cancelled", name, recs)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Poll did not return within 30s of its context being cancelled", name)
		}
		cancel()
	}
}

// TestSourceStdin: with no file the task reads standard input (here a
// pipe): records have no source partition or offset (nothing to commit), a
// waiting Poll wakes up when data arrives, an unterminated last line is not
// sent at end of input (as Kafka), and Stop ends the reader goroutine.
func TestSourceStdin(t *testing.T) {
	pr, pw := io.Pipe()
	task := &SourceTask{stdin: pr, idle: 10 * time.Second}
	startSource(t, task, map[string]string{"topic": "t", "file": ""}, nil)

	go func() {
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte("x\ny\r\nz"))
	}()
	var got []line
	d := elapsed(func() {
		for len(got) < 2 {
			recs, err := task.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.SourcePartition != nil || r.SourceOffset != nil {
					t.Fatalf("stdin record with offsets: %+v", r)
				}
				got = append(got, lineOf(t, r))
			}
		}
	})
	equalLines(t, "stdin", got, []line{{"x", -1}, {"y", -1}})
	if d > 2*time.Second {
		t.Fatalf("lines arrived after %s: the wait did not wake up on data", d)
	}
	pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if recs, err := task.Poll(ctx); recs != nil || err != nil {
		t.Fatalf("after end of input: %v, %v", recs, err)
	}
}

// TestSourceStdinReadError: an error reading standard input (other than its
// end) is returned by Poll after the lines read before it.
func TestSourceStdinReadError(t *testing.T) {
	pr, pw := io.Pipe()
	task := &SourceTask{stdin: pr, idle: time.Millisecond}
	startSource(t, task, map[string]string{"topic": "t"}, nil)
	go func() {
		pw.Write([]byte("ok\n"))
		pw.CloseWithError(fmt.Errorf("disk on fire"))
	}()
	var got []line
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		var recs []connect.Record
		recs, err = task.Poll(context.Background())
		for _, r := range recs {
			got = append(got, lineOf(t, r))
		}
	}
	equalLines(t, "before the error", got, []line{{"ok", -1}})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("Poll error %v", err)
	}
}

// TestSourceConfig: invalid configurations fail Start and the connector's
// TaskConfigs with errors naming the key; the connector returns exactly one
// task configuration, a copy of its own, whatever maxTasks is.
func TestSourceConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]string
		want []string
	}{
		{map[string]string{"file": "x"}, []string{"topic: required"}},
		{map[string]string{"topic": "  "}, []string{"topic: required"}},
		{map[string]string{"topic": "t", "batch.size": "x"}, []string{`batch.size: want an integer >= 1, got "x"`}},
		{map[string]string{"topic": "t", "batch.size": "0"}, []string{`batch.size: want an integer >= 1, got "0"`}},
		{map[string]string{"batch.size": "-3"}, []string{"topic: required", `batch.size: want an integer >= 1, got "-3"`}},
		{map[string]string{"topic": "t", "batch.size": "99999999999"}, []string{`batch.size: want an integer >= 1`}},
	} {
		task := &SourceTask{Logger: testLogger()}
		err := task.Start(context.Background(), &srcCtx{name: "c", cfg: c.cfg, store: offsets.NewMemoryStore()})
		_, cerr := SourceConnector{}.TaskConfigs(context.Background(), c.cfg, 1)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: Start error %v, want %q", c.cfg, err, w)
			}
			if cerr == nil || !strings.Contains(cerr.Error(), w) {
				t.Errorf("%v: TaskConfigs error %v, want %q", c.cfg, cerr, w)
			}
		}
		task.Stop(context.Background())
	}

	cfg := map[string]string{"file": "a.txt", "topic": "t", "batch.size": "10", "name": "src"}
	got, err := SourceConnector{}.TaskConfigs(context.Background(), cfg, 5)
	if err != nil || len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(cfg) {
		t.Fatalf("TaskConfigs = %v, %v", got, err)
	}
	got[0]["file"] = "changed"
	if cfg["file"] != "a.txt" {
		t.Fatal("TaskConfigs returned the connector's own map")
	}
	if err := (SourceConnector{}).Validate(map[string]string{"topic": "t"}); err != nil {
		t.Fatal(err)
	}
}
