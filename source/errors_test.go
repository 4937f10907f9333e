package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/transforms"
)

var errBadRecord = errors.New("bad record")

// failEvery3rd fails the records whose seq % 10 == 3.
var failEvery3rd = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
	if n, _ := asInt64(r.SourceOffset["seq"]); n%10 == 3 {
		return nil, fmt.Errorf("seq %d: %w", n, errBadRecord)
	}
	return r, nil
})

func headerMap(m *sarama.ConsumerMessage) map[string]string {
	out := map[string]string{}
	for _, h := range m.Headers {
		out[string(h.Key)] = string(h.Value)
	}
	return out
}

func TestSourceToleranceAllSendsFailedRecordsToDLQAndAdvancesOffsets(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	dlq := topic + "-dlq"
	kafkatest.CreateTopic(t, brokers, topic, 2, nil)
	const parts, perPart = 2, 100 // failing seqs 3, 13, …, 93 per partition; last seq 99 fine
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 16}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "src-tolerate", task)
	cfg.OffsetStore = store
	cfg.Transforms = failEvery3rd
	cfg.Errors = sluiceerrors.Config{Tolerance: sluiceerrors.ToleranceAll, DLQTopic: dlq, DLQContextHeaders: true, LogEnable: true}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "all records done", 60*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut+st.Tasks[0].RecordsDropped == parts*perPart
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	const failed = parts * perPart / 10
	got := readAll(t, brokers, dlq)
	if len(got) != failed {
		t.Fatalf("DLQ holds %d records, want %d", len(got), failed)
	}
	for _, m := range got {
		h := headerMap(m)
		var sp map[string]any
		if err := json.Unmarshal([]byte(h[sluiceerrors.HeaderSourcePartition]), &sp); err != nil || !strings.HasPrefix(fmt.Sprint(sp["part"]), "p") {
			t.Fatalf("source partition header %q", h[sluiceerrors.HeaderSourcePartition])
		}
		if !strings.HasPrefix(h[sluiceerrors.HeaderSourceOffset], `{"seq":`) || !strings.HasSuffix(h[sluiceerrors.HeaderSourceOffset], `3}`) {
			t.Fatalf("source offset header %q", h[sluiceerrors.HeaderSourceOffset])
		}
		if h[sluiceerrors.HeaderStage] != "TRANSFORMATION" || h[sluiceerrors.HeaderConnectorName] != "src-tolerate" || h[sluiceerrors.HeaderTaskID] != "0" || h[sluiceerrors.HeaderTopic] != topic {
			t.Fatalf("context headers %v", h)
		}
		if !strings.Contains(h[sluiceerrors.HeaderExceptionMessage], "bad record") {
			t.Fatalf("exception message %q", h[sluiceerrors.HeaderExceptionMessage])
		}
		// Serialised with the pipeline's converters: the polled bytes.
		if name, seq, _ := strings.Cut(string(m.Value), ":"); !strings.HasPrefix(name, "p") || !strings.HasSuffix(seq, "3") {
			t.Fatalf("DLQ value %q is not the polled record", m.Value)
		}
	}
	for i, v := range committed(t, store, "src-tolerate", parts, task.part) {
		if v != perPart-1 {
			t.Errorf("p%d committed %d, want %d: skipped records must not hold offsets back", i, v, perPart-1)
		}
	}
	if n := len(readAll(t, brokers, topic)); n != parts*perPart-failed {
		t.Errorf("topic holds %d records, want %d", n, parts*perPart-failed)
	}
	st := p.PipelineStatus().Tasks[0].Errors
	if st.RecordsSkipped != failed || st.DLQProduceRequests != failed || st.ErrorsLogged != failed || st.DLQProduceFailures != 0 {
		t.Errorf("error counters %+v", st)
	}
}

func TestSourceToleranceNoneFailsAndOffsetsStopBeforeFailure(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	task := &genTask{topic: topic, parts: 1, perPart: 100, batch: 1}
	store := offsets.NewMemoryStore()
	cfg := baseConfig(t, brokers, "src-none", task)
	cfg.OffsetStore = store
	cfg.Transforms = failEvery3rd
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageTransformation || !errors.Is(err, errBadRecord) {
		t.Fatalf("Run: %v; want a TRANSFORMATION RecordError wrapping the SMT's error", err)
	}
	for _, want := range []string{"src-none", "TRANSFORMATION", "source partition {part=p0}", "offset {seq=3}"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if c := committed(t, store, "src-none", 1, task.part)[0]; c > 2 {
		t.Fatalf("committed seq %d, past the failed record 3", c)
	}
	if p.PipelineStatus().Tasks[0].State != connect.StateFailed {
		t.Fatalf("task state %s", p.PipelineStatus().Tasks[0].State)
	}
}

func TestSourceRetriableTransformIsRetried(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	task := &genTask{topic: topic, parts: 1, perPart: 10, batch: 10}
	var failures atomic.Int64
	cfg := baseConfig(t, brokers, "src-retry", task)
	cfg.Errors = sluiceerrors.Config{RetryTimeout: 30 * time.Second}
	cfg.Transforms = transforms.TransformationFunc(func(_ context.Context, r *connect.Record) (*connect.Record, error) {
		if n, _ := asInt64(r.SourceOffset["seq"]); n == 5 && failures.Load() < 2 {
			failures.Add(1)
			return nil, connect.Retriable(errors.New("downstream busy"))
		}
		return r, nil
	})
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "10 acks", 30*time.Second, func() bool { st := p.PipelineStatus(); return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 10 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := p.PipelineStatus().Tasks[0].Errors; s.Retries != 2 || s.RecordsSkipped != 0 {
		t.Fatalf("counters %+v, want 2 retries and nothing skipped", s)
	}
	if got := seqs(t, readAll(t, brokers, topic))["p0"]; len(got) != 10 || got[5] != 5 {
		t.Fatalf("records %v", got)
	}
}

// flakyStart fails Start the first n times.
type flakyStart struct {
	*genTask
	fails *atomic.Int64
	n     int64
}

func (f flakyStart) Start(ctx context.Context, tc source.TaskContext) error {
	if f.fails.Add(1) <= f.n {
		return errors.New("database not ready")
	}
	return f.genTask.Start(ctx, tc)
}

func TestSourceRestartPolicy(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t)
	var fails atomic.Int64
	cfg := baseConfig(t, brokers, "src-restart", nil)
	cfg.NewTask = func() source.Task {
		return flakyStart{genTask: &genTask{topic: topic, parts: 1, perPart: 5}, fails: &fails, n: 2}
	}
	cfg.Restart = sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: 10 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "the restarted task to deliver", 30*time.Second, func() bool {
		st := p.PipelineStatus()
		return len(st.Tasks) > 0 && st.Tasks[0].RecordsOut == 5
	})
	st := p.PipelineStatus().Tasks[0]
	if st.State != connect.StateRunning || st.Restarts != 2 || st.LastFailure == nil || !strings.Contains(st.LastFailure.Error(), "database not ready") {
		t.Fatalf("status %s restarts %d last failure %v; want RUNNING after 2 restarts", st.State, st.Restarts, st.LastFailure)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
