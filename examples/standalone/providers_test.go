package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// TestConfigProviders: connector files with ${file:…}, ${env:…} and
// ${dir:…} references (Kafka's providers, declared in the worker file) copy
// a file through Kafka; the REST API shows the references as written, and
// neither REST nor the logs show a resolved secret.
func TestConfigProviders(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 1, nil)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, lines(0, 50), 0o644); err != nil {
		t.Fatal(err)
	}
	const token = "tok-7f3a9c-secret"
	secrets := writeFile(t, dir, "secrets.properties", "source.file="+in, "api.token="+token)
	secretDir := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretDir, "sink-file"), []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_STANDALONE_CP_TOPIC", topic)

	workerFile := writeFile(t, dir, "worker.properties", workerProps(brokers,
		"offset.storage.file.filename="+filepath.Join(dir, "offsets"),
		"config.providers=file,env,dir",
		"config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
		"config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		"config.providers.env.param.allowlist.pattern=SLUICE_STANDALONE_CP_.*",
		"config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider",
	)...)
	sourceFile := writeFile(t, dir, "source.properties",
		"name=cp-source",
		"connector.class=FileStreamSource",
		"file=${file:"+secrets+":source.file}",
		"topic=${env:SLUICE_STANDALONE_CP_TOPIC}",
		"api.token=${file:"+secrets+":api.token}")
	sinkFile := writeFile(t, dir, "sink.properties",
		"name=cp-sink",
		"connector.class=FileStreamSink",
		"file=${dir:"+secretDir+":sink-file}",
		"topics="+topic)

	logs := &syncBuffer{}
	rw := startWorkerLogging(t, io.MultiWriter(logs, logOutput()), workerFile, sourceFile, sinkFile)
	w, stop := rw.w, rw.stop
	waitForFile(t, out, lines(0, 50))

	base := "http://" + w.restAddrs()[0]
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) string {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		return string(b)
	}
	for _, path := range []string{"/connectors/cp-source/config", "/connectors/cp-source/tasks", "/connectors/cp-source", "/connectors/cp-sink/config"} {
		body := get(path)
		for _, secret := range []string{token, in, out} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows the resolved value %q: %s", path, secret, body)
			}
		}
	}
	if body := get("/connectors/cp-source/config"); !strings.Contains(body, `"api.token":"${file:`+secrets+`:api.token}"`) ||
		!strings.Contains(body, `"topic":"${env:SLUICE_STANDALONE_CP_TOPIC}"`) {
		t.Errorf("GET /connectors/cp-source/config does not show the references as written: %s", body)
	}
	stop()
	if strings.Contains(logs.String(), token) {
		t.Errorf("the logs show the secret:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "${file:"+secrets+":api.token}") {
		t.Errorf("the logs do not show the connector's configuration as written:\n%s", logs)
	}
}

// TestConfigProvidersErrors: bad provider declarations fail the worker,
// naming the file and key; an unreadable secrets file fails the connector,
// naming its file, the key and the provider.
func TestConfigProvidersErrors(t *testing.T) {
	dir := t.TempDir()
	offsets := "offset.storage.file.filename=" + filepath.Join(dir, "offsets")
	providers := []string{"config.providers=file", "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider"}
	good := writeFile(t, dir, "good.properties", append([]string{"bootstrap.servers=127.0.0.1:1", offsets, "listeners="}, providers...)...)
	source := writeFile(t, dir, "source.properties", "name=src", "connector.class=FileStreamSource", "file=in.txt", "topic=t")
	missing := filepath.Join(dir, "missing.properties")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown class", []string{writeFile(t, dir, "w1.properties", offsets, "config.providers=vault", "config.providers.vault.class=com.example.Vault"), source},
			exitWorker, []string{"w1.properties", "config.providers.vault.class", "com.example.Vault"}},
		{"unreadable file in the worker", []string{writeFile(t, dir, "w2.properties", append([]string{offsets, "producer.sasl.password=${file:" + missing + ":pw}"}, providers...)...), source},
			exitWorker, []string{"w2.properties", "producer.sasl.password", `"file"`, missing}},
		{"unreadable file in a connector", []string{good, writeFile(t, dir, "c1.properties", "name=c1", "connector.class=FileStreamSource", "topic=t", "file=${file:"+missing+":in}")},
			exitConnector, []string{"c1.properties", "file", `"file"`, missing}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, c.args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if got := exitCode(err); got != c.code {
				t.Errorf("exit code %d, want %d (%v)", got, c.code, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
