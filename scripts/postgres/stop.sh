#!/usr/bin/env bash
# Stops the PostgreSQL server that scripts/postgres/start.sh started on
# SLUICE_POSTGRES_PORT (default 55432). Idempotent: succeeds when nothing
# runs.
#
#   bash scripts/postgres/stop.sh          # stop, keep the data
#   bash scripts/postgres/stop.sh --clean  # stop and wipe the instance directory
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

clean=false
for arg in "$@"; do
  case "$arg" in
    --clean) clean=true ;;
    -h | --help)
      sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "postgres: unknown argument: $arg (usage: stop.sh [--clean])" >&2
      exit 2
      ;;
  esac
done

INST="$(pg_instance_dir)"
PGDATA="$INST/pgdata"

if [[ -f "$PGDATA/PG_VERSION" ]] && BIN="$(pg_bindir)" &&
  as_server "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  log "stopping the server in $PGDATA"
  if ! as_server "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null; then
    log "fast shutdown did not finish in 60s; stopping immediately"
    as_server "$BIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null
  fi
  log "stopped"
else
  log "not running"
fi

if $clean; then
  rm -rf "$INST"
  rmdir "$HERE/_data" 2>/dev/null || true
  log "wiped $INST"
fi
