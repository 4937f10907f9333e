package source

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/connprops"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/transforms"
)

// PropertyOptions supplies what a property map cannot: the task code, the
// registries class names are looked up in, and optionally an open offset
// store.
type PropertyOptions struct {
	// NewTask is required.
	NewTask   func() Task
	Connector Connector
	// Converters and Transforms default to the built-in registries.
	Converters *converters.Registry
	Transforms *transforms.Registry
	// OffsetStore, when set, is used as is (Config.OffsetStore): the
	// caller opens it, typically once per worker with
	// offsets.OpenFromProperties from the same worker properties, and
	// closes it. Nil makes the pipeline open (and close) the store the
	// worker's offset.storage.* keys select (Config.OffsetStorage).
	OffsetStore offsets.Store
}

// ConfigFromProperties builds a Config from Kafka Connect properties:
// worker-level keys (bootstrap.servers, key.converter, value.converter,
// header.converter and their sub-keys, offset.flush.interval.ms,
// offset.flush.timeout.ms, task.shutdown.graceful.timeout.ms, producer.*,
// topic.creation.enable, and the offset storage keys below) and
// connector-level keys (name, tasks.max, the converter keys, transforms,
// predicates, producer.override.*, topic.creation.default.*, errors.*, and
// Sluice's sluice.task.retry.timeout.ms,
// sluice.offset.commit.failure.timeout.ms, sluice.tracing.propagate and
// sluice.producer.sarama, see
// Config). Every connector property, including the connector's own keys
// (such as topic), is handed to the connector and tasks in
// Config.Properties. Errors name the offending keys; producer property
// values are checked here, as the tasks will apply them.
//
// The worker's offset storage keys select Config.OffsetStorage (see
// offsets.StorageFromProperties): offset.storage.file.filename a local file
// (Kafka Connect standalone), offset.storage.topic with
// offset.storage.partitions and offset.storage.replication.factor a Kafka
// topic (distributed); both is an error, neither the topic
// "connect-offsets". They are checked even when opts.OffsetStore is set,
// which then takes their place. In the connector properties these keys are
// errors: they are the worker's.
//
// The exactly-once keys (KIP-618) set Config.ExactlyOnce: the worker's
// exactly.once.source.support (disabled, the default; preparing, which is
// disabled, logged; or enabled) and group.id, and the connector's
// exactly.once.support (requested or required), transaction.boundary
// (poll, interval or connector), transaction.boundary.interval.ms and
// offsets.storage.topic (the connector's own offsets topic).
//
// Client security follows Kafka Connect's rule: the task producers read
// producer.* and producer.override.* security keys (security.protocol,
// ssl.*, sasl.*), not the worker's top-level ones, which configure the
// worker's own clients: the offsets store. Top-level security keys are
// checked, and are an error when the pipeline would open an offsets topic
// store itself (it cannot apply them): open the store with
// offsets.OpenFromProperties and pass it in opts.OffsetStore.
func ConfigFromProperties(worker, connector map[string]string, opts PropertyOptions) (Config, error) {
	common, err := connprops.Parse(worker, connector, connprops.Plugins{Converters: opts.Converters, Transforms: opts.Transforms}, "producer")
	errs := []error{err}
	cfg := Config{
		Name:                common.Name,
		Brokers:             common.Brokers,
		NewTask:             opts.NewTask,
		Connector:           opts.Connector,
		TasksMax:            common.TasksMax,
		Properties:          maps.Clone(connector),
		KeyConverter:        common.KeyConverter,
		ValueConverter:      common.ValueConverter,
		HeaderConverter:     common.HeaderConverter,
		OffsetStore:         opts.OffsetStore,
		OffsetFlushInterval: common.OffsetFlushInterval,
		OffsetFlushTimeout:  common.OffsetFlushTimeout,
		ShutdownTimeout:     common.ShutdownTimeout,
		ProducerProps:       common.ClientProps,
		AdminProps:          common.AdminProps,
	}
	errs = append(errs, checkProducerProps(worker, connector, cfg.ProducerProps)...)
	storage, err := offsets.StorageFromProperties(worker)
	errs = append(errs, err, connectorOffsetStorageKeys(connector), workerSecurity(worker, storage, opts.OffsetStore))
	// The admin clients' keys include the worker's top-level security
	// keys, just checked (workerSecurity).
	errs = append(errs, connprops.CheckAdminProps(worker, connector, cfg.AdminProps, true)...)
	if opts.OffsetStore == nil {
		cfg.OffsetStorage = storage
	}
	if common.Transforms != nil {
		cfg.Transforms = common.Transforms
	}
	tc, err := topicCreation(worker, connector)
	errs = append(errs, err)
	cfg.TopicCreation = tc
	cfg.ExactlyOnce, err = exactlyOnceFromProperties(worker, connector)
	errs = append(errs, err)
	cfg.Errors, err = sluiceerrors.ConfigFromProperties(connector)
	errs = append(errs, err)
	cfg.TaskRetryTimeout, err = sluiceMillis(connector, "sluice.task.retry.timeout.ms", 0)
	errs = append(errs, err)
	cfg.OffsetCommitFailureTimeout, err = sluiceMillis(connector, "sluice.offset.commit.failure.timeout.ms", 0)
	errs = append(errs, err)
	if v, ok := connector["sluice.tracing.propagate"]; ok {
		propagate, err := kafkaconf.ParseBool("sluice.tracing.propagate", strings.TrimSpace(v))
		errs = append(errs, err)
		cfg.DisableTraceparent = err == nil && !propagate
	}
	if v, ok := connector["sluice.producer.sarama"]; ok {
		cfg.SaramaProducer, err = kafkaconf.ParseBool("sluice.producer.sarama", strings.TrimSpace(v))
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("source connector %q: %w", common.Name, err)
	}
	return cfg, nil
}

// connectorOffsetStorageKeys refuses the worker's offset storage keys in a
// connector configuration, which would otherwise reach the tasks unnoticed
// while the pipeline uses the worker's store: they mean nothing to a
// connector in Kafka Connect either. Kafka Connect's per-connector
// offsets.storage.topic (KIP-618; "offsets." plural) is a connector key:
// exactlyOnceFromProperties reads it.
func connectorOffsetStorageKeys(connector map[string]string) error {
	var errs []error
	for _, k := range []string{"offset.storage.topic", "offset.storage.partitions", "offset.storage.replication.factor", "offset.storage.file.filename"} {
		if _, ok := connector[k]; ok {
			errs = append(errs, fmt.Errorf("%s: a worker property, not a connector property: set it in the worker properties", k))
		}
	}
	return errors.Join(errs...)
}

// exactlyOnceFromProperties reads Config.ExactlyOnce: the worker keys
// exactly.once.source.support (disabled, preparing or enabled, any case;
// preparing is disabled, logged when the pipeline is built) and group.id,
// and the connector keys exactly.once.support, transaction.boundary,
// transaction.boundary.interval.ms and offsets.storage.topic (absent: the
// worker's store; empty is an error, as Kafka Connect's NonEmptyString
// validator). Errors name the key.
func exactlyOnceFromProperties(worker, connector map[string]string) (ExactlyOnce, error) {
	var eo ExactlyOnce
	var errs []error
	if v, ok := worker[propExactlyOnceSourceSupport]; ok {
		switch i, err := parseEnum(propExactlyOnceSourceSupport, v, []string{"disabled", "preparing", "enabled"}); {
		case err != nil:
			errs = append(errs, err)
		case i == 1:
			eo.preparing = true
		case i == 2:
			eo.Enabled = true
		}
	}
	eo.GroupID = strings.TrimSpace(worker[propGroupID])
	if v, ok := connector[propExactlyOnceSupport]; ok {
		l, err := ParseExactlyOnceSupportLevel(v)
		errs = append(errs, err)
		eo.Support = l
	}
	if v, ok := connector[propTransactionBoundary]; ok {
		b, err := ParseTransactionBoundary(v)
		errs = append(errs, err)
		eo.Boundary = b
	}
	if v, ok := connector[propTransactionBoundaryInterval]; ok {
		d, err := kafkaconf.ParseMillis(propTransactionBoundaryInterval, strings.TrimSpace(v))
		errs = append(errs, err)
		eo.BoundaryInterval = d
	}
	if v, ok := connector[propOffsetsStorageTopic]; ok {
		if eo.OffsetsTopic = strings.TrimSpace(v); eo.OffsetsTopic == "" {
			errs = append(errs, errors.New(propOffsetsStorageTopic+": String must be non-empty (remove the key to use the worker's offsets store)"))
		}
	}
	return eo, errors.Join(errs...)
}

// workerSecurity checks the worker's top-level security keys, which
// configure the worker's own clients (Kafka Connect's rule; the task
// producers read producer.* and producer.override.*): the offsets store.
// When the pipeline would open a Kafka offsets store itself, it could not
// apply them, so that is an error telling the caller to open the store.
func workerSecurity(worker map[string]string, storage offsets.Storage, store offsets.Store) error {
	sec, _ := kafkaconf.WorkerSecurityProps(worker)
	if len(sec) == 0 {
		return nil
	}
	if _, err := offsets.ClientConfigFromProperties(worker, nil); err != nil {
		return err
	}
	if store == nil && storage.File == "" {
		k := slices.Sorted(maps.Keys(sec))[0]
		return fmt.Errorf("%s: the worker's security keys configure the worker's own clients, but the pipeline would open the offsets topic store without them: "+
			"open the store with offsets.OpenFromProperties and pass it as PropertyOptions.OffsetStore", k)
	}
	return nil
}

// sluiceMillis reads a Sluice millisecond key of the connector
// configuration: absent gives def, -1 a negative duration (no limit).
func sluiceMillis(props map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	v = strings.TrimSpace(v)
	if v == "-1" {
		return -1, nil
	}
	d, err := kafkaconf.ParseMillis(key, v)
	if err != nil {
		return 0, fmt.Errorf("%w (or -1)", err)
	}
	return d, nil
}

// topicCreation reads KIP-158's default group: active when the worker allows
// topic creation (topic.creation.enable, default true) and the connector sets
// both topic.creation.default.replication.factor and .partitions.
func topicCreation(worker, connector map[string]string) (*TopicCreation, error) {
	if v, ok := worker["topic.creation.enable"]; ok {
		on, err := kafkaconf.ParseBool("topic.creation.enable", strings.TrimSpace(v))
		if err != nil || !on {
			return nil, err
		}
	}
	const prefix = "topic.creation.default."
	group := connprops.SubProps(connector, prefix)
	rf, hasRF := group["replication.factor"]
	parts, hasParts := group["partitions"]
	if !hasRF && !hasParts {
		return nil, nil
	}
	if !hasRF || !hasParts {
		return nil, errors.New(prefix + "replication.factor and " + prefix + "partitions must be set together")
	}
	var errs []error
	tc := &TopicCreation{Configs: map[string]string{}}
	if n, err := strconv.ParseInt(strings.TrimSpace(rf), 10, 16); err != nil || (n < 1 && n != -1) {
		errs = append(errs, fmt.Errorf("%sreplication.factor: want an integer >= 1 or -1, got %q", prefix, rf))
	} else {
		tc.ReplicationFactor = int16(n)
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(parts), 10, 32); err != nil || (n < 1 && n != -1) {
		errs = append(errs, fmt.Errorf("%spartitions: want an integer >= 1 or -1, got %q", prefix, parts))
	} else {
		tc.Partitions = int32(n)
	}
	for k, v := range group {
		if k != "replication.factor" && k != "partitions" && k != "include" && k != "exclude" {
			tc.Configs[k] = v
		}
	}
	return tc, errors.Join(errs...)
}
