package sink_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/connect"
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

// TestSinkDLQClientProps: a sink's dead-letter queue producer takes its
// properties from producer.* and producer.override.*, and its admin clients
// from the worker's top-level security keys, admin.* and admin.override.*,
// as Kafka Connect's (sinkTaskReporters, Worker.adminConfigs); with none of
// them both use the consumer's settings.
func TestSinkDLQClientProps(t *testing.T) {
	const pass = "sink-pass"
	jaas := func(pw string) string {
		return `org.apache.kafka.common.security.plain.PlainLoginModule required username="connect" password="` + pw + `";`
	}
	consumer := map[string]string{
		"consumer.security.protocol": "SASL_PLAINTEXT", "consumer.sasl.mechanism": "PLAIN", "consumer.sasl.jaas.config": jaas(pass),
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		maps.Copy(out, base)
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	wrongProducer := with(consumer, "producer.security.protocol", "SASL_PLAINTEXT", "producer.sasl.mechanism", "PLAIN",
		"producer.sasl.jaas.config", jaas("wrong-producer-pass"))
	wrongAdmin := with(consumer, "admin.security.protocol", "SASL_PLAINTEXT", "admin.sasl.mechanism", "PLAIN",
		"admin.sasl.jaas.config", jaas("wrong-admin-pass"))
	cases := []struct {
		name              string
		worker, connector map[string]string
		fail              string // what the error names; "" for success
	}{
		{"no producer or admin keys: the consumer's security", consumer, nil, ""},
		{"producer.* wrong password", wrongProducer, nil, "creating producer"},
		{"producer.override.* wins", wrongProducer, map[string]string{"producer.override.sasl.jaas.config": jaas(pass)}, ""},
		{"admin.* wrong password", wrongAdmin, nil, "dead-letter queue secure-dlq"},
		{"admin.override.* wins", wrongAdmin, map[string]string{"admin.override.sasl.jaas.config": jaas(pass)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "secure-in"),
				kfake.EnableSASL(), kfake.Superuser("PLAIN", "connect", pass))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			kafkatest.AnswerPlainLikeKafka(c, pass)
			worker := with(tc.worker, "bootstrap.servers", strings.Join(c.ListenAddrs(), ","))
			connector := with(tc.connector, "name", "secure-sink", "topics", "secure-in",
				"errors.deadletterqueue.topic.name", "secure-dlq", "errors.deadletterqueue.topic.replication.factor", "1",
				"errors.tolerance", "all")
			task := newRecTask()
			cfg, err := sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{NewTask: func() sink.Task { return task }})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Logger = quiet
			p, err := sink.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			if tc.fail == "" {
				waitFor(t, 60*time.Second, "the task running", func() bool {
					st := p.PipelineStatus()
					return len(st.Tasks) == 1 && st.Tasks[0].State == connect.StateRunning
				})
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			err = stopWhenFailed(p, cancel, done)
			if err == nil || !strings.Contains(err.Error(), tc.fail) || !strings.Contains(strings.ToLower(err.Error()), "authentication failed") {
				t.Fatalf("Run: %v, want an authentication failure of the %s", err, tc.fail)
			}
			if strings.Contains(err.Error(), "wrong-") {
				t.Errorf("the password appears in: %v", err)
			}
		})
	}
}
