package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Class names of Confluent's JDBC connectors, for connector.class, and the
// names of Confluent Cloud's fully managed PostgreSQL connectors, which the
// same configurations may name.
const (
	SinkClass   = "io.confluent.connect.jdbc.JdbcSinkConnector"
	SourceClass = "io.confluent.connect.jdbc.JdbcSourceConnector"
	// SinkTaskClass and SourceTaskClass are the JDBC connectors' task
	// classes, for task.class in task configurations.
	SinkTaskClass   = "io.confluent.connect.jdbc.sink.JdbcSinkTask"
	SourceTaskClass = "io.confluent.connect.jdbc.source.JdbcSourceTask"
	PostgresSink    = "PostgresSink"
	PostgresSource  = "PostgresSource"
)

// SinkAliases and SourceAliases are the other names connector.class may use
// for the connectors: Kafka Connect's simple class name, that name without
// "Connector", and the Confluent Cloud name. Do not modify them.
var (
	SinkAliases   = []string{"JdbcSinkConnector", "JdbcSink", PostgresSink}
	SourceAliases = []string{"JdbcSourceConnector", "JdbcSource", PostgresSource}
)

// Configuration keys shared by the sink and the source, as the JDBC
// connectors'.
const (
	// ConnectionURLConfig is the database URL: postgres://user:pw@host:port/db?…,
	// the JDBC form jdbc:postgresql://host:port/db?user=…&password=…, or a
	// libpq keyword/value string ("host=… dbname=…"). Required.
	ConnectionURLConfig = "connection.url"
	// ConnectionUserConfig and ConnectionPasswordConfig override the URL's
	// user and password.
	ConnectionUserConfig     = "connection.user"
	ConnectionPasswordConfig = "connection.password"
	// ConnectionAttemptsConfig is how many times Start tries to connect
	// (default 3); ConnectionBackoffConfig the pause between attempts
	// (connection.backoff.ms, default 10000).
	ConnectionAttemptsConfig = "connection.attempts"
	ConnectionBackoffConfig  = "connection.backoff.ms"
	// DBTimezoneConfig is the time zone of timestamp (without time zone)
	// columns (default UTC); it is also the sessions' TimeZone.
	DBTimezoneConfig = "db.timezone"
	// QuoteIdentifiersConfig is quote.sql.identifiers: always (default)
	// quotes table and column names, never leaves them as written.
	QuoteIdentifiersConfig = "quote.sql.identifiers"
)

// Sink configuration keys, as the JDBC sink's (except offsets.table.name,
// Sluice's).
const (
	InsertModeConfig       = "insert.mode"
	PKModeConfig           = "pk.mode"
	PKFieldsConfig         = "pk.fields"
	FieldsWhitelistConfig  = "fields.whitelist"
	AutoCreateConfig       = "auto.create"
	AutoEvolveConfig       = "auto.evolve"
	TableNameFormatConfig  = "table.name.format"
	DeleteEnabledConfig    = "delete.enabled"
	BatchSizeConfig        = "batch.size"
	OffsetsTableNameConfig = "offsets.table.name"
)

// Source configuration keys, as the JDBC source's. TablesConfig is the
// per-task share of table.whitelist that SourceConnector hands to each task
// (the JDBC source's task key of the same name).
const (
	ModeConfig                   = "mode"
	IncrementingColumnNameConfig = "incrementing.column.name"
	TimestampColumnNameConfig    = "timestamp.column.name"
	TimestampDelayIntervalConfig = "timestamp.delay.interval.ms"
	TimestampInitialConfig       = "timestamp.initial"
	TableWhitelistConfig         = "table.whitelist"
	QueryConfig                  = "query"
	PollIntervalConfig           = "poll.interval.ms"
	BatchMaxRowsConfig           = "batch.max.rows"
	TopicPrefixConfig            = "topic.prefix"
	ValidateNonNullConfig        = "validate.non.null"
	TablesConfig                 = "tables"
)

// Defaults and limits.
const (
	defaultTableNameFormat    = "${topic}"
	defaultOffsetsTable       = "__sluice_offsets"
	defaultSinkBatchSize      = 3000
	defaultPollInterval       = 5 * time.Second
	defaultBatchMaxRows       = 100
	defaultConnectionAttempts = 3
	defaultConnectionBackoff  = 10 * time.Second
	maxIdentifierBytes        = 63 // PostgreSQL's NAMEDATALEN - 1
	unconstrainedNumericScale = 127
	timestampInitialCurrent   = -1
	applicationNamePrefix     = "sluice-"
	maxApplicationName        = 63
)

// Sink insert modes (insert.mode).
const (
	InsertModeInsert = "insert"
	InsertModeUpsert = "upsert"
	InsertModeUpdate = "update"
)

// Primary key modes (pk.mode).
const (
	PKModeNone        = "none"
	PKModeKafka       = "kafka"
	PKModeRecordKey   = "record_key"
	PKModeRecordValue = "record_value"
)

// Source modes (mode).
const (
	ModeIncrementing          = "incrementing"
	ModeTimestamp             = "timestamp"
	ModeTimestampIncrementing = "timestamp+incrementing"
)

// defaultKafkaPKNames are the columns of pk.mode=kafka, as the JDBC sink's.
var defaultKafkaPKNames = []string{"__connect_topic", "__connect_partition", "__connect_offset"}

// connConfig is the parsed connection part of a configuration.
type connConfig struct {
	url      string
	user     string
	password string
	hasUser  bool
	hasPass  bool
	attempts int
	backoff  time.Duration
	loc      *time.Location
	quote    bool
}

// props wraps a configuration map with typed getters that collect errors
// naming the key.
type props struct {
	m    map[string]string
	errs []error
}

func (p *props) str(key, def string) string {
	if v, ok := p.m[key]; ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *props) list(key string) []string {
	var out []string
	for _, s := range strings.Split(p.m[key], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *props) boolean(key string, def bool) bool {
	v, ok := p.m[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true
	case "false":
		return false
	}
	p.errs = append(p.errs, fmt.Errorf("%s: want true or false, got %q", key, v))
	return def
}

func (p *props) integer(key string, def, min int64) int64 {
	v, ok := p.m[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < min {
		p.errs = append(p.errs, fmt.Errorf("%s: want an integer >= %d, got %q", key, min, v))
		return def
	}
	return n
}

func (p *props) oneOf(key, def string, allowed ...string) string {
	v := strings.ToLower(p.str(key, def))
	if v == "" {
		v = def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.errs = append(p.errs, fmt.Errorf("%s: want one of %s, got %q", key, strings.Join(allowed, ", "), p.m[key]))
	return def
}

func (p *props) err() error { return errors.Join(p.errs...) }

// parseConn reads the connection keys.
func (p *props) parseConn() connConfig {
	c := connConfig{
		url:      p.str(ConnectionURLConfig, ""),
		attempts: int(p.integer(ConnectionAttemptsConfig, defaultConnectionAttempts, 1)),
		backoff:  time.Duration(p.integer(ConnectionBackoffConfig, int64(defaultConnectionBackoff/time.Millisecond), 0)) * time.Millisecond,
		quote:    p.oneOf(QuoteIdentifiersConfig, "always", "always", "never") == "always",
		loc:      time.UTC,
	}
	c.user, c.hasUser = p.m[ConnectionUserConfig]
	c.password, c.hasPass = p.m[ConnectionPasswordConfig]
	if c.hasUser && strings.TrimSpace(c.user) == "" {
		c.hasUser = false
	}
	if c.hasPass && c.password == "" {
		c.hasPass = false
	}
	if c.url == "" {
		p.errs = append(p.errs, errors.New(ConnectionURLConfig+": required"))
	} else if _, err := c.poolConfig("check"); err != nil {
		p.errs = append(p.errs, err)
	}
	if tz := p.str(DBTimezoneConfig, "UTC"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("%s: unknown time zone %q", DBTimezoneConfig, tz))
		} else {
			c.loc = loc
		}
	}
	return c
}

// poolConfig builds the pgx pool configuration: the URL (a "jdbc:" prefix
// is dropped), user and password overrides, the session time zone and an
// application_name naming the connector.
func (c connConfig) poolConfig(appName string) (*pgxpool.Config, error) {
	u := strings.TrimPrefix(c.url, "jdbc:")
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("%s: cannot parse the PostgreSQL URL: %s", ConnectionURLConfig, redactURLError(err, c.password))
	}
	cc := cfg.ConnConfig
	if c.hasUser {
		cc.User = c.user
	}
	if c.hasPass {
		cc.Password = c.password
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	tz := "UTC"
	if c.loc != nil {
		tz = c.loc.String()
	}
	cc.RuntimeParams["timezone"] = tz
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		name := applicationNamePrefix + appName
		if len(name) > maxApplicationName {
			name = name[:maxApplicationName]
		}
		cc.RuntimeParams["application_name"] = name
	}
	return cfg, nil
}

// redactURLError returns err's text without the password, if any.
func redactURLError(err error, password string) string {
	s := err.Error()
	if password != "" {
		s = strings.ReplaceAll(s, password, "xxxxx")
	}
	return s
}

// sinkConfig is a parsed sink configuration.
type sinkConfig struct {
	conn            connConfig
	insertMode      string
	pkMode          string
	pkFields        []string
	fieldsWhitelist map[string]bool
	autoCreate      bool
	autoEvolve      bool
	tableFormat     string
	deleteEnabled   bool
	batchSize       int
	offsetsTable    string
}

// parseSinkConfig reads and checks the sink keys; errors name the key.
func parseSinkConfig(m map[string]string) (sinkConfig, error) {
	p := &props{m: m}
	c := sinkConfig{
		conn:          p.parseConn(),
		insertMode:    p.oneOf(InsertModeConfig, InsertModeInsert, InsertModeInsert, InsertModeUpsert, InsertModeUpdate),
		pkMode:        p.oneOf(PKModeConfig, PKModeNone, PKModeNone, PKModeKafka, PKModeRecordKey, PKModeRecordValue),
		pkFields:      p.list(PKFieldsConfig),
		autoCreate:    p.boolean(AutoCreateConfig, false),
		autoEvolve:    p.boolean(AutoEvolveConfig, false),
		tableFormat:   p.str(TableNameFormatConfig, defaultTableNameFormat),
		deleteEnabled: p.boolean(DeleteEnabledConfig, false),
		batchSize:     int(p.integer(BatchSizeConfig, defaultSinkBatchSize, 1)),
		offsetsTable:  p.str(OffsetsTableNameConfig, defaultOffsetsTable),
	}
	if c.tableFormat == "" {
		c.tableFormat = defaultTableNameFormat
	}
	if c.offsetsTable == "" {
		p.errs = append(p.errs, errors.New(OffsetsTableNameConfig+": must not be empty"))
	}
	if wl := p.list(FieldsWhitelistConfig); len(wl) > 0 {
		c.fieldsWhitelist = make(map[string]bool, len(wl))
		for _, f := range wl {
			c.fieldsWhitelist[f] = true
		}
	}
	if c.deleteEnabled && c.pkMode != PKModeRecordKey {
		p.errs = append(p.errs, fmt.Errorf("%s: deletes need %s=%s, got %s", DeleteEnabledConfig, PKModeConfig, PKModeRecordKey, c.pkMode))
	}
	if c.pkMode == PKModeNone && (c.insertMode == InsertModeUpsert || c.insertMode == InsertModeUpdate) {
		p.errs = append(p.errs, fmt.Errorf("%s: %s needs primary key columns, but %s=none", InsertModeConfig, c.insertMode, PKModeConfig))
	}
	if c.pkMode == PKModeKafka && len(c.pkFields) != 0 && len(c.pkFields) != 3 {
		p.errs = append(p.errs, fmt.Errorf("%s: with %s=kafka name no field (for the defaults %s) or exactly 3, got %d", PKFieldsConfig, PKModeConfig, strings.Join(defaultKafkaPKNames, ","), len(c.pkFields)))
	}
	if c.pkMode == PKModeKafka && len(c.pkFields) == 0 {
		c.pkFields = defaultKafkaPKNames
	}
	return c, p.err()
}

// sourceConfig is a parsed source configuration.
type sourceConfig struct {
	conn             connConfig
	mode             string
	incColumn        string
	tsColumns        []string
	tsDelay          time.Duration
	tsInitial        int64 // ms since the epoch; timestampInitialCurrent = now; 0 = epoch
	hasTSInitial     bool
	tables           []string
	query            string
	pollInterval     time.Duration
	batchMaxRows     int
	topicPrefix      string
	validateNonNull  bool
	usesIncrementing bool
	usesTimestamp    bool
}

// parseSourceConfig reads and checks the source keys; errors name the key.
// The tables are TablesConfig when set (a task's share), else
// table.whitelist.
func parseSourceConfig(m map[string]string) (sourceConfig, error) {
	p := &props{m: m}
	c := sourceConfig{
		conn:            p.parseConn(),
		incColumn:       p.str(IncrementingColumnNameConfig, ""),
		tsColumns:       p.list(TimestampColumnNameConfig),
		tsDelay:         time.Duration(p.integer(TimestampDelayIntervalConfig, 0, 0)) * time.Millisecond,
		query:           p.str(QueryConfig, ""),
		pollInterval:    time.Duration(p.integer(PollIntervalConfig, int64(defaultPollInterval/time.Millisecond), 1)) * time.Millisecond,
		batchMaxRows:    int(p.integer(BatchMaxRowsConfig, defaultBatchMaxRows, 1)),
		topicPrefix:     p.str(TopicPrefixConfig, ""),
		validateNonNull: p.boolean(ValidateNonNullConfig, true),
	}
	if v, ok := m[TimestampInitialConfig]; ok && strings.TrimSpace(v) != "" {
		c.tsInitial = p.integer(TimestampInitialConfig, 0, timestampInitialCurrent)
		c.hasTSInitial = true
	}
	switch mode := strings.ToLower(p.str(ModeConfig, "")); mode {
	case ModeIncrementing:
		c.usesIncrementing = true
	case ModeTimestamp:
		c.usesTimestamp = true
	case ModeTimestampIncrementing:
		c.usesIncrementing, c.usesTimestamp = true, true
	case "":
		p.errs = append(p.errs, fmt.Errorf("%s: required (%s, %s or %s)", ModeConfig, ModeIncrementing, ModeTimestamp, ModeTimestampIncrementing))
	case "bulk":
		p.errs = append(p.errs, fmt.Errorf("%s: bulk is not supported by Sluice's PostgreSQL source; use %s, %s or %s", ModeConfig, ModeIncrementing, ModeTimestamp, ModeTimestampIncrementing))
	default:
		p.errs = append(p.errs, fmt.Errorf("%s: want %s, %s or %s, got %q", ModeConfig, ModeIncrementing, ModeTimestamp, ModeTimestampIncrementing, m[ModeConfig]))
	}
	c.mode = strings.ToLower(p.str(ModeConfig, ""))
	if c.usesTimestamp && len(c.tsColumns) == 0 {
		p.errs = append(p.errs, fmt.Errorf("%s: required in mode %s", TimestampColumnNameConfig, c.mode))
	}
	if _, ok := m[TablesConfig]; ok {
		c.tables = p.list(TablesConfig)
	} else {
		c.tables = p.list(TableWhitelistConfig)
	}
	switch {
	case c.query != "" && len(c.tables) > 0:
		p.errs = append(p.errs, fmt.Errorf("%s and %s: only one of them may be set", TableWhitelistConfig, QueryConfig))
	case c.query == "" && len(c.tables) == 0:
		p.errs = append(p.errs, fmt.Errorf("%s or %s: one of them is required", TableWhitelistConfig, QueryConfig))
	}
	if c.query != "" && c.usesIncrementing && c.incColumn == "" {
		p.errs = append(p.errs, fmt.Errorf("%s: required with %s (it cannot be detected from a query)", IncrementingColumnNameConfig, QueryConfig))
	}
	if c.query != "" && c.topicPrefix == "" {
		p.errs = append(p.errs, fmt.Errorf("%s: required with %s (it is the topic)", TopicPrefixConfig, QueryConfig))
	}
	return c, p.err()
}

// ValidateSinkConfig checks a sink configuration without connecting; errors
// name the key ("connection.url: required").
func ValidateSinkConfig(config map[string]string) error {
	_, err := parseSinkConfig(config)
	return err
}

// ValidateSourceConfig checks a source configuration without connecting;
// errors name the key.
func ValidateSourceConfig(config map[string]string) error {
	_, err := parseSourceConfig(config)
	return err
}
