package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
)

// TestExactlyOnceFrameworkKeys: a source plugin has Kafka Connect's
// exactly-once keys (group "Exactly Once Support", offsets.storage.topic in
// "offsets.topic", Kafka's defaults), a sink plugin has none, and validation
// refuses their bad values with Kafka's messages.
func TestExactlyOnceFrameworkKeys(t *testing.T) {
	r, err := runner.New(runner.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	build := func(context.Context, map[string]string, map[string]string) (connect.Pipeline, error) { return nil, nil }
	for _, p := range []connect.Plugin{
		{Class: "test.EOSource", Type: connect.TypeSource, New: build},
		{Class: "test.EOSink", Type: connect.TypeSink, New: build},
	} {
		if err := r.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := r.PluginConfig("test.EOSource")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ typ, def, group string }{
		"exactly.once.support":             {"STRING", "requested", "Exactly Once Support"},
		"transaction.boundary":             {"STRING", "poll", "Exactly Once Support"},
		"transaction.boundary.interval.ms": {"LONG", "", "Exactly Once Support"},
		"offsets.storage.topic":            {"STRING", "", "offsets.topic"},
	}
	for name, w := range want {
		i := slices.IndexFunc(keys, func(k connect.ConfigKey) bool { return k.Name == name })
		if i < 0 {
			t.Errorf("source plugin: no key %s", name)
			continue
		}
		if k := keys[i]; k.Type != w.typ || k.Default != w.def || k.Group != w.group || k.Documentation == "" {
			t.Errorf("%s: type %s default %q group %q; want %s %q %q and documentation", name, k.Type, k.Default, k.Group, w.typ, w.def, w.group)
		}
	}
	sinkKeys, err := r.PluginConfig("test.EOSink")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range sinkKeys {
		if _, ok := want[k.Name]; ok {
			t.Errorf("sink plugin has the source key %s", k.Name)
		}
	}

	errsOf := func(plugin string, config map[string]string) map[string][]string {
		v, err := r.ValidateConfig(plugin, config)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, c := range v.Configs {
			if len(c.Errors) > 0 && !c.Unknown { // unknown keys are warnings, not errors
				out[c.Key.Name] = c.Errors
			}
		}
		return out
	}
	good := map[string]string{"name": "s", "exactly.once.support": " Requested", "transaction.boundary": "Interval",
		"transaction.boundary.interval.ms": "0", "offsets.storage.topic": "conn-offsets"}
	if errs := errsOf("test.EOSource", good); len(errs) > 0 {
		t.Errorf("valid values: %v", errs)
	}
	bad := map[string]string{"name": "s", "exactly.once.support": "always", "transaction.boundary": "batch",
		"transaction.boundary.interval.ms": "-1", "offsets.storage.topic": " "}
	errs := errsOf("test.EOSource", bad)
	for key, msg := range map[string]string{
		"exactly.once.support":             "Invalid value always for configuration exactly.once.support: String must be one of (case insensitive): requested, required",
		"transaction.boundary":             "Invalid value batch for configuration transaction.boundary: String must be one of (case insensitive): poll, interval, connector",
		"transaction.boundary.interval.ms": "Invalid value -1 for configuration transaction.boundary.interval.ms: Value must be at least 0",
		"offsets.storage.topic":            "Invalid value   for configuration offsets.storage.topic: String must be non-empty",
	} {
		if !slices.Contains(errs[key], msg) {
			t.Errorf("%s: errors %q; want %q", key, errs[key], msg)
		}
	}
	if errs := errsOf("test.EOSource", map[string]string{"name": "s", "transaction.boundary.interval.ms": "soon"}); len(errs["transaction.boundary.interval.ms"]) != 1 ||
		!strings.Contains(errs["transaction.boundary.interval.ms"][0], "Not a number of type LONG") {
		t.Errorf("interval not a number: %v", errs)
	}
	if errs := errsOf("test.EOSink", map[string]string{"name": "k", "topics": "t", "transaction.boundary": "batch"}); len(errs) > 0 {
		t.Errorf("sink plugin: %v; the exactly-once keys are not a sink's", errs)
	}
	// They are unknown keys for a sink: listed as such, not counted.
	v, err := r.ValidateConfig("test.EOSink", map[string]string{"name": "k", "topics": "t", "transaction.boundary": "batch"})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(v.Configs, func(c runner.ConfigResult) bool { return c.Key.Name == "transaction.boundary" }); v.ErrorCount != 0 || i < 0 || !v.Configs[i].Unknown {
		t.Errorf("sink plugin with transaction.boundary: error count %d, entry %d (%+v); want 0 errors and an unknown-key entry", v.ErrorCount, i, v.Configs)
	}
}

// TestExactlyOnceRequiredNeedsEnabledWorker: Kafka Connect's preflight
// refuses exactly.once.support=required at validation (and so at creation)
// on a worker without exactly.once.source.support=enabled; the same
// configuration validates on a worker that has it.
func TestExactlyOnceRequiredNeedsEnabledWorker(t *testing.T) {
	build := func(context.Context, map[string]string, map[string]string) (connect.Pipeline, error) { return nil, nil }
	required := map[string]string{"name": "s", "exactly.once.support": " REQUIRED"}
	for _, c := range []struct {
		worker map[string]string
		want   []string
	}{
		{nil, []string{"This worker does not have exactly-once source support enabled."}},
		{map[string]string{"exactly.once.source.support": "preparing"}, []string{"This worker does not have exactly-once source support enabled."}},
		{map[string]string{"exactly.once.source.support": " Enabled"}, nil},
	} {
		r, err := runner.New(runner.Config{Logger: slog.New(slog.DiscardHandler), Worker: c.worker})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Register(connect.Plugin{Class: "test.EOSource", Type: connect.TypeSource, New: build}); err != nil {
			t.Fatal(err)
		}
		v, err := r.ValidateConfig("test.EOSource", required)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cv := range v.Configs {
			if cv.Key.Name == "exactly.once.support" {
				got = cv.Errors
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("worker %v: exactly.once.support errors %q; want %q", c.worker, got, c.want)
		}
		if c.want != nil {
			err := r.CreateConnector("s", mergeMaps(required, map[string]string{"connector.class": "test.EOSource"}), connect.StateRunning)
			if !errors.Is(err, runner.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want[0]) {
				t.Errorf("worker %v: CreateConnector: %v; want ErrInvalidConfig with %q", c.worker, err, c.want[0])
			}
		}
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
