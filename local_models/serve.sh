#!/usr/bin/env bash
# Serve the local models: `local_models/serve.sh [--host H] [--port P]` (defaults 127.0.0.1:3031).
# The gateway runs this when a policy names `local` without a URL. Nothing is downloaded at
# run time: telemetry off, Hugging Face hub offline, every model from an installed package.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST=127.0.0.1
PORT=3031
while (($#)); do
    case "$1" in
        --host) HOST="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        *) echo "serve.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ ! -x "$HERE/.venv/bin/bentoml" ]]; then
    echo "serve.sh: $HERE/.venv is missing: run local_models/setup.sh first" >&2
    exit 1
fi
export BENTOML_DO_NOT_TRACK=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$HERE/.venv/bin/bentoml" serve service:LocalModels --working-dir "$HERE" --host "$HOST" --port "$PORT"
