// Command standalone is a drop-in for Kafka's connect-standalone.sh: a
// single-process Kafka Connect worker configured by the same properties
// files.
//
//	go run ./examples/standalone [-embedded] worker.properties [connector1.properties connector2.json …]
//
// With the sample files of the config directory, which mirror Kafka's own
// config/connect-standalone.properties, connect-file-source.properties and
// connect-file-sink.properties, the lines of test.txt (in the working
// directory) go through the topic connect-test into test.sink.txt, and lines
// appended to test.txt later follow. With a Kafka broker on localhost:9092,
// as Kafka's quickstart runs one (the sample worker file names it, as
// Kafka's does):
//
//	echo hello > test.txt
//	go run ./examples/standalone examples/standalone/config/connect-standalone.properties \
//	    examples/standalone/config/connect-file-source.properties \
//	    examples/standalone/config/connect-file-sink.properties
//
// Without a Kafka broker, add -embedded:
//
//	go run ./examples/standalone -embedded examples/standalone/config/connect-standalone.properties \
//	    examples/standalone/config/connect-file-source.properties \
//	    examples/standalone/config/connect-file-sink.properties
//
// The worker then starts an in-process Kafka broker, whatever
// bootstrap.servers says, prints its address on standard output and a
// warning on standard error. That broker keeps its topics in memory only:
// whatever the sinks had not yet written when the worker exits or crashes
// is lost (the source resumes from its offsets file, past those records;
// with offset.storage.topic the offsets are lost too), so use it to try
// things out, never for data you need. bootstrap.servers=embedded in the
// worker file does the same as the flag.
//
// Ctrl-C (SIGINT) or SIGTERM stops the worker gracefully: every connector
// drains, commits its offsets and stops (press Ctrl-C again to exit at
// once). Logs go to standard error.
//
// # Worker properties
//
// The worker file takes Kafka Connect's worker keys:
//
//	bootstrap.servers              the Kafka cluster; absent: Kafka Connect's default
//	                               localhost:9092; "embedded": an in-process broker that
//	                               keeps nothing (as -embedded); empty: an error
//	key.converter, value.converter, header.converter
//	                               the default converters, with their sub-keys
//	                               (value.converter.schemas.enable=false, …)
//	offset.storage.file.filename   source offsets in a local file (standalone mode)
//	offset.storage.topic           source offsets in a Kafka topic, byte-compatible with
//	                               Kafka Connect's offsets topic, created compacted if missing
//	                               with offset.storage.partitions (25) and
//	                               offset.storage.replication.factor (3, lowered to the
//	                               number of brokers)
//	offset.flush.interval.ms, offset.flush.timeout.ms, task.shutdown.graceful.timeout.ms
//	exactly.once.source.support    disabled (the default), preparing (disabled, logged) or
//	                               enabled: exactly-once source connectors (see Exactly-once
//	                               sources); enabled needs group.id and offset.storage.topic
//	group.id                       with exactly-once sources, the first part of every source
//	                               task's transactional.id, <group.id>-<connector>-<task>
//	producer.*, consumer.*         client settings for every source and sink connector
//	listeners                      the REST API, e.g. http://127.0.0.1:8083 or https://:8443
//	                               (comma-separated list; http and https may mix)
//	listeners.https.ssl.*          the https listeners' TLS (see REST API security)
//	rest.extension.classes         BasicAuthSecurityRestExtension only (see REST API security)
//	sluice.rest.jaas.config.file   the JAAS file of basic authentication (Sluice's key)
//	rest.host.name, rest.port      the REST API when listeners is absent (removed from Kafka
//	                               in 3.0, accepted here; rest.host.name defaults to 127.0.0.1)
//	rest.advertised.host.name, rest.advertised.port, rest.advertised.listener
//	                               the worker_id shown in status responses (host and port;
//	                               listener http or https: whose port)
//
// As in Kafka Connect's standalone mode, an offset store is required: one of
// offset.storage.file.filename and offset.storage.topic must be set (Kafka's
// standalone worker supports only the file). The file holds the
// offsets-topic key and value bytes as JSON (see offsets.FileStore), not
// Kafka's serialized Java map, so an offsets file written by Kafka Connect
// is refused with an error naming it: move the offsets through an offsets
// topic instead (offset.storage.topic reads what Kafka Connect wrote there).
//
// The REST API (Kafka Connect's endpoints, see runner.Runner.Handler) is
// served on http://127.0.0.1:8083 by default: Kafka's default is port 8083
// on every interface, but the API has no authentication by default, so
// Sluice listens on the loopback interface unless told otherwise
// (listeners=http://:8083 restores Kafka's default; an empty listeners=
// turns the API off). See REST API security for https and authentication.
// plugin.path and the internal.* converter keys
// are ignored with a warning: connectors are compiled in, and Kafka removed
// the internal converters in 3.0.
//
// # Exactly-once sources
//
// Kafka Connect runs exactly-once source connectors (KIP-618) in
// distributed mode only: its standalone worker refuses them ("Kafka Connect
// in standalone mode does not support exactly-once source connectors.").
// Sluice's standalone worker runs them, with the same keys. The worker
// file enables them and names the group and the offsets topic:
//
//	exactly.once.source.support=enabled
//	group.id=connect-cluster
//	offset.storage.topic=connect-offsets
//
// and a source connector's file may set Kafka Connect's connector keys:
//
//	exactly.once.support             requested (the default: exactly once when the worker
//	                                 has it enabled) or required (refused unless the worker
//	                                 has it enabled and the connector declares support)
//	transaction.boundary             poll (the default: a transaction per batch a task
//	                                 returns, or the batches returned while the previous
//	                                 one commits), interval or connector (the task
//	                                 decides; refused unless the connector can)
//	transaction.boundary.interval.ms with interval (default offset.flush.interval.ms, at
//	                                 most half the transaction timeout)
//	offsets.storage.topic            the connector's own offsets topic (default the worker's)
//
// Each source task then writes through a transactional producer,
// transactional.id <group.id>-<connector>-<task>, and commits its records
// and the source offsets they cover in one Kafka transaction: whatever
// happens to the process, a consumer with isolation.level=read_committed
// (a sink's consumer.isolation.level=read_committed) sees each record once.
// A worker started with the same group.id and connector fences the tasks of
// an older one still running (a zombie): those fail with a fenced status
// and write nothing more. So give workers on different hosts that may run
// the same connectors the same group.id, and unrelated workers different
// ones. Without group.id the worker does not start (the message names the
// key). The offsets are written in the transaction, so they need an offsets
// topic: with offset.storage.file.filename the worker warns, and a source
// connector without its own offsets.storage.topic fails (a connector file
// fails the start; the message names the keys). The dead-letter queue stays
// at least once. The FileStream source supports exactly-once delivery when
// file is set; the PostgreSQL source in modes incrementing and
// timestamp+incrementing.
//
// # Secure clusters
//
// The Kafka clients take Kafka's security keys with Kafka Connect's prefix
// rules: the top-level keys secure the worker's own client (the offsets
// topic store) and, under admin.* and a connector's admin.override.*, the
// connectors' admin clients (topic creation, the dead-letter queue topic);
// producer.* the source tasks' producers (and their dead-letter queue) and
// the sink tasks' dead-letter queue producers; consumer.* the sink tasks'
// consumers; a connector's producer.override.* and consumer.override.*
// join its worker's keys. Where a connector's admin client or a sink's
// dead-letter queue producer gets no security key that way, it uses its
// task client's (Kafka Connect would connect it in plaintext).
// Supported: security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT,
// SASL_SSL); ssl.truststore.*, ssl.keystore.* and ssl.key.password with
// PEM (files, or inline ssl.truststore.certificates,
// ssl.keystore.certificate.chain and ssl.keystore.key), PKCS12 and JKS
// stores; ssl.endpoint.identification.algorithm (https, the default, or
// empty); ssl.enabled.protocols and ssl.protocol (TLSv1.2, TLSv1.3);
// sasl.mechanism PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER
// (Kafka's default, GSSAPI, is refused: set it) with sasl.jaas.config as
// Kafka Connect users write it; for OAUTHBEARER, OIDC client credentials:
// sasl.oauthbearer.token.endpoint.url and OAuthBearerLoginModule's
// clientId, clientSecret and scope:
//
//	producer.security.protocol=SASL_SSL
//	producer.sasl.mechanism=SCRAM-SHA-512
//	producer.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="…";
//	producer.ssl.truststore.type=PEM
//	producer.ssl.truststore.location=/etc/kafka/ca.pem
//
// Any other ssl.* or sasl.* key (GSSAPI, ssl.cipher.suites, …)
// fails the start naming the key. Top-level ssl.* and sasl.* keys that
// security.protocol does not use are not used, with a warning (unless an
// https REST listener takes the top-level ssl.* keys, see below).
//
// # REST API security
//
// As in Kafka Connect, listeners=https://host:port serves the REST API over
// TLS, configured by the listeners.https.ssl.* keys or, when no
// listeners.https.* key is set, by the top-level ssl.* keys (then, unless
// the top-level security.protocol is SSL or SASL_SSL, they configure the
// listener only, not the worker's Kafka client):
//
//	listeners=https://0.0.0.0:8443
//	listeners.https.ssl.keystore.type=PKCS12             JKS (the default), PKCS12 or PEM
//	listeners.https.ssl.keystore.location=/etc/connect/server.p12
//	listeners.https.ssl.keystore.password=…              (and ssl.key.password for JKS)
//	listeners.https.ssl.client.auth=required             none (default), requested, required
//	listeners.https.ssl.truststore.type=PEM              the CAs of client certificates
//	listeners.https.ssl.truststore.location=/etc/connect/clients-ca.pem
//
// also ssl.keystore.certificate.chain and ssl.keystore.key (inline PEM),
// ssl.truststore.certificates, ssl.enabled.protocols and ssl.protocol
// (TLSv1.2, TLSv1.3) and ssl.cipher.suites (IANA names). With
// ssl.client.auth=required a client without a certificate signed by a
// truststore CA is refused at the TLS handshake. The stores are read at
// start.
//
// HTTP basic authentication is Kafka Connect's
// BasicAuthSecurityRestExtension, with its JAAS file and credentials file:
//
//	rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension
//
// The JAAS file is named as for Kafka Connect's JVM,
// KAFKA_OPTS="-Djava.security.auth.login.config=/etc/connect/rest-jaas.conf"
// in the environment, or by sluice.rest.jaas.config.file in the worker
// file (which wins). Its KafkaConnect entry names the credentials file, a
// properties file of user=password lines:
//
//	KafkaConnect {
//	  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
//	  file="/etc/connect/rest-credentials.properties";
//	};
//
// Every request (on every listener) then needs an Authorization: Basic
// header with a user and password of that file, else it gets 401 with
// Kafka Connect's body, "User cannot access the resource." (as from
// Kafka Connect, with Content-Type application/json and no
// WWW-Authenticate header; unlike it, also for a path the API does not
// serve, instead of 404); Kafka Connect's internal
// requests (POST /connectors/{name}/tasks, PUT /connectors/{name}/fence)
// are exempt. The credentials are read once, at start (Kafka Connect caches
// them too): restart the worker to change them. An empty credentials file
// lets every request through, as in Kafka Connect (with a warning). Basic
// authentication sends the password with every request: use it over https.
// Any other rest.extension.classes entry fails the start, naming it.
//
// # Config providers
//
// Secrets need not sit in the files in clear: as in Kafka Connect, the
// worker file declares config providers and any value (of the worker file
// or a connector's) may reference them,
//
//	config.providers=file,env,dir
//	config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//	config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//	config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//
//	connection.password=${file:/etc/secrets/db.properties:password}
//	connection.user=${env:DB_USER}
//	sasl.jaas.config=${dir:/var/run/secrets/kafka:jaas}
//
// with their parameters (config.providers.env.param.allowlist.pattern,
// config.providers.file.param.allowed.paths, …). The worker file's
// references are resolved when the worker starts; a connector's each time
// it starts or restarts, so that a restart picks up a changed secret. The
// REST API and the logs show the references as written, never the values;
// a reference no provider resolves is passed on as written, as Kafka
// Connect does. See package connect/configprovider.
//
// # Connector files
//
// Each further argument is a connector configuration with Kafka Connect's
// keys: name, connector.class, tasks.max, the converter keys, transforms…,
// predicates…, errors…, producer.override.*, consumer.override.*, topics or
// topics.regex for sinks, and the connector's own keys. A file is a Java
// .properties file or, if it starts with '{', JSON: a flat object of string
// values, or the REST API's {"name": …, "config": {…}, "initial_state": …}.
// connector.class takes Kafka's class names or the short forms Kafka
// accepts:
//
//	org.apache.kafka.connect.file.FileStreamSourceConnector  FileStreamSource (examples/connectors/filestream)
//	org.apache.kafka.connect.file.FileStreamSinkConnector    FileStreamSink
//	io.confluent.connect.jdbc.JdbcSourceConnector            JdbcSource, PostgresSource (examples/connectors/postgres)
//	io.confluent.connect.jdbc.JdbcSinkConnector              JdbcSink, PostgresSink
//
// To offer more connectors, add them to plugins.go. Connectors may be
// listed on the command line or created later through the REST API (POST
// /connectors); as in Kafka's standalone mode, connectors created through
// the API are not remembered across restarts.
//
// # Exit status
//
// As Kafka's: 1 for a usage error, 2 for an invalid worker configuration or
// a worker that could not start (the message names the file and the key), 3
// when a connector could not be created (the message names its file). A
// graceful stop exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the default handling comes back: a second
		// Ctrl-C ends the process at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "standalone:", err)
		os.Exit(exitCode(err))
	}
}

// Exit codes, as Kafka's ConnectStandalone.
const (
	exitUsage     = 1
	exitWorker    = 2
	exitConnector = 3
)

// exitError is an error with the process exit code it calls for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the exit code err calls for (exitWorker unless it says
// otherwise).
func exitCode(err error) int {
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return exitWorker
}

const usage = "usage: standalone [-embedded] worker.properties [connector1.properties connector2.json …]\n" +
	"  -embedded  run on an in-process Kafka broker that keeps nothing once the worker exits\n" +
	"             (bootstrap.servers is ignored; same as bootstrap.servers=embedded)"

// run is the command: it configures a worker from args (flags, the worker
// file, then the connector files), runs it until ctx is done, then stops it
// gracefully. Announcements go to stdout, logs and warnings to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("standalone", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage error says it all
	embedded := fs.Bool("embedded", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{exitUsage, errors.New(usage)}
		}
		return &exitError{exitUsage, fmt.Errorf("%w\n%s", err, usage)}
	}
	args = fs.Args()
	if len(args) < 1 {
		return &exitError{exitUsage, errors.New(usage)}
	}
	w, err := newWorker(ctx, args[0], args[1:], options{stdout: stdout, stderr: stderr, embedded: *embedded})
	if err != nil {
		return err
	}
	return w.run(ctx)
}
