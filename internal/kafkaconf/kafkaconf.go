package kafkaconf

import (
	"strings"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

func init() {
	// sarama records client metrics through github.com/rcrowley/go-metrics.
	// The first meter it registers makes go-metrics start a process-global
	// "arbiter" goroutine that ticks forever and is never stopped, so it
	// outlives every Run and goleak reports it as a leak. Nil metrics make
	// every constructor return a no-op, and no goroutine is started.
	metrics.UseNilMetrics = true
}

// version is the Kafka protocol version every sluice client announces to
// sarama (Config.Version).
//
// sarama treats it as an upper bound: on connecting it asks the broker
// (ApiVersions) which request versions it supports and uses, per request,
// the highest one both sides know. Kafka 4 brokers dropped the request
// versions that predate Kafka 2.1 (KIP-896), so it must be at least that.
// V4_0_0_0 is the first Kafka 4 release; sarama v1.61.1 gates nothing on
// anything newer (its MaxVersion, V4_3_1_0, selects the same requests), and
// it is accepted by Apache Kafka 4.x, by kfake and, thanks to the
// negotiation, by 3.x brokers.
var version = sarama.V4_0_0_0

// NewSaramaConfig returns a fresh sarama configuration, valid as returned,
// for a client that identifies itself to brokers as clientID (sarama's
// default "sarama" is kept when clientID is empty).
//
// It differs from sarama.NewConfig only in:
//
//   - Version = sarama.V4_0_0_0, an upper bound that sarama negotiates down
//     per request to what the broker supports;
//   - Producer.Return.Successes = true and Producer.Return.Errors = true: a
//     SyncProducer needs both, and an AsyncProducer's user must drain both
//     channels;
//   - Consumer.Return.Errors = true: consumer and consumer-group errors are
//     delivered on their Errors channel, which the caller must drain,
//     instead of only being logged.
//
// Each call returns a new value that the caller owns and may modify.
func NewSaramaConfig(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	if clientID != "" {
		cfg.ClientID = clientID
	}
	cfg.Version = version
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Consumer.Return.Errors = true
	return cfg
}

// ParseBootstrap splits a comma-separated list of broker addresses, such as
// the value of KAFKA_BOOTSTRAP_SERVERS, into its elements. Whitespace
// around each element is trimmed and empty elements are dropped, so " a:1,
// ,b:2 ," yields ["a:1" "b:2"]. It returns nil when s holds no address. The
// addresses themselves are not validated.
func ParseBootstrap(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
