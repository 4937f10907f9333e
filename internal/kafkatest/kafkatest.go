package kafkatest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/kafkaconf"
)

// EnvBootstrap is the environment variable naming an external broker's
// bootstrap addresses, comma separated (e.g. "127.0.0.1:9092"). When it is
// set and not blank, [Brokers] returns those addresses instead of starting
// an in-process broker.
const EnvBootstrap = "KAFKA_BOOTSTRAP_SERVERS"

// maxTopicLen bounds the names [Topic] returns; Kafka's own limit is 249.
const maxTopicLen = 200

// External reports whether tests run against an external broker, that is
// whether KAFKA_BOOTSTRAP_SERVERS holds at least one address.
func External() bool {
	return len(kafkaconf.ParseBootstrap(os.Getenv(EnvBootstrap))) > 0
}

// EnvRequire is the environment variable that makes a missing
// KAFKA_BOOTSTRAP_SERVERS a test failure instead of a reason to start the
// in-process broker: set it to 1 (or true) where tests must run against a
// real Kafka, as this repository's CI does. It is the only switch the
// public sluicetest.Brokers honours; the repository's own tests
// ([Brokers]) are strict under CI=true as well.
const EnvRequire = "SLUICE_REQUIRE_KAFKA"

// inCI reports whether we run under CI (CI=true, as set by GitHub-style
// runners and by this project's CI).
func inCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return strings.EqualFold(v, "true") || v == "1"
}

// required reports whether SLUICE_REQUIRE_KAFKA asks for a real broker. A
// value strconv.ParseBool does not accept is an error, so that a typo does
// not silently switch the requirement off.
func required() (bool, error) {
	v := strings.TrimSpace(os.Getenv(EnvRequire))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want 1, true, 0 or false", EnvRequire, os.Getenv(EnvRequire))
	}
	return b, nil
}

var (
	externalOnce sync.Once
	externalErr  error
)

// Brokers returns the bootstrap addresses of a Kafka broker for t, for this
// repository's own tests.
//
// With KAFKA_BOOTSTRAP_SERVERS set, it returns those addresses; the first
// call in the process checks that the broker answers a metadata request
// (retrying for up to about 30 s) and, if it does not, this and every later
// call fails its test with the reason. The external broker is shared by all
// tests and is neither created nor cleaned up here.
//
// Otherwise it starts a new single-broker in-process kfake cluster on
// 127.0.0.1 that is closed by t.Cleanup. It is configured like the broker
// scripts/kafka/start.sh runs: metadata requests may auto-create topics, and
// auto-created topics (and CreateTopics with -1 partitions) get one
// partition. Tests that need several partitions create the topic with
// [CreateTopic].
//
// Without KAFKA_BOOTSTRAP_SERVERS it fails t instead under CI=true (the
// repository's rule: in CI a missing service is a failure, never a skip or
// a silent fallback) and when SLUICE_REQUIRE_KAFKA ([EnvRequire]) is 1 or
// true.
func Brokers(t testing.TB) []string {
	t.Helper()
	return brokers(t, true)
}

// PublicBrokers is [Brokers] for the public test kit
// (sluicetest.Brokers), which connector authors run on their own CI: it
// ignores CI=true, which every hosted CI sets, and fails t for a missing
// KAFKA_BOOTSTRAP_SERVERS only when SLUICE_REQUIRE_KAFKA asks for it.
func PublicBrokers(t testing.TB) []string {
	t.Helper()
	return brokers(t, false)
}

// brokers implements [Brokers] (ciRule true) and [PublicBrokers].
func brokers(t testing.TB, ciRule bool) []string {
	t.Helper()
	if addrs := kafkaconf.ParseBootstrap(os.Getenv(EnvBootstrap)); len(addrs) > 0 {
		externalOnce.Do(func() { externalErr = ping(addrs) })
		if externalErr != nil {
			t.Fatalf("sluicetest: %s=%s is set but the broker does not answer: %v\n"+
				"start that broker, or unset %s to use the in-process broker",
				EnvBootstrap, os.Getenv(EnvBootstrap), externalErr, EnvBootstrap)
		}
		return addrs
	}
	req, err := required()
	if err != nil {
		t.Fatalf("sluicetest: %v", err)
	}
	switch {
	case req:
		t.Fatalf("sluicetest: %s=%s but %s is not set: a real Kafka broker is required; "+
			"refusing to fall back to the in-process broker",
			EnvRequire, os.Getenv(EnvRequire), EnvBootstrap)
	case ciRule && inCI():
		t.Fatalf("sluicetest: CI=true but %s is not set: CI requires a real Kafka broker "+
			"(this repository's .ci/run starts one with scripts/kafka/start.sh); "+
			"refusing to fall back to the in-process broker",
			EnvBootstrap)
	}
	b, err := StartBroker()
	if err != nil {
		t.Fatalf("sluicetest: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()
}

// ping checks that the broker at addrs answers a metadata request, retrying
// for up to about 30 s (a broker that was just started may still be
// electing its controller).
func ping(addrs []string) error {
	cfg := kafkaconf.NewSaramaConfig("sluice-kafkatest-ping")
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Net.ReadTimeout = 10 * time.Second
	cfg.Metadata.Retry.Max = 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := func() error {
			client, err := sarama.NewClient(addrs, cfg)
			if err != nil {
				return err
			}
			defer client.Close()
			if err := client.RefreshMetadata(); err != nil {
				return err
			}
			if len(client.Brokers()) == 0 {
				return errors.New("metadata lists no broker")
			}
			return nil
		}()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// SaramaConfig returns kafkaconf.NewSaramaConfig with timings suited to
// tests, with a client ID naming t:
//
//   - Consumer.MaxWaitTime 50 ms (sarama's 500 ms default makes every idle
//     fetch, and so every consumer Close, wait that long);
//   - short retry backoffs for metadata, producer, consumer, consumer group
//     rebalances and the cluster admin (50-100 ms instead of 100 ms-2 s);
//   - Admin.Timeout 30 s, Net.DialTimeout 5 s.
//
// Everything else, including Consumer.Offsets.Initial (OffsetNewest), keeps
// kafkaconf's and sarama's defaults. Each call returns a new value.
func SaramaConfig(t testing.TB) *sarama.Config {
	t.Helper()
	cfg := kafkaconf.NewSaramaConfig(clientID(t))
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Consumer.MaxWaitTime = 50 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Metadata.Retry.Max = 10
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Admin.Timeout = 30 * time.Second
	cfg.Admin.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Retry.Max = 10
	return cfg
}

// clientID derives a valid Kafka client ID from the test name.
func clientID(t testing.TB) string {
	id := "sluice-test-" + sanitize(t.Name())
	if len(id) > 100 {
		id = id[:100]
	}
	return id
}

// sanitize maps s to Kafka's legal topic characters, [a-zA-Z0-9_-]. It
// avoids '.', which Kafka treats as colliding with '_' in metric names.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Topic returns a topic name unique to this call: the sanitized test name
// (subtest slashes and any other character outside [a-zA-Z0-9_-] become
// '_') followed by '-' and 12 random hex digits. It is at most 200
// characters long, so it is a legal Kafka topic name, and it may also be
// used as a consumer group ID or transactional ID. It creates nothing.
func Topic(t testing.TB) string {
	t.Helper()
	var buf [6]byte
	if _, err := rand.Read(buf[:]); err != nil {
		t.Fatalf("sluicetest: random topic suffix: %v", err)
	}
	suffix := "-" + hex.EncodeToString(buf[:])
	name := sanitize(t.Name())
	if max := maxTopicLen - len(suffix); len(name) > max {
		name = name[:max]
	}
	if name == "" {
		name = "topic"
	}
	return name + suffix
}

// CreateTopic creates topic name on brokers with the given number of
// partitions, replication factor 1 and the given topic configs (for example
// {"cleanup.policy": &compact}; nil for none), then waits until the
// broker's metadata lists the topic with that many partitions, each with a
// leader. It fails t if the topic cannot be created or does not show up
// within 30 s. A topic that already exists with the same partition count is
// accepted. The topic is not deleted afterwards: names from [Topic] are
// unique, and the in-process broker is discarded with the test.
func CreateTopic(t testing.TB, brokers []string, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, SaramaConfig(t))
	if err != nil {
		t.Fatalf("sluicetest: cluster admin for %v: %v", brokers, err)
	}
	defer admin.Close()

	err = admin.CreateTopic(name, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: 1,
		ConfigEntries:     configs,
	}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Fatalf("sluicetest: creating topic %q (%d partitions): %v", name, partitions, err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		err := topicReady(admin, name, partitions)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluicetest: topic %q not ready after 30s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// topicReady reports, as a nil error, whether metadata lists topic with the
// wanted partition count and a leader for each partition.
func topicReady(admin sarama.ClusterAdmin, topic string, partitions int32) error {
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return err
	}
	for _, tm := range md {
		if tm.Name != topic {
			continue
		}
		if !errors.Is(tm.Err, sarama.ErrNoError) {
			return tm.Err
		}
		if got := int32(len(tm.Partitions)); got != partitions {
			return fmt.Errorf("metadata lists %d partitions, want %d", got, partitions)
		}
		for _, p := range tm.Partitions {
			if !errors.Is(p.Err, sarama.ErrNoError) {
				return fmt.Errorf("partition %d: %w", p.ID, p.Err)
			}
			if p.Leader < 0 {
				return fmt.Errorf("partition %d has no leader", p.ID)
			}
		}
		return nil
	}
	return errors.New("metadata does not list the topic")
}
