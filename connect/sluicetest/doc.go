// Package sluicetest is what a connector author tests with: an in-process
// Kafka broker, fake task contexts and acceptance suites that run Sluice's
// task contracts against the author's own source or sink task.
//
// # Broker
//
// [StartBroker] starts an in-process Kafka-protocol broker
// (github.com/twmb/franz-go/pkg/kfake) on 127.0.0.1 for tests and local
// runs: no Java, no Docker, gone when closed. Tests usually call [Brokers]
// instead, which returns the in-process broker by default and a real one
// when the environment variable KAFKA_BOOTSTRAP_SERVERS is set, so the same
// test runs against Apache Kafka in CI. Under CI=true a missing
// KAFKA_BOOTSTRAP_SERVERS fails the test rather than silently falling back.
// Tests sharing a real broker must not collide: name topics (and consumer
// groups) with [Topic].
//
// Everything this package starts for a test is stopped by t.Cleanup, so
// tests using it stay clean under go.uber.org/goleak.
package sluicetest
