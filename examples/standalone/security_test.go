package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestSASLWorker: a worker file in Kafka Connect's form, with the worker's
// own keys (the offsets topic store) and the producer.* and consumer.* keys
// set for SASL_PLAINTEXT with SCRAM-SHA-512, copies a file through a broker
// that requires authentication; the password appears in no log line. The
// in-process broker only: the shared real broker has no SASL listener.
func TestSASLWorker(t *testing.T) {
	const secret = "w0rker-s3cret"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "connect", secret))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	input := lines(0, 500)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	var security []string
	for _, prefix := range []string{"", "producer.", "consumer."} {
		security = append(security,
			prefix+"security.protocol=SASL_PLAINTEXT",
			prefix+"sasl.mechanism=SCRAM-SHA-512",
			prefix+`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="`+secret+`";`)
	}
	files := []string{
		writeFile(t, dir, "worker.properties", workerProps(brokers, append(security,
			"offset.storage.topic=secure-offsets", "offset.storage.replication.factor=1", "offset.storage.partitions=1")...)...),
		writeFile(t, dir, "source.properties", "name=sasl-source", "connector.class=FileStreamSource", "file="+in, "topic=sasl-lines",
			"topic.creation.default.replication.factor=1", "topic.creation.default.partitions=1"),
		writeFile(t, dir, "sink.properties", "name=sasl-sink", "connector.class=FileStreamSink", "file="+out, "topics=sasl-lines"),
	}
	logs := &syncBuffer{}
	w, err := newWorker(context.Background(), files[0], files[1:], options{stdout: logs, stderr: logs})
	if err != nil {
		t.Fatalf("newWorker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	waitForFile(t, out, input)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the worker did not stop within 60 s")
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the password appears in the worker's output:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "is ignored") {
		t.Errorf("security keys reported as ignored:\n%s", logs.String())
	}
}
