#!/usr/bin/env bash
# Install everything Omnisense needs on a fresh Debian/Ubuntu machine (idempotent):
# the gateway's virtualenv (.venv) with the dev tools, and the local model server's own
# environment (local_models/.venv, Debian packages for its models).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium: the dashboard's browser tests drive it headless with Playwright
# (executable_path=/usr/bin/chromium; Playwright downloads no browser of its own).
if [ "${OMNISENSE_SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: apt-get install chromium"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
fi

# PostgreSQL and Redis: the request log's, the job store's and the shared state's backends, which
# the tests use (scripts/services.sh starts them; under CI=true a test that needs one fails
# rather than skips). Debian's packages, when missing.
if [ "${OMNISENSE_SKIP_SERVICES:-0}" != 1 ]; then
  pkgs=()
  command -v pg_ctlcluster >/dev/null || pkgs+=(postgresql postgresql-client)
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  if [ ${#pkgs[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: apt-get install ${pkgs[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${pkgs[@]}"
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# dev = all (server + every vendor and sink extra) + the test tools; `pip install omnisense` alone is the client.
.venv/bin/python -m pip install -q -e '.[dev]'

if [ -x local_models/setup.sh ] && [ "${OMNISENSE_SKIP_LOCAL_MODELS:-0}" != 1 ]; then
  local_models/setup.sh
fi
if [ "${OMNISENSE_SKIP_MLSERVER:-0}" != 1 ]; then
  contract_tests/mlserver/setup.sh   # Seldon MLServer for the OIP adapter's tests (its own venv)
fi
