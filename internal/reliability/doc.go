// Package reliability is Sluice's fault-injection suite (issue 14: "nothing
// lost, nothing corrupted, nothing crashed"). It holds tests only: each
// scenario injects one kind of fault — a broker stopped or answering produce
// requests with retriable errors, a worker process killed with SIGKILL, a
// database stopped under a sink, malformed records, a task that panics —
// and fails its test on any lost record, checking what was delivered and
// what was committed (consumer-group offsets, source offset stores, the
// sink's own offsets table).
//
// Every scenario prints one line of figures, greppable across scenarios:
//
//	reliability: scenario=<name> records=<n> lost=<n> dup=<n> dlq=<n> recover_s=<seconds> …
//
// RELIABILITY.md collects the latest figures next to Kafka Connect's for the
// same scenario.
//
// Scenarios that need Kafka use internal/kafkatest: the in-process kfake
// broker by default, Apache Kafka when KAFKA_BOOTSTRAP_SERVERS is set.
// Scenarios defined on the embedded broker (kfake's control hooks) always
// start their own in-process cluster. CI runs every scenario in a short form;
// SLUICE_RELIABILITY=full selects the long forms (e.g. a 30 s database
// outage instead of 10 s).
//
// # Process scenarios
//
// The process scenarios (broker_restart_test.go, kill_test.go,
// kill_eos_test.go, rejoin_test.go) drive real processes:
// examples/standalone, built once per test binary with a normal (non-race)
// build, and optionally Kafka Connect's ConnectStandalone, both given the
// same worker and connector properties
// files (FileStreamSource → topic → FileStreamSink). They stop and restart a
// broker, kill the worker with SIGKILL, restart a sink right after a kill,
// and fail on any lost input line, torn output line or order violation.
// Their figures lines name the contender and the broker,
//
//	reliability: scenario=broker-restart contender=sluice broker=kafka tolerance=all records=… lost=0 dup=… torn=0 order_violations=0 recover_s=… pass=true
//
// and the test binary prints a markdown table of them at the end (written
// to the file named by SLUICE_RELIABILITY_TABLE as well), the table
// RELIABILITY.md holds. Their Apache Kafka forms run against the suite's
// own broker, started with scripts/kafka/start.sh on a free port pair from
// 49092 (never the shared 127.0.0.1:9092 nor CI's KAFKA_BOOTSTRAP_SERVERS,
// since the suite stops and restarts it) and stopped with --clean when the
// test binary ends; without Java they are skipped, under CI=true they fail.
// The exception is TestKillExactlyOnce, which never stops the broker: its
// Apache Kafka form runs on KAFKA_BOOTSTRAP_SERVERS when that is set. It
// kills an exactly-once source (exactly.once.source.support=enabled) in one
// examples/standalone process, preferably while a transaction is open,
// under a read_committed sink in another, and fails on a single duplicate.
// Their embedded forms use the in-process kfake broker of a separate
// examples/standalone -embedded process (a worker with no connector), so it
// survives the kills of the worker under test; they need nothing but Go.
// Children run in their own process groups with Pdeathsig, and a guard
// process stops the suite's broker should the test binary die without its
// cleanups, so no process outlives the run.
//
// Environment of the process scenarios, besides SLUICE_RELIABILITY=full
// (10 kills instead of 3, a 10 s broker outage instead of 5 s, more records):
//
//	SLUICE_RELIABILITY_CONNECT=1  also run the broker-restart and kill scenarios with Kafka Connect
//	                              (jars fetched with Maven into bench/kafka-connect/lib, once)
//	SLUICE_RELIABILITY_TABLE      a file to write the markdown table of figures to
//	SLUICE_RELIABILITY_WORKER     a prebuilt examples/standalone binary to test instead of building one
//	SLUICE_RELIABILITY_KEEP=1     keep the work directory (logs, input and output files) of a failed run
package reliability
