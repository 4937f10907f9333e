// Package kafkatest gives tests a Kafka broker to talk to. It is the
// implementation behind the public github.com/sluicehq/sluice/connect/sluicetest
// broker helpers, kept here because the internal tests of packages below
// source and sink (offsets, errors) use it and cannot import sluicetest,
// which imports source and sink.
//
// By default every call to [Brokers] starts a fresh in-process Kafka-protocol
// broker (github.com/twmb/franz-go/pkg/kfake, see [StartBroker]), so
// `go test ./...` needs nothing but Go. When the environment variable
// KAFKA_BOOTSTRAP_SERVERS is set (as CI does, see scripts/kafka/start.sh and
// .ci/run), the same tests run against that real broker instead. Under
// CI=true, or with SLUICE_REQUIRE_KAFKA=1, a missing KAFKA_BOOTSTRAP_SERVERS
// fails the test: CI must never silently fall back to the fake broker.
// [PublicBrokers], behind the public sluicetest.Brokers, honours only
// SLUICE_REQUIRE_KAFKA: connector authors' hosted CI sets CI=true too.
//
// Tests sharing one real broker must not collide, so every test should name
// its topics with [Topic] (and its consumer groups likewise).
//
// Everything the package starts is stopped by t.Cleanup, so tests using it
// stay clean under go.uber.org/goleak.
package kafkatest
