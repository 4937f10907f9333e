package runner_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/configprovider"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// The SASL run's passwords: the worker's (its producer.* and consumer.*
// sasl.jaas.config), one read with ${file:…}, one in a clear
// consumer.override.sasl.jaas.config, and a wrong one.
const (
	saslAdminPW = "adm1n-sasl-pw"
	saslFilePW  = "f1le-sasl-pw"
	saslClearPW = "cl3ar-sasl-pw"
	saslWrongPW = "wr0ng-sasl-pw"
	saslTopic   = "sasl-secrets-in"
	saslDLQ     = "sasl-secrets-dlq"
)

func scramJAAS(user, pw string) string {
	return `org.apache.kafka.common.security.scram.ScramLoginModule required username="` + user + `" password="` + pw + `";`
}

// saslSource is a source task: it sends "r0".."r9" and "poison" once
// (task 0 of a connector), and fails to start when fail.start is set, with
// an error quoting its sasl.jaas.config.
type saslSource struct {
	cfg  map[string]string
	sent bool
}

func (s *saslSource) Start(_ context.Context, tc source.TaskContext) error {
	s.cfg = tc.Config()
	if s.cfg["fail.start"] != "" {
		return fmt.Errorf("upstream refused the login %s", s.cfg["producer.override.sasl.jaas.config"])
	}
	return nil
}

func (s *saslSource) Poll(ctx context.Context) ([]connect.Record, error) {
	if s.sent {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	s.sent = true
	var out []connect.Record
	for i := range 11 {
		v := fmt.Sprintf("r%d", i)
		if i == 10 {
			v = "poison"
		}
		out = append(out, connect.Record{
			Topic: s.cfg["topic"], Value: v, ValueSchema: connect.StringSchema,
			SourcePartition: map[string]any{"p": "0"}, SourceOffset: map[string]any{"o": int64(i)},
		})
	}
	return out, nil
}

func (s *saslSource) Stop(context.Context) error { return nil }

// saslSink is a sink task: it counts the records it takes and reports
// "poison" as errant with an error quoting its sasl.jaas.config.
type saslSink struct {
	tc sink.TaskContext
	n  *atomic.Int64
}

func (s *saslSink) Start(_ context.Context, tc sink.TaskContext) error { s.tc = tc; return nil }

func (s *saslSink) Put(ctx context.Context, recs []connect.Record) error {
	for i := range recs {
		if fmt.Sprint(recs[i].Value) == "poison" {
			err := fmt.Errorf("delivering: %w", fmt.Errorf("the target refused %s", s.tc.Config()["consumer.override.sasl.jaas.config"]))
			if rerr := s.tc.Report(ctx, &recs[i], err); rerr != nil {
				return rerr
			}
			continue
		}
		s.n.Add(1)
	}
	return nil
}

func (s *saslSink) Stop(context.Context) error { return nil }

// TestSecretsNeverLeaveSASLRun is issue #17's acceptance line: a SASL
// (SCRAM-SHA-512) run whose passwords come from a ${file:…} reference, a
// clear consumer.override.sasl.jaas.config and the worker's properties,
// driven through every surface — delivery, a record sent to the
// dead-letter queue with an error quoting the secret, a task failing with
// such an error, a connector with a wrong password, and a GET of every REST
// endpoint plus validate — shows none of the passwords, nor their base64
// forms, in any log line (debug level, the pipelines' included), REST
// body or dead-letter queue header. The in-process broker only: the shared
// real broker has no SASL listener.
func TestSecretsNeverLeaveSASLRun(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, saslTopic), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "admin", saslAdminPW),
		kfake.Superuser("SCRAM-SHA-512", "conn-file", saslFilePW),
		kfake.Superuser("SCRAM-SHA-512", "conn-clear", saslClearPW))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets.properties")
	writeFile(t, secretsFile, "pw="+saslFilePW+"\n")
	fileJAAS := scramJAAS("conn-file", "${file:"+secretsFile+":pw}")

	worker := map[string]string{
		"bootstrap.servers":            strings.Join(brokers, ","),
		"key.converter":                "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":              "org.apache.kafka.connect.storage.StringConverter",
		"offset.storage.file.filename": filepath.Join(dir, "offsets"),
		"offset.flush.interval.ms":     "100",
		"config.providers":             "file",
		"config.providers.file.class":  configprovider.FileClass,
	}
	for _, p := range []string{"producer.", "consumer."} {
		worker[p+"security.protocol"] = "SASL_PLAINTEXT"
		worker[p+"sasl.mechanism"] = "SCRAM-SHA-512"
		worker[p+"sasl.jaas.config"] = scramJAAS("admin", saslAdminPW)
	}
	var logs syncBuffer
	r, err := runner.New(runner.Config{
		Worker: worker, WorkerID: "w1:sluice",
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	var delivered atomic.Int64
	const srcClass, sinkClass = "com.example.SaslSourceConnector", "com.example.SaslSinkConnector"
	for _, p := range []connect.Plugin{
		source.Plugin(source.PluginConfig{Class: srcClass, NewTask: func() source.Task { return &saslSource{} }}),
		sink.Plugin(sink.PluginConfig{Class: sinkClass, NewTask: func() sink.Task { return &saslSink{n: &delivered} }}),
	} {
		if err := r.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("Run did not return within 60 s")
		}
	}()

	configs := map[string]map[string]string{
		// The source's password comes from the file.
		"src-file": {"connector.class": srcClass, "topic": saslTopic,
			"producer.override.sasl.jaas.config": fileJAAS},
		// The sink's is in clear; it sends the poison record to the DLQ.
		"snk-clear": {"connector.class": sinkClass, "topics": saslTopic,
			"consumer.override.sasl.jaas.config":              scramJAAS("conn-clear", saslClearPW),
			"errors.tolerance":                                "all",
			"errors.log.enable":                               "true",
			"errors.log.include.messages":                     "true",
			"errors.deadletterqueue.topic.name":               saslDLQ,
			"errors.deadletterqueue.topic.replication.factor": "1",
			"errors.deadletterqueue.context.headers.enable":   "true"},
		// A task failing with an error quoting the file's password.
		"src-fail": {"connector.class": srcClass, "topic": saslTopic, "fail.start": "true",
			"producer.override.sasl.jaas.config": fileJAAS},
		// A wrong password: authentication fails.
		"src-wrong": {"connector.class": srcClass, "topic": saslTopic,
			"producer.override.sasl.jaas.config": scramJAAS("conn-clear", saslWrongPW)},
	}
	for name, cfg := range configs {
		if err := r.CreateConnector(name, cfg, ""); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}

	// Delivery: the ten good records reach the sink; the poison one the DLQ.
	deadline := 120 * time.Second
	waitUntil(t, deadline, "the sink's ten records", func() bool { return delivered.Load() >= 10 })
	dlq := consumeSASL(t, brokers, saslDLQ, 1, deadline)[0]
	var headers []string
	for _, h := range dlq.Headers {
		headers = append(headers, string(h.Key)+"="+string(h.Value))
	}
	if !strings.Contains(strings.Join(headers, "\n"), "__connect.errors.exception.message=delivering: the target refused "+runner.MaskedValue) {
		t.Errorf("the DLQ record's headers lack the masked error:\n%s", strings.Join(headers, "\n"))
	}

	// The failing task and the wrong password.
	taskFailed := func(name string) func() bool {
		return func() bool {
			rep, err := r.Status(name)
			return err == nil && len(rep.Tasks) == 1 && rep.Tasks[0].State == connect.StateFailed
		}
	}
	waitUntil(t, deadline, "src-fail's task FAILED", taskFailed("src-fail"))
	// Kafka Connect's producer fails on an authentication error; Sluice's
	// task fails, or reports the stall with the broker's error.
	waitUntil(t, deadline, "src-wrong's task failure or stall", func() bool {
		rep, err := r.Status("src-wrong")
		return err == nil && len(rep.Tasks) == 1 && (rep.Tasks[0].Err != nil || rep.Tasks[0].StallError != nil)
	})
	rep, _ := r.Status("src-fail")
	if trace := runner.ErrorTrace(rep.Tasks[0].Err); !strings.Contains(trace, "upstream refused the login") || !strings.Contains(trace, runner.MaskedValue) {
		t.Errorf("src-fail's task error: %s", trace)
	}
	rep, _ = r.Status("src-wrong")
	t.Logf("src-wrong's task: %s, error %v, stall %v", rep.Tasks[0].State, rep.Tasks[0].Err, rep.Tasks[0].StallError)

	// Every REST endpoint.
	h := r.Handler()
	var bodies []string
	get := func(method, path, body string) {
		w := do(h, method, path, body)
		if w.Code >= 300 && !(strings.HasSuffix(path, "/offsets") && w.Code == 400) {
			t.Errorf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		bodies = append(bodies, method+" "+path+" → "+w.Body.String())
	}
	get("GET", "/", "")
	get("GET", "/health", "")
	get("GET", "/connectors", "")
	get("GET", "/connectors?expand=status&expand=info", "")
	get("GET", "/connector-plugins", "")
	for _, class := range []string{srcClass, sinkClass} {
		get("GET", "/connector-plugins/"+url.PathEscape(class)+"/config", "")
	}
	for name, cfg := range configs {
		for _, p := range []string{"", "/config", "/status", "/tasks", "/tasks/0/status", "/offsets"} {
			get("GET", "/connectors/"+name+p, "")
		}
		body, _ := json.Marshal(cfg)
		get("PUT", "/connector-plugins/"+url.PathEscape(cfg["connector.class"])+"/config/validate", string(body))
	}
	// A configuration update sending GET config's body back (passwords
	// "[hidden]") keeps the clear password: the sink still delivers.
	w := do(h, "GET", "/connectors/snk-clear/config", "")
	bodies = append(bodies, "GET /connectors/snk-clear/config → "+w.Body.String())
	var cur map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &cur); err != nil {
		t.Fatal(err)
	}
	cur["errors.log.include.messages"] = "false"
	body, _ := json.Marshal(cur)
	get("PUT", "/connectors/snk-clear/config", string(body))
	if got, _ := r.ConnectorConfig("snk-clear"); got["consumer.override.sasl.jaas.config"] != configs["snk-clear"]["consumer.override.sasl.jaas.config"] {
		t.Errorf("PUT of the masked configuration changed the password: %q", got["consumer.override.sasl.jaas.config"])
	}
	waitUntil(t, deadline, "snk-clear RUNNING after the update", func() bool {
		rep, err := r.Status("snk-clear")
		return err == nil && rep.State == connect.StateRunning && len(rep.Tasks) == 1 && rep.Tasks[0].State == connect.StateRunning && rep.Tasks[0].Err == nil
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60 s")
	}
	done <- nil // for the deferred stop

	secrets := []string{saslAdminPW, saslFilePW, saslClearPW, saslWrongPW}
	check := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
				if strings.Contains(text, form) {
					t.Errorf("%s shows the secret %q (as %q):\n%s", what, s, form, text)
				}
			}
		}
	}
	out := logs.String()
	check("the logs", out)
	for _, want := range []string{"Error encountered in task snk-clear-0", `"connector":"src-fail"`, `"connector":"src-wrong"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %s: the run did not go through every surface:\n%s", want, out)
		}
	}
	for _, b := range bodies {
		check("REST "+b[:strings.Index(b, " →")], b)
	}
	check("the DLQ headers", strings.Join(headers, "\n"))
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consumeSASL reads n records of topic's partition 0 as the admin user.
func consumeSASL(t *testing.T, brokers []string, topic string, n int, timeout time.Duration) []*sarama.ConsumerMessage {
	t.Helper()
	sc := kafkaconf.NewSaramaConfig("secrets-test-reader")
	if err := kafkaconf.ApplySecurity(sc, map[string]string{
		"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
		"sasl.jaas.config": scramJAAS("admin", saslAdminPW),
	}, nil); err != nil {
		t.Fatal(err)
	}
	var out []*sarama.ConsumerMessage
	var once sync.Once
	end := time.Now().Add(timeout)
	for {
		c, err := sarama.NewConsumer(brokers, sc)
		if err == nil {
			pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
			if err == nil {
				timer := time.NewTimer(time.Until(end))
				for len(out) < n {
					select {
					case m := <-pc.Messages():
						out = append(out, m)
					case <-timer.C:
						t.Fatalf("read %d of %d records from %s", len(out), n, topic)
					}
				}
				timer.Stop()
				pc.Close()
				c.Close()
				return out
			}
			c.Close()
			once.Do(func() { t.Logf("waiting for %s: %v", topic, err) })
		}
		if time.Now().After(end) {
			t.Fatalf("consuming %s: %v", topic, errors.Join(err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
