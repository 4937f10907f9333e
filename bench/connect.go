package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// defaultConnectJVMOpts are the options bin/connect-standalone.sh starts the
// worker with when KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS are unset
// (the heap from connect-standalone.sh, the rest from kafka-run-class.sh).
const defaultConnectJVMOpts = "-Xms256M -Xmx2G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 " +
	"-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"

// offsetFlushInterval is offset.flush.interval.ms for both contenders of the
// Kafka Connect comparison: short, because Sluice's FileStream sink buffers
// its output until the flush before each offset commit (and syncs it), so
// the last lines of a run appear at the next commit; Kafka Connect's writes
// each line straight to the file.
const offsetFlushInterval = "100"

type kafkaConnect struct {
	lib     string
	version string
}

// fetchKafkaConnect fetches Kafka Connect's jars, at the broker's version
// (KAFKA_VERSION, else scripts/kafka/pom.xml's), with Maven into
// bench/kafka-connect/lib, once.
func fetchKafkaConnect(ctx context.Context, repo string) (*kafkaConnect, error) {
	version, err := kafkaVersion(repo)
	if err != nil {
		return nil, err
	}
	lib, err := fetchJars(ctx, repo, "bench/kafka-connect", version, "connect-runtime",
		"Kafka Connect "+version+" (connect-runtime, connect-file, connect-json)")
	if err != nil {
		return nil, err
	}
	return &kafkaConnect{lib: lib, version: "Kafka Connect " + version}, nil
}

// fetchKafkaTools fetches Kafka's performance tools (kafka-tools:
// ProducerPerformance, ConsumerPerformance) at the broker's version into
// bench/kafka-tools/lib, apart from Kafka Connect's classpath, for the
// ceiling test.
func fetchKafkaTools(ctx context.Context, repo string) (*kafkaConnect, error) {
	version, err := kafkaVersion(repo)
	if err != nil {
		return nil, err
	}
	lib, err := fetchJars(ctx, repo, "bench/kafka-tools", version, "kafka-tools", "kafka-tools "+version)
	if err != nil {
		return nil, err
	}
	return &kafkaConnect{lib: lib, version: "kafka-tools " + version}, nil
}

// kafkaVersion is KAFKA_VERSION, else scripts/kafka/pom.xml's
// <kafka.version>.
func kafkaVersion(repo string) (string, error) {
	if v := os.Getenv("KAFKA_VERSION"); v != "" {
		return v, nil
	}
	pom, err := os.ReadFile(filepath.Join(repo, "scripts/kafka/pom.xml"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`<kafka.version>([^<]+)</kafka.version>`).FindSubmatch(pom)
	if m == nil {
		return "", errors.New("no <kafka.version> in scripts/kafka/pom.xml")
	}
	return string(m[1]), nil
}

// fetchJars copies the runtime dependencies of <dir>/pom.xml at version
// into <dir>/lib with Maven, once (lib/.kafka-version records the version
// fetched), and returns lib; artifact-<version>.jar must be among them.
func fetchJars(ctx context.Context, repo, dir, version, artifact, what string) (string, error) {
	dir = filepath.Join(repo, dir)
	lib := filepath.Join(dir, "lib")
	if got, _ := os.ReadFile(filepath.Join(lib, ".kafka-version")); strings.TrimSpace(string(got)) == version {
		return lib, nil
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s not found: the Kafka Connect comparison and the ceiling test need Java 17+ and Maven (or run with -only source,source-json,sink)", tool)
		}
	}
	logf("fetching %s from Maven Central into %s", what, lib)
	t0 := time.Now()
	tmp := lib + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"), "dependency:copy-dependencies",
		"-Dkafka.version="+version, "-DincludeScope=runtime", "-DoutputDirectory="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mvn could not fetch %s: %v\n%s", what, err, regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAll(out, nil))
	}
	if _, err := os.Stat(filepath.Join(tmp, artifact+"-"+version+".jar")); err != nil {
		return "", fmt.Errorf("%s-%s.jar missing after the fetch", artifact, version)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".kafka-version"), []byte(version+"\n"), 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(lib)
	if err := os.Rename(tmp, lib); err != nil {
		return "", err
	}
	entries, _ := os.ReadDir(lib)
	logf("fetched %d jars in %.0fs", len(entries)-1, time.Since(t0).Seconds())
	return lib, nil
}

// resolveWorker settles -sluice-worker auto: examples/standalone when the
// repository has it, else bench/sluicefile.
func resolveWorker(o *options, repo string) {
	if o.worker == "auto" {
		o.worker = "sluicefile"
		if _, err := os.Stat(filepath.Join(repo, "examples/standalone/main.go")); err == nil {
			o.worker = "standalone"
		}
	}
}

// workerDesc describes Sluice's process for the report.
func workerDesc(worker string) string {
	if worker == "standalone" {
		return "Sluice's `examples/standalone` (the connect-standalone drop-in: worker, REST API, connectors compiled in)"
	}
	return "Sluice's `bench/sluicefile` (the FileStream connectors in a minimal main)"
}

// buildSluiceWorker builds Sluice's process for the Kafka Connect
// comparison into the work directory: examples/standalone
// (the connect-standalone drop-in: worker, REST API, the connectors compiled
// in) or bench/sluicefile (the FileStream connectors alone). Both take the
// same worker and connector properties files as ConnectStandalone.
func buildSluiceWorker(ctx context.Context, o options, repo, work string) (string, error) {
	pkg := "./bench/sluicefile"
	if o.worker == "standalone" {
		pkg = "./examples/standalone"
	}
	bin := filepath.Join(work, o.worker)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeProps(path string, kv [][2]string) error {
	var b strings.Builder
	for _, p := range kv {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// e2eRun is one contender's run of the Kafka Connect comparison.
type e2eRun struct {
	dir       string
	worker    string
	connector string
}

// prepare writes the worker and connector properties (the same files for
// both contenders) into a fresh directory.
func prepareRun(work, test, contender string, rep int, addrs []string, connector [][2]string) (e2eRun, error) {
	r := e2eRun{dir: filepath.Join(work, fmt.Sprintf("%s-%s-%d", test, strings.ReplaceAll(strings.ToLower(contender), " ", "-"), rep))}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return r, err
	}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	r.worker = filepath.Join(r.dir, "worker.properties")
	r.connector = filepath.Join(r.dir, "connector.properties")
	err = writeProps(r.worker, [][2]string{
		{"bootstrap.servers", strings.Join(addrs, ",")},
		{"key.converter", "org.apache.kafka.connect.storage.StringConverter"},
		{"value.converter", "org.apache.kafka.connect.storage.StringConverter"},
		{"offset.storage.file.filename", filepath.Join(r.dir, "offsets.dat")},
		{"offset.flush.interval.ms", offsetFlushInterval},
		{"listeners", fmt.Sprintf("http://127.0.0.1:%d", port)},
	})
	if err != nil {
		return r, err
	}
	if err := writeProps(r.connector, connector); err != nil {
		return r, err
	}
	log4j := `status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ` + filepath.Join(r.dir, "connect.log") + `
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
`
	return r, os.WriteFile(filepath.Join(r.dir, "log4j2.properties"), []byte(log4j), 0o644)
}

// start starts contender c on the run's files.
func (r e2eRun) start(c string, o options, kc *kafkaConnect, sluiceBin string) (*child, error) {
	if c == cKafkaConnect {
		argv := append([]string{"java"}, strings.Fields(o.connectJVM)...)
		argv = append(argv, "-Dlog4j2.configurationFile="+filepath.Join(r.dir, "log4j2.properties"),
			"-cp", filepath.Join(kc.lib, "*"),
			"org.apache.kafka.connect.cli.ConnectStandalone", r.worker, r.connector)
		return startChild(c, argv, r.dir, nil, filepath.Join(r.dir, "stdout.log"))
	}
	var env []string
	if o.profileDir != "" && o.worker == "sluicefile" {
		env = append(env, "SLUICE_CPUPROFILE="+filepath.Join(o.profileDir, filepath.Base(r.dir)+".pprof"))
	}
	return startChild(c, []string{sluiceBin, r.worker, r.connector}, r.dir, env, filepath.Join(r.dir, "stdout.log"))
}

// e2eSample is one measured process.
type e2eSample struct {
	n         int64
	ttfr      time.Duration // start → first record
	wall      time.Duration // start → last record
	steady    float64       // records/s from the first to the last record
	stats     procStats     // at the last record
	cpuFirst  time.Duration // the process's CPU time at the first record
	firstCnt  int64
	brokerCPU time.Duration // -1: unknown
}

func (s e2eSample) rate() float64 { return float64(s.n) / s.wall.Seconds() }

func (s e2eSample) record(rep *report, test, c string) {
	rep.add(test, c, figRecordsPerSec, s.rate())
	rep.add(test, c, figSteadyRate, s.steady)
	rep.add(test, c, figTTFR, float64(s.ttfr)/float64(time.Millisecond))
	rep.add(test, c, figWall, s.wall.Seconds())
	rep.add(test, c, figRSS, float64(s.stats.hwmKB)/1024)
	rep.add(test, c, figCPU, s.stats.cpu.Seconds())
	if s.n > s.firstCnt {
		rep.add(test, c, figSteadyCPU, float64((s.stats.cpu-s.cpuFirst).Microseconds())/float64(s.n-s.firstCnt))
	}
	if s.brokerCPU >= 0 {
		rep.add(test, c, figBrokerCPU, s.brokerCPU.Seconds())
	}
}

// watch polls progress() every interval until it reports total, measuring
// the process ch: first record, last record, and its /proc figures at the
// last record.
func watch(ctx context.Context, br *broker, ch *child, total int64, interval time.Duration, progress func() (int64, error)) (e2eSample, error) {
	s := e2eSample{n: total, brokerCPU: -1}
	broker0 := brokerCPU(br.pid)
	var tFirst, errSince time.Time
	deadline := time.Now().Add(2*time.Minute + time.Duration(total)*200*time.Microsecond)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-ch.done:
			return s, ch.failure()
		case <-tick.C:
		}
		n, err := progress()
		now := time.Now()
		if err != nil {
			// Transient (a leader moving on a fresh broker, a stale
			// metadata cache): retried for a while.
			if errSince.IsZero() {
				errSince = now
			}
			if now.Sub(errSince) > 15*time.Second {
				return s, fmt.Errorf("watching progress: %w", err)
			}
			continue
		}
		errSince = time.Time{}
		if n > 0 && tFirst.IsZero() {
			tFirst, s.firstCnt = now, n
			s.ttfr = now.Sub(ch.started)
			if st, err := readProcStats(ch.pid()); err == nil {
				s.cpuFirst = st.cpu
			}
		}
		if n >= total {
			s.stats, err = readProcStats(ch.pid())
			if err != nil {
				return s, fmt.Errorf("reading /proc of %s: %w", ch.name, err)
			}
			if br.pid > 0 {
				s.brokerCPU = brokerCPU(br.pid) - broker0
			}
			s.wall = now.Sub(ch.started)
			if d := now.Sub(tFirst); d > 0 && total > s.firstCnt {
				s.steady = float64(total-s.firstCnt) / d.Seconds()
			} else {
				s.steady = float64(total) / s.wall.Seconds()
			}
			if n > total {
				return s, fmt.Errorf("%s delivered %d records, want %d", ch.name, n, total)
			}
			return s, nil
		}
		if now.After(deadline) {
			return s, fmt.Errorf("%s timed out after %d of %d records; last lines of %s:\n%s", ch.name, n, total, ch.logPath, tail(ch.logPath, 20))
		}
	}
}

// line returns the i-th line of the comparison's data: size bytes, no
// terminator.
func line(i, size int) []byte {
	b := make([]byte, size)
	head := fmt.Sprintf("%010d ", i)
	for j := range b {
		if j < len(head) {
			b[j] = head[j]
		} else {
			b[j] = 'a' + byte(j%26)
		}
	}
	return b
}

const connectNote = "Each contender is a process of its own started for the run: Kafka Connect's `ConnectStandalone` (JVM) " +
	"and %s, given the same worker and connector properties files " +
	"(StringConverter for keys and values, `offset.flush.interval.ms=" + offsetFlushInterval + "`, the connectors' default " +
	"`batch.size` 2000 and `max.poll.records` 500). Time to first record counts from process start; records/s is all the records over the time from process start " +
	"to the last record (the whole job, startup included), \"records/s after the first record\" the steady rate from the first record seen to the last; CPU time and peak RSS (VmHWM) are read from /proc when the last record is seen."

// benchConnectSource compares FileStreamSource: a file of L lines into a
// fresh one-partition topic; progress is the topic's end offset.
func benchConnectSource(ctx context.Context, o options, br *broker, kc *kafkaConnect, sluiceBin, work string, rep *report) error {
	const test = "connect-source"
	rep.addTest(testInfo{
		id:          test,
		title:       fmt.Sprintf("FileStreamSource vs Kafka Connect: a file of %d lines of %d B into a 1-partition topic", o.lines, o.size),
		contenders:  []string{cKafkaConnect, cSluice},
		baselineFor: map[string]string{cSluice: cKafkaConnect},
		figures:     []string{figRecordsPerSec, figSteadyRate, figTTFR, figWall, figRSS, figCPU, figSteadyCPU, figBrokerCPU},
		notes:       []string{fmt.Sprintf(connectNote, workerDesc(o.worker)) + " A record counts as delivered when the topic's end offset covers it."},
	})
	input := filepath.Join(work, "input.txt")
	if err := writeLines(input, o.lines, o.size); err != nil {
		return err
	}
	client, err := sarama.NewClient(br.addrs, saramaConfig("sluice-bench-watch"))
	if err != nil {
		return err
	}
	defer client.Close()
	reps := map[string]int{}
	one := func(c, label string) error {
		reps[c]++
		topic := newTopic("fs-source")
		if err := createTopic(br.addrs, topic, 1); err != nil {
			return err
		}
		defer deleteTopic(br.addrs, topic)
		if err := client.RefreshMetadata(topic); err != nil {
			return err
		}
		r, err := prepareRun(work, test, c, reps[c], br.addrs, [][2]string{
			{"name", "bench-fs-source-" + topic},
			{"connector.class", "org.apache.kafka.connect.file.FileStreamSourceConnector"},
			{"tasks.max", "1"},
			{"file", input},
			{"topic", topic},
			{"batch.size", "2000"},
		})
		if err != nil {
			return err
		}
		ch, err := r.start(c, o, kc, sluiceBin)
		if err != nil {
			return err
		}
		defer ch.stop(15 * time.Second)
		s, err := watch(ctx, br, ch, int64(o.lines), 2*time.Millisecond, func() (int64, error) {
			off, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
			if err != nil {
				client.RefreshMetadata(topic)
			}
			return off, err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		s.record(rep, test, c)
		logf("%s %s %s: first record after %.0f ms, %d lines in %.2fs (%.0f records/s; %.0f after the first), peak RSS %.0f MiB, CPU %.2fs",
			test, label, c, float64(s.ttfr)/1e6, o.lines, s.wall.Seconds(), s.rate(), s.steady, float64(s.stats.hwmKB)/1024, s.stats.cpu.Seconds())
		return nil
	}
	// Processes start cold, as they do in production: no warm-up.
	return repeat(o, []string{cKafkaConnect, cSluice}, one)
}

// benchConnectSink compares FileStreamSink: a topic of L records into a new
// file; progress is the file's size (every line is size+1 bytes).
func benchConnectSink(ctx context.Context, o options, br *broker, kc *kafkaConnect, sluiceBin, work string, rep *report) error {
	const test = "connect-sink"
	rep.addTest(testInfo{
		id:          test,
		title:       fmt.Sprintf("FileStreamSink vs Kafka Connect: a 1-partition topic of %d records of %d B into a file", o.lines, o.size),
		contenders:  []string{cKafkaConnect, cSluice},
		baselineFor: map[string]string{cSluice: cKafkaConnect},
		figures:     []string{figRecordsPerSec, figSteadyRate, figTTFR, figWall, figRSS, figCPU, figSteadyCPU, figBrokerCPU},
		notes: []string{fmt.Sprintf(connectNote, workerDesc(o.worker)) + " A record counts as delivered when its line is in the output file " +
			"(Kafka Connect writes each line to the file as it goes; Sluice buffers 64 KiB and writes and syncs at the latest on each offset commit)."},
	})
	topic := newTopic("fs-sink")
	if err := createTopic(br.addrs, topic, 1); err != nil {
		return err
	}
	defer deleteTopic(br.addrs, topic)
	logf("%s: producing %d records into %s", test, o.lines, topic)
	if err := fill(br.addrs, topic, o.lines, func(i int) []byte { return line(i, o.size) }, nil); err != nil {
		return err
	}
	lineLen := int64(o.size + 1)
	reps := map[string]int{}
	one := func(c, label string) error {
		reps[c]++
		r, err := prepareRun(work, test, c, reps[c], br.addrs, nil)
		if err != nil {
			return err
		}
		out := filepath.Join(r.dir, "output.txt")
		if err := writeProps(r.connector, [][2]string{
			{"name", "bench-fs-sink-" + filepath.Base(r.dir) + "-" + newTopic("g")},
			{"connector.class", "org.apache.kafka.connect.file.FileStreamSinkConnector"},
			{"tasks.max", "1"},
			{"file", out},
			{"topics", topic},
		}); err != nil {
			return err
		}
		ch, err := r.start(c, o, kc, sluiceBin)
		if err != nil {
			return err
		}
		defer ch.stop(15 * time.Second)
		s, err := watch(ctx, br, ch, int64(o.lines), time.Millisecond, func() (int64, error) {
			fi, err := os.Stat(out)
			if errors.Is(err, os.ErrNotExist) {
				return 0, nil
			}
			if err != nil {
				return 0, err
			}
			return fi.Size() / lineLen, nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		s.record(rep, test, c)
		logf("%s %s %s: first line after %.0f ms, %d lines in %.2fs (%.0f records/s; %.0f after the first), peak RSS %.0f MiB, CPU %.2fs",
			test, label, c, float64(s.ttfr)/1e6, o.lines, s.wall.Seconds(), s.rate(), s.steady, float64(s.stats.hwmKB)/1024, s.stats.cpu.Seconds())
		return nil
	}
	// Processes start cold, as they do in production: no warm-up.
	return repeat(o, []string{cKafkaConnect, cSluice}, one)
}

func writeLines(path string, n, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		w.Write(line(i, size))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
