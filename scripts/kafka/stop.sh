#!/usr/bin/env bash
# Stops the broker that scripts/kafka/start.sh started on KAFKA_PORT
# (default 9092), by the pid file in its instance directory
# scripts/kafka/_data/$KAFKA_PORT. Idempotent: succeeds when nothing runs.
#
#   bash scripts/kafka/stop.sh          # stop, keep data (topics survive)
#   bash scripts/kafka/stop.sh --clean  # stop and wipe the instance directory
#
# The fetched jars in scripts/kafka/lib are kept either way.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
DATA="$HERE/_data/$KAFKA_PORT"
PIDFILE="$DATA/kafka.pid"

clean=false
for arg in "$@"; do
  case "$arg" in
    --clean) clean=true ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kafka: unknown argument: $arg (usage: stop.sh [--clean])" >&2; exit 2 ;;
  esac
done

log() { printf 'kafka: %s\n' "$*" >&2; }

is_ours() {
  kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if [[ "$pid" =~ ^[0-9]+$ ]] && is_ours "$pid"; then
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # A controlled shutdown of one node takes a few seconds.
  for _ in $(seq 1 300); do
    is_ours "$pid" || break
    sleep 0.1
  done
  if is_ours "$pid"; then
    log "still running after 30s, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      is_ours "$pid" || break
      sleep 0.1
    done
  fi
  log "stopped"
else
  log "not running"
fi
rm -f "$PIDFILE"

if $clean; then
  rm -rf "$DATA"
  rmdir "$HERE/_data" 2>/dev/null || true
  log "wiped $DATA"
fi
