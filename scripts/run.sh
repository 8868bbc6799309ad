#!/usr/bin/env bash
# Install everything, then serve the gateway on the embedded default policy (`local`)
# at http://127.0.0.1:8080. Extra arguments go to `omnisense serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/omnisense serve --policy "${OMNISENSE_POLICY:-local}" "$@"
