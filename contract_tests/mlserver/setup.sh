#!/usr/bin/env bash
# Seldon MLServer's own environment for the OIP tests (it does not co-install with BentoML).
# Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${MLSERVER_VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3.11}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "mlserver setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
"$VENV/bin/python" -c "import mlserver, mlserver_sklearn, sklearn; print('mlserver setup: ok (mlserver', mlserver.__version__ + ')')"
