package sink

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/transforms"
)

// Defaults, as Kafka Connect's where it has the setting.
const (
	DefaultOffsetFlushInterval = 60 * time.Second // offset.flush.interval.ms
	DefaultShutdownTimeout     = 5 * time.Second  // task.shutdown.graceful.timeout.ms
	DefaultBatchSize           = 500              // consumer max.poll.records
	// DefaultMaxBufferedRecords bounds what a fast fetch piles up ahead of
	// a slower task: records buffered cost about twice their bytes (the
	// fetch responses they alias and sarama's decoded records). It was
	// 200 000 while pausing cost sarama's consumer a 100 ms back-off (at
	// 10 000 a fast sink ran at 0.42× a bare group); the task's fetcher
	// (kfetch) resumes at once, and at 200 000 it made the FileStream
	// sink's peak RSS 130 MiB. 50 000 leaves a fast task a few fetches of
	// slack.
	DefaultMaxBufferedRecords = 50000
	DefaultMaxBufferedBytes   = 64 << 20
	DefaultTopicsRefresh      = 5 * time.Minute // consumer metadata.max.age.ms
	// The consumer group defaults when Config.Sarama is nil: Kafka Connect's
	// (the Java consumer's) session.timeout.ms, heartbeat.interval.ms and
	// max.poll.interval.ms. A member that died without leaving the group
	// holds its partitions until its session expires; a JoinGroup may take
	// max.poll.interval.ms + 5 s.
	DefaultSessionTimeout    = 45 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultMaxPollInterval   = 300 * time.Second
)

// Config configures a sink pipeline. The zero value of every optional field
// selects a default; Name, Brokers, NewTask and exactly one of Topics and
// TopicsRegex are required. Call Validate (New does) before use.
type Config struct {
	// Name is the connector name; the consumer group is "connect-<Name>"
	// unless GroupID is set.
	Name string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// NewTask returns a new task instance; it is called once per task (and
	// again when a task restarts).
	NewTask func() Task
	// TasksMax is the number of tasks (tasks.max, default 1). Each task is
	// a member of the consumer group with its own share of the partitions.
	TasksMax int
	// Properties is the connector's own configuration, handed to every task
	// (TaskContext.Config).
	Properties map[string]string

	// Topics lists the topics to consume (topics).
	Topics []string
	// TopicsRegex selects the topics to consume by a regular expression
	// matched against whole topic names (topics.regex). Topics created later
	// are picked up within TopicsRefresh.
	TopicsRegex string
	// TopicsRefresh is how often the topic list is re-evaluated against
	// TopicsRegex (default 5 minutes, as metadata.max.age.ms).
	TopicsRefresh time.Duration
	// GroupID overrides the consumer group id (default "connect-<Name>",
	// also settable as consumer.override.group.id).
	GroupID string

	// KeyConverter and ValueConverter deserialise keys and values (default:
	// the ByteArray converter). HeaderConverter deserialises header values
	// (default: SimpleHeaderConverter).
	KeyConverter    converters.Converter
	ValueConverter  converters.Converter
	HeaderConverter converters.HeaderConverter
	// Transforms is applied to every consumed record after conversion (a
	// *transforms.Chain, or any Transformation); nil passes records through.
	// A record it drops still counts as processed for offset commits.
	Transforms transforms.Transformation

	// Errors is the errors.* configuration (Kafka Connect's): conversion
	// and transformation failures are retried under errors.retry.timeout
	// and then fail the task (errors.tolerance=none) or are skipped (all);
	// either way they are first reported to the error log
	// (errors.log.enable) and the dead-letter queue
	// (errors.deadletterqueue.topic.name), which receives the consumed
	// record's original bytes. The records a Put reports as failed (a
	// *connect.BatchError) and those a task hands to TaskContext.Report are
	// routed the same way. A whole batch that Put fails with a retriable
	// error is redelivered with the same backoff
	// (errors.retry.delay.max.ms), without limit unless TaskRetryTimeout
	// bounds it; any other Put error fails the task.
	Errors sluiceerrors.Config
	// Restart restarts failed tasks with backoff (a Sluice extension; off
	// by default). A restarted task rejoins the consumer group and resumes
	// from the committed offsets.
	Restart sluiceerrors.RestartPolicy

	// BatchSize is the maximum number of records per Put (default 500, or
	// consumer.override.max.poll.records).
	BatchSize int
	// Linger is how long to wait for a full batch when fewer records are
	// buffered; 0 (the default) hands over whatever is buffered at once.
	Linger time.Duration
	// MaxBufferedRecords and MaxBufferedBytes bound the records fetched but
	// not yet handed to Put; when either is reached the partitions are
	// paused (the consumer keeps its group membership) until Put drains the
	// buffer. The bound is soft by at most one fetch per partition.
	MaxBufferedRecords int
	MaxBufferedBytes   int64

	// OffsetFlushInterval is the commit period (offset.flush.interval.ms).
	OffsetFlushInterval time.Duration
	// OffsetFlushTimeout bounds how long one offset commit retries the
	// group coordinator while it is away, moving or loading
	// (offset.flush.timeout.ms, default DefaultOffsetFlushTimeout). A commit
	// that still fails is counted (connect.TaskStatus.OffsetCommitFailures) and its
	// offsets are committed by the next commit.
	OffsetFlushTimeout time.Duration
	// TaskRetryTimeout bounds how long a batch whose Put failed with a
	// retriable error (connect.Retriable) is redelivered, with the
	// errors.retry.* backoff. Zero, the default, or negative redelivers
	// without limit, as Kafka Connect does for a RetriableException from
	// put (errors.retry.timeout governs converters and transforms only).
	// When the bound is reached the task fails. Property:
	// sluice.task.retry.timeout.ms (0 or -1: without limit).
	TaskRetryTimeout time.Duration
	// ShutdownTimeout bounds the graceful stop (task.shutdown.graceful.timeout.ms):
	// after it the context of the running task call is cancelled and the
	// final commit is skipped, as Kafka Connect's task cancellation.
	ShutdownTimeout time.Duration

	// Sarama is an optional base consumer configuration (it is copied).
	// Sluice forces manual commits and returned errors, and gives the
	// group member's client a Net.ReadTimeout of at least
	// Consumer.Group.Rebalance.Timeout + 5 s (the JoinGroup allowance).
	// When nil, the consumer group defaults are Kafka Connect's
	// (DefaultSessionTimeout, DefaultHeartbeatInterval,
	// DefaultMaxPollInterval).
	Sarama *sarama.Config
	// ConsumerProps are Kafka consumer properties (consumer.override.*
	// without the prefix) applied on top: auto.offset.reset (default
	// earliest), partition.assignment.strategy (default cooperative-sticky),
	// session.timeout.ms (default 45000), heartbeat.interval.ms (default
	// 3000), max.poll.interval.ms (default 300000; sarama's rebalance
	// timeout: how long a revoked partition may take to finish its Put,
	// commit and Close, and, + 5 s, how long a JoinGroup may take),
	// request.timeout.ms (sarama's Net.ReadTimeout, default 30000),
	// max.poll.records, group.id, fetch.*, isolation.level, client.id, and
	// the client security keys (security.protocol, ssl.*, sasl.*: TLS with
	// PEM, PKCS12 or JKS stores, SASL PLAIN, SCRAM and OAUTHBEARER), which replace
	// Sarama's TLS and SASL settings when present. The security settings
	// also secure the task's dead-letter queue producer and admin clients,
	// which start from the consumer's configuration unless ProducerProps
	// or AdminProps is set.
	ConsumerProps map[string]string
	// ProducerProps are Kafka producer properties for the task's
	// dead-letter queue producer (Kafka Connect's producer.* and
	// producer.override.*, prefix stripped): the security keys and the
	// other keys source.Config.ProducerProps maps (acks, idempotence and
	// in-flight requests stay the dead-letter queue's own). They apply to
	// a copy of the consumer's configuration, whose security settings
	// stand, unless they hold a security key: then to Sarama (or Sluice's
	// defaults). ConfigFromProperties sets them from producer.* and
	// producer.override.*.
	ProducerProps map[string]string
	// AdminProps are Kafka admin client properties for the task's admin
	// clients: the one that creates the dead-letter queue topic, and the
	// one offset management (ListOffsets, AlterOffsets, ResetOffsets)
	// uses. These keys apply: the security keys, client.id,
	// request.timeout.ms, default.api.timeout.ms, retries and
	// retry.backoff.ms (other keys are ignored with a warning), to a copy
	// of the consumer's configuration, whose security settings stand,
	// unless they hold a security key: then to Sarama (or Sluice's
	// defaults). ConfigFromProperties sets them as Kafka Connect composes
	// an admin client's properties: the worker's top-level keys, then
	// admin.*, then the connector's admin.override.*.
	AdminProps map[string]string
	// Logger receives the pipeline's logs (default slog.Default()), with
	// connector and task attributes added. Under a runner.Runner, the
	// logger its builders get (connect.ContextLogger, which the plugins'
	// builds set here; a BuildFunc of your own should too) masks the
	// connector's secrets in every line and in the dead-letter queue's
	// exception headers; a Logger of your own here does neither.
	Logger *slog.Logger
	// TracerProvider, when set, traces the pipeline: a span per Put batch
	// (a child of the trace a source pipeline started, read from the first
	// record's "traceparent" header, with links to the other traces in the
	// batch; Put's ctx carries the span) and per offset commit. Nil
	// disables tracing at no cost.
	TracerProvider trace.TracerProvider
	// OffsetsAlterer, when set, is the connector's part in offsets alter
	// and reset requests (Kafka Connect's SinkConnector.alterOffsets; see
	// connect.OffsetsAlterer and Pipeline.AlterConnectorOffsets).
	OffsetsAlterer connect.OffsetsAlterer
}

func (c *Config) setDefaults() {
	if c.TasksMax == 0 {
		c.TasksMax = 1
	}
	if c.KeyConverter == nil {
		c.KeyConverter = converters.NewByteArray()
	}
	if c.ValueConverter == nil {
		c.ValueConverter = converters.NewByteArray()
	}
	if c.HeaderConverter == nil {
		c.HeaderConverter = converters.NewSimpleHeader()
	}
	if c.GroupID == "" {
		if g := strings.TrimSpace(c.ConsumerProps["group.id"]); g != "" {
			c.GroupID = g
		} else if c.Name != "" {
			c.GroupID = "connect-" + c.Name
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
		if v, ok := c.ConsumerProps["max.poll.records"]; ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				c.BatchSize = n
			}
		}
	}
	if c.MaxBufferedRecords == 0 {
		c.MaxBufferedRecords = max(DefaultMaxBufferedRecords, 2*c.BatchSize)
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.OffsetFlushInterval == 0 {
		c.OffsetFlushInterval = DefaultOffsetFlushInterval
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.OffsetFlushTimeout == 0 {
		c.OffsetFlushTimeout = DefaultOffsetFlushTimeout
	}
	if c.TopicsRefresh == 0 {
		c.TopicsRefresh = DefaultTopicsRefresh
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every invalid setting, naming it by its Kafka Connect
// property name where there is one.
func (c *Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name: a connector name is required"))
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("bootstrap.servers: at least one broker address is required"))
	}
	if c.NewTask == nil {
		errs = append(errs, errors.New("NewTask: a task constructor is required"))
	}
	if c.TasksMax < 0 {
		errs = append(errs, fmt.Errorf("tasks.max: must be >= 1, got %d", c.TasksMax))
	}
	switch {
	case len(c.Topics) > 0 && c.TopicsRegex != "":
		errs = append(errs, errors.New("topics and topics.regex: only one of them may be set"))
	case len(c.Topics) == 0 && c.TopicsRegex == "":
		errs = append(errs, errors.New("topics or topics.regex: one of them is required"))
	}
	for _, t := range c.Topics {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, errors.New("topics: empty topic name"))
			break
		}
	}
	topicsRE, err := topicsPattern(c.TopicsRegex)
	if err != nil {
		errs = append(errs, fmt.Errorf("topics.regex: %w", err))
	}
	if v, ok := c.ConsumerProps["max.poll.records"]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("consumer.override.max.poll.records: want an integer >= 1, got %q", v))
		}
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch.size: must be >= 1, got %d", c.BatchSize))
	}
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("linger.ms: must be >= 0, got %s", c.Linger))
	}
	if c.MaxBufferedRecords < 0 || c.MaxBufferedBytes < 0 {
		errs = append(errs, errors.New("max buffered records and bytes must be >= 0"))
	}
	if c.OffsetFlushInterval < 0 {
		errs = append(errs, fmt.Errorf("offset.flush.interval.ms: must be >= 0, got %s", c.OffsetFlushInterval))
	}
	if c.OffsetFlushTimeout < 0 {
		errs = append(errs, fmt.Errorf("offset.flush.timeout.ms: must be >= 0, got %s", c.OffsetFlushTimeout))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("task.shutdown.graceful.timeout.ms: must be >= 0, got %s", c.ShutdownTimeout))
	}
	if err := c.Errors.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Restart.Validate(); err != nil {
		errs = append(errs, err)
	}
	if dlq := c.Errors.DLQTopic; dlq != "" {
		// Kafka Connect refuses this too: the task would consume its own
		// dead letters.
		if slices.Contains(c.Topics, dlq) {
			errs = append(errs, fmt.Errorf("errors.deadletterqueue.topic.name: %q is also listed in topics", dlq))
		} else if topicsRE != nil && topicsRE.MatchString(dlq) {
			errs = append(errs, fmt.Errorf("errors.deadletterqueue.topic.name: %q matches topics.regex", dlq))
		}
	}
	if c.TopicsRefresh < 0 {
		errs = append(errs, fmt.Errorf("metadata.max.age.ms: must be >= 0, got %s", c.TopicsRefresh))
	}
	return errors.Join(errs...)
}
