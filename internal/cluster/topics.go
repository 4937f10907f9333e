package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// Defaults of Kafka Connect's distributed worker (DistributedConfig).
const (
	// DefaultStatusPartitions is status.storage.partitions' default.
	DefaultStatusPartitions int32 = 5
	// DefaultOffsetPartitions is offset.storage.partitions' default.
	DefaultOffsetPartitions int32 = 25
)

// TopicSpec describes one of cluster mode's internal topics for
// [EnsureTopic].
type TopicSpec struct {
	// Name is the topic.
	Name string
	// Property is the worker property that names it (for example
	// "config.storage.topic"), quoted by errors as Kafka Connect does.
	Property string
	// Purpose is what the topic holds, for errors ("connector
	// configurations", "connector and task statuses").
	Purpose string
	// Partitions of a topic EnsureTopic creates (-1 or 0 = the broker's
	// default).
	Partitions int32
	// SinglePartition refuses an existing topic with more than one
	// partition (the config topic).
	SinglePartition bool
	// ReplicationFactor of a topic EnsureTopic creates (-1 or 0 = the
	// broker's default).
	ReplicationFactor int16
}

// EnsureTopic creates spec's topic with cleanup.policy=compact if it is
// missing, else checks that its cleanup.policy is exactly "compact" and,
// with SinglePartition, that it has one partition; then waits until every
// partition has a leader. It returns the topic's partition count. The
// errors for a wrongly configured topic are Kafka Connect's texts. A
// principal not allowed to describe topic configs skips the compaction
// check with a warning (as Kafka Connect). client is not closed.
func EnsureTopic(ctx context.Context, client sarama.Client, spec TopicSpec, log *slog.Logger) (int32, error) {
	if log == nil {
		log = slog.Default()
	}
	// Not closed: closing a cluster admin closes its client, which the
	// caller keeps. The admin itself holds no goroutine.
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return 0, fmt.Errorf("topic %q: cluster admin: %w", spec.Name, err)
	}
	exists, err := topicExists(admin, spec.Name)
	if err != nil {
		return 0, err
	}
	if !exists {
		if err := createTopic(admin, spec, log); err != nil {
			return 0, err
		}
	} else if err := checkCompacted(admin, spec, log); err != nil {
		return 0, err
	}
	n, err := waitForLeaders(ctx, client, spec.Name)
	if err != nil {
		return 0, err
	}
	if spec.SinglePartition && n != 1 {
		//lint:ignore ST1005 Kafka Connect's exact text
		return 0, fmt.Errorf("Topic '%s' supplied via the '%s' property is required to have a single partition "+
			"in order to guarantee consistency of %s, but found %d partitions.", spec.Name, spec.Property, spec.Purpose, n)
	}
	return n, nil
}

func topicExists(admin sarama.ClusterAdmin, topic string) (bool, error) {
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return false, fmt.Errorf("topic %q: describing: %w", topic, err)
	}
	for _, tm := range md {
		if tm.Name != topic {
			continue
		}
		switch {
		case errors.Is(tm.Err, sarama.ErrNoError):
			return true, nil
		case errors.Is(tm.Err, sarama.ErrUnknownTopicOrPartition):
		default:
			return false, fmt.Errorf("topic %q: describing: %w", topic, tm.Err)
		}
	}
	return false, nil
}

func createTopic(admin sarama.ClusterAdmin, spec TopicSpec, log *slog.Logger) error {
	partitions, rf := spec.Partitions, spec.ReplicationFactor
	if spec.SinglePartition {
		partitions = 1
	}
	if partitions == 0 {
		partitions = -1
	}
	if rf == 0 {
		rf = -1
	}
	compact := "compact"
	err := admin.CreateTopic(spec.Name, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: rf,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false)
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		// Created concurrently (another member or worker): check it.
		return checkCompacted(admin, spec, log)
	case err != nil:
		return fmt.Errorf("topic %q: creating (partitions %d, replication factor %d, cleanup.policy=compact): %w",
			spec.Name, partitions, rf, err)
	}
	log.Info("cluster: created topic", "topic", spec.Name, "purpose", spec.Purpose,
		"partitions", partitions, "replication_factor", rf)
	return nil
}

// checkCompacted refuses a topic whose cleanup.policy is not exactly
// "compact", with the text of Kafka Connect's
// TopicAdmin.verifyTopicCleanupPolicyOnlyCompact.
func checkCompacted(admin sarama.ClusterAdmin, spec TopicSpec, log *slog.Logger) error {
	policy, _, err := kafkaconf.CleanupPolicy(admin, spec.Name)
	if errors.Is(err, kafkaconf.ErrDescribeNotAllowed) {
		log.Warn("cluster: not allowed to describe the topic's configuration; cannot check that it is compacted",
			"topic", spec.Name, "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("topic %q: describing cleanup.policy: %w", spec.Name, err)
	}
	if strings.TrimSpace(policy) == "compact" {
		return nil
	}
	//lint:ignore ST1005 Kafka Connect's exact text
	return fmt.Errorf("Topic '%s' supplied via the '%s' property is required to have 'cleanup.policy=compact' "+
		"to guarantee consistency and durability of %s, but found the topic currently has 'cleanup.policy=%s'. "+
		"Continuing would likely result in eventually losing %s and problems restarting this Connect cluster in the future. "+
		"Change the '%s' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'.",
		spec.Name, spec.Property, spec.Purpose, policy, spec.Purpose, spec.Property)
}

// waitForLeaders waits until metadata lists the topic with each partition
// led, and returns the partition count.
func waitForLeaders(ctx context.Context, client sarama.Client, topic string) (int32, error) {
	var last error
	for {
		n, err := topicReady(client, topic)
		if err == nil {
			return n, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %q: waiting for partition leaders: %w (last: %v)", topic, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func topicReady(client sarama.Client, topic string) (int32, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return 0, err
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	if len(parts) == 0 {
		return 0, fmt.Errorf("metadata lists no partitions")
	}
	for _, p := range parts {
		if _, err := client.Leader(topic, p); err != nil {
			return 0, fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return int32(len(parts)), nil
}
