"""Video Intelligence ``videos:annotate``: video.labels, video.shots, video.moderation.

One feature per request: LABEL_DETECTION, SHOT_CHANGE_DETECTION, EXPLICIT_CONTENT_DETECTION.
The video goes inline (``input_content``, up to ``MAX_INLINE_BYTES``) or, for an object
reference, as ``input_uri`` (``gs://`` only, from a bucket the provider block names in
``buckets``). ``annotate_video`` starts a long-running operation; the SDK polls it
(``operations.get``) every ``video_poll_s`` seconds (growing by half each time, at most
5 s) until it is done or the request's deadline is spent (then ``UpstreamTimeout``).

- Labels: the shot-level annotations (each label over each shot it was found in) and the
  segment-level ones (over the whole video or the segment), one ``VideoSegment`` per
  (label, span), the entity's ``description`` as the name and Google's confidence;
  best first (confidence, then the earlier start).
- Shots: ``shotAnnotations`` in order of time.
- Moderation: ``explicitAnnotation.frames`` give a pornography likelihood per sampled
  frame on Google's five-step scale, reported as category ``adult`` (the name Vision's
  SafeSearch gives the same signal) with the likelihood mapped as Vision's is
  (``vision.LIKELIHOOD``: VERY_UNLIKELY 0.05 ... VERY_LIKELY 0.95; UNKNOWN: no frame);
  the most likely first.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.google.common import raw, score
from adapters.google.vision import LIKELIHOOD
from adapters.kit import parsed
from omnisense.schema import (
    InvalidInput,
    ModeratedFrame,
    PayloadTooLarge,
    Shot,
    Task,
    TaskResult,
    UpstreamTimeout,
    VideoInfo,
    VideoLabelsResult,
    VideoModerationResult,
    VideoRequest,
    VideoSegment,
    VideoShotsResult,
)

MODEL = "video-intelligence"
TASKS = frozenset({Task.VIDEO_LABELS, Task.VIDEO_SHOTS, Task.VIDEO_MODERATION})
FORMATS = frozenset({"mp4", "mov", "webm", "mkv"})
MAX_INLINE_BYTES = 10 * 1024 * 1024  # larger clips go through Cloud Storage (a gs:// reference)
FEATURES = {Task.VIDEO_LABELS: 1, Task.VIDEO_SHOTS: 2, Task.VIDEO_MODERATION: 3}  # the Feature enum
EXPLICIT_CATEGORY = "adult"
MAX_POLL_S = 5.0


def to_vendor(task: Task, request: VideoRequest) -> dict[str, Any]:
    media = request.video
    params: dict[str, Any] = {"features": [FEATURES[task]]}
    if media.uri:
        if not media.uri.startswith("gs://"):
            raise InvalidInput(f"google reads videos from uploads or gs:// URIs, not {media.uri[:60]!r}", field="video")
        params["input_uri"] = media.uri
        return params
    if not media.data:
        raise InvalidInput("the video is empty", field="video")
    if media.size > MAX_INLINE_BYTES:
        raise PayloadTooLarge(
            f"google takes inline video up to {MAX_INLINE_BYTES} bytes (larger: a gs:// reference)", field="video"
        )
    params["input_content"] = media.data
    return params


def seconds(duration: Any) -> float:
    """A protobuf ``Duration`` as seconds."""
    return round(float(duration.seconds) + float(duration.nanos) / 1e9, 6)


def _span(segment: Any) -> tuple[float, float]:
    return seconds(segment.start_time_offset), seconds(segment.end_time_offset)


def from_vendor(task: Task, response: Any, request: VideoRequest) -> TaskResult:
    """The first (only) video's annotations; an error in it raises."""
    if not response.annotation_results:
        raise ValueError("no annotation results")
    result = response.annotation_results[0]
    if result.HasField("error") and result.error.code:
        from adapters.google.errors import status_error

        raise status_error(result.error.code, result.error.message)
    info = VideoInfo(duration_s=request.video.duration_s) if request.video.duration_s is not None else None
    if task is Task.VIDEO_SHOTS:
        shots = [Shot(start_s=a, end_s=b) for a, b in sorted(_span(s) for s in result.shot_annotations)]
        return VideoShotsResult(shots=shots, video=info)
    if task is Task.VIDEO_MODERATION:
        frames = [
            ModeratedFrame(time_s=seconds(f.time_offset), category=EXPLICIT_CATEGORY, confidence=LIKELIHOOD[level])
            for f in result.explicit_annotation.frames
            if (level := int(f.pornography_likelihood)) in LIKELIHOOD
        ]
        frames.sort(key=lambda f: (-(f.confidence or 0.0), f.time_s))
        return VideoModerationResult(frames=frames[: request.max_results], video=info)
    return VideoLabelsResult(segments=_segments(result)[: request.max_results], video=info)


def _segments(result: Any) -> list[VideoSegment]:
    seen: dict[tuple[str, float, float], VideoSegment] = {}
    for annotation in [*result.shot_label_annotations, *result.segment_label_annotations]:
        name = annotation.entity.description
        for found in annotation.segments:
            start, end = _span(found.segment)
            key = (name.lower(), start, end)
            if key not in seen:
                seen[key] = VideoSegment(name=name, confidence=score(found.confidence), start_s=start, end_s=end)
    return sorted(seen.values(), key=lambda s: (-(s.confidence or 0.0), s.start_s, s.name))


def annotate(google: GoogleClients, params: dict[str, Any], ctx: CallContext) -> Any:
    """``annotate_video`` and its operation polled to the end (blocking: run in the pool)."""
    from google.api_core.future.polling import DEFAULT_POLLING

    timeout = google.timeout(ctx, google.config.timeout_s)
    client = google.client("videointelligence")
    operation = client.annotate_video(request=params, retry=None, timeout=timeout)
    left = google.timeout(ctx, google.config.video_timeout_s)
    polling = DEFAULT_POLLING.with_timeout(left).with_delay(initial=google.config.video_poll_s, maximum=MAX_POLL_S)
    try:
        answer = operation.result(timeout=left, polling=polling)
    except concurrent.futures.TimeoutError:
        raise UpstreamTimeout(f"{google.name}: the video annotation was not done within {left:.1f} s") from None
    return type(answer).pb(answer)


async def run(google: GoogleClients, task: Task, request: VideoRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(task, request)
    response = await google.run(annotate, google, params, ctx, ctx=ctx)
    result = parsed(google.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
