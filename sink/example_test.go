package sink_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/sluicetest"
	"github.com/sluicehq/sluice/sink"
)

// printTask is a sink task that prints the values it receives and stops the
// example after three records.
type printTask struct {
	n    int
	done context.CancelFunc
}

func (t *printTask) Start(context.Context, sink.TaskContext) error { return nil }

func (t *printTask) Put(_ context.Context, recs []connect.Record) error {
	for _, r := range recs {
		fmt.Printf("%s[%d]@%d: %s\n", r.Topic, r.Partition, r.Offset, r.Value)
		if t.n++; t.n == 3 {
			t.done()
		}
	}
	return nil
}

func (t *printTask) Stop(context.Context) error { return nil }

func ExampleNew() {
	// An in-process broker with a topic holding three records.
	broker, err := sluicetest.StartBroker()
	if err != nil {
		panic(err)
	}
	defer broker.Close()
	brokers := broker.Addrs()
	pc := sarama.NewConfig()
	pc.Version = sarama.V4_0_0_0        // Kafka 4 refuses protocol versions older than 2.1
	pc.Producer.Return.Successes = true // a SyncProducer needs it
	prod, err := sarama.NewSyncProducer(brokers, pc)
	if err != nil {
		panic(err)
	}
	for _, v := range []string{"alpha", "beta", "gamma"} {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder(v)}); err != nil {
			panic(err)
		}
	}
	prod.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := sink.New(sink.Config{
		Name:    "orders-printer", // consumer group "connect-orders-printer"
		Brokers: brokers,
		Topics:  []string{"orders"},
		NewTask: func() sink.Task { return &printTask{done: cancel} },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	// Run returns after the graceful stop: offsets committed, task stopped.
	if err := p.Run(ctx); err != nil {
		panic(err)
	}
	fmt.Println(p.PipelineStatus().State)
	// Output:
	// orders[0]@0: alpha
	// orders[0]@1: beta
	// orders[0]@2: gamma
	// STOPPED
}

func ExampleConfigFromProperties() {
	worker := map[string]string{
		"bootstrap.servers":              "127.0.0.1:9092",
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "false",
	}
	connector := map[string]string{
		"name":                               "orders-printer",
		"tasks.max":                          "2",
		"topics":                             "orders,refunds",
		"consumer.override.max.poll.records": "100",
		"errors.tolerance":                   "all",
		"errors.deadletterqueue.topic.name":  "orders-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	}
	cfg, err := sink.ConfigFromProperties(worker, connector, sink.PropertyOptions{
		NewTask: func() sink.Task { return &printTask{} },
	})
	if err != nil {
		panic(err)
	}
	cfg.Restart.MaxRestarts = 3 // restart a failed task up to 3 times in 10 minutes
	p, err := sink.New(cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.GroupID(), cfg.Topics, cfg.TasksMax, cfg.BatchSize, cfg.Errors.Tolerance, cfg.Errors.DLQTopic)
	// Output:
	// connect-orders-printer [orders refunds] 2 100 all orders-dlq
}
