package sink_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestSecureSinkFromProperties: a sink pipeline configured only by Kafka
// Connect properties consumes over SASL_SSL with SCRAM-SHA-512, and its
// dead-letter queue clients (topic creation and producer) connect with the
// same settings. The in-process broker only: the shared real broker has no
// secure listener.
func TestSecureSinkFromProperties(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	const topic = "secure-in"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic), kfake.TLS(pki.ServerTLS(false)),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "connect", "sink-pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	security := map[string]string{
		"security.protocol":       "SASL_SSL",
		"ssl.truststore.type":     "PEM",
		"ssl.truststore.location": pki.CAFile,
		"sasl.mechanism":          "SCRAM-SHA-512",
		"sasl.jaas.config":        `org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="sink-pass";`,
	}

	// Seed records with a producer secured the same way.
	pc := kafkaconf.NewSaramaConfig("seed")
	if err := kafkaconf.ApplySecurity(pc, security, nil); err != nil {
		t.Fatal(err)
	}
	pc.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(brokers, pc)
	if err != nil {
		t.Fatal(err)
	}
	const perPart = 10
	for p := range int32(2) {
		for i := range perPart {
			if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	prod.Close()

	worker := map[string]string{"bootstrap.servers": strings.Join(brokers, ",")}
	for k, v := range security {
		worker["consumer."+k] = v
	}
	task := newRecTask()
	cfg, err := sink.ConfigFromProperties(worker, map[string]string{
		"name": "secure-sink", "topics": topic,
		"errors.deadletterqueue.topic.name":               "secure-dlq",
		"errors.deadletterqueue.topic.replication.factor": "1",
		"errors.tolerance":                                "all",
	}, sink.PropertyOptions{NewTask: func() sink.Task { return task }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 120*time.Second, "every record", func() bool { return task.n.Load() >= 2*perPart })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The DLQ's admin client created its topic over the secure listener.
	admin, err := sarama.NewClusterAdmin(brokers, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{"secure-dlq"})
	if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError {
		t.Errorf("DLQ topic: %v %v", md, err)
	}
}
