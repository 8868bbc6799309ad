#!/usr/bin/env bash
# Install everything Omnisense needs on a fresh Debian/Ubuntu machine (idempotent):
# the gateway's virtualenv (.venv) with the dev tools, and the local model server's own
# environment (local_models/.venv, Debian packages for its models).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

if [ -x local_models/setup.sh ] && [ "${OMNISENSE_SKIP_LOCAL_MODELS:-0}" != 1 ]; then
  local_models/setup.sh
fi
if [ "${OMNISENSE_SKIP_MLSERVER:-0}" != 1 ]; then
  contract_tests/mlserver/setup.sh   # Seldon MLServer for the OIP adapter's tests (its own venv)
fi
