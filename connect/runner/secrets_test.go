package runner_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
)

// The secrets of the per-surface tests: a clear password key, a password
// inside a clear sasl.jaas.config, a value a config provider supplies, and
// the worker's own sasl.jaas.config password.
const (
	secPlain  = "plain-pw-4821"
	secJaas   = "jaas-pw-7734"
	secFile   = "file-pw-5512"
	secWorker = "worker-pw-9901"
	leakClass = "com.example.LeakyConnector"
)

// noSecret fails if text shows one of the per-surface secrets or its
// base64 form.
func noSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{secPlain, secJaas, secFile, secWorker} {
		if strings.Contains(text, s) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
}

// leakyPipe is a fake pipeline whose offsets listing fails with an error
// quoting its configuration's password, and that lists its (resolved)
// configuration as its task configuration.
type leakyPipe struct{ *fakePipe }

func (p *leakyPipe) ListOffsets(context.Context) ([]connect.OffsetEntry, error) {
	return nil, fmt.Errorf("listing offsets as %s: %w", p.config["connection.password"], errors.New("refused"))
}

func (p *leakyPipe) TaskConfigs() []map[string]string { return []map[string]string{p.config} }

// secretsEnv returns a started Runner logging JSON at debug level into
// logs, whose worker holds a sasl.jaas.config and the file provider, with
// the plugin LeakyConnector: its builder logs through the logger it gets
// everything it was given, and its Validate echoes the password when
// fake.echo is set. It returns the connector configuration to create.
func secretsEnv(t *testing.T, logs *syncBuffer) (*env, map[string]string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "secrets.properties")
	writeFile(t, file, "pw="+secFile+"\n")
	e := newEnv(t, runner.Config{
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Worker: map[string]string{
			"config.providers":            "file",
			"config.providers.file.class": configprovider.FileClass,
			"sasl.jaas.config":            `org.apache.kafka.common.security.scram.ScramLoginModule required username="w" password="` + secWorker + `";`,
		},
	})
	if err := e.r.Register(connect.Plugin{
		Class: leakClass, Type: connect.TypeSource, PasswordKeys: []string{"fake.token"},
		New: func(ctx context.Context, worker, c map[string]string) (connect.Pipeline, error) {
			log := connect.ContextLogger(ctx)
			log.Debug("building with "+c["fake.token"], "config", c, "worker", worker, "token", c["fake.token"],
				"error", fmt.Errorf("dial: %w", errors.New("password "+c["connection.password"]+" refused")),
				"bytes", []byte(c["fake.token"]), slog.Group("g", "jaas", c["producer.override.sasl.jaas.config"]))
			p, err := e.f.build(c["name"], connect.TypeSource, c)
			if err != nil {
				return nil, err
			}
			return &leakyPipe{p.(*fakePipe)}, nil
		},
		Validate: func(c map[string]string) []connect.ConfigIssue {
			if c["fake.echo"] == "" {
				return nil
			}
			return []connect.ConfigIssue{{Key: "fake.echo", Message: "cannot log in with " + c["connection.password"] + ", " + c["fake.token"] + " or " + c["producer.override.sasl.jaas.config"]}}
		},
	}); err != nil {
		t.Fatal(err)
	}
	return e.start(), map[string]string{
		"connector.class":                    leakClass,
		"connection.password":                secPlain,
		"producer.override.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="` + secJaas + `";`,
		"fake.token":                         "${file:" + file + ":pw}",
		"fake.fail":                          "login with " + secPlain + ", " + secJaas + ", ${file:" + file + ":pw} and " + secWorker + " refused",
	}
}

// TestSecretsMaskedInPipelineLogs: every line the pipeline's builder logs
// through connect.ContextLogger (message, strings, maps, errors, bytes,
// groups) and every line the Runner logs about the connector (its failure
// included) has the secrets masked.
func TestSecretsMaskedInPipelineLogs(t *testing.T) {
	var logs syncBuffer
	e, config := secretsEnv(t, &logs)
	if err := e.r.CreateConnector("leaky", config, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("leaky", connect.StateFailed, 1)
	// The Runner logs the failure once the pipeline's Run returned, which
	// may be just after its status shows FAILED.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(logs.String(), `"msg":"connector failed"`); {
		time.Sleep(5 * time.Millisecond)
	}
	out := logs.String()
	noSecret(t, "the logs", out)
	for _, want := range []string{`"msg":"building with [hidden]"`, `password [hidden] refused`, `"msg":"connector failed"`, `"g":{"jaas":"[hidden]"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %s:\n%s", want, out)
		}
	}
}

// TestSecretsMaskedInReports: the Runner's reports (Err, a task's Err,
// LastFailure, StallError) and their traces, and the REST status bodies,
// show the secrets masked; the reported error still wraps its cause.
func TestSecretsMaskedInReports(t *testing.T) {
	var logs syncBuffer
	e, config := secretsEnv(t, &logs)
	if err := e.r.CreateConnector("leaky", config, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("leaky", connect.StateFailed, 1)
	e.f.Pipe("leaky").SetTask(0, func(ts *connect.TaskStatus) {
		ts.LastFailure = fmt.Errorf("last: %w", errors.New("with "+secFile))
		ts.StallError = fmt.Errorf("stall: %w", errors.New("with "+secJaas))
	})
	rep, err := e.r.Status("leaky")
	if err != nil {
		t.Fatal(err)
	}
	task := rep.Tasks[0]
	for what, text := range map[string]string{
		"Err":              rep.Err.Error(),
		"trace":            runner.ErrorTrace(rep.Err),
		"task Err":         task.Err.Error(),
		"task trace":       runner.ErrorTrace(task.Err),
		"task LastFailure": runner.ErrorTrace(task.LastFailure),
		"task StallError":  runner.ErrorTrace(task.StallError),
	} {
		noSecret(t, what, text)
		if !strings.Contains(text, runner.MaskedValue) {
			t.Errorf("%s shows no mask: %s", what, text)
		}
	}
	if !strings.Contains(runner.ErrorTrace(rep.Err), "\nCaused by: *errors.errorString: login with [hidden]") {
		t.Errorf("the trace lost its causes: %s", runner.ErrorTrace(rep.Err))
	}
	if errors.Unwrap(rep.Err) == nil {
		t.Error("the reported error does not wrap its cause")
	}
	h := e.r.Handler()
	for _, path := range []string{"/connectors/leaky/status", "/connectors/leaky/tasks/0/status", "/connectors?expand=status"} {
		w := do(h, "GET", path, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), runner.MaskedValue) {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
		noSecret(t, "GET "+path, w.Body.String())
	}
}

// TestSecretsMaskedInRESTResponses: config, info, the expanded listing,
// tasks and validate show "[hidden]" for password values, the reference
// as written for a value that is only a reference, and masked secrets in
// validation messages; sending GET config's body back keeps every secret.
func TestSecretsMaskedInRESTResponses(t *testing.T) {
	var logs syncBuffer
	e, config := secretsEnv(t, &logs)
	delete(config, "fake.fail")
	if err := e.r.CreateConnector("leaky", config, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("leaky", connect.StateRunning, 1)
	h := e.r.Handler()
	bodies := map[string]string{}
	for _, path := range []string{"/connectors/leaky/config", "/connectors/leaky", "/connectors?expand=info&expand=status", "/connectors/leaky/tasks"} {
		w := do(h, "GET", path, "")
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		bodies[path] = w.Body.String()
		noSecret(t, "GET "+path, w.Body.String())
		if !strings.Contains(w.Body.String(), `"connection.password":"[hidden]"`) ||
			!strings.Contains(w.Body.String(), `"producer.override.sasl.jaas.config":"[hidden]"`) ||
			!strings.Contains(w.Body.String(), `"fake.token":"${file:`) {
			t.Errorf("GET %s: want passwords hidden and the reference shown:\n%s", path, w.Body)
		}
	}

	// Validate: the plugin's message quotes the secrets.
	v := config
	v["fake.echo"] = "true"
	body, _ := json.Marshal(v)
	w := do(h, "PUT", "/connector-plugins/"+leakClass+"/config/validate", string(body))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "cannot log in with [hidden], [hidden] or") {
		t.Errorf("validate: %d %s", w.Code, w.Body)
	}
	noSecret(t, "validate", w.Body.String())
	// Creating it fails with the same, masked, message.
	w = do(h, "PUT", "/connectors/echo/config", string(body))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "cannot log in with [hidden]") {
		t.Errorf("PUT an invalid config: %d %s", w.Code, w.Body)
	}
	noSecret(t, "PUT an invalid config", w.Body.String())

	// GET config's body sent back keeps the secrets and changes nothing.
	builds := e.f.Builds("leaky")
	w = do(h, "PUT", "/connectors/leaky/config", bodies["/connectors/leaky/config"])
	if w.Code != 200 {
		t.Fatalf("PUT the GET body: %d %s", w.Code, w.Body)
	}
	if c, _ := e.r.ConnectorConfig("leaky"); c["connection.password"] != secPlain || !strings.Contains(c["producer.override.sasl.jaas.config"], secJaas) {
		t.Errorf("PUT of the masked config lost the secrets: %v", c)
	}
	if e.f.Builds("leaky") != builds {
		t.Error("PUT of the unchanged (masked) config restarted the connector")
	}
}

// TestSecretsMaskedInAPIErrors: an error the pipeline returns through the
// Runner's API (here ListOffsets) has the secrets masked, in Go and in
// REST, and still wraps its cause.
func TestSecretsMaskedInAPIErrors(t *testing.T) {
	var logs syncBuffer
	e, config := secretsEnv(t, &logs)
	delete(config, "fake.fail")
	if err := e.r.CreateConnector("leaky", config, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("leaky", connect.StateRunning, 1)
	_, err := e.r.Offsets(context.Background(), "leaky")
	if err == nil || !strings.Contains(err.Error(), "listing offsets as [hidden]") {
		t.Fatalf("Offsets: %v", err)
	}
	noSecret(t, "Offsets' error", err.Error())
	if errors.Unwrap(err) == nil {
		t.Error("the error does not wrap its cause")
	}
	w := do(e.r.Handler(), "GET", "/connectors/leaky/offsets", "")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "[hidden]") {
		t.Errorf("GET offsets: %d %s", w.Code, w.Body)
	}
	noSecret(t, "GET offsets", w.Body.String())
}
