package offsets_test

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/offsets"
)

// TestOpenFromPropertiesSecurity: the offsets topic store, a worker's own
// client, connects with the worker's top-level security keys.
func TestOpenFromPropertiesSecurity(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "worker", "w-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	worker := map[string]string{
		"bootstrap.servers":                 strings.Join(c.ListenAddrs(), ","),
		"offset.storage.topic":              "secure-offsets",
		"offset.storage.replication.factor": "1",
		"offset.storage.partitions":         "1",
		"security.protocol":                 "SASL_PLAINTEXT",
		"sasl.mechanism":                    "SCRAM-SHA-256",
		"sasl.jaas.config":                  `org.apache.kafka.common.security.scram.ScramLoginModule required username="worker" password="w-pass";`,
		// The task clients' keys are not the worker's.
		"producer.security.protocol": "SSL",
	}
	store, err := offsets.OpenFromProperties(t.Context(), worker, nil)
	if err != nil {
		t.Fatal(err)
	}
	part := map[string]any{"f": "x"}
	if err := store.Write(t.Context(), "conn", []connect.OffsetEntry{{Partition: part, Offset: map[string]any{"pos": int64(7)}}}); err != nil {
		t.Fatal(err)
	}
	if off, err := store.Get(t.Context(), "conn", part); err != nil || off["pos"] != int64(7) {
		t.Errorf("Get: %v, %v", off, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	worker["sasl.mechanism"] = "GSSAPI"
	if _, err := offsets.OpenFromProperties(t.Context(), worker, nil); err == nil || !strings.Contains(err.Error(), "sasl.mechanism") {
		t.Errorf("GSSAPI: %v, want an error naming sasl.mechanism", err)
	}
}
