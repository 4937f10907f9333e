package sluicetest

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// Broker is a running in-process Kafka-protocol broker, started by
// [StartBroker]. Its methods are safe for concurrent use.
type Broker struct{ b *kafkatest.Broker }

// StartBroker starts a single-broker in-process Kafka cluster (kfake) on a
// free port of 127.0.0.1. It behaves like a default Apache Kafka broker for
// what Sluice needs: producing, consumer groups, transactions, compacted
// topics, and metadata requests auto-create topics with one partition
// (create topics with more partitions with [CreateTopic]). Data lives in
// memory only.
//
// The caller must call [Broker.Close]. In tests, prefer [Brokers], which
// also honours KAFKA_BOOTSTRAP_SERVERS and closes the broker for you.
func StartBroker() (*Broker, error) {
	b, err := kafkatest.StartBroker()
	if err != nil {
		return nil, err
	}
	return &Broker{b}, nil
}

// Addrs returns the broker's bootstrap addresses ("127.0.0.1:port"), to be
// used as the Brokers of a source or sink config.
func (b *Broker) Addrs() []string { return b.b.Addrs() }

// Close stops the broker and discards its data. Clients still connected see
// their connections closed. Close may be called more than once.
func (b *Broker) Close() { b.b.Close() }

// Brokers returns the bootstrap addresses of a Kafka broker for t.
//
// When the environment variable KAFKA_BOOTSTRAP_SERVERS holds addresses
// (comma separated), Brokers returns those: the first call in the process
// checks that the broker answers (retrying for about 30 s) and otherwise
// this and every later call fails its test. The external broker is shared
// by all tests; nothing is created or cleaned up on it.
//
// Otherwise Brokers starts a new in-process broker, as [StartBroker], that
// t.Cleanup closes. CI=true makes no difference: a connector's tests need
// nothing but Go, on a laptop or on a hosted CI.
//
// Only when the environment variable SLUICE_REQUIRE_KAFKA is 1 or true does
// a missing KAFKA_BOOTSTRAP_SERVERS fail t instead: set it where the tests
// must run against a real Kafka broker, so that a CI that did not start or
// name the broker fails rather than silently testing against the
// in-process one. A value of SLUICE_REQUIRE_KAFKA other than 1, true, 0 or
// false fails t as well, so that a typo does not switch the check off.
func Brokers(t testing.TB) []string {
	t.Helper()
	return kafkatest.PublicBrokers(t)
}

// SaramaConfig returns a sarama configuration for test clients (admins,
// producers and consumers that set up or read back a test's topics): the
// configuration Sluice itself uses, with a client ID naming t and short
// timings, so that idle fetches and consumer Close take milliseconds, not
// half a second:
//
//   - Consumer.MaxWaitTime 50 ms;
//   - retry backoffs of 50-100 ms for metadata, producer, consumer, consumer
//     group rebalances and the cluster admin;
//   - Admin.Timeout 30 s, Net.DialTimeout 5 s.
//
// Consumer.Offsets.Initial stays sarama's OffsetNewest. Each call returns a
// new value the caller may change.
func SaramaConfig(t testing.TB) *sarama.Config {
	t.Helper()
	return kafkatest.SaramaConfig(t)
}

// Topic returns a topic name unique to this call, made of t's name (subtest
// slashes and any character outside [a-zA-Z0-9_-] become '_'), a '-' and 12
// random hex digits. It is a legal Kafka topic name of at most 200
// characters, usable as a consumer group ID or transactional ID as well.
// Topic creates nothing.
func Topic(t testing.TB) string {
	t.Helper()
	return kafkatest.Topic(t)
}

// CreateTopic creates topic name on brokers with the given number of
// partitions, replication factor 1 and the given topic configs (e.g.
// {"cleanup.policy": &compact}; nil for none), and waits until the broker's
// metadata lists it with a leader for every partition. A topic that already
// exists with the same partition count is accepted. It fails t if the topic
// cannot be created or is not ready within 30 s. The topic is not deleted
// afterwards: [Topic] names are unique, and an in-process broker is
// discarded with its test.
func CreateTopic(t testing.TB, brokers []string, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	kafkatest.CreateTopic(t, brokers, name, partitions, configs)
}
