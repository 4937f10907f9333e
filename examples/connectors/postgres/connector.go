package postgres

import (
	"context"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/source"
)

// SourceConnector splits a source configuration into task configurations,
// as the JDBC source connector: the tables of table.whitelist are divided
// into at most tasks.max contiguous groups of nearly equal size (Kafka
// Connect's ConnectorUtils.groupPartitions), each task getting its group in
// the "tables" key; a query runs in one task. It does not connect to the
// database: a table that does not exist yet is waited for by its task. The
// zero value is ready to use.
type SourceConnector struct{}

var (
	_ source.Connector            = SourceConnector{}
	_ source.ExactlyOnceConnector = SourceConnector{}
)

// Validate checks config without connecting (see ValidateSourceConfig).
func (SourceConnector) Validate(config map[string]string) error {
	return ValidateSourceConfig(config)
}

// TaskConfigs returns the task configurations: copies of config, each with
// TablesConfig set to its share of table.whitelist (one copy for a query).
func (SourceConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	c, err := parseSourceConfig(config)
	if err != nil {
		return nil, err
	}
	if c.query != "" || maxTasks <= 1 {
		cfg := maps.Clone(config)
		if c.query == "" {
			cfg[TablesConfig] = strings.Join(c.tables, ",")
		}
		return []map[string]string{cfg}, nil
	}
	n := min(maxTasks, len(c.tables))
	per, extra := len(c.tables)/n, len(c.tables)%n
	out := make([]map[string]string, 0, n)
	start := 0
	for i := range n {
		size := per
		if i < extra {
			size++
		}
		cfg := maps.Clone(config)
		cfg[TablesConfig] = strings.Join(c.tables[start:start+size], ",")
		start += size
		out = append(out, cfg)
	}
	return out, nil
}

// ExactlyOnceSupport declares whether exactly-once delivery (KIP-618) holds
// for config's mode: source.ExactlyOnceSupported for incrementing and
// timestamp+incrementing, whose stored offset (the last id, or the last
// timestamp and id) makes the query after a restart return exactly the rows
// after those already written; source.ExactlyOnceUnsupported for timestamp
// alone, whose offset (a timestamp) does not tell the rows sharing it apart
// (the re-query "ts > last" skips any of them not read yet), and for any
// other mode (bulk re-reads every row, and Sluice refuses it). The mode is compared as parseSourceConfig does:
// trimmed, case insensitively. The connector does not define transaction
// boundaries (no CanDefineTransactionBoundaries, Kafka Connect's
// UNSUPPORTED default). It reads config only and is safe for concurrent
// use.
func (SourceConnector) ExactlyOnceSupport(_ context.Context, config map[string]string) source.ExactlyOnceSupport {
	switch strings.ToLower(strings.TrimSpace(config[ModeConfig])) {
	case ModeIncrementing, ModeTimestampIncrementing:
		return source.ExactlyOnceSupported
	}
	return source.ExactlyOnceUnsupported
}
