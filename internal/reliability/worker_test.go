package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Contenders: the process that runs the connectors.
const (
	contenderSluice  = "sluice"        // examples/standalone
	contenderConnect = "kafka-connect" // Kafka Connect's ConnectStandalone
)

// flushIntervalMS is offset.flush.interval.ms of every run: it bounds what
// a kill may replay (one commit window) and, for Sluice's FileStream sink
// (which writes its buffer at the flush before each commit), how late a
// line appears in the output.
const flushIntervalMS = 1000

// contenders returns the contenders of the broker-restart and kill
// scenarios: Sluice, and Kafka Connect with SLUICE_RELIABILITY_CONNECT=1.
func contenders() []string {
	if withConnect() {
		return []string{contenderSluice, contenderConnect}
	}
	return []string{contenderSluice}
}

// kv is one property.
type kv [2]string

func writeProps(t testing.TB, path string, props []kv) {
	t.Helper()
	var b strings.Builder
	for _, p := range props {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// worker is one contender's process for a scenario run, on a worker
// properties file and connector files that are the same for both
// contenders, restartable (kill, start) on the same files.
type worker struct {
	t         testing.TB
	contender string
	dir       string
	argv      []string
	logPath   string
	proc      *child
}

// newWorker writes dir/worker.properties (bootstrap addrs, String
// converters, a file offset store in dir unless extra sets
// offset.storage.topic, the flush interval, a free REST port, then extra)
// and one file per connector, and prepares the contender's command line.
// Nothing runs until start.
func newWorker(t testing.TB, contender, dir string, addrs []string, extra []kv, connectors ...[]kv) *worker {
	t.Helper()
	w := &worker{t: t, contender: contender, dir: dir, logPath: filepath.Join(dir, contender+".log")}
	props := []kv{
		{"bootstrap.servers", strings.Join(addrs, ",")},
		{"key.converter", "org.apache.kafka.connect.storage.StringConverter"},
		{"value.converter", "org.apache.kafka.connect.storage.StringConverter"},
		{"offset.storage.file.filename", filepath.Join(dir, "offsets.dat")},
		{"offset.flush.interval.ms", strconv.Itoa(flushIntervalMS)},
		{"listeners", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))},
	}
	if slices.ContainsFunc(extra, func(p kv) bool { return p[0] == "offset.storage.topic" }) {
		props = slices.DeleteFunc(props, func(p kv) bool { return p[0] == "offset.storage.file.filename" })
	}
	props = append(props, extra...)
	workerFile := filepath.Join(dir, "worker.properties")
	writeProps(t, workerFile, props)
	files := []string{workerFile}
	for i, c := range connectors {
		f := filepath.Join(dir, fmt.Sprintf("connector-%d.properties", i))
		writeProps(t, f, c)
		files = append(files, f)
	}
	switch contender {
	case contenderSluice:
		w.argv = append([]string{workerBinary(t)}, files...)
	case contenderConnect:
		lib := kafkaConnectLib(t)
		log4j := filepath.Join(dir, "log4j2.properties")
		if err := os.WriteFile(log4j, []byte(`status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = `+filepath.Join(dir, "connect-log4j.log")+`
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
`), 0o644); err != nil {
			t.Fatal(err)
		}
		w.argv = append([]string{"java", "-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
			"-Dlog4j2.configurationFile=" + log4j, "-cp", filepath.Join(lib, "*"),
			"org.apache.kafka.connect.cli.ConnectStandalone"}, files...)
	default:
		t.Fatalf("unknown contender %q", contender)
	}
	return w
}

// start starts the contender's process (again).
func (w *worker) start() {
	w.t.Helper()
	w.proc = startChild(w.t, w.contender, w.argv, w.dir, nil, w.logPath)
}

// kill kills the process with SIGKILL and waits for it.
func (w *worker) kill() { w.proc.kill() }

// stop stops the process gracefully (SIGTERM), killing it after a minute.
func (w *worker) stop() bool { return w.proc.stop(time.Minute) }

// alive returns the failure of a process that exited on its own, if so.
func (w *worker) alive() error {
	if w.proc != nil && w.proc.exited() {
		return w.proc.failure()
	}
	return nil
}

// sourceConnector is a FileStreamSource connector file reading input into
// topic.
func sourceConnector(name, input, topic, tolerance string) []kv {
	c := []kv{
		{"name", name},
		{"connector.class", "org.apache.kafka.connect.file.FileStreamSourceConnector"},
		{"tasks.max", "1"},
		{"file", input},
		{"topic", topic},
		{"batch.size", "2000"},
	}
	if tolerance != "" {
		c = append(c, kv{"errors.tolerance", tolerance}, kv{"errors.log.enable", "true"})
	}
	return c
}

// sinkConnector is a FileStreamSink connector file writing topic into
// output.
func sinkConnector(name, output, topic, tolerance string) []kv {
	c := []kv{
		{"name", name},
		{"connector.class", "org.apache.kafka.connect.file.FileStreamSinkConnector"},
		{"tasks.max", "1"},
		{"file", output},
		{"topics", topic},
	}
	if tolerance != "" {
		c = append(c, kv{"errors.tolerance", tolerance}, kv{"errors.log.enable", "true"})
	}
	return c
}

// waitError is waitCovered's answer when it gave up.
type waitError struct {
	reason string
	last   tally
}

func (e *waitError) Error() string {
	return fmt.Sprintf("%s: %d of %d lines delivered (%d duplicated, %d torn)", e.reason, e.last.distinct, e.last.n, e.last.dup, e.last.torn)
}

// gaveUp describes, for a figures line, why a run stopped waiting: its
// "lost" lines are those not delivered by then.
func gaveUp(err error) string {
	if we, ok := err.(*waitError); ok {
		return "lost = undelivered when the run gave up (" + we.reason + ")"
	}
	return err.Error()
}

// waitCovered waits until the output file holds each of the input's first
// n lines. It gives up when the worker exits on its own, when nothing new
// arrived for stall, or at deadline.
func waitCovered(w *worker, output string, n int, stall time.Duration, deadline time.Time) (tally, error) {
	w.t.Helper()
	var last tally
	lastGrowth := time.Now()
	for {
		c, err := scan(output, n, false)
		if err != nil {
			return c, err
		}
		if c.distinct > last.distinct {
			lastGrowth = time.Now()
		}
		last = c
		if c.distinct >= n {
			return c, nil
		}
		if err := w.alive(); err != nil {
			return c, err
		}
		now := time.Now()
		if now.Sub(lastGrowth) > stall {
			return c, &waitError{fmt.Sprintf("stalled: nothing new in the output for %s", stall), c}
		}
		if now.After(deadline) {
			return c, &waitError{"deadline passed", c}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
