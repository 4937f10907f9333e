package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/connect"
	sluiceerrors "github.com/sluicehq/sluice/errors"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/source"
)

// The fault-injection tests below drive an in-process kfake cluster of
// their own (also when KAFKA_BOOTSTRAP_SERVERS is set): they need its
// control hooks to make the broker fail on purpose.

// newFaultyCluster starts a kfake cluster with a topic of parts partitions.
func newFaultyCluster(t *testing.T, topic string, parts int32) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.SeedTopics(parts, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// fault is what an injected fault does to a request while it is on.
type fault int

const (
	faultNone fault = iota
	faultNotLeader
	faultTimedOut
	faultDown    // the broker is away: every connection is closed
	faultWritten // produce requests are written but answered REQUEST_TIMED_OUT (acks lost)
)

// injector applies the current fault to the cluster's requests and counts
// the requests it failed.
type injector struct {
	mode atomic.Int32
	hits atomic.Int64
}

func (in *injector) set(f fault) { in.mode.Store(int32(f)) }

// install adds the control function: Produce requests get the error code of
// the fault (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT), or, while the
// broker is "down", every request has its connection closed.
func (in *injector) install(c *kfake.Cluster) {
	c.ControlKey(-1, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		f := fault(in.mode.Load())
		switch {
		case f == faultDown:
			in.hits.Add(1)
			return nil, errors.New("injected: broker down"), true
		case (f == faultNotLeader || f == faultTimedOut) && req.Key() == kmsg.Produce.Int16():
			in.hits.Add(1)
			code := int16(6) // NOT_LEADER_OR_FOLLOWER
			if f == faultTimedOut {
				code = 7 // REQUEST_TIMED_OUT
			}
			pr := req.(*kmsg.ProduceRequest)
			resp := pr.ResponseKind().(*kmsg.ProduceResponse)
			for _, tp := range pr.Topics {
				rt := kmsg.NewProduceResponseTopic()
				rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
				for _, p := range tp.Partitions {
					rp := kmsg.NewProduceResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil, true
		}
		return nil, nil, false
	})
}

// stallWatcher records, while the pipeline runs, whether the task was seen
// RUNNING with a stall error, and checks that the committed offsets never
// pass a record Kafka does not hold.
type stallWatcher struct {
	seen    atomic.Bool
	lastErr atomic.Value // string
}

func (w *stallWatcher) check(p *source.Pipeline) bool {
	st := p.PipelineStatus()
	if len(st.Tasks) == 0 {
		return false
	}
	ts := st.Tasks[0]
	if ts.State == connect.StateRunning && ts.StallError != nil {
		w.seen.Store(true)
		w.lastErr.Store(ts.StallError.Error())
		return true
	}
	return false
}

// assertCommittedHeld checks that every committed seq, and all before it,
// of each source partition is in the topic.
func assertCommittedHeld(t *testing.T, brokers []string, topic string, store offsets.Store, name string, parts int) {
	t.Helper()
	// Committed first: what Kafka holds afterwards includes all it held then.
	cs := committed(t, store, name, parts, (&genTask{}).part)
	got := seqs(t, readAll(t, brokers, topic))
	for i, c := range cs {
		have := map[int64]bool{}
		for _, v := range got[fmt.Sprintf("p%d", i)] {
			have[v] = true
		}
		for v := int64(0); v <= c; v++ {
			if !have[v] {
				ss := got[fmt.Sprintf("p%d", i)]
				idx := 0
				for j, x := range ss {
					if x == v-1 {
						idx = j
					}
				}
				t.Fatalf("p%d: offset seq %d committed but seq %d never reached Kafka (%d records; around: %v)", i, c, v, len(ss), ss[max(idx-10, 0):min(idx+10, len(ss))])
			}
		}
	}
}

func faultConfig(t *testing.T, brokers []string, name string, task source.Task, store offsets.Store, tol sluiceerrors.Tolerance) source.Config {
	cfg := baseConfig(t, brokers, name, task)
	cfg.OffsetStore = store
	cfg.OffsetFlushInterval = 20 * time.Millisecond
	cfg.CommitEveryRecords = 100
	cfg.Errors = sluiceerrors.Config{Tolerance: tol, LogEnable: true}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ProducerProps = map[string]string{"retry.backoff.max.ms": "100"}
	cfg.Sarama.Metadata.Retry.Backoff = 20 * time.Millisecond
	cfg.Sarama.Net.DialTimeout = 2 * time.Second
	return cfg
}

// TestInjectedProduceErrorsLoseNothing: NOT_LEADER_OR_FOLLOWER, then
// REQUEST_TIMED_OUT, on every produce for a while, then the broker is down
// (connections closed) for a while: under errors.tolerance=none and all,
// nothing is lost, skipped or reordered, the task stays RUNNING and shows
// the error while it cannot progress, and the committed offsets never pass
// a record Kafka does not hold.
func TestInjectedProduceErrorsLoseNothing(t *testing.T) {
	for _, tol := range []sluiceerrors.Tolerance{sluiceerrors.ToleranceNone, sluiceerrors.ToleranceAll} {
		t.Run("tolerance="+tol.String(), func(t *testing.T) {
			topic := kafkatest.Topic(t)
			const parts = 3
			c, brokers := newFaultyCluster(t, topic, parts)
			var in injector
			in.install(c)
			// Records flow without end while the faults come and go, then
			// the task stops at perPart records per source partition.
			task := &genTask{topic: topic, parts: parts, perPart: -1, batch: 50}
			var limit atomic.Int64
			limit.Store(-1)
			task.onPoll = func() { task.perPart = limit.Load() }
			store := offsets.NewMemoryStore()
			name := "inject-" + tol.String()
			p, err := source.New(faultConfig(t, brokers, name, task, store, tol))
			if err != nil {
				t.Fatal(err)
			}
			stop := runPipeline(t, p)
			acked := func() int64 { ts := p.PipelineStatus().Tasks; return ts[0].RecordsOut }
			waitFor(t, "some records acknowledged", 60*time.Second, func() bool {
				ts := p.PipelineStatus().Tasks
				return len(ts) > 0 && ts[0].RecordsOut >= 300
			})
			var w stallWatcher
			for _, phase := range []struct {
				f    fault
				want string
			}{
				{faultNotLeader, "retries it in order"},
				{faultTimedOut, "retries it in order"},
				// Longer than sarama's bounded retries (saramaRetryMaxBounded):
				// had it given up, the later records it holds would be
				// written before the failed ones are re-sent.
				{faultWritten, "retries it in order"},
				{faultDown, ""},
			} {
				before := in.hits.Load()
				var written *kfake.FaultHandle
				if phase.f == faultWritten {
					written = c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.RequestTimedOut, Count: -1})
					waitFor(t, "the producer to retry past 10 attempts", 60*time.Second, func() bool { return written.Hits() > 15 })
					in.hits.Add(int64(written.Hits()))
				} else {
					in.set(phase.f)
				}
				// The fault lasts until the task stalled, with the error
				// it keeps getting: sarama retrying in order, or (broker
				// away) the pipeline holding the records to re-send them.
				waitFor(t, fmt.Sprintf("fault %d to stall the task", phase.f), 60*time.Second, func() bool {
					if in.hits.Load() <= before+3 || !w.check(p) {
						return false
					}
					s, _ := w.lastErr.Load().(string)
					return strings.Contains(s, phase.want)
				})
				if phase.f == faultNotLeader || phase.f == faultTimedOut {
					// Fetches still work: what is committed is in Kafka.
					assertCommittedHeld(t, brokers, topic, store, name, parts)
				}
				mark := acked()
				in.set(faultNone)
				if written != nil {
					written.Remove()
				}
				waitFor(t, "progress after the fault", 60*time.Second, func() bool { return acked() > mark+100 })
			}
			perPart := p.PipelineStatus().Tasks[0].RecordsIn/parts + 100
			limit.Store(perPart)
			waitFor(t, "all records acknowledged", 120*time.Second, func() bool { return acked() == parts*perPart })
			waitFor(t, "the stall to clear", 60*time.Second, func() bool { return p.PipelineStatus().Tasks[0].StallError == nil })
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			ts := p.PipelineStatus().Tasks[0]
			if ts.RecordsDropped != 0 || ts.Errors.RecordsSkipped != 0 || ts.Errors.RecordErrors != 0 {
				t.Fatalf("dropped %d, skipped %d, record errors %d: a broker fault is never a record failure",
					ts.RecordsDropped, ts.Errors.RecordsSkipped, ts.Errors.RecordErrors)
			}
			dups := assertComplete(t, brokers, topic, parts, perPart)
			for i, v := range committed(t, store, name, parts, task.part) {
				if v != perPart-1 {
					t.Errorf("p%d: committed seq %d, want %d", i, v, perPart-1)
				}
			}
			t.Logf("injected failures: %d requests; duplicates: %d", in.hits.Load(), dups)
		})
	}
}

// TestStopWhileBrokerDownCommitsOnlyAcked: stopping a task that waits for a
// broker that never comes back returns promptly, without error, and commits
// only offsets of records Kafka acknowledged; a new run resumes from there
// and loses nothing.
func TestStopWhileBrokerDownCommitsOnlyAcked(t *testing.T) {
	topic := kafkatest.Topic(t)
	const parts, perPart = 2, 2000
	c, brokers := newFaultyCluster(t, topic, parts)
	var in injector
	in.install(c)
	store := offsets.NewMemoryStore()
	task := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 50}
	cfg := faultConfig(t, brokers, "stop-down", task, store, sluiceerrors.ToleranceAll)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	waitFor(t, "some records acknowledged", 60*time.Second, func() bool {
		ts := p.PipelineStatus().Tasks
		return len(ts) > 0 && ts[0].RecordsOut >= 500
	})
	in.set(faultDown)
	var w stallWatcher
	waitFor(t, "the task to stall", 60*time.Second, func() bool { return w.check(p) })
	time.Sleep(300 * time.Millisecond) // a few redelivery rounds against the dead broker
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	ts := p.PipelineStatus().Tasks[0]
	if ts.State != connect.StateStopped || ts.RecordsDropped != 0 {
		t.Fatalf("after stop: task %s, dropped %d", ts.State, ts.RecordsDropped)
	}
	in.set(faultNone)
	assertCommittedHeld(t, brokers, topic, store, "stop-down", parts)

	// The next run resumes from the committed offsets: nothing is lost.
	task2 := &genTask{topic: topic, parts: parts, perPart: perPart, batch: 50}
	p2, err := source.New(faultConfig(t, brokers, "stop-down", task2, store, sluiceerrors.ToleranceAll))
	if err != nil {
		t.Fatal(err)
	}
	stop2 := runPipeline(t, p2)
	waitFor(t, "run 2 to finish", 120*time.Second, func() bool {
		c := committed(t, store, "stop-down", parts, task2.part)
		return c[0] == perPart-1 && c[1] == perPart-1
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	dups := assertComplete(t, brokers, topic, parts, perPart)
	t.Logf("duplicates after the restart: %d", dups)
}

// TestDeliveryTimeoutMakesARecordFailure: with a finite
// producer.delivery.timeout.ms a record that stays unacknowledged that long
// is a record failure: under errors.tolerance=none the task fails naming the
// timeout, and no offset passes the record.
func TestDeliveryTimeoutMakesARecordFailure(t *testing.T) {
	topic := kafkatest.Topic(t)
	c, brokers := newFaultyCluster(t, topic, 1)
	var in injector
	in.install(c)
	in.set(faultNotLeader)
	store := offsets.NewMemoryStore()
	task := &genTask{topic: topic, parts: 1, perPart: 100, batch: 10}
	cfg := faultConfig(t, brokers, "delivery-timeout", task, store, sluiceerrors.ToleranceNone)
	cfg.ProducerProps["delivery.timeout.ms"] = "300"
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = runUntilFailed(context.Background(), p)
	var re *connect.RecordError
	if !errors.As(err, &re) || re.Stage != connect.StageKafkaProduce || !strings.Contains(err.Error(), "delivery.timeout.ms") {
		t.Fatalf("Run: %v; want a KAFKA_PRODUCE failure naming delivery.timeout.ms", err)
	}
	if st := p.PipelineStatus(); st.Tasks[0].State != connect.StateFailed {
		t.Fatalf("task %s, want FAILED", st.Tasks[0].State)
	}
	if c := committed(t, store, "delivery-timeout", 1, task.part); c[0] != -1 {
		t.Fatalf("committed seq %d although nothing was acknowledged", c[0])
	}
}

// TestDeliveryPropertiesAreValidated: the delivery keys the pipeline reads
// itself are checked, and errors name them.
func TestDeliveryPropertiesAreValidated(t *testing.T) {
	for _, k := range []string{"delivery.timeout.ms", "retries", "retry.backoff.ms", "retry.backoff.max.ms", "max.block.ms"} {
		cfg := baseConfig(t, []string{"127.0.0.1:1"}, "delivery-props", &genTask{})
		cfg.ProducerProps = map[string]string{k: "soon"}
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		p, err := source.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := runUntilFailed(context.Background(), p); err == nil || !strings.Contains(err.Error(), "producer.override."+k) {
			t.Errorf("%s=soon: Run: %v; want an error naming producer.override.%s", k, err, k)
		}
	}
}

// TestUnreachableBrokersAtStartStall: a task whose brokers cannot be reached
// when it starts waits for them, RUNNING and stalled with the error, instead
// of failing; it stops promptly.
func TestUnreachableBrokersAtStartStall(t *testing.T) {
	cfg := baseConfig(t, []string{"127.0.0.1:1"}, "unreachable", &genTask{topic: "t", parts: 1, perPart: 10})
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Sarama.Metadata.Retry.Max = 0
	p, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runPipeline(t, p)
	var w stallWatcher
	waitFor(t, "the task to stall", 60*time.Second, func() bool { return w.check(p) })
	if s, _ := w.lastErr.Load().(string); !strings.Contains(s, "creating producer") || !strings.Contains(s, "unreachable") {
		t.Fatalf("stall error %q; want the producer creation error naming the connector", s)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
