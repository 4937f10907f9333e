package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

func TestClusterConfigFromProperties(t *testing.T) {
	c, err := runner.ClusterConfigFromProperties(map[string]string{
		"bootstrap.servers":                 "k1:9092, k2:9092",
		"group.id":                          "connect-cluster",
		"config.storage.topic":              "connect-configs",
		"offset.storage.topic":              "connect-offsets",
		"status.storage.topic":              "connect-status",
		"config.storage.replication.factor": "1",
		"offset.storage.replication.factor": "-1",
		"offset.storage.partitions":         "10",
		"status.storage.partitions":         "3",
		"session.timeout.ms":                "6000",
		"heartbeat.interval.ms":             "1000",
		"rebalance.timeout.ms":              "20000",
		"scheduled.rebalance.max.delay.ms":  "0",
		"listeners":                         "http://0.0.0.0:8083,https://0.0.0.0:8443",
		"rest.advertised.host.name":         "10.0.0.7",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := runner.ClusterConfig{
		GroupID: "connect-cluster", ConfigTopic: "connect-configs", OffsetTopic: "connect-offsets", StatusTopic: "connect-status",
		ConfigReplicationFactor: 1, OffsetReplicationFactor: -1, OffsetPartitions: 10, StatusPartitions: 3,
		SessionTimeout: 6 * time.Second, HeartbeatInterval: time.Second, RebalanceTimeout: 20 * time.Second,
		ScheduledRebalanceMaxDelay: -1, // Kafka Connect's 0: reassign at once
		AdvertisedURL:              "http://10.0.0.7:8083",
		Brokers:                    []string{"k1:9092", "k2:9092"},
	}
	if c.GroupID != want.GroupID || c.ConfigTopic != want.ConfigTopic || c.OffsetTopic != want.OffsetTopic || c.StatusTopic != want.StatusTopic ||
		c.ConfigReplicationFactor != want.ConfigReplicationFactor || c.OffsetReplicationFactor != want.OffsetReplicationFactor ||
		c.StatusReplicationFactor != 0 || c.OffsetPartitions != want.OffsetPartitions || c.StatusPartitions != want.StatusPartitions ||
		c.SessionTimeout != want.SessionTimeout || c.HeartbeatInterval != want.HeartbeatInterval || c.RebalanceTimeout != want.RebalanceTimeout ||
		c.ScheduledRebalanceMaxDelay != want.ScheduledRebalanceMaxDelay || c.AdvertisedURL != want.AdvertisedURL ||
		strings.Join(c.Brokers, ",") != strings.Join(want.Brokers, ",") {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}

	// The advertised listener, host and port override the first listener.
	c, err = runner.ClusterConfigFromProperties(map[string]string{
		"group.id": "g", "config.storage.topic": "c", "offset.storage.topic": "o", "status.storage.topic": "s",
		"listeners": "http://:8083", "rest.advertised.listener": "https", "rest.advertised.host.name": "w1", "rest.advertised.port": "9443",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdvertisedURL != "https://w1:9443" {
		t.Errorf("advertised URL %q, want https://w1:9443", c.AdvertisedURL)
	}

	// Not a distributed worker.
	if c, err := runner.ClusterConfigFromProperties(map[string]string{"group.id": "g"}); c != nil || err != nil {
		t.Errorf("without config.storage.topic: got %v, %v; want nil, nil", c, err)
	}
}

func TestClusterConfigErrorsNameTheKey(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"group.id": "g", "config.storage.topic": "c", "offset.storage.topic": "o", "status.storage.topic": "s"}
	}
	for _, tc := range []struct {
		key, value, want string
	}{
		{"group.id", "", "group.id: required"},
		{"status.storage.topic", "", "status.storage.topic: required"},
		{"offset.storage.topic", "c", "must name three different topics"},
		{"config.storage.replication.factor", "0", "config.storage.replication.factor"},
		{"status.storage.partitions", "x", "status.storage.partitions"},
		{"session.timeout.ms", "soon", "session.timeout.ms"},
		{"heartbeat.interval.ms", "20000", "heartbeat.interval.ms"},
		{"connect.protocol", "default", "connect.protocol"},
		{"rest.advertised.port", "http", "rest.advertised.port"},
		{"listeners", "ftp://x:1", "listeners"},
	} {
		props := base()
		props[tc.key] = tc.value
		_, err := runner.ClusterConfigFromProperties(props)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %v, want one containing %q", tc.key, tc.value, err, tc.want)
		}
	}
	// The typed form validates the same way, and New refuses an invalid one.
	if err := (runner.ClusterConfig{}).Validate(); err == nil || !strings.Contains(err.Error(), "group.id") {
		t.Errorf("zero ClusterConfig: %v", err)
	}
	if _, err := runner.New(runner.Config{Cluster: &runner.ClusterConfig{GroupID: "g"}}); err == nil || !strings.Contains(err.Error(), "config.storage.topic") {
		t.Errorf("New with an invalid ClusterConfig: %v", err)
	}
	// New derives cluster mode from the Worker properties, and the worker id from the advertised URL.
	w := base()
	w["listeners"] = "http://127.0.0.1:18083"
	r, err := runner.New(runner.Config{Worker: w})
	if err != nil {
		t.Fatal(err)
	}
	if r.WorkerID() != "127.0.0.1:18083" {
		t.Errorf("worker id %q, want the advertised host:port", r.WorkerID())
	}
	if st, ok := r.ClusterStatus(); !ok || st.GroupID != "g" || st.Generation != -1 {
		t.Errorf("ClusterStatus before Run: %+v, %v", st, ok)
	}
}

// TestClusterRefusesMultiPartitionConfigTopic: Run ends at once with Kafka
// Connect's error when the config topic has more than one partition.
func TestClusterRefusesMultiPartitionConfigTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	compact := "compact"
	kafkatest.CreateTopic(t, brokers, group+"-configs", 2, map[string]*string{"cleanup.policy": &compact})
	r, err := runner.New(runner.Config{
		Logger: slog.New(slog.DiscardHandler),
		Cluster: &runner.ClusterConfig{
			GroupID: group, ConfigTopic: group + "-configs", OffsetTopic: group + "-offsets", StatusTopic: group + "-status",
			Brokers: brokers, Sarama: kafkatest.SaramaConfig(t), AdvertisedURL: "http://127.0.0.1:1",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = r.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "single partition") || !strings.Contains(err.Error(), group+"-configs") {
		t.Fatalf("Run: %v (want Kafka Connect's single-partition refusal naming the topic, at once)", err)
	}
}

// TestClusterAfterRunFailed: once Run ended (here: a config topic Kafka
// Connect refuses), a declaration fails with ErrStopped instead of being
// kept for a config topic that will not open.
func TestClusterAfterRunFailed(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, group+"-configs", 2, nil) // not compacted: refused
	r, err := runner.New(runner.Config{
		Logger: slog.New(slog.DiscardHandler),
		Cluster: &runner.ClusterConfig{
			GroupID: group, ConfigTopic: group + "-configs", OffsetTopic: group + "-offsets", StatusTopic: group + "-status",
			Brokers: brokers, Sarama: kafkatest.SaramaConfig(t), AdvertisedURL: "http://127.0.0.1:1",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded on a refused config topic")
	}
	if err := r.AddPipeline("late", nil, func(context.Context) (connect.Pipeline, error) { return nil, nil }); !errors.Is(err, runner.ErrStopped) {
		t.Errorf("AddPipeline after Run ended: %v, want ErrStopped", err)
	}
}
