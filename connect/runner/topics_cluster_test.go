package runner_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// restBody sends a request and returns the status code and body.
func restBody(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterActiveTopics: in cluster mode the active topics are Kafka
// Connect's status-topic records: every member answers for the cluster,
// a reset through any member writes tombstones that every member follows
// (forgetting what its tasks saw, also with the connector stopped), and
// tasks that see the topic again publish it again.
func TestClusterActiveTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	group := "cluster-" + kafkatest.Topic(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	store := offsets.NewMemoryStore()
	m0 := startClusterMemberWith(t, brokers, group, topic, store, 0, clusterOpts{})
	m1 := startClusterMemberWith(t, brokers, group, topic, store, 1, clusterOpts{})
	waitCluster(t, 60*time.Second, "both members running tasks", func() bool {
		by, n := tasksByWorker(m0.r, connect.StateRunning)
		return n == 6 && len(by) == 2
	})
	// GET / of a member: the brokers' cluster id.
	if code, body := restBody(t, http.MethodGet, m1.url+"/"); code != 200 || !strings.Contains(body, `"kafka_cluster_id":"`+brokerClusterID(t, brokers)+`"`) {
		t.Errorf("GET / = %d %s", code, body)
	}
	want := `{"seq":{"topics":["` + topic + `"]}}`
	topicsOn := func(m *clusterMember) string {
		code, body := restBody(t, http.MethodGet, m.url+"/connectors/seq/topics")
		if code != 200 {
			t.Fatalf("GET topics: %d %s", code, body)
		}
		return body
	}
	for _, m := range []*clusterMember{m0, m1} {
		waitCluster(t, 60*time.Second, "the topic active on "+m.url, func() bool { return topicsOn(m) == want })
	}

	// The record, as Kafka Connect's KafkaStatusBackingStore writes it.
	client, err := sarama.NewClient(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(group + "-status")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Topic struct {
			Name       string `json:"name"`
			Connector  string `json:"connector"`
			Task       *int   `json:"task"`
			Discovered int64  `json:"discoverTimestamp"`
		} `json:"topic"`
	}
	found := make(chan []byte, len(parts))
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(group+"-status", p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				if string(m.Key) == "status-topic-"+topic+":connector-seq" && m.Value != nil {
					found <- m.Value
					return
				}
			}
		}()
	}
	select {
	case v := <-found:
		if err := json.Unmarshal(v, &rec); err != nil || rec.Topic.Name != topic || rec.Topic.Connector != "seq" ||
			rec.Topic.Task == nil || rec.Topic.Discovered <= 0 {
			t.Fatalf("record %s: %+v %v", v, rec, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no status-topic-" + topic + ":connector-seq record")
	}

	// Stopped, reset through the other member: both forget the topic and
	// do not publish it again from what their tasks saw before.
	if code, body := restBody(t, http.MethodPut, m0.url+"/connectors/seq/stop"); code != 204 {
		t.Fatalf("stop: %d %s", code, body)
	}
	if code, body := restBody(t, http.MethodPut, m1.url+"/connectors/seq/topics/reset"); code != 202 || body != "" {
		t.Fatalf("reset: %d %q", code, body)
	}
	empty := `{"seq":{"topics":[]}}`
	for _, m := range []*clusterMember{m0, m1} {
		waitCluster(t, 60*time.Second, "no active topic on "+m.url, func() bool { return topicsOn(m) == empty })
	}
	for range 8 { // several status-writer rounds
		time.Sleep(300 * time.Millisecond)
		for _, m := range []*clusterMember{m0, m1} {
			if got := topicsOn(m); got != empty {
				t.Fatalf("after the reset, %s answers %s", m.url, got)
			}
		}
	}
	// Running again, the tasks see the topic again.
	if code, body := restBody(t, http.MethodPut, m1.url+"/connectors/seq/resume"); code != 202 {
		t.Fatalf("resume: %d %s", code, body)
	}
	for _, m := range []*clusterMember{m0, m1} {
		waitCluster(t, 60*time.Second, "the topic active again on "+m.url, func() bool { return topicsOn(m) == want })
	}
}
