// Command clustermember is one member process of the benchmark harness's
// cluster scenario (go run ./bench -only cluster): a runner.Runner in
// cluster mode that declares, as every replica of an application would, a
// source connector and/or a sink connector of tasks.max tasks each, serves
// the Runner's REST API, and prints its progress to stdout.
//
//	clustermember -brokers 127.0.0.1:9092 -group g -listen 127.0.0.1:18083 \
//	    -connectors source,sink -source-topic out -sink-topic in
//
// The source connector ("source") splits into tasks.max generator tasks,
// each returning batches of fixed-size byte records (ByteArray converter)
// as fast as the pipeline takes them (or -rate records/s per task), with
// its own source partition {"task": id} and offset {"n": count}; offsets
// go to the cluster's offsets topic, and a task moved to another member
// resumes its count from there. The sink connector ("sink") runs tasks.max
// no-op tasks that count the records they are given, in the consumer group
// -sink-group. With no target state in the config topic both connectors
// start RUNNING; the harness writes PAUSED first when it wants to start the
// clock itself (PUT /connectors/{name}/resume).
//
// Every -progress interval, and once more when it stops, it prints one line:
//
//	cluster-progress t=<unix ns> polled=<n> consumed=<n> first_consumed=<unix ns> last_consumed=<unix ns> gen=<g> leader=<bool> rebalances=<n> tasks=<c-i,...>
//
// and, when a source task starts, one line with the count it resumes from
// (its committed offset + 1, 0 without one):
//
//	cluster-task-start connector=source task=<id> from=<n>
//
// polled counts the records its source tasks returned from Poll, consumed
// those its sink tasks were given in Put (first_consumed and
// last_consumed: when the first and the last Put with records began, 0
// before any), gen, leader and rebalances are the member's group
// generation, whether it leads the group and its completed rebalances,
// tasks the tasks it runs ("source-0,sink-3"). SIGINT or SIGTERM stops it gracefully (tasks stop
// and commit, the member leaves the group); the exit status is 0 then.
//
// It is a benchmark helper, not an example: examples/distributed is the
// drop-in for connect-distributed.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/connect/runner"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// flags are the member's command line.
type flags struct {
	brokers    string
	group      string
	listen     string
	connectors string
	tasks      int
	srcTopic   string
	sinkTopic  string
	sinkGroup  string
	size       int
	rate       int
	session    time.Duration
	heartbeat  time.Duration
	delay      time.Duration
	csession   time.Duration
	partitions int
	progress   time.Duration
	logLevel   string
}

func main() {
	var f flags
	flag.StringVar(&f.brokers, "brokers", "127.0.0.1:9092", "bootstrap brokers, comma-separated")
	flag.StringVar(&f.group, "group", "", "the cluster's group id (required); its topics are <group>-configs, <group>-offsets, <group>-status")
	flag.StringVar(&f.listen, "listen", "127.0.0.1:18083", "REST listener host:port, also this member's advertised URL (worker_id)")
	flag.StringVar(&f.connectors, "connectors", "source,sink", "connectors to declare: source, sink or both")
	flag.IntVar(&f.tasks, "tasks", 6, "tasks.max of each connector")
	flag.StringVar(&f.srcTopic, "source-topic", "", "topic the source writes (required with the source)")
	flag.StringVar(&f.sinkTopic, "sink-topic", "", "topic the sink reads (required with the sink)")
	flag.StringVar(&f.sinkGroup, "sink-group", "", "the sink's consumer group (default connect-sink)")
	flag.IntVar(&f.size, "size", 100, "source record value size in bytes")
	flag.IntVar(&f.rate, "rate", 0, "records/s per source task (0: as fast as the pipeline takes them)")
	flag.DurationVar(&f.session, "session-timeout", 10*time.Second, "session.timeout.ms of the connect group")
	flag.DurationVar(&f.heartbeat, "heartbeat-interval", 3*time.Second, "heartbeat.interval.ms of the connect group")
	flag.DurationVar(&f.delay, "scheduled-rebalance-max-delay", -1, "scheduled.rebalance.max.delay.ms (negative: reassign a lost member's work at once, Kafka Connect's 0)")
	flag.DurationVar(&f.csession, "consumer-session-timeout", 45*time.Second, "session.timeout.ms of the sink's consumers (Kafka Connect's consumer default: 45 s)")
	flag.IntVar(&f.partitions, "offset-partitions", 5, "partitions of the offsets topic when created")
	flag.DurationVar(&f.progress, "progress", 100*time.Millisecond, "progress line interval")
	flag.StringVar(&f.logLevel, "log-level", "info", "log level (debug, info, warn, error) of the Runner's log on stderr")
	flag.Parse()
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "clustermember:", err)
		os.Exit(1)
	}
}

// counters are the member's progress, shared by its tasks.
type counters struct {
	polled, consumed, firstConsumed, lastConsumed atomic.Int64
}

func run(f flags) error {
	if f.group == "" {
		return errors.New("-group is required")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	brokers := kafkaconf.ParseBootstrap(f.brokers)
	url := "http://" + f.listen
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("worker", f.listen)
	cc := &runner.ClusterConfig{
		GroupID:     f.group,
		ConfigTopic: f.group + "-configs", OffsetTopic: f.group + "-offsets", StatusTopic: f.group + "-status",
		ConfigReplicationFactor: 1, OffsetReplicationFactor: 1, StatusReplicationFactor: 1,
		OffsetPartitions: int32(f.partitions),
		SessionTimeout:   f.session, HeartbeatInterval: f.heartbeat,
		ScheduledRebalanceMaxDelay: f.delay,
		AdvertisedURL:              url,
		Brokers:                    brokers,
		Sarama:                     kafkaconf.NewSaramaConfig("bench-cluster-member"),
	}
	r, err := runner.New(runner.Config{Logger: logger, Cluster: cc})
	if err != nil {
		return err
	}
	var c counters
	for _, name := range strings.Split(f.connectors, ",") {
		switch strings.TrimSpace(name) {
		case "source":
			if f.srcTopic == "" {
				return errors.New("-source-topic is required with the source connector")
			}
			err = r.AddPipeline("source", map[string]string{"tasks.max": strconv.Itoa(f.tasks), "topic": f.srcTopic}, sourceBuild(f, brokers, cc.OffsetTopic, &c))
		case "sink":
			if f.sinkTopic == "" {
				return errors.New("-sink-topic is required with the sink connector")
			}
			err = r.AddPipeline("sink", map[string]string{"tasks.max": strconv.Itoa(f.tasks), "topics": f.sinkTopic}, sinkBuild(f, brokers, &c))
		default:
			err = fmt.Errorf("-connectors: unknown connector %q (want source, sink)", name)
		}
		if err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("REST listener: %w", err)
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progDone := make(chan struct{})
	progCtx, stopProg := context.WithCancel(context.Background())
	go func() {
		defer close(progDone)
		t := time.NewTicker(f.progress)
		defer t.Stop()
		for {
			select {
			case <-progCtx.Done():
				return
			case <-t.C:
				printProgress(r, &c)
			}
		}
	}()
	runErr := r.Run(ctx)
	stopProg()
	<-progDone
	printProgress(r, &c)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-srvDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(runErr, fmt.Errorf("REST server: %w", err))
	}
	return runErr
}

// printProgress prints one progress line (see the package doc).
func printProgress(r *runner.Runner, c *counters) {
	st, _ := r.ClusterStatus()
	fmt.Printf("cluster-progress t=%d polled=%d consumed=%d first_consumed=%d last_consumed=%d gen=%d leader=%t rebalances=%d tasks=%s\n",
		time.Now().UnixNano(), c.polled.Load(), c.consumed.Load(), c.firstConsumed.Load(), c.lastConsumed.Load(),
		st.Generation, st.Leader, st.Rebalances, strings.Join(st.Tasks, ","))
}

// producerConfig is the source tasks' producer tuning, the bench's
// in-process source contenders' (bench/inproc.go's tuneProducer).
func producerConfig() *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig("")
	cfg.ChannelBufferSize = 1024
	return cfg
}

// consumerConfig is the sink tasks' consumer tuning, the bench's
// in-process sink contenders' (bench/inproc.go's tuneConsumer).
func consumerConfig() *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig("")
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Fetch.Default = 4 << 20
	return cfg
}

func sourceBuild(f flags, brokers []string, offsetTopic string, c *counters) runner.BuildFunc {
	value := make([]byte, f.size)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	return func(ctx context.Context) (connect.Pipeline, error) {
		return source.New(source.Config{
			Name: "source", Brokers: brokers, TasksMax: f.tasks,
			Connector:     genConnector{},
			Properties:    map[string]string{"topic": f.srcTopic},
			NewTask:       func() source.Task { return &genTask{value: value, rate: f.rate, c: c} },
			OffsetStorage: offsets.Storage{Topic: offsetTopic, Partitions: int32(f.partitions), ReplicationFactor: 1},
			Sarama:        producerConfig(),
			Logger:        connect.ContextLogger(ctx),
		})
	}
}

func sinkBuild(f flags, brokers []string, c *counters) runner.BuildFunc {
	return func(ctx context.Context) (connect.Pipeline, error) {
		return sink.New(sink.Config{
			Name: "sink", Brokers: brokers, TasksMax: f.tasks,
			Topics:  []string{f.sinkTopic},
			GroupID: f.sinkGroup,
			ConsumerProps: map[string]string{
				"session.timeout.ms":    strconv.FormatInt(f.csession.Milliseconds(), 10),
				"heartbeat.interval.ms": strconv.FormatInt(min(3*time.Second, f.csession/3).Milliseconds(), 10),
			},
			NewTask: func() sink.Task { return &countTask{c: c} },
			Sarama:  consumerConfig(),
			Logger:  connect.ContextLogger(ctx),
		})
	}
}

// genConnector gives each of tasks.max tasks its id and the topic.
type genConnector struct{}

func (genConnector) TaskConfigs(_ context.Context, config map[string]string, maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = map[string]string{"topic": config["topic"], "gen.task": strconv.Itoa(i)}
	}
	return out, nil
}

// genTask returns batches of 1000 copies of value, each with its own
// offset; it resumes from the committed offset of its source partition.
type genTask struct {
	value []byte
	rate  int
	c     *counters

	topic string
	part  map[string]any
	next  int64
	start time.Time
	sent  int64 // since start (for -rate)
}

const genBatch = 1000

func (g *genTask) Start(ctx context.Context, tc source.TaskContext) error {
	g.topic = tc.Config()["topic"]
	g.part = map[string]any{"task": tc.Config()["gen.task"]}
	off, err := tc.Offsets().Offset(ctx, g.part)
	if err != nil {
		return fmt.Errorf("reading the offset of task %d: %w", tc.TaskID(), err)
	}
	if n, ok := off["n"]; ok {
		switch v := n.(type) {
		case int64:
			g.next = v + 1
		case float64:
			g.next = int64(v) + 1
		}
	}
	g.start = time.Now()
	fmt.Printf("cluster-task-start connector=%s task=%d from=%d\n", tc.ConnectorName(), tc.TaskID(), g.next)
	return nil
}

func (g *genTask) Poll(ctx context.Context) ([]connect.Record, error) {
	k := genBatch
	if g.rate > 0 {
		// Pace: at most rate records per second since Start, in batches
		// of up to 1/10 s worth.
		due := int64(time.Since(g.start).Seconds()*float64(g.rate)) - g.sent
		if due <= 0 {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			return nil, nil
		}
		k = int(min(due, int64(max(g.rate/10, 1))))
	}
	out := make([]connect.Record, k)
	for i := range out {
		out[i] = connect.Record{
			Topic: g.topic, ValueSchema: connect.BytesSchema, Value: g.value,
			SourcePartition: g.part, SourceOffset: map[string]any{"n": g.next},
		}
		g.next++
	}
	g.sent += int64(k)
	g.c.polled.Add(int64(k))
	return out, nil
}

func (g *genTask) Stop(context.Context) error { return nil }

// countTask counts the records it is given.
type countTask struct{ c *counters }

func (t *countTask) Start(context.Context, sink.TaskContext) error { return nil }
func (t *countTask) Stop(context.Context) error                    { return nil }
func (t *countTask) Put(_ context.Context, recs []connect.Record) error {
	if len(recs) > 0 {
		now := time.Now().UnixNano()
		t.c.firstConsumed.CompareAndSwap(0, now)
		t.c.lastConsumed.Store(now)
		t.c.consumed.Add(int64(len(recs)))
	}
	return nil
}
