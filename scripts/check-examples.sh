#!/usr/bin/env bash
# Builds every example as a user would after copying it out of the
# repository: each examples/<name> directory (and examples/connectors/<name>)
# goes into a fresh temporary module whose go.mod requires
# github.com/sluicehq/sluice with a `replace` to this checkout, then
# `go build ./...` and `go vet ./...` (which compiles the tests too) run
# there. An example that imports an internal/ package, or anything else only
# code inside the module can reach, fails here. The packages' runnable
# Examples (example*_test.go outside internal/), which pkg.go.dev shows
# users, must not import internal/ packages either. An example's own
# _test.go files that use the repository's internal test helpers (the
# secured Apache Kafka broker, certificates) are the repository's tests, not
# part of what a user copies: they are left out of the copy, and listed.
#
#   bash scripts/check-examples.sh            # all examples
#   bash scripts/check-examples.sh quickstart # the named ones
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="github.com/sluicehq/sluice"

dirs=()
if (($# > 0)); then
  for n in "$@"; do dirs+=("$root/examples/$n"); done
else
  while IFS= read -r d; do dirs+=("$d"); done < <(
    find "$root/examples" -name '*.go' -not -path '*/testdata/*' -printf '%h\n' | sort -u)
fi

failed=0
if (($# == 0)); then
  while IFS= read -r f; do
    if grep -q '"github.com/sluicehq/sluice/internal/' "$f"; then
      echo "FAIL  ${f#"$root"/}: a runnable Example imports an internal package (users cannot copy it)"
      failed=1
    fi
  done < <(find "$root" -name 'example*_test.go' -not -path "$root/internal/*" -not -path "$root/examples/*")
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for d in "${dirs[@]}"; do
  rel="${d#"$root"/}"
  name="$(echo "$rel" | tr '/' '_')"
  m="$work/$name"
  mkdir -p "$m"
  cp -r "$d/." "$m/"
  left_out=()
  while IFS= read -r f; do
    if grep -q '"github.com/sluicehq/sluice/internal/' "$f"; then
      left_out+=("$(basename "$f")")
      rm "$f"
    fi
  done < <(find "$m" -name '*_test.go')
  # Nested example packages are copied with their parent; only the top
  # directory is a module of its own.
  (
    cd "$m"
    go mod init "example.com/$name" >/dev/null 2>&1
    go mod edit -require "$module@v0.0.0-00010101000000-000000000000" -replace "$module=$root"
    go mod tidy >/dev/null
    go build ./...
    go vet ./...
  ) >"$work/$name.log" 2>&1 && echo "ok    $rel${left_out:+ (left out, tests using internal helpers: ${left_out[*]})}" || {
    echo "FAIL  $rel (copied to a module of its own, with replace $module => $root):"
    sed 's/^/      /' "$work/$name.log"
    failed=1
  }
done
exit "$failed"
