"""Video on the local models: frames sampled with PyAV, run through the vision family's label
and moderation models in batches, labels merged into time segments, shots found by PySceneDetect.

- Sampling: one frame every ``1 / LOCAL_MODELS_VIDEO_FPS`` seconds of presentation time (default
  1 frame a second); the decoder runs over every frame (inter-coded video cannot skip), only
  the sampled ones are converted and classified. At most ``MAX_FRAMES`` are sampled.
- Batching: the sampled frames go through a model ``LOCAL_MODELS_VIDEO_BATCH`` at a time, one
  forward pass per batch (default: 16 on a GPU; 1 on a CPU, where batching measured slower,
  ``batch_size``).
- Labels to segments: a label is present in a frame when it is among that frame's
  ``FRAME_TOP_K`` labels with at least ``MIN_FRAME_CONFIDENCE``. Consecutive sampled frames that
  have it make one segment, from the first frame's time to the last one's plus one sampling
  step (capped at the clip's end); its confidence is the mean over those frames. Segments are
  sorted best first (confidence, then the earlier start).
- Moderation: open_nsfw scores every sampled frame (category ``sexual``, as the image task
  names it); every frame is answered, the most confident first, so the caller's
  ``min_confidence`` chooses what counts as flagged.
- Shots: PySceneDetect's ``ContentDetector`` (HSV content change between frames, threshold 27,
  its default) over every frame, read through its PyAV backend from memory; shots shorter
  than ``MIN_SHOT_S`` (0.5 s; its default is 15 frames) are merged into the next.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import invalid, unsupported
from .media import DecodedImage, clamp01, decode_base64

VIDEO_FORMATS = ["mp4", "mov", "webm", "mkv"]
DEMUXERS = {"mp4": "mp4", "mov": "mov", "webm": "matroska", "mkv": "matroska"}
MAX_VIDEO_BYTES = 200 * 1024 * 1024
MAX_VIDEO_SECONDS = 3600.0
MAX_FRAMES = 3600
FRAME_TOP_K = 5
MIN_FRAME_CONFIDENCE = 0.1
SCENE_THRESHOLD = 27.0
MIN_SHOT_S = 0.5  # a cut closer than this to the last one is ignored (flashes, fades)


def sample_fps() -> float:
    return float(os.environ.get("LOCAL_MODELS_VIDEO_FPS", "1.0"))


def batch_size(device: str = "cpu") -> int:
    """Frames a forward pass: ``LOCAL_MODELS_VIDEO_BATCH``, else 16 on a GPU and 1 on a CPU
    (measured by ``bench/video.py``: on one CPU thread a batch of 16 frames labels 0.6-0.75x
    as fast as one frame a pass, and moderates as fast; the README's "Numbers")."""
    given = os.environ.get("LOCAL_MODELS_VIDEO_BATCH")
    if given:
        return max(1, int(given))
    return 16 if device.startswith("cuda") else 1


@dataclass(frozen=True)
class Frame:
    time_s: float
    image: DecodedImage


@dataclass(frozen=True)
class Clip:
    frames: list[Frame]
    duration_s: float
    step_s: float  # the sampling step: a frame stands for this much time


def decode_video(data: str) -> bytes:
    return decode_base64(data, "video", MAX_VIDEO_BYTES)


def _format_of(raw: bytes) -> str:
    if raw[4:8] == b"ftyp":
        return "mov" if raw[8:12] == b"qt  " else "mp4"
    if raw[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in raw[:64] else "mkv"
    raise unsupported(f"video format not recognized: the local models read {', '.join(VIDEO_FORMATS)}")


def sample(raw: bytes, fps: float | None = None, deadline: Callable[[], None] | None = None) -> Clip:
    """Every ``1 / fps`` seconds one RGB frame, with its time; the clip's length from its frames."""
    import av
    from PIL import Image

    step = 1.0 / (fps or sample_fps())
    frames: list[Frame] = []
    end = 0.0
    next_at = 0.0
    try:
        with av.open(io.BytesIO(raw), mode="r", format=DEMUXERS[_format_of(raw)]) as container:
            if not container.streams.video:
                raise invalid("the video holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            base = float(stream.time_base or 0)
            for i, frame in enumerate(container.decode(stream)):
                t = float(frame.time or 0.0)
                end = max(end, t + (frame.duration or 0) * base)
                if t + 1e-6 >= next_at and len(frames) < MAX_FRAMES:
                    image = frame.to_image() if isinstance(frame, av.VideoFrame) else None  # type: ignore[no-untyped-call]
                    if isinstance(image, Image.Image):
                        frames.append(Frame(round(t, 3), DecodedImage(image.convert("RGB"), "video")))
                    next_at = t + step
                if deadline is not None and i % 64 == 0:
                    deadline()
    except av.FFmpegError as exc:
        raise invalid(f"the video could not be decoded: {exc}") from exc
    if not frames:
        raise invalid("the video has no frames")
    if end > MAX_VIDEO_SECONDS:
        raise invalid(f"the video is longer than {MAX_VIDEO_SECONDS:g} s")
    return Clip(frames=frames, duration_s=round(end, 3), step_s=step)


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_batched(
    frames: list[Frame], model: Callable[[list[DecodedImage]], list[Any]], size: int, deadline: Callable[[], None]
) -> list[Any]:
    """The model's answer per frame, ``size`` frames per forward pass."""
    out: list[Any] = []
    for chunk in batches(frames, size):
        deadline()
        out.extend(model([f.image for f in chunk]))
    return out


def segments(clip: Clip, per_frame: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Labels of consecutive sampled frames merged into segments, best first."""
    open_runs: dict[str, tuple[float, float, list[float]]] = {}  # name -> (start, last time, confidences)
    done: list[dict[str, Any]] = []

    def close(name: str, run: tuple[float, float, list[float]]) -> None:
        start, last, scores = run
        end_s = min(clip.duration_s, last + clip.step_s)
        done.append(
            {
                "name": name,
                "confidence": clamp01(sum(scores) / len(scores)),
                "start_s": round(start, 3),
                "end_s": round(max(end_s, start), 3),
            }
        )

    for frame, labels in zip(clip.frames, per_frame, strict=True):
        present = {
            lab["name"]: lab["confidence"] for lab in labels[:FRAME_TOP_K] if lab["confidence"] >= MIN_FRAME_CONFIDENCE
        }
        for name in [n for n in open_runs if n not in present]:
            close(name, open_runs.pop(name))
        for name, score in present.items():
            start, _, scores = open_runs.get(name, (frame.time_s, frame.time_s, []))
            open_runs[name] = (start, frame.time_s, [*scores, score])
    for name, run in open_runs.items():
        close(name, run)
    return sorted(done, key=lambda s: (-s["confidence"], s["start_s"], s["name"]))


def shots(raw: bytes, duration_s: float | None = None) -> list[dict[str, float]]:
    """Shots by PySceneDetect's content detector over every frame; one shot when there is no cut."""
    from scenedetect import ContentDetector, SceneManager
    from scenedetect.backends.pyav import VideoStreamAv

    _format_of(raw)
    try:
        stream = VideoStreamAv(io.BytesIO(raw))
    except Exception as exc:  # PySceneDetect wraps PyAV's errors in its own
        raise invalid(f"the video could not be decoded: {exc}") from exc
    manager = SceneManager()
    manager.add_detector(ContentDetector(threshold=SCENE_THRESHOLD, min_scene_len=MIN_SHOT_S))
    manager.detect_scenes(stream)
    scenes = manager.get_scene_list(start_in_scene=True)
    return [{"start_s": round(float(a.seconds), 3), "end_s": round(float(b.seconds), 3)} for a, b in scenes]


class VideoModels:
    """Video tasks on the vision family's models (one process holds them all)."""

    def __init__(self, labeler: Any, nsfw: Any) -> None:
        self.labeler = labeler
        self.nsfw = nsfw
        self.label_batch = batch_size(str(labeler.device))
        self.moderation_batch = batch_size(str(nsfw.device))

    def capabilities(self) -> dict[str, Any]:
        limits = {"max_bytes": MAX_VIDEO_BYTES, "max_seconds": MAX_VIDEO_SECONDS}
        common = {"formats": VIDEO_FORMATS, "limits": limits}
        step = f"{sample_fps():g}fps"
        return {
            "video.labels": {**common, "model": f"{self.labeler.model_name}@{step}"},
            "video.shots": {**common, "model": f"pyscenedetect-content-{SCENE_THRESHOLD:g}"},
            "video.moderation": {**common, "model": f"{self.nsfw.model_name}@{step}"},
        }

    def labels(self, video: str, max_results: int = 50, batch: int | None = None) -> dict[str, Any]:
        from .budget import check_deadline

        def deadline() -> None:
            check_deadline("the video labels")

        clip = sample(decode_video(video), deadline=deadline)
        per_frame = run_batched(clip.frames, self.labeler.classify_batch, batch or self.label_batch, deadline)
        return {"segments": segments(clip, per_frame)[:max_results], "video": _info(clip)}

    def moderation(self, video: str, max_results: int = 50, batch: int | None = None) -> dict[str, Any]:
        from .budget import check_deadline

        def deadline() -> None:
            check_deadline("the video moderation")

        clip = sample(decode_video(video), deadline=deadline)
        answers = run_batched(clip.frames, self.nsfw.classify_batch, batch or self.moderation_batch, deadline)
        frames = [
            {"time_s": frame.time_s, "category": flag["category"], "confidence": flag["confidence"]}
            for frame, answer in zip(clip.frames, answers, strict=True)
            for flag in answer["flags"]
        ]
        frames.sort(key=lambda f: (-f["confidence"], f["time_s"]))
        return {"frames": frames[:max_results], "video": _info(clip)}

    def shots(self, video: str) -> dict[str, Any]:
        return {"shots": shots(decode_video(video))}


def _info(clip: Clip) -> dict[str, Any]:
    first = clip.frames[0].image.image
    return {"duration_s": clip.duration_s, "width": first.width, "height": first.height}
