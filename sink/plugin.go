package sink

import (
	"context"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/transforms"
)

// PluginConfig describes a sink connector class for a runner.Runner (package connect/runner).
type PluginConfig struct {
	// Class is the connector.class value (required); Aliases further names.
	Class   string
	Aliases []string
	Version string
	// TaskClass is connect.Plugin.TaskClass (task.class in task configs).
	TaskClass string
	// NewTask builds a task (required).
	NewTask func() Task
	// Converters and Transforms default to the built-in registries.
	Converters *converters.Registry
	Transforms *transforms.Registry
	// Sarama is an optional base client configuration; TracerProvider
	// enables tracing.
	Sarama         *sarama.Config
	TracerProvider trace.TracerProvider
	// Validate and Config describe the connector's own keys (see
	// connect.Plugin).
	Validate     func(connector map[string]string) []connect.ConfigIssue
	Config       []connect.ConfigKey
	PasswordKeys []string
	// OffsetsAlterer is the connector's part in offsets alter and reset
	// requests (see Config.OffsetsAlterer); optional.
	OffsetsAlterer connect.OffsetsAlterer
}

// Plugin returns a connect.Plugin that builds sink pipelines from Kafka
// Connect properties with ConfigFromProperties: a Runner can then create
// connectors of this class by configuration (REST, properties files).
func Plugin(pc PluginConfig) connect.Plugin {
	return connect.Plugin{
		Class: pc.Class, Aliases: pc.Aliases, Type: connect.TypeSink, Version: pc.Version, TaskClass: pc.TaskClass,
		Validate: pc.Validate, Config: pc.Config, PasswordKeys: pc.PasswordKeys,
		New: func(ctx context.Context, worker, connector map[string]string) (connect.Pipeline, error) {
			cfg, err := ConfigFromProperties(worker, connector, PropertyOptions{
				NewTask: pc.NewTask, Converters: pc.Converters, Transforms: pc.Transforms,
			})
			if err != nil {
				return nil, err
			}
			cfg.Sarama = pc.Sarama
			cfg.TracerProvider = pc.TracerProvider
			cfg.OffsetsAlterer = pc.OffsetsAlterer
			cfg.Logger = connect.ContextLogger(ctx)
			return New(cfg)
		},
	}
}
