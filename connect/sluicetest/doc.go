// Package sluicetest is what a connector author tests with: an in-process
// Kafka broker, fake task contexts, and acceptance suites that check the
// author's own source or sink task against Sluice's task contracts with one
// call.
//
// # Broker
//
// [StartBroker] starts an in-process Kafka-protocol broker
// (github.com/twmb/franz-go/pkg/kfake) on 127.0.0.1 for tests and local
// runs: no Java, no Docker, gone when closed. Tests usually call [Brokers]
// instead, which returns the in-process broker by default and a real one
// when the environment variable KAFKA_BOOTSTRAP_SERVERS is set, so the same
// test runs against Apache Kafka in CI. Without KAFKA_BOOTSTRAP_SERVERS it
// always uses the in-process broker (CI=true makes no difference), unless
// SLUICE_REQUIRE_KAFKA=1 is set: then a missing
// KAFKA_BOOTSTRAP_SERVERS fails the test rather than silently falling back.
// Tests sharing a real broker must not collide: name topics (and consumer
// groups) with [Topic]. [SaramaConfig] and [CreateTopic] set up and read
// back a test's topics.
//
// # Fake task contexts
//
// [NewSourceTaskContext] and [NewSinkTaskContext] return a source.TaskContext
// and a sink.TaskContext for unit tests that call a task's methods directly,
// without Kafka: the source one serves committed offsets the test presets
// (SetOffset, CommitRecords); the sink one records the seeks, pauses, commit
// requests and error reports the task makes (Seeks, Paused,
// CommitRequests, Reports).
//
// # Acceptance suites
//
// [TestSourceTask] and [TestSinkTask] run, as subtests, the checks every
// task must pass: Start/Stop idempotence (Stop without Start, Stop twice),
// Poll/Put returning once their context is done, no goroutine left behind
// after Stop, resuming from committed offsets after a restart, and, when
// the driver can provoke them, per-record failures (*connect.BatchError or
// TaskContext.Report, routed to the dead-letter queue) and outages
// (connect.Retriable errors that the runtime retries). The checks that need
// the runtime run the task in a real source or sink pipeline on the broker
// [Brokers] returns; the others call the task directly with the fake
// contexts. A driver ([SourceDriver], [SinkDriver]) tells the suite how to
// configure a task against a fresh input or destination, feed it records
// and read back what it wrote; [SourceFeatures] and [SinkFeatures] switch
// off what a task does not support:
//
//	func TestMySink(t *testing.T) {
//		sluicetest.TestSinkTask(t, sluicetest.SinkFeatures{}, sluicetest.SinkDriver{
//			NewTask: func() sink.Task { return &MySink{} },
//			Config:  func(t *testing.T) map[string]string { return map[string]string{"file": filepath.Join(t.TempDir(), "out")} },
//			Record:  func(i int) connect.Record { return connect.Record{ValueSchema: connect.StringSchema, Value: "record " + strconv.Itoa(i)} },
//			Written: func(t *testing.T, config map[string]string) []int { return readIndices(t, config["file"]) },
//		})
//	}
//
// Everything this package starts for a test is stopped by t.Cleanup, so
// tests using it stay clean under go.uber.org/goleak. Set SLUICETEST_LOG
// ([EnvLog]) to see the suites' pipeline logs.
package sluicetest
