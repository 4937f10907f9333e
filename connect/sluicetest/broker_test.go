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

// TestBrokersFailsUnderCI runs a child test process with CI=true and no
// KAFKA_BOOTSTRAP_SERVERS: Brokers must fail the test, not skip it nor fall
// back to the in-process broker.
func TestBrokersFailsUnderCI(t *testing.T) {
	if os.Getenv("SLUICETEST_CHILD") == "brokers-ci" {
		sluicetest.Brokers(t)
		t.Log("Brokers returned")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokersFailsUnderCI$", "-test.v")
	cmd.Env = append(withoutEnv(os.Environ(), "KAFKA_BOOTSTRAP_SERVERS", "CI"),
		"CI=true", "SLUICETEST_CHILD=brokers-ci")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed under CI=true without KAFKA_BOOTSTRAP_SERVERS:\n%s", out)
	}
	if !strings.Contains(string(out), "--- FAIL: TestBrokersFailsUnderCI") ||
		!strings.Contains(string(out), "KAFKA_BOOTSTRAP_SERVERS is not set") ||
		strings.Contains(string(out), "Brokers returned") {
		t.Fatalf("child test did not fail in Brokers:\n%s", out)
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
