package source_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// Kafka Connect 4.3.1's texts (DistributedHerder constant pool, javap).
const (
	kcWorkerNotEnabled  = "This worker does not have exactly-once source support enabled."
	kcEOSUnsupported    = "The connector does not support exactly-once semantics with the provided configuration."
	kcEOSNotImplemented = `The connector does not implement the API required for preflight validation of exactly-once source support. Please consult the documentation for the connector to determine whether it supports exactly-once semantics, and then consider reconfiguring the connector to use the value "requested" for this property (which will disable this preflight check and allow the connector to be created).`
	kcNoBoundaries      = "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."
	kcUnexpected        = "An unexpected error occurred during validation"
)

// TestExactlyOnceEnumsRoundTrip: String gives Kafka Connect's lower-case
// names, Parse reads them back in any case and with surrounding spaces, and
// refuses anything else naming the key and the permitted values.
func TestExactlyOnceEnumsRoundTrip(t *testing.T) {
	levels := map[source.ExactlyOnceSupportLevel]string{source.SupportRequested: "requested", source.SupportRequired: "required"}
	for l, name := range levels {
		if got := l.String(); got != name {
			t.Errorf("%d.String() = %q, want %q", int(l), got, name)
		}
		for _, in := range []string{name, strings.ToUpper(name), " " + strings.ToUpper(name[:1]) + name[1:] + "\t"} {
			if got, err := source.ParseExactlyOnceSupportLevel(in); err != nil || got != l {
				t.Errorf("ParseExactlyOnceSupportLevel(%q) = %v, %v; want %v", in, got, err, l)
			}
		}
	}
	if source.ExactlyOnceSupportLevel(0) != source.SupportRequested {
		t.Error("the zero ExactlyOnceSupportLevel is not requested (Kafka Connect's default)")
	}
	boundaries := map[source.TransactionBoundary]string{source.BoundaryPoll: "poll", source.BoundaryInterval: "interval", source.BoundaryConnector: "connector"}
	for b, name := range boundaries {
		if got := b.String(); got != name {
			t.Errorf("%d.String() = %q, want %q", int(b), got, name)
		}
		for _, in := range []string{name, strings.ToUpper(name), "  " + strings.ToUpper(name[:1]) + name[1:] + " "} {
			if got, err := source.ParseTransactionBoundary(in); err != nil || got != b {
				t.Errorf("ParseTransactionBoundary(%q) = %v, %v; want %v", in, got, err, b)
			}
		}
	}
	if source.TransactionBoundary(0) != source.BoundaryPoll {
		t.Error("the zero TransactionBoundary is not poll (Kafka Connect's default)")
	}
	if _, err := source.ParseExactlyOnceSupportLevel("maybe"); err == nil ||
		!strings.Contains(err.Error(), `exactly.once.support: invalid value "maybe": String must be one of (case insensitive): requested, required`) {
		t.Errorf("ParseExactlyOnceSupportLevel(maybe): %v", err)
	}
	if _, err := source.ParseTransactionBoundary(""); err == nil ||
		!strings.Contains(err.Error(), `transaction.boundary: invalid value "": String must be one of (case insensitive): poll, interval, connector`) {
		t.Errorf("ParseTransactionBoundary(\"\"): %v", err)
	}
	for _, c := range []struct{ got, want string }{
		{source.ExactlyOnceSupportLevel(5).String(), "ExactlyOnceSupportLevel(5)"},
		{source.TransactionBoundary(-1).String(), "TransactionBoundary(-1)"},
		{source.ExactlyOnceSupported.String(), "SUPPORTED"},
		{source.ExactlyOnceUnsupported.String(), "UNSUPPORTED"},
		{source.ExactlyOnceSupport(0).String(), "UNSUPPORTED"},
		{source.ExactlyOnceSupport(3).String(), "ExactlyOnceSupport(3)"},
		{source.BoundariesSupported.String(), "SUPPORTED"},
		{source.ConnectorTransactionBoundaries(0).String(), "UNSUPPORTED"},
		{source.ConnectorTransactionBoundaries(9).String(), "ConnectorTransactionBoundaries(9)"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
}

// declaring is a source connector with exactly-once declarations; it
// records the configuration it was asked about.
type declaring struct {
	eos        source.ExactlyOnceSupport
	boundaries source.ConnectorTransactionBoundaries
	panicEOS   bool
	panicTB    bool
	seen       *map[string]string
}

func (d declaring) TaskConfigs(_ context.Context, config map[string]string, _ int) ([]map[string]string, error) {
	return []map[string]string{config}, nil
}

func (d declaring) ExactlyOnceSupport(_ context.Context, config map[string]string) source.ExactlyOnceSupport {
	if d.panicEOS {
		panic("boom")
	}
	if d.seen != nil {
		*d.seen = config
	}
	return d.eos
}

func (d declaring) CanDefineTransactionBoundaries(_ context.Context, config map[string]string) source.ConnectorTransactionBoundaries {
	if d.panicTB {
		panic("bang")
	}
	if d.seen != nil {
		*d.seen = config
	}
	return d.boundaries
}

// plainConnector declares nothing (Kafka Connect's defaults).
type plainConnector struct{}

func (plainConnector) TaskConfigs(_ context.Context, config map[string]string, _ int) ([]map[string]string, error) {
	return []map[string]string{config}, nil
}

func eosConfig(eo source.ExactlyOnce, c source.Connector) source.Config {
	return source.Config{
		Name: "src", Brokers: []string{"127.0.0.1:1"}, NewTask: func() source.Task { return nil },
		Connector: c, Properties: map[string]string{"topic": "t"}, ExactlyOnce: eo,
		Logger: slog.New(slog.DiscardHandler),
	}
}

// TestExactlyOnceValidate: each rule of the exactly-once validation, with
// Kafka Connect's preflight texts, names its key; settings that need
// nothing are accepted.
func TestExactlyOnceValidate(t *testing.T) {
	on := func(eo source.ExactlyOnce) source.ExactlyOnce { eo.Enabled, eo.GroupID = true, "g"; return eo }
	for _, c := range []struct {
		name    string
		cfg     source.Config
		want    []string // substrings of the error; none: Validate accepts it
		notWant []string
	}{
		{name: "zero value", cfg: eosConfig(source.ExactlyOnce{}, nil)},
		{name: "requested, interval, not enabled", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryInterval, BoundaryInterval: time.Second}, plainConnector{})},
		{name: "required, worker not enabled", cfg: eosConfig(source.ExactlyOnce{Support: source.SupportRequired}, declaring{eos: source.ExactlyOnceSupported}),
			want: []string{"exactly.once.support: " + kcWorkerNotEnabled}, notWant: []string{kcEOSUnsupported}},
		{name: "required, connector declares nothing", cfg: eosConfig(on(source.ExactlyOnce{Support: source.SupportRequired}), plainConnector{}),
			want: []string{"exactly.once.support: " + kcEOSNotImplemented}, notWant: []string{kcWorkerNotEnabled}},
		{name: "required, no connector", cfg: eosConfig(on(source.ExactlyOnce{Support: source.SupportRequired}), nil),
			want: []string{"exactly.once.support: " + kcEOSNotImplemented}},
		{name: "required, connector unsupported, not enabled", cfg: eosConfig(source.ExactlyOnce{Support: source.SupportRequired}, declaring{}),
			want: []string{"exactly.once.support: " + kcWorkerNotEnabled, "exactly.once.support: " + kcEOSUnsupported}},
		{name: "required, connector returns an unknown value", cfg: eosConfig(on(source.ExactlyOnce{Support: source.SupportRequired}), declaring{eos: 7}),
			want: []string{"exactly.once.support: " + kcUnexpected + ": Unexpected value returned from ExactlyOnceSupport: ExactlyOnceSupport(7)"}},
		{name: "required, connector panics", cfg: eosConfig(on(source.ExactlyOnce{Support: source.SupportRequired}), declaring{panicEOS: true}),
			want: []string{"exactly.once.support: " + kcUnexpected + ": connector ExactlyOnceSupport panicked: boom"}},
		{name: "required, supported, enabled", cfg: eosConfig(on(source.ExactlyOnce{Support: source.SupportRequired}), declaring{eos: source.ExactlyOnceSupported})},
		{name: "connector boundary, connector declares nothing", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryConnector}, plainConnector{}),
			want: []string{"transaction.boundary: " + kcNoBoundaries}},
		{name: "connector boundary, unsupported", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryConnector}, declaring{eos: source.ExactlyOnceSupported}),
			want: []string{"transaction.boundary: " + kcNoBoundaries}},
		{name: "connector boundary, connector panics", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryConnector}, declaring{panicTB: true}),
			want: []string{"transaction.boundary: " + kcUnexpected + ": connector CanDefineTransactionBoundaries panicked: bang"}},
		{name: "connector boundary, supported", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryConnector}, declaring{boundaries: source.BoundariesSupported})},
		{name: "negative interval", cfg: eosConfig(source.ExactlyOnce{Boundary: source.BoundaryInterval, BoundaryInterval: -time.Millisecond}, nil),
			want: []string{"transaction.boundary.interval.ms: must be >= 0"}},
		{name: "negative transaction timeout", cfg: eosConfig(source.ExactlyOnce{TransactionTimeout: -time.Second}, nil),
			want: []string{"transaction.timeout.ms: must be >= 0"}},
		{name: "unknown enum values", cfg: eosConfig(source.ExactlyOnce{Support: 4, Boundary: -2}, nil),
			want: []string{"exactly.once.support: unknown value ExactlyOnceSupportLevel(4)", "transaction.boundary: unknown value TransactionBoundary(-2)"}},
		{name: "enabled without group id", cfg: eosConfig(source.ExactlyOnce{Enabled: true, GroupID: " "}, nil),
			want: []string{"group.id: exactly-once sources need a group id: the first part of each task's transactional.id (<group>-<connector>-<task>)"}},
		{name: "enabled with a file store", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			c.OffsetStorage = offsets.Storage{File: "/tmp/offsets"}
			return c
		}(), want: []string{"exactly.once.source.support: exactly-once sources write their offsets in the task's Kafka transaction: use a Kafka offsets store (offset.storage.topic)"}},
		{name: "enabled with a memory store", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			c.OffsetStore = offsets.NewMemoryStore()
			return c
		}(), want: []string{"use a Kafka offsets store (offset.storage.topic)"}},
		{name: "enabled with a transactional store of the caller's", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			var ks *offsets.KafkaStore // Validate only looks at its type
			c.OffsetStore = ks
			return c
		}()},
		{name: "enabled with a topic store", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			c.OffsetStorage = offsets.Storage{Topic: "offs"}
			c.ProducerProps = map[string]string{"acks": "-1", "enable.idempotence": "TRUE"}
			return c
		}()},
		{name: "enabled, idempotence off", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			c.ProducerProps = map[string]string{"enable.idempotence": "false"}
			return c
		}(), want: []string{`producer.enable.idempotence (or producer.override.enable.idempotence): exactly-once sources need the idempotent producer (true), got "false"`}},
		{name: "enabled, acks=1", cfg: func() source.Config {
			c := eosConfig(on(source.ExactlyOnce{}), nil)
			c.ProducerProps = map[string]string{"acks": "1"}
			return c
		}(), want: []string{`producer.acks (or producer.override.acks): exactly-once sources need acks=all, got "1"`}},
		{name: "idempotence off, not enabled", cfg: func() source.Config {
			c := eosConfig(source.ExactlyOnce{}, nil)
			c.ProducerProps = map[string]string{"enable.idempotence": "false", "acks": "1"}
			return c
		}()},
		{name: "offsets topic", cfg: eosConfig(source.ExactlyOnce{OffsetsTopic: "my-offsets"}, nil)},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate: %v; want nil", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate accepted it; want %q", c.name, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate: %v\nwant %q", c.name, err, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate: %v\nwant no %q", c.name, err, w)
			}
		}
	}
}

// TestExactlyOnceDeclarationsSeeProperties: the declarations are asked about
// the connector configuration (Config.Properties).
func TestExactlyOnceDeclarationsSeeProperties(t *testing.T) {
	var seen map[string]string
	cfg := eosConfig(source.ExactlyOnce{Support: source.SupportRequired}, declaring{eos: source.ExactlyOnceSupported, seen: &seen})
	_ = cfg.Validate()
	if seen["topic"] != "t" {
		t.Errorf("ExactlyOnceSupport got %v; want the connector configuration", seen)
	}
	seen = nil
	cfg = eosConfig(source.ExactlyOnce{Boundary: source.BoundaryConnector}, declaring{boundaries: source.BoundariesSupported, seen: &seen})
	_ = cfg.Validate()
	if seen["topic"] != "t" {
		t.Errorf("CanDefineTransactionBoundaries got %v; want the connector configuration", seen)
	}
}

// TestExactlyOnceProperties: the worker and connector keys set
// Config.ExactlyOnce; bad values are errors naming the key.
func TestExactlyOnceProperties(t *testing.T) {
	opts := source.PropertyOptions{NewTask: func() source.Task { return nil }}
	worker := func(kv ...string) map[string]string {
		m := map[string]string{"bootstrap.servers": "127.0.0.1:1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	connector := func(kv ...string) map[string]string {
		m := map[string]string{"name": "src", "topic": "t"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	cfg, err := source.ConfigFromProperties(worker(), connector(), opts)
	if err != nil || cfg.ExactlyOnce != (source.ExactlyOnce{}) {
		t.Errorf("no keys: %+v, %v; want the zero ExactlyOnce", cfg.ExactlyOnce, err)
	}

	cfg, err = source.ConfigFromProperties(
		worker("exactly.once.source.support", " Enabled ", "group.id", " my-group "),
		connector("exactly.once.support", "REQUIRED", "transaction.boundary", "Interval",
			"transaction.boundary.interval.ms", "1500", "offsets.storage.topic", " my-offsets "), opts)
	want := source.ExactlyOnce{Enabled: true, GroupID: "my-group", Support: source.SupportRequired, Boundary: source.BoundaryInterval,
		BoundaryInterval: 1500 * time.Millisecond, OffsetsTopic: "my-offsets"}
	if err != nil || cfg.ExactlyOnce != want {
		t.Errorf("every key: %+v, %v; want %+v", cfg.ExactlyOnce, err, want)
	}
	if cfg.Properties["offsets.storage.topic"] != " my-offsets " || cfg.Properties["exactly.once.support"] != "REQUIRED" {
		t.Errorf("connector keys are not handed to the connector: %v", cfg.Properties)
	}

	cfg, err = source.ConfigFromProperties(worker("exactly.once.source.support", "disabled"), connector("transaction.boundary", "connector"), opts)
	if err != nil || cfg.ExactlyOnce.Enabled || cfg.ExactlyOnce.Boundary != source.BoundaryConnector {
		t.Errorf("disabled, connector boundary: %+v, %v", cfg.ExactlyOnce, err)
	}

	// The connector's offsets.storage.topic is accepted (unlike the
	// worker's offset.storage.* keys).
	cfg, err = source.ConfigFromProperties(worker(), connector("offsets.storage.topic", "conn-offsets"), opts)
	if err != nil || cfg.ExactlyOnce.OffsetsTopic != "conn-offsets" {
		t.Fatalf("offsets.storage.topic: %+v, %v", cfg.ExactlyOnce, err)
	}

	for _, c := range []struct {
		worker, connector map[string]string
		want              string
	}{
		{worker("exactly.once.source.support", "on"), connector(),
			`exactly.once.source.support: invalid value "on": String must be one of (case insensitive): disabled, preparing, enabled`},
		{worker(), connector("exactly.once.support", "always"),
			`exactly.once.support: invalid value "always": String must be one of (case insensitive): requested, required`},
		{worker(), connector("transaction.boundary", "batch"),
			`transaction.boundary: invalid value "batch": String must be one of (case insensitive): poll, interval, connector`},
		{worker(), connector("offsets.storage.topic", " "), `offsets.storage.topic: String must be non-empty`},
		{worker(), connector("transaction.boundary.interval.ms", "-5"), `transaction.boundary.interval.ms: want milliseconds >= 0, got "-5"`},
		{worker(), connector("transaction.boundary.interval.ms", "1s"), `transaction.boundary.interval.ms: want milliseconds >= 0, got "1s"`},
	} {
		if _, err := source.ConfigFromProperties(c.worker, c.connector, opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ConfigFromProperties: %v; want %q", err, c.want)
		}
	}
}

// TestExactlyOncePreparing: exactly.once.source.support=preparing leaves
// exactly-once delivery off, and New logs that at info level.
func TestExactlyOncePreparing(t *testing.T) {
	cfg, err := source.ConfigFromProperties(
		map[string]string{"bootstrap.servers": "127.0.0.1:1", "exactly.once.source.support": "PREPARING"},
		map[string]string{"name": "src"}, source.PropertyOptions{NewTask: func() source.Task { return nil }})
	if err != nil || cfg.ExactlyOnce.Enabled {
		t.Fatalf("preparing: %+v, %v; want exactly-once off", cfg.ExactlyOnce, err)
	}
	var buf bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	if _, err := source.New(cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	if out := buf.String(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "exactly.once.source.support=preparing") || !strings.Contains(out, "connector=src") {
		t.Errorf("log: %q; want an info line about preparing", out)
	}
	buf.Reset()
	cfg.ExactlyOnce = source.ExactlyOnce{}
	if _, err := source.New(cfg); err != nil || strings.Contains(buf.String(), "preparing") {
		t.Errorf("disabled: %v, log %q; want no preparing line", err, buf.String())
	}
}

type fakeTaskContext struct{}

func (fakeTaskContext) ConnectorName() string     { return "c" }
func (fakeTaskContext) TaskID() int               { return 0 }
func (fakeTaskContext) Config() map[string]string { return nil }
func (fakeTaskContext) Offsets() offsets.Reader   { return nil }

type fakeTxn struct{ commits int }

func (f *fakeTxn) CommitTransaction()                     { f.commits++ }
func (f *fakeTxn) CommitTransactionAfter(*connect.Record) {}
func (f *fakeTxn) AbortTransaction()                      {}
func (f *fakeTxn) AbortTransactionAfter(*connect.Record)  {}

type txnTaskContext struct {
	fakeTaskContext
	txn source.TransactionContext
}

func (c txnTaskContext) TransactionContext() source.TransactionContext { return c.txn }

// TestTransactionContextOf: nil for a context that provides none (the
// pipeline's, for now), the context's own otherwise.
func TestTransactionContextOf(t *testing.T) {
	if got := source.TransactionContextOf(fakeTaskContext{}); got != nil {
		t.Errorf("plain context: %v; want nil", got)
	}
	txn := &fakeTxn{}
	got := source.TransactionContextOf(txnTaskContext{txn: txn})
	if got == nil {
		t.Fatal("context with a TransactionContext: nil")
	}
	got.CommitTransaction()
	if txn.commits != 1 {
		t.Error("TransactionContextOf did not return the context's TransactionContext")
	}
}

// TestPipelineTaskHasNoTransactionContext: a task run by a Pipeline
// at-least-once gets no TransactionContext.
func TestPipelineTaskHasNoTransactionContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan bool, 1)
	cfg := eosConfig(source.ExactlyOnce{}, nil)
	cfg.OffsetStore = offsets.NewMemoryStore()
	cfg.NewTask = func() source.Task {
		return &startHook{start: func(tc source.TaskContext) {
			got <- source.TransactionContextOf(tc) == nil
			cancel()
		}}
	}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Run(ctx)
	select {
	case isNil := <-got:
		if !isNil {
			t.Error("the pipeline's task context has a TransactionContext; want nil at-least-once")
		}
	default:
		t.Fatal("the task was not started")
	}
}

type startHook struct{ start func(source.TaskContext) }

func (h *startHook) Start(_ context.Context, tc source.TaskContext) error { h.start(tc); return nil }
func (h *startHook) Poll(ctx context.Context) ([]connect.Record, error) {
	<-ctx.Done()
	return nil, nil
}
func (h *startHook) Stop(context.Context) error { return nil }

// TestPluginPreflight: a source plugin's validation checks
// exactly.once.support=required and transaction.boundary=connector against
// the connector's declarations (Kafka Connect's preflight at validate and
// create), after the plugin's own Validate.
func TestPluginPreflight(t *testing.T) {
	issues := func(c source.Connector, config map[string]string) map[string]string {
		p := source.Plugin(source.PluginConfig{Class: "x", NewTask: func() source.Task { return nil }, Connector: c,
			Validate: func(map[string]string) []connect.ConfigIssue {
				return []connect.ConfigIssue{{Key: "own", Message: "plugin's"}}
			}})
		out := map[string]string{}
		for _, is := range p.Validate(config) {
			out[is.Key] = is.Message
		}
		return out
	}
	got := issues(plainConnector{}, map[string]string{"exactly.once.support": "required", "transaction.boundary": "CONNECTOR"})
	if got["own"] != "plugin's" || got["exactly.once.support"] != kcEOSNotImplemented || got["transaction.boundary"] != kcNoBoundaries {
		t.Errorf("undeclared connector: %v", got)
	}
	got = issues(declaring{eos: source.ExactlyOnceUnsupported}, map[string]string{"exactly.once.support": "required"})
	if got["exactly.once.support"] != kcEOSUnsupported {
		t.Errorf("unsupported: %v", got)
	}
	got = issues(declaring{eos: source.ExactlyOnceSupported, boundaries: source.BoundariesSupported},
		map[string]string{"exactly.once.support": "required", "transaction.boundary": "connector"})
	if len(got) != 1 {
		t.Errorf("declaring connector: %v; want only the plugin's own issue", got)
	}
	if got := issues(plainConnector{}, map[string]string{"exactly.once.support": "requested"}); len(got) != 1 {
		t.Errorf("requested: %v; want no preflight", got)
	}
}
