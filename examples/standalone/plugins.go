package main

import (
	"log/slog"
	"regexp"
	"strings"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/examples/connectors/postgres"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// pluginEnv is what the worker's plugins are built with.
type pluginEnv struct {
	// store is the worker's source offset store, shared by every source
	// connector as a Kafka Connect worker's is.
	store offsets.Store
	// log receives the tasks' logs.
	log *slog.Logger
	// sarama is the base client configuration (nil: the project default).
	sarama *sarama.Config
}

// plugins returns the connector classes the worker knows: connector.class
// may name them by class, alias or Kafka's short forms. Add a connector
// here to make it available to connector files and the REST API.
func plugins(env pluginEnv) []connect.Plugin {
	return []connect.Plugin{
		// Kafka's FileStream connectors (examples/connectors/filestream).
		source.Plugin(source.PluginConfig{
			Class:       filestream.SourceClass,
			TaskClass:   filestream.SourceTaskClass,
			Aliases:     filestream.SourceAliases,
			NewTask:     func() source.Task { return &filestream.SourceTask{Logger: env.log} },
			Connector:   filestream.SourceConnector{},
			OffsetStore: env.store,
			Sarama:      env.sarama,
			Validate:    issues(filestream.SourceConnector{}.Validate),
		}),
		sink.Plugin(sink.PluginConfig{
			Class:          filestream.SinkClass,
			TaskClass:      filestream.SinkTaskClass,
			Aliases:        filestream.SinkAliases,
			NewTask:        func() sink.Task { return &filestream.SinkTask{Logger: env.log} },
			Sarama:         env.sarama,
			OffsetsAlterer: filestream.SinkConnector{},
		}),

		// PostgreSQL, with Confluent's JDBC connector classes
		// (examples/connectors/postgres).
		source.Plugin(source.PluginConfig{
			Class:       postgres.SourceClass,
			TaskClass:   postgres.SourceTaskClass,
			Aliases:     postgres.SourceAliases,
			NewTask:     func() source.Task { return &postgres.SourceTask{Logger: env.log} },
			Connector:   postgres.SourceConnector{},
			OffsetStore: env.store,
			Sarama:      env.sarama,
			Validate:    issues(postgres.ValidateSourceConfig),
		}),
		sink.Plugin(sink.PluginConfig{
			Class:     postgres.SinkClass,
			TaskClass: postgres.SinkTaskClass,
			Aliases:   postgres.SinkAliases,
			NewTask:   func() sink.Task { return &postgres.SinkTask{Logger: env.log} },
			Sarama:    env.sarama,
			Validate:  issues(postgres.ValidateSinkConfig),
		}),
	}
}

// issueKey matches the "key: message" form of the connectors' errors.
var issueKey = regexp.MustCompile(`^([A-Za-z0-9_.\-]+): (.+)$`)

// issues adapts a connector's validation function, whose errors name their
// key ("topic: required"), to connect.Plugin.Validate.
func issues(validate func(map[string]string) error) func(map[string]string) []connect.ConfigIssue {
	return func(config map[string]string) []connect.ConfigIssue {
		var out []connect.ConfigIssue
		for _, err := range leafErrors(validate(config)) {
			msg := err.Error()
			if m := issueKey.FindStringSubmatch(msg); m != nil {
				out = append(out, connect.ConfigIssue{Key: m[1], Message: m[2]})
				continue
			}
			out = append(out, connect.ConfigIssue{Key: "connector.class", Message: strings.TrimSpace(msg)})
		}
		return out
	}
}
