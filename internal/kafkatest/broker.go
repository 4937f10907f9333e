package kafkatest

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process Kafka-protocol broker (kfake).
type Broker struct{ c *kfake.Cluster }

// StartBroker starts a single-broker kfake cluster on 127.0.0.1 that behaves
// like the test bed's Apache Kafka: metadata requests may auto-create topics,
// and auto-created topics (and CreateTopics with -1 partitions) get one
// partition. The caller must Close it.
func StartBroker() (*Broker, error) {
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

// Close stops the broker; its data is gone. It is safe to call more than once.
func (b *Broker) Close() { b.c.Close() }
