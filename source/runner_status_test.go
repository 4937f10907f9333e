package source_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/source"
)

// restTask is the part of GET /connectors/{name}/status these tests read.
type restTask struct {
	State  string `json:"state"`
	Trace  string `json:"trace"`
	Sluice struct {
		Stalled      bool   `json:"stalled"`
		StallError   string `json:"stall_error"`
		StalledSince string `json:"stalled_since"`
	} `json:"sluice"`
}

func restStatus(t *testing.T, r *runner.Runner, name string) (tasks []restTask) {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/connectors/"+name+"/status", nil))
	var body struct {
		Tasks []restTask `json:"tasks"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	return body.Tasks
}

// TestRunnerShowsStallAndPanic: under a runner.Runner, a source task that
// cannot produce (its topic is missing) is RUNNING and stalled with the
// error it keeps getting in the REST status; a task that panics is FAILED
// with the panic and its stack trace in the trace, and the Runner (the
// process) goes on.
func TestRunnerShowsStallAndPanic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	missing := kafkatest.Topic(t)
	r, err := runner.New(runner.Config{Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	build := func(name string, task source.Task, props map[string]string) runner.BuildFunc {
		return func(context.Context) (connect.Pipeline, error) {
			cfg := baseConfig(t, brokers, name, task)
			cfg.ProducerProps = props
			cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
			return source.New(cfg)
		}
	}
	if err := r.AddPipeline("stalled", nil, build("stalled", &genTask{topic: missing, parts: 1, perPart: 10},
		map[string]string{"allow.auto.create.topics": "false"})); err != nil {
		t.Fatal(err)
	}
	if err := r.AddPipeline("panics", nil, build("panics", &panicky{genTask: &genTask{topic: missing, parts: 1, perPart: 10}, in: "Poll"}, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("Runner.Run did not return")
		}
	}()

	var ts []restTask
	waitFor(t, "the stalled task in the REST status", 60*time.Second, func() bool {
		ts = restStatus(t, r, "stalled")
		return len(ts) == 1 && ts[0].Sluice.StallError != ""
	})
	if ts[0].State != "RUNNING" || !ts[0].Sluice.Stalled || !strings.Contains(ts[0].Sluice.StallError, missing) || ts[0].Sluice.StalledSince == "" {
		t.Fatalf("stalled task: %+v", ts[0])
	}
	waitFor(t, "the panicking task FAILED", 60*time.Second, func() bool {
		ts = restStatus(t, r, "panics")
		return len(ts) == 1 && ts[0].State == "FAILED"
	})
	if !strings.Contains(ts[0].Trace, "boom in Poll") || !strings.Contains(ts[0].Trace, "panicked") || !strings.Contains(ts[0].Trace, "goroutine") {
		t.Fatalf("trace of the panicking task: %q", ts[0].Trace)
	}
}
