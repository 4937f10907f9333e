package kproduce_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/kproduce"
)

// BenchmarkProduce compares kproduce with sarama's AsyncProducer, configured
// alike (Sluice's source's producer settings): 100-byte values to one
// partition, one op per record (ns/op is per record). It runs against the
// in-process broker unless KAFKA_BOOTSTRAP_SERVERS is set.
func BenchmarkProduce(b *testing.B) {
	for _, bc := range []struct {
		name string
		new  func([]string, *sarama.Config) (sarama.AsyncProducer, error)
	}{
		{"kproduce", kproduce.New},
		{"sarama", sarama.NewAsyncProducer},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addrs := kafkatest.Brokers(b)
			topic := kafkatest.Topic(b)
			kafkatest.CreateTopic(b, addrs, topic, 1, nil)
			p, err := bc.new(addrs, producerConfig(b, nil))
			if err != nil {
				b.Fatal(err)
			}
			closed := false
			b.Cleanup(func() {
				if closed {
					return
				}
				p.AsyncClose()
				go func() {
					for range p.Successes() {
					}
				}()
				done := make(chan struct{})
				go func() {
					defer close(done)
					for range p.Errors() {
					}
				}()
				select {
				case <-done:
				case <-time.After(hang):
					b.Errorf("the producer's Errors still open %s after AsyncClose", hang)
				}
			})
			value := sarama.ByteEncoder(randomBytes(100))
			// A first message: connections and producer id are in place
			// before the clock starts.
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: value}
			select {
			case <-p.Successes():
			case e := <-p.Errors():
				b.Fatal(e)
			case <-time.After(hang):
				b.Fatal("no answer to the first message")
			}
			b.ReportAllocs()
			b.ResetTimer()
			fed := make(chan struct{})
			stop := make(chan struct{})
			go func() {
				defer close(fed)
				for range b.N {
					select {
					case p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: value}:
					case <-stop:
						return
					}
				}
			}()
			deadline := time.After(hang + time.Duration(b.N)*10*time.Microsecond)
			for n := 0; n < b.N; n++ {
				select {
				case <-p.Successes():
				case e := <-p.Errors():
					close(stop)
					b.Fatal(e)
				case <-deadline:
					close(stop)
					b.Fatalf("%d of %d records back", n, b.N)
				}
			}
			b.StopTimer()
			<-fed
			closed = true
			if err := p.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
