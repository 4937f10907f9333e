#!/usr/bin/env bash
# Creates a Python virtual environment holding the Kafka Connect REST
# clients from PyPI that the Sluice REST API is tested with
# (examples/standalone/pyclients_test.go), at pinned versions, and prints
# the environment's bin directory (the value for SLUICE_PYCLIENTS):
#
#   kafka-connect-py==1.0.0            the `kafka-connect` CLI and library
#   kafka-connect-healthcheck==0.3.0   the `kafka-connect-healthcheck` server
#
#   bash scripts/pyclients/setup.sh [VENV_DIR]   # default scripts/pyclients/venv (gitignored)
#   export SLUICE_PYCLIENTS="$(bash scripts/pyclients/setup.sh)"
#
# Idempotent: an existing environment that already holds both pinned
# versions is reused without touching the network. Needs python3 with the
# venv module (Debian: apt-get install python3-venv). pip's output goes to
# stderr, so stdout is only the bin directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/venv}"
pins=(kafka-connect-py==1.0.0 kafka-connect-healthcheck==0.3.0)

installed() {
  [[ -x "$venv/bin/python3" && -x "$venv/bin/kafka-connect" && -x "$venv/bin/kafka-connect-healthcheck" ]] || return 1
  local frozen
  frozen="$("$venv/bin/python3" -m pip freeze 2>/dev/null)" || return 1
  local p
  for p in "${pins[@]}"; do
    grep -qix -- "$p" <<<"$frozen" || return 1
  done
}

if ! installed; then
  if [[ ! -x "$venv/bin/python3" ]]; then
    python3 -m venv "$venv" >&2 || {
      echo "python3 -m venv $venv failed: on Debian install python3-venv" >&2
      exit 1
    }
  fi
  "$venv/bin/python3" -m pip install --disable-pip-version-check --quiet "${pins[@]}" >&2
  installed || { echo "$venv: ${pins[*]} not installed after pip install" >&2; exit 1; }
fi
cd "$venv/bin" && pwd
