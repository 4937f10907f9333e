package source

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/transforms"
	"go.opentelemetry.io/otel/trace"
)

// Defaults, as Kafka Connect's where it has the setting.
const (
	DefaultOffsetFlushInterval = 60 * time.Second // offset.flush.interval.ms
	DefaultOffsetFlushTimeout  = 5 * time.Second  // offset.flush.timeout.ms
	DefaultShutdownTimeout     = 5 * time.Second  // task.shutdown.graceful.timeout.ms
	DefaultCommitEveryRecords  = 10000
	DefaultCommitEveryBytes    = 16 << 20
	DefaultMaxInFlightRecords  = 20000
	DefaultMaxInFlightBytes    = 64 << 20
	// DefaultOffsetCommitFailureTimeout is OffsetCommitFailureTimeout's
	// default (sluice.offset.commit.failure.timeout.ms).
	DefaultOffsetCommitFailureTimeout = 5 * time.Minute
)

// TopicCreation configures KIP-158 topic creation: when set, a topic a record
// is about to be written to is described before the first produce and
// created with these settings only if it is missing (as Kafka Connect's
// WorkerSourceTask: a principal without CREATE permission works with topics
// that exist). A retriable failure (brokers away) is retried until the task
// stops, shown as the task's StallError. Without it the broker's
// auto-creation policy applies.
type TopicCreation struct {
	// Partitions is the partition count; -1 uses the broker default.
	Partitions int32
	// ReplicationFactor is the replication factor; -1 uses the broker
	// default.
	ReplicationFactor int16
	// Configs are topic configs (e.g. "cleanup.policy": "compact").
	Configs map[string]string
}

// Config configures a source pipeline. The zero value of every optional field
// selects a default; Name, Brokers and NewTask are required. Call Validate (New
// does) before use.
type Config struct {
	// Name is the connector name: the namespace of its offsets.
	Name string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// NewTask returns a new task instance; it is called once per task (and
	// again when a task restarts).
	NewTask func() Task
	// Connector optionally splits Properties into per-task configurations;
	// without it each task gets Properties.
	Connector Connector
	// TasksMax is the maximum number of tasks (tasks.max, default 1).
	TasksMax int
	// Properties is the connector's own configuration, handed to the
	// Connector and tasks.
	Properties map[string]string

	// KeyConverter and ValueConverter serialise keys and values (default:
	// the ByteArray converter). HeaderConverter serialises header values
	// (default: SimpleHeaderConverter).
	KeyConverter    converters.Converter
	ValueConverter  converters.Converter
	HeaderConverter converters.HeaderConverter
	// Transforms is applied to every polled record (a *transforms.Chain, or
	// any Transformation); nil passes records through.
	Transforms transforms.Transformation

	// OffsetStore, when set, stores committed source offsets; the caller
	// opens and closes it, and may share it between pipelines (a Kafka
	// Connect worker shares one). Use offsets.NewMemoryStore() only where
	// offsets may be lost: it forgets them when the process exits.
	OffsetStore offsets.Store
	// OffsetStorage selects the store the pipeline opens itself when
	// OffsetStore is nil, and closes when Run returns. The zero value is
	// Kafka Connect distributed's default: the compacted topic
	// offsets.DefaultTopic ("connect-offsets") on Brokers, created if
	// missing (25 partitions, replication factor 3, lowered with a warning
	// on a cluster with fewer brokers), so offsets survive restarts and
	// every replica of the pipeline sees them. Properties:
	// offset.storage.topic, offset.storage.partitions,
	// offset.storage.replication.factor, or offset.storage.file.filename
	// for a local file (see offsets.Storage). Run opens the store before
	// any task starts, retrying while the brokers are unreachable (the
	// tasks' status shows the error meanwhile, see Pipeline.Run); the
	// admin operations (ListOffsets, AlterOffsets, ResetOffsets) open it
	// for the call when the pipeline is not running. Setting both
	// OffsetStore and OffsetStorage is an error.
	OffsetStorage offsets.Storage
	// OffsetFlushInterval is the commit period (offset.flush.interval.ms).
	OffsetFlushInterval time.Duration
	// OffsetFlushTimeout bounds one offset write (offset.flush.timeout.ms).
	OffsetFlushTimeout time.Duration
	// CommitEveryRecords and CommitEveryBytes trigger a commit as soon as that
	// many records (or bytes) were acknowledged since the last one, so a crash
	// replays a bounded window. A negative value disables the trigger.
	CommitEveryRecords int
	CommitEveryBytes   int64
	// OffsetCommitFailureTimeout fails the task (FAILED, with the store's
	// error; the restart policy applies) when offset commits have kept
	// failing for that long: a commit fails while the first failure of the
	// current run of failed commits is at least that old (default
	// DefaultOffsetCommitFailureTimeout; negative: never, Kafka Connect's
	// behaviour, which only logs). Property:
	// sluice.offset.commit.failure.timeout.ms (-1: never). Until then a
	// failed commit is logged and counted (TaskStatus.OffsetCommitFailures),
	// and its offsets are written by the next commit.
	OffsetCommitFailureTimeout time.Duration
	// TaskRetryTimeout bounds how long a retriable error from Poll (one
	// marked with connect.Retriable) is retried, with the errors.retry.*
	// backoff. Zero, the default, or negative retries without limit, as
	// Kafka Connect does for a RetriableException thrown by a task
	// (errors.retry.timeout governs converters and transforms only). When
	// the bound is reached the task fails. Property:
	// sluice.task.retry.timeout.ms (0 or -1: without limit).
	TaskRetryTimeout time.Duration
	// ShutdownTimeout bounds the graceful stop: waiting for outstanding
	// acknowledgements before the final commit
	// (task.shutdown.graceful.timeout.ms).
	ShutdownTimeout time.Duration
	// MaxInFlightRecords and MaxInFlightBytes bound the records polled but not
	// yet acknowledged; when either is reached the task is not polled until
	// acknowledgements free space.
	MaxInFlightRecords int
	MaxInFlightBytes   int64

	// Sarama is an optional base client configuration (TLS, SASL,
	// timeouts, protocol version, ...; it is copied, not modified; nil
	// means sarama.NewConfig with protocol version 4.0). The task producers
	// start from it and Sluice sets idempotence, acks=all, one request in
	// flight and success/error returns before ProducerProps apply. It is
	// also the base of the offset store the pipeline opens itself when
	// OffsetStore is nil (see offsets.KafkaStoreConfig.Sarama for what the
	// store overrides), and of the dead-letter queue and topic creation
	// clients.
	Sarama *sarama.Config
	// ProducerProps are Kafka producer properties (producer.override.*
	// without the prefix) applied on top. These keys map to the producer
	// (default in parentheses):
	//
	//   - acks (all), enable.idempotence (true) and
	//     max.in.flight.requests.per.connection (1): acks other than all,
	//     or more than one request in flight, needs
	//     enable.idempotence=false;
	//   - linger.ms (0: send at once) and batch.size (0: no size
	//     threshold), which only sarama's producer (SaramaProducer)
	//     reads: the batch producer sends a partition's records whenever
	//     its leader has no request in flight;
	//   - max.request.size (1048576) and compression.type (none; gzip,
	//     snappy, lz4 or zstd);
	//   - request.timeout.ms (10000: how long the broker may wait for the
	//     in-sync replicas);
	//   - client.id (connector-producer-<connector>-<task>);
	//   - allow.auto.create.topics (true): whether producing to a missing
	//     topic asks the broker to create it (a Sluice key);
	//   - bootstrap.servers is ignored (Brokers applies);
	//   - the client security keys: security.protocol (PLAINTEXT, SSL,
	//     SASL_PLAINTEXT, SASL_SSL), ssl.truststore.*, ssl.keystore.*,
	//     ssl.key.password (PEM files or inline PEM, PKCS12, JKS),
	//     ssl.endpoint.identification.algorithm, ssl.enabled.protocols,
	//     sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
	//     OAUTHBEARER with sasl.oauthbearer.token.endpoint.url) and
	//     sasl.jaas.config. Present, they replace Sarama's TLS and SASL
	//     settings; they also secure the task's dead-letter queue
	//     producer, which starts from the producer's configuration, and
	//     the admin client unless AdminProps is set. An unsupported
	//     security key is an error.
	//
	// Other keys are accepted and ignored, with a warning when the task
	// starts. The pipeline reads the delivery keys itself (a broker outage
	// is never a record failure: records that fail with a retriable error
	// are re-sent, in order, until acknowledged):
	//
	//   - delivery.timeout.ms (default: unbounded, Kafka Connect's forced
	//     value): a record not acknowledged that long after it was polled
	//     becomes a record failure under errors.tolerance;
	//   - retries (default: unbounded): likewise after that many re-sends
	//     by the pipeline (sarama's own in-order retries of a refused
	//     produce request come on top: up to 10 when delivery.timeout.ms or
	//     retries is set, else up to 1000 before the pipeline takes over);
	//   - retry.backoff.ms (default 100) and retry.backoff.max.ms (default
	//     1000): the pause before each re-send round, doubling up to the
	//     maximum.
	//
	// Values of Integer.MAX_VALUE or more for delivery.timeout.ms and
	// retries mean unbounded. max.block.ms is accepted and ignored (a send
	// never gives up on missing metadata: the task waits, stalled).
	ProducerProps map[string]string
	// AdminProps are Kafka admin client properties for the task's admin
	// client, which creates topics (TopicCreation) and the dead-letter
	// queue topic. These keys apply: the security keys (as in
	// ProducerProps), client.id, request.timeout.ms,
	// default.api.timeout.ms, retries and retry.backoff.ms (other keys are
	// ignored with a warning), to a copy of the producer's configuration,
	// whose security settings stand, unless they hold a security key: then
	// to Sarama (or Sluice's defaults). ConfigFromProperties sets them as
	// Kafka Connect composes an admin client's properties: the worker's
	// top-level keys, then admin.*, then the connector's admin.override.*.
	AdminProps map[string]string
	// TopicCreation enables KIP-158 topic creation.
	TopicCreation *TopicCreation
	// ExactlyOnce configures exactly-once delivery (KIP-618); the zero
	// value is at-least-once.
	ExactlyOnce ExactlyOnce
	// Errors is the errors.* configuration: retries, tolerance, error log
	// and dead-letter queue (a Sluice extension for sources: Kafka Connect
	// has none).
	Errors sluiceerrors.Config
	// Restart restarts failed tasks with backoff (a Sluice extension; off
	// by default).
	Restart sluiceerrors.RestartPolicy
	// TracerProvider, when set, traces the pipeline: a span per poll batch
	// and per offset commit, and each record carries the W3C traceparent
	// of its batch's span in a "traceparent" header, so a sink pipeline
	// continues the trace. Nil disables tracing at no cost.
	TracerProvider trace.TracerProvider
	// DisableTraceparent, when true, writes no "traceparent" header into
	// records while spans are still recorded: for consumers that cannot
	// take the header, such as a Kafka Connect sink whose header.converter
	// is org.apache.kafka.connect.json.JsonConverter (it fails the record:
	// the header value 00-<trace id>-<span id>-<flags> is not JSON).
	// Property: sluice.tracing.propagate=false (default true).
	DisableTraceparent bool
	// SaramaProducer, when true, has the tasks produce with sarama's own
	// AsyncProducer instead of Sluice's batch producer (internal/kproduce,
	// the default). Both are idempotent with acks=all, keep each
	// partition's order and hand back every record once; the batch
	// producer takes each record with one hand-off in and one out where
	// sarama's takes five (the source path's CPU per record halves, see
	// BENCHMARKS.md), sends a partition's records whenever its leader has
	// no request in flight, up to max.request.size per batch (linger.ms
	// and batch.size do not apply to it), and retries a refused batch in
	// order with its sequence numbers kept. Exactly-once tasks (ExactlyOnce) always use
	// sarama's transactional producer. Property: sluice.producer.sarama
	// (default false).
	SaramaProducer bool
	// Logger receives the pipeline's logs (default slog.Default()), with
	// connector and task attributes added. Under a runner.Runner, the
	// logger its builders get (connect.ContextLogger, which the plugins'
	// builds set here; a BuildFunc of your own should too) masks the
	// connector's secrets in every line and in the dead-letter queue's
	// exception headers; a Logger of your own here does neither.
	Logger *slog.Logger
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
	if c.OffsetFlushInterval == 0 {
		c.OffsetFlushInterval = DefaultOffsetFlushInterval
	}
	if c.OffsetFlushTimeout == 0 {
		c.OffsetFlushTimeout = DefaultOffsetFlushTimeout
	}
	if c.CommitEveryRecords == 0 {
		c.CommitEveryRecords = DefaultCommitEveryRecords
	}
	if c.CommitEveryBytes == 0 {
		c.CommitEveryBytes = DefaultCommitEveryBytes
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxInFlightRecords == 0 {
		c.MaxInFlightRecords = DefaultMaxInFlightRecords
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if c.OffsetCommitFailureTimeout == 0 {
		c.OffsetCommitFailureTimeout = DefaultOffsetCommitFailureTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ExactlyOnce.preparing {
		c.Logger.Info("exactly.once.source.support=preparing: exactly-once delivery stays off for this pipeline "+
			"(Kafka Connect's rolling-upgrade step; set enabled to turn it on)", "connector", c.Name)
	}
	if c.OffsetStore == nil {
		c.OffsetStore = newOwnedStore(c)
	}
	if c.ExactlyOnce.OffsetsTopic != "" {
		if _, ok := c.OffsetStore.(*connectorStore); !ok {
			c.OffsetStore = newConnectorStore(c)
		}
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
	if c.OffsetFlushInterval < 0 {
		errs = append(errs, fmt.Errorf("offset.flush.interval.ms: must be >= 0, got %s", c.OffsetFlushInterval))
	}
	if c.OffsetFlushTimeout < 0 {
		errs = append(errs, fmt.Errorf("offset.flush.timeout.ms: must be >= 0, got %s", c.OffsetFlushTimeout))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("task.shutdown.graceful.timeout.ms: must be >= 0, got %s", c.ShutdownTimeout))
	}
	store := c.OffsetStore
	if cs, ok := store.(*connectorStore); ok {
		store = cs.secondary
	}
	if _, owned := store.(*ownedStore); store != nil && !owned && c.OffsetStorage != (offsets.Storage{}) {
		errs = append(errs, errors.New("OffsetStore and OffsetStorage: set one (OffsetStorage selects the store the pipeline opens when OffsetStore is nil)"))
	}
	if err := c.OffsetStorage.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxInFlightRecords < 0 || c.MaxInFlightBytes < 0 {
		errs = append(errs, errors.New("max in-flight records and bytes must be >= 0"))
	}
	if err := c.Errors.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Restart.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.ExactlyOnce.validate(c)...)
	if tc := c.TopicCreation; tc != nil {
		if tc.Partitions == 0 || tc.Partitions < -1 {
			errs = append(errs, fmt.Errorf("topic.creation.default.partitions: must be >= 1 or -1, got %d", tc.Partitions))
		}
		if tc.ReplicationFactor == 0 || tc.ReplicationFactor < -1 {
			errs = append(errs, fmt.Errorf("topic.creation.default.replication.factor: must be >= 1 or -1, got %d", tc.ReplicationFactor))
		}
	}
	return errors.Join(errs...)
}
