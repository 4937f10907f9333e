#!/usr/bin/env bash
# Runs ConnectDiff (the Kafka Connect side of the differential tester, protocol in
# ConnectDiff.java's header and the conformance protocol note): JSON-Lines requests on stdin, one response
# line each on stdout. Everything else (Maven, javac, the JVM's own messages) goes to stderr.
#
#   internal/conformance/java/run.sh < internal/conformance/java/testdata/sample.jsonl
#
# Environment:
#   SLUICE_CONNECT_LIB        Kafka Connect's jars (default: <repo>/bench/kafka-connect/lib). When it holds no
#                             connect-json jar they are fetched from Maven Central as the bench does (bench/connect.go).
#   KAFKA_VERSION             the Kafka release to fetch (default: scripts/kafka/pom.xml's <kafka.version>, as bench)
#   SLUICE_CONNECT_JAVA_OPTS  extra JVM options (word-split)
#   TMPDIR                    where the compiled classes are cached (sluice-conformance-<hash of ConnectDiff.java>)
#
# Safe to run concurrently: the fetch is serialised with flock, and the classes are compiled into a private
# temporary directory that is renamed into place atomically (the loser of a race discards its copy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
src="$here/ConnectDiff.java"
default_lib="$repo/bench/kafka-connect/lib"
lib="${SLUICE_CONNECT_LIB:-$default_lib}"
tmproot="${TMPDIR:-/tmp}"

log() { printf 'conformance/java/run.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v java >/dev/null 2>&1 || die "java not found (Java 17+ is needed)"
command -v javac >/dev/null 2>&1 || die "javac not found (a JDK 17+ is needed)"

have_jars() { compgen -G "$1/connect-json-*.jar" >/dev/null; }

kafka_version() {
  if [[ -n "${KAFKA_VERSION:-}" ]]; then
    printf '%s\n' "$KAFKA_VERSION"
    return
  fi
  local v
  v="$(sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$repo/scripts/kafka/pom.xml" 2>/dev/null | head -n1)"
  printf '%s\n' "${v:-4.3.1}"
}

# needs_fetch: no connect-json jar; for the default directory also a .kafka-version other than the wanted
# release (as bench/connect.go). A directory given by SLUICE_CONNECT_LIB is only ever filled when empty of jars.
needs_fetch() {
  have_jars "$lib" || return 0
  if [[ "$lib" == "$default_lib" ]]; then
    [[ "$(cat "$lib/.kafka-version" 2>/dev/null || true)" == "$version" ]] || return 0
  fi
  return 1
}

fetch() {
  command -v mvn >/dev/null 2>&1 || die "mvn not found: Kafka Connect's jars are missing from $lib and are fetched with Maven"
  log "fetching Kafka Connect $version (connect-runtime, connect-file, connect-json) from Maven Central into $lib"
  local t0=$SECONDS tmp="$lib.tmp" mvnlog
  mvnlog="$(mktemp "$tmproot/sluice-conformance-mvn.XXXXXX")"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$repo/bench/kafka-connect/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$version" -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$mvnlog" >&2
    rm -f "$mvnlog"
    die "mvn could not fetch Kafka Connect $version"
  fi
  rm -f "$mvnlog"
  [[ -f "$tmp/connect-runtime-$version.jar" ]] || die "connect-runtime-$version.jar missing after the fetch"
  printf '%s\n' "$version" >"$tmp/.kafka-version"
  rm -rf "$lib"
  mv "$tmp" "$lib"
  log "fetched $(ls "$lib" | wc -l) jars in $((SECONDS - t0))s"
}

version="$(kafka_version)"
if [[ "$lib" != "$default_lib" ]] && ! have_jars "$lib"; then
  # A directory the caller chose is never emptied and refilled by us.
  die "SLUICE_CONNECT_LIB=$lib holds no connect-json jar (unset it to fetch Kafka Connect into $default_lib)"
fi
if needs_fetch; then
  mkdir -p "$tmproot"
  lock="$tmproot/sluice-conformance-fetch.lock"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    flock 9
    if needs_fetch; then fetch; fi
    flock -u 9
    exec 9>&-
  else
    fetch
  fi
fi

# The compiled classes depend on the source and on the jars' release.
hash="$( { cat "$src"; printf '%s\n' "$version" "$lib"; } | sha256sum | cut -c1-16)"
classes="$tmproot/sluice-conformance-$hash"
if [[ ! -f "$classes/ConnectDiff.class" ]]; then
  mkdir -p "$tmproot"
  tmp="$(mktemp -d "$classes.tmp.XXXXXX")"
  log "compiling ConnectDiff.java into $classes"
  if ! javac -encoding UTF-8 --release 17 -nowarn -Xlint:none -cp "$lib/*" -d "$tmp" "$src" 1>&2; then
    rm -rf "$tmp"
    die "javac failed"
  fi
  # rename(2) of a directory onto an existing non-empty one fails: the first process to finish wins.
  if ! mv -T "$tmp" "$classes" 2>/dev/null; then
    rm -rf "$tmp"
    [[ -f "$classes/ConnectDiff.class" ]] || die "could not move the compiled classes into $classes"
  fi
fi

# shellcheck disable=SC2086
exec java -Dlog4j2.level=OFF -Dlog4j2.statusLoggerLevel=OFF -Dfile.encoding=UTF-8 -Duser.timezone=UTC \
  ${SLUICE_CONNECT_JAVA_OPTS:-} -cp "$classes:$lib/*" ConnectDiff "$@"
