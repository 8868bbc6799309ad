"""Seconds of video processed per CPU second on the local models, batched against one frame a pass.

Run with the model server's venv from the repository root:

    local_models/.venv/bin/python bench/video.py [--seconds 20] [--rounds 3] [--fps 1]

The clip is made here: ``--seconds`` of 320x240 H.264 at 25 frames a second, the scikit-image
pictures (astronaut, cat, coffee, rocket) in turn, each slowly panning so every frame differs.
The models are the model server's own (``omnilocal.video.VideoModels`` on EfficientNet-Lite0
and open_nsfw), loaded in this process and called directly, so the measure is the video path
alone (no HTTP). CPU is ``time.process_time()`` (every thread of the process) around one call;
torch and onnxruntime run one thread each, as the server's families do. Rows are medians over
``--rounds`` interleaved rounds (this machine drifts by tens of percent between minutes).

Rows, at the default sampling rate (``LOCAL_MODELS_VIDEO_FPS``, 1 frame a second) and at
``--fast-fps`` (5) to show batching where there are more frames:

- decode + sample: PyAV decoding every frame and converting the sampled ones (the floor);
- labels / moderation, batched (``--batch`` frames a forward pass, 16 by default) and
  unbatched (1 frame a pass);
- shots: PySceneDetect over every frame.

"video s / CPU s" is the clip's length over the call's CPU seconds; "x unbatched" compares
the batched row with the unbatched one of the same task and rate.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local_models"))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LOCAL_MODELS_ONNX_THREADS", "1")

PICTURES = ("astronaut", "chelsea", "coffee", "rocket")


def make_clip(seconds: int, fps: int = 25, size: tuple[int, int] = (320, 240)) -> bytes:
    import av
    import numpy as np
    from PIL import Image
    from skimage import data

    frames_each = seconds * fps // len(PICTURES)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for name in PICTURES:
            big = Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB").resize((size[0] + 80, size[1] + 60))
            for i in range(frames_each):
                shift = i * 80 // max(1, frames_each)  # a slow pan: every frame differs
                pixels = np.asarray(big.crop((shift, shift * 3 // 4, shift + size[0], shift * 3 // 4 + size[1])))
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def cpu_of(call: Callable[[], Any]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fps", type=float, default=1.0, help="the default sampling rate")
    parser.add_argument("--fast-fps", type=float, default=5.0, help="a denser sampling rate")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from omnilocal import video
    from omnilocal.nsfw import NsfwClassifier
    from omnilocal.vision import Labeler

    models = video.VideoModels(Labeler(), NsfwClassifier())
    raw = make_clip(args.seconds)
    b64 = base64.b64encode(raw).decode()
    seconds = video.sample(raw, 1.0).duration_s

    def task(kind: str, fps: float, batch: int) -> Callable[[], Any]:
        def run() -> Any:
            os.environ["LOCAL_MODELS_VIDEO_FPS"] = str(fps)
            if kind == "labels":
                return models.labels(b64, 50, batch)
            if kind == "moderation":
                return models.moderation(b64, 50, batch)
            if kind == "shots":
                return models.shots(b64)
            return video.sample(raw, fps)

        return run

    cases: list[tuple[str, float, int]] = [("decode + sample", args.fps, 0), ("shots", 0.0, 0)]
    for fps in (args.fps, args.fast_fps):
        if fps != args.fps:
            cases.append(("decode + sample", fps, 0))
        for kind in ("labels", "moderation"):
            cases += [(kind, fps, args.batch), (kind, fps, 1)]
    task("labels", args.fps, args.batch)()  # warm-up: first passes allocate
    times: dict[tuple[str, float, int], list[float]] = {case: [] for case in cases}
    for _ in range(args.rounds):
        for case in cases:
            times[case].append(cpu_of(task(*case)))
    print(f"clip: {seconds:.1f} s of 320x240 H.264 at 25 fps ({len(raw) / 1024:.0f} KiB); medians of {args.rounds}")
    print(f"{'work':<18} {'frames/s':>8} {'batch':>5} {'CPU s':>7} {'video s / CPU s':>16} {'x unbatched':>12}")
    for kind, fps, batch in cases:
        cpu = statistics.median(times[(kind, fps, batch)])
        ratio = ""
        if batch > 1:
            ratio = f"{statistics.median(times[(kind, fps, 1)]) / cpu:.2f}"
        rate = "all" if kind == "shots" else f"{fps:g}"
        shown = "-" if batch == 0 else str(batch)
        print(f"{kind:<18} {rate:>8} {shown:>5} {cpu:>7.2f} {seconds / cpu:>16.1f} {ratio:>12}")


if __name__ == "__main__":
    main()
