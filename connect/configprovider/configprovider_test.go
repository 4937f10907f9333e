package configprovider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect/configprovider"
)

func fromProps(t *testing.T, props map[string]string) map[string]configprovider.Provider {
	t.Helper()
	ps, err := configprovider.FromProperties(props, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestBuiltinProvidersResolve(t *testing.T) {
	dir := t.TempDir()
	propsFile := filepath.Join(dir, "secrets.properties")
	if err := os.WriteFile(propsFile, []byte("db.password=s3cr3t-file\nuser = alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretsDir := filepath.Join(dir, "k8s")
	if err := os.Mkdir(secretsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretsDir, "token"), []byte("tok-from-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_CP_TEST_SECRET", "env-value")

	ps := fromProps(t, map[string]string{
		"config.providers":            "file, env,dir",
		"config.providers.file.class": configprovider.FileClass,
		"config.providers.env.class":  configprovider.EnvVarClass,
		"config.providers.dir.class":  configprovider.DirectoryClass,
	})
	config := map[string]string{
		"connection.password": "${file:" + propsFile + ":db.password}",
		"connection.url":      "postgres://${file:" + propsFile + ":user}@host/${env:SLUICE_CP_TEST_SECRET}",
		"token":               "${dir:" + secretsDir + ":token}",
		"plain":               "no variables",
		"unknown.provider":    "${vault:secret/db:password}",
		"unknown.key":         "${file:" + propsFile + ":nope}",
		"missing.dir":         "${dir:" + filepath.Join(dir, "absent") + ":token}",
		"unset.env":           "${env:SLUICE_CP_TEST_UNSET}",
	}
	got, values, err := configprovider.Resolve(context.Background(), ps, config)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"connection.password": "s3cr3t-file",
		"connection.url":      "postgres://alice@host/env-value",
		"token":               "tok-from-dir\n",
		"plain":               "no variables",
		// Kafka's ConfigTransformer leaves what it cannot resolve as written.
		"unknown.provider": "${vault:secret/db:password}",
		"unknown.key":      config["unknown.key"],
		"missing.dir":      config["missing.dir"],
		"unset.env":        "${env:SLUICE_CP_TEST_UNSET}",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if w := []string{"alice", "env-value", "s3cr3t-file", "tok-from-dir\n"}; !slices.Equal(values, w) {
		t.Errorf("substituted values %q, want %q", values, w)
	}
	if config["connection.password"] != "${file:"+propsFile+":db.password}" {
		t.Error("Resolve modified its input")
	}
}

func TestEnvVarAllowlistAndPath(t *testing.T) {
	t.Setenv("SLUICE_CP_ALLOWED", "yes")
	t.Setenv("SLUICE_CP_DENIED", "no")
	ps := fromProps(t, map[string]string{
		"config.providers":                             "env",
		"config.providers.env.class":                   configprovider.EnvVarClass,
		"config.providers.env.param.allowlist.pattern": "SLUICE_CP_ALLOW.*",
	})
	got, _, err := configprovider.Resolve(context.Background(), ps, map[string]string{
		"a": "${env:SLUICE_CP_ALLOWED}", "d": "${env:SLUICE_CP_DENIED}",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "yes" || got["d"] != "${env:SLUICE_CP_DENIED}" {
		t.Errorf("got %v: want the allowed variable resolved and the other left as written", got)
	}
	_, _, err = configprovider.Resolve(context.Background(), ps, map[string]string{"k": "${env:some/path:SLUICE_CP_ALLOWED}"})
	var re *configprovider.ResolveError
	if !errors.As(err, &re) || re.Key != "k" || re.Provider != "env" {
		t.Fatalf("a path in an env reference: got %v, want a ResolveError naming k and env", err)
	}
}

func TestFileAllowedPaths(t *testing.T) {
	dir := t.TempDir()
	inside := filepath.Join(dir, "ok", "a.properties")
	outside := filepath.Join(dir, "b.properties")
	_ = os.Mkdir(filepath.Dir(inside), 0o700)
	for _, f := range []string{inside, outside} {
		if err := os.WriteFile(f, []byte("k=v\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ps := fromProps(t, map[string]string{
		"config.providers":                          "file",
		"config.providers.file.class":               configprovider.FileClass,
		"config.providers.file.param.allowed.paths": filepath.Join(dir, "ok"),
	})
	got, _, err := configprovider.Resolve(context.Background(), ps, map[string]string{
		"in": "${file:" + inside + ":k}", "out": "${file:" + outside + ":k}", "dotdot": "${file:" + filepath.Join(dir, "ok", "..", "b.properties") + ":k}",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["in"] != "v" || got["out"] != "${file:"+outside+":k}" || strings.HasPrefix(got["dotdot"], "v") {
		t.Errorf("got %v: want only the file under allowed.paths read", got)
	}
}

func TestProviderErrorNamesKeyNotValue(t *testing.T) {
	dir := t.TempDir()
	ps := fromProps(t, map[string]string{"config.providers": "file", "config.providers.file.class": configprovider.FileClass})
	_, _, err := configprovider.Resolve(context.Background(), ps, map[string]string{"db.password": "${file:" + filepath.Join(dir, "missing") + ":pw}"})
	var re *configprovider.ResolveError
	if !errors.As(err, &re) || re.Key != "db.password" || re.Provider != "file" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a ResolveError for db.password, provider file, wrapping not-exist", err)
	}
	// A malformed file's error must not quote its content.
	bad := filepath.Join(dir, "bad.properties")
	if err := os.WriteFile(bad, []byte("pw=topsecret\\u12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = configprovider.Resolve(context.Background(), ps, map[string]string{"db.password": "${file:" + bad + ":pw}"})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("malformed file: got %v, want an error that does not quote the file", err)
	}
}

func TestCustomProviderAndOneLookupPerPath(t *testing.T) {
	var calls [][]string
	vault := configprovider.ProviderFunc(func(_ context.Context, path string, keys []string) (map[string]string, error) {
		calls = append(calls, append([]string{path}, keys...))
		return map[string]string{"user": "u-" + path, "password": "p-" + path}, nil
	})
	ps, err := configprovider.FromProperties(map[string]string{
		"config.providers":                     "vault",
		"config.providers.vault.class":         "com.example.VaultConfigProvider",
		"config.providers.vault.param.address": "https://vault:8200",
	}, map[string]configprovider.Factory{
		"com.example.VaultConfigProvider": func(params map[string]string) (configprovider.Provider, error) {
			if params["address"] != "https://vault:8200" {
				t.Errorf("params %v: want address", params)
			}
			return vault, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := configprovider.Resolve(context.Background(), ps, map[string]string{
		"a": "${vault:db:user}:${vault:db:password}", "b": "${vault:db:user}",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "u-db:p-db" || got["b"] != "u-db" {
		t.Errorf("got %v", got)
	}
	if len(calls) != 1 || !slices.Equal(calls[0], []string{"db", "user", "password"}) && !slices.Equal(calls[0], []string{"db", "password", "user"}) {
		t.Errorf("calls %v: want one lookup of path db for both keys", calls)
	}
}

func TestFromPropertiesErrors(t *testing.T) {
	_, err := configprovider.FromProperties(map[string]string{
		"config.providers":         "a,b",
		"config.providers.b.class": "com.example.Nope",
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "config.providers.a.class") || !strings.Contains(err.Error(), "config.providers.b.class") {
		t.Fatalf("got %v, want errors naming both class keys", err)
	}
	ps, err := configprovider.FromProperties(map[string]string{}, nil)
	if err != nil || len(ps) != 0 {
		t.Fatalf("no config.providers: got %v, %v", ps, err)
	}
}
