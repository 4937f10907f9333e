package runner_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// brokerClusterID asks the brokers for their cluster id.
func brokerClusterID(t *testing.T, brokers []string) string {
	t.Helper()
	sc := kafkatest.SaramaConfig(t)
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	b, err := client.Controller()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.GetMetadata(&sarama.MetadataRequest{Version: 4, Topics: []string{}})
	if err != nil || resp.ClusterID == nil || *resp.ClusterID == "" {
		t.Fatalf("metadata: %+v, %v", resp, err)
	}
	return *resp.ClusterID
}

// TestRootReportsKafkaClusterID: GET /'s kafka_cluster_id is the brokers'
// (bootstrap.servers of the Worker properties) unless Config sets one.
func TestRootReportsKafkaClusterID(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	want := brokerClusterID(t, brokers)
	bootstrap := ""
	for i, b := range brokers {
		if i > 0 {
			bootstrap += ","
		}
		bootstrap += b
	}
	root := func(cfg runner.Config) map[string]string {
		t.Helper()
		e := newEnv(t, cfg)
		w := do(e.r.Handler(), http.MethodGet, "/", "")
		var got map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil {
			t.Fatalf("GET / = %d %s", w.Code, w.Body)
		}
		return got
	}
	if got := root(runner.Config{Worker: map[string]string{"bootstrap.servers": bootstrap}}); got["kafka_cluster_id"] != want {
		t.Errorf("kafka_cluster_id = %q, want the brokers' %q", got["kafka_cluster_id"], want)
	}
	if got := root(runner.Config{Worker: map[string]string{"bootstrap.servers": bootstrap}, KafkaClusterID: "configured"}); got["kafka_cluster_id"] != "configured" {
		t.Errorf("kafka_cluster_id = %q, want Config's", got["kafka_cluster_id"])
	}
	// No brokers to ask: empty, as before.
	if got := root(runner.Config{}); got["kafka_cluster_id"] != "" {
		t.Errorf("kafka_cluster_id = %q without brokers", got["kafka_cluster_id"])
	}
}
