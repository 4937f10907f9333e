package sink

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/converters"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/connprops"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/transforms"
)

// PropertyOptions supplies what a property map cannot: the task code and the
// registries class names are looked up in.
type PropertyOptions struct {
	// NewTask is required.
	NewTask func() Task
	// Converters and Transforms default to the built-in registries.
	Converters *converters.Registry
	Transforms *transforms.Registry
}

// ConfigFromProperties builds a Config from Kafka Connect properties:
// worker-level keys (bootstrap.servers, key.converter, value.converter,
// header.converter and their sub-keys, offset.flush.interval.ms,
// offset.flush.timeout.ms, task.shutdown.graceful.timeout.ms, consumer.*)
// and connector-level keys (name, tasks.max, topics or topics.regex, the
// converter keys, transforms, predicates, consumer.override.*, errors.*,
// producer.override.* and admin.override.* (with the worker's producer.*
// and admin.*: see Config.ProducerProps and Config.AdminProps),
// and Sluice's sluice.task.retry.timeout.ms). consumer.override.* wins over
// the worker's consumer.*; consumer max.poll.records sets the batch size and
// group.id the consumer group. Every connector property, including the
// connector's own keys, is handed to the tasks in Config.Properties. Errors
// name the offending keys.
func ConfigFromProperties(worker, connector map[string]string, opts PropertyOptions) (Config, error) {
	common, err := connprops.Parse(worker, connector, connprops.Plugins{Converters: opts.Converters, Transforms: opts.Transforms}, "consumer")
	errs := []error{err}
	cfg := Config{
		Name:                common.Name,
		Brokers:             common.Brokers,
		NewTask:             opts.NewTask,
		TasksMax:            common.TasksMax,
		Properties:          maps.Clone(connector),
		KeyConverter:        common.KeyConverter,
		ValueConverter:      common.ValueConverter,
		HeaderConverter:     common.HeaderConverter,
		OffsetFlushInterval: common.OffsetFlushInterval,
		OffsetFlushTimeout:  common.OffsetFlushTimeout,
		ShutdownTimeout:     common.ShutdownTimeout,
		ConsumerProps:       common.ClientProps,
		AdminProps:          common.AdminProps,
	}
	if producer := connprops.ClientProps(worker, connector, "producer"); len(producer) > 0 {
		cfg.ProducerProps = producer
	}
	if common.Transforms != nil {
		cfg.Transforms = common.Transforms
	}

	topics, hasTopics := connector["topics"]
	regex, hasRegex := connector["topics.regex"]
	topics, regex = strings.TrimSpace(topics), strings.TrimSpace(regex)
	hasTopics, hasRegex = hasTopics && topics != "", hasRegex && regex != ""
	switch {
	case hasTopics && hasRegex:
		errs = append(errs, errors.New("topics and topics.regex: only one of them may be set"))
	case !hasTopics && !hasRegex:
		errs = append(errs, errors.New("topics or topics.regex: one of them is required"))
	case hasTopics:
		for t := range strings.SplitSeq(topics, ",") {
			if t = strings.TrimSpace(t); t != "" {
				cfg.Topics = append(cfg.Topics, t)
			}
		}
	default:
		if _, err := topicsPattern(regex); err != nil {
			errs = append(errs, fmt.Errorf("topics.regex: %w", err))
		}
		cfg.TopicsRegex = regex
	}

	// The consumer properties: checked here so that errors name the key as
	// written; max.poll.records is the batch size.
	for _, k := range slices.Sorted(maps.Keys(cfg.ConsumerProps)) {
		v := cfg.ConsumerProps[k]
		key := consumerKey(worker, connector, k)
		if kafkaconf.IsSecurityKey(k) {
			continue // checked together below
		}
		if _, err := kafkaconf.ApplyConsumerProps(kafkaconf.NewSaramaConfig(""), "", map[string]string{k: v}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, unprefixed(err, k)))
		}
		if k == "max.poll.records" {
			n, err := kafkaconf.ParseInt(key, strings.TrimSpace(v), 1)
			if err != nil {
				errs = append(errs, err)
			}
			cfg.BatchSize = n
		}
	}

	// The security keys make sense only together (security.protocol
	// decides what the ssl.* and sasl.* keys mean).
	if err := kafkaconf.ApplySecurity(kafkaconf.NewSaramaConfig(""), cfg.ConsumerProps, func(k string) string { return consumerKey(worker, connector, k) }); err != nil {
		errs = append(errs, err)
	}

	// The dead-letter queue producer's and the admin clients' properties.
	errs = append(errs, connprops.CheckClientProps(worker, connector, "producer", cfg.ProducerProps, func(k, v string) error {
		_, err := kafkaconf.ApplyProducerProps(kafkaconf.NewSaramaConfig(""), "", map[string]string{k: v})
		return err
	}, false)...)
	errs = append(errs, connprops.CheckAdminProps(worker, connector, cfg.AdminProps, false)...)

	cfg.Errors, err = sluiceerrors.ConfigFromProperties(connector)
	errs = append(errs, err)
	if v, ok := connector["sluice.task.retry.timeout.ms"]; ok {
		if v = strings.TrimSpace(v); v == "-1" {
			cfg.TaskRetryTimeout = -1
		} else if cfg.TaskRetryTimeout, err = kafkaconf.ParseMillis("sluice.task.retry.timeout.ms", v); err != nil {
			errs = append(errs, fmt.Errorf("%w (or -1)", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("sink connector %q: %w", common.Name, err)
	}
	return cfg, nil
}

// consumerKey names the property a consumer setting came from:
// consumer.override.<k> on the connector, else consumer.<k> on the worker.
func consumerKey(worker, connector map[string]string, k string) string {
	if _, ok := connector["consumer.override."+k]; ok {
		return "consumer.override." + k
	}
	if _, ok := worker["consumer."+k]; ok {
		return "consumer." + k
	}
	return "consumer.override." + k
}

// unprefixed strips the "<k>: " that kafkaconf puts before its messages, as
// the caller names the key itself.
func unprefixed(err error, k string) error {
	if msg, ok := strings.CutPrefix(err.Error(), k+": "); ok {
		return errors.New(msg)
	}
	return err
}
