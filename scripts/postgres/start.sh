#!/usr/bin/env bash
# Starts a PostgreSQL server on 127.0.0.1 for tests, by hand or from CI, and
# prints the connection URL the PostgreSQL connector tests read. Idempotent:
# when our server already runs it checks the database and prints the URL.
#
#   bash scripts/postgres/start.sh           # then run what it prints:
#   export SLUICE_POSTGRES_URL=postgres://sluice:sluice@127.0.0.1:55432/sluice?sslmode=disable
#   go test ./examples/connectors/postgres/
#   bash scripts/postgres/stop.sh [--clean]
#
# Or in one go: eval "$(bash scripts/postgres/start.sh)"
#
# Progress goes to stderr; stdout carries only the export line.
#
# Steps: install Debian's postgresql package when no server binaries are
# found (as root: apt-get update and install; otherwise it asks you to),
# create a private cluster with initdb in the instance directory (once; see
# lib.sh: scripts/postgres/_data/<port> by default), listening on TCP
# 127.0.0.1:<port> only (no Unix socket) with password (scram-sha-256)
# authentication, start it with pg_ctl (as the postgres account when run as
# root: PostgreSQL refuses to run as root), wait until it accepts
# connections, and create the role and database (owned by the role).
#
# The cluster is tuned for throwaway test data: fsync, full_page_writes and
# synchronous_commit are off. Do not keep anything in it you cannot lose.
#
# Environment:
#   SLUICE_POSTGRES_PORT           TCP port (default 55432)
#   SLUICE_POSTGRES_DATA           instance directory (default: see lib.sh)
#   SLUICE_POSTGRES_DB             database (default sluice)
#   SLUICE_POSTGRES_USER           role (default sluice)
#   SLUICE_POSTGRES_PASSWORD       the role's password (default sluice)
#   SLUICE_POSTGRES_START_TIMEOUT  seconds to wait for readiness (default 60)
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

DB="${SLUICE_POSTGRES_DB:-sluice}"
DB_USER="${SLUICE_POSTGRES_USER:-sluice}"
DB_PASSWORD="${SLUICE_POSTGRES_PASSWORD:-sluice}"
TIMEOUT="${SLUICE_POSTGRES_START_TIMEOUT:-60}"
for v in "$DB" "$DB_USER"; do
  [[ "$v" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database and role names must be lower-case SQL identifiers ([a-z_][a-z0-9_]*), got '$v'"
done

# 1. Binaries.
if ! BIN="$(pg_bindir)"; then
  if [[ "$(id -u)" -ne 0 ]]; then
    die "no PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/initdb and initdb on PATH); install them, e.g. sudo apt-get install postgresql"
  fi
  log "no PostgreSQL server binaries found: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  BIN="$(pg_bindir)" || die "postgresql installed, but no initdb found under /usr/lib/postgresql/*/bin"
fi
MAJOR="$(basename "$(dirname "$BIN")")"
for tool in initdb pg_ctl; do
  [[ -x "$BIN/$tool" ]] || die "$BIN/$tool missing"
done
PSQL="$(command -v psql || true)"
[[ -n "$PSQL" ]] || PSQL="$BIN/psql"
[[ -x "$PSQL" ]] || die "psql not found"
if [[ "$(id -u)" -eq 0 ]] && ! id "$SERVER_USER" >/dev/null 2>&1; then
  die "running as root but there is no '$SERVER_USER' account to run the server as (Debian's postgresql package creates it)"
fi

INST="$(pg_instance_dir)"
PGDATA="$INST/pgdata"
LOGFILE="$INST/postgres.log"
PWFILE="$INST/superuser.password"
URL="postgres://$DB_USER:$DB_PASSWORD@$HOST:$PORT/$DB?sslmode=disable"

mkdir -p "$INST"
if [[ "$(id -u)" -eq 0 ]]; then
  # The default parents are ours: make sure the server's account can
  # traverse them whatever root's umask.
  case "$INST" in
    "$HERE/_data/"* | /var/lib/postgresql/sluice/*) chmod 755 "$(dirname "$INST")" ;;
  esac
  chown "$SERVER_USER:" "$INST"
fi
chmod 700 "$INST"
as_server test -w "$INST" || die "the $SERVER_USER account cannot write $INST (set SLUICE_POSTGRES_DATA to a directory it can use)"

running() { as_server "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

# psql_admin runs SQL as the cluster's superuser over TCP.
psql_admin() {
  PGPASSWORD="$(cat "$PWFILE")" PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -At -v ON_ERROR_STOP=1 \
    -h "$HOST" -p "$PORT" -U postgres -d postgres "$@"
}

# setup_db creates (or updates) the role and the database; idempotent.
setup_db() {
  local have
  have="$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")"
  local pw="${DB_PASSWORD//\'/\'\'}"
  if [[ "$have" == 1 ]]; then
    psql_admin -c "ALTER ROLE \"$DB_USER\" WITH LOGIN PASSWORD '$pw'"
  else
    log "creating role $DB_USER"
    psql_admin -c "CREATE ROLE \"$DB_USER\" WITH LOGIN PASSWORD '$pw'"
  fi
  have="$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")"
  if [[ "$have" != 1 ]]; then
    log "creating database $DB owned by $DB_USER"
    psql_admin -c "CREATE DATABASE \"$DB\" OWNER \"$DB_USER\" ENCODING 'UTF8' TEMPLATE template0"
  fi
}

# wait_ready waits until the server accepts an authenticated query.
wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  until psql_admin -c 'SELECT 1' >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail -n 40 "$LOGFILE" >&2 2>/dev/null || true
      die "server on $HOST:$PORT does not answer after ${TIMEOUT}s (log: $LOGFILE)"
    fi
    sleep 0.2
  done
}

finish() {
  setup_db
  log "ready: PostgreSQL $(psql_admin -c 'SHOW server_version') on $HOST:$PORT (data $PGDATA, log $LOGFILE)"
  printf 'export SLUICE_POSTGRES_URL=%s\n' "$URL"
}

# 2. Already running?
if [[ -f "$PGDATA/PG_VERSION" ]] && running; then
  log "already running on $HOST:$PORT ($PGDATA)"
  wait_ready
  finish
  exit 0
fi

if port_open "$PORT"; then
  die "$HOST:$PORT is already in use by another process (not the server in $PGDATA); stop it or set SLUICE_POSTGRES_PORT"
fi

# 3. Cluster (once; again when the binaries' major version changed: the data
# directory of another major version cannot be started).
if [[ -f "$PGDATA/PG_VERSION" && "$(cat "$PGDATA/PG_VERSION")" != "$MAJOR" ]]; then
  log "the cluster in $PGDATA is PostgreSQL $(cat "$PGDATA/PG_VERSION"), the binaries are $MAJOR: re-creating it (test data is lost)"
  rm -rf "$PGDATA"
fi
if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
  rm -rf "$PGDATA"
  log "creating a PostgreSQL $MAJOR cluster in $PGDATA"
  umask 077
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$PWFILE"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown "$SERVER_USER:" "$PWFILE"
  fi
  as_server "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$PWFILE" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C \
    >"$INST/initdb.log" 2>&1 || {
    cat "$INST/initdb.log" >&2
    die "initdb failed"
  }
  as_server sh -c "cat >'$PGDATA/pg_hba.conf'" <<'EOF'
# Written by scripts/postgres/start.sh: TCP on the loopback only, with
# passwords. There is no Unix socket (unix_socket_directories is empty).
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
EOF
  as_server sh -c "printf '\ninclude_if_exists = '\''sluice.conf'\''\n' >>'$PGDATA/postgresql.conf'"
fi

# 4. Settings (rewritten on every start, so a changed port takes effect).
as_server sh -c "cat >'$PGDATA/sluice.conf'" <<EOF
# Written by scripts/postgres/start.sh; edits are overwritten on the next start.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = ''
max_connections = 200
password_encryption = 'scram-sha-256'
timezone = 'UTC'
log_timezone = 'UTC'
# Throwaway test data: trade durability for speed.
fsync = off
full_page_writes = off
synchronous_commit = off
EOF

# 5. Start (pg_ctl detaches the server, so it outlives this script).
log "starting PostgreSQL $MAJOR on $HOST:$PORT"
t0=$SECONDS
if ! as_server "$BIN/pg_ctl" -D "$PGDATA" -l "$LOGFILE" -w -t "$TIMEOUT" start >"$INST/pg_ctl.log" 2>&1; then
  cat "$INST/pg_ctl.log" >&2
  tail -n 40 "$LOGFILE" >&2 2>/dev/null || true
  die "pg_ctl start failed"
fi
wait_ready
log "started in $((SECONDS - t0))s"
finish
