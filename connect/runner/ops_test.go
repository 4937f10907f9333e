package runner_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// topicPipe is a fake pipeline that tracks active topics
// (connect.TopicTracker); the test says which topics it saw.
type topicPipe struct {
	*fakePipe
	tmu    sync.Mutex
	topics []string
}

func (p *topicPipe) see(topic string) {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	if !slices.Contains(p.topics, topic) {
		p.topics = append(p.topics, topic)
	}
}

func (p *topicPipe) ActiveTopics() []string {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	return append([]string{}, p.topics...)
}

func (p *topicPipe) ResetActiveTopics() {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	p.topics = nil
}

// topicEnv runs a Runner with a topic-tracking Go pipeline "tp"; current
// returns its latest incarnation.
func topicEnv(t *testing.T, cfg runner.Config) (e *env, current func() *topicPipe) {
	t.Helper()
	e = newEnv(t, cfg)
	var mu sync.Mutex
	var last *topicPipe
	build := func(ctx context.Context) (connect.Pipeline, error) {
		p, err := e.f.build("tp", connect.TypeSink, nil)
		if err != nil {
			return nil, err
		}
		tp := &topicPipe{fakePipe: p.(*fakePipe)}
		mu.Lock()
		last = tp
		mu.Unlock()
		return tp, nil
	}
	if err := e.r.AddPipeline("tp", nil, build); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitState("tp", connect.StateRunning, 1)
	return e, func() *topicPipe {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// wantResponse checks a response's code and exact body.
func wantResponse(t *testing.T, w interface {
	Result() *http.Response
}, code int, body string) {
	t.Helper()
	res := w.Result()
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if res.StatusCode != code || b.String() != body {
		t.Errorf("got %d %s\nwant %d %s", res.StatusCode, b.String(), code, body)
	}
}

func TestRESTActiveTopics(t *testing.T) {
	e, current := topicEnv(t, runner.Config{})
	h := e.r.Handler()
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":[]}}`)
	current().see("orders")
	current().see("payments")
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":["orders","payments"]}}`)
	wantResponse(t, do(h, "GET", "/connectors/tp/topics/", ""), 200, `{"tp":{"topics":["orders","payments"]}}`)

	// Kept over a restart of the pipeline (a new incarnation knows none).
	first := current()
	first.see("late") // not read before the restart: kept by the fold
	if _, err := e.r.Restart("tp", runner.RestartOptions{IncludeTasks: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new incarnation", func() bool { return current() != first })
	e.waitState("tp", connect.StateRunning, 1)
	current().see("refunds")
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":["orders","payments","late","refunds"]}}`)

	// ... and while STOPPED.
	if err := e.r.Stop(context.Background(), "tp"); err != nil {
		t.Fatal(err)
	}
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":["orders","payments","late","refunds"]}}`)
	if err := e.r.Resume("tp"); err != nil {
		t.Fatal(err)
	}
	e.waitState("tp", connect.StateRunning, 1)

	// Reset forgets the saved topics and the running incarnation's.
	wantResponse(t, do(h, "PUT", "/connectors/tp/topics/reset", ""), 202, ``)
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":[]}}`)
	current().see("audit")
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":["audit"]}}`)

	// Unknown connectors: no existence check, as Kafka Connect's herder.
	wantResponse(t, do(h, "GET", "/connectors/nope/topics", ""), 200, `{"nope":{"topics":[]}}`)
	wantResponse(t, do(h, "PUT", "/connectors/nope/topics/reset", ""), 202, ``)
	wantResponse(t, do(h, "POST", "/connectors/tp/topics", ""), 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`)
	wantResponse(t, do(h, "GET", "/connectors/tp/topics/reset", ""), 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`)
	// Kafka Connect 4.x has no /tasks-config.
	wantResponse(t, do(h, "GET", "/connectors/tp/tasks-config", ""), 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`)

	// Deleting the connector drops its topics.
	if err := e.r.Remove(context.Background(), "tp"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.AddPipeline("tp", nil, e.f.goBuilder("tp", connect.TypeSink, nil)); err != nil {
		t.Fatal(err)
	}
	wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), 200, `{"tp":{"topics":[]}}`)
}

func TestRESTActiveTopicsDisabled(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cfg                runner.Config
		getCode, resetCode int
		getBody, resetBody string
	}{
		{name: "tracking off (typed)", cfg: runner.Config{DisableTopicTracking: true},
			getCode: 403, getBody: `{"error_code":403,"message":"Topic tracking is disabled."}`,
			resetCode: 403, resetBody: `{"error_code":403,"message":"Topic tracking is disabled."}`},
		{name: "tracking off (property)", cfg: runner.Config{Worker: map[string]string{"topic.tracking.enable": "FALSE"}},
			getCode: 403, getBody: `{"error_code":403,"message":"Topic tracking is disabled."}`,
			resetCode: 403, resetBody: `{"error_code":403,"message":"Topic tracking is disabled."}`},
		{name: "reset off (typed)", cfg: runner.Config{DisableTopicTrackingReset: true},
			getCode: 200, getBody: `{"tp":{"topics":["orders"]}}`,
			resetCode: 403, resetBody: `{"error_code":403,"message":"Topic tracking reset is disabled."}`},
		{name: "reset off (property)", cfg: runner.Config{Worker: map[string]string{"topic.tracking.allow.reset": " false"}},
			getCode: 200, getBody: `{"tp":{"topics":["orders"]}}`,
			resetCode: 403, resetBody: `{"error_code":403,"message":"Topic tracking reset is disabled."}`},
		{name: "both on (property)", cfg: runner.Config{Worker: map[string]string{"topic.tracking.enable": "true", "topic.tracking.allow.reset": "True"}},
			getCode: 200, getBody: `{"tp":{"topics":["orders"]}}`, resetCode: 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, current := topicEnv(t, tc.cfg)
			current().see("orders")
			h := e.r.Handler()
			wantResponse(t, do(h, "GET", "/connectors/tp/topics", ""), tc.getCode, tc.getBody)
			wantResponse(t, do(h, "PUT", "/connectors/tp/topics/reset", ""), tc.resetCode, tc.resetBody)
		})
	}
}

func TestConfigValidateTopicTracking(t *testing.T) {
	for _, k := range []string{"topic.tracking.enable", "topic.tracking.allow.reset"} {
		cfg := runner.Config{Worker: map[string]string{k: "yes"}}
		want := "Invalid value yes for configuration " + k + ": Expected value to be either true or false"
		if err := cfg.Validate(); err == nil || err.Error() != want {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
		if _, err := runner.New(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New() = %v, want an error containing %q", err, want)
		}
	}
	if err := (runner.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: Validate() = %v", err)
	}
}

// TestRESTQueryBooleansAsJersey: boolean query parameters read as
// Jersey's Boolean (only "true", any case, is true; never a 400), so that
// kafka-connect-py's capitalised True/False work.
func TestRESTQueryBooleansAsJersey(t *testing.T) {
	e := restEnv(t, true)
	h := e.r.Handler()
	for _, q := range []string{"includeTasks=False&onlyFailed=False", "includeTasks=yes", "includeTasks=1&onlyFailed=on", "includeTasks="} {
		if w := do(h, "POST", "/connectors/src/restart?"+q, ""); w.Code != 204 || w.Body.Len() != 0 {
			t.Errorf("?%s: %d %s, want 204 (a connector-only restart)", q, w.Code, w.Body)
		}
		e.waitState("src", connect.StateRunning, 1)
	}
	for _, q := range []string{"includeTasks=True&onlyFailed=False", "includeTasks=TRUE"} {
		if w := do(h, "POST", "/connectors/src/restart?"+q, ""); w.Code != 202 {
			t.Errorf("?%s: %d %s, want 202", q, w.Code, w.Body)
		}
		e.waitState("src", connect.StateRunning, 1)
	}
}

// alterPipe is a fake pipeline whose connector takes part in offsets
// requests (connect.ConnectorOffsetsAlterer).
type alterPipe struct {
	*fakePipe
	managed bool
	err     error
	mu2     *sync.Mutex
	asked   *[][]connect.OffsetEntry
}

func (p *alterPipe) AlterConnectorOffsets(_ context.Context, entries []connect.OffsetEntry) (bool, error) {
	p.mu2.Lock()
	defer p.mu2.Unlock()
	*p.asked = append(*p.asked, entries)
	return p.managed, p.err
}

func TestRESTOffsetsMessages(t *testing.T) {
	const patch = `{"offsets":[{"partition":{"filename":"a.txt"},"offset":{"position":7}}]}`
	const (
		altered          = `{"message":"The offsets for this connector have been altered successfully"}`
		reset            = `{"message":"The offsets for this connector have been reset successfully"}`
		alteredFramework = `{"message":"The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."}`
		resetFramework   = `{"message":"The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."}`
	)
	for _, tc := range []struct {
		name               string
		hook               bool
		managed            bool
		err                error
		patchCode, delCode int
		patchBody, delBody string
	}{
		{name: "no hook", patchCode: 200, patchBody: alteredFramework, delCode: 200, delBody: resetFramework},
		{name: "framework-managed", hook: true, patchCode: 200, patchBody: alteredFramework, delCode: 200, delBody: resetFramework},
		{name: "connector-managed", hook: true, managed: true, patchCode: 200, patchBody: altered, delCode: 200, delBody: reset},
		{name: "connector refuses", hook: true, err: errors.New("Partition objects should contain the key 'filename'"),
			patchCode: 500, patchBody: `{"error_code":500,"message":"Partition objects should contain the key 'filename'"}`,
			delCode: 500, delBody: `{"error_code":500,"message":"Partition objects should contain the key 'filename'"}`},
		{name: "unsupported", hook: true, err: errors.ErrUnsupported,
			patchCode: 500, patchBody: `{"error_code":500,"message":"Failed to modify offsets for connector ap because it doesn't support external modification of offsets"}`,
			delCode: 500, delBody: `{"error_code":500,"message":"Failed to modify offsets for connector ap because it doesn't support external modification of offsets"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, runner.Config{})
			var mu sync.Mutex
			var asked [][]connect.OffsetEntry
			build := func(ctx context.Context) (connect.Pipeline, error) {
				p, err := e.f.build("ap", connect.TypeSource, nil)
				if err != nil || !tc.hook {
					return p, err
				}
				return &alterPipe{fakePipe: p.(*fakePipe), managed: tc.managed, err: tc.err, mu2: &mu, asked: &asked}, nil
			}
			if err := e.r.AddPipeline("ap", nil, build); err != nil {
				t.Fatal(err)
			}
			e.start()
			e.waitState("ap", connect.StateRunning, 1)
			if err := e.r.Stop(context.Background(), "ap"); err != nil {
				t.Fatal(err)
			}
			e.f.mu.Lock()
			seed := connect.OffsetEntry{Partition: map[string]any{"filename": "b.txt"}, Offset: map[string]any{"position": int64(3)}}
			e.f.offsets["ap"][partitionKey(seed.Partition)] = seed
			e.f.mu.Unlock()
			h := e.r.Handler()
			wantResponse(t, do(h, "PATCH", "/connectors/ap/offsets", patch), tc.patchCode, tc.patchBody)
			wantResponse(t, do(h, "DELETE", "/connectors/ap/offsets", ""), tc.delCode, tc.delBody)
			offs, err := e.r.Offsets(context.Background(), "ap")
			if err != nil {
				t.Fatal(err)
			}
			if tc.err != nil {
				// Refused: the store is unchanged.
				if len(offs) != 1 || offs[0].Partition["filename"] != "b.txt" {
					t.Errorf("offsets after a refusal: %v", offs)
				}
			} else if len(offs) != 0 {
				t.Errorf("offsets after reset: %v", offs)
			}
			if !tc.hook {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// The connector saw the alter request, then the reset of every
			// committed partition with a nil offset.
			if len(asked) != 2 || len(asked[0]) != 1 || asked[0][0].Offset["position"] != int64(7) || len(asked[1]) == 0 {
				t.Fatalf("connector asked %v", asked)
			}
			for _, r := range asked[1] {
				if r.Offset != nil {
					t.Errorf("reset entry with an offset: %v", r)
				}
			}
		})
	}
}

// panicAlterPipe's connector hook panics.
type panicAlterPipe struct{ *fakePipe }

func (p *panicAlterPipe) AlterConnectorOffsets(context.Context, []connect.OffsetEntry) (bool, error) {
	panic("connector bug")
}

// TestRESTOffsetsConnectorHookPanics: a panic in the connector's offsets
// hook is connector code failing: a 500 naming it, the store unchanged, the
// Runner (and the process) fine.
func TestRESTOffsetsConnectorHookPanics(t *testing.T) {
	e := newEnv(t, runner.Config{})
	build := func(ctx context.Context) (connect.Pipeline, error) {
		p, err := e.f.build("pp", connect.TypeSource, nil)
		if err != nil {
			return nil, err
		}
		return &panicAlterPipe{p.(*fakePipe)}, nil
	}
	if err := e.r.AddPipeline("pp", nil, build); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitState("pp", connect.StateRunning, 1)
	if err := e.r.Stop(context.Background(), "pp"); err != nil {
		t.Fatal(err)
	}
	h := e.r.Handler()
	for _, req := range [][2]string{{"PATCH", `{"offsets":[{"partition":{"filename":"a.txt"},"offset":{"position":7}}]}`}, {"DELETE", ""}} {
		w := do(h, req[0], "/connectors/pp/offsets", req[1])
		if w.Code != 500 || !strings.Contains(w.Body.String(), "AlterOffsets panicked: connector bug") {
			t.Errorf("%s offsets with a panicking hook: %d %s, want 500 naming the panic", req[0], w.Code, w.Body)
		}
	}
}
