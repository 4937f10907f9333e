package reliability

// The member program of the cluster scenarios (cluster_test.go): this test
// binary, re-executed with SLUICE_RELIABILITY_CLUSTER_MEMBER set, runs
// TestClusterMember, a Runner in cluster mode with the connectors "seq"
// (a source) and "sink" declared in code, as every replica of an
// application would declare them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// envClusterMember holds a member's memberSpec as JSON: set, it makes
// TestClusterMember run the member program.
const envClusterMember = "SLUICE_RELIABILITY_CLUSTER_MEMBER"

// Connector names and task count of the member program.
const (
	clusterSeqName  = "seq"
	clusterSinkName = "sink"
	clusterTasks    = 6
)

// memberSpec configures one member process.
type memberSpec struct {
	// Name names the member in its files and output lines (m1, m2, …).
	Name string
	// Dir holds the member's files: <name>.url (its REST URL, written
	// once it listens), <name>.out (the sink's lines), <name>.events (task
	// starts and stops).
	Dir     string
	Brokers []string
	// Group is the cluster's group.id; the sink's consumer group is
	// <Group>-sink, the exactly-once transactional ids
	// <Group>-seq-<task>.
	Group                                 string
	ConfigTopic, OffsetTopic, StatusTopic string
	// Topic is where seq writes (clusterTasks partitions: task i writes
	// partition i) and what sink reads.
	Topic string
	// PerTask bounds each seq task's sequence (0: without end); Batch
	// records per poll, every EveryMS milliseconds.
	PerTask int64
	Batch   int
	EveryMS int
	// Sink declares the sink connector too.
	Sink bool
	// ExactlyOnce runs seq with exactly-once delivery.
	ExactlyOnce bool
	// DelayMS is scheduled.rebalance.max.delay.ms (negative: none).
	DelayMS int
}

func (s memberSpec) urlPath() string    { return filepath.Join(s.Dir, s.Name+".url") }
func (s memberSpec) outPath() string    { return filepath.Join(s.Dir, s.Name+".out") }
func (s memberSpec) eventsPath() string { return filepath.Join(s.Dir, s.Name+".events") }

// TestClusterMember is the member program the cluster scenarios run in
// child processes; without SLUICE_RELIABILITY_CLUSTER_MEMBER it skips. It
// serves the REST API on a free loopback port (its URL in <name>.url) and
// runs a cluster-mode Runner with "seq" (and "sink") declared in code
// until SIGTERM, then stops gracefully.
func TestClusterMember(t *testing.T) {
	raw := os.Getenv(envClusterMember)
	if raw == "" {
		t.Skip("the member program of the cluster scenarios; they run it")
	}
	var spec memberSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("%s: %v", envClusterMember, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := runMember(ctx, t, spec); err != nil {
		t.Fatalf("member %s: %v", spec.Name, err)
	}
}

// runMember runs the member program until ctx is done.
func runMember(ctx context.Context, t *testing.T, spec memberSpec) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("member", spec.Name)
	files, err := openMemberFiles(spec)
	if err != nil {
		return err
	}
	defer files.close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	base := kafkatest.SaramaConfig(t)
	delay := time.Duration(spec.DelayMS) * time.Millisecond
	if spec.DelayMS < 0 {
		delay = -1
	}
	r, err := runner.New(runner.Config{
		Worker: map[string]string{"bootstrap.servers": joinAddrs(spec.Brokers)},
		Logger: log,
		Cluster: &runner.ClusterConfig{
			GroupID:                    spec.Group,
			ConfigTopic:                spec.ConfigTopic,
			OffsetTopic:                spec.OffsetTopic,
			StatusTopic:                spec.StatusTopic,
			ConfigReplicationFactor:    1,
			OffsetReplicationFactor:    1,
			StatusReplicationFactor:    1,
			OffsetPartitions:           5,
			StatusPartitions:           5,
			SessionTimeout:             6 * time.Second,
			HeartbeatInterval:          time.Second,
			RebalanceTimeout:           20 * time.Second,
			ScheduledRebalanceMaxDelay: delay,
			AdvertisedURL:              url,
			Brokers:                    spec.Brokers,
			Sarama:                     base,
		},
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	seqDecl := map[string]string{"tasks.max": strconv.Itoa(clusterTasks), "topic": spec.Topic,
		"sluice.test.per.task": strconv.FormatInt(spec.PerTask, 10)}
	if err := r.AddPipeline(clusterSeqName, seqDecl, func(ctx context.Context) (connect.Pipeline, error) {
		cfg := source.Config{
			Name:                clusterSeqName,
			Brokers:             spec.Brokers,
			TasksMax:            clusterTasks,
			Properties:          seqDecl,
			Connector:           seqTaskConfigs{},
			NewTask:             func() source.Task { return &clusterSeqTask{spec: spec, files: files} },
			OffsetStorage:       offsets.Storage{Topic: spec.OffsetTopic, Partitions: 5, ReplicationFactor: 1},
			OffsetFlushInterval: 500 * time.Millisecond,
			ShutdownTimeout:     5 * time.Second,
			Sarama:              kafkatest.SaramaConfig(t),
			Logger:              connect.ContextLogger(ctx),
		}
		if spec.ExactlyOnce {
			cfg.ExactlyOnce = source.ExactlyOnce{Enabled: true, GroupID: spec.Group}
		}
		return source.New(cfg)
	}); err != nil {
		_ = ln.Close()
		return err
	}
	if spec.Sink {
		sinkDecl := map[string]string{"tasks.max": strconv.Itoa(clusterTasks), "topics": spec.Topic}
		if err := r.AddPipeline(clusterSinkName, sinkDecl, func(ctx context.Context) (connect.Pipeline, error) {
			return sink.New(sink.Config{
				Name:                clusterSinkName,
				Brokers:             spec.Brokers,
				TasksMax:            clusterTasks,
				Properties:          sinkDecl,
				Topics:              []string{spec.Topic},
				GroupID:             spec.Group + "-sink",
				NewTask:             func() sink.Task { return &clusterSinkTask{spec: spec, files: files} },
				OffsetFlushInterval: time.Second,
				ShutdownTimeout:     5 * time.Second,
				Sarama:              kafkatest.SaramaConfig(t),
				ConsumerProps: map[string]string{
					"session.timeout.ms":    "6000",
					"heartbeat.interval.ms": "1000",
					"max.poll.interval.ms":  "20000",
				},
				Logger: connect.ContextLogger(ctx),
			})
		}); err != nil {
			_ = ln.Close()
			return err
		}
	}

	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	// The URL file appears once the API answers: write and rename.
	if err := os.WriteFile(spec.urlPath()+".tmp", []byte(url), 0o644); err != nil {
		return err
	}
	if err := os.Rename(spec.urlPath()+".tmp", spec.urlPath()); err != nil {
		return err
	}
	log.Info("cluster member started", "url", url, "group", spec.Group)
	runErr := r.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, err)
	}
	log.Info("cluster member stopped", "err", runErr)
	return runErr
}

func joinAddrs(addrs []string) string {
	out := ""
	for i, a := range addrs {
		if i > 0 {
			out += ","
		}
		out += a
	}
	return out
}

// memberFiles are a member's output and events files, opened for
// appending: every line is one write(2), so a SIGKILL loses no line
// written, and tears none.
type memberFiles struct {
	name   string
	mu     sync.Mutex
	out    *os.File
	events *os.File
}

func openMemberFiles(spec memberSpec) (*memberFiles, error) {
	f := &memberFiles{name: spec.Name}
	var err error
	if f.out, err = os.OpenFile(spec.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	if f.events, err = os.OpenFile(spec.eventsPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		_ = f.out.Close()
		return nil, err
	}
	return f, nil
}

func (f *memberFiles) close() {
	_ = f.out.Close()
	_ = f.events.Close()
}

// event appends "<unix nanos> <what> <connector>-<task>" to the events
// file.
func (f *memberFiles) event(what, connector string, task int) error {
	line := fmt.Sprintf("%d %s %s-%d\n", time.Now().UnixNano(), what, connector, task)
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.events.WriteString(line)
	return err
}

// write appends lines to the output file in one write.
func (f *memberFiles) write(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.out.Write(b)
	return err
}

// seqTaskConfigs is seq's connector part: task i gets {"seq.part": i}.
type seqTaskConfigs struct{}

func (seqTaskConfigs) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, 0, maxTasks)
	for i := range maxTasks {
		out = append(out, map[string]string{"topic": config["topic"], "seq.part": strconv.Itoa(i)})
	}
	return out, nil
}

// clusterSeqTask writes, for its part i (its task config's seq.part), the
// values "<i>:<seq>" to partition i of the topic, seq from 0 (or after its
// committed offset {"seq": seq} for source partition {"seq-part": i}) to
// PerTask-1 (without end when 0), Batch per poll every EveryMS ms.
type clusterSeqTask struct {
	spec  memberSpec
	files *memberFiles
	id    int
	part  int
	next  int64
}

func (s *clusterSeqTask) Start(ctx context.Context, tc source.TaskContext) error {
	s.id = tc.TaskID()
	part, err := strconv.Atoi(tc.Config()["seq.part"])
	if err != nil {
		return fmt.Errorf("task %d: seq.part %q: %w", s.id, tc.Config()["seq.part"], err)
	}
	s.part = part
	off, err := tc.Offsets().Offset(ctx, seqSourcePartition(part))
	if err != nil {
		return err
	}
	if off != nil {
		seq, ok := off["seq"].(int64)
		if !ok {
			return fmt.Errorf("task %d: committed offset %v: want an int64 seq", s.id, off)
		}
		s.next = seq + 1
	}
	return s.files.event("start", clusterSeqName, s.id)
}

func seqSourcePartition(i int) map[string]any { return map[string]any{"seq-part": int64(i)} }

func (s *clusterSeqTask) Poll(ctx context.Context) ([]connect.Record, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(time.Duration(s.spec.EveryMS) * time.Millisecond):
	}
	var out []connect.Record
	for n := 0; n < s.spec.Batch && (s.spec.PerTask == 0 || s.next < s.spec.PerTask); n++ {
		out = append(out, connect.Record{
			Topic: s.spec.Topic, Partition: int32(s.part), HasPartition: true,
			ValueSchema:     connect.OptionalBytesSchema,
			Value:           []byte(strconv.Itoa(s.part) + ":" + strconv.FormatInt(s.next, 10)),
			SourcePartition: seqSourcePartition(s.part),
			SourceOffset:    map[string]any{"seq": s.next},
		})
		s.next++
	}
	return out, nil
}

func (s *clusterSeqTask) Stop(context.Context) error {
	return s.files.event("stop", clusterSeqName, s.id)
}

// clusterSinkTask appends "<value> <member>" per record to the member's
// output file, in one write per Put, before Put returns.
type clusterSinkTask struct {
	spec  memberSpec
	files *memberFiles
	id    int
}

func (s *clusterSinkTask) Start(_ context.Context, tc sink.TaskContext) error {
	s.id = tc.TaskID()
	return s.files.event("start", clusterSinkName, s.id)
}

func (s *clusterSinkTask) Put(_ context.Context, recs []connect.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var b []byte
	for i := range recs {
		v, ok := recs[i].Value.([]byte)
		if !ok {
			return fmt.Errorf("sink task %d: value %T, want []byte", s.id, recs[i].Value)
		}
		b = append(b, v...)
		b = append(b, ' ')
		b = append(b, s.spec.Name...)
		b = append(b, '\n')
	}
	return s.files.write(b)
}

func (s *clusterSinkTask) Stop(context.Context) error {
	return s.files.event("stop", clusterSinkName, s.id)
}
