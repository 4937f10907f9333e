# shellcheck shell=bash
# Shared by scripts/postgres/start.sh and stop.sh (sourced, not run): where
# the test server lives and how to run its tools.
#
# The server is a private cluster made with initdb, not one of Debian's
# pg_createcluster clusters, so that it works the same for root (CI) and for
# a developer's own account, and leaves the system's clusters alone.
#
#   SLUICE_POSTGRES_PORT  TCP port on 127.0.0.1 (default 55432)
#   SLUICE_POSTGRES_DATA  instance directory (default: see pg_instance_dir)

HOST=127.0.0.1
PORT="${SLUICE_POSTGRES_PORT:-55432}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'postgres: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[[ "$PORT" =~ ^[0-9]+$ ]] || die "SLUICE_POSTGRES_PORT must be a port number, got '$PORT'"

# PostgreSQL refuses to run as root: as root the server and its tools run as
# the "postgres" account Debian's package creates; otherwise as the caller.
if [[ "$(id -u)" -eq 0 ]]; then
  SERVER_USER=postgres
else
  SERVER_USER="$(id -un)"
fi

# as_server runs a command as the server's account, from / (the account may
# not be able to enter the caller's working directory, and pg_ctl and initdb
# need to).
as_server() {
  if [[ "$(id -u)" -eq 0 ]]; then
    if command -v runuser >/dev/null; then
      (cd / && runuser -u "$SERVER_USER" -- "$@")
    else
      local q
      q="$(printf '%q ' "$@")"
      (cd / && su -s /bin/sh "$SERVER_USER" -c "$q")
    fi
  else
    (cd / && "$@")
  fi
}

# pg_bindir prints the newest /usr/lib/postgresql/<major>/bin holding initdb
# and pg_ctl (Debian's layout), or the directory of an initdb on PATH.
pg_bindir() {
  local d best="" bestv=0 v
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
    v="$(basename "$(dirname "$d")")"
    v="${v%%.*}"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if ((v > bestv)); then
      best="$d"
      bestv="$v"
    fi
  done
  if [[ -z "$best" ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    best="$(dirname "$(readlink -f "$(command -v initdb)")")"
  fi
  [[ -n "$best" ]] || return 1
  printf '%s\n' "$best"
}

# pg_instance_dir prints the instance directory: SLUICE_POSTGRES_DATA if set,
# else scripts/postgres/_data/<port> when the server's account can reach it,
# else (root with a checkout the postgres account cannot enter, such as one
# under /root) /var/lib/postgresql/sluice/<port>.
pg_instance_dir() {
  if [[ -n "${SLUICE_POSTGRES_DATA:-}" ]]; then
    printf '%s\n' "$SLUICE_POSTGRES_DATA"
    return
  fi
  local d="$HERE/_data/$PORT"
  if [[ "$(id -u)" -ne 0 ]] || as_server test -x "$HERE" 2>/dev/null; then
    printf '%s\n' "$d"
    return
  fi
  printf '%s\n' "/var/lib/postgresql/sluice/$PORT"
}

# port_open: is something accepting connections on HOST:PORT?
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
