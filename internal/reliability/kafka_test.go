package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// Broker kinds of a scenario run.
const (
	brokerKafka    = "kafka"    // the suite's own Apache Kafka (scripts/kafka)
	brokerEmbedded = "embedded" // kfake, in an examples/standalone -embedded process
)

// ownBroker is the suite's own Apache Kafka broker, started with
// scripts/kafka/start.sh on a free port pair so that it can be stopped and
// restarted without touching anyone else's broker.
type ownBroker struct {
	repo  string
	port  int
	addrs []string
	mu    sync.Mutex // serialises start and stop
}

var (
	ownOnce sync.Once
	own     *ownBroker
	ownErr  error
)

// kafkaBroker returns the suite's own Apache Kafka broker, starting it on
// first use (stopped with --clean when the test binary ends). It skips t
// (fails it under CI) when Java is missing.
func kafkaBroker(t testing.TB) *ownBroker {
	t.Helper()
	repo := repoRoot(t)
	tools := []string{}
	if v, _ := os.ReadFile(filepath.Join(repo, "scripts/kafka/lib/.kafka-version")); len(bytes.TrimSpace(v)) == 0 {
		tools = append(tools, "mvn") // start.sh fetches the jars first
	}
	needJava(t, "the Apache Kafka form", tools...)
	ownOnce.Do(func() {
		port, err := freePortPair(49092, 49400)
		if err != nil {
			ownErr = err
			return
		}
		b := &ownBroker{repo: repo, port: port, addrs: []string{"127.0.0.1:" + strconv.Itoa(port)}}
		guard := b.startGuard()
		atExit(func() {
			if err := b.script("stop.sh", "--clean"); err != nil {
				fmt.Fprintln(os.Stderr, "reliability: stopping the suite's broker:", err)
			}
			if guard != nil {
				_ = guard.Process.Kill()
				_ = guard.Wait()
			}
		})
		t0 := time.Now()
		if err := b.start(); err != nil {
			ownErr = err
			return
		}
		fmt.Printf("reliability: the suite's Apache Kafka broker is up at %s (%.0fs)\n", b.addrs[0], time.Since(t0).Seconds())
		own = b
	})
	if ownErr != nil {
		t.Fatalf("the suite's Apache Kafka broker: %v", ownErr)
	}
	return own
}

// startGuard starts a process, in a session of its own, that stops the
// broker should the test binary die without its cleanups (go test's
// -timeout, a crash).
func (b *ownBroker) startGuard() *exec.Cmd {
	script := `while kill -0 "$1" 2>/dev/null; do sleep 1; done; KAFKA_PORT="$2" exec bash "$3" --clean`
	cmd := exec.Command("bash", "-c", script, "guard", strconv.Itoa(os.Getpid()), strconv.Itoa(b.port),
		filepath.Join(b.repo, "scripts/kafka/stop.sh"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: starting the broker guard:", err)
		return nil
	}
	return cmd
}

// script runs scripts/kafka/<name> for this broker's port.
func (b *ownBroker) script(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(b.repo, "scripts/kafka", name)}, args...)...)
	cmd.Env = append(os.Environ(), "KAFKA_PORT="+strconv.Itoa(b.port), "KAFKA_CONTROLLER_PORT="+strconv.Itoa(b.port+1))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/kafka/%s (KAFKA_PORT=%d): %w\n%s", name, b.port, err, out.String())
	}
	return nil
}

// start starts (or restarts) the broker, keeping its data, and returns
// once it answers metadata requests.
func (b *ownBroker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.script("start.sh")
}

// stop stops the broker (SIGTERM, a controlled shutdown), keeping its data.
func (b *ownBroker) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.script("stop.sh")
}

// brokerAddrs returns the addresses of a broker of kind: the suite's own
// Apache Kafka, or the in-process broker of a fresh examples/standalone
// -embedded process (a worker with no connector), killed by t.Cleanup. The
// embedded broker lives in a process of its own so that it survives the
// kills of the worker under test, as a broker would.
func brokerAddrs(t testing.TB, kind string) []string {
	t.Helper()
	if kind == brokerKafka {
		return kafkaBroker(t).addrs
	}
	dir := runDir(t, "embedded-broker")
	props := filepath.Join(dir, "worker.properties")
	writeProps(t, props, []kv{
		{"offset.storage.file.filename", filepath.Join(dir, "offsets.dat")},
		{"listeners", ""},
	})
	logPath := filepath.Join(dir, "broker.log")
	c := startChild(t, "embedded broker", []string{workerBinary(t), "-embedded", props}, dir, nil, logPath)
	re := regexp.MustCompile(`Using the in-process Kafka broker at (\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(data); m != nil {
			return kafkaconf.ParseBootstrap(string(m[1]))
		}
		if c.exited() {
			t.Fatalf("examples/standalone -embedded: %v", c.failure())
		}
		if time.Now().After(deadline) {
			t.Fatalf("examples/standalone -embedded announced no broker within 60s; last lines of %s:\n%s", logPath, tail(logPath, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePortPair(from, to int) (int, error) {
	for p := from; p+1 < to; p += 2 {
		if portFree(p) && portFree(p+1) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port pair in %d-%d", from, to)
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// saramaConfig is the suite's own client configuration (admin, producers
// feeding sinks), not a contender's.
func saramaConfig(clientID string) *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig(clientID)
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Metadata.Retry.Max = 20
	cfg.Admin.Timeout = 30 * time.Second
	cfg.Admin.Retry.Backoff = 200 * time.Millisecond
	cfg.Admin.Retry.Max = 10
	return cfg
}

// newName returns a fresh topic or connector name.
func newName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "reliability-" + prefix + "-" + hex.EncodeToString(b[:])
}

// createTopic creates a one-partition topic and waits until it has a
// leader.
func createTopic(t testing.TB, addrs []string, topic string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(addrs, saramaConfig("sluice-reliability-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		md, err := admin.DescribeTopics([]string{topic})
		if err == nil && len(md) == 1 && errors.Is(md[0].Err, sarama.ErrNoError) && len(md[0].Partitions) == 1 &&
			md[0].Partitions[0].Leader >= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not ready after 60s (%v)", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kafkaConnectLib returns the directory of Kafka Connect's jars at the
// broker's version (scripts/kafka/pom.xml's), fetching them with Maven into
// bench/kafka-connect/lib once, as the benchmark harness does.
func kafkaConnectLib(t testing.TB) string {
	t.Helper()
	repo := repoRoot(t)
	pom, err := os.ReadFile(filepath.Join(repo, "scripts/kafka/pom.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<kafka.version>([^<]+)</kafka.version>`).FindSubmatch(pom)
	if m == nil {
		t.Fatal("no <kafka.version> in scripts/kafka/pom.xml")
	}
	version := string(m[1])
	dir := filepath.Join(repo, "bench/kafka-connect")
	lib := filepath.Join(dir, "lib")
	if got, _ := os.ReadFile(filepath.Join(lib, ".kafka-version")); strings.TrimSpace(string(got)) == version {
		return lib
	}
	needJava(t, "the Kafka Connect comparison", "mvn")
	tmp := lib + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.Command("mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"), "dependency:copy-dependencies",
		"-Dkafka.version="+version, "-DincludeScope=runtime", "-DoutputDirectory="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mvn could not fetch Kafka Connect %s: %v\n%s", version, err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "connect-runtime-"+version+".jar")); err != nil {
		t.Fatalf("connect-runtime-%s.jar missing after the fetch", version)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".kafka-version"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(lib)
	if err := os.Rename(tmp, lib); err != nil {
		t.Fatal(err)
	}
	return lib
}

// topicTally reads the one-partition topic from its start and compares it
// with the input's first n lines, as scan does for an output file: it tells
// whether a duplicate or an order violation arose on the source side (in
// the topic) or on the sink side.
func topicTally(t testing.TB, addrs []string, topic string, n int) tally {
	t.Helper()
	c := tally{n: n, maxIndex: -1}
	cons, err := sarama.NewConsumer(addrs, saramaConfig("sluice-reliability-reader"))
	if err != nil {
		t.Errorf("reading topic %s: %v", topic, err)
		return c
	}
	defer cons.Close()
	client, err := sarama.NewClient(addrs, saramaConfig("sluice-reliability-reader"))
	if err != nil {
		t.Errorf("reading topic %s: %v", topic, err)
		return c
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Errorf("reading topic %s: %v", topic, err)
		return c
	}
	pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Errorf("reading topic %s: %v", topic, err)
		return c
	}
	defer pc.Close()
	a := newTallier(n)
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for {
		var m *sarama.ConsumerMessage
		select {
		case m = <-pc.Messages():
		case err := <-pc.Errors():
			t.Errorf("reading topic %s: %v", topic, err)
			return a.tally
		case <-timeout.C:
			t.Errorf("reading topic %s: not at its end offset %d after 2 minutes", topic, end)
			return a.tally
		}
		a.add(m.Value)
		if m.Offset+1 >= end {
			return a.tally
		}
	}
}

// tallier counts records against the input's first n lines, in the order
// they were read, as scan does for an output file.
type tallier struct {
	tally
	seen     []bool
	maxFirst int
}

func newTallier(n int) *tallier {
	return &tallier{tally: tally{n: n, maxIndex: -1}, seen: make([]bool, n), maxFirst: -1}
}

// add counts the record value v.
func (a *tallier) add(v []byte) {
	idx, ok := parseLine(v, nil)
	switch {
	case !ok:
		a.torn++
		return
	case idx >= a.n:
		a.beyond++
	case a.seen[idx]:
		a.dup++
	default:
		a.seen[idx] = true
		a.distinct++
		if idx < a.maxFirst {
			a.order++
		} else {
			a.maxFirst = idx
		}
	}
	a.maxIndex = max(a.maxIndex, idx)
}
