package source_test

import (
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

// TestStatusKafkaConnectTaskMetrics: a source task reports, per non-empty
// Poll, Kafka Connect's batch-size, poll-batch time and
// source-record-active-count windows, per offset commit the
// offset-commit time window, its running-ratio and pause-ratio, and its
// task and converter classes.
func TestStatusKafkaConnectTaskMetrics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	task := &genTask{topic: topic, parts: 1, perPart: 50, batch: 10}
	cfg := baseConfig(t, brokers, "metrics-"+topic, task)
	cfg.OffsetFlushInterval = 100 * time.Millisecond
	pred, err := transforms.NewHasHeaderKey(transforms.HasHeaderKeyConfig{Name: "absent"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transforms, err = transforms.NewChain(transforms.Stage{Alias: "drop", Transformation: transforms.NewFilter(), Predicate: pred, PredicateAlias: "hasAbsent"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, p)
	ts := func() connect.TaskStatus {
		if st := p.PipelineStatus(); len(st.Tasks) > 0 {
			return st.Tasks[0]
		}
		return connect.TaskStatus{}
	}
	waitFor(t, "50 records acknowledged and committed", 60*time.Second, func() bool {
		s := ts()
		return s.RecordsOut == 50 && s.OffsetCommitTime.Count > 0 && !s.LastCommit.Before(time.Unix(0, 1))
	})
	s := ts()
	if s.BatchSize.Count != 5 || s.BatchSize.Max != 10 || s.BatchSize.Avg != 10 {
		t.Errorf("BatchSize %+v, want 5 polls of 10", s.BatchSize)
	}
	if s.BatchTime.Count != 5 || math.IsNaN(s.BatchTime.Avg) || s.BatchTime.Max < 0 {
		t.Errorf("BatchTime %+v, want 5 polls", s.BatchTime)
	}
	if s.ActiveCount.Count != 5 || s.ActiveCount.Max < 10 {
		t.Errorf("ActiveCount %+v, want 5 observations of at least the batch", s.ActiveCount)
	}
	if s.OffsetCommitTime.Count == 0 || s.OffsetCommitTime.Max < 0 {
		t.Errorf("OffsetCommitTime %+v", s.OffsetCommitTime)
	}
	if s.RunningRatio <= 0 || s.RunningRatio > 1 || s.PauseRatio != 0 {
		t.Errorf("RunningRatio %v, PauseRatio %v; want running only", s.RunningRatio, s.PauseRatio)
	}
	if want := connect.ClassName(task); s.TaskClass != want || s.TaskVersion != connect.UndefinedVersion {
		t.Errorf("TaskClass %q, TaskVersion %q; want %q, undefined", s.TaskClass, s.TaskVersion, want)
	}
	if want := connect.ClassName(converters.NewByteArray()); s.KeyConverterClass != want || s.ValueConverterClass != want {
		t.Errorf("converter classes %q, %q; want %q", s.KeyConverterClass, s.ValueConverterClass, want)
	}
	if want := connect.ClassName(converters.NewSimpleHeader()); s.HeaderConverterClass != want {
		t.Errorf("HeaderConverterClass %q, want %q", s.HeaderConverterClass, want)
	}

	if len(s.Transforms) != 1 || s.Transforms[0].Alias != "drop" || len(s.Predicates) != 1 || s.Predicates[0].Alias != "hasAbsent" {
		t.Errorf("Transforms %+v, Predicates %+v; want drop, hasAbsent", s.Transforms, s.Predicates)
	}

	p.Pause()
	waitFor(t, "time spent paused", 60*time.Second, func() bool {
		s := ts()
		return s.State == connect.StatePaused && s.PauseRatio > 0
	})
	if s := ts(); s.RunningRatio+s.PauseRatio > 1+1e-9 || s.RunningRatio <= 0 {
		t.Errorf("RunningRatio %v + PauseRatio %v", s.RunningRatio, s.PauseRatio)
	}
}

// TestStatusKafkaConnectTaskMetricsExactlyOnce: an exactly-once source task
// times its transaction commits (offset-commit-max/avg-time-ms) and
// reports its polls as an at-least-once one does.
func TestStatusKafkaConnectTaskMetricsExactlyOnce(t *testing.T) {
	task := &genTask{parts: 1, perPart: 30, batch: 10}
	_, topic, cfg := eosSetup(t, "metrics-eos", 1, task)
	task.topic = topic
	cfg.Name = "metrics-eos-" + topic
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runPipeline(t, p)
	waitFor(t, "30 records committed", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 30 && st.Tasks[0].Transactions >= 1
	})
	s := p.PipelineStatus().Tasks[0]
	// Batches polled while a commit runs share a transaction: at least
	// one commit, timed each.
	if s.OffsetCommitTime.Count < s.Transactions || s.OffsetCommitTime.Max < 0 || math.IsNaN(s.OffsetCommitTime.Avg) {
		t.Errorf("OffsetCommitTime %+v, want one per committed transaction (%d)", s.OffsetCommitTime, s.Transactions)
	}
	if s.BatchSize.Count != 3 || s.BatchSize.Max != 10 {
		t.Errorf("BatchSize %+v, want 3 polls of 10", s.BatchSize)
	}
}
