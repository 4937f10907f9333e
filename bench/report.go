package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Figures.
const (
	figRecordsPerSec      = "records/s"
	figSteadyRate         = "records/s after the first record"
	figMBPerSec           = "MB/s (values)"
	figCPUPerRecord       = "CPU µs/record (harness process)"
	figBrokerCPUPerRecord = "broker CPU µs/record"
	figAllocsPerRecord    = "heap allocs/record (process)"
	figTTFR               = "time to first record (ms)"
	figFirstMs            = "ms to first record"
	figWall               = "start to last record (s)"
	figRSS                = "peak RSS (MiB)"
	figCPU                = "CPU time to last record (s)"
	figSteadyCPU          = "CPU µs/record after the first record"
	figBrokerCPU          = "broker CPU time, start to last record (s)"
	figTxnsPerSec         = "transactions/s"
	figRecordsPerTxn      = "records/transaction"
)

// figure formats.
var figFormat = map[string]string{
	figSteadyRate:         "%.0f",
	figCPUPerRecord:       "%.2f",
	figBrokerCPUPerRecord: "%.2f",
	figBrokerCPU:          "%.2f",
	figSteadyCPU:          "%.2f",
	figRecordsPerSec:      "%.0f",
	figMBPerSec:           "%.1f",
	figAllocsPerRecord:    "%.2f",
	figTTFR:               "%.0f",
	figFirstMs:            "%.1f",
	figWall:               "%.2f",
	figRSS:                "%.1f",
	figCPU:                "%.2f",
	figTxnsPerSec:         "%.1f",
	figRecordsPerTxn:      "%.0f",
}

// inProcessFigures are the figures of the source, source-json, sink and
// sink-json tests.
var inProcessFigures = []string{figRecordsPerSec, figSteadyRate, figFirstMs, figMBPerSec, figCPUPerRecord, figBrokerCPUPerRecord, figAllocsPerRecord}

// pairedNote explains the in-process tests' headline ratios.
const pairedNote = "Ratios: the median over the repetitions of the ratio of the two contenders' runs in the same repetition " +
	"(they run back to back, the order alternating), with the ratio of the medians given for comparison. " +
	"\"records/s after the first record\" counts from the first record acknowledged (source) or handed to the " +
	"handler or task (sink) to the last; \"ms to first record\" is the time from the start (client or pipeline " +
	"creation) to it (Sluice's source pipeline: seen in its status, polled every millisecond)."

type testInfo struct {
	id, title  string
	contenders []string
	// baselineFor maps a contender to the one it is compared with.
	baselineFor map[string]string
	// extraPairs are further comparisons (numerator, denominator) the
	// report gives after those of baselineFor.
	extraPairs [][2]string
	figures    []string
	notes      []string
	// paired: the contenders' ratios are also given per repetition (see
	// pairedRatio).
	paired bool
	// pairedHeadline: the ratio given first is the median of the
	// repetitions' ratios (pairedRatio), the ratio of the medians second,
	// with the steady rates' ratio, the times to first record and the CPU
	// and allocations per record of both contenders.
	pairedHeadline bool
}

// pairs are the comparisons (numerator, denominator) of t: baselineFor in
// the contenders' order, then extraPairs.
func (t testInfo) pairs() [][2]string {
	var out [][2]string
	for _, c := range t.contenders {
		if b, ok := t.baselineFor[c]; ok {
			out = append(out, [2]string{c, b})
		}
	}
	return append(out, t.extraPairs...)
}

type facts struct {
	cpu, mem, kernel, goVersion, javaVersion string
	cores                                    int
	broker                                   *broker
	connectVersion                           string
	loadStart, loadEnd                       string
}

type report struct {
	opts    options
	facts   facts
	tests   []testInfo
	samples map[string]map[string]map[string][]float64 // test → contender → figure
	elapsed time.Duration
}

func (r *report) addTest(t testInfo) {
	r.tests = append(r.tests, t)
}

func (r *report) add(test, contender, fig string, v float64) {
	if r.samples == nil {
		r.samples = map[string]map[string]map[string][]float64{}
	}
	if r.samples[test] == nil {
		r.samples[test] = map[string]map[string][]float64{}
	}
	if r.samples[test][contender] == nil {
		r.samples[test][contender] = map[string][]float64{}
	}
	r.samples[test][contender][fig] = append(r.samples[test][contender][fig], v)
}

func (r *report) addInProcess(test, c string, n int, s inSample) {
	sec := s.elapsed.Seconds()
	r.add(test, c, figRecordsPerSec, float64(n)/sec)
	r.add(test, c, figMBPerSec, float64(s.bytes)/1e6/sec)
	r.add(test, c, figAllocsPerRecord, float64(s.allocs)/float64(n))
	r.add(test, c, figCPUPerRecord, float64(s.cpu.Microseconds())/float64(n))
	if s.brokerCPU >= 0 {
		r.add(test, c, figBrokerCPUPerRecord, float64(s.brokerCPU.Microseconds())/float64(n))
	}
	if s.txns > 0 {
		r.add(test, c, figTxnsPerSec, float64(s.txns)/sec)
		r.add(test, c, figRecordsPerTxn, float64(n)/float64(s.txns))
	}
	if s.first > 0 {
		// A run whose steady rate is undefined records NaN, so that the
		// repetitions of every contender stay aligned for pairedRatio.
		r.add(test, c, figFirstMs, float64(s.first)/float64(time.Millisecond))
		v, ok := steadyRate(int64(n), s.firstCnt, s.first, s.elapsed)
		if !ok {
			v = math.NaN()
		}
		r.add(test, c, figSteadyRate, v)
	}
}

// steadyRate is the records/s after the first record: the n-firstCnt
// records done after first (firstCnt of them were done at first) over the
// time from first to elapsed. It is undefined (false) when no record or no
// time is left after first.
func steadyRate(n, firstCnt int64, first, elapsed time.Duration) (float64, bool) {
	if n <= firstCnt || elapsed <= first || first < 0 {
		return 0, false
	}
	return float64(n-firstCnt) / (elapsed - first).Seconds(), true
}

// finite is v without its NaNs (a run whose figure is undefined).
func finite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// medianOf is the median of v's numbers (NaNs ignored); false if none.
func medianOf(v []float64) (float64, bool) {
	v = finite(v)
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// pairedMedian is the median of x[i]/y[i] over the repetitions i; a
// repetition where either is NaN (undefined) is left out, one where y[i]
// is 0 makes the whole undefined, as do lengths that differ (the samples
// would not be pairs).
func pairedMedian(x, y []float64) (float64, bool) {
	if len(x) == 0 || len(x) != len(y) {
		return 0, false
	}
	q := make([]float64, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		if y[i] == 0 {
			return 0, false
		}
		q = append(q, x[i]/y[i])
	}
	return medianOf(q)
}

func (r *report) median(test, c, fig string) (float64, bool) {
	return medianOf(r.samples[test][c][fig])
}

// ratio is median(a)/median(b) for one figure of one test.
func (r *report) ratio(test, fig, a, b string) (float64, bool) {
	x, ok1 := r.median(test, a, fig)
	y, ok2 := r.median(test, b, fig)
	if !ok1 || !ok2 || y == 0 {
		return 0, false
	}
	return x / y, true
}

// netOfHeader is the median over repetitions of Sluice's observed/bare
// records/s ratio divided by the bare producer's with-header/without ratio
// in the same repetition: the observed pipeline's speed relative to the
// bare one, net of what the traceparent header itself costs (its bytes on
// the wire and at the broker), which a bare producer carrying the same
// header pays too.
func (r *report) netOfHeader(test string) (float64, bool) {
	fig := figRecordsPerSec
	obs, bare := r.samples[test][cRunnerObserved][fig], r.samples[test][cRunner][fig]
	tp, plain := r.samples[test][cSaramaTraceparent][fig], r.samples[test][cSarama][fig]
	n := len(obs)
	if n == 0 || len(bare) != n || len(tp) != n || len(plain) != n {
		return 0, false
	}
	q := make([]float64, 0, n)
	for i := range n {
		if bare[i] == 0 || plain[i] == 0 || tp[i] == 0 {
			return 0, false
		}
		q = append(q, (obs[i]/bare[i])/(tp[i]/plain[i]))
	}
	slices.Sort(q)
	if n%2 == 1 {
		return q[n/2], true
	}
	return (q[n/2-1] + q[n/2]) / 2, true
}

// pairedRatio is the median over repetitions of a's figure over b's in the
// same repetition (the contenders run back to back, so each pair saw the
// same machine load); it needs as many samples of a as of b.
func (r *report) pairedRatio(test, fig, a, b string) (float64, bool) {
	return pairedMedian(r.samples[test][a][fig], r.samples[test][b][fig])
}

func (r *report) print(w io.Writer) {
	o := r.opts
	fmt.Fprintf(w, "# Sluice benchmark\n\n")
	fmt.Fprintf(w, "Command: `go run ./bench%s`", argsString())
	if o.quick {
		fmt.Fprintf(w, " (quick: small volumes; figures are indicative only)")
	}
	fmt.Fprintf(w, ". Each contender ran %d times per test (after one unrecorded warm-up run for the in-process tests), interleaved with the others, rotating which goes first. Figures: median, min, max over the runs.\n\n", o.reps)

	f := r.facts
	fmt.Fprintf(w, "## Machine\n\n")
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| CPU | %s, %d cores (GOMAXPROCS %d) |\n", f.cpu, f.cores, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "| Memory | %s |\n", f.mem)
	fmt.Fprintf(w, "| Kernel | Linux %s |\n", f.kernel)
	fmt.Fprintf(w, "| Go | %s |\n", f.goVersion)
	fmt.Fprintf(w, "| Java | %s |\n", f.javaVersion)
	fmt.Fprintf(w, "| Broker | %s, %s, at %s |\n", f.broker.version, f.broker.how, strings.Join(f.broker.addrs, ","))
	if f.connectVersion != "" {
		fmt.Fprintf(w, "| Kafka Connect | %s (connect-runtime, connect-file, connect-json from Maven Central), JVM options `%s` |\n", f.connectVersion, o.connectJVM)
		fmt.Fprintf(w, "| Sluice process (Kafka Connect comparison) | %s |\n", workerDesc(o.worker))
	}
	fmt.Fprintf(w, "| Load average (1, 5, 15 min) | %s at start, %s at end (the machine may be shared) |\n", f.loadStart, f.loadEnd)
	fmt.Fprintf(w, "| Duration | %.0f s |\n\n", r.elapsed.Seconds())

	fmt.Fprintf(w, "## Results\n")
	for _, t := range r.tests {
		fmt.Fprintf(w, "\n### %s\n\n", t.title)
		for _, n := range t.notes {
			fmt.Fprintf(w, "%s\n\n", n)
		}
		fmt.Fprintf(w, "| figure | contender | median | min | max |\n|---|---|---:|---:|---:|\n")
		for _, fig := range t.figures {
			for _, c := range t.contenders {
				v := finite(r.samples[t.id][c][fig])
				if len(v) == 0 {
					continue
				}
				med, _ := r.median(t.id, c, fig)
				ff := figFormat[fig]
				fmt.Fprintf(w, "| %s | %s | "+ff+" | "+ff+" | "+ff+" |\n", fig, c, med, slices.Min(v), slices.Max(v))
			}
		}
		for _, p := range t.pairs() {
			c, b := p[0], p[1]
			if t.pairedHeadline {
				r.printPaired(w, t.id, c, b)
				continue
			}
			if x, ok := r.ratio(t.id, figRecordsPerSec, c, b); ok {
				fmt.Fprintf(w, "\n%s / %s, median records/s: **%.2f×**", c, b, x)
			}
			if t.paired {
				if x, ok := r.pairedRatio(t.id, figRecordsPerSec, c, b); ok {
					fmt.Fprintf(w, "; median of the repetitions' ratios: **%.2f×**", x)
				}
				if x, ok := r.pairedRatio(t.id, figCPUPerRecord, c, b); ok {
					fmt.Fprintf(w, "; CPU µs/record, median of the repetitions' ratios: **%.2f×**", x)
				}
			}
			if x, ok := r.ratio(t.id, figSteadyRate, c, b); ok {
				fmt.Fprintf(w, "; after the first record: **%.2f×**", x)
			}
			if x, ok := r.ratio(t.id, figRSS, b, c); ok {
				fmt.Fprintf(w, "; %s / %s, median peak RSS: **%.1f×**", b, c, x)
			}
			if x, ok := r.ratio(t.id, figTTFR, b, c); ok {
				fmt.Fprintf(w, "; %s / %s, median time to first record: **%.1f×**", b, c, x)
			}
			if x, ok := r.ratio(t.id, figCPU, b, c); ok {
				fmt.Fprintf(w, "; %s / %s, median CPU time: **%.1f×**", b, c, x)
			}
			fmt.Fprintf(w, "%s\n", r.perRecordText(t.id, c, b))
		}
	}

	// Headline ratios.
	var lines []ratioLine
	addRatio := func(name string, v float64, ok bool, refs ...ratioRef) {
		lines = append(lines, ratioLine{name, v, ok, refs})
	}
	// addPaired adds name, the median of the per-repetition records/s
	// ratios of a over b in test, and name_of_medians, name_steady.
	addPaired := func(name, test, a, b string) {
		ref := ratioRef{test, a, b}
		v, ok := r.pairedRatio(test, figRecordsPerSec, a, b)
		addRatio(name, v, ok, ref)
		v, ok = r.ratio(test, figRecordsPerSec, a, b)
		addRatio(name+"_of_medians", v, ok, ref)
		v, ok = r.pairedRatio(test, figSteadyRate, a, b)
		addRatio(name+"_steady", v, ok, ref)
	}
	minOf := func(a float64, aok bool, b float64, bok bool) (float64, bool) {
		switch {
		case aok && bok:
			return math.Min(a, b), true
		case aok:
			return a, true
		default:
			return b, bok
		}
	}
	var v float64
	var ok bool
	// source_vs_sarama, sink_vs_sarama, source_json_vs_sarama,
	// sink_json_vs_sarama: medians of the per-repetition ratios (before
	// issue #21 they were ratios of medians, now name_of_medians).
	addPaired("source_vs_sarama", "source", cSluice, cSarama)
	addPaired("sink_vs_sarama", "sink", cSluice, cSarama)
	srcKC, snkKC := ratioRef{"connect-source", cSluice, cKafkaConnect}, ratioRef{"connect-sink", cSluice, cKafkaConnect}
	kcSrc, kcSnk := ratioRef{"connect-source", cKafkaConnect, cSluice}, ratioRef{"connect-sink", cKafkaConnect, cSluice}
	v, ok = r.ratio("connect-source", figRecordsPerSec, cSluice, cKafkaConnect)
	addRatio("source_vs_kafka_connect", v, ok, srcKC)
	v, ok = r.ratio("connect-sink", figRecordsPerSec, cSluice, cKafkaConnect)
	addRatio("sink_vs_kafka_connect", v, ok, snkKC)
	rs, rsok := r.ratio("connect-source", figRSS, cKafkaConnect, cSluice)
	rk, rkok := r.ratio("connect-sink", figRSS, cKafkaConnect, cSluice)
	v, ok = minOf(rs, rsok, rk, rkok)
	addRatio("rss_kafka_connect_over_sluice", v, ok, kcSrc, kcSnk)
	fs, fsok := r.ratio("connect-source", figTTFR, cKafkaConnect, cSluice)
	fk, fkok := r.ratio("connect-sink", figTTFR, cKafkaConnect, cSluice)
	v, ok = minOf(fs, fsok, fk, fkok)
	addRatio("first_record_kafka_connect_over_sluice", v, ok, kcSrc, kcSnk)
	obsSrc, obsSrcJSON := ratioRef{"observed-source", cRunnerObserved, cRunner}, ratioRef{"observed-source-json", cRunnerObserved, cRunner}
	tpSrc, tpSrcJSON := ratioRef{"observed-source", cSaramaTraceparent, cSarama}, ratioRef{"observed-source-json", cSaramaTraceparent, cSarama}
	v, ok = r.pairedRatio("observed-source", figRecordsPerSec, cRunnerObserved, cRunner)
	addRatio("source_observed_vs_bare", v, ok, obsSrc)
	v, ok = r.pairedRatio("observed-source-json", figRecordsPerSec, cRunnerObserved, cRunner)
	addRatio("source_json_observed_vs_bare", v, ok, obsSrcJSON)
	v, ok = r.pairedRatio("observed-source", figRecordsPerSec, cSaramaTraceparent, cSarama)
	addRatio("sarama_traceparent_vs_bare", v, ok, tpSrc)
	v, ok = r.pairedRatio("observed-source-json", figRecordsPerSec, cSaramaTraceparent, cSarama)
	addRatio("sarama_traceparent_vs_bare_json", v, ok, tpSrcJSON)
	v, ok = r.netOfHeader("observed-source")
	addRatio("source_observed_vs_bare_net_of_header", v, ok, obsSrc, tpSrc)
	v, ok = r.netOfHeader("observed-source-json")
	addRatio("source_json_observed_vs_bare_net_of_header", v, ok, obsSrcJSON, tpSrcJSON)
	obsSnk := ratioRef{"observed-sink", cRunnerObserved, cRunner}
	v, ok = r.pairedRatio("observed-sink", figRecordsPerSec, cRunnerObserved, cRunner)
	addRatio("sink_observed_vs_bare", v, ok, obsSnk)
	eos := ratioRef{"source-eos", cSluiceEOS, cSluice}
	v, ok = r.ratio("source-eos", figRecordsPerSec, cSluiceEOS, cSluice)
	addRatio("source_eos_vs_at_least_once", v, ok, eos)
	// Details behind the headlines.
	addPaired("source_json_vs_sarama", "source-json", cSluice, cSaramaJSON)
	addPaired("source_json_vs_sarama_preencoded", "source-json", cSluice, cSaramaPreencoded)
	addPaired("source_ring_offsets_vs_sarama", "source", cSluiceRingOffsets, cSarama)
	addPaired("source_sarama_producer_vs_sarama", "source", cSluiceSaramaProducer, cSarama)
	addPaired("sink_json_vs_sarama", "sink-json", cSluice, cSaramaJSON)
	addPaired("sink_json_vs_sarama_no_decode", "sink-json", cSluice, cSaramaNoDecode)
	v, ok = r.pairedRatio("source-eos", figRecordsPerSec, cSluiceEOS, cSluice)
	addRatio("source_eos_vs_at_least_once_paired", v, ok, eos)
	v, ok = r.pairedRatio("source-eos", figCPUPerRecord, cSluiceEOS, cSluice)
	addRatio("source_eos_cpu_per_record_vs_at_least_once_paired", v, ok, eos)
	v, ok = r.ratio("source-eos", figRecordsPerSec, cSluiceEOSInterval, cSluice)
	addRatio("source_eos_interval_20ms_vs_at_least_once", v, ok, ratioRef{"source-eos", cSluiceEOSInterval, cSluice})
	eosSame := ratioRef{"source-eos", cSluiceEOS, cSluiceALOSarama}
	v, ok = r.ratio("source-eos", figRecordsPerSec, cSluiceEOS, cSluiceALOSarama)
	addRatio("source_eos_vs_at_least_once_same_producer", v, ok, eosSame)
	addPaired("sink_max_buffered_10m_vs_sarama", "sink", cSluiceBigBuf, cSarama)
	v, ok = r.ratio("connect-source", figSteadyRate, cSluice, cKafkaConnect)
	addRatio("source_vs_kafka_connect_steady", v, ok, srcKC)
	v, ok = r.ratio("connect-sink", figSteadyRate, cSluice, cKafkaConnect)
	addRatio("sink_vs_kafka_connect_steady", v, ok, snkKC)
	addRatio("rss_kafka_connect_over_sluice_source", rs, rsok, kcSrc)
	addRatio("rss_kafka_connect_over_sluice_sink", rk, rkok, kcSnk)
	addRatio("first_record_kafka_connect_over_sluice_source", fs, fsok, kcSrc)
	addRatio("first_record_kafka_connect_over_sluice_sink", fk, fkok, kcSnk)
	cs, csok := r.ratio("connect-source", figCPU, cKafkaConnect, cSluice)
	addRatio("cpu_kafka_connect_over_sluice_source", cs, csok, kcSrc)
	ck, ckok := r.ratio("connect-sink", figCPU, cKafkaConnect, cSluice)
	addRatio("cpu_kafka_connect_over_sluice_sink", ck, ckok, kcSnk)
	v, ok = r.ratio("connect-source", figSteadyCPU, cKafkaConnect, cSluice)
	addRatio("cpu_per_record_steady_kafka_connect_over_sluice_source", v, ok, kcSrc)
	v, ok = r.ratio("connect-sink", figSteadyCPU, cKafkaConnect, cSluice)
	addRatio("cpu_per_record_steady_kafka_connect_over_sluice_sink", v, ok, kcSnk)

	for _, t := range []string{"cluster-source", "cluster-sink"} {
		v, ok = r.ratio(t, figRecordsPerSec, cMembers2, cMembers1)
		addRatio(strings.ReplaceAll(t, "-", "_")+"_2_vs_1_members", v, ok, ratioRef{t, cMembers2, cMembers1})
		v, ok = r.ratio(t, figRecordsPerSec, cMembers3, cMembers1)
		addRatio(strings.ReplaceAll(t, "-", "_")+"_3_vs_1_members", v, ok, ratioRef{t, cMembers3, cMembers1})
	}

	get := func(name string) (float64, bool) {
		for _, l := range lines {
			if l.name == name {
				return l.v, l.ok
			}
		}
		return 0, false
	}
	fmt.Fprintf(w, "\n## Targets (DESIGN.md §6, issues #8, #18)\n\n| target | measured | |\n|---|---:|---|\n")
	target := func(desc, name string, min float64) {
		v, ok := get(name)
		if !ok {
			fmt.Fprintf(w, "| %s | not run | |\n", desc)
			return
		}
		status := "met"
		if v < min {
			status = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %.2f | %s |\n", desc, v, status)
	}
	target("source path ≥ 0.9× bare sarama AsyncProducer (records/s, median of paired repetitions)", "source_vs_sarama", 0.9)
	target("sink path ≥ 0.9× bare sarama consumer group (records/s, median of paired repetitions)", "sink_vs_sarama", 0.9)
	target("FileStream source ≥ 2× Kafka Connect's records/s (ratio of medians; whole job: process start to last record)", "source_vs_kafka_connect", 2)
	target("FileStream sink ≥ 2× Kafka Connect's records/s (ratio of medians; whole job: process start to last record)", "sink_vs_kafka_connect", 2)
	target("FileStream source ≥ 2× Kafka Connect's steady records/s (first to last record)", "source_vs_kafka_connect_steady", 2)
	target("FileStream sink ≥ 2× Kafka Connect's steady records/s (first to last record)", "sink_vs_kafka_connect_steady", 2)
	target("Kafka Connect's peak RSS ≥ 10× Sluice's (worse of source, sink)", "rss_kafka_connect_over_sluice", 10)
	target("Kafka Connect's time to first record ≥ 10× Sluice's (worse of source, sink)", "first_record_kafka_connect_over_sluice", 10)
	target("source path with metrics + tracing (no exporter) ≥ 0.95× without, net of the traceparent header's own cost (a bare sarama producer with vs without the same header; records/s, median of paired repetitions; issues #8, #16), byte records", "source_observed_vs_bare_net_of_header", 0.95)
	target("source path with metrics + tracing (no exporter) ≥ 0.95× without, net of the traceparent header's own cost (as above), JSON records", "source_json_observed_vs_bare_net_of_header", 0.95)
	target("sink path with metrics + tracing (no exporter) ≥ 0.95× without (records/s, median of paired repetitions; issue #8)", "sink_observed_vs_bare", 0.95)
	target("exactly-once source (transaction.boundary=poll, batches of 2000) ≥ 0.8× at-least-once (records/s; issue #18)", "source_eos_vs_at_least_once", 0.8)
	target("exactly-once source ≥ 0.8× at-least-once on the same client, sarama's producer (records/s; issue #18's bound on the transactions' own cost)", "source_eos_vs_at_least_once_same_producer", 0.8)
	target("source path ≥ 0.95× bare sarama AsyncProducer (issue #21)", "source_vs_sarama", 0.95)
	target("source-json path ≥ 0.95× bare sarama AsyncProducer + JsonConverter (issue #21)", "source_json_vs_sarama", 0.95)
	target("sink path ≥ 0.95× bare sarama consumer group (issue #21)", "sink_vs_sarama", 0.95)
	target("sink-json path ≥ 0.95× bare sarama consumer group + JsonConverter (issue #21)", "sink_json_vs_sarama", 0.95)
	fmt.Fprintf(w, "\nThe budget's allocation target (≤ 5 heap allocations per record in the runtime) is measured by the `go test -bench` micro-benchmarks (see BENCHMARKS.md); the allocs/record above count the whole process, sarama included.\n")

	fmt.Fprintf(w, "\n## Ratios (machine-readable)\n\n```\n")
	for _, l := range lines {
		if l.ok {
			fmt.Fprintf(w, "ratio: %s %.3f\n", l.name, l.v)
		} else {
			fmt.Fprintf(w, "ratio: %s n/a\n", l.name)
		}
		for _, ref := range l.refs {
			if d, ok := r.detailLine(l.name, ref); ok {
				fmt.Fprintln(w, d)
			}
		}
	}
	fmt.Fprintf(w, "```\n")
}

// ratioLine is one machine-readable ratio and the comparisons it is made
// of (each gets a detail line).
type ratioLine struct {
	name string
	v    float64
	ok   bool
	refs []ratioRef
}

// ratioRef is one comparison: contender a over contender b in test.
type ratioRef struct{ test, a, b string }

// detailFigures are the per-record figures a detail line gives, with
// their keys.
var detailFigures = []struct{ fig, key string }{
	{figCPUPerRecord, "cpu_us_per_record"},
	{figAllocsPerRecord, "allocs_per_record"},
	{figSteadyCPU, "cpu_us_per_record_steady"},
}

// detailLine is the machine-readable line that goes under ratio name:
//
//	detail: <name> test=<test> contenders="<a>"/"<b>" cpu_us_per_record=<a>/<b> allocs_per_record=<a>/<b>
//
// with the medians of a and b (n/a for a contender without the figure),
// each key only when the test has the figure for one of them at least
// (cpu_us_per_record_steady instead for the Kafka Connect comparison). It
// is false when the test did not run or has none of the figures.
func (r *report) detailLine(name string, ref ratioRef) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "detail: %s test=%s contenders=%q/%q", name, ref.test, ref.a, ref.b)
	found := false
	for _, f := range detailFigures {
		x, xok := r.median(ref.test, ref.a, f.fig)
		y, yok := r.median(ref.test, ref.b, f.fig)
		if !xok && !yok {
			continue
		}
		found = true
		fmt.Fprintf(&b, " %s=%s/%s", f.key, fmtOr(x, xok), fmtOr(y, yok))
	}
	return b.String(), found
}

func fmtOr(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// perRecordText is the markdown sentence's tail with the CPU µs and heap
// allocations per record of a and b (medians), or "" if the test has
// neither figure.
func (r *report) perRecordText(test, a, b string) string {
	var parts []string
	for _, f := range []struct{ fig, what string }{
		{figCPUPerRecord, "CPU µs/record"},
		{figAllocsPerRecord, "heap allocs/record"},
		{figSteadyCPU, "CPU µs/record after the first record"},
	} {
		x, xok := r.median(test, a, f.fig)
		y, yok := r.median(test, b, f.fig)
		if xok || yok {
			parts = append(parts, fmt.Sprintf("%s %s vs %s", f.what, fmtOr(x, xok), fmtOr(y, yok)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s (medians, %s vs %s)", strings.Join(parts, ", "), a, b)
}

// printPaired prints the comparison of a with b of an in-process test
// whose headline is the median of the repetitions' ratios.
func (r *report) printPaired(w io.Writer, test, a, b string) {
	fmt.Fprintf(w, "\n%s / %s, records/s: ", a, b)
	if x, ok := r.pairedRatio(test, figRecordsPerSec, a, b); ok {
		fmt.Fprintf(w, "**%.2f×** (median of the repetitions' ratios)", x)
	} else {
		fmt.Fprintf(w, "n/a")
	}
	if x, ok := r.ratio(test, figRecordsPerSec, a, b); ok {
		fmt.Fprintf(w, ", ratio of the medians %.2f×", x)
	}
	if x, ok := r.pairedRatio(test, figSteadyRate, a, b); ok {
		fmt.Fprintf(w, "; after the first record: **%.2f×** (median of the repetitions' ratios)", x)
	}
	x, xok := r.median(test, a, figFirstMs)
	y, yok := r.median(test, b, figFirstMs)
	if xok || yok {
		fmt.Fprintf(w, "; ms to first record %s vs %s", fmtOr1(x, xok), fmtOr1(y, yok))
	}
	fmt.Fprintf(w, "%s\n", r.perRecordText(test, a, b))
}

func fmtOr1(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

func argsString() string {
	var b strings.Builder
	for _, a := range os.Args[1:] {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	return b.String()
}

func machineFacts(br *broker, kc *kafkaConnect) facts {
	f := facts{cores: runtime.NumCPU(), goVersion: runtime.Version(), broker: br, cpu: "unknown", mem: "unknown", kernel: "unknown", javaVersion: "not used"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				f.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				f.mem = fmt.Sprintf("%.1f GiB", float64(parseKB(v))/(1<<20))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		f.javaVersion = strings.Join(lines, "; ")
	}
	if kc != nil {
		f.connectVersion = kc.version
	}
	return f
}
