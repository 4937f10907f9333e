package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
)

// The secrets of these tests: none may appear in a REST body or a log line.
const (
	cpSecret1 = "pw-from-file-1"
	cpSecret2 = "pw-from-file-2"
	cpEnv     = "env-secret-value"
	cpDir     = "dir-secret-value"
	cpWorker  = "worker-secret-value"
	cpVault   = "vault-secret-value"
)

// listerPipe is a fake pipeline that reports its (resolved) configuration
// as its task configuration, as source and sink pipelines do.
type listerPipe struct {
	*fakePipe
}

func (p *listerPipe) TaskConfigs() []map[string]string {
	return []map[string]string{maps.Clone(p.config)}
}

// cpEnvWith returns a started Runner whose worker declares Kafka's three
// providers (and a vault class), with a recording source plugin "CpSource"
// whose pipelines list their task configurations; workers receives each
// build's worker properties.
func cpEnvWith(t *testing.T, worker map[string]string, cfg runner.Config, workers *[]map[string]string) *env {
	t.Helper()
	cfg.Worker = worker
	e := newEnv(t, cfg)
	var mu sync.Mutex
	if err := e.r.Register(connect.Plugin{
		Class: "com.example.CpSourceConnector", Type: connect.TypeSource,
		New: func(_ context.Context, w, c map[string]string) (connect.Pipeline, error) {
			mu.Lock()
			*workers = append(*workers, w)
			mu.Unlock()
			p, err := e.f.build(c["name"], connect.TypeSource, c)
			if err != nil {
				return nil, err
			}
			return &listerPipe{p.(*fakePipe)}, nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	return e.start()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkNoSecret fails if text shows one of the tests' secrets.
func checkNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{cpSecret1, cpSecret2, cpEnv, cpDir, cpWorker, cpVault} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
}

// Kafka's file, env and dir providers declared in the worker properties
// resolve the connector's (and the worker's) references at build time; a
// reference nothing resolves stays as written; REST shows the references,
// never the values; a restart reads the file again.
func TestConfigProvidersResolveAtEveryBuild(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	writeFile(t, secrets, "db.password="+cpSecret1+"\nworker.token="+cpWorker+"\n")
	secretsDir := filepath.Join(dir, "k8s")
	if err := os.Mkdir(secretsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secretsDir, "api-key"), cpDir)
	t.Setenv("SLUICE_RUNNER_CP_TEST", cpEnv)

	var logs syncBuffer
	var workers []map[string]string
	e := cpEnvWith(t, map[string]string{
		"config.providers":                        "file,env,dir",
		"config.providers.file.class":             configprovider.FileClass,
		"config.providers.env.class":              configprovider.EnvVarClass,
		"config.providers.dir.class":              configprovider.DirectoryClass,
		"producer.override.client.secret.pointer": "${file:" + secrets + ":worker.token}",
	}, runner.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &workers)

	raw := map[string]string{
		"connector.class":     "com.example.CpSourceConnector",
		"connection.password": "${file:" + secrets + ":db.password}",
		"connection.user":     "app-${env:SLUICE_RUNNER_CP_TEST}",
		"api.key":             "${dir:" + secretsDir + ":api-key}",
		"unknown.provider":    "${vault:secret/db:password}",
		"unknown.key":         "${file:" + secrets + ":absent}",
	}
	if err := e.r.CreateConnector("a", raw, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	got := e.f.Pipe("a").config
	for k, want := range map[string]string{
		"connection.password": cpSecret1,
		"connection.user":     "app-" + cpEnv,
		"api.key":             cpDir,
		"unknown.provider":    raw["unknown.provider"],
		"unknown.key":         raw["unknown.key"],
	} {
		if got[k] != want {
			t.Errorf("built with %s=%q, want %q", k, got[k], want)
		}
	}
	if w := workers[0]["producer.override.client.secret.pointer"]; w != cpWorker {
		t.Errorf("worker property built as %q, want the file's value", w)
	}

	h := e.r.Handler()
	for _, path := range []string{"/connectors/a/config", "/connectors/a", "/connectors/a/tasks", "/connectors/a/status", "/connectors?expand=info&expand=status"} {
		w := do(h, "GET", path, "")
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		checkNoSecret(t, "GET "+path, w.Body.String())
		if path != "/connectors/a/status" && !strings.Contains(w.Body.String(), `${dir:`+secretsDir+`:api-key}`) {
			t.Errorf("GET %s does not show the reference as written: %s", path, w.Body)
		}
	}
	if c, _ := e.r.ConnectorConfig("a"); c["connection.password"] != raw["connection.password"] {
		t.Errorf("ConnectorConfig shows %q, want the reference", c["connection.password"])
	}

	// A restart resolves again.
	writeFile(t, secrets, "db.password="+cpSecret2+"\nworker.token="+cpWorker+"\n")
	if _, err := e.r.Restart("a", runner.RestartOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rebuild", func() bool { return e.f.Builds("a") == 2 })
	e.waitState("a", connect.StateRunning, 1)
	if got := e.f.Pipe("a").config["connection.password"]; got != cpSecret2 {
		t.Errorf("after the restart, built with %q, want the file's new value", got)
	}
	checkNoSecret(t, "the logs", logs.String())
}

// Errors and failure traces mention neither a resolved secret nor the
// value; a failed lookup names the connector, the key and the provider.
func TestConfigProviderSecretsStayOutOfStatusAndLogs(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	writeFile(t, secrets, "pw="+cpSecret1+"\n")
	var logs syncBuffer
	var workers []map[string]string
	e := cpEnvWith(t, map[string]string{
		"config.providers":            "file",
		"config.providers.file.class": configprovider.FileClass,
	}, runner.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &workers)
	h := e.r.Handler()

	// The task fails with a message quoting the secret, and the build of
	// another one does.
	if err := e.r.CreateConnector("runfail", map[string]string{
		"connector.class": "com.example.CpSourceConnector", "fake.fail": "failed while using ${file:" + secrets + ":pw}",
	}, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.r.CreateConnector("buildfail", map[string]string{
		"connector.class": "com.example.CpSourceConnector", "fake.build.fail": "failed while using ${file:" + secrets + ":pw}",
	}, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("runfail", connect.StateFailed, 1)
	e.waitState("buildfail", connect.StateFailed, 0)
	for _, name := range []string{"runfail", "buildfail"} {
		w := do(h, "GET", "/connectors/"+name+"/status", "")
		if !strings.Contains(w.Body.String(), "failed while using "+runner.MaskedValue) {
			t.Errorf("%s status does not show the masked failure: %s", name, w.Body)
		}
		checkNoSecret(t, name+" status", w.Body.String())
	}

	// A file that cannot be read fails the connector with an error naming
	// the connector, the key and the provider.
	missing := filepath.Join(dir, "missing.properties")
	if err := e.r.CreateConnector("nofile", map[string]string{
		"connector.class": "com.example.CpSourceConnector", "connection.password": "${file:" + missing + ":pw}",
	}, ""); err != nil {
		t.Fatal(err)
	}
	rep := e.waitState("nofile", connect.StateFailed, 0)
	var re *configprovider.ResolveError
	if !errors.As(rep.Err, &re) || re.Key != "connection.password" || re.Provider != "file" {
		t.Fatalf("status error %v: want a ResolveError for connection.password and provider file", rep.Err)
	}
	for _, want := range []string{"connector nofile", "connection.password", `"file"`, missing} {
		if !strings.Contains(rep.Err.Error(), want) {
			t.Errorf("error %q does not name %s", rep.Err, want)
		}
	}
	checkNoSecret(t, "the logs", logs.String())
}

// A provider written in Go, given in Config.ConfigProviders or as a class
// in Config.ConfigProviderClasses, is used.
func TestGoConfigProviders(t *testing.T) {
	vault := configprovider.ProviderFunc(func(_ context.Context, path string, keys []string) (map[string]string, error) {
		if path != "secret/db" {
			return nil, errors.New("no such path")
		}
		return map[string]string{"password": cpVault}, nil
	})
	var params map[string]string
	var workers []map[string]string
	e := cpEnvWith(t, map[string]string{
		"config.providers":                  "kms",
		"config.providers.kms.class":        "com.example.KmsConfigProvider",
		"config.providers.kms.param.region": "eu-1",
	}, runner.Config{
		ConfigProviders: map[string]configprovider.Provider{"vault": vault},
		ConfigProviderClasses: map[string]configprovider.Factory{
			"com.example.KmsConfigProvider": func(p map[string]string) (configprovider.Provider, error) {
				params = p
				return configprovider.ProviderFunc(func(_ context.Context, path string, keys []string) (map[string]string, error) {
					return map[string]string{"key": "kms-" + path}, nil
				}), nil
			},
		},
	}, &workers)
	if params["region"] != "eu-1" {
		t.Errorf("class parameters %v, want region=eu-1", params)
	}
	if err := e.r.CreateConnector("a", map[string]string{
		"connector.class": "com.example.CpSourceConnector",
		"db.password":     "${vault:secret/db:password}",
		"kms.key":         "${kms:k1:key}",
	}, ""); err != nil {
		t.Fatal(err)
	}
	e.waitState("a", connect.StateRunning, 1)
	if c := e.f.Pipe("a").config; c["db.password"] != cpVault || c["kms.key"] != "kms-k1" {
		t.Errorf("built with %v", c)
	}
	checkNoSecret(t, "GET /connectors/a/tasks", do(e.r.Handler(), "GET", "/connectors/a/tasks", "").Body.String())
}

func TestNewRejectsBadConfigProviders(t *testing.T) {
	_, err := runner.New(runner.Config{Worker: map[string]string{
		"config.providers": "file", "config.providers.file.class": "com.example.Nope",
	}})
	if err == nil || !strings.Contains(err.Error(), "config.providers.file.class") {
		t.Fatalf("got %v, want an error naming config.providers.file.class", err)
	}
}

// Validation sees the resolved values, as Kafka Connect's does, but shows
// the references as written and masks the values in its messages.
func TestConfigProvidersValidateResolvedValues(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	writeFile(t, secrets, "tasks=2\nbad="+cpSecret1+"\n")
	var workers []map[string]string
	e := cpEnvWith(t, map[string]string{
		"config.providers":            "file",
		"config.providers.file.class": configprovider.FileClass,
	}, runner.Config{}, &workers)

	ref := "${file:" + secrets + ":tasks}"
	if err := e.r.CreateConnector("a", srcConfig("fake.tasks", ref), ""); err != nil {
		t.Fatalf("a reference to a valid value: %v", err)
	}
	e.waitState("a", connect.StateRunning, 2)

	v, err := e.r.ValidateConfig(fakeSourceClass, srcConfig("fake.tasks", ref))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Configs {
		if c.Key.Name == "fake.tasks" && (c.Value != ref || len(c.Errors) != 0) {
			t.Errorf("fake.tasks validated as %q with errors %v, want the reference and none", c.Value, c.Errors)
		}
	}

	err = e.r.CreateConnector("b", srcConfig("fake.tasks", "${file:"+secrets+":bad}"), "")
	if !errors.Is(err, runner.ErrInvalidConfig) || !strings.Contains(err.Error(), "fake.tasks") {
		t.Fatalf("a reference to an invalid value: got %v, want ErrInvalidConfig naming fake.tasks", err)
	}
	checkNoSecret(t, "the validation error", err.Error())
	w := do(e.r.Handler(), "PUT", "/connector-plugins/FakeSource/config/validate", `{"fake.tasks":"${file:`+secrets+`:bad}"}`)
	if !strings.Contains(w.Body.String(), `Invalid value [hidden] for configuration fake.tasks`) {
		t.Errorf("validate: want fake.tasks's error with the value masked: %s", w.Body)
	}
	checkNoSecret(t, "PUT /connector-plugins/FakeSource/config/validate", w.Body.String())
}
