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
package reliability
