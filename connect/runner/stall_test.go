package runner_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// A sink task blocked in Put with records waiting is reported stalled
// within the configured duration, and not before; a healthy idle pipeline
// (no lag, nothing in flight) never is, however long it has been idle.
func TestStalledSinkBlockedInPut(t *testing.T) {
	const stallAfter = 300 * time.Millisecond
	e := newEnv(t, runner.Config{StallAfter: stallAfter}).start()
	if err := e.r.CreateConnector("blocked", sinkConfig(), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.r.CreateConnector("idle", sinkConfig(), ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("blocked", connect.StateRunning, 1)
	e.waitState("idle", connect.StateRunning, 1)

	// idle: caught up long ago, nothing in flight, no lag.
	e.f.Pipe("idle").SetTask(0, func(ts *connect.TaskStatus) {
		ts.InFlight, ts.Lag, ts.LastProgress = 0, 0, time.Now().Add(-time.Hour)
		for i := range ts.Partitions {
			ts.Partitions[i].Committed = ts.Partitions[i].HighWatermark
		}
	})
	// blocked: Put was called now with 20 records and never returns;
	// Kafka has 40 more waiting.
	start := time.Now()
	e.f.Pipe("blocked").SetTask(0, func(ts *connect.TaskStatus) {
		ts.Started, ts.LastProgress, ts.InFlight, ts.Lag = start.Add(-time.Hour), start, 20, 40
	})

	var stalledAt time.Duration
	for {
		rep, err := e.r.Status("blocked")
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		if rep.Tasks[0].Stalled {
			stalledAt = elapsed
			break
		}
		if elapsed > stallAfter+time.Second {
			t.Fatalf("not reported stalled %s after Put blocked (StallAfter %s)", elapsed, stallAfter)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if stalledAt < stallAfter {
		t.Fatalf("reported stalled after %s, before StallAfter %s", stalledAt, stallAfter)
	}
	rep, _ := e.r.Status("blocked")
	if !rep.Stalled() || rep.State != connect.StateRunning {
		t.Fatalf("connector report: %+v", rep)
	}
	if rep, _ := e.r.Status("idle"); rep.Stalled() {
		t.Fatal("a healthy idle pipeline is reported stalled")
	}

	// The REST status says so in the sluice object, keeping RUNNING.
	w := httptest.NewRecorder()
	e.r.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/connectors/blocked/status", nil))
	var body struct {
		Tasks []struct {
			State  string `json:"state"`
			Sluice struct {
				Stalled  bool  `json:"stalled"`
				InFlight int64 `json:"in_flight"`
				Lag      int64 `json:"lag"`
			} `json:"sluice"`
		} `json:"tasks"`
		Sluice struct {
			Stalled bool `json:"stalled"`
		} `json:"sluice"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if !body.Sluice.Stalled || body.Tasks[0].State != "RUNNING" || !body.Tasks[0].Sluice.Stalled || body.Tasks[0].Sluice.Lag != 40 {
		t.Fatalf("REST status: %s", w.Body)
	}

	// Progress clears the flag; pausing never reports a stall.
	e.f.Pipe("blocked").SetTask(0, func(ts *connect.TaskStatus) { ts.LastProgress = time.Now() })
	if rep, _ := e.r.Status("blocked"); rep.Stalled() {
		t.Fatal("still stalled after progress")
	}
	e.f.Pipe("blocked").SetTask(0, func(ts *connect.TaskStatus) { ts.LastProgress = time.Now().Add(-time.Hour) })
	if err := e.r.Pause("blocked"); err != nil {
		t.Fatal(err)
	}
	if rep, _ := e.r.Status("blocked"); rep.Stalled() {
		t.Fatal("a paused task is reported stalled")
	}
}
