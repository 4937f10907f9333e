package kafkaconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// ApplyProducerProps applies Kafka producer properties (the Java client's
// names, as given in producer.* worker keys or producer.override.* connector
// keys) to cfg. It returns the keys it has no sarama mapping for, so the
// caller can warn about them; a key with an invalid value is an error naming
// the key (prefix is prepended to key names in errors and in the returned
// list, e.g. "producer.override.").
//
// Mapped keys: acks, enable.idempotence, linger.ms, batch.size,
// max.request.size, compression.type, retries, retry.backoff.ms,
// request.timeout.ms, max.in.flight.requests.per.connection, client.id,
// bootstrap.servers (ignored here: the caller owns addresses), Sluice's
// allow.auto.create.topics (whether producing to a missing topic asks the
// broker to create it), and the security keys (security.protocol, ssl.*,
// sasl.*), applied together by ApplySecurity: an unsupported security key
// is an error, never an unmapped key.
func ApplyProducerProps(cfg *sarama.Config, prefix string, props map[string]string) (unmapped []string, err error) {
	for k, v := range props {
		name := prefix + k
		v = strings.TrimSpace(v)
		switch k {
		case "security.protocol":
			// applied with the ssl.* and sasl.* keys below
		case "acks":
			switch strings.ToLower(v) {
			case "all", "-1":
				cfg.Producer.RequiredAcks = sarama.WaitForAll
			case "1":
				cfg.Producer.RequiredAcks = sarama.WaitForLocal
			case "0":
				cfg.Producer.RequiredAcks = sarama.NoResponse
			default:
				return nil, fmt.Errorf("%s: want all, -1, 0 or 1, got %q", name, v)
			}
		case "enable.idempotence":
			b, err := ParseBool(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Idempotent = b
			if b {
				cfg.Net.MaxOpenRequests = 1
			}
		case "linger.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Flush.Frequency = d
		case "batch.size":
			n, err := ParseInt(name, v, 0)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Flush.Bytes = n
		case "max.request.size":
			n, err := ParseInt(name, v, 1)
			if err != nil {
				return nil, err
			}
			cfg.Producer.MaxMessageBytes = n
		case "compression.type":
			var c sarama.CompressionCodec
			if err := c.UnmarshalText([]byte(strings.ToLower(v))); err != nil {
				return nil, fmt.Errorf("%s: want none, gzip, snappy, lz4 or zstd, got %q", name, v)
			}
			cfg.Producer.Compression = c
		case "retries":
			n, err := ParseInt(name, v, 0)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Retry.Max = n
		case "retry.backoff.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Retry.Backoff = d
			cfg.Metadata.Retry.Backoff = d
		case "request.timeout.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Producer.Timeout = d
		case "max.in.flight.requests.per.connection":
			n, err := ParseInt(name, v, 1)
			if err != nil {
				return nil, err
			}
			cfg.Net.MaxOpenRequests = n
		case "client.id":
			cfg.ClientID = v
		case "allow.auto.create.topics":
			b, err := ParseBool(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Metadata.AllowAutoTopicCreation = b
		case "bootstrap.servers":
		default:
			if !IsSecurityKey(k) {
				unmapped = append(unmapped, name)
			}
		}
	}
	if err := ApplySecurity(cfg, props, func(k string) string { return prefix + k }); err != nil {
		return nil, err
	}
	return unmapped, nil
}

// ApplyConsumerProps applies Kafka consumer properties (consumer.* or
// consumer.override.* keys) to cfg, like ApplyProducerProps. Mapped keys:
// auto.offset.reset, fetch.min.bytes, fetch.max.wait.ms,
// max.partition.fetch.bytes, fetch.max.bytes, session.timeout.ms,
// heartbeat.interval.ms, max.poll.interval.ms (sarama's rebalance timeout),
// request.timeout.ms (sarama's Net.ReadTimeout),
// isolation.level, partition.assignment.strategy (range, roundrobin, sticky,
// cooperative-sticky — Java class names accepted), client.id, and
// group.id / max.poll.records / bootstrap.servers, which the caller handles
// (they are neither applied nor reported), and the security keys, applied
// by ApplySecurity as for a producer.
func ApplyConsumerProps(cfg *sarama.Config, prefix string, props map[string]string) (unmapped []string, err error) {
	for k, v := range props {
		name := prefix + k
		v = strings.TrimSpace(v)
		switch k {
		case "security.protocol":
			// applied with the ssl.* and sasl.* keys below
		case "auto.offset.reset":
			switch strings.ToLower(v) {
			case "earliest":
				cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
			case "latest":
				cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
			default:
				return nil, fmt.Errorf("%s: want earliest or latest, got %q", name, v)
			}
		case "fetch.min.bytes":
			n, err := ParseInt(name, v, 1)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Fetch.Min = int32(n)
		case "fetch.max.wait.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.MaxWaitTime = d
		case "max.partition.fetch.bytes":
			n, err := ParseInt(name, v, 1)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Fetch.Default = int32(n)
		case "fetch.max.bytes":
			n, err := ParseInt(name, v, 1)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Fetch.MaxBytes = int32(n) // across partitions, as Java's
		case "session.timeout.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Group.Session.Timeout = d
		case "heartbeat.interval.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Group.Heartbeat.Interval = d
		case "max.poll.interval.ms":
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Consumer.Group.Rebalance.Timeout = d
		case "request.timeout.ms":
			// The Java consumer's client-side request timeout: sarama's
			// Net.ReadTimeout (a sink gives its group member at least
			// max.poll.interval.ms + 5 s for JoinGroup).
			d, err := ParseMillis(name, v)
			if err != nil {
				return nil, err
			}
			cfg.Net.ReadTimeout = d
		case "isolation.level":
			switch strings.ToLower(v) {
			case "read_uncommitted":
				cfg.Consumer.IsolationLevel = sarama.ReadUncommitted
			case "read_committed":
				cfg.Consumer.IsolationLevel = sarama.ReadCommitted
			default:
				return nil, fmt.Errorf("%s: want read_uncommitted or read_committed, got %q", name, v)
			}
		case "partition.assignment.strategy":
			var strategies []sarama.BalanceStrategy
			for _, s := range strings.Split(v, ",") {
				s = strings.TrimSpace(s)
				if i := strings.LastIndexByte(s, '.'); i >= 0 {
					s = s[i+1:]
				}
				switch strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "assignor")) {
				case "range":
					strategies = append(strategies, sarama.NewBalanceStrategyRange())
				case "roundrobin":
					strategies = append(strategies, sarama.NewBalanceStrategyRoundRobin())
				case "sticky":
					strategies = append(strategies, sarama.NewBalanceStrategySticky())
				case "cooperative-sticky", "cooperativesticky":
					strategies = append(strategies, sarama.NewBalanceStrategyCooperativeSticky())
				case "":
				default:
					return nil, fmt.Errorf("%s: unknown assignment strategy %q", name, s)
				}
			}
			cfg.Consumer.Group.Rebalance.GroupStrategies = strategies
		case "client.id":
			cfg.ClientID = v
		case "group.id", "max.poll.records", "bootstrap.servers", "enable.auto.commit":
		default:
			if !IsSecurityKey(k) {
				unmapped = append(unmapped, name)
			}
		}
	}
	if err := ApplySecurity(cfg, props, func(k string) string { return prefix + k }); err != nil {
		return nil, err
	}
	return unmapped, nil
}

// ParseBool parses a Kafka-style boolean property ("true"/"false", any case);
// errors name the property.
func ParseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: want true or false, got %q", name, v)
}

// ParseInt parses an integer property that must be at least min; errors name
// the property.
func ParseInt(name, v string, min int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return 0, fmt.Errorf("%s: want an integer >= %d, got %q", name, min, v)
	}
	return n, nil
}

// ParseMillis parses a non-negative millisecond property (*.ms) into a
// duration; errors name the property.
func ParseMillis(name, v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want milliseconds >= 0, got %q", name, v)
	}
	return time.Duration(n) * time.Millisecond, nil
}
