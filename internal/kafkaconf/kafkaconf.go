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
// sarama treats it as an upper bound: at connect time it asks the broker
// (ApiVersions) which request versions it supports and uses, per request,
// the highest one both sides know. Kafka 4 brokers reject requests older
// than Kafka 2.1, so the value must be at least that; V4_0_0_0 is the oldest
// Kafka 4 release and is accepted by Apache Kafka 4.x and by kfake, and,
// thanks to the ApiVersions negotiation, also by 3.x brokers.
var version = sarama.V4_0_0_0

// NewSaramaConfig returns a fresh, valid sarama configuration for a client
// that identifies itself to the broker as clientID (sarama's default
// "sarama" is kept when clientID is empty).
//
// The configuration has Version set to sarama.V4_0_0_0 (an upper bound:
// sarama negotiates each request's version down to what the broker
// supports, and Kafka 4 brokers refuse anything older than Kafka 2.1's
// protocol), Producer.Return.Successes
// and Producer.Return.Errors set (a SyncProducer needs both, and an
// AsyncProducer user must then drain both channels), and
// Consumer.Return.Errors set (consumer errors are delivered on the Errors
// channel instead of only being logged, which the caller must drain). All
// other fields keep sarama's defaults. Each call returns a new value that
// the caller owns and may modify.
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
