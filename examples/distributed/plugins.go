package main

import (
	"log/slog"
	"regexp"
	"strings"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/examples/connectors/filestream"
	"github.com/sluicehq/sluice/examples/connectors/postgres"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// plugins returns the connector classes the worker knows, the same as
// examples/standalone's: connector.class may name them by class, alias or
// Kafka's short forms. Every member of a cluster must know every class
// the cluster runs. The source plugins get no offset store of their own:
// each pipeline opens the store the worker's offset.storage.* keys name,
// the cluster's offsets topic. log receives the tasks' logs; base is the
// Kafka client configuration (nil: the project default).
func plugins(log *slog.Logger, base *sarama.Config) []connect.Plugin {
	return []connect.Plugin{
		// Kafka's FileStream connectors (examples/connectors/filestream).
		source.Plugin(source.PluginConfig{
			Class:     filestream.SourceClass,
			Aliases:   filestream.SourceAliases,
			NewTask:   func() source.Task { return &filestream.SourceTask{Logger: log} },
			Connector: filestream.SourceConnector{},
			Sarama:    base,
			Validate:  issues(filestream.SourceConnector{}.Validate),
		}),
		sink.Plugin(sink.PluginConfig{
			Class:          filestream.SinkClass,
			TaskClass:      filestream.SinkTaskClass,
			Aliases:        filestream.SinkAliases,
			NewTask:        func() sink.Task { return &filestream.SinkTask{Logger: log} },
			Sarama:         base,
			OffsetsAlterer: filestream.SinkConnector{},
		}),

		// PostgreSQL, with Confluent's JDBC connector classes
		// (examples/connectors/postgres).
		source.Plugin(source.PluginConfig{
			Class:     postgres.SourceClass,
			Aliases:   postgres.SourceAliases,
			NewTask:   func() source.Task { return &postgres.SourceTask{Logger: log} },
			Connector: postgres.SourceConnector{},
			Sarama:    base,
			Validate:  issues(postgres.ValidateSourceConfig),
		}),
		sink.Plugin(sink.PluginConfig{
			Class:     postgres.SinkClass,
			TaskClass: postgres.SinkTaskClass,
			Aliases:   postgres.SinkAliases,
			NewTask:   func() sink.Task { return &postgres.SinkTask{Logger: log} },
			Sarama:    base,
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

// leafErrors flattens err's tree of joined errors into its leaves.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if e, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, x := range e.Unwrap() {
			out = append(out, leafErrors(x)...)
		}
		return out
	}
	return []error{err}
}
