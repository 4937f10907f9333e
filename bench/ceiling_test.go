package main

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

func TestSplitRecords(t *testing.T) {
	for _, tc := range []struct {
		n, parts int
		want     []int
	}{
		{10, 1, []int{10}},
		{10, 4, []int{3, 3, 2, 2}},
		{3, 4, []int{1, 1, 1, 0}},
		{1000000, 4, []int{250000, 250000, 250000, 250000}},
	} {
		if got := splitRecords(tc.n, tc.parts); !slices.Equal(got, tc.want) {
			t.Errorf("splitRecords(%d, %d) = %v, want %v", tc.n, tc.parts, got, tc.want)
		}
	}
}

func TestLowBatchRecords(t *testing.T) {
	if got := lowBatchRecords(100); got != 7758 {
		t.Errorf("lowBatchRecords(100) = %d, want 7758", got)
	}
	if got := lowBatchRecords(10); got != 8000 {
		t.Errorf("lowBatchRecords(10) = %d, want 8000 (the cap)", got)
	}
	if got := lowBatchRecords(1000); got*(1000+16) > 900_000 || got < 800 {
		t.Errorf("lowBatchRecords(1000) = %d: want the batch under 900 kB and not much smaller", got)
	}
	if got := lowBatchRecords(10 << 20); got != 1 {
		t.Errorf("lowBatchRecords(10 MiB) = %d, want 1", got)
	}
}

func TestCeilingRecords(t *testing.T) {
	o := options{records: 1234}
	if got := ceilingRecords(o, true, 100); got != 1234 {
		t.Errorf("with -records: %d, want 1234", got)
	}
	for _, tc := range []struct {
		quick bool
		size  int
		want  int
	}{{false, 100, 1000000}, {false, 1000, 300000}, {true, 100, 50000}, {true, 1000, 20000}} {
		o := options{quick: tc.quick, records: 99}
		if got := ceilingRecords(o, false, tc.size); got != tc.want {
			t.Errorf("quick=%v size=%d: %d, want %d", tc.quick, tc.size, got, tc.want)
		}
	}
}

func TestParseProducerPerf(t *testing.T) {
	out := `Warmup first 20000 records. Steady state results will print after the complete test summary.
12000 records sent, 2400.0 records/sec (0.23 MB/sec), 1.0 ms avg latency, 2.0 ms max latency.
60000 records sent, 11954.572624 records/sec (1.14 MB/sec), 1653.99 ms avg latency, 2304.00 ms max latency, 1756 ms 50th, 2242 ms 95th, 2297 ms 99th, 2304 ms 99.9th.
40000 steady state records sent, 14030.164854 records/sec (1.34 MB/sec), 1935.62 ms avg latency, 2304.00 ms max latency, 1912 ms 50th, 2282 ms 95th, 2300 ms 99th, 2304 ms 99.9th.
`
	r, err := parseProducerPerf(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.records != 40000 || r.rate != 14030.164854 {
		t.Errorf("steady state: got %+v, want 40000 records at 14030.164854/s", r)
	}
	// Without warm-up: the total.
	r, err = parseProducerPerf(out[:len(out)-len("40000 steady state records sent, 14030.164854 records/sec (1.34 MB/sec), 1935.62 ms avg latency, 2304.00 ms max latency, 1912 ms 50th, 2282 ms 95th, 2300 ms 99th, 2304 ms 99.9th.\n")])
	if err != nil {
		t.Fatal(err)
	}
	if r.records != 60000 || r.rate != 11954.572624 {
		t.Errorf("total: got %+v, want 60000 records at 11954.572624/s (not the progress line)", r)
	}
	if _, err := parseProducerPerf("12000 records sent, 2400.0 records/sec (0.23 MB/sec), 1.0 ms avg latency, 2.0 ms max latency.\n"); err == nil {
		t.Error("a progress line alone parsed as a summary")
	}
	if isProducerSummary("12000 records sent, 2400.0 records/sec (0.23 MB/sec), 1.0 ms avg latency, 2.0 ms max latency.") {
		t.Error("isProducerSummary matched a progress line")
	}
}

func TestParseConsumerPerf(t *testing.T) {
	out := "SLF4J: something, somewhere\n2026-12-06 22:13:42:579, 2026-12-06 22:13:44:785, 5.7220, 2.5939, 60000, 27198.5494, 1110, 1096, 5.2208, 54744.5255\n"
	r, err := parseConsumerPerf(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.records != 60000 || r.rate != 27198.5494 || r.fetchRate != 54744.5255 {
		t.Errorf("got %+v", r)
	}
	if _, err := parseConsumerPerf("nothing here\n"); err == nil {
		t.Error("no result line: want an error")
	}
	if isConsumerResult("SLF4J: something, somewhere") {
		t.Error("isConsumerResult matched a log line")
	}
}

func TestCPUAt(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := []cpuSample{
		{t0, 100 * time.Millisecond},
		{t0.Add(10 * time.Millisecond), 110 * time.Millisecond},
		{t0.Add(20 * time.Millisecond), 130 * time.Millisecond},
	}
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration
	}{
		{-time.Millisecond, 0},
		{0, 100 * time.Millisecond},
		{5 * time.Millisecond, 105 * time.Millisecond},
		{10 * time.Millisecond, 110 * time.Millisecond},
		{15 * time.Millisecond, 120 * time.Millisecond},
		{time.Second, 130 * time.Millisecond},
	} {
		if got := cpuAt(s, t0.Add(tc.at)); got != tc.want {
			t.Errorf("cpuAt(+%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if got := cpuAt(nil, t0); got != 0 {
		t.Errorf("no samples: %v", got)
	}
}

func TestJVMRunSample(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := jvmRun{elapsed: 3 * time.Second, total: 4 * time.Second, brokerCPU: time.Second, cpu: []cpuSample{
		{t0, 0}, {t0.Add(time.Second), time.Second}, {t0.Add(2 * time.Second), 3 * time.Second},
	}}
	// 1000 records at 1000/s: the window is the last second before end.
	s := r.sample(1500, 1000, 1000, t0.Add(2*time.Second))
	if s.clientCPU != 2*time.Second {
		t.Errorf("clientCPU = %v, want 2s (the window's CPU)", s.clientCPU)
	}
	if s.records != 1500 || s.wholeCPU != 4*time.Second || s.toolRate != 1000 || s.elapsed != 3*time.Second {
		t.Errorf("got %+v", s)
	}
}

func TestLineTimes(t *testing.T) {
	var log []byte
	l := &lineTimes{log: writerFunc(func(p []byte) (int, error) { log = append(log, p...); return len(p), nil })}
	l.Write([]byte("first li"))
	l.Write([]byte("ne\nsecond\nthi"))
	if len(l.lines) != 2 || l.lines[0].text != "first line" || l.lines[1].text != "second" {
		t.Fatalf("lines = %+v", l.lines)
	}
	if string(log) != "first line\nsecond\nthi" || l.buf.String() != string(log) {
		t.Errorf("log %q, buf %q", log, l.buf.String())
	}
	if at := firstLine(l.lines, func(s string) bool { return s == "second" }); !at.Equal(l.lines[1].at) {
		t.Errorf("firstLine = %v", at)
	}
	if at := firstLine(l.lines, func(string) bool { return false }); !at.IsZero() {
		t.Errorf("firstLine without a match = %v", at)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestCeilingLine(t *testing.T) {
	got := ceilingLine("produce", "kgo-inflight1", 4, 100, 1234567.4, 0.456, 1.2, true, 0.5, true)
	want := "ceiling: produce kgo-inflight1 4p 100B rps=1234567 cpu_us=0.46 broker_cpu_us=1.20 allocs=0.50"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = ceilingLine("consume", "java", 1, 1000, 10, 2, 0, false, 0, false)
	if want := "ceiling: consume java 1p 1000B rps=10 cpu_us=2.00"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for c, slug := range ceilSlug {
		if slug == "" || c == "" {
			t.Errorf("empty slug for %q", c)
		}
	}
}

func TestListenInodes(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2384 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 33333 1 0000000000000000 100 0 0 10 0
`
	got := listenInodes(table, 9092)
	if len(got) != 1 || !got["12345"] {
		t.Errorf("listenInodes(9092) = %v, want only the listening socket 12345", got)
	}
}

// TestSaramaLowLevelReadBack: the hand-built idempotent batches of the
// low-level contender land as exactly n records, each partition's share in
// one gapless run from offset 0, with the value sent — read back with kgo —
// and the Go consumer contenders count them.
func TestSaramaLowLevelReadBack(t *testing.T) {
	addrs := kafkatest.Brokers(t)
	br := &broker{addrs: addrs}
	const parts, size = 4, 1000
	n := 3*lowBatchRecords(size)*parts + 7 // several requests, uneven shares
	topic := newTopic("ceiling-test")
	if err := createTopic(addrs, topic, parts); err != nil {
		t.Fatal(err)
	}
	defer deleteTopic(addrs, topic)
	value := byteData(size).encoded[0]
	ctx := context.Background()
	if _, err := runSaramaLowLevel(ctx, br, topic, parts, n, value); err != nil {
		t.Fatal(err)
	}
	if got, err := endOffsets(addrs, topic, parts); err != nil || got != int64(n) {
		t.Fatalf("end offsets add up to %d (%v), want %d", got, err, n)
	}
	offs := map[int32]kgo.Offset{}
	for p := range int32(parts) {
		offs[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := make([]int64, parts)
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for got := 0; got < n; {
		fs := cl.PollFetches(pctx)
		if err := pctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, n, err)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			if !bytes.Equal(r.Value, value) {
				t.Fatalf("partition %d offset %d: value differs", r.Partition, r.Offset)
			}
			next[r.Partition]++
			got++
		})
	}
	for p, k := range splitRecords(n, parts) {
		if next[p] != int64(k) {
			t.Errorf("partition %d holds %d records, want %d", p, next[p], k)
		}
	}
	if _, err := runSaramaPartitionConsumers(ctx, br, topic, parts, n); err != nil {
		t.Errorf("sarama partition consumers: %v", err)
	}
	if _, err := runKgoConsumer(ctx, br, topic, parts, n, false); err != nil {
		t.Errorf("kgo direct consumer: %v", err)
	}
}
