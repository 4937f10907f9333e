package filestream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/source"
)

// Kafka's class names of the FileStream connectors, for connector.class.
const (
	SourceClass = "org.apache.kafka.connect.file.FileStreamSourceConnector"
	SinkClass   = "org.apache.kafka.connect.file.FileStreamSinkConnector"
	// SourceTaskClass and SinkTaskClass are Kafka's class names of their
	// tasks, for task.class in task configurations.
	SourceTaskClass = "org.apache.kafka.connect.file.FileStreamSourceTask"
	SinkTaskClass   = "org.apache.kafka.connect.file.FileStreamSinkTask"
)

// SourceAliases and SinkAliases are the other names Kafka Connect accepts for
// the connector classes (the simple class name, and that name without
// "Connector"). Do not modify them.
var (
	SourceAliases = []string{"FileStreamSourceConnector", "FileStreamSource"}
	SinkAliases   = []string{"FileStreamSinkConnector", "FileStreamSink"}
)

// Configuration keys, as Kafka's.
const (
	// FileConfig is the file to read (source) or append to (sink); empty
	// or absent selects standard input or output.
	FileConfig = "file"
	// TopicConfig is the topic the source publishes to (required).
	TopicConfig = "topic"
	// BatchSizeConfig is the maximum number of lines the source returns
	// per Poll.
	BatchSizeConfig = "batch.size"
)

// DefaultBatchSize is batch.size's default, as Kafka's.
const DefaultBatchSize = 2000

// Field names of the source partition ({"filename": file}) and offset
// ({"position": n}), as Kafka's.
const (
	FilenameField = "filename"
	PositionField = "position"
)

// sourceConfig is a parsed source configuration.
type sourceConfig struct {
	file      string // as configured: it is the source partition
	topic     string
	batchSize int
}

// parseSourceConfig reads and checks the source keys; errors name the key.
func parseSourceConfig(props map[string]string) (sourceConfig, error) {
	c := sourceConfig{
		file:      props[FileConfig],
		topic:     strings.TrimSpace(props[TopicConfig]),
		batchSize: DefaultBatchSize,
	}
	var errs []error
	if c.topic == "" {
		errs = append(errs, errors.New(TopicConfig+": required"))
	}
	if v, ok := props[BatchSizeConfig]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s: want an integer >= 1, got %q", BatchSizeConfig, v))
		} else {
			c.batchSize = int(n)
		}
	}
	return c, errors.Join(errs...)
}

// SourceConnector is the FileStream source connector: it checks the
// configuration and hands it to exactly one task, whatever tasks.max says,
// as Kafka's FileStreamSourceConnector (one input stream cannot be split).
// The zero value is ready to use.
type SourceConnector struct{}

var (
	_ source.Connector            = SourceConnector{}
	_ source.ExactlyOnceConnector = SourceConnector{}
)

// Validate checks config: topic must be set and batch.size, when set, an
// integer >= 1. Errors name the key ("topic: required").
func (SourceConnector) Validate(config map[string]string) error {
	_, err := parseSourceConfig(config)
	return err
}

// TaskConfigs returns one task configuration, a copy of config, after
// Validate accepted it.
func (c SourceConnector) TaskConfigs(_ context.Context, config map[string]string, _ int) ([]map[string]string, error) {
	if err := c.Validate(config); err != nil {
		return nil, err
	}
	return []map[string]string{maps.Clone(config)}, nil
}

// ExactlyOnceSupport declares exactly-once support as Kafka's
// FileStreamSourceConnector does: ExactlyOnceSupported when file is set
// (the position in the file is a deterministic offset to resume from), and
// ExactlyOnceUnsupported for standard input, which has no offsets. The
// value is trimmed, as Kafka's configuration is. The connector does not
// define transaction boundaries (no CanDefineTransactionBoundaries, Kafka's
// UNSUPPORTED default).
func (SourceConnector) ExactlyOnceSupport(_ context.Context, config map[string]string) source.ExactlyOnceSupport {
	if strings.TrimSpace(config[FileConfig]) != "" {
		return source.ExactlyOnceSupported
	}
	return source.ExactlyOnceUnsupported
}
