package runner_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
)

// TestClusterLoggerLevel: PUT /admin/loggers/{ns}?scope=cluster answers
// 204, writes Kafka Connect's logger-cluster-<ns> record to the config
// topic, and every member applies it (the one asked before answering); a
// member that starts afterwards does not apply levels written before it
// started (as Kafka Connect's workers).
func TestClusterLoggerLevel(t *testing.T) {
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
	const ns = "com.example.clustered"
	req, err := http.NewRequest(http.MethodPut, m0.url+"/admin/loggers/"+ns+"?scope=cluster", strings.NewReader(`{"level":"debug"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || body.Len() != 0 {
		t.Fatalf("PUT ?scope=cluster: %d %q, want 204 and no body", resp.StatusCode, body.String())
	}
	if l, err := m0.r.LoggerLevel(ns); err != nil || l.Level != "DEBUG" {
		t.Fatalf("asked member: %+v, %v (want DEBUG before the 204)", l, err)
	}
	waitCluster(t, 60*time.Second, "the other member applying the level", func() bool {
		l, err := m1.r.LoggerLevel(ns)
		return err == nil && l.Level == "DEBUG"
	})

	// The record, as Kafka Connect writes it.
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
	pc, err := consumer.ConsumePartition(group+"-configs", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	deadline := time.After(60 * time.Second)
	for found := false; !found; {
		select {
		case m := <-pc.Messages():
			if string(m.Key) == "logger-cluster-"+ns {
				if string(m.Value) != `{"level":"DEBUG"}` {
					t.Fatalf("record value %s", m.Value)
				}
				found = true
			}
		case <-deadline:
			t.Fatal("no logger-cluster-" + ns + " record in the config topic")
		}
	}

	// A member started later ignores the levels written before it started.
	m2 := startClusterMemberWith(t, brokers, group, topic, store, 2, clusterOpts{})
	waitCluster(t, 60*time.Second, "the third member running tasks", func() bool {
		by, n := tasksByWorker(m0.r, connect.StateRunning)
		return n == 6 && len(by) == 3
	})
	if l, err := m2.r.LoggerLevel(ns); err == nil {
		t.Fatalf("late member applied an old level: %+v", l)
	}
}
