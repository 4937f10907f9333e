package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// A Kafka Connect leader with exactly.once.source.support=enabled writes
// the config topic transactionally: the reader must skip aborted records
// (read_committed) and reach an end that is a transaction marker, which
// sarama's consumer never delivers (the probe), both at open and in
// ReadToEnd.
func TestLogReaderTransactionalTopic(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	compact := "compact"
	kafkatest.CreateTopic(t, addrs, topic, 1, map[string]*string{"cleanup.policy": &compact})

	cfg := kafkatest.SaramaConfig(t)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = kafkatest.Topic(t)
	p, err := sarama.NewAsyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	txn := func(commit bool, kvs ...[2]string) {
		t.Helper()
		if err := p.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		for _, kv := range kvs {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(kv[0]), Value: sarama.StringEncoder(kv[1])}
			select {
			case <-p.Successes():
			case perr := <-p.Errors():
				t.Fatal(perr)
			}
		}
		if commit {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	txn(true, [2]string{"connector-a", `{"properties":{"k":"a"}}`})
	txn(false, [2]string{"connector-b", `{"properties":{"k":"b"}}`})

	l := logsOpenConfigLog(t, addrs, topic)
	s := l.Snapshot()
	if _, ok := s.Connectors["b"]; ok {
		t.Error("a record of an aborted transaction was applied")
	}
	if _, ok := s.Connectors["a"]; !ok || s.Offset != 1 {
		t.Errorf("after open: connectors %v, offset %d; want a, offset 1 (the last record read + 1)", s.Connectors, s.Offset)
	}

	txn(true, [2]string{"connector-c", `{"properties":{"k":"c"}}`})
	txn(false, [2]string{"connector-d", `{"properties":{"k":"d"}}`})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	off, err := l.ReadToEnd(ctx) // the log ends with an abort marker
	if err != nil {
		t.Fatal(err)
	}
	s = l.Snapshot()
	if _, ok := s.Connectors["c"]; !ok || off != 5 {
		t.Errorf("after ReadToEnd: connectors %v, offset %d; want c, offset 5", s.Connectors, off)
	}
	if _, ok := s.Connectors["d"]; ok {
		t.Error("a record of an aborted transaction was applied")
	}
}
