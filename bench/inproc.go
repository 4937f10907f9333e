package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/converters"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/offsets"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
)

// Contender names.
const (
	cSarama = "sarama"
	cSluice = "Sluice"
	// cSluiceBigBuf is a diagnostic sink contender: Sluice with the
	// buffered-records bound raised out of the way (the 64 MiB bytes bound
	// stays), which shows what the default bound costs (see BENCHMARKS.md).
	cSluiceBigBuf = "Sluice, MaxBufferedRecords 10M"
	// cSaramaJSON is the JSON tests' baseline: a bare sarama client that
	// converts every record itself with the JSON converter Sluice uses (the
	// producer encodes each Struct before sending it, the consumer group
	// decodes each value), as an application serializing its own data does.
	cSaramaJSON = "sarama + JsonConverter"
	// cSluiceRingOffsets is a diagnostic source contender: Sluice with a
	// generator whose offset maps come from a ring built before the run,
	// so that the task allocates nothing per record and what is left over
	// the bare producer is the runtime's own cost.
	cSluiceRingOffsets = "Sluice, task without per-record offset maps"
	// cSluiceSaramaProducer is a diagnostic source contender: Sluice with
	// sarama's AsyncProducer (source.Config.SaramaProducer) in place of its
	// batch producer, the runtime as it was before internal/kproduce.
	cSluiceSaramaProducer = "Sluice, sarama's AsyncProducer"
	// cSaramaPreencoded is source-json's bare producer sending bytes
	// encoded before the run: the runtime's cost without the conversion.
	cSaramaPreencoded = "sarama, pre-encoded bytes"
	// cSaramaNoDecode is sink-json's bare consumer group that does not
	// decode the values (diagnostic: what decoding costs).
	cSaramaNoDecode = "sarama, no decoding"
	cKafkaConnect   = "Kafka Connect"
)

// producerConfig is the producer configuration both source contenders use:
// what Sluice forces (idempotence, acks=all, one request in flight per broker
// as idempotence requires in sarama, 10 retries) plus the throughput tuning
// chosen for the bare producer (see tuneProducer); Sluice gets it as
// source.Config.Sarama.
func producerConfig() *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig("")
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 10
	tuneProducer(cfg)
	return cfg
}

// consumerConfig is the consumer configuration both sink contenders use,
// tuned for the bare consumer group (see tuneConsumer).
func consumerConfig() *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig("")
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	tuneConsumer(cfg)
	return cfg
}

// tuneProducer holds the producer tuning of both source contenders. Tried
// for the bare idempotent acks=all AsyncProducer here (100-byte records, 4
// partitions): Flush.Bytes 64 KiB and 256 KiB, Flush.Frequency 1 and 5 ms,
// Flush.Messages 5000, ChannelBufferSize 1024 and 4096. None beat sarama's
// defaults (send as soon as the one request in flight is answered, with
// whatever accumulated meanwhile) beyond the run-to-run noise; the larger
// channel buffer was ahead most often, so it is kept.
func tuneProducer(cfg *sarama.Config) {
	cfg.ChannelBufferSize = 1024
}

// tuneConsumer holds the consumer tuning of both sink contenders: 4 MiB
// fetches (sarama: 1 MiB) were ahead of the default for the bare consumer
// group here; larger fetches and channel buffers were not.
func tuneConsumer(cfg *sarama.Config) {
	cfg.Consumer.Fetch.Default = 4 << 20
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// inSample is one in-process run's measurement.
type inSample struct {
	elapsed   time.Duration
	allocs    uint64        // heap allocations of the whole process during the run
	bytes     uint64        // value bytes sent or received
	cpu       time.Duration // CPU time of the harness process during the run
	brokerCPU time.Duration // CPU time of the broker process (-1: unknown)
	// txns is the number of transactions an exactly-once source committed
	// during the run (0: not exactly-once).
	txns int64
	// first is when the first record was acknowledged (source) or handed
	// to the consumer's handler or task (sink), since the start; 0:
	// unknown. Source pipelines see it with ~1 ms resolution.
	first time.Duration
	// firstCnt is how many records were done at first (1 for the bare
	// clients; a Sluice pipeline's first status sample or Put batch may
	// count more).
	firstCnt int64
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// selfCPU is the harness process's user + system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures one in-process run: wall time, allocations, the harness's
// CPU time and, when the broker is a process whose pid is known, the
// broker's.
type meter struct {
	start     time.Time
	mallocs   uint64
	cpu       time.Duration
	brokerPID int
	brokerCPU time.Duration
}

func startMeter(br *broker) meter {
	m := meter{brokerPID: br.pid, mallocs: mallocs(), cpu: selfCPU()}
	m.brokerCPU = brokerCPU(br.pid)
	m.start = time.Now()
	return m
}

func (m meter) sample(bytes uint64) inSample {
	s := inSample{elapsed: time.Since(m.start), bytes: bytes}
	s.cpu = selfCPU() - m.cpu
	s.allocs = mallocs() - m.mallocs
	s.brokerCPU = -1
	if m.brokerPID > 0 {
		s.brokerCPU = brokerCPU(m.brokerPID) - m.brokerCPU
	}
	return s
}

// brokerCPU is the broker process's CPU time so far (0 if unknown).
func brokerCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	st, err := readProcStats(pid)
	if err != nil {
		return 0
	}
	return st.cpu
}

// ---- source ----

// genTask is the Sluice contender's in-memory generator: it returns n
// records in batches of opts.batch (0: 1000), all on one source partition,
// each with its own offset, as a real source does. Values come from values
// (shared, read only).
type genTask struct {
	topic  string
	n      int
	sent   int
	schema *connect.Schema
	values []any
	part   map[string]any
	ring   []map[string]any // opts.ringOffsets
	opts   genOpts
}

// genOpts are a genTask's options.
type genOpts struct {
	// batch is the records per Poll (0: 1000).
	batch int
	// idle: once the n records were returned, Poll returns no records
	// every millisecond (as a source with nothing new does, so that the
	// runtime gets control back between Polls) instead of blocking until
	// the task stops.
	idle bool
	// onPoll, if set, is called when Poll begins (end false) and before
	// it returns a batch (end true).
	onPoll func(end bool)
	// ringOffsets: the records' offset maps come from a ring of
	// offsetRing maps built at Start (never modified), not one new map per
	// record: a diagnostic of the runtime's cost without the task's.
	ringOffsets bool
}

// offsetRing is the ring's size: above the source runtime's default
// MaxInFlightRecords, so that no map is in flight twice.
const offsetRing = 1 << 15

func (g *genTask) Start(context.Context, source.TaskContext) error {
	g.part = map[string]any{"generator": "bench"}
	if g.opts.ringOffsets {
		g.ring = make([]map[string]any, offsetRing)
		for i := range g.ring {
			g.ring[i] = map[string]any{"n": int64(i)}
		}
	}
	return nil
}

func (g *genTask) Poll(ctx context.Context) ([]connect.Record, error) {
	if g.sent >= g.n {
		if g.opts.idle {
			select {
			case <-ctx.Done():
			case <-time.After(time.Millisecond):
			}
			return nil, nil
		}
		<-ctx.Done()
		return nil, nil
	}
	if g.opts.onPoll != nil {
		g.opts.onPoll(false)
	}
	batch := g.opts.batch
	if batch <= 0 {
		batch = 1000
	}
	k := min(batch, g.n-g.sent)
	out := make([]connect.Record, k)
	for i := range out {
		o := g.sent + i
		out[i] = connect.Record{
			Topic:           g.topic,
			ValueSchema:     g.schema,
			Value:           g.values[o%len(g.values)],
			SourcePartition: g.part,
		}
		if g.ring != nil {
			out[i].SourceOffset = g.ring[o%len(g.ring)]
		} else {
			out[i].SourceOffset = map[string]any{"n": int64(o)}
		}
	}
	g.sent += k
	if g.opts.onPoll != nil {
		g.opts.onPoll(true)
	}
	return out, nil
}

func (g *genTask) Stop(context.Context) error { return nil }

// sourceData is what both source contenders send: Sluice converts
// values (with schema) through conv; sarama sends the bytes conv produces
// for them.
type sourceData struct {
	schema  *connect.Schema
	values  []any
	encoded [][]byte
	conv    converters.Converter
	label   string
	// headers, if set, go on every record the bare producer sends.
	headers []sarama.RecordHeader
}

func byteData(size int) sourceData {
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return sourceData{schema: connect.OptionalBytesSchema, values: []any{v}, encoded: [][]byte{v}, conv: converters.NewByteArray(), label: "ByteArray converter"}
}

// jsonData is a realistic CDC-style record (a dozen fields of mixed types, a
// nested struct, an array, logical types) through the JSON converter with
// schemas.enable=true: Kafka Connect's {"schema":…,"payload":…} envelope.
func jsonData() (sourceData, error) {
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		return sourceData{}, err
	}
	addr := connect.StructBuilder().Name("com.acme.Address").
		Field("street", connect.StringSchema).
		Field("city", connect.StringSchema).
		Field("zip", connect.OptionalStringSchema).
		MustBuild()
	s := connect.StructBuilder().Name("com.acme.Order").Version(3).
		Field("id", connect.Int64Schema).
		Field("customer_id", connect.Int32Schema).
		Field("status", connect.StringSchema).
		Field("amount", connect.DecimalSchema(2)).
		Field("discount", connect.OptionalFloat64Schema).
		Field("paid", connect.BooleanSchema).
		Field("created_at", connect.TimestampSchema).
		Field("ship_date", connect.DateBuilder().Optional().MustBuild()).
		Field("note", connect.OptionalStringSchema).
		Field("address", addr).
		Field("tags", connect.ArrayBuilder(connect.StringSchema).MustBuild()).
		Field("qty", connect.Int16Schema).
		MustBuild()
	statuses := []string{"NEW", "PAID", "SHIPPED", "DELIVERED"}
	d := sourceData{schema: s, conv: conv, label: "JSON converter, schemas.enable=true"}
	for i := range 1024 {
		v := connect.NewStruct(s).
			MustPut("id", int64(1234567890000+i)).
			MustPut("customer_id", int32(4000+i%97)).
			MustPut("status", statuses[i%len(statuses)]).
			MustPut("amount", connect.NewDecimal(int64(100000+i*37), 2)).
			MustPut("paid", i%3 != 0).
			MustPut("created_at", time.UnixMilli(1700000000000+int64(i)*1000).UTC()).
			MustPut("address", connect.NewStruct(addr).MustPut("street", fmt.Sprintf("%d Baker Street", i%300)).MustPut("city", "London").MustPut("zip", "NW1 6XE")).
			MustPut("tags", []any{"priority", "gift"}).
			MustPut("qty", int16(1+i%5))
		if i%2 == 0 {
			v.MustPut("discount", 0.15).MustPut("ship_date", connect.DaysToDate(int32(19700+i%30)))
		} else {
			v.MustPut("note", "leave at the door")
		}
		b, err := conv.FromConnect(context.Background(), "t", nil, s, v)
		if err != nil {
			return sourceData{}, err
		}
		d.values = append(d.values, v)
		d.encoded = append(d.encoded, b)
	}
	return d, nil
}

// bytes is the value bytes of the first n records sent from d.
func (d sourceData) bytes(n int) uint64 {
	var b uint64
	for i := range n {
		b += uint64(len(d.encoded[i%len(d.encoded)]))
	}
	return b
}

func (d sourceData) avgSize() int {
	var n int
	for _, b := range d.encoded {
		n += len(b)
	}
	return n / len(d.encoded)
}

// runSaramaProducer sends n records with a bare AsyncProducer and returns
// when the last one is acknowledged.
func runSaramaProducer(ctx context.Context, br *broker, topic string, n int, d sourceData) (inSample, error) {
	return runSaramaProducerWith(ctx, br, topic, n, d, false)
}

// runSaramaProducerEncoding is runSaramaProducer where the sending loop
// encodes each value with d.conv (the converter Sluice's contender uses)
// inside the timed window instead of sending d's pre-encoded bytes.
func runSaramaProducerEncoding(ctx context.Context, br *broker, topic string, n int, d sourceData) (inSample, error) {
	return runSaramaProducerWith(ctx, br, topic, n, d, true)
}

func runSaramaProducerWith(ctx context.Context, br *broker, topic string, n int, d sourceData, encode bool) (inSample, error) {
	return runProducerWith(ctx, br, topic, n, d, encode, "bench-sarama-producer", sarama.NewAsyncProducer)
}

// runProducerWith is runSaramaProducerWith with the producer newProducer
// creates.
func runProducerWith(ctx context.Context, br *broker, topic string, n int, d sourceData, encode bool, clientID string,
	newProducer func([]string, *sarama.Config) (sarama.AsyncProducer, error)) (inSample, error) {
	cfg := producerConfig()
	cfg.ClientID = clientID
	m := startMeter(br)
	p, err := newProducer(br.addrs, cfg)
	if err != nil {
		return inSample{}, err
	}
	defer p.Close()
	stopSend := make(chan struct{})
	defer close(stopSend)
	encErr := make(chan error, 1)
	var bytes uint64
	go func() {
		for i := range n {
			v := d.encoded[i%len(d.encoded)]
			if encode {
				var err error
				if v, err = d.conv.FromConnect(ctx, topic, nil, d.schema, d.values[i%len(d.values)]); err != nil {
					encErr <- err
					return
				}
			}
			select {
			case p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(v), Headers: d.headers}:
			case <-stopSend:
				return
			}
		}
	}()
	timeout := time.After(runTimeout(n))
	var first time.Duration
	for acked := 0; acked < n; acked++ {
		select {
		case msg := <-p.Successes():
			if acked == 0 {
				first = time.Since(m.start)
			}
			bytes += uint64(msg.Value.Length())
		case err := <-encErr:
			return inSample{}, fmt.Errorf("converting record: %w", err)
		case e := <-p.Errors():
			return inSample{}, fmt.Errorf("sarama producer: %w", e.Err)
		case <-timeout:
			return inSample{}, fmt.Errorf("timed out after %d of %d acknowledgements", acked, n)
		case <-ctx.Done():
			return inSample{}, ctx.Err()
		}
	}
	s := m.sample(bytes)
	s.first, s.firstCnt = first, 1
	return s, nil
}

// runSluiceSource runs a source pipeline with the generator task until Kafka
// acknowledged all n records.
func runSluiceSource(ctx context.Context, br *broker, topic string, n int, d sourceData) (inSample, error) {
	return runSluiceSourceWith(ctx, br, topic, n, d, genOpts{}, func(c *source.Config) {
		// Offsets are not what this measures: the default Kafka store's
		// setup (reading connect-offsets) would fall in the timed window.
		c.OffsetStore = offsets.NewMemoryStore()
	})
}

// runSluiceSourceRing is runSluiceSource with the generator's offset maps
// taken from a ring (genOpts.ringOffsets).
func runSluiceSourceRing(ctx context.Context, br *broker, topic string, n int, d sourceData) (inSample, error) {
	return runSluiceSourceWith(ctx, br, topic, n, d, genOpts{ringOffsets: true}, func(c *source.Config) {
		c.OffsetStore = offsets.NewMemoryStore()
	})
}

// runSluiceSourceSaramaProducer is runSluiceSource producing with sarama's
// AsyncProducer (source.Config.SaramaProducer).
func runSluiceSourceSaramaProducer(ctx context.Context, br *broker, topic string, n int, d sourceData) (inSample, error) {
	return runSluiceSourceWith(ctx, br, topic, n, d, genOpts{}, func(c *source.Config) {
		c.OffsetStore = offsets.NewMemoryStore()
		c.SaramaProducer = true
	})
}

// runSluiceSourceWith runs a source pipeline with a generator task of
// options g, the pipeline's configuration adjusted by mod, until Kafka
// acknowledged all n records and, for an exactly-once pipeline, until the
// task's status counts all n of them in committed transactions.
func runSluiceSourceWith(ctx context.Context, br *broker, topic string, n int, d sourceData, g genOpts, mod func(*source.Config)) (inSample, error) {
	task := &genTask{topic: topic, n: n, schema: d.schema, values: d.values, opts: g}
	cfg := source.Config{
		Name:           "bench-source-" + topic,
		Brokers:        br.addrs,
		NewTask:        func() source.Task { return task },
		ValueConverter: d.conv,
		Sarama:         producerConfig(),
		Logger:         discard,
	}
	mod(&cfg)
	p, err := source.New(cfg)
	if err != nil {
		return inSample{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	m := startMeter(br)
	go func() { done <- p.Run(rctx) }()
	deadline := time.Now().Add(runTimeout(n))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var txns, firstCnt int64
	var first time.Duration
	for {
		select {
		case err := <-done:
			return inSample{}, fmt.Errorf("pipeline ended early: %v", err)
		case <-ctx.Done():
			return inSample{}, ctx.Err()
		case <-tick.C:
		}
		st := p.PipelineStatus()
		if st.AllTasksFailed() {
			// A failed task does not end Run (the connector stays
			// RUNNING, as Kafka Connect's): report it here.
			cancel()
			<-done
			return inSample{}, fmt.Errorf("every task failed: %v", st.TaskErrors())
		}
		if first == 0 && len(st.Tasks) > 0 && st.Tasks[0].RecordsOut > 0 {
			first, firstCnt = time.Since(m.start), st.Tasks[0].RecordsOut
		}
		if len(st.Tasks) > 0 && st.Tasks[0].RecordsOut >= int64(n) && committed(st.Tasks[0]) >= int64(n) {
			txns = st.Tasks[0].Transactions
			break
		}
		if time.Now().After(deadline) {
			return inSample{}, fmt.Errorf("timed out: %+v", st)
		}
	}
	s := m.sample(d.bytes(n))
	s.txns, s.first, s.firstCnt = txns, first, firstCnt
	cancel()
	if err := <-done; err != nil {
		return inSample{}, fmt.Errorf("pipeline stop: %w", err)
	}
	return s, nil
}

// committed is the number of records an exactly-once source task's
// committed transactions hold (the average size times the count), or
// math.MaxInt64 for an at-least-once task, whose records count once
// acknowledged.
func committed(t connect.TaskStatus) int64 {
	if t.TransactionalID == "" {
		return math.MaxInt64
	}
	return int64(math.Round(t.TransactionSizeAvg * float64(t.Transactions)))
}

func runTimeout(n int) time.Duration {
	return 2*time.Minute + time.Duration(n)*50*time.Microsecond
}

// benchSource runs the source test (byte records, or JSON with schema).
func benchSource(ctx context.Context, o options, br *broker, rep *report, json bool) error {
	test, d := "source", byteData(o.size)
	if json {
		var err error
		test = "source-json"
		if d, err = jsonData(); err != nil {
			return err
		}
	}
	info := testInfo{
		id:             test,
		title:          fmt.Sprintf("%s path: %d records of %d B (%s), %d partitions", test, o.records, d.avgSize(), d.label, o.partitions),
		contenders:     []string{cSarama, cSluice},
		baselineFor:    map[string]string{cSluice: cSarama},
		pairedHeadline: true,
		figures:        inProcessFigures,
		notes:          []string{pairedNote},
	}
	contenders := map[string]func(context.Context, *broker, string, int, sourceData) (inSample, error){
		cSarama:            runSaramaProducer,
		cSaramaJSON:        runSaramaProducerEncoding,
		cSaramaPreencoded:  runSaramaProducer,
		cSluice:            runSluiceSource,
		cSluiceRingOffsets: runSluiceSourceRing,

		cSluiceSaramaProducer: runSluiceSourceSaramaProducer,
	}
	if !json {
		// The diagnostic next to the baseline, whose neighbour on the
		// other side is Sluice: both pairs run back to back.
		info.contenders = []string{cSluiceRingOffsets, cSarama, cSluice, cSluiceSaramaProducer}
		info.extraPairs = [][2]string{{cSluiceRingOffsets, cSarama}, {cSluiceSaramaProducer, cSarama}}
		info.notes = append(info.notes, fmt.Sprintf("`%s` (diagnostic): the same pipeline with a generator whose offset maps "+
			"come from a ring of %d maps built before the run, so the task allocates nothing per record (the `Sluice` "+
			"generator, like a real source, makes a new offset map for every record): what is left over the bare "+
			"producer is the runtime's own cost.", cSluiceRingOffsets, offsetRing),
			fmt.Sprintf("`%s` (diagnostic): the same pipeline producing with sarama's AsyncProducer (source.Config.SaramaProducer, "+
				"property sluice.producer.sarama=true) instead of Sluice's batch producer (internal/kproduce, the default): the "+
				"runtime as it was before the batch producer.", cSluiceSaramaProducer))
	}
	if json {
		// The baseline converts as Sluice does; the pre-encoded producer
		// (next to Sluice, so that the pair runs back to back too) shows
		// the runtime's cost without the conversion.
		info.contenders = []string{cSaramaJSON, cSluice, cSaramaPreencoded}
		info.baselineFor = map[string]string{cSluice: cSaramaJSON}
		info.extraPairs = [][2]string{{cSluice, cSaramaPreencoded}}
		info.notes = append(info.notes, fmt.Sprintf("`%s` (the baseline): the bare AsyncProducer whose sending loop encodes every Struct "+
			"with the JSON converter Sluice uses (schemas.enable=true) inside the timed window, as an application that serializes its "+
			"own data does. `%s`: the same producer sending the bytes that converter produced before the run, so Sluice / it "+
			"is the runtime's cost plus the conversion's.", cSaramaJSON, cSaramaPreencoded))
	}
	rep.addTest(info)
	reps := map[string]int{}
	one := func(c string, n int, record bool, label string) error {
		topic := newTopic(test)
		if err := createTopic(br.addrs, topic, int32(o.partitions)); err != nil {
			return err
		}
		defer deleteTopic(br.addrs, topic)
		runtime.GC()
		stop := func() {}
		if record {
			reps[c]++
			stop = startProfile(o.profileDir, profileName(test, c, reps[c]))
		}
		s, err := contenders[c](ctx, br, topic, n, d)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if record {
			rep.addInProcess(test, c, n, s)
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s, %.1f allocs/record)", test, label, c, n, s.elapsed.Seconds(),
			float64(n)/s.elapsed.Seconds(), float64(s.allocs)/float64(n))
		return nil
	}
	return interleave(o, info.contenders, min(o.records, 20000), o.records, one)
}

// interleave runs a warm-up of each contender (n = warm records, not
// recorded), then o.reps repetitions in the order repOrder gives: the
// contenders listed next to each other (a pair whose ratio is reported) run
// back to back in every repetition, which goes first alternating.
func interleave(o options, contenders []string, warm, n int, one func(c string, n int, record bool, label string) error) error {
	for _, c := range contenders {
		if err := one(c, warm, false, "warm-up"); err != nil {
			return err
		}
	}
	for r := range o.reps {
		for _, c := range repOrder(contenders, r) {
			if err := one(c, n, true, fmt.Sprintf("rep %d/%d", r+1, o.reps)); err != nil {
				return err
			}
		}
	}
	return nil
}

// repOrder is the contenders' order in repetition r (from 0): as listed in
// even repetitions, reversed in odd ones. Neighbours in the list stay
// neighbours (so a pair's two runs see the same machine load) and take
// turns going first.
func repOrder(contenders []string, r int) []string {
	out := slices.Clone(contenders)
	if r%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// repeat runs o.reps repetitions of each contender, rotating their order from
// one repetition to the next so that none always goes first.
func repeat(o options, contenders []string, one func(c, label string) error) error {
	for r := range o.reps {
		for i := range contenders {
			c := contenders[(i+r)%len(contenders)]
			if err := one(c, fmt.Sprintf("rep %d/%d", r+1, o.reps)); err != nil {
				return err
			}
		}
	}
	return nil
}

// profileName names the CPU profile of one recorded run.
func profileName(test, contender string, rep int) string {
	c := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, contender)
	for strings.Contains(c, "--") {
		c = strings.ReplaceAll(c, "--", "-")
	}
	return fmt.Sprintf("%s-%s-%d.pprof", test, c, rep)
}

// startProfile starts a CPU profile into dir/name and returns the function
// that stops it; with dir empty it does nothing. The profile covers the
// whole process: the contender and sarama (and the broker with -embedded).
func startProfile(dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		logf("CPU profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		logf("CPU profile: %v", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		logf("CPU profile: %s", path)
	}
}

// ---- sink ----

// noopTask is the Sluice sink contender: it counts records and closes done
// when it saw want of them; with start set, it notes when its first batch
// came (firstAt, since start) and how many records that batch held.
type noopTask struct {
	n     atomic.Int64
	bytes atomic.Int64
	want  int64
	done  chan struct{}

	start    time.Time
	firstAt  atomic.Int64 // time.Duration
	firstCnt atomic.Int64
}

func (t *noopTask) Start(context.Context, sink.TaskContext) error { return nil }
func (t *noopTask) Stop(context.Context) error                    { return nil }
func (t *noopTask) Put(_ context.Context, recs []connect.Record) error {
	var b int64
	for i := range recs {
		if v, ok := recs[i].Value.([]byte); ok {
			b += int64(len(v))
		}
	}
	t.bytes.Add(b)
	k := t.n.Add(int64(len(recs)))
	if k == int64(len(recs)) && k > 0 && !t.start.IsZero() {
		t.firstAt.Store(int64(time.Since(t.start)))
		t.firstCnt.Store(k)
	}
	if k == t.want {
		close(t.done)
	}
	return nil
}

// countHandler is the bare consumer group's handler: it marks each message
// (the usual sarama idiom; offsets are auto-committed every second) and
// closes done at the want-th. With conv set it first decodes each value
// with it (keeping the first error in err); with start set it notes when
// the first message came (firstAt, since start).
type countHandler struct {
	n     atomic.Int64
	bytes atomic.Int64
	want  int64
	done  chan struct{}

	conv    converters.Converter
	err     atomic.Pointer[error]
	start   time.Time
	firstAt atomic.Int64 // time.Duration
}

func (h *countHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *countHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *countHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		if h.conv != nil {
			if _, err := h.conv.ToConnect(sess.Context(), m.Topic, nil, m.Value); err != nil {
				h.err.CompareAndSwap(nil, &err)
			}
		}
		sess.MarkMessage(m, "")
		h.bytes.Add(int64(len(m.Value)))
		k := h.n.Add(1)
		if k == 1 && !h.start.IsZero() {
			h.firstAt.Store(int64(time.Since(h.start)))
		}
		if k == h.want {
			close(h.done)
		}
	}
	return nil
}

// runSaramaGroup reads n records of topic with a bare consumer group,
// decoding each value with conv if it is not nil.
func runSaramaGroup(ctx context.Context, br *broker, topic string, n int, conv converters.Converter) (inSample, error) {
	cfg := consumerConfig()
	cfg.ClientID = "bench-sarama-consumer"
	h := &countHandler{want: int64(n), done: make(chan struct{}), conv: conv}
	m := startMeter(br)
	h.start = m.start
	g, err := sarama.NewConsumerGroup(br.addrs, newTopic("group"), cfg)
	if err != nil {
		return inSample{}, err
	}
	defer g.Close()
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		for e := range g.Errors() {
			select {
			case errc <- e:
			default:
			}
		}
	}()
	go func() {
		for gctx.Err() == nil {
			if err := g.Consume(gctx, []string{topic}, h); err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
		}
	}()
	select {
	case <-h.done:
	case err := <-errc:
		return inSample{}, fmt.Errorf("consumer group: %w", err)
	case <-time.After(runTimeout(n)):
		return inSample{}, fmt.Errorf("timed out after %d of %d records", h.n.Load(), n)
	case <-ctx.Done():
		return inSample{}, ctx.Err()
	}
	s := m.sample(uint64(h.bytes.Load()))
	if err := h.err.Load(); err != nil {
		return inSample{}, fmt.Errorf("converting record: %w", *err)
	}
	s.first, s.firstCnt = time.Duration(h.firstAt.Load()), 1
	return s, nil
}

// runSluiceSink reads n records of topic with a sink pipeline whose task
// does nothing, with value converter conv (nil: ByteArray) and
// MaxBufferedRecords maxBuffered (0: the default).
func runSluiceSink(ctx context.Context, br *broker, topic string, n int, maxBuffered int, conv converters.Converter) (inSample, error) {
	task := &noopTask{want: int64(n), done: make(chan struct{})}
	p, err := sink.New(sink.Config{
		Name:               newTopic("sink"),
		Brokers:            br.addrs,
		NewTask:            func() sink.Task { return task },
		Topics:             []string{topic},
		MaxBufferedRecords: maxBuffered,
		ValueConverter:     conv,
		Sarama:             consumerConfig(),
		Logger:             discard,
	})
	if err != nil {
		return inSample{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	m := startMeter(br)
	task.start = m.start
	go func() { done <- p.Run(rctx) }()
	timeout := time.After(runTimeout(n))
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
wait:
	for {
		select {
		case <-task.done:
			break wait
		case err := <-done:
			return inSample{}, fmt.Errorf("pipeline ended early: %v", err)
		case <-timeout:
			return inSample{}, fmt.Errorf("timed out after %d of %d records", task.n.Load(), n)
		case <-ctx.Done():
			return inSample{}, ctx.Err()
		case <-check.C:
			// A failed task does not end Run (the connector stays
			// RUNNING, as Kafka Connect's): report it here.
			if st := p.PipelineStatus(); st.AllTasksFailed() {
				cancel()
				<-done
				return inSample{}, fmt.Errorf("every task failed: %v", st.TaskErrors())
			}
		}
	}
	s := m.sample(uint64(task.bytes.Load()))
	s.first, s.firstCnt = time.Duration(task.firstAt.Load()), task.firstCnt.Load()
	cancel()
	if err := <-done; err != nil {
		return inSample{}, fmt.Errorf("pipeline stop: %w", err)
	}
	return s, nil
}

// sinkTopics creates and fills the topics a sink test reads: one of warm
// records (the warm-up runs) and one of o.records, each record of o.size
// bytes with headers(i) if headers is set. It returns the topic per record
// count and the function that deletes them (also after an error).
func sinkTopics(o options, br *broker, test string, warm int, headers func(i int) []sarama.RecordHeader) (map[int]string, func(), error) {
	value := byteData(o.size).encoded[0]
	return sinkTopicsOf(o, br, test, warm, func(int) []byte { return value }, headers)
}

// sinkTopicsOf is sinkTopics with record i's value value(i).
func sinkTopicsOf(o options, br *broker, test string, warm int, value func(i int) []byte, headers func(i int) []sarama.RecordHeader) (map[int]string, func(), error) {
	topics := map[int]string{}
	var created []string
	drop := func() {
		for _, t := range created {
			deleteTopic(br.addrs, t)
		}
	}
	for _, n := range []int{warm, o.records} {
		if _, ok := topics[n]; ok {
			continue
		}
		topic := newTopic(test)
		if err := createTopic(br.addrs, topic, int32(o.partitions)); err != nil {
			return nil, drop, err
		}
		created = append(created, topic)
		logf("%s: producing %d records into %s", test, n, topic)
		if err := fill(br.addrs, topic, n, value, headers); err != nil {
			return nil, drop, fmt.Errorf("filling %s: %w", topic, err)
		}
		topics[n] = topic
	}
	return topics, drop, nil
}

func benchSink(ctx context.Context, o options, br *broker, rep *report) error {
	info := testInfo{
		id:             "sink",
		title:          fmt.Sprintf("sink path: %d records of %d B (ByteArray converter), %d partitions, read from the start by a new group", o.records, o.size, o.partitions),
		contenders:     []string{cSarama, cSluice, cSluiceBigBuf},
		baselineFor:    map[string]string{cSluice: cSarama, cSluiceBigBuf: cSarama},
		pairedHeadline: true,
		figures:        inProcessFigures,
		notes: []string{pairedNote, "`" + cSluiceBigBuf + "` is a diagnostic: Sluice's sink pauses every partition when " +
			"MaxBufferedRecords records are buffered (default 50000) and resumes them at half; the variant " +
			"raises the bound out of the way (the 64 MiB bytes bound stays), to show what the bound costs."},
	}
	rep.addTest(info)
	warm := min(o.records, 20000)
	topics, drop, err := sinkTopics(o, br, "sink", warm, nil)
	defer drop()
	if err != nil {
		return err
	}
	return runSinkTest(o, rep, info, warm, func(c string, n int) (inSample, error) {
		switch c {
		case cSarama:
			return runSaramaGroup(ctx, br, topics[n], n, nil)
		case cSluiceBigBuf:
			return runSluiceSink(ctx, br, topics[n], n, 10_000_000, nil)
		default:
			return runSluiceSink(ctx, br, topics[n], n, 0, nil)
		}
	})
}

// benchSinkJSON is the sink test with the source-json test's records as
// the JSON converter writes them (schemas.enable=true), decoded by the
// baseline's handler and by Sluice's value converter.
func benchSinkJSON(ctx context.Context, o options, br *broker, rep *report) error {
	const test = "sink-json"
	d, err := jsonData()
	if err != nil {
		return err
	}
	conv, err := converters.NewJSON(converters.JSONConfig{})
	if err != nil {
		return err
	}
	info := testInfo{
		id: test,
		title: fmt.Sprintf("sink-json path: %d records of %d B (%s), %d partitions, read from the start by a new group",
			o.records, d.avgSize(), d.label, o.partitions),
		contenders:     []string{cSaramaJSON, cSluice, cSaramaNoDecode},
		baselineFor:    map[string]string{cSluice: cSaramaJSON},
		extraPairs:     [][2]string{{cSluice, cSaramaNoDecode}},
		pairedHeadline: true,
		figures:        inProcessFigures,
		notes: []string{pairedNote, fmt.Sprintf("`%s` (the baseline): the sink test's bare consumer group whose handler decodes every "+
			"value with the JSON converter Sluice's sink uses here (ToConnect), as an application that deserializes its own data "+
			"does. `Sluice`: the sink pipeline with that value converter and a no-op task. `%s` (diagnostic): the bare group "+
			"without decoding, so Sluice / it is the runtime's cost plus the conversion's.", cSaramaJSON, cSaramaNoDecode)},
	}
	rep.addTest(info)
	warm := min(o.records, 20000)
	topics, drop, err := sinkTopicsOf(o, br, test, warm, func(i int) []byte { return d.encoded[i%len(d.encoded)] }, nil)
	defer drop()
	if err != nil {
		return err
	}
	return runSinkTest(o, rep, info, warm, func(c string, n int) (inSample, error) {
		switch c {
		case cSaramaJSON:
			return runSaramaGroup(ctx, br, topics[n], n, conv)
		case cSaramaNoDecode:
			return runSaramaGroup(ctx, br, topics[n], n, nil)
		default:
			s, err := runSluiceSink(ctx, br, topics[n], n, 0, conv)
			s.bytes = d.bytes(n) // the task sees Structs, not the bytes
			return s, err
		}
	})
}

// runSinkTest runs the warm-up and the repetitions of a sink test's
// contenders, each through run (c, records), profiling, recording and
// logging the recorded runs.
func runSinkTest(o options, rep *report, info testInfo, warm int, run func(c string, n int) (inSample, error)) error {
	reps := map[string]int{}
	one := func(c string, n int, record bool, label string) error {
		runtime.GC()
		stop := func() {}
		if record {
			reps[c]++
			stop = startProfile(o.profileDir, profileName(info.id, c, reps[c]))
		}
		s, err := run(c, n)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if record {
			rep.addInProcess(info.id, c, n, s)
		}
		logf("%s %s %s: %d records in %.2fs (%.0f records/s, %.1f allocs/record)", info.id, label, c, n, s.elapsed.Seconds(),
			float64(n)/s.elapsed.Seconds(), float64(s.allocs)/float64(n))
		return nil
	}
	return interleave(o, info.contenders, warm, o.records, one)
}
