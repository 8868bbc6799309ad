#!/usr/bin/env bash
# Install everything, then run every check CI runs: ruff, mypy, import-linter, and the
# whole test suite (gateway, contract suite, local model server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/services.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
if [ -x local_models/.venv/bin/python ] && [ -d local_models/tests ]; then
  local_models/.venv/bin/python -m pytest local_models/tests -p no:cacheprovider -q
fi
