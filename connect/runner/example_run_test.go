package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// waitFor polls the connector's status until it is in state (examples only;
// tests wait with deadlines).
func waitFor(r *runner.Runner, name string, state connect.State) {
	for {
		if st, err := r.Status(name); err == nil && st.State == state {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Supervise a pipeline built in Go: New, AddPipeline, Run, then cancel the
// context to stop every pipeline. In an application the builder returns
// source.New(cfg) or sink.New(cfg), with cfg.Logger set to
// connect.ContextLogger(ctx).
func ExampleNew() {
	r, err := runner.New(runner.Config{
		WorkerID: "worker-1:sluice", // default: "<hostname>:sluice"
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	// The builder runs again on every restart: a pipeline runs once.
	err = r.AddPipeline("numbers", map[string]string{"topic": "numbers"}, func(ctx context.Context) (connect.Pipeline, error) {
		return &counterPipeline{name: "numbers"}, nil
	})
	if err != nil {
		panic(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(r, "numbers", connect.StateRunning)

	st, err := r.Status("numbers")
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Name, st.Type, st.State, st.WorkerID)
	for _, t := range st.Tasks {
		fmt.Printf("task %d: %s, %d records out, stalled: %t\n", t.ID, t.State, t.RecordsOut, t.Stalled)
	}

	cancel() // stops every pipeline; Run returns once they all exited
	fmt.Println("Run returned:", <-done)
	// Output:
	// numbers source RUNNING worker-1:sluice
	// task 0: RUNNING, 42 records out, stalled: false
	// Run returned: <nil>
}

// Create, inspect and pause a connector through the REST API, as Kafka
// Connect tooling does. The connector's class is a registered plugin; in an
// application, source.Plugin or sink.Plugin makes one from a task
// constructor.
func ExampleRunner_Handler() {
	r, err := runner.New(runner.Config{WorkerID: "worker-1:sluice", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	err = r.Register(connect.Plugin{
		Class:   "com.example.CounterSourceConnector",
		Type:    connect.TypeSource,
		Version: "1.0.0", // statuses and GET /connector-plugins show it
		New: func(ctx context.Context, worker, connector map[string]string) (connect.Pipeline, error) {
			return &counterPipeline{name: connector["name"]}, nil
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	srv := httptest.NewServer(r.Handler()) // mount it behind the application's auth
	defer srv.Close()
	call := func(method, path, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, fmt.Sprint(v["connector"])
	}

	code, _ := call("POST", "/connectors", `{"name": "numbers", "config": {"connector.class": "CounterSource", "topic": "numbers"}}`)
	fmt.Println("POST /connectors:", code)
	waitFor(r, "numbers", connect.StateRunning)
	code, _ = call("PUT", "/connectors/numbers/pause", "")
	fmt.Println("PUT /connectors/numbers/pause:", code)
	waitFor(r, "numbers", connect.StatePaused)
	code, connector := call("GET", "/connectors/numbers/status", "")
	fmt.Println("GET /connectors/numbers/status:", code, connector)
	code, _ = call("GET", "/connectors/missing/status", "")
	fmt.Println("GET /connectors/missing/status:", code)
	// Output:
	// POST /connectors: 201
	// PUT /connectors/numbers/pause: 202
	// GET /connectors/numbers/status: 200 map[state:PAUSED version:1.0.0 worker_id:worker-1:sluice]
	// GET /connectors/missing/status: 404
}

// The version GET / reports, from the binary's build information.
func ExampleVersion() {
	version, commit := runner.Version()
	fmt.Println(version != "", commit != "")
	// Output: true true
}
