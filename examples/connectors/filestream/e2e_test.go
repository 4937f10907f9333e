package filestream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

func quiet() *slog.Logger {
	if os.Getenv("FILESTREAM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// copyPipelines runs a FileStream source (in → topic) and a FileStream sink
// (topic → out) with the StringConverter on both sides until the returned
// function stops them; both must stop without error.
func copyPipelines(t *testing.T, brokers []string, name, topic, in, out string, store offsets.Store) (stop func()) {
	t.Helper()
	src, err := source.New(source.Config{
		Name:                name + "-src",
		Brokers:             brokers,
		NewTask:             func() source.Task { return &filestream.SourceTask{Logger: quiet()} },
		Connector:           filestream.SourceConnector{},
		Properties:          map[string]string{"connector.class": filestream.SourceClass, "file": in, "topic": topic},
		KeyConverter:        converters.NewString(),
		ValueConverter:      converters.NewString(),
		OffsetStore:         store,
		OffsetFlushInterval: 200 * time.Millisecond,
		Sarama:              sluicetest.SaramaConfig(t),
		Logger:              quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	snk, err := sink.New(sink.Config{
		Name:                name + "-sink",
		Brokers:             brokers,
		Topics:              []string{topic},
		NewTask:             func() sink.Task { return &filestream.SinkTask{Logger: quiet()} },
		Properties:          map[string]string{"connector.class": filestream.SinkClass, "file": out},
		KeyConverter:        converters.NewString(),
		ValueConverter:      converters.NewString(),
		OffsetFlushInterval: 200 * time.Millisecond,
		Sarama:              sluicetest.SaramaConfig(t),
		Logger:              quiet(),
		ConsumerProps:       map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- src.Run(ctx) }()
	go func() { errs <- snk.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range 2 {
			select {
			case err := <-errs:
				if err != nil {
					t.Errorf("pipeline: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("pipelines did not stop")
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitForCopy waits until out is at least as long as want and then requires
// it to be byte-equal (so duplicates fail rather than time out).
func waitForCopy(t *testing.T, out string, want []byte) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, _ := os.ReadFile(out)
		if len(got) >= len(want) {
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("output (%d bytes) differs from input (%d bytes) at byte %d", len(got), len(want), i)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: output has %d of %d bytes", len(got), len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lines(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %05d %s|\t%s\n", i, strings.Repeat("é✓", i%5), strings.Repeat("x", i%97))
	}
	return b.Bytes()
}

// TestCopyFileThroughKafka: FileStreamSource → topic → FileStreamSink, with
// the StringConverter on both sides, copies a 10 000-line file byte for
// byte; the source's committed offset is stored in Kafka Connect's exact
// offsets-topic form (key ["<name>",{"filename":"<file>"}], value
// {"position":<file size>}); after lines are appended and both pipelines
// restarted (same offset store, same sink group), only the new lines are
// copied: the output stays byte-equal to the input.
func TestCopyFileThroughKafka(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil) // one partition: one order
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	offsetsFile := filepath.Join(dir, "offsets.json")
	input := lines(0, 10000)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := offsets.NewFileStore(offsetsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	stop := copyPipelines(t, brokers, topic, topic, in, out, store)
	waitForCopy(t, out, input)
	stop()
	checkOffsetsFile(t, offsetsFile, topic+"-src", in, len(input))

	more := lines(10000, 10500)
	appendTo(t, in, more)
	input = append(input, more...)
	stop = copyPipelines(t, brokers, topic, topic, in, out, store)
	waitForCopy(t, out, input)
	stop()
	checkOffsetsFile(t, offsetsFile, topic+"-src", in, len(input))
	if got, _ := os.ReadFile(out); !bytes.Equal(got, input) {
		t.Fatalf("after the stop: output has %d bytes, input %d", len(got), len(input))
	}
}

func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// checkOffsetsFile reads the FileStore's file, which holds offsets-topic key
// and value bytes, and requires Kafka Connect's form for the file source.
func checkOffsetsFile(t *testing.T, path, connector, file string, size int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Entries []struct{ Key, Value string }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	fileJSON, _ := json.Marshal(file)
	wantKey := `["` + connector + `",{"filename":` + string(fileJSON) + `}]`
	wantValue := fmt.Sprintf(`{"position":%d}`, size)
	if len(doc.Entries) != 1 || doc.Entries[0].Key != wantKey || doc.Entries[0].Value != wantValue {
		t.Fatalf("offsets file %s, want key %s value %s", data, wantKey, wantValue)
	}
}
