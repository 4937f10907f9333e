// Package kafkaconf builds the sarama client configuration that every Kafka
// client in sluice starts from, and parses bootstrap address lists.
//
// It exists so that the protocol version, the acknowledgement settings and
// the process-wide metrics switch are chosen in exactly one place: code that
// talks to Kafka calls [NewSaramaConfig] and adjusts only what it must.
//
// Importing this package (directly or through any package that builds a
// sarama client with it) sets go-metrics' UseNilMetrics, see the package
// init function.
package kafkaconf
