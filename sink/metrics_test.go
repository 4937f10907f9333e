package sink_test

import (
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/transforms"
)

// TestStatusKafkaConnectTaskMetrics: a sink task reports, per Put, Kafka
// Connect's batch-size, put-batch time and sink-record-active-count
// windows, per commit the offset-commit time window and seq-no, its
// running-ratio and pause-ratio, and its task and converter classes.
func TestStatusKafkaConnectTaskMetrics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	produce(t, brokers, topic, 1, 50)

	task := newRecTask()
	cfg := baseConfig(t, brokers, topic, topic, func() sink.Task { return task })
	cfg.OffsetFlushInterval = 100 * time.Millisecond
	// A chain that drops nothing: Filter gated by a predicate no record
	// matches.
	pred, err := transforms.NewHasHeaderKey(transforms.HasHeaderKeyConfig{Name: "absent"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transforms, err = transforms.NewChain(transforms.Stage{Alias: "drop", Transformation: transforms.NewFilter(), Predicate: pred, PredicateAlias: "hasAbsent"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	defer func() { _ = stop() }()
	ts := func() connect.TaskStatus {
		if st := p.PipelineStatus(); len(st.Tasks) > 0 {
			return st.Tasks[0]
		}
		return connect.TaskStatus{}
	}
	waitFor(t, 60*time.Second, "50 records put and committed", func() bool {
		s := ts()
		return s.RecordsOut == 50 && s.RecordsCommitted == 50
	})
	s := ts()
	if s.BatchSize.Count == 0 || s.BatchSize.Max < 1 || s.BatchSize.Max > 50 || s.BatchSize.Avg > s.BatchSize.Max {
		t.Errorf("BatchSize %+v, want Puts of 1..50 records", s.BatchSize)
	}
	if s.BatchTime.Count != s.BatchSize.Count || math.IsNaN(s.BatchTime.Max) || s.BatchTime.Max < 0 {
		t.Errorf("BatchTime %+v, want one observation per Put (%d)", s.BatchTime, s.BatchSize.Count)
	}
	if s.ActiveCount.Count != s.BatchSize.Count || s.ActiveCount.Max < 1 {
		t.Errorf("ActiveCount %+v, want one observation per Put, at least the batch", s.ActiveCount)
	}
	if s.OffsetCommitTime.Count == 0 || s.OffsetCommitTime.Count > s.OffsetCommitSeqNo || s.OffsetCommitSeqNo < s.OffsetCommits {
		t.Errorf("OffsetCommitTime %+v, OffsetCommitSeqNo %d, OffsetCommits %d", s.OffsetCommitTime, s.OffsetCommitSeqNo, s.OffsetCommits)
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
	waitFor(t, 60*time.Second, "time spent paused", func() bool {
		s := ts()
		return s.State == connect.StatePaused && s.PauseRatio > 0
	})
	if s := ts(); s.RunningRatio+s.PauseRatio > 1+1e-9 || s.RunningRatio <= 0 {
		t.Errorf("RunningRatio %v + PauseRatio %v", s.RunningRatio, s.PauseRatio)
	}
}
