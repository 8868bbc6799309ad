"""Device check for a CUDA host: run by hand, prints one JSON report.

    python tests/gpu_check.py

Checks that load-time device selection picks CUDA, that EfficientNet-Lite0
gives the same top labels on CUDA as on CPU, and how batch size changes the
per-image cost on each (the case for adaptive batching). Needs torch, numpy,
pillow, opencv and scikit-image plus the three labels wheels; not the rest of
the server (no tesseract, BentoML or faster-whisper needed).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import b64_png, sample
from omnilocal.device import onnx_uses_cuda, torch_device
from omnilocal.media import decode_image
from omnilocal.vision import FaceDetector, Labeler


def per_image_ms(labeler: Labeler, images: list[Any], batch: int) -> float:
    items = (images * batch)[:batch]
    labeler.classify_batch(items)  # warm-up
    start = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        labeler.classify_batch(items)
    if labeler.device == "cuda":
        labeler._torch.cuda.synchronize()
    return (time.perf_counter() - start) / rounds / batch * 1000


def main() -> None:
    import torch

    report: dict[str, Any] = {"torch": torch.__version__, "torch_device": torch_device()}
    try:
        report["onnxruntime_cuda"] = onnx_uses_cuda()
    except ImportError:
        report["onnxruntime_cuda"] = "onnxruntime missing"
    images = [decode_image(b64_png(sample(n))) for n in ("chelsea", "coffee", "astronaut")]
    gpu = Labeler()
    cpu = Labeler()
    cpu.device, cpu.model = "cpu", cpu.model.to("cpu")
    report["labeler_device"] = gpu.device
    top_gpu = [r[0]["name"] for r in gpu.classify_batch(images)]
    top_cpu = [r[0]["name"] for r in cpu.classify_batch(images)]
    conf_gap = max(
        abs(a[0]["confidence"] - b[0]["confidence"])
        for a, b in zip(gpu.classify_batch(images), cpu.classify_batch(images), strict=True)
    )
    report.update(top_gpu=top_gpu, top_cpu=top_cpu, max_top1_confidence_gap=conf_gap)
    for name, lab in (("gpu", gpu), ("cpu", cpu)):
        report[f"{name}_ms_per_image"] = {b: round(per_image_ms(lab, images, b), 3) for b in (1, 8, 32)}
    try:  # needs OpenCV 4.x (5.x dropped CascadeClassifier): report, do not abort, where it differs
        faces = FaceDetector()
        report["faces"] = {n: len(faces.detect(decode_image(b64_png(sample(n))))) for n in ("astronaut", "coffee")}
    except AttributeError as exc:
        report["faces"] = f"skipped: {exc}"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
