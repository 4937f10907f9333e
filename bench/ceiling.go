package main

// The ceiling test (-only ceiling; not in the default run): the Kafka
// clients themselves, without Sluice, producing and consuming with the same
// guarantees (idempotent, acks=all, no compression), so that BENCHMARKS.md
// can state how fast each client can go on this machine and broker.
//
// Matrix: {1, 4} partitions × {100 B, 1 KB} values, N records per run
// (-records, else 1 M for 100 B and 300 k for 1 KB; -quick: 50 k / 20 k).
// Producers write into a fresh topic per run; consumers read a prepared
// topic of N records from its start. Every produce run is checked
// afterwards: the topic's end offsets must add up to the records sent.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kfetch"
	"github.com/sluicehq/sluice/internal/kproduce"
)

// Ceiling contenders: producers.
const (
	ceilSaramaAsync   = "sarama AsyncProducer"
	ceilSaramaPerPart = "sarama AsyncProducer per partition"
	ceilSaramaLow     = "sarama Broker.Produce, hand-built batches"
	ceilKproduce      = "Sluice kproduce (sarama Broker.Produce, the source's producer)"
	ceilJavaConnect   = "Java ProducerPerformance, Kafka Connect's settings"
	ceilJavaDefault   = "Java ProducerPerformance, client defaults"
	// kgo cannot limit an idempotent producer to one request in flight
	// (its config validation refuses MaxProduceRequestsInflightPerBroker
	// other than 1 with idempotency, and 1 does nothing then: an idempotent
	// sink always allows up to 5, kgo/sink.go newSink/firstRespCheck), so
	// the idempotent contender runs with up to 5, and a diagnostic variant
	// shows what one request in flight costs, without idempotence.
	ceilKgo5 = "kgo (idempotent, up to 5 requests in flight)"
	ceilKgo1 = "kgo, NOT idempotent, 1 request in flight (diagnostic)"
)

// Ceiling contenders: consumers.
const (
	ceilSaramaPC    = "sarama ConsumePartition"
	ceilKfetch      = "Sluice kfetch (sarama Broker.Fetch, the sink's fetcher)"
	ceilSaramaGroup = "sarama ConsumerGroup"
	ceilKgoDirect   = "kgo ConsumePartitions"
	ceilKgoGroup    = "kgo group"
	ceilJavaConsume = "Java ConsumerPerformance (group)"
)

// ceilSlug is each contender's name in the machine-readable lines.
var ceilSlug = map[string]string{
	ceilSaramaAsync:   "sarama-async",
	ceilSaramaPerPart: "sarama-async-per-partition",
	ceilSaramaLow:     "sarama-low-level",
	ceilKproduce:      "sluice-kproduce",
	ceilJavaConnect:   "java-connect-settings",
	ceilJavaDefault:   "java-defaults",
	ceilKgo1:          "kgo-noidem-inflight1",
	ceilKgo5:          "kgo",
	ceilSaramaPC:      "sarama-partition-consumer",
	ceilKfetch:        "sluice-kfetch",
	ceilSaramaGroup:   "sarama-group",
	ceilKgoDirect:     "kgo-direct",
	ceilKgoGroup:      "kgo-group",
	ceilJavaConsume:   "java",
}

// Figures of the ceiling test that the other tests do not have.
const (
	figToolRate    = "records/s (the Java tool's own figure, steady state)"
	figJVMCPU      = "CPU µs/record, whole JVM run (start-up, warm-up included)"
	figClientCPU   = "client CPU µs/record"
	figWindowCount = "records in the harness window"
)

func init() {
	figFormat[figToolRate] = "%.0f"
	figFormat[figJVMCPU] = "%.2f"
	figFormat[figClientCPU] = "%.2f"
	figFormat[figWindowCount] = "%.0f"
}

// ceilJVMOpts are kafka-producer-perf-test.sh's / kafka-consumer-perf-test.sh's
// JVM options (their heap, kafka-run-class.sh's performance options).
const ceilJVMOpts = "-Xmx512M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 " +
	"-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"

// javaConnectProps are the producer settings Kafka Connect forces on a source
// task's producer (Worker.baseProducerConfigs, checked in 4.3.1's bytecode):
// acks=all, max.in.flight.requests.per.connection=1, delivery.timeout.ms
// and max.block.ms at their maximum, the rest client defaults (linger.ms 5,
// batch.size 16 KiB). Connect sets enable.idempotence=false; here it is true,
// for the same guarantees as every other contender.
var javaConnectProps = []string{"acks=all", "enable.idempotence=true", "max.in.flight.requests.per.connection=1",
	"delivery.timeout.ms=2147483647", "max.block.ms=9223372036854775807", "compression.type=none"}

// javaDefaultProps are the client's defaults, with the guarantees spelled
// out (they are the defaults since Kafka 3.0).
var javaDefaultProps = []string{"acks=all", "enable.idempotence=true", "compression.type=none"}

// ceilSample is one ceiling run's measurement.
type ceilSample struct {
	inSample
	// records is how many records the harness window covers (a Java
	// producer's warm-up records included).
	records int
	// clientCPU is the client's CPU time for the n measured records: the
	// harness process's for a Go client; a JVM's from /proc over the tool's
	// steady-state window.
	clientCPU time.Duration
	// toolRate and wholeCPU: Java only (0 otherwise).
	toolRate float64
	wholeCPU time.Duration
}

// ceilingRecords is the records per run of a cell: -records if given, else 1 M
// (-quick 50 k) for values under 1000 B and 300 k (-quick 20 k) for larger.
func ceilingRecords(o options, recordsFlag bool, size int) int {
	if recordsFlag {
		return o.records
	}
	if size < 1000 {
		return pick(o.quick, 50000, 1000000)
	}
	return pick(o.quick, 20000, 300000)
}

// benchCeiling runs the ceiling test: producers, then consumers, each cell
// of the matrix with its contenders interleaved and rotated.
func benchCeiling(ctx context.Context, o options, br *broker, repo string, rep *report) error {
	recordsFlag := false
	flag.Visit(func(f *flag.Flag) { recordsFlag = recordsFlag || f.Name == "records" })
	kc, err := fetchKafkaTools(ctx, repo)
	if err != nil {
		return fmt.Errorf("kafka-tools: %w", err)
	}
	if br.pid == 0 && len(br.addrs) == 1 {
		// A broker the harness did not start: find its process by the
		// port it listens on, for the broker CPU figures.
		b := *br
		b.pid = listenerPID(br.addrs[0])
		br = &b
		logf("ceiling: broker process %d", br.pid)
	}
	for _, dir := range []string{"produce", "consume"} {
		for _, parts := range []int{1, 4} {
			for _, size := range []int{100, 1000} {
				n := ceilingRecords(o, recordsFlag, size)
				c := ceilCell{ctx: ctx, o: o, br: br, kc: kc, rep: rep, dir: dir, parts: parts, size: size, n: n}
				if err := c.run(); err != nil {
					return fmt.Errorf("%s %dp %dB: %w", dir, parts, size, err)
				}
			}
		}
	}
	return nil
}

// ceilCell is one cell of the matrix.
type ceilCell struct {
	ctx            context.Context
	o              options
	br             *broker
	kc             *kafkaConnect
	rep            *report
	dir            string // produce or consume
	parts, size, n int
	topic          string // consume: the prepared topic
	reps           map[string]int
	value          []byte
}

func (c *ceilCell) id() string { return fmt.Sprintf("ceiling-%s-%dp-%dB", c.dir, c.parts, c.size) }

func (c *ceilCell) contenders() []string {
	if c.dir == "produce" {
		cs := []string{ceilSaramaAsync}
		if c.parts > 1 {
			cs = append(cs, ceilSaramaPerPart)
		}
		return append(cs, ceilSaramaLow, ceilKproduce, ceilKgo5, ceilKgo1, ceilJavaConnect, ceilJavaDefault)
	}
	return []string{ceilSaramaPC, ceilKfetch, ceilSaramaGroup, ceilKgoDirect, ceilKgoGroup, ceilJavaConsume}
}

func (c *ceilCell) run() error {
	c.reps = map[string]int{}
	c.value = byteData(c.size).encoded[0]
	if c.dir == "consume" {
		c.topic = newTopic(c.id())
		if err := createTopic(c.br.addrs, c.topic, int32(c.parts)); err != nil {
			return err
		}
		defer deleteTopic(c.br.addrs, c.topic)
		logf("%s: producing %d records into %s", c.id(), c.n, c.topic)
		if _, err := runKgoProducer(c.ctx, c.br, c.topic, c.n, c.value, true); err != nil {
			return fmt.Errorf("filling %s: %w", c.topic, err)
		}
	}
	cs := c.contenders()
	if err := interleave(c.o, cs, min(c.n, 20000), c.n, c.one); err != nil {
		return err
	}
	c.addTest(cs)
	return nil
}

// one runs contender name once (a recorded repetition, or a warm-up: the
// Java contenders skip those, each run being a fresh JVM anyway).
func (c *ceilCell) one(name string, n int, record bool, label string) error {
	java := strings.HasPrefix(name, "Java")
	if java && !record {
		return nil
	}
	topic := c.topic
	if c.dir == "produce" {
		topic = newTopic(c.id())
		if err := createTopic(c.br.addrs, topic, int32(c.parts)); err != nil {
			return err
		}
		defer deleteTopic(c.br.addrs, topic)
	}
	runtime.GC()
	stop := func() {}
	if record {
		c.reps[name]++
		if !java {
			stop = startProfile(c.o.profileDir, profileName(c.id(), ceilSlug[name], c.reps[name]))
		}
	}
	s, err := c.measure(c.ctx, name, topic, n)
	stop()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if c.dir == "produce" {
		got, err := endOffsets(c.br.addrs, topic, c.parts)
		if err != nil {
			return fmt.Errorf("%s: checking the records written: %w", name, err)
		}
		if got != int64(s.records) {
			return fmt.Errorf("%s: the topic holds %d records, want %d", name, got, s.records)
		}
	}
	if record {
		c.record(name, n, s)
	}
	logf("%s %s %s: %d records in %.2fs (%.0f records/s, client CPU %.2f µs/record)", c.id(), label, name, s.records,
		s.elapsed.Seconds(), float64(s.records)/s.elapsed.Seconds(), float64(s.clientCPU.Nanoseconds())/1e3/float64(n))
	return nil
}

func (c *ceilCell) measure(ctx context.Context, name, topic string, n int) (ceilSample, error) {
	goSample := func(s inSample, err error) (ceilSample, error) {
		return ceilSample{inSample: s, records: n, clientCPU: s.cpu}, err
	}
	switch name {
	case ceilSaramaAsync:
		return goSample(runSaramaProducer(ctx, c.br, topic, n, byteData(c.size)))
	case ceilSaramaPerPart:
		return goSample(runSaramaPerPartition(ctx, c.br, topic, c.parts, n, c.value))
	case ceilSaramaLow:
		return goSample(runSaramaLowLevel(ctx, c.br, topic, c.parts, n, c.value))
	case ceilKproduce:
		return goSample(runProducerWith(ctx, c.br, topic, n, byteData(c.size), false, "bench-sluice-kproduce", kproduce.New))
	case ceilKgo1:
		return goSample(runKgoProducer(ctx, c.br, topic, n, c.value, false))
	case ceilKgo5:
		return goSample(runKgoProducer(ctx, c.br, topic, n, c.value, true))
	case ceilJavaConnect:
		return runJavaProducer(ctx, c.br, c.kc, topic, n, c.size, javaConnectProps)
	case ceilJavaDefault:
		return runJavaProducer(ctx, c.br, c.kc, topic, n, c.size, javaDefaultProps)
	case ceilSaramaPC:
		return goSample(runSaramaPartitionConsumers(ctx, c.br, topic, c.parts, n))
	case ceilKfetch:
		return goSample(runKfetch(ctx, c.br, topic, c.parts, n))
	case ceilSaramaGroup:
		return goSample(runSaramaGroup(ctx, c.br, topic, n, nil))
	case ceilKgoDirect:
		return goSample(runKgoConsumer(ctx, c.br, topic, c.parts, n, false))
	case ceilKgoGroup:
		return goSample(runKgoConsumer(ctx, c.br, topic, c.parts, n, true))
	case ceilJavaConsume:
		return runJavaConsumer(ctx, c.br, c.kc, topic, n)
	}
	return ceilSample{}, fmt.Errorf("unknown contender %q", name)
}

// record adds one repetition's figures. records/s is over the harness window
// (a Java run: child start to exit, warm-up records included).
func (c *ceilCell) record(name string, n int, s ceilSample) {
	id, sec := c.id(), s.elapsed.Seconds()
	r := c.rep
	r.add(id, name, figRecordsPerSec, float64(s.records)/sec)
	r.add(id, name, figClientCPU, float64(s.clientCPU.Nanoseconds())/1e3/float64(n))
	if s.brokerCPU >= 0 {
		r.add(id, name, figBrokerCPUPerRecord, float64(s.brokerCPU.Nanoseconds())/1e3/float64(s.records))
	}
	if s.toolRate > 0 {
		r.add(id, name, figToolRate, s.toolRate)
		r.add(id, name, figJVMCPU, float64(s.wholeCPU.Nanoseconds())/1e3/float64(s.records))
		r.add(id, name, figWindowCount, float64(s.records))
	} else {
		r.add(id, name, figAllocsPerRecord, float64(s.allocs)/float64(n))
	}
}

// addTest adds the cell's table (after its runs, so that its note can hold
// the machine-readable lines of the medians).
func (c *ceilCell) addTest(cs []string) {
	what := "producers, each into a fresh topic (idempotent, acks=all, no compression)"
	base := ceilSaramaAsync
	if c.dir == "consume" {
		what = "consumers, reading a prepared topic from its start (4 MiB fetches per partition)"
		base = ceilSaramaGroup
	}
	// Ratios to the sarama baseline for the Go contenders only: a JVM's
	// records/s over the harness window includes its start-up and warm-up.
	bl := map[string]string{}
	for _, x := range cs {
		if x != base && !strings.HasPrefix(x, "Java") {
			bl[x] = base
		}
	}
	var notes []string
	if c.parts == 1 && c.size == 100 {
		notes = append(notes, "Client CPU: the harness process for the Go clients (the Kafka client alone runs in it); for the JVM, "+
			"/proc/<pid>/stat utime+stime over the tool's steady-state window (the last N records: its own steady-state "+
			"records/s gives the window's length, which ends when it printed its result), sampled every 10 ms. records/s is over "+
			"the harness's window (a JVM: process start to exit, warm-up records included); the Java tool's own steady-state "+
			"figure (ConsumerPerformance: fetch.nMsg.sec, group join excluded; no warm-up) is given too, and it is the one in "+
			"the `ceiling:` lines. Each produce run is checked: the topic's end offsets add up to the records sent.")
	}
	var lines []string
	for _, x := range cs {
		rps, ok := c.rep.median(c.id(), x, figRecordsPerSec)
		if !ok {
			continue
		}
		if v, ok := c.rep.median(c.id(), x, figToolRate); ok {
			rps = v
		}
		cpu, _ := c.rep.median(c.id(), x, figClientCPU)
		bcpu, bok := c.rep.median(c.id(), x, figBrokerCPUPerRecord)
		allocs, aok := c.rep.median(c.id(), x, figAllocsPerRecord)
		lines = append(lines, ceilingLine(c.dir, ceilSlug[x], c.parts, c.size, rps, cpu, bcpu, bok, allocs, aok))
	}
	c.rep.addTest(testInfo{
		id:          c.id(),
		title:       fmt.Sprintf("ceiling, %s: %d records of %d B, %d partition(s)", what, c.n, c.size, c.parts),
		contenders:  cs,
		baselineFor: bl,
		figures:     []string{figRecordsPerSec, figToolRate, figClientCPU, figJVMCPU, figBrokerCPUPerRecord, figAllocsPerRecord, figWindowCount},
		notes:       append(notes, "```text\n"+strings.Join(lines, "\n")+"\n```"),
	})
	for _, l := range lines {
		logf("%s", l)
	}
}

// ceilingLine is one machine-readable result line:
//
//	ceiling: <dir> <client> <partitions>p <size>B rps=… cpu_us=… [broker_cpu_us=…] [allocs=…]
func ceilingLine(dir, client string, parts, size int, rps, cpu, brokerCPU float64, brokerOK bool, allocs float64, allocsOK bool) string {
	s := fmt.Sprintf("ceiling: %s %s %dp %dB rps=%.0f cpu_us=%.2f", dir, client, parts, size, rps, cpu)
	if brokerOK {
		s += fmt.Sprintf(" broker_cpu_us=%.2f", brokerCPU)
	}
	if allocsOK {
		s += fmt.Sprintf(" allocs=%.2f", allocs)
	}
	return s
}

// endOffsets is the sum of topic's partitions' end offsets.
func endOffsets(addrs []string, topic string, parts int) (int64, error) {
	cl, err := sarama.NewClient(addrs, saramaConfig("sluice-bench-offsets"))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var sum int64
	for p := range int32(parts) {
		off, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, err
		}
		sum += off
	}
	return sum, nil
}

// ---- Go producers ----

// runSaramaPerPartition sends n records with one AsyncProducer per
// partition (the bench's producer configuration, manual partitioner), as a
// "one producer per task" layout would.
func runSaramaPerPartition(ctx context.Context, br *broker, topic string, parts, n int, value []byte) (inSample, error) {
	m := startMeter(br)
	shares := splitRecords(n, parts)
	errc := make(chan error, parts)
	var wg sync.WaitGroup
	for p, k := range shares {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- saramaSendTo(ctx, br, topic, int32(p), k, value)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return inSample{}, err
		}
	}
	return m.sample(uint64(n * len(value))), nil
}

// saramaSendTo sends k records to one partition with its own AsyncProducer
// and waits for their acknowledgements.
func saramaSendTo(ctx context.Context, br *broker, topic string, p int32, k int, value []byte) error {
	cfg := producerConfig()
	cfg.ClientID = fmt.Sprintf("bench-sarama-producer-%d", p)
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewAsyncProducer(br.addrs, cfg)
	if err != nil {
		return err
	}
	defer prod.Close()
	stopSend := make(chan struct{})
	defer close(stopSend)
	go func() {
		for range k {
			select {
			case prod.Input() <- &sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.ByteEncoder(value)}:
			case <-stopSend:
				return
			}
		}
	}()
	timeout := time.After(runTimeout(k))
	for acked := 0; acked < k; acked++ {
		select {
		case <-prod.Successes():
		case e := <-prod.Errors():
			return fmt.Errorf("sarama producer, partition %d: %w", p, e.Err)
		case <-timeout:
			return fmt.Errorf("partition %d: timed out after %d of %d acknowledgements", p, acked, k)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// splitRecords divides n records among parts partitions as evenly as
// possible (the first ones get the remainder).
func splitRecords(n, parts int) []int {
	s := make([]int, parts)
	for i := range s {
		s[i] = n / parts
		if i < n%parts {
			s[i]++
		}
	}
	return s
}

// lowBatchRecords is how many records of size bytes one hand-built batch
// holds: at most 8000 (design21's best), and under ~900 kB so that a batch
// stays below the broker's default message.max.bytes (1 MiB).
func lowBatchRecords(size int) int {
	return max(1, min(8000, 900_000/(size+16)))
}

// lowRequest is one hand-built produce request and the record storage it
// points into (reused once its response came back).
type lowRequest struct {
	req     *sarama.ProduceRequest
	records [][]sarama.Record
	ptrs    [][]*sarama.Record
	parts   []int32 // the partitions the request has a batch for
	count   int
}

// initProducerID asks b for an idempotent producer id, retrying (every
// 100 ms, for up to 30 s) the answers a broker gives while its coordinator
// is loading or moving: a freshly started broker answers
// COORDINATOR_LOAD_IN_PROGRESS at first, as sarama's AsyncProducer retries.
func initProducerID(ctx context.Context, b *sarama.Broker) (*sarama.InitProducerIDResponse, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ip, err := b.InitProducerID(&sarama.InitProducerIDRequest{Version: 2, TransactionTimeout: time.Minute})
		if err != nil {
			return nil, fmt.Errorf("InitProducerID: %w", err)
		}
		switch {
		case errors.Is(ip.Err, sarama.ErrNoError):
			return ip, nil
		case errors.Is(ip.Err, sarama.ErrOffsetsLoadInProgress), errors.Is(ip.Err, sarama.ErrConsumerCoordinatorNotAvailable),
			errors.Is(ip.Err, sarama.ErrNotCoordinatorForConsumer), errors.Is(ip.Err, sarama.ErrConcurrentTransactions):
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("InitProducerID: still %w after 30 s", ip.Err)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		default:
			return nil, fmt.Errorf("InitProducerID: %w", ip.Err)
		}
	}
}

// runSaramaLowLevel sends n records with sarama's low-level API: the
// partitions' leader (one broker here), an idempotent producer id from
// InitProducerID, and produce requests built by hand — one RecordBatch per
// partition per request, each batch's FirstSequence continuing the
// partition's sequence — sent with one request in flight to the broker
// while the next one is built (the builder runs ahead by at most two
// requests, each in storage of its own).
func runSaramaLowLevel(ctx context.Context, br *broker, topic string, parts, n int, value []byte) (inSample, error) {
	cfg := kafkaconfForLow()
	m := startMeter(br)
	cl, err := sarama.NewClient(br.addrs, cfg)
	if err != nil {
		return inSample{}, err
	}
	defer cl.Close()
	leader, err := cl.Leader(topic, 0)
	if err != nil {
		return inSample{}, err
	}
	for p := 1; p < parts; p++ {
		b, err := cl.Leader(topic, int32(p))
		if err != nil {
			return inSample{}, err
		}
		if b.ID() != leader.ID() {
			return inSample{}, fmt.Errorf("partition %d's leader is broker %d, not %d: the low-level contender drives one broker", p, b.ID(), leader.ID())
		}
	}
	ip, err := initProducerID(ctx, leader)
	if err != nil {
		return inSample{}, err
	}
	per := lowBatchRecords(len(value))
	left := splitRecords(n, parts)
	seq := make([]int32, parts)
	const buffers = 3
	free := make(chan *lowRequest, buffers)
	for range buffers {
		lr := &lowRequest{records: make([][]sarama.Record, parts), ptrs: make([][]*sarama.Record, parts)}
		for p := range parts {
			lr.records[p] = make([]sarama.Record, per)
			lr.ptrs[p] = make([]*sarama.Record, per)
			for i := range per {
				lr.ptrs[p][i] = &lr.records[p][i]
			}
		}
		free <- lr
	}
	ready := make(chan *lowRequest, 1)
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ready)
		for {
			var lr *lowRequest
			select {
			case lr = <-free:
			case <-bctx.Done():
				return
			}
			lr.req = &sarama.ProduceRequest{RequiredAcks: sarama.WaitForAll, Timeout: 30000, Version: 10}
			lr.count = 0
			lr.parts = lr.parts[:0]
			now := time.Now()
			for p := range parts {
				k := min(per, left[p])
				if k == 0 {
					continue
				}
				recs := lr.records[p][:k]
				for i := range recs {
					recs[i] = sarama.Record{OffsetDelta: int64(i), Value: value}
				}
				lr.req.AddBatch(topic, int32(p), &sarama.RecordBatch{
					Version: 2, FirstTimestamp: now, MaxTimestamp: now,
					ProducerID: ip.ProducerID, ProducerEpoch: ip.ProducerEpoch, FirstSequence: seq[p],
					Records: lr.ptrs[p][:k], LastOffsetDelta: int32(k - 1),
				})
				seq[p] += int32(k)
				left[p] -= k
				lr.count += k
				lr.parts = append(lr.parts, int32(p))
			}
			if lr.count == 0 {
				return
			}
			select {
			case ready <- lr:
			case <-bctx.Done():
				return
			}
		}
	}()
	sent := 0
	for lr := range ready {
		if err := lowProduce(ctx, leader, topic, lr); err != nil {
			return inSample{}, err
		}
		sent += lr.count
		free <- lr
	}
	if err := ctx.Err(); err != nil {
		return inSample{}, err
	}
	if sent != n {
		return inSample{}, fmt.Errorf("sent %d records, want %d", sent, n)
	}
	return m.sample(uint64(n * len(value))), nil
}

// lowProduce sends one hand-built request and checks every partition's
// answer. A fresh topic's partitions may answer NOT_LEADER for a moment
// after their leader was announced: such a request is sent again, as it is
// (the broker takes a batch whose sequence it already appended as a
// duplicate, so resending the partitions that succeeded is harmless).
func lowProduce(ctx context.Context, leader *sarama.Broker, topic string, lr *lowRequest) error {
	for attempt := 0; ; attempt++ {
		res, err := leader.Produce(lr.req)
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		var retry bool
		for _, p := range lr.parts {
			blk := res.GetBlock(topic, p)
			switch {
			case blk == nil:
				return fmt.Errorf("no response for partition %d", p)
			case errors.Is(blk.Err, sarama.ErrNoError):
			case attempt < 100 && (errors.Is(blk.Err, sarama.ErrNotLeaderForPartition) || errors.Is(blk.Err, sarama.ErrLeaderNotAvailable) ||
				errors.Is(blk.Err, sarama.ErrUnknownTopicOrPartition)):
				retry = true
			default:
				return fmt.Errorf("partition %d: %w", p, blk.Err)
			}
		}
		if !retry {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kafkaconfForLow is the low-level contender's client configuration: the
// bench producer's (its Version decides the request versions sarama speaks).
func kafkaconfForLow() *sarama.Config {
	cfg := producerConfig()
	cfg.ClientID = "bench-sarama-low-level"
	return cfg
}

// runKgoProducer sends n records round-robin with franz-go: acks=all, no
// linger, no compression (kgo's default is snappy); idempotent (kgo's
// default: up to 5 requests in flight per broker), or not idempotent with
// one request in flight.
func runKgoProducer(ctx context.Context, br *broker, topic string, n int, value []byte, idempotent bool) (inSample, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(br.addrs...), kgo.ClientID("bench-kgo-producer"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.DefaultProduceTopic(topic)}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	}
	m := startMeter(br)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return inSample{}, err
	}
	defer cl.Close()
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	wg.Add(n)
	cb := func(_ *kgo.Record, err error) {
		if err != nil {
			first.CompareAndSwap(nil, &err)
		}
		wg.Done()
	}
	for range n {
		cl.Produce(ctx, &kgo.Record{Value: value}, cb)
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return inSample{}, fmt.Errorf("kgo producer: %w", *e)
	}
	return m.sample(uint64(n * len(value))), nil
}

// ---- Go consumers ----

// runSaramaPartitionConsumers reads n records from the start of topic with a
// sarama Consumer and one ConsumePartition per partition (the sink
// consumer's configuration), no group.
func runSaramaPartitionConsumers(ctx context.Context, br *broker, topic string, parts, n int) (inSample, error) {
	cfg := consumerConfig()
	cfg.ClientID = "bench-sarama-partition-consumer"
	m := startMeter(br)
	c, err := sarama.NewConsumer(br.addrs, cfg)
	if err != nil {
		return inSample{}, err
	}
	var (
		count, nbytes atomic.Int64
		done          = make(chan struct{})
		wg            sync.WaitGroup
		pcs           []sarama.PartitionConsumer
	)
	// Closing the Consumer does not close its PartitionConsumers: each is
	// closed (its goroutine drains it until its channel closes), then the
	// Consumer.
	defer func() {
		for _, pc := range pcs {
			pc.AsyncClose()
		}
		wg.Wait()
		c.Close()
	}()
	for p := range int32(parts) {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return inSample{}, err
		}
		pcs = append(pcs, pc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msg := range pc.Messages() {
				nbytes.Add(int64(len(msg.Value)))
				if count.Add(1) == int64(n) {
					close(done)
				}
			}
		}()
	}
	select {
	case <-done:
	case <-time.After(runTimeout(n)):
		return inSample{}, fmt.Errorf("timed out after %d of %d records", count.Load(), n)
	case <-ctx.Done():
		return inSample{}, ctx.Err()
	}
	return m.sample(uint64(nbytes.Load())), nil
}

// runKfetch reads n records from the start of topic with the sink's batch
// fetcher (internal/kfetch, on sarama's Broker.Fetch) and the sarama
// consumer's configuration, no group.
func runKfetch(ctx context.Context, br *broker, topic string, parts, n int) (inSample, error) {
	cfg := consumerConfig()
	cfg.ClientID = "bench-sluice-kfetch"
	m := startMeter(br)
	client, err := sarama.NewClient(br.addrs, cfg)
	if err != nil {
		return inSample{}, err
	}
	defer client.Close()
	f := kfetch.New(client, nil)
	defer f.Close()
	var (
		count, nbytes atomic.Int64
		done          = make(chan struct{})
	)
	h := func(msgs []kfetch.Msg, _ int64) {
		var b int64
		for i := range msgs {
			b += int64(len(msgs[i].Value()))
		}
		nbytes.Add(b)
		if c := count.Add(int64(len(msgs))); c >= int64(n) && c-int64(len(msgs)) < int64(n) {
			close(done)
		}
	}
	for p := range int32(parts) {
		if _, err := f.Subscribe(topic, p, sarama.OffsetOldest, false, h); err != nil {
			return inSample{}, err
		}
	}
	select {
	case <-done:
	case <-time.After(runTimeout(n)):
		return inSample{}, fmt.Errorf("timed out after %d of %d records", count.Load(), n)
	case <-ctx.Done():
		return inSample{}, ctx.Err()
	}
	return m.sample(uint64(nbytes.Load())), nil
}

// runKgoConsumer reads n records from the start of topic with franz-go:
// directly assigned partitions, or a new consumer group (4 MiB per
// partition per fetch, as the sarama consumers).
func runKgoConsumer(ctx context.Context, br *broker, topic string, parts, n int, group bool) (inSample, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(br.addrs...), kgo.ClientID("bench-kgo-consumer"), kgo.FetchMaxPartitionBytes(4 << 20)}
	if group {
		opts = append(opts, kgo.ConsumerGroup(newTopic("group")), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	} else {
		offs := map[int32]kgo.Offset{}
		for p := range int32(parts) {
			offs[p] = kgo.NewOffset().AtStart()
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
	}
	m := startMeter(br)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return inSample{}, err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, runTimeout(n))
	defer cancel()
	var got int
	var nbytes uint64
	for got < n {
		fs := cl.PollFetches(pctx)
		if err := pctx.Err(); err != nil {
			return inSample{}, fmt.Errorf("after %d of %d records: %w", got, n, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			ferr = fmt.Errorf("fetching %s/%d: %w", t, p, err)
		})
		if ferr != nil {
			return inSample{}, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			nbytes += uint64(len(r.Value))
		})
	}
	return m.sample(nbytes), nil
}

// ---- Java (kafka-tools) ----

// runJavaProducer runs ProducerPerformance as a child JVM: n/2 warm-up
// records (--warmup-records; at least 1), then n measured ones.
func runJavaProducer(ctx context.Context, br *broker, kc *kafkaConnect, topic string, n, size int, props []string) (ceilSample, error) {
	warm := max(1, n/2)
	args := []string{"org.apache.kafka.tools.ProducerPerformance", "--bootstrap-server", strings.Join(br.addrs, ","),
		"--topic", topic, "--num-records", strconv.Itoa(warm + n), "--warmup-records", strconv.Itoa(warm),
		"--record-size", strconv.Itoa(size), "--throughput", "-1", "--command-property"}
	args = append(args, props...)
	run, err := runJVM(ctx, br, kc, "ProducerPerformance", args, runTimeout(warm+n), isProducerSummary)
	if err != nil {
		return ceilSample{}, err
	}
	steady, err := parseProducerPerf(run.out)
	if err != nil {
		return ceilSample{}, err
	}
	if steady.records != n {
		return ceilSample{}, fmt.Errorf("ProducerPerformance's steady state counts %d records, want %d", steady.records, n)
	}
	return run.sample(warm+n, n, steady.rate, run.summaryAt), nil
}

// runJavaConsumer runs ConsumerPerformance as a child JVM, reading n records
// from the start of topic in a new group with 4 MiB fetches.
func runJavaConsumer(ctx context.Context, br *broker, kc *kafkaConnect, topic string, n int) (ceilSample, error) {
	args := []string{"org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", strings.Join(br.addrs, ","),
		"--topic", topic, "--num-records", strconv.Itoa(n), "--group", newTopic("group"), "--fetch-size", strconv.Itoa(4 << 20),
		"--timeout", "60000", "--hide-header"}
	run, err := runJVM(ctx, br, kc, "ConsumerPerformance", args, runTimeout(n), isConsumerResult)
	if err != nil {
		return ceilSample{}, err
	}
	res, err := parseConsumerPerf(run.out)
	if err != nil {
		return ceilSample{}, err
	}
	if res.records < n {
		return ceilSample{}, fmt.Errorf("ConsumerPerformance read %d records, want %d", res.records, n)
	}
	return run.sample(n, n, res.fetchRate, run.summaryAt), nil
}

// jvmRun is a finished child JVM: its output, the times its output lines
// appeared, its CPU time sampled from /proc while it ran, and its totals.
type jvmRun struct {
	out       string
	elapsed   time.Duration
	total     time.Duration // utime+stime at exit (rusage)
	cpu       []cpuSample
	summaryAt time.Time // when the tool printed its result line
	brokerCPU time.Duration
	start     time.Time
}

// cpuSample is a child's CPU time at one instant.
type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// sample converts a JVM run: the window counts records; the client CPU is
// over the tool's steady window (measured records at rate, ending at end).
func (r jvmRun) sample(records, measured int, rate float64, end time.Time) ceilSample {
	s := ceilSample{records: records, toolRate: rate, wholeCPU: r.total}
	s.elapsed = r.elapsed
	s.brokerCPU = r.brokerCPU
	s.cpu = r.total
	win := time.Duration(float64(measured) / rate * float64(time.Second))
	s.clientCPU = cpuAt(r.cpu, end) - cpuAt(r.cpu, end.Add(-win))
	return s
}

// cpuAt interpolates the CPU time at t between the samples (sorted by
// time); before the first sample it is 0, after the last the last's.
func cpuAt(samples []cpuSample, t time.Time) time.Duration {
	if len(samples) == 0 || t.Before(samples[0].at) {
		return 0
	}
	i, _ := slices.BinarySearchFunc(samples, t, func(s cpuSample, t time.Time) int { return s.at.Compare(t) })
	if i >= len(samples) {
		return samples[len(samples)-1].cpu
	}
	if samples[i].at.Equal(t) || i == 0 {
		return samples[i].cpu
	}
	a, b := samples[i-1], samples[i]
	f := float64(t.Sub(a.at)) / float64(b.at.Sub(a.at))
	return a.cpu + time.Duration(f*float64(b.cpu-a.cpu))
}

// lineTimes is a child's stdout: it keeps the output, each complete line
// with the time it was written, and copies everything to log.
type lineTimes struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []timedLine
	part  []byte
	log   io.Writer
}

type timedLine struct {
	at   time.Time
	text string
}

func (l *lineTimes) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, timedLine{at: now, text: string(l.part[:i])})
		l.part = l.part[i+1:]
	}
	l.log.Write(p)
	return len(p), nil
}

// firstLine is when the first line for which match is true was written
// (zero if none).
func firstLine(lines []timedLine, match func(string) bool) time.Time {
	for _, l := range lines {
		if match(l.text) {
			return l.at
		}
	}
	return time.Time{}
}

// isProducerSummary matches ProducerPerformance's final summary ("N records
// sent, R records/sec (…), … 99.9th."), not its progress lines.
func isProducerSummary(line string) bool {
	return strings.Contains(line, " records sent, ") && strings.Contains(line, "99.9th")
}

// isConsumerResult matches ConsumerPerformance's result line (--hide-header).
func isConsumerResult(line string) bool {
	_, err := parseConsumerPerf(line)
	return err == nil
}

// runJVM runs one kafka-tools class in a child JVM (its own process group,
// killed if the harness dies or ctx ends), sampling its CPU time every
// 10 ms, and returns when it exited.
func runJVM(ctx context.Context, br *broker, kc *kafkaConnect, name string, args []string, timeout time.Duration, result func(string) bool) (jvmRun, error) {
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("sluice-bench-%s-%d.log", name, time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		return jvmRun{}, err
	}
	defer os.Remove(logPath)
	defer logFile.Close()
	out := &lineTimes{log: logFile}
	argv := append(strings.Fields(ceilJVMOpts), "-cp", filepath.Join(kc.lib, "*"))
	argv = append(argv, args...)
	cmd := exec.Command("java", argv...)
	cmd.Stdout = out
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	b0 := brokerCPU(br.pid)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return jvmRun{}, fmt.Errorf("starting %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	kill := func() { syscall.Kill(-pid, syscall.SIGKILL) }
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var samples []cpuSample
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	var werr error
wait:
	for {
		select {
		case werr = <-done:
			break wait
		case <-tick.C:
			if st, err := readProcStats(pid); err == nil {
				samples = append(samples, cpuSample{at: time.Now(), cpu: st.cpu})
			}
		case <-deadline:
			kill()
			<-done
			return jvmRun{}, fmt.Errorf("%s timed out after %s; last lines:\n%s", name, timeout, tail(logPath, 20))
		case <-ctx.Done():
			kill()
			<-done
			return jvmRun{}, ctx.Err()
		}
	}
	r := jvmRun{elapsed: time.Since(t0), start: t0, cpu: samples}
	r.brokerCPU = -1
	if br.pid > 0 {
		r.brokerCPU = brokerCPU(br.pid) - b0
	}
	if werr != nil {
		return jvmRun{}, fmt.Errorf("%s: %v; last lines:\n%s", name, werr, tail(logPath, 20))
	}
	r.total = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	out.mu.Lock()
	r.out, r.summaryAt = out.buf.String(), firstLine(out.lines, result)
	out.mu.Unlock()
	if r.summaryAt.IsZero() {
		return jvmRun{}, fmt.Errorf("%s printed no result line; output:\n%s", name, r.out)
	}
	return r, nil
}

// perfResult is a kafka-tools perf tool's summary.
type perfResult struct {
	records   int
	rate      float64 // records/s
	fetchRate float64 // consumer: records/s over the fetch time (group join excluded)
}

// parseProducerPerf reads ProducerPerformance's steady-state summary line
// ("N steady state records sent, R records/sec (…)"), or, without one, its
// total ("N records sent, R records/sec (…)").
func parseProducerPerf(out string) (perfResult, error) {
	var total, steady *perfResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var r perfResult
		var err error
		switch {
		case strings.Contains(line, " steady state records sent, "):
			_, err = fmt.Sscanf(line, "%d steady state records sent, %f records/sec", &r.records, &r.rate)
			if err == nil {
				steady = &r
			}
		case isProducerSummary(line):
			_, err = fmt.Sscanf(line, "%d records sent, %f records/sec", &r.records, &r.rate)
			if err == nil {
				total = &r
			}
		}
		if err != nil {
			return perfResult{}, fmt.Errorf("ProducerPerformance line %q: %w", line, err)
		}
	}
	switch {
	case steady != nil:
		return *steady, nil
	case total != nil:
		return *total, nil
	}
	return perfResult{}, fmt.Errorf("no summary line in ProducerPerformance's output:\n%s", out)
}

// parseConsumerPerf reads ConsumerPerformance's result line (--hide-header):
// start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
// nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
func parseConsumerPerf(out string) (perfResult, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) != 10 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		n, err1 := strconv.Atoi(f[4])
		rate, err2 := strconv.ParseFloat(f[5], 64)
		fetch, err3 := strconv.ParseFloat(f[9], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return perfResult{}, fmt.Errorf("ConsumerPerformance line %q: %w", sc.Text(), err)
		}
		return perfResult{records: n, rate: rate, fetchRate: fetch}, nil
	}
	return perfResult{}, fmt.Errorf("no result line in ConsumerPerformance's output:\n%s", out)
}

// listenerPID is the pid of the local process listening on addr's TCP port
// (0 if not found): the socket's inode from /proc/net/tcp{,6}, then the
// process holding it among /proc/*/fd.
func listenerPID(addr string) int {
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for k := range listenInodes(string(data), port) {
			inodes[k] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
				return pid
			}
		}
	}
	return 0
}

// listenInodes returns the inodes of the sockets listening (state 0A) on
// port in a /proc/net/tcp table.
func listenInodes(table string, port int) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
			out[f[9]] = true
		}
	}
	return out
}
