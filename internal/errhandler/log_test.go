package errhandler

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	sluiceerrors "github.com/sluicehq/sluice/errors"

	"github.com/sluicehq/sluice/connect"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLines parses one JSON object per line.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestLogReporterSinkRecord: one ERROR line per report, with Kafka
// Connect's LogReporter message and the coordinates as attributes; a
// consumed record's key and value are never logged, IncludeMessages adds
// only its timestamp (Kafka Connect's ProcessingContext for a
// ConsumerRecord).
func TestLogReporterSinkRecord(t *testing.T) {
	for _, include := range []bool{false, true} {
		buf := &syncBuffer{}
		m := new(Metrics)
		l := &LogReporter{Logger: slog.New(slog.NewJSONHandler(buf, nil)), IncludeMessages: include, Metrics: m}
		rec := sinkRecord()
		rec.TimestampType = connect.CreateTime
		f := &Failure{Stage: connect.StageValueConverter, Component: &fakeConverter{}, Record: rec,
			Raw: &RawRecord{Topic: "orders", Partition: 3, Offset: 42}, Err: stderrors.New("bad json"), Attempts: 2}
		for i := 0; i < 3; i++ {
			if err := l.Report(context.Background(), "orders-sink", 2, f); err != nil {
				t.Fatal(err)
			}
		}
		lines := jsonLines(t, buf.String())
		if len(lines) != 3 {
			t.Fatalf("include=%v: %d lines, want 3:\n%s", include, len(lines), buf.String())
		}
		if n := m.ErrorsLogged.Load(); n != 3 {
			t.Errorf("ErrorsLogged = %d, want 3", n)
		}
		got := lines[0]
		msg := "Error encountered in task orders-sink-2. Executing stage 'VALUE_CONVERTER' with class '*errhandler.fakeConverter', where consumed record is {topic='orders', partition=3, offset=42}."
		if include {
			msg = "Error encountered in task orders-sink-2. Executing stage 'VALUE_CONVERTER' with class '*errhandler.fakeConverter', where consumed record is {topic='orders', partition=3, offset=42, timestamp=1700000000123, timestampType=CreateTime}."
		}
		if got["msg"] != msg {
			t.Errorf("msg %q\nwant %q", got["msg"], msg)
		}
		want := map[string]any{
			"level": "ERROR", "connector": "orders-sink", "task": 2.0, "stage": "VALUE_CONVERTER",
			"class": "*errhandler.fakeConverter", "attempts": 2.0, "error": "bad json",
			"topic": "orders", "partition": 3.0, "offset": 42.0,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("include=%v: %s = %#v, want %#v", include, k, got[k], v)
			}
		}
		for _, k := range []string{"key", "value", "record_topic"} {
			if _, ok := got[k]; ok {
				t.Errorf("include=%v: attribute %s logged for a consumed record", include, k)
			}
		}
		if _, ok := got["timestamp"]; ok != include {
			t.Errorf("include=%v: timestamp present=%v", include, ok)
		}
		if include && (got["timestamp"] != 1700000000123.0 || got["timestamp_type"] != "CreateTime") {
			t.Errorf("timestamp %v %v", got["timestamp"], got["timestamp_type"])
		}
		if strings.Contains(buf.String(), "v-1") || strings.Contains(buf.String(), "k-1") {
			t.Errorf("include=%v: consumed record's key or value logged: %s", include, buf.String())
		}
	}
}

// TestLogReporterSinkRecordWithoutRaw: a consumed record is described as
// such even without its raw bytes (e.g. a record a task reports itself).
// The class of a TASK_PUT failure is Kafka Connect's
// (WorkerErrantRecordReporter: org.apache.kafka.connect.sink.SinkTask),
// the task's Go type is in go_class.
func TestLogReporterSinkRecordWithoutRaw(t *testing.T) {
	buf := &syncBuffer{}
	l := &LogReporter{Logger: slog.New(slog.NewJSONHandler(buf, nil))}
	f := &Failure{Stage: connect.StageTaskPut, Component: &fakeConverter{}, Record: sinkRecord(), Err: stderrors.New("rejected"), Attempts: 1}
	if err := l.Report(context.Background(), "orders-sink", 0, f); err != nil {
		t.Fatal(err)
	}
	got := jsonLines(t, buf.String())[0]
	const msg = "Error encountered in task orders-sink-0. Executing stage 'TASK_PUT' with class 'org.apache.kafka.connect.sink.SinkTask', where consumed record is {topic='orders', partition=3, offset=42}."
	if got["msg"] != msg {
		t.Errorf("msg %q\nwant %q", got["msg"], msg)
	}
	if got["class"] != "org.apache.kafka.connect.sink.SinkTask" || got["go_class"] != "*errhandler.fakeConverter" {
		t.Errorf("class %v, go_class %v", got["class"], got["go_class"])
	}
	if got["topic"] != "orders" || got["partition"] != 3.0 || got["offset"] != 42.0 {
		t.Errorf("coordinates %v %v %v", got["topic"], got["partition"], got["offset"])
	}
}

// TestLogReporterSourceRecord: a source record is located by its source
// partition and offset.
func TestLogReporterSourceRecord(t *testing.T) {
	buf := &syncBuffer{}
	l := &LogReporter{Logger: slog.New(slog.NewJSONHandler(buf, nil)), IncludeMessages: true}
	f := &Failure{Stage: connect.StageTransformation, Component: &fakeConverter{}, Record: sourceRecord(), Err: stderrors.New("cast"), Attempts: 1}
	if err := l.Report(context.Background(), "files", 1, f); err != nil {
		t.Fatal(err)
	}
	got := jsonLines(t, buf.String())[0]
	const msg = "Error encountered in task files-1. Executing stage 'TRANSFORMATION' with class '*errhandler.fakeConverter', where source record is source partition {file=a.txt} offset {pos=7} for topic lines."
	if got["msg"] != msg {
		t.Errorf("msg %q\nwant %q", got["msg"], msg)
	}
	if got["source_partition"] != "{file=a.txt}" || got["source_offset"] != "{pos=7}" || got["value"] != "hello" || got["key"] != "k-2" {
		t.Errorf("attributes %v", got)
	}
	if _, ok := got["partition"]; ok {
		t.Error("source record logged with a Kafka partition")
	}
}

// TestLogReporterNoRecord: without a record or component the line still
// names the task and stage, and the class is "null" as Kafka Connect's
// LogReporter prints a missing executing class; nil Metrics and a nil
// Logger are allowed.
func TestLogReporterNoRecord(t *testing.T) {
	buf := &syncBuffer{}
	l := &LogReporter{Logger: slog.New(slog.NewTextHandler(buf, nil))}
	if err := l.Report(context.Background(), "c", 0, &Failure{Stage: connect.StageTaskPoll, Err: stderrors.New("x")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `msg="Error encountered in task c-0. Executing stage 'TASK_POLL' with class 'null'."`) {
		t.Errorf("line %q", buf.String())
	}
	prev := slog.Default()
	defer slog.SetDefault(prev)
	def := &syncBuffer{}
	slog.SetDefault(slog.New(slog.NewTextHandler(def, nil)))
	if err := (&LogReporter{}).Report(context.Background(), "d", 1, &Failure{Stage: connect.StageTaskPoll, Err: stderrors.New("y")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def.String(), "task d-1") {
		t.Errorf("default logger got %q", def.String())
	}
}

// TestLogReporterViaHandler: wired into a Handler under tolerance all, each
// skipped record is logged once and counted.
func TestLogReporterViaHandler(t *testing.T) {
	buf := &syncBuffer{}
	m := new(Metrics)
	h := New(sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, LogEnable: true}, "orders-sink", 0, quiet, WithMetrics(m),
		WithReporters(&LogReporter{Logger: slog.New(slog.NewJSONHandler(buf, nil)), Metrics: m}))
	for i := 0; i < 5; i++ {
		if skip, err := h.Execute(context.Background(), connect.StageKeyConverter, &fakeConverter{}, sinkRecord(), nil, always(stderrors.New("bad"))); !skip || err != nil {
			t.Fatal(skip, err)
		}
	}
	if n := len(jsonLines(t, buf.String())); n != 5 {
		t.Errorf("%d lines, want 5", n)
	}
	if s := m.Snapshot(); s.ErrorsLogged != 5 || s.RecordsSkipped != 5 {
		t.Errorf("snapshot %+v", s)
	}
}
