// Package embedded starts the in-process Kafka-protocol broker (kfake) that
// examples use when no Kafka is configured.
//
// Deprecated: use github.com/sluicehq/sluice/connect/sluicetest.StartBroker.
// This package remains only until the examples moved; it will be deleted.
package embedded

import "github.com/sluicehq/sluice/internal/kafkatest"

// Broker is a running in-process broker.
type Broker = kafkatest.Broker

// Start starts the broker; see kafkatest.StartBroker.
func Start() (*Broker, error) { return kafkatest.StartBroker() }
