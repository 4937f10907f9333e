package postgres

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/source"
)

// TestSourceConnectorExactlyOnceSupport: the source declares exactly-once
// support for incrementing and timestamp+incrementing (deterministic
// re-query from the stored offset), not for timestamp alone nor bulk (nor a
// missing or unknown mode), whatever the case and surrounding spaces; it
// never defines transaction boundaries; and a pipeline's preflight
// (exactly.once.support=required) reads the declaration.
func TestSourceConnectorExactlyOnceSupport(t *testing.T) {
	base := map[string]string{
		ConnectionURLConfig: "postgres://localhost/db", TableWhitelistConfig: "t", TopicPrefixConfig: "p-",
		IncrementingColumnNameConfig: "id", TimestampColumnNameConfig: "ts",
	}
	with := func(mode string, set bool) map[string]string {
		c := maps.Clone(base)
		if set {
			c[ModeConfig] = mode
		}
		return c
	}
	for _, c := range []struct {
		mode string
		set  bool
		want source.ExactlyOnceSupport
	}{
		{ModeIncrementing, true, source.ExactlyOnceSupported},
		{ModeTimestampIncrementing, true, source.ExactlyOnceSupported},
		{" Timestamp+Incrementing ", true, source.ExactlyOnceSupported},
		{"INCREMENTING", true, source.ExactlyOnceSupported},
		{ModeTimestamp, true, source.ExactlyOnceUnsupported},
		{" TIMESTAMP", true, source.ExactlyOnceUnsupported},
		{"bulk", true, source.ExactlyOnceUnsupported},
		{"", true, source.ExactlyOnceUnsupported},
		{"incrementing,timestamp", true, source.ExactlyOnceUnsupported},
		{"", false, source.ExactlyOnceUnsupported},
	} {
		if got := (SourceConnector{}).ExactlyOnceSupport(context.Background(), with(c.mode, c.set)); got != c.want {
			t.Errorf("mode %q (set %t): ExactlyOnceSupport = %v, want %v", c.mode, c.set, got, c.want)
		}
	}
	var conn source.Connector = SourceConnector{}
	if _, ok := conn.(source.TransactionBoundaryConnector); ok {
		t.Error("SourceConnector declares connector-defined transaction boundaries; it cannot define them")
	}

	// The preflight of exactly.once.support=required refuses exactly the
	// unsupported modes (the worker's refusal, exactly-once not enabled,
	// comes in every case: Validate runs without a broker).
	const unsupported = "exactly.once.support: The connector does not support exactly-once semantics with the provided configuration."
	required := source.ExactlyOnce{Support: source.SupportRequired}
	for mode, refused := range map[string]bool{ModeIncrementing: false, ModeTimestampIncrementing: false, ModeTimestamp: true} {
		cfg := source.Config{Name: "pg", Brokers: []string{"127.0.0.1:1"}, NewTask: func() source.Task { return &SourceTask{} },
			Connector: SourceConnector{}, Properties: with(mode, true), ExactlyOnce: required, Logger: slog.New(slog.DiscardHandler)}
		err := cfg.Validate()
		if err == nil {
			t.Errorf("mode %s: Validate = nil, want at least the worker's refusal", mode)
			continue
		}
		if got := strings.Contains(err.Error(), unsupported); got != refused {
			t.Errorf("mode %s: Validate = %v; refused as unsupported: %t, want %t", mode, err, got, refused)
		}
	}
	const noBoundaries = "transaction.boundary: The connector does not support connector-defined transaction boundaries"
	cfg := source.Config{Name: "pg", Brokers: []string{"127.0.0.1:1"}, NewTask: func() source.Task { return &SourceTask{} },
		Connector: SourceConnector{}, Properties: with(ModeIncrementing, true),
		ExactlyOnce: source.ExactlyOnce{Boundary: source.BoundaryConnector}, Logger: slog.New(slog.DiscardHandler)}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), noBoundaries) {
		t.Errorf("transaction.boundary=connector: Validate = %v, want %q", err, noBoundaries)
	}
}
