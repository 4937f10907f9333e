package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

func topicsClient(t *testing.T, addrs []string) sarama.Client {
	t.Helper()
	c, err := sarama.NewClient(addrs, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func topicCleanupPolicy(t *testing.T, c sarama.Client, topic string) string {
	t.Helper()
	admin, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		t.Fatal(err)
	}
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic,
		ConfigNames: []string{"cleanup.policy"}}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		for _, e := range r.Configs {
			if e.Name == "cleanup.policy" {
				return e.Value
			}
		}
	}
	return ""
}

// A missing topic is created compacted with the asked partitions; an
// existing compacted one is accepted as is.
func TestEnsureTopicCreates(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	c := topicsClient(t, addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := kafkatest.Topic(t)
	spec := TopicSpec{Name: topic, Property: statusTopicProp, Purpose: statusTopicPurpose, Partitions: 3}
	n, err := EnsureTopic(ctx, c, spec, testLogger(t))
	if err != nil || n != 3 {
		t.Fatalf("EnsureTopic = %d, %v; want 3 partitions", n, err)
	}
	if p := topicCleanupPolicy(t, c, topic); p != "compact" {
		t.Errorf("created topic has cleanup.policy=%q, want compact", p)
	}
	spec.Partitions = 7 // ignored for an existing topic
	if n, err := EnsureTopic(ctx, c, spec, testLogger(t)); err != nil || n != 3 {
		t.Errorf("EnsureTopic on the existing topic = %d, %v; want 3, nil", n, err)
	}
}

// The config topic must have one partition and every topic must be
// compacted; the refusals are Kafka Connect's texts.
func TestEnsureTopicRefuses(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	c := topicsClient(t, addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	compact, del := "compact", "delete"

	two := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, two, 2, map[string]*string{"cleanup.policy": &compact})
	_, err := OpenConfigLog(ctx, LogConfig{Addrs: addrs, Sarama: kafkatest.SaramaConfig(t), Topic: two, Logger: testLogger(t)})
	want := "Topic '" + two + "' supplied via the 'config.storage.topic' property is required to have a single partition " +
		"in order to guarantee consistency of connector configurations, but found 2 partitions."
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("config log on a 2-partition topic: %v\nwant the error to contain %q", err, want)
	}

	deleting := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, addrs, deleting, 1, map[string]*string{"cleanup.policy": &del})
	_, err = EnsureTopic(ctx, c, TopicSpec{Name: deleting, Property: statusTopicProp, Purpose: statusTopicPurpose}, testLogger(t))
	want = "Topic '" + deleting + "' supplied via the 'status.storage.topic' property is required to have 'cleanup.policy=compact' " +
		"to guarantee consistency and durability of connector and task statuses, but found the topic currently has 'cleanup.policy=delete'."
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("EnsureTopic on a delete topic: %v\nwant the error to contain %q", err, want)
	}
	_, err = OpenStatusLog(ctx, LogConfig{Addrs: addrs, Sarama: kafkatest.SaramaConfig(t), Topic: deleting, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy=delete") {
		t.Errorf("status log on a delete topic: %v, want the compaction error", err)
	}
}
