#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1 for tests, by hand or from CI. Idempotent: if our broker is
# already running and answering, it says so and succeeds.
#
#   bash scripts/kafka/start.sh            # then run what it prints:
#   export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092
#   go test ./...
#   bash scripts/kafka/stop.sh [--clean]
#
# Or in one go: eval "$(bash scripts/kafka/start.sh)"
#
# Progress goes to stderr; stdout carries only the export line.
#
# Steps: fetch the broker and its runtime jars from Maven Central with Maven
# into scripts/kafka/lib (once; see pom.xml), write server.properties and
# format KRaft storage (once) in the instance directory
# scripts/kafka/_data/$KAFKA_PORT, start `java kafka.Kafka` in the
# background (pid in kafka.pid, logs in logs/ there), wait until the port is
# open and a metadata request through sarama succeeds
# (scripts/kafka/waitready), print the broker version.
#
# Environment:
#   KAFKA_PORT             client listener port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_VERSION          broker version to fetch (default: pom.xml's)
#   KAFKA_HEAP             JVM heap flags (default "-Xms256m -Xmx512m")
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 180)
#
# Needs java (17+), mvn and go on PATH.
set -euo pipefail

HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/lib"
# One instance directory per client port, so brokers on different ports
# (a developer's on 9092, CI's on another) can run side by side.
DATA="$HERE/_data/$KAFKA_PORT"
LOGDIR="$DATA/logs"
KRAFT="$DATA/kraft"
PIDFILE="$DATA/kafka.pid"
PROPS="$DATA/server.properties"
STAMP="$DATA/format.stamp"

KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}"
BOOTSTRAP="$HOST:$KAFKA_PORT"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pom_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml" | head -n1; }
KAFKA_VERSION="${KAFKA_VERSION:-$(pom_version)}"
[[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $HERE/pom.xml"

# our_pid prints the pid of the broker this script started, if it still runs.
our_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be our java kafka.Kafka.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s\n' "$pid"
}

# port_open HOST PORT: is something accepting connections there?
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

broker_version() {
  local v
  v="$(grep -ho 'Kafka version: [^ ]*' "$LOGDIR"/server.log* 2>/dev/null | tail -n1 | sed 's/Kafka version: //')" || true
  printf '%s\n' "${v:-$(cat "$LIB/.kafka-version" 2>/dev/null || echo unknown)}"
}

waitready() {
  # Built once into data/ so repeated starts do not pay `go run`'s link step.
  local bin="$DATA/waitready"
  (cd "$REPO" && go build -o "$bin" ./scripts/kafka/waitready) || die "building scripts/kafka/waitready failed"
  "$bin" -bootstrap "$BOOTSTRAP" "$@" >&2
}

finish() {
  log "broker version: Apache Kafka $(broker_version) (pid $1, logs in $LOGDIR)"
  printf 'export KAFKA_BOOTSTRAP_SERVERS=%s\n' "$BOOTSTRAP"
}

mkdir -p "$DATA" "$LOGDIR"

# Already running?
if pid="$(our_pid)"; then
  log "already running (pid $pid) on $BOOTSTRAP"
  waitready -timeout "${KAFKA_START_TIMEOUT}s" -pid "$pid" || die "broker pid $pid runs but does not answer; see $LOGDIR/server.log (stop it with KAFKA_PORT=$KAFKA_PORT bash scripts/kafka/stop.sh)"
  finish "$pid"
  exit 0
fi
rm -f "$PIDFILE"

# Tools.
command -v java >/dev/null || die "java not found (Kafka 4 needs Java 17+; e.g. apt-get install openjdk-17-jdk-headless)"
command -v mvn >/dev/null || die "mvn not found (e.g. apt-get install maven)"
command -v go >/dev/null || die "go not found"
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
[[ "${java_major:-0}" -ge 17 ]] || die "Kafka 4 needs Java 17+, found: $(java -version 2>&1 | head -n1)"

for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if port_open "$HOST" "$p"; then
    die "$HOST:$p is already in use by another process (not a broker started by this script); stop it or set KAFKA_PORT"
  fi
done

# 1. Jars.
if [[ "$(cat "$LIB/.kafka-version" 2>/dev/null || true)" != "$KAFKA_VERSION" ]]; then
  log "fetching Apache Kafka $KAFKA_VERSION and its runtime dependencies from Maven Central into $LIB"
  t0=$SECONDS
  rm -rf "$LIB.tmp"
  # Output goes to a log, shown on failure (Debian's Maven 3.8 prints stray
  # ANSI resets even with -q -B).
  if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" \
    >"$LOGDIR/mvn.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$LOGDIR/mvn.log" >&2
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies (log above, in $LOGDIR/mvn.log)"
  fi
  ls "$LIB.tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
  printf '%s\n' "$KAFKA_VERSION" >"$LIB.tmp/.kafka-version"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  log "fetched $(ls "$LIB" | wc -l) jars in $((SECONDS - t0))s"
fi

# 2. Configuration.
cat >"$PROPS" <<EOF
# Written by scripts/kafka/start.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KRAFT

# One node: every replication factor and ISR minimum is 1.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Behave like a normal broker for clients, but without test-slowing delays.
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
num.recovery.threads.per.data.dir=1
EOF

# 3. Storage. Reformat (wiping test data) when the ports or the version
# changed: a KRaft quorum remembers its controller endpoint.
want_stamp="version=$KAFKA_VERSION port=$KAFKA_PORT controller=$KAFKA_CONTROLLER_PORT"
if [[ ! -f "$KRAFT/meta.properties" || "$(cat "$STAMP" 2>/dev/null || true)" != "$want_stamp" ]]; then
  rm -rf "$KRAFT" "$STAMP"
  cluster_id="$(java -cp "$LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
  [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid failed"
  log "formatting KRaft storage in $KRAFT (cluster id $cluster_id)"
  java -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$LOGDIR" \
    -cp "$LIB/*" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" \
    >"$LOGDIR/format.log" 2>&1 || { cat "$LOGDIR/format.log" >&2; die "formatting storage failed"; }
  printf '%s\n' "$want_stamp" >"$STAMP"
fi

# 4. Start, detached in its own session so it outlives this script.
log "starting Apache Kafka $KAFKA_VERSION on $BOOTSTRAP (controller $HOST:$KAFKA_CONTROLLER_PORT, heap $KAFKA_HEAP)"
t0=$SECONDS
# shellcheck disable=SC2086 # KAFKA_HEAP is a list of flags
setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
  java $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
  -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$LOGDIR" \
  -cp "$LIB/*" kafka.Kafka "$PROPS" \
  </dev/null >"$LOGDIR/kafka.out" 2>&1 &

pid=""
for _ in $(seq 1 50); do
  pid="$(our_pid || true)"
  [[ -n "$pid" ]] && break
  sleep 0.1
done
if [[ -z "$pid" ]]; then
  tail -n 40 "$LOGDIR/kafka.out" "$LOGDIR/server.log" >&2 2>/dev/null || true
  die "broker did not start"
fi

# 5. Wait: port first (cheap, clear message), then metadata through sarama.
fail_start() {
  log "broker not ready: $*"
  tail -n 40 "$LOGDIR/kafka.out" >&2 2>/dev/null || true
  tail -n 60 "$LOGDIR/server.log" >&2 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  exit 1
}
deadline=$((SECONDS + KAFKA_START_TIMEOUT))
until port_open "$HOST" "$KAFKA_PORT"; do
  kill -0 "$pid" 2>/dev/null || fail_start "java exited"
  ((SECONDS < deadline)) || fail_start "port $KAFKA_PORT not open after ${KAFKA_START_TIMEOUT}s"
  sleep 0.2
done
waitready -timeout "$((deadline - SECONDS > 5 ? deadline - SECONDS : 5))s" -pid "$pid" || fail_start "no metadata answer"
log "ready in $((SECONDS - t0))s"
finish "$pid"
