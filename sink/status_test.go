package sink_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
)

// TestStatusIsConnectTaskStatus: a sink pipeline reports its tasks in
// connect's one status shape, the sink-only facts included and consistent
// with the common ones: InFlight is Buffered + Batched, RecordsDropped is
// RecordsFiltered + RecordsSkipped, Lag is the sum of the partitions' Lag(),
// the partitions are sorted and a partition the task paused says so, the
// consumer-group membership is filled in; once everything is put and
// committed, every partition's committed offset is its high watermark and
// the lag is 0.
func TestStatusIsConnectTaskStatus(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	produce(t, brokers, topic, 2, 50)

	task := newRecTask()
	tp0 := connect.TopicPartition{Topic: topic, Partition: 0}
	tp1 := connect.TopicPartition{Topic: topic, Partition: 1}
	var once sync.Once
	var pauseErr error
	task.onOpen = func(_ context.Context, tps []connect.TopicPartition) error {
		if slices.Contains(tps, tp0) {
			once.Do(func() { pauseErr = task.tc.Pause(tp0) })
		}
		return nil
	}
	p, err := sink.New(baseConfig(t, brokers, topic, topic, func() sink.Task { return task }))
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitFor(t, 60*time.Second, "partition 1 put", func() bool { return len(task.offsets()[tp1]) >= 50 })
	if pauseErr != nil {
		t.Fatal(pauseErr)
	}

	consistent := func(ts connect.TaskStatus) {
		t.Helper()
		if ts.InFlight != ts.Buffered+ts.Batched {
			t.Errorf("InFlight %d, want Buffered %d + Batched %d", ts.InFlight, ts.Buffered, ts.Batched)
		}
		if ts.RecordsDropped != ts.RecordsFiltered+ts.RecordsSkipped {
			t.Errorf("RecordsDropped %d, want RecordsFiltered %d + RecordsSkipped %d", ts.RecordsDropped, ts.RecordsFiltered, ts.RecordsSkipped)
		}
		var lag int64
		for _, ps := range ts.Partitions {
			lag += ps.Lag()
		}
		if ts.Lag != lag {
			t.Errorf("Lag %d, want the partitions' sum %d (%+v)", ts.Lag, lag, ts.Partitions)
		}
		if len(ts.Partitions) != 2 || ts.Partitions[0].TopicPartition != tp0 || ts.Partitions[1].TopicPartition != tp1 {
			t.Errorf("partitions %+v, want %s and %s in order", ts.Partitions, tp0, tp1)
		}
		// Source-only facts stay zero.
		if ts.RecordsWritten != 0 || ts.InFlightBytes != 0 || ts.RecordsRetrying != 0 {
			t.Errorf("source-only fields set on a sink task: %+v", ts)
		}
	}

	st := p.PipelineStatus()
	if st.Name != topic || st.Type != connect.TypeSink || len(st.Tasks) != 1 {
		t.Fatalf("pipeline status %+v", st)
	}
	ts := st.Tasks[0]
	consistent(ts)
	if ts.MemberID == "" || ts.Generation < 0 {
		t.Errorf("membership MemberID %q Generation %d, want a joined member", ts.MemberID, ts.Generation)
	}
	if len(ts.Partitions) == 2 && (!ts.Partitions[0].Paused || ts.Partitions[1].Paused) {
		t.Errorf("Paused flags %+v, want only %s paused", ts.Partitions, tp0)
	}
	if ts.RecordsOut != 50 || ts.LastPut.IsZero() || ts.LastPoll.IsZero() {
		t.Errorf("RecordsOut %d LastPut %v LastPoll %v, want 50 records put and both times set", ts.RecordsOut, ts.LastPut, ts.LastPoll)
	}

	if err := task.tc.Resume(tp0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "all records put", func() bool { return task.n.Load() >= 100 })
	task.tc.RequestCommit()
	waitFor(t, 60*time.Second, "commit of all records", func() bool {
		ts := p.PipelineStatus().Tasks[0]
		if ts.RecordsCommitted != 100 || len(ts.Partitions) != 2 {
			return false
		}
		for _, ps := range ts.Partitions {
			if ps.HighWatermark != 50 {
				return false // not fetched to the end yet
			}
		}
		return true
	})
	ts = p.PipelineStatus().Tasks[0]
	consistent(ts)
	for _, ps := range ts.Partitions {
		if ps.Committed != 50 || ps.Position != 50 || ps.Lag() != 0 || ps.Paused {
			t.Errorf("partition %+v after everything was committed, want position and committed 50, lag 0, not paused", ps)
		}
	}
	if ts.Lag != 0 || ts.InFlight != 0 {
		t.Errorf("Lag %d InFlight %d after everything was committed, want 0", ts.Lag, ts.InFlight)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
