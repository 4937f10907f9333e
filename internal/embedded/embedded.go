// Package embedded starts the in-process Kafka-protocol broker (kfake) that
// examples and tests use when no Kafka is configured: zero setup, gone when
// the process exits.
package embedded

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process broker.
type Broker struct{ c *kfake.Cluster }

// Start starts a single-broker cluster on 127.0.0.1 that behaves like the
// test bed's Apache Kafka: metadata requests may auto-create topics, which
// get one partition.
func Start() (*Broker, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
	)
	if err != nil {
		return nil, fmt.Errorf("starting the in-process Kafka broker: %w", err)
	}
	return &Broker{c}, nil
}

// Addrs returns the bootstrap addresses.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker; its data is gone.
func (b *Broker) Close() { b.c.Close() }
