package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/rest")

// restEnv is a running Runner with a source connector "src" (its config
// holds a password) and a sink connector "snk", both RUNNING.
func restEnv(t *testing.T, start bool) *env {
	t.Helper()
	e := newEnv(t, runner.Config{Version: "3.9.0-sluice", Commit: "0123abcd", KafkaClusterID: "cluster-1"})
	if err := e.r.CreateConnector("src", srcConfig("connection.password", "s3cret", "fake.secret", "xyz", "topic", "orders"), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.r.CreateConnector("snk", sinkConfig("fake.tasks", "1"), ""); err != nil {
		t.Fatal(err)
	}
	if start {
		e.start()
		e.waitState("src", connect.StateRunning, 1)
		e.waitState("snk", connect.StateRunning, 1)
	}
	return e
}

// do sends one request to the handler.
func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// canonicalJSON re-encodes a JSON document with sorted object keys.
func canonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + "\n"
}

// checkGolden compares a JSON body with testdata/rest/<name>.json after
// canonicalising both.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	path := filepath.Join("testdata", "rest", name+".json")
	got := canonicalJSON(t, body)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if w := canonicalJSON(t, want); w != got {
		t.Errorf("%s: body differs from the golden file\n--- got\n%s--- want\n%s", path, got, w)
	}
}

type restCase struct {
	name   string
	method string
	path   string
	body   string
	code   int
	// golden names testdata/rest/<golden>.json; "" expects an empty body.
	golden string
	// setup runs before the request.
	setup func(t *testing.T, e *env)
	// notStarted leaves the Runner not running.
	notStarted bool
	// check runs after the request.
	check func(t *testing.T, e *env, w *httptest.ResponseRecorder)
}

func stopConnector(name string) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		if err := e.r.Stop(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
}

func seedSourceOffsets(t *testing.T, e *env) {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	for _, o := range []connect.OffsetEntry{
		{Partition: map[string]any{"filename": "a.txt"}, Offset: map[string]any{"position": int64(30)}},
		{Partition: map[string]any{"filename": "b.txt"}, Offset: map[string]any{"position": int64(12), "eof": true}},
	} {
		e.f.offsets["src"][partitionKey(o.Partition)] = o
	}
}

func seedSinkOffsets(t *testing.T, e *env) {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	for p, off := range []int64{40, 50} {
		o := connect.OffsetEntry{
			Partition: map[string]any{"kafka_topic": "orders", "kafka_partition": int64(p)},
			Offset:    map[string]any{"kafka_offset": off},
		}
		e.f.offsets["snk"][partitionKey(o.Partition)] = o
	}
}

// Every endpoint, with Kafka Connect's status codes and JSON shapes
// (golden files in testdata/rest).
func TestRESTEndpoints(t *testing.T) {
	cases := []restCase{
		{name: "root", method: "GET", path: "/", code: 200, golden: "root"},
		{name: "health", method: "GET", path: "/health", code: 200, golden: "health"},
		{name: "health starting", method: "GET", path: "/health", code: 503, golden: "health_starting", notStarted: true},
		{name: "list", method: "GET", path: "/connectors", code: 200, golden: "connectors"},
		{name: "list trailing slash", method: "GET", path: "/connectors/", code: 200, golden: "connectors"},
		{name: "list expand", method: "GET", path: "/connectors?expand=status&expand=info", code: 200, golden: "connectors_expand"},
		{name: "list expand status", method: "GET", path: "/connectors?expand=status", code: 200, golden: "connectors_expand_status"},
		{name: "create", method: "POST", path: "/connectors", code: 201, golden: "create",
			body: `{"name":"new","config":{"connector.class":"FakeSource","tasks.max":1,"fake.secret":"pw","topic":"t"}}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/connectors/new" {
					t.Errorf("Location %q", loc)
				}
				e.waitState("new", connect.StateRunning, 1)
			}},
		{name: "create paused", method: "POST", path: "/connectors", code: 201, golden: "create_paused",
			body:  `{"name":"np","config":{"connector.class":"com.example.FakeSinkConnector","topics":"a,b"},"initial_state":"PAUSED"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) { e.waitState("np", connect.StatePaused, 1) }},
		{name: "create conflict", method: "POST", path: "/connectors", code: 409, golden: "create_conflict",
			body: `{"name":"src","config":{"connector.class":"FakeSource"}}`},
		{name: "create invalid", method: "POST", path: "/connectors", code: 400, golden: "create_invalid",
			body: `{"name":"bad","config":{"connector.class":"FakeSink","tasks.max":"0"}}`},
		{name: "create no class", method: "POST", path: "/connectors", code: 400, golden: "create_no_class",
			body: `{"name":"bad","config":{"tasks.max":"1"}}`},
		{name: "create unknown class", method: "POST", path: "/connectors", code: 400, golden: "create_unknown_class",
			body: `{"name":"bad","config":{"connector.class":"org.example.Nope"}}`},
		{name: "create no name", method: "POST", path: "/connectors", code: 400, golden: "create_no_name",
			body: `{"config":{"connector.class":"FakeSource"}}`},
		{name: "create bad json", method: "POST", path: "/connectors", code: 400, golden: "create_bad_json", body: `{"name":`},
		{name: "info", method: "GET", path: "/connectors/src", code: 200, golden: "info"},
		{name: "info not found", method: "GET", path: "/connectors/nope", code: 404, golden: "not_found"},
		{name: "config", method: "GET", path: "/connectors/src/config", code: 200, golden: "config"},
		{name: "config put update", method: "PUT", path: "/connectors/src/config", code: 200, golden: "config_put_update",
			body: `{"connector.class":"FakeSourceConnector","connection.password":"[hidden]","fake.secret":"[hidden]","topic":"orders2","fake.tasks":"2"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				e.waitState("src", connect.StateRunning, 2)
				cfg, _ := e.r.ConnectorConfig("src")
				if cfg["connection.password"] != "s3cret" || cfg["fake.secret"] != "xyz" || cfg["topic"] != "orders2" {
					t.Errorf("config %v", cfg)
				}
			}},
		{name: "config put create", method: "PUT", path: "/connectors/new/config", code: 201, golden: "config_put_create",
			body: `{"connector.class":"FakeSink","topics.regex":"orders-.*"}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "/connectors/new" {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "config put name mismatch", method: "PUT", path: "/connectors/src/config", code: 400, golden: "config_put_name_mismatch",
			body: `{"connector.class":"FakeSource","name":"other"}`},
		{name: "config patch", method: "PATCH", path: "/connectors/src/config", code: 200, golden: "config_patch",
			body:  `{"fake.tasks":"2","topic":null}`,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) { e.waitState("src", connect.StateRunning, 2) }},
		{name: "config patch not found", method: "PATCH", path: "/connectors/nope/config", code: 404, golden: "not_found", body: `{"a":"b"}`},
		{name: "status source", method: "GET", path: "/connectors/src/status", code: 200, golden: "status_source"},
		{name: "status sink", method: "GET", path: "/connectors/snk/status", code: 200, golden: "status_sink"},
		{name: "status failed", method: "GET", path: "/connectors/bad/status", code: 200, golden: "status_failed",
			setup: func(t *testing.T, e *env) {
				if err := e.r.CreateConnector("bad", srcConfig("fake.fail", "disk full"), ""); err != nil {
					t.Fatal(err)
				}
				e.waitState("bad", connect.StateFailed, 1)
			}},
		{name: "status build failed", method: "GET", path: "/connectors/bad/status", code: 200, golden: "status_build_failed",
			setup: func(t *testing.T, e *env) {
				if err := e.r.CreateConnector("bad", srcConfig("fake.build.fail", "cannot open /data"), ""); err != nil {
					t.Fatal(err)
				}
				e.waitState("bad", connect.StateFailed, 0)
			}},
		{name: "status stopped", method: "GET", path: "/connectors/src/status", code: 200, golden: "status_stopped", setup: stopConnector("src")},
		{name: "status paused", method: "GET", path: "/connectors/snk/status", code: 200, golden: "status_paused",
			setup: func(t *testing.T, e *env) {
				if err := e.r.Pause("snk"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "status not found", method: "GET", path: "/connectors/nope/status", code: 404, golden: "not_found"},
		{name: "tasks", method: "GET", path: "/connectors/src/tasks", code: 200, golden: "tasks"},
		{name: "tasks stopped", method: "GET", path: "/connectors/src/tasks", code: 200, golden: "tasks_stopped", setup: stopConnector("src")},
		{name: "task status", method: "GET", path: "/connectors/snk/tasks/0/status", code: 200, golden: "task_status"},
		{name: "task status not found", method: "GET", path: "/connectors/src/tasks/5/status", code: 404, golden: "task_status_not_found"},
		{name: "task status bad id", method: "GET", path: "/connectors/src/tasks/x/status", code: 404, golden: "path_not_found"},
		{name: "restart", method: "POST", path: "/connectors/src/restart", code: 204,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				// Kafka Connect's legacy restart: the connector only, its
				// tasks untouched (a pipeline without
				// connect.ConnectorRestarter keeps running as it is).
				if b, r := e.f.Builds("src"), e.f.Runs("src"); b != 1 || r != 1 {
					t.Fatalf("builds %d runs %d after a connector-only restart, want 1 and 1", b, r)
				}
				rep := e.waitState("src", connect.StateRunning, 1)
				if rep.Restarts != 0 || rep.Tasks[0].Restarts != 0 {
					t.Fatalf("restarts %d, task restarts %d: want the tasks untouched", rep.Restarts, rep.Tasks[0].Restarts)
				}
			}},
		{name: "restart include tasks", method: "POST", path: "/connectors/src/restart?includeTasks=true", code: 202, golden: "restart_include_tasks"},
		{name: "restart only failed, none failed", method: "POST", path: "/connectors/src/restart?includeTasks=true&onlyFailed=true", code: 202, golden: "restart_only_failed_none"},
		{name: "restart only failed", method: "POST", path: "/connectors/bad/restart?includeTasks=true&onlyFailed=true", code: 202, golden: "restart_only_failed",
			setup: func(t *testing.T, e *env) {
				if err := e.r.CreateConnector("bad", srcConfig("fake.fail", "disk full"), ""); err != nil {
					t.Fatal(err)
				}
				e.waitState("bad", connect.StateFailed, 1)
			}},
		// Jersey's Boolean: anything but "true" (any case) is false.
		{name: "restart non-boolean query", method: "POST", path: "/connectors/src/restart?includeTasks=yes&onlyFailed=1", code: 204},
		{name: "restart not found", method: "POST", path: "/connectors/nope/restart", code: 404, golden: "not_found"},
		{name: "task restart", method: "POST", path: "/connectors/src/tasks/0/restart", code: 204},
		{name: "task restart not found", method: "POST", path: "/connectors/src/tasks/3/restart", code: 404, golden: "task_restart_not_found"},
		{name: "pause", method: "PUT", path: "/connectors/src/pause", code: 202,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) { e.waitState("src", connect.StatePaused, 1) }},
		{name: "resume", method: "PUT", path: "/connectors/src/resume", code: 202},
		{name: "stop", method: "PUT", path: "/connectors/src/stop", code: 204,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if rep, _ := e.r.Status("src"); rep.State != connect.StateStopped {
					t.Errorf("state %s", rep.State)
				}
			}},
		{name: "pause not found", method: "PUT", path: "/connectors/nope/pause", code: 404, golden: "not_found"},
		{name: "delete", method: "DELETE", path: "/connectors/src", code: 204,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if got := strings.Join(e.r.Connectors(), ","); got != "snk" {
					t.Errorf("connectors %s", got)
				}
			}},
		{name: "delete not found", method: "DELETE", path: "/connectors/nope", code: 404, golden: "not_found"},
		{name: "offsets get", method: "GET", path: "/connectors/src/offsets", code: 200, golden: "offsets_get", setup: seedSourceOffsets},
		{name: "offsets get sink", method: "GET", path: "/connectors/snk/offsets", code: 200, golden: "offsets_get_sink", setup: seedSinkOffsets},
		{name: "offsets get empty", method: "GET", path: "/connectors/src/offsets", code: 200, golden: "offsets_get_empty"},
		{name: "offsets patch running", method: "PATCH", path: "/connectors/src/offsets", code: 400, golden: "offsets_patch_running",
			body: `{"offsets":[{"partition":{"filename":"a.txt"},"offset":{"position":5}}]}`},
		{name: "offsets patch", method: "PATCH", path: "/connectors/src/offsets", code: 200, golden: "offsets_patch",
			body:  `{"offsets":[{"partition":{"filename":"a.txt"},"offset":{"position":5}},{"partition":{"filename":"b.txt"},"offset":null}]}`,
			setup: func(t *testing.T, e *env) { seedSourceOffsets(t, e); stopConnector("src")(t, e) },
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				checkGolden(t, "offsets_after_patch", do(e.r.Handler(), "GET", "/connectors/src/offsets", "").Body.Bytes())
			}},
		{name: "offsets patch empty", method: "PATCH", path: "/connectors/src/offsets", code: 400, golden: "offsets_patch_empty",
			body: `{"offsets":[]}`, setup: stopConnector("src")},
		{name: "offsets patch nested", method: "PATCH", path: "/connectors/src/offsets", code: 400, golden: "offsets_patch_nested",
			body: `{"offsets":[{"partition":{"filename":"a.txt"},"offset":{"position":{"line":5}}}]}`, setup: stopConnector("src")},
		{name: "offsets patch sink", method: "PATCH", path: "/connectors/snk/offsets", code: 200, golden: "offsets_patch",
			body:  `{"offsets":[{"partition":{"kafka_topic":"orders","kafka_partition":0},"offset":{"kafka_offset":7}}]}`,
			setup: stopConnector("snk")},
		{name: "offsets patch sink bad", method: "PATCH", path: "/connectors/snk/offsets", code: 400, golden: "offsets_patch_sink_bad",
			body: `{"offsets":[{"partition":{"topic":"orders","partition":0},"offset":{"kafka_offset":7}}]}`, setup: stopConnector("snk")},
		{name: "offsets delete running", method: "DELETE", path: "/connectors/src/offsets", code: 400, golden: "offsets_delete_running"},
		{name: "offsets delete", method: "DELETE", path: "/connectors/src/offsets", code: 200, golden: "offsets_delete",
			setup: func(t *testing.T, e *env) { seedSourceOffsets(t, e); stopConnector("src")(t, e) },
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				checkGolden(t, "offsets_get_empty", do(e.r.Handler(), "GET", "/connectors/src/offsets", "").Body.Bytes())
			}},
		{name: "offsets not found", method: "GET", path: "/connectors/nope/offsets", code: 404, golden: "not_found"},
		{name: "plugins", method: "GET", path: "/connector-plugins", code: 200, golden: "plugins"},
		{name: "plugins connectors only", method: "GET", path: "/connector-plugins?connectorsOnly=true", code: 200, golden: "plugins"},
		{name: "plugin config", method: "GET", path: "/connector-plugins/FakeSink/config", code: 200, golden: "plugin_config"},
		{name: "plugin config unknown", method: "GET", path: "/connector-plugins/Nope/config", code: 404, golden: "plugin_config_unknown"},
		{name: "validate", method: "PUT", path: "/connector-plugins/FakeSinkConnector/config/validate", code: 200, golden: "validate",
			body: `{"connector.class":"com.example.FakeSinkConnector","name":"v","tasks.max":"x","fake.tasks":"9","fake.secret":"pw","errors.tolerance":"some"}`},
		{name: "validate ok", method: "PUT", path: "/connector-plugins/FakeSource/config/validate", code: 200, golden: "validate_ok",
			body: `{"name":"v","connection.password":"pw"}`},
		{name: "validate mismatch", method: "PUT", path: "/connector-plugins/FakeSource/config/validate", code: 400, golden: "validate_mismatch",
			body: `{"connector.class":"FakeSink","name":"v"}`},
		{name: "validate unknown", method: "PUT", path: "/connector-plugins/Nope/config/validate", code: 404, golden: "validate_unknown",
			body: `{"name":"v"}`},
		{name: "unknown path", method: "GET", path: "/nope", code: 404, golden: "path_not_found"},
		{name: "method not allowed", method: "DELETE", path: "/connectors", code: 405, golden: "method_not_allowed",
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder) {
				if a := w.Header().Get("Allow"); a != "GET, POST" {
					t.Errorf("Allow %q", a)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := restEnv(t, !c.notStarted)
			if c.setup != nil {
				c.setup(t, e)
			}
			w := do(e.r.Handler(), c.method, c.path, c.body)
			if w.Code != c.code {
				t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, w.Code, c.code, w.Body)
			}
			if c.golden == "" {
				if w.Body.Len() != 0 {
					t.Errorf("body %q, want none", w.Body)
				}
			} else {
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				checkGolden(t, c.golden, w.Body.Bytes())
			}
			if c.check != nil {
				c.check(t, e, w)
			}
		})
	}
}

// No response shows a secret value.
func TestRESTMasksPasswordsEverywhere(t *testing.T) {
	e := restEnv(t, true)
	h := e.r.Handler()
	for _, p := range []string{"/connectors/src", "/connectors/src/config", "/connectors/src/tasks", "/connectors?expand=info&expand=status"} {
		w := do(h, "GET", p, "")
		if strings.Contains(w.Body.String(), "s3cret") || strings.Contains(w.Body.String(), "xyz") {
			t.Errorf("GET %s shows a secret: %s", p, w.Body)
		}
	}
	for _, req := range [][3]string{
		{"PUT", "/connectors/src/config", `{"connector.class":"FakeSource","connection.password":"s3cret","fake.secret":"xyz"}`},
		{"PATCH", "/connectors/src/config", `{"fake.secret":"xyz"}`},
		{"POST", "/connectors", `{"name":"n","config":{"connector.class":"FakeSource","connection.password":"s3cret"}}`},
		{"PUT", "/connector-plugins/FakeSource/config/validate", `{"connection.password":"s3cret","fake.secret":"xyz"}`},
	} {
		w := do(h, req[0], req[1], req[2])
		if w.Code >= 300 || strings.Contains(w.Body.String(), "s3cret") || strings.Contains(w.Body.String(), "xyz") {
			t.Errorf("%s %s: %d %s", req[0], req[1], w.Code, w.Body)
		}
	}
}

// Connector names with spaces and slashes work when percent-encoded.
func TestRESTEncodedNames(t *testing.T) {
	e := newEnv(t, runner.Config{}).start()
	h := e.r.Handler()
	if w := do(h, "POST", "/connectors", `{"name":"my src/1","config":{"connector.class":"FakeSource"}}`); w.Code != 201 || w.Header().Get("Location") != "/connectors/my%20src%2F1" {
		t.Fatalf("create: %d %s %q", w.Code, w.Body, w.Header().Get("Location"))
	}
	e.waitState("my src/1", connect.StateRunning, 1)
	if w := do(h, "GET", "/connectors/my%20src%2F1/status", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"my src/1"`) {
		t.Fatalf("status: %d %s", w.Code, w.Body)
	}
	if w := do(h, "HEAD", "/connectors", ""); w.Code != 200 {
		t.Fatalf("HEAD: %d", w.Code)
	}
}

// TestRootReportsVersion: with Config.Version and Commit unset, GET /
// reports runner.Version() (the build information's), in Kafka Connect's
// ServerInfo shape.
func TestRootReportsVersion(t *testing.T) {
	e := newEnv(t, runner.Config{KafkaClusterID: "cluster-1"})
	w := do(e.r.Handler(), http.MethodGet, "/", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d %s", w.Code, w.Body)
	}
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	v, c := runner.Version()
	if v == "" || c == "" {
		t.Fatalf("Version() = (%q, %q): want both set", v, c)
	}
	want := map[string]string{"version": v, "commit": c, "kafka_cluster_id": "cluster-1"}
	if len(got) != len(want) || got["version"] != v || got["commit"] != c || got["kafka_cluster_id"] != "cluster-1" {
		t.Errorf("GET / = %v, want %v", got, want)
	}
}
