// Command distributed is a drop-in for Kafka's connect-distributed.sh: a
// Kafka Connect worker in distributed mode, configured by the same worker
// properties file. Every process started with the same group.id joins one
// cluster through Kafka's group coordinator (the "connect" group protocol
// Kafka Connect's workers speak): connectors and their tasks are spread
// across the members, a member that leaves or dies has its work moved to
// the others, and a member that joins takes a share without stopping the
// tasks that stay where they run.
//
//	go run ./examples/distributed worker.properties
//
// With a Kafka broker on localhost:9092, as Kafka's quickstart runs one,
// start two workers on the sample file, the second on another REST port:
//
//	go run ./examples/distributed examples/distributed/config/connect-distributed.properties
//	go run ./examples/distributed -listeners http://127.0.0.1:8084 examples/distributed/config/connect-distributed.properties
//
// and create a connector through either one:
//
//	echo hello > /tmp/test.txt
//	curl -X POST -H 'Content-Type: application/json' http://127.0.0.1:8083/connectors -d '{
//	  "name": "local-file-source",
//	  "config": {"connector.class": "FileStreamSource", "tasks.max": "1",
//	             "file": "/tmp/test.txt", "topic": "connect-test"}}'
//	curl http://127.0.0.1:8084/connectors/local-file-source/status
//
// Both workers answer for the whole cluster: the status lists every task
// with the worker_id (the advertised host:port) of the member running it.
// As in Kafka Connect's distributed mode, the worker creates no connector
// itself: connectors come from the REST API (POST /connectors, PUT
// /connectors/{name}/config) and from the config topic, where the cluster
// keeps them, so a restarted cluster runs them again.
//
// Ctrl-C (SIGINT) or SIGTERM stops the worker gracefully: its tasks drain,
// commit their offsets and stop, it leaves the group, and the other
// members take its work over at the next rebalance (press Ctrl-C again to
// exit at once). Logs go to standard error.
//
// # Worker properties
//
// The worker file takes Kafka Connect's distributed worker keys:
//
//	bootstrap.servers                     the Kafka cluster (default localhost:9092)
//	group.id                              the cluster: workers with the same group.id form one (required)
//	config.storage.topic                  connector configurations, target states and task
//	                                      configurations, in Kafka Connect's format (required)
//	offset.storage.topic                  source offsets, in Kafka Connect's format (required)
//	status.storage.topic                  connector and task statuses (required)
//	config.storage.replication.factor, offset.storage.replication.factor,
//	status.storage.replication.factor     the internal topics' replication factors (default
//	                                      -1: the broker's; use 1 on a one-broker development
//	                                      broker)
//	offset.storage.partitions, status.storage.partitions
//	                                      their partition counts (25, 5)
//	session.timeout.ms, heartbeat.interval.ms, rebalance.timeout.ms
//	                                      group membership timings (10000, 3000, 60000)
//	scheduled.rebalance.max.delay.ms      how long the work of a member that left is held for
//	                                      its return before it is reassigned (300000)
//	listeners                             the REST API, e.g. http://127.0.0.1:8083 or
//	                                      https://:8443 (comma-separated; default
//	                                      http://127.0.0.1:8083)
//	listeners.https.ssl.*, ssl.*          the https listeners' TLS, as examples/standalone
//	rest.advertised.host.name, rest.advertised.port, rest.advertised.listener
//	                                      the URL the other members and the worker_id use
//	                                      (default: the first listener of the advertised
//	                                      scheme, as bound)
//	key.converter, value.converter, header.converter (with their sub-keys),
//	offset.flush.interval.ms, task.shutdown.graceful.timeout.ms, producer.*, consumer.*,
//	exactly.once.source.support, config.providers…
//	                                      as for examples/standalone
//
// plugin.path and the internal.* converter keys are ignored with a warning:
// connectors are compiled in. rest.extension.classes (basic
// authentication) is refused: examples/standalone has it, this smaller
// example does not. The -listeners flag replaces the file's listeners, so
// that several workers may share one file on one host.
//
// # Connectors
//
// connector.class takes the classes examples/standalone registers:
//
//	org.apache.kafka.connect.file.FileStreamSourceConnector  FileStreamSource (examples/connectors/filestream)
//	org.apache.kafka.connect.file.FileStreamSinkConnector    FileStreamSink
//	io.confluent.connect.jdbc.JdbcSourceConnector            JdbcSource, PostgresSource (examples/connectors/postgres)
//	io.confluent.connect.jdbc.JdbcSinkConnector              JdbcSink, PostgresSink
//
// Every member must know every class its cluster runs: give them all the
// same build. To offer more connectors, add them to plugins.go.
//
// # Exit status
//
// 1 for a usage error, 2 for an invalid worker configuration or a worker
// that could not start (the message names the file and the key). A
// graceful stop exits 0.
package main
