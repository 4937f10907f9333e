package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// gateTask's Put blocks while the gate is closed.
type gateTask struct {
	mu   sync.Mutex
	open chan struct{}
	put  atomic.Int64
}

func (g *gateTask) Start(context.Context, sink.TaskContext) error { return nil }
func (g *gateTask) Stop(context.Context) error                    { return nil }
func (g *gateTask) Put(ctx context.Context, recs []connect.Record) error {
	g.mu.Lock()
	gate := g.open
	g.mu.Unlock()
	select {
	case <-gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.put.Add(int64(len(recs)))
	return nil
}

func produce(t *testing.T, brokers []string, topic string, n int) {
	t.Helper()
	p, err := sarama.NewSyncProducer(brokers, kafkatest.SaramaConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprint(i))}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

// TestSinkStalledLagAndMetrics runs a real sink pipeline under a Runner:
// while Put is blocked with records waiting the task is reported stalled
// within StallAfter (Kafka Connect would say RUNNING); once Put flows and the
// lag is gone it is not; the scrape shows sink-record-send-total = N, and
// non-zero lag while the connector is paused with new records.
func TestSinkStalledLagAndMetrics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	const n = 500
	produce(t, brokers, topic, n)

	mp, scrapeH := promScraper(t)
	const stallAfter = 1500 * time.Millisecond
	r, err := runner.New(runner.Config{Logger: quiet(), MeterProvider: mp, StallAfter: stallAfter})
	if err != nil {
		t.Fatal(err)
	}
	task := &gateTask{open: make(chan struct{})}
	err = r.AddPipeline("stall-sink", nil, func(ctx context.Context) (connect.Pipeline, error) {
		return sink.New(sink.Config{Name: "stall-sink", Brokers: brokers, Topics: []string{topic},
			Sarama: kafkatest.SaramaConfig(t), Logger: quiet(), NewTask: func() sink.Task { return task },
			OffsetFlushInterval: 100 * time.Millisecond})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	report := func() runner.TaskReport {
		rep, err := r.Status("stall-sink")
		if err != nil || len(rep.Tasks) == 0 {
			return runner.TaskReport{}
		}
		return rep.Tasks[0]
	}
	eventually(t, "records waiting for the blocked Put", 30*time.Second, func() bool {
		tr := report()
		return tr.State == connect.StateRunning && (tr.InFlight > 0 || tr.Lag > 0)
	})
	if tr := report(); tr.Stalled {
		t.Fatal("stalled before StallAfter elapsed")
	}
	start := time.Now()
	eventually(t, "the blocked task to be reported stalled", 30*time.Second, func() bool { return report().Stalled })
	if waited := time.Since(start); waited > stallAfter+5*time.Second {
		t.Errorf("stalled reported after %s, StallAfter is %s", waited, stallAfter)
	}
	if st := report(); st.State != connect.StateRunning {
		t.Fatalf("a stalled task keeps state %s (the stall is reported beside it)", st.State)
	}

	task.mu.Lock()
	close(task.open)
	task.mu.Unlock()
	eventually(t, "all records put and committed", 30*time.Second, func() bool {
		tr := report()
		return task.put.Load() == n && tr.Lag == 0 && tr.InFlight == 0
	})
	time.Sleep(stallAfter + 200*time.Millisecond)
	if report().Stalled {
		t.Fatal("a healthy idle sink (no lag) is reported stalled")
	}
	series := `sink_record_send_total{connector="stall-sink",task="0"}`
	if v := scrape(t, scrapeH, series); v != n {
		t.Fatalf("%s = %v, want %d", series, v, n)
	}

	// Paused with new records: the lag shows in the scrape.
	if err := r.Pause("stall-sink"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "PAUSED", 10*time.Second, func() bool { return report().State == connect.StatePaused })
	produce(t, brokers, topic, 40)
	lagSeries := `sink_record_lag_max{connector="stall-sink",task="0"}`
	eventually(t, "lag while paused", 30*time.Second, func() bool { return scrape(t, scrapeH, lagSeries) > 0 })
}
