package filestream

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/source"
)

// TestSourceConnectorExactlyOnceSupport: SUPPORTED iff file is set (Kafka's
// FileStreamSourceConnector.exactlyOnceSupport), never connector-defined
// transaction boundaries; and a pipeline's preflight reads the declaration.
func TestSourceConnectorExactlyOnceSupport(t *testing.T) {
	for _, c := range []struct {
		config map[string]string
		want   source.ExactlyOnceSupport
	}{
		{map[string]string{"topic": "t", "file": "/tmp/in.txt"}, source.ExactlyOnceSupported},
		{map[string]string{"topic": "t", "file": " in.txt "}, source.ExactlyOnceSupported},
		{map[string]string{"topic": "t"}, source.ExactlyOnceUnsupported},
		{map[string]string{"topic": "t", "file": ""}, source.ExactlyOnceUnsupported},
		{map[string]string{"topic": "t", "file": "  "}, source.ExactlyOnceUnsupported},
	} {
		if got := (SourceConnector{}).ExactlyOnceSupport(context.Background(), c.config); got != c.want {
			t.Errorf("ExactlyOnceSupport(%v) = %v, want %v", c.config, got, c.want)
		}
	}
	var conn source.Connector = SourceConnector{}
	if _, ok := conn.(source.TransactionBoundaryConnector); ok {
		t.Error("SourceConnector declares transaction boundaries; Kafka's does not")
	}

	cfg := func(props map[string]string, eo source.ExactlyOnce) source.Config {
		return source.Config{Name: "fs", Brokers: []string{"127.0.0.1:1"}, NewTask: func() source.Task { return &SourceTask{} },
			Connector: SourceConnector{}, Properties: props, ExactlyOnce: eo, Logger: slog.New(slog.DiscardHandler)}
	}
	const unsupported = "exactly.once.support: The connector does not support exactly-once semantics with the provided configuration."
	required := source.ExactlyOnce{Support: source.SupportRequired}
	if c := cfg(map[string]string{"topic": "t", "file": "in.txt"}, required); c.Validate() == nil || strings.Contains(c.Validate().Error(), unsupported) {
		t.Errorf("required with a file: %v; want only the worker's refusal", c.Validate())
	}
	if c := cfg(map[string]string{"topic": "t"}, required); c.Validate() == nil || !strings.Contains(c.Validate().Error(), unsupported) {
		t.Errorf("required with standard input: %v; want %q", c.Validate(), unsupported)
	}
	const noBoundaries = "transaction.boundary: The connector does not support connector-defined transaction boundaries"
	if c := cfg(map[string]string{"topic": "t", "file": "in.txt"}, source.ExactlyOnce{Boundary: source.BoundaryConnector}); c.Validate() == nil ||
		!strings.Contains(c.Validate().Error(), noBoundaries) {
		t.Errorf("connector boundary: %v; want %q", c.Validate(), noBoundaries)
	}
}
