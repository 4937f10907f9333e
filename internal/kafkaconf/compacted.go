package kafkaconf

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// CompactedLogConfig returns a copy of base (or of NewSaramaConfig(clientID)
// when nil) set up for a client that writes and tails a compacted topic
// Kafka Connect's workers share (the offsets, config and status topics):
// idempotent acks=all writes with one request in flight, Kafka's murmur2
// partitioner for keyed records (a key lands on the partition a Kafka
// Connect worker writes it to), read_committed reads, fetches that wait at
// most maxWait, no topic auto-creation, no transactional id. what names the
// client in the error for a sarama Version older than 0.11.
func CompactedLogConfig(base *sarama.Config, clientID, what string, maxWait time.Duration) (*sarama.Config, error) {
	if base == nil {
		base = NewSaramaConfig(clientID)
	}
	c := *base
	if !c.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("sarama Version %v: %s needs at least 0.11 (idempotent producer, read_committed)", c.Version, what)
	}
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	if c.Producer.Retry.Max < 1 {
		c.Producer.Retry.Max = 3
	}
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewMurmur2Partitioner
	c.Producer.Transaction.ID = ""
	c.Consumer.IsolationLevel = sarama.ReadCommitted
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = min(c.Consumer.MaxWaitTime, maxWait)
	c.Metadata.AllowAutoTopicCreation = false
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ErrDescribeNotAllowed is wrapped by CleanupPolicy's error when the
// principal may not describe the topic's configuration: Kafka Connect then
// skips its compaction check with a warning.
var ErrDescribeNotAllowed = errors.New("not allowed to describe the topic's configuration")

// CleanupPolicy returns topic's cleanup.policy as the broker reports it,
// and whether it reported one. A topic just created may be unknown to the
// broker answering for a moment (Apache Kafka answers
// UNKNOWN_TOPIC_OR_PARTITION): that answer is retried for up to 10 s.
func CleanupPolicy(admin sarama.ClusterAdmin, topic string) (policy string, found bool, err error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		policy, found, err = cleanupPolicy(admin, topic)
		if !errors.Is(err, sarama.ErrUnknownTopicOrPartition) || time.Now().After(deadline) {
			return policy, found, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func cleanupPolicy(admin sarama.ClusterAdmin, topic string) (policy string, found bool, err error) {
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{
		Type:        sarama.TopicResource,
		Name:        topic,
		ConfigNames: []string{"cleanup.policy"},
	}}, sarama.DescribeConfigsOptions{})
	var entries []sarama.ConfigEntry
	for _, r := range results {
		if err != nil || r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			err = fmt.Errorf("%w: %s", r.ErrorCode, r.ErrorMsg)
			continue
		}
		entries = append(entries, r.Configs...)
	}
	if errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
		return "", false, fmt.Errorf("%w: %w", ErrDescribeNotAllowed, err)
	}
	if err != nil {
		return "", false, err
	}
	for _, e := range entries {
		if e.Name == "cleanup.policy" {
			policy, found = e.Value, true
		}
	}
	return policy, found, nil
}
