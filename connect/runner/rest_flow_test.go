package runner_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
)

// curl runs a curl command line (the options -s, -X, -H, -d and a URL are
// understood, as curl does: -d without -X is a POST with curl's default
// form content type) against the server, returning status and body.
func curl(t *testing.T, srv *httptest.Server, cmd string) (int, string) {
	t.Helper()
	args := splitArgs(cmd)
	if len(args) == 0 || args[0] != "curl" {
		t.Fatalf("not a curl command: %s", cmd)
	}
	method, body, target := "", "", ""
	header := http.Header{}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s", "--silent":
		case "-X", "--request":
			i++
			method = args[i]
		case "-H", "--header":
			i++
			k, v, _ := strings.Cut(args[i], ":")
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data":
			i++
			body = args[i]
			if header.Get("Content-Type") == "" {
				header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		default:
			if strings.HasPrefix(a, "-") {
				t.Fatalf("unsupported curl option %s", a)
			}
			target = strings.Replace(a, "localhost:8083", strings.TrimPrefix(srv.URL, "http://"), 1)
			if !strings.HasPrefix(target, "http") {
				target = "http://" + target
			}
		}
	}
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// splitArgs splits a shell command line with single-quoted arguments.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func stateOf(t *testing.T, body string) (conn string, tasks []string) {
	t.Helper()
	var st struct {
		Connector struct {
			State string `json:"state"`
		} `json:"connector"`
		Tasks []struct {
			State string `json:"state"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status body %q: %v", body, err)
	}
	for _, ts := range st.Tasks {
		tasks = append(tasks, ts.State)
	}
	return st.Connector.State, tasks
}

// The curl flows of a Kafka Connect runbook work verbatim against the
// handler served over HTTP: list, status, restart task 0, pause, resume,
// config PUT restarting only that connector, plugins, offsets GET/PATCH/
// DELETE refused while RUNNING and accepted while STOPPED, delete.
func TestRESTCurlFlows(t *testing.T) {
	e := restEnv(t, true)
	seedSinkOffsets(t, e)
	srv := httptest.NewServer(e.r.Handler())
	defer srv.Close()
	run := func(cmd string, wantCode int) string {
		t.Helper()
		code, body := curl(t, srv, cmd)
		if code != wantCode {
			t.Fatalf("%s: status %d, want %d; body %s", cmd, code, wantCode, body)
		}
		return body
	}
	waitStatus := func(name, want string) {
		t.Helper()
		eventually(t, name+" "+want, func() bool {
			c, ts := stateOf(t, run("curl -s localhost:8083/connectors/"+name+"/status", 200))
			return c == want && len(ts) > 0 && ts[0] == want
		})
	}

	if body := run("curl -s localhost:8083/connectors", 200); body != `["snk","src"]` {
		t.Fatalf("list: %s", body)
	}
	waitStatus("src", "RUNNING")

	run("curl -s -X POST localhost:8083/connectors/src/tasks/0/restart", 204)
	eventually(t, "task restart", func() bool { return e.f.Builds("src") == 2 })
	waitStatus("src", "RUNNING")

	run("curl -s -X PUT localhost:8083/connectors/src/pause", 202)
	waitStatus("src", "PAUSED")
	run("curl -s -X PUT localhost:8083/connectors/src/resume", 202)
	waitStatus("src", "RUNNING")

	// A config PUT restarts that connector only (curl's default form
	// content type is accepted, as people forget the -H).
	run(`curl -s -X PUT -H 'Content-Type: application/json' -d '{"connector.class":"FakeSource","tasks.max":"1","fake.tasks":"2"}' localhost:8083/connectors/src/config`, 200)
	eventually(t, "src rebuilt", func() bool { return e.f.Builds("src") == 3 })
	waitStatus("src", "RUNNING")
	run(`curl -s -X PUT -d '{"connector.class":"FakeSource","tasks.max":"1","fake.tasks":"1"}' localhost:8083/connectors/src/config`, 200)
	eventually(t, "src rebuilt", func() bool { return e.f.Builds("src") == 4 })
	if e.f.Runs("snk") != 1 || e.f.Builds("snk") != 1 {
		t.Fatalf("snk restarted: runs %d builds %d", e.f.Runs("snk"), e.f.Builds("snk"))
	}

	if body := run("curl -s localhost:8083/connector-plugins", 200); !strings.Contains(body, `"class":"com.example.FakeSinkConnector"`) {
		t.Fatalf("plugins: %s", body)
	}

	// Offsets: readable any time, changed only while STOPPED.
	if body := run("curl -s localhost:8083/connectors/snk/offsets", 200); !strings.Contains(body, `"kafka_offset":40`) {
		t.Fatalf("offsets: %s", body)
	}
	patch := `curl -s -X PATCH -H 'Content-Type: application/json' -d '{"offsets":[{"partition":{"kafka_topic":"orders","kafka_partition":0},"offset":{"kafka_offset":5}}]}' localhost:8083/connectors/snk/offsets`
	if body := run(patch, 400); !strings.Contains(body, "STOPPED") {
		t.Fatalf("patch while running: %s", body)
	}
	run("curl -s -X DELETE localhost:8083/connectors/snk/offsets", 400)
	run("curl -s -X PUT localhost:8083/connectors/snk/stop", 204)
	if c, ts := stateOf(t, run("curl -s localhost:8083/connectors/snk/status", 200)); c != "STOPPED" || len(ts) != 0 {
		t.Fatalf("after stop: %s %v", c, ts)
	}
	if body := run(patch, 200); body != `{"message":"The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."}` {
		t.Fatalf("patch: %s", body)
	}
	if body := run("curl -s localhost:8083/connectors/snk/offsets", 200); !strings.Contains(body, `"kafka_offset":5`) {
		t.Fatalf("offsets after patch: %s", body)
	}
	if body := run("curl -s -X DELETE localhost:8083/connectors/snk/offsets", 200); body != `{"message":"The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."}` {
		t.Fatalf("reset: %s", body)
	}
	if body := run("curl -s localhost:8083/connectors/snk/offsets", 200); body != `{"offsets":[]}` {
		t.Fatalf("offsets after reset: %s", body)
	}
	run("curl -s -X PUT localhost:8083/connectors/snk/resume", 202)
	waitStatus("snk", "RUNNING")

	run("curl -s -X DELETE localhost:8083/connectors/src", 204)
	if body := run("curl -s localhost:8083/connectors", 200); body != `["snk"]` {
		t.Fatalf("list after delete: %s", body)
	}
	run("curl -s localhost:8083/connectors/src/status", 404)
	if rep, _ := e.r.Status("snk"); rep.State != connect.StateRunning || e.f.Runs("snk") != 2 {
		t.Fatalf("snk: %s runs %d", rep.State, e.f.Runs("snk"))
	}
}
