package sluicetest_test

import (
	"fmt"
	"log"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect/sluicetest"
)

// A local run without Kafka: start the in-process broker, point clients (or
// a source/sink Config's Brokers) at its Addrs, close it at the end.
func ExampleStartBroker() {
	broker, err := sluicetest.StartBroker()
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(broker.Addrs(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	// Topics are created on first use, with one partition.
	partition, offset, err := producer.SendMessage(&sarama.ProducerMessage{
		Topic: "greetings",
		Value: sarama.StringEncoder("hello"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("partition %d, offset %d\n", partition, offset)
	// Output: partition 0, offset 0
}
