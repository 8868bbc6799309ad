"""Device choice at load time: CUDA when the runtime sees one, else CPU."""

from __future__ import annotations

import os


def torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def onnx_uses_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def ctranslate2_device() -> tuple[str, str]:
    """(device, compute_type) for faster-whisper: int8 on CPU, int8_float16 on CUDA."""
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        return "cuda", "int8_float16"
    return "cpu", "int8"


# Tesseract wants OMP_THREAD_LIMIT=1 (its OpenMP threads only slow it down), but
# set process-wide it makes CTranslate2 (faster-whisper) return EMPTY transcripts
# (measured: tiny.en, int8, CPU). So it is given to the tesseract subprocess only.
TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1"}


def serve_environment() -> None:
    """Environment every service process needs; set before any model loads."""
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.pop("OMP_THREAD_LIMIT", None)
