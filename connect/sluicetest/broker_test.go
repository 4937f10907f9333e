package sluicetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// TestBrokersCreateTopic checks the helpers end to end against whichever
// broker Brokers picks: CreateTopic with three partitions, then metadata
// lists them.
func TestBrokersCreateTopic(t *testing.T) {
	brokers := sluicetest.Brokers(t)
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 3, nil)

	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("Partitions(%s): %v", topic, err)
	}
	if len(parts) != 3 {
		t.Fatalf("topic %s has partitions %v, want 3", topic, parts)
	}
}

// TestStartBrokerCloseTwice checks that Close is idempotent and that the
// broker answers before it.
func TestStartBrokerCloseTwice(t *testing.T) {
	b, err := sluicetest.StartBroker()
	if err != nil {
		t.Fatal(err)
	}
	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") {
		t.Errorf("Addrs() = %v, want one 127.0.0.1 address", addrs)
	}
	client, err := sarama.NewClient(addrs, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	client.Close()
	b.Close()
	b.Close()
}

// TestBrokersRequireKafka runs a child test process with
// SLUICE_REQUIRE_KAFKA=1 and no KAFKA_BOOTSTRAP_SERVERS: Brokers must fail
// the test, not skip it nor fall back to the in-process broker.
func TestBrokersRequireKafka(t *testing.T) {
	if os.Getenv("SLUICETEST_CHILD") == "brokers-require" {
		sluicetest.Brokers(t)
		t.Log("Brokers returned")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokersRequireKafka$", "-test.v")
	cmd.Env = append(withoutEnv(os.Environ(), "KAFKA_BOOTSTRAP_SERVERS", "CI", "SLUICE_REQUIRE_KAFKA"),
		"SLUICE_REQUIRE_KAFKA=1", "SLUICETEST_CHILD=brokers-require")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed with SLUICE_REQUIRE_KAFKA=1 without KAFKA_BOOTSTRAP_SERVERS:\n%s", out)
	}
	if !strings.Contains(string(out), "--- FAIL: TestBrokersRequireKafka") ||
		!strings.Contains(string(out), "SLUICE_REQUIRE_KAFKA=1 but KAFKA_BOOTSTRAP_SERVERS is not set") ||
		strings.Contains(string(out), "Brokers returned") {
		t.Fatalf("child test did not fail in Brokers:\n%s", out)
	}
}

// TestBrokersInProcessUnderCI checks that CI=true, which every hosted CI
// sets, does not make Brokers fail: without KAFKA_BOOTSTRAP_SERVERS and
// SLUICE_REQUIRE_KAFKA it returns a working in-process broker.
func TestBrokersInProcessUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("KAFKA_BOOTSTRAP_SERVERS", "")
	t.Setenv("SLUICE_REQUIRE_KAFKA", "")
	brokers := sluicetest.Brokers(t)
	if len(brokers) != 1 || !strings.HasPrefix(brokers[0], "127.0.0.1:") {
		t.Fatalf("Brokers() = %v, want one in-process broker on 127.0.0.1", brokers)
	}
	topic := sluicetest.Topic(t)
	sluicetest.CreateTopic(t, brokers, topic, 2, nil)
	client, err := sarama.NewClient(brokers, sluicetest.SaramaConfig(t))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	if parts, err := client.Partitions(topic); err != nil || len(parts) != 2 {
		t.Fatalf("Partitions(%s) = %v, %v; want 2 partitions", topic, parts, err)
	}
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
