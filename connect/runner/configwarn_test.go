package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// logLine is one record a recordingHandler received, its attributes (the
// logger's and the record's) as strings.
type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logRecorder collects the records of the loggers made by handler.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
}

func (l *logRecorder) logger() *slog.Logger { return slog.New(recordingHandler{rec: l}) }

// warnings returns the WARN lines recorded since the last call.
func (l *logRecorder) warnings() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
	for _, ln := range l.lines {
		if ln.level == slog.LevelWarn {
			out = append(out, ln)
		}
	}
	l.lines = nil
	return out
}

type recordingHandler struct {
	rec   *logRecorder
	attrs []slog.Attr
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.rec.mu.Lock()
	h.rec.lines = append(h.rec.lines, logLine{level: r.Level, msg: r.Message, attrs: m})
	h.rec.mu.Unlock()
	return nil
}

func (h recordingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recordingHandler{rec: h.rec, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h recordingHandler) WithGroup(string) slog.Handler { return h }

// wantWarning is an expected WARN line: its message and the attributes it
// must carry.
type wantWarning struct {
	msg   string
	attrs map[string]string
}

// checkWarnings compares the WARN lines recorded since the last call with
// want, in order.
func checkWarnings(t *testing.T, what string, rec *logRecorder, want ...wantWarning) {
	t.Helper()
	got := rec.warnings()
	if len(got) != len(want) {
		var msgs []string
		for _, g := range got {
			msgs = append(msgs, g.msg)
		}
		t.Fatalf("%s: %d WARN lines %q, want %d", what, len(got), msgs, len(want))
	}
	for i, w := range want {
		if got[i].msg != w.msg {
			t.Errorf("%s: WARN %d = %q, want %q", what, i, got[i].msg, w.msg)
		}
		for k, v := range w.attrs {
			if got[i].attrs[k] != v {
				t.Errorf("%s: WARN %q: attribute %s = %q, want %q (attributes %v)", what, w.msg, k, got[i].attrs[k], v, got[i].attrs)
			}
		}
	}
}

func unknownWarning(connector, key, hint string) wantWarning {
	msg := "The configuration '" + key + "' was supplied but isn't a known config."
	attrs := map[string]string{"connector": connector, "key": key}
	if hint != "" {
		msg += " Did you mean '" + hint + "'?"
		attrs["did_you_mean"] = hint
	}
	return wantWarning{msg: msg, attrs: attrs}
}

// TestConfigWarnsUnknownKeys: a key neither the framework nor the plugin
// defines is logged at WARN in Kafka's classic wording, naming the connector
// and the closest known key, at create and update through the Go API and
// REST; the keys of the framework (including the exactly-once and topic
// creation keys of a source, Sluice's own and the connector-level worker
// keys), the plugin's, the listed transforms' and predicates' and the
// clients' overrides are not.
func TestConfigWarnsUnknownKeys(t *testing.T) {
	rec := &logRecorder{}
	e := newEnv(t, runner.Config{Logger: rec.logger()})
	cfg := srcConfig("errors.tolerence", "all", "tasks.mx", "2", "fake.tasks", "1", "fake.secret", "pw",
		"transforms", "route", "transforms.route.type", "RegexRouter", "transforms.route.regex", "a", "transforms.rout.replacement", "b",
		"predicates", "p", "predicates.p.type", "TopicNameMatches", "predicates.p.pattern", ".*",
		"producer.override.acks", "all", "consumer.override.max.poll.records", "5", "admin.override.retries", "1",
		"topic.creation.groups", "g", "topic.creation.default.partitions", "3", "topic.creation.g.include", "x.*",
		"exactly.once.support", "requested", "transaction.boundary", "poll", "offsets.storage.topic", "o",
		"sluice.task.retry.timeout.ms", "5", "errors.tolerance.window.size", "0", "offset.flush.interval.ms", "100",
		"value.converter", "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable", "false",
		"value.converter.plugin.version", "1", "connector.plugin.version", "1", "config.action.reload", "restart",
		"tasks.max.enforce", "true", "errors.deadletterqueue.topic.name", "dlq", "errors.tolerance", "all")
	if err := e.r.CreateConnector("c1", cfg, ""); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "create", rec,
		unknownWarning("c1", "errors.tolerence", "errors.tolerance"),
		unknownWarning("c1", "tasks.mx", "tasks.max"),
		unknownWarning("c1", "transforms.rout.replacement", "transforms.route.replacement"))

	if _, err := e.r.PutConnectorConfig("c1", srcConfig("errors.tolerence", "all")); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "PutConnectorConfig", rec, unknownWarning("c1", "errors.tolerence", "errors.tolerance"))

	v := "true"
	if err := e.r.PatchConnectorConfig("c1", map[string]*string{"errros.log.enable": &v}); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "PatchConnectorConfig", rec,
		unknownWarning("c1", "errors.tolerence", "errors.tolerance"),
		unknownWarning("c1", "errros.log.enable", "errors.log.enable"))

	h := e.r.Handler()
	if w := do(h, "POST", "/connectors", `{"name":"c2","config":{"connector.class":"FakeSink","topics":"t","errors.tolerence":"all","topic":"x"}}`); w.Code != 201 {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	// topic is one letter from topics, but no key is suggested beyond 2.
	checkWarnings(t, "REST create", rec,
		unknownWarning("c2", "errors.tolerence", "errors.tolerance"),
		unknownWarning("c2", "topic", "topics"))
	if w := do(h, "PUT", "/connectors/c2/config", `{"connector.class":"FakeSink","topics":"t","fake.taks":"1"}`); w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	checkWarnings(t, "REST update", rec, unknownWarning("c2", "fake.taks", "fake.tasks"))
	if w := do(h, "PATCH", "/connectors/c2/config", `{"errors.log.enable":"true"}`); w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	checkWarnings(t, "REST patch", rec, unknownWarning("c2", "fake.taks", "fake.tasks"))

	// A sink has no exactly-once or topic creation keys.
	if err := e.r.CreateConnector("c3", sinkConfig("transaction.boundary", "poll", "topic.creation.default.partitions", "1", "consumer.override.x", "y"), ""); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "sink", rec,
		unknownWarning("c3", "topic.creation.default.partitions", ""),
		unknownWarning("c3", "transaction.boundary", ""))
}

// TestConfigWarnsOnlyFrameworkTyposWithoutDeclaredKeys: a plugin without
// Config and a pipeline built in Go may read any key, so only unknown keys
// in the framework's namespaces (errors.*, transforms.*, …) are reported,
// at AddPipeline and UpdatePipeline too.
func TestConfigWarnsOnlyFrameworkTyposWithoutDeclaredKeys(t *testing.T) {
	rec := &logRecorder{}
	e := newEnv(t, runner.Config{Logger: rec.logger()})
	err := e.r.Register(connect.Plugin{Class: "com.example.BareSinkConnector", Type: connect.TypeSink,
		New: func(context.Context, map[string]string, map[string]string) (connect.Pipeline, error) {
			return nil, errors.New("not run")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.r.CreateConnector("bare", map[string]string{"connector.class": "BareSink", "topics": "t", "file": "/tmp/x", "errors.tolerence": "all"}, ""); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "plugin without Config", rec, unknownWarning("bare", "errors.tolerence", "errors.tolerance"))

	config := map[string]string{"file": "/tmp/x", "batch.size": "10", "errors.tolerence": "all", "transforms.x.type": "Filter"}
	if err := e.r.AddPipeline("go", config, e.f.goBuilder("go", connect.TypeSource, config)); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "AddPipeline", rec,
		unknownWarning("go", "errors.tolerence", "errors.tolerance"),
		unknownWarning("go", "transforms.x.type", ""))
	config = map[string]string{"file": "/tmp/y", "predicates.p.type": "TopicNameMatches", "predicates": "q"}
	if err := e.r.UpdatePipeline("go", config, e.f.goBuilder("go", connect.TypeSource, config)); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "UpdatePipeline", rec, unknownWarning("go", "predicates.p.type", "predicates.q.type"))
	if err := e.r.AddPipeline("quiet", nil, e.f.goBuilder("quiet", connect.TypeSource, nil)); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "AddPipeline without a configuration", rec)
}

// TestConfigWarnsSettingsWithoutTheirEffect: connector-level converter
// sub-keys without the converter key are ignored (the worker's converter is
// configured from the worker's properties, see the connprops test), and a
// dead letter queue under errors.tolerance=none receives only the record
// that fails the task (as in Kafka Connect 4.3.1): both are logged at WARN,
// and neither when the converter is set or the tolerance is all.
func TestConfigWarnsSettingsWithoutTheirEffect(t *testing.T) {
	rec := &logRecorder{}
	e := newEnv(t, runner.Config{Logger: rec.logger()})
	err := e.r.CreateConnector("k", sinkConfig("value.converter.schemas.enable", "false", "key.converter.schemas.enable", "false",
		"key.converter.ignored", "x", "header.converter", "SimpleHeaderConverter", "header.converter.x", "y",
		"key.converter.plugin.version", "1", "errors.deadletterqueue.topic.name", "dlq"), "")
	if err != nil {
		t.Fatal(err)
	}
	converterMsg := func(keys, c string) string {
		return "The configuration " + keys + " has no effect: the connector does not set " + c + ", so it uses the worker's " + c +
			", which is configured from the worker's " + c + ".* properties only."
	}
	dlq := "errors.deadletterqueue.topic.name=dlq is set under errors.tolerance=none: only the record that fails the task is written to the dead letter queue, and the task then fails; set errors.tolerance=all to write every failed record there and keep the task running."
	checkWarnings(t, "create", rec,
		wantWarning{msg: converterMsg("key.converter.ignored, key.converter.schemas.enable", "key.converter"), attrs: map[string]string{"connector": "k"}},
		wantWarning{msg: converterMsg("value.converter.schemas.enable", "value.converter"), attrs: map[string]string{"connector": "k"}},
		wantWarning{msg: dlq, attrs: map[string]string{"connector": "k"}})

	if _, err := e.r.PutConnectorConfig("k", sinkConfig("errors.deadletterqueue.topic.name", "dlq", "errors.tolerance", "NONE")); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "tolerance NONE", rec, wantWarning{msg: dlq})
	if _, err := e.r.PutConnectorConfig("k", sinkConfig("errors.deadletterqueue.topic.name", "dlq", "errors.tolerance", "all",
		"value.converter", "JsonConverter", "value.converter.schemas.enable", "false")); err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, "tolerance all, converter set", rec)
}

// TestValidateListsUnknownKeysWithoutCountingThem: PUT
// /connector-plugins/{class}/config/validate lists a misspelled key with its
// warning in errors, after the defined keys, and error_count stays what it
// is without the typo (Kafka Connect reports 0 errors for it).
func TestValidateListsUnknownKeysWithoutCountingThem(t *testing.T) {
	e := restEnv(t, false)
	h := e.r.Handler()
	for _, c := range []struct {
		name, body, golden string
		errors             int
	}{
		{"valid", `{"name":"v","topics":"t","errors.tolerence":"all"}`, "validate_unknown_key", 0},
		{"invalid", `{"name":"v","topics":"t","tasks.max":"x","errors.tolerence":"all"}`, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := do(h, "PUT", "/connector-plugins/FakeSink/config/validate", c.body)
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if c.golden != "" {
				checkGolden(t, c.golden, w.Body.Bytes())
			}
			v, err := e.r.ValidateConfig("FakeSink", map[string]string{"name": "v", "topics": "t", "errors.tolerence": "all", "tasks.max": map[bool]string{true: "x", false: "1"}[c.errors > 0]})
			if err != nil {
				t.Fatal(err)
			}
			if v.ErrorCount != c.errors {
				t.Errorf("ErrorCount %d, want %d", v.ErrorCount, c.errors)
			}
			last := v.Configs[len(v.Configs)-1]
			want := "The configuration 'errors.tolerence' was supplied but isn't a known config. Did you mean 'errors.tolerance'?"
			if last.Key.Name != "errors.tolerence" || !last.Unknown || len(last.Errors) != 1 || last.Errors[0] != want || last.Value != "all" {
				t.Errorf("last entry %+v, want the unknown key with %q", last, want)
			}
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("body lacks %q: %s", want, w.Body)
			}
		})
	}
	// The value of a misspelt password key is masked.
	w := do(h, "PUT", "/connector-plugins/FakeSink/config/validate", `{"name":"v","topics":"t","fake.secrte":"pw1234"}`)
	if w.Code != 200 || strings.Contains(w.Body.String(), "pw1234") || !strings.Contains(w.Body.String(), `"name":"fake.secrte","value":"[hidden]"`) {
		t.Errorf("misspelt password key: %d %s", w.Code, w.Body)
	}
	// An invalid configuration's creation error lists only real errors.
	err := e.r.CreateConnector("x", sinkConfig("tasks.max", "x", "errors.tolerence", "all"), "")
	if err == nil || !strings.Contains(err.Error(), "contains the following 1 error(s):\ntasks.max: ") || strings.Contains(err.Error(), "tolerence") {
		t.Errorf("create error %v", err)
	}
}

// TestHiddenRoundTrip: a configuration read back through REST (secrets
// shown as [hidden]) and written again with PUT, or a PATCH sending
// [hidden], keeps the stored secrets instead of storing "[hidden]".
func TestHiddenRoundTrip(t *testing.T) {
	e := restEnv(t, false)
	h := e.r.Handler()
	got := do(h, "GET", "/connectors/src/config", "")
	if !strings.Contains(got.Body.String(), `"connection.password":"[hidden]"`) || !strings.Contains(got.Body.String(), `"fake.secret":"[hidden]"`) {
		t.Fatalf("GET config: %s", got.Body)
	}
	body := strings.Replace(got.Body.String(), `"topic":"orders"`, `"topic":"orders2"`, 1)
	if w := do(h, "PUT", "/connectors/src/config", body); w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	check := func(what string) {
		t.Helper()
		cfg, err := e.r.ConnectorConfig("src")
		if err != nil {
			t.Fatal(err)
		}
		if cfg["connection.password"] != "s3cret" || cfg["fake.secret"] != "xyz" {
			t.Errorf("%s: stored secrets %q, %q; want s3cret, xyz", what, cfg["connection.password"], cfg["fake.secret"])
		}
	}
	check("PUT of the masked config")
	if cfg, _ := e.r.ConnectorConfig("src"); cfg["topic"] != "orders2" {
		t.Errorf("PUT not applied: %v", cfg)
	}
	if w := do(h, "PATCH", "/connectors/src/config", `{"fake.secret":"[hidden]","connection.password":"[hidden]"}`); w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	check("PATCH with [hidden]")
	// A non-password key keeps a literal "[hidden]".
	if w := do(h, "PATCH", "/connectors/src/config", `{"topic":"[hidden]"}`); w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	if cfg, _ := e.r.ConnectorConfig("src"); cfg["topic"] != "[hidden]" {
		t.Errorf("topic %q", cfg["topic"])
	}
}
