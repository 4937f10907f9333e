package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect/runner"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// levelEnv is a Runner whose logger writes every level (down to TRACE)
// to buf; its handler is the one runner.New wrapped.
func levelEnv(t *testing.T, min slog.Level) (*env, *lockedBuffer, *slog.Logger) {
	t.Helper()
	buf := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: min}))
	e := newEnv(t, runner.Config{Logger: log})
	return e, buf, e.r.Logger()
}

func TestLoggerLevelsFilterByLongestPrefix(t *testing.T) {
	e, buf, log := levelEnv(t, slog.LevelDebug-4)
	ctx := context.Background()
	sinkTask := log.With(runner.LoggerAttr, runner.LoggerWorkerSinkTask)
	other := log.With(runner.LoggerAttr, "com.example.Mine")
	lines := func() []string {
		var out []string
		for l := range strings.SplitSeq(strings.TrimSpace(buf.take()), "\n") {
			if l == "" || strings.Contains(l, runner.LoggerAttr+"=org.apache.kafka.connect.runtime.Loggers") {
				continue // the level changes' own lines
			}
			_, msg, _ := strings.Cut(l, "msg=")
			msg, _, _ = strings.Cut(msg, " ")
			out = append(out, msg)
		}
		return out
	}
	emit := func() {
		sinkTask.Debug("sink-debug")
		sinkTask.Info("sink-info")
		other.Debug("other-debug")
		other.Log(ctx, slog.LevelDebug-4, "other-trace")
		log.Debug("root-debug")
		// An inline logger attribute counts as one added with With.
		log.Debug("inline-debug", runner.LoggerAttr, runner.LoggerWorkerSinkTask)
		// Inside a group, the attribute is not the line's logger.
		log.WithGroup("g").With(runner.LoggerAttr, "com.example.Mine").Debug("grouped-debug")
	}
	emit()
	if got, want := lines(), []string{"sink-debug", "sink-info", "other-debug", "other-trace", "root-debug", "inline-debug", "grouped-debug"}; !slices.Equal(got, want) {
		t.Fatalf("root TRACE: %v, want %v", got, want)
	}

	// A parent namespace covers its children; the root covers the rest.
	// (Setting the root sets every namespace: set it first.)
	if _, err := e.r.SetLoggerLevel(ctx, "root", "DEBUG", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.SetLoggerLevel(ctx, "org.apache.kafka.connect", "info", "worker"); err != nil {
		t.Fatal(err)
	}
	emit()
	if got, want := lines(), []string{"sink-info", "other-debug", "root-debug", "grouped-debug"}; !slices.Equal(got, want) {
		t.Fatalf("connect INFO, root DEBUG: %v, want %v", got, want)
	}
	// The longest prefix wins: the class's own level over its package's.
	if _, err := e.r.SetLoggerLevel(ctx, runner.LoggerWorkerSinkTask, "TRACE", "worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.SetLoggerLevel(ctx, "com.example", "off", "worker"); err != nil {
		t.Fatal(err)
	}
	emit()
	if got, want := lines(), []string{"sink-debug", "sink-info", "root-debug", "inline-debug", "grouped-debug"}; !slices.Equal(got, want) {
		t.Fatalf("WorkerSinkTask TRACE, com.example OFF: %v, want %v", got, want)
	}
	// Root OFF silences everything (setting root sets every namespace).
	if _, err := e.r.SetLoggerLevel(ctx, "", "OFF", "worker"); err != nil {
		t.Fatal(err)
	}
	emit()
	if got := lines(); len(got) != 0 {
		t.Fatalf("root OFF: %v", got)
	}
	if _, err := e.r.SetLoggerLevel(ctx, "root", "nope", "worker"); !errors.Is(err, runner.ErrInvalidLevel) {
		t.Fatalf("invalid level: %v", err)
	}
}

// TestLoggerLevelCannotRaiseWrappedMinimum: the wrapped handler's own
// minimum still applies (documented).
func TestLoggerLevelCannotRaiseWrappedMinimum(t *testing.T) {
	e, buf, log := levelEnv(t, slog.LevelInfo)
	if l, err := e.r.LoggerLevel("root"); err != nil || l.Level != "INFO" || !l.LastModified.IsZero() {
		t.Fatalf("root = %+v, %v: want INFO from the wrapped handler, never modified", l, err)
	}
	if _, err := e.r.SetLoggerLevel(context.Background(), "root", "DEBUG", "worker"); err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	if s := buf.take(); strings.Contains(s, "hidden") {
		t.Fatalf("a DEBUG line passed an INFO handler: %s", s)
	}
}

func TestRESTLoggers(t *testing.T) {
	e, _, _ := levelEnv(t, slog.LevelDebug)
	h := e.r.Handler()
	var start map[string]map[string]any
	w := do(h, "GET", "/admin/loggers", "")
	if w.Code != 200 {
		t.Fatalf("GET /admin/loggers: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &start); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"root", runner.LoggerWorker, runner.LoggerWorkerSinkTask, runner.LoggerWorkerSourceTask, runner.LoggerLogReporter} {
		if l, ok := start[n]; !ok || l["level"] != "DEBUG" || l["last_modified"] != nil {
			t.Errorf("GET /admin/loggers: %s = %v, want DEBUG never modified", n, l)
		}
	}
	wantResponse(t, do(h, "GET", "/admin/loggers/root", ""), 200, `{"level":"DEBUG","last_modified":null}`)
	wantResponse(t, do(h, "GET", "/admin/loggers/ROOT", ""), 200, `{"level":"DEBUG","last_modified":null}`)
	wantResponse(t, do(h, "GET", "/admin/loggers/"+runner.LoggerWorkerSinkTask, ""), 200, `{"level":"DEBUG","last_modified":null}`)
	wantResponse(t, do(h, "GET", "/admin/loggers/com.example.Nope", ""), 404, `{"error_code":404,"message":"Logger com.example.Nope not found."}`)
	wantResponse(t, do(h, "PUT", "/admin/loggers/root", `{"lvl":"DEBUG"}`), 400, `{"error_code":400,"message":"Desired 'level' parameter was not specified in request."}`)
	wantResponse(t, do(h, "PUT", "/admin/loggers/root", `{"level":"LOUD"}`), 404, `{"error_code":404,"message":"invalid log level 'LOUD'."}`)

	// Worker scope: 200 with the current loggers under the namespace
	// whose level was not already the new one, sorted.
	wantResponse(t, do(h, "PUT", "/admin/loggers/org.apache.kafka.connect.runtime", `{"level":"warn"}`), 200,
		`["org.apache.kafka.connect.runtime","org.apache.kafka.connect.runtime.Loggers","org.apache.kafka.connect.runtime.Worker",`+
			`"org.apache.kafka.connect.runtime.WorkerSinkTask","org.apache.kafka.connect.runtime.WorkerSourceTask",`+
			`"org.apache.kafka.connect.runtime.errors.DeadLetterQueueReporter","org.apache.kafka.connect.runtime.errors.LogReporter",`+
			`"org.apache.kafka.connect.runtime.errors.RetryWithToleranceOperator"]`)
	// Unchanged levels are not listed again.
	wantResponse(t, do(h, "PUT", "/admin/loggers/org.apache.kafka.connect.runtime?scope=worker", `{"level":"WARN"}`), 200, `[]`)
	// Kafka Connect matches children by string prefix (Worker "covers"
	// WorkerSinkTask in the answer) while levels resolve by dotted
	// prefix: WorkerSinkTask is listed but keeps its level.
	wantResponse(t, do(h, "PUT", "/admin/loggers/org.apache.kafka.connect.runtime.Worker", `{"level":"ERROR"}`), 200,
		`["org.apache.kafka.connect.runtime.Worker","org.apache.kafka.connect.runtime.WorkerSinkTask","org.apache.kafka.connect.runtime.WorkerSourceTask"]`)
	l, err := e.r.LoggerLevel(runner.LoggerWorkerSinkTask)
	if err != nil || l.Level != "WARN" || l.LastModified.IsZero() {
		t.Fatalf("WorkerSinkTask = %+v, %v", l, err)
	}
	ms := l.LastModified.UnixMilli()
	wantResponse(t, do(h, "GET", "/admin/loggers/"+runner.LoggerWorkerSinkTask, ""), 200,
		`{"level":"WARN","last_modified":`+jsonInt(ms)+`}`)
	// A new namespace becomes a current logger.
	wantResponse(t, do(h, "PUT", "/admin/loggers/com.example?scope=bogus", `{"level":"ERROR"}`), 200, `["com.example"]`)
	wantResponse(t, do(h, "GET", "/admin/loggers/com.example", ""), 200, `{"level":"ERROR","last_modified":`+jsonInt(lastModified(t, e, "com.example"))+`}`)
	// OFF loggers leave the list (Kafka Connect's allLevels filter) but
	// can still be read one by one.
	wantResponse(t, do(h, "PUT", "/admin/loggers/com.example", `{"level":"OFF"}`), 200, `["com.example"]`)
	if _, ok := e.r.LoggerLevels()["com.example"]; ok {
		t.Error("an OFF logger is listed")
	}
	wantResponse(t, do(h, "GET", "/admin/loggers/com.example", ""), 200, `{"level":"OFF","last_modified":`+jsonInt(lastModified(t, e, "com.example"))+`}`)
	// Standalone, the cluster scope is the worker scope, answered 204.
	wantResponse(t, do(h, "PUT", "/admin/loggers/com.example?scope=Cluster", `{"level":"INFO"}`), 204, ``)
	if l, _ := e.r.LoggerLevel("com.example"); l.Level != "INFO" {
		t.Errorf("cluster scope standalone: %+v", l)
	}
	wantResponse(t, do(h, "DELETE", "/admin/loggers/root", ""), 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`)
}

func lastModified(t *testing.T, e *env, name string) int64 {
	t.Helper()
	l, err := e.r.LoggerLevel(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.LastModified.UnixMilli()
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
