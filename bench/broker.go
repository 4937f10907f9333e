package main

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
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

type broker struct {
	addrs   []string
	version string // e.g. "Apache Kafka 4.3.1"
	how     string // how it was obtained
	pid     int    // the broker process, when known (scripts/kafka's); else 0
}

// startBroker returns the broker to benchmark against: the in-process one
// (-embedded), KAFKA_BOOTSTRAP_SERVERS, or Apache Kafka started with
// scripts/kafka/start.sh on a free port (stopped again at exit).
func startBroker(ctx context.Context, o options, repo string) (*broker, error) {
	if o.embedded {
		b, err := kafkatest.StartBroker()
		if err != nil {
			return nil, err
		}
		cleanup.add(b.Close)
		return &broker{addrs: b.Addrs(), version: "kfake (in-process, franz-go)", how: "-embedded: in-process broker"}, nil
	}
	if addrs := kafkaconf.ParseBootstrap(os.Getenv("KAFKA_BOOTSTRAP_SERVERS")); len(addrs) > 0 {
		logf("using the broker at KAFKA_BOOTSTRAP_SERVERS=%s", strings.Join(addrs, ","))
		if err := ping(ctx, addrs); err != nil {
			return nil, fmt.Errorf("KAFKA_BOOTSTRAP_SERVERS=%s does not answer: %w", strings.Join(addrs, ","), err)
		}
		return &broker{addrs: addrs, version: scriptsBrokerVersion(repo, addrs), how: "KAFKA_BOOTSTRAP_SERVERS", pid: scriptsBrokerPID(repo, addrs)}, nil
	}

	port, err := freePortPair(39092, 39200)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "KAFKA_PORT="+strconv.Itoa(port))
	cleanup.add(func() {
		logf("stopping the Apache Kafka broker on port %d", port)
		cmd := exec.Command("bash", filepath.Join(repo, "scripts/kafka/stop.sh"), "--clean")
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			logf("stopping the broker: %v", err)
		}
	})
	logf("starting Apache Kafka with scripts/kafka/start.sh on 127.0.0.1:%d", port)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, "scripts/kafka/start.sh"))
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/kafka/start.sh: %w", err)
	}
	m := regexp.MustCompile(`KAFKA_BOOTSTRAP_SERVERS=(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		return nil, fmt.Errorf("scripts/kafka/start.sh printed no bootstrap address: %q", out.String())
	}
	addrs := kafkaconf.ParseBootstrap(m[1])
	return &broker{addrs: addrs, version: scriptsBrokerVersion(repo, addrs), how: "started by the harness with scripts/kafka/start.sh", pid: scriptsBrokerPID(repo, addrs)}, nil
}

// scriptsBrokerVersion reads the version of a broker scripts/kafka started,
// from its log; "unknown" for other brokers.
func scriptsBrokerVersion(repo string, addrs []string) string {
	if len(addrs) != 1 {
		return "unknown"
	}
	_, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		return "unknown"
	}
	data, err := os.ReadFile(filepath.Join(repo, "scripts/kafka/_data", port, "logs/server.log"))
	if err != nil {
		return "unknown (not started by scripts/kafka)"
	}
	m := regexp.MustCompile(`Kafka version: (\S+)`).FindAllSubmatch(data, -1)
	if len(m) == 0 {
		return "unknown"
	}
	return "Apache Kafka " + string(m[len(m)-1][1])
}

// scriptsBrokerPID returns the pid of a broker scripts/kafka started on
// addrs' port and still running (0 if none), so its CPU time can be read.
func scriptsBrokerPID(repo string, addrs []string) int {
	if len(addrs) != 1 {
		return 0
	}
	_, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		return 0
	}
	data, err := os.ReadFile(filepath.Join(repo, "scripts/kafka/_data", port, "kafka.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("kafka.Kafka")) {
		return 0
	}
	return pid
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

// saramaConfig is the harness's own client configuration (admin, watchers,
// data preparation), not a contender's.
func saramaConfig(clientID string) *sarama.Config {
	cfg := kafkaconf.NewSaramaConfig(clientID)
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Metadata.Retry.Max = 20
	cfg.Admin.Timeout = 30 * time.Second
	cfg.Admin.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Retry.Max = 10
	return cfg
}

func ping(ctx context.Context, addrs []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		client, err := sarama.NewClient(addrs, saramaConfig("sluice-bench-ping"))
		if err == nil {
			err = client.RefreshMetadata()
			client.Close()
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// newTopic returns a fresh topic name.
func newTopic(prefix string) string {
	var b [5]byte
	rand.Read(b[:])
	return "bench-" + prefix + "-" + hex.EncodeToString(b[:])
}

// createTopic creates topic with the given partition count and waits until
// every partition has a leader.
func createTopic(addrs []string, topic string, partitions int32) error {
	admin, err := sarama.NewClusterAdmin(addrs, saramaConfig("sluice-bench-admin"))
	if err != nil {
		return err
	}
	defer admin.Close()
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := admin.DescribeTopics([]string{topic})
		if err == nil && len(md) == 1 && errors.Is(md[0].Err, sarama.ErrNoError) && int32(len(md[0].Partitions)) == partitions {
			ok := true
			for _, p := range md[0].Partitions {
				ok = ok && p.Leader >= 0 && errors.Is(p.Err, sarama.ErrNoError)
			}
			if ok {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s not ready after 30s (%v)", topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteTopic deletes a topic the harness filled, to free the broker's disk
// (best effort).
func deleteTopic(addrs []string, topic string) {
	admin, err := sarama.NewClusterAdmin(addrs, saramaConfig("sluice-bench-admin"))
	if err != nil {
		return
	}
	defer admin.Close()
	admin.DeleteTopic(topic)
}

// fill produces n records of value (as its bytes) into topic with a plain
// idempotent producer, for the sink tests.
func fill(addrs []string, topic string, n int, value func(i int) []byte, headers func(i int) []sarama.RecordHeader) error {
	cfg := saramaConfig("sluice-bench-fill")
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewAsyncProducer(addrs, cfg)
	if err != nil {
		return err
	}
	go func() {
		for i := range n {
			m := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(value(i))}
			if headers != nil {
				m.Headers = headers(i)
			}
			p.Input() <- m
		}
	}()
	var first error
	for range n {
		select {
		case <-p.Successes():
		case e := <-p.Errors():
			if first == nil {
				first = e.Err
			}
		}
	}
	if err := p.Close(); first == nil {
		first = err
	}
	return first
}
