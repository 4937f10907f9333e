package source

import (
	"context"
	"log/slog"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/transforms"
)

// PluginConfig describes a source connector class for a runner.Runner (package connect/runner).
type PluginConfig struct {
	// Class is the connector.class value (required); Aliases further names.
	Class   string
	Aliases []string
	Version string
	// TaskClass is connect.Plugin.TaskClass (task.class in task configs).
	TaskClass string
	// NewTask builds a task (required); Connector optionally splits the
	// configuration into task configurations.
	NewTask   func() Task
	Connector Connector
	// OffsetStore is shared by every pipeline the plugin builds, as a Kafka
	// Connect worker's offset store is (the caller opens and closes it, e.g.
	// with offsets.OpenFromProperties); nil makes each pipeline open and
	// close the store the worker's offset.storage.* keys select (default:
	// the Kafka topic connect-offsets), see ConfigFromProperties.
	OffsetStore offsets.Store
	// Converters and Transforms default to the built-in registries.
	Converters *converters.Registry
	Transforms *transforms.Registry
	// Sarama is an optional base client configuration; TracerProvider
	// enables tracing.
	Sarama         *sarama.Config
	TracerProvider trace.TracerProvider
	// Validate and Config describe the connector's own keys (see
	// connect.Plugin). The plugin's validation adds Kafka Connect's
	// exactly-once preflight: exactly.once.support=required and
	// transaction.boundary=connector are checked against the Connector's
	// declarations (ExactlyOnceConnector, TransactionBoundaryConnector).
	Validate     func(connector map[string]string) []connect.ConfigIssue
	Config       []connect.ConfigKey
	PasswordKeys []string
}

// preflight checks a connector configuration against the connector's
// exactly-once declarations, as Kafka Connect's herder does when a
// connector is validated or created (the worker's part, exactly-once
// support enabled, is the Runner's).
func preflight(c Connector, connector map[string]string) []connect.ConfigIssue {
	cfg := &Config{Name: connector["name"], Connector: c, Properties: connector, Logger: slog.Default()}
	var issues []connect.ConfigIssue
	if l, err := ParseExactlyOnceSupportLevel(connector[propExactlyOnceSupport]); err == nil && l == SupportRequired {
		if msg := connectorExactlyOnce(cfg); msg != "" {
			issues = append(issues, connect.ConfigIssue{Key: propExactlyOnceSupport, Message: msg})
		}
	}
	if b, err := ParseTransactionBoundary(connector[propTransactionBoundary]); err == nil && b == BoundaryConnector {
		if msg := connectorBoundaries(cfg); msg != "" {
			issues = append(issues, connect.ConfigIssue{Key: propTransactionBoundary, Message: msg})
		}
	}
	return issues
}

// Plugin returns a connect.Plugin that builds source pipelines from Kafka
// Connect properties with ConfigFromProperties: a Runner can then create
// connectors of this class by configuration (REST, properties files).
func Plugin(pc PluginConfig) connect.Plugin {
	return connect.Plugin{
		Class: pc.Class, Aliases: pc.Aliases, Type: connect.TypeSource, Version: pc.Version, TaskClass: pc.TaskClass,
		Validate: func(connector map[string]string) []connect.ConfigIssue {
			var issues []connect.ConfigIssue
			if pc.Validate != nil {
				issues = pc.Validate(connector)
			}
			return append(issues, preflight(pc.Connector, connector)...)
		},
		Config: pc.Config, PasswordKeys: pc.PasswordKeys,
		New: func(ctx context.Context, worker, connector map[string]string) (connect.Pipeline, error) {
			cfg, err := ConfigFromProperties(worker, connector, PropertyOptions{
				NewTask: pc.NewTask, Connector: pc.Connector, Converters: pc.Converters,
				Transforms: pc.Transforms, OffsetStore: pc.OffsetStore,
			})
			if err != nil {
				return nil, err
			}
			cfg.Sarama = pc.Sarama
			cfg.TracerProvider = pc.TracerProvider
			cfg.Logger = connect.ContextLogger(ctx)
			return New(cfg)
		},
	}
}
