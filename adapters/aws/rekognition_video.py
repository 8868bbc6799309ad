"""Rekognition Video: video.labels, video.shots, video.moderation, as stored-video jobs.

1. The clip is staged in the provider's ``video_bucket`` (else ``s3_bucket``) under
   ``video_prefix``; an ``s3://`` reference from a bucket the block names in ``buckets`` is
   read where it is (not uploaded, not deleted).
2. ``StartLabelDetection`` (``AggregateBy`` SEGMENTS at Get), ``StartSegmentDetection``
   (``SegmentTypes`` SHOT) or ``StartContentModeration`` starts the job; ``MinConfidence``
   is the request's ``min_confidence`` x 100 where given.
3. The matching ``Get*`` call is polled with backoff (``video_poll_s`` growing x1.5 up to
   ``video_poll_max_s``), never past the request's deadline (then ``UpstreamTimeout``); once
   SUCCEEDED, every page is read (``NextToken``, ``MaxResults`` 1000). FAILED is the
   vendor refusing the clip (its ``StatusMessage``): ``UnprocessableInput``, which the kit
   turns into ``Unsupported`` for a clip the gateway decoded, so the next candidate runs.
4. The staged object is deleted afterwards in the background, whatever happened.

Rekognition Video reads H.264 in MP4 or MOV (declared as ``formats``/``codecs``: a WebM or
VP9 clip is routed past AWS), up to 10 GB and 6 hours. Times are milliseconds; confidences
0-100. Labels are segments (``StartTimestampMillis``/``EndTimestampMillis``; an answer by
timestamp gives an instant), best first; shots are the SHOT segments in order; moderation
frames are ``ModerationLabels`` at their ``Timestamp``, named as Rekognition's image
moderation names them (the same taxonomy), the most confident first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import parse_s3_uri, raw
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import (
    InvalidInput,
    ModeratedFrame,
    Shot,
    Task,
    TaskResult,
    UnprocessableInput,
    Unsupported,
    UpstreamTimeout,
    VideoInfo,
    VideoLabelsResult,
    VideoModerationResult,
    VideoRequest,
    VideoSegment,
    VideoShotsResult,
)
from omnisense.schema.results import by_confidence

log = logging.getLogger(__name__)

MODEL = "rekognition-video"
TASKS = frozenset({Task.VIDEO_LABELS, Task.VIDEO_SHOTS, Task.VIDEO_MODERATION})
FORMATS = frozenset({"mp4", "mov"})
CODECS = frozenset({"h264"})
MAX_BYTES = 10 * 1024**3
MAX_SECONDS = 6 * 3600.0
PAGE = 1000
START = {
    Task.VIDEO_LABELS: "start_label_detection",
    Task.VIDEO_SHOTS: "start_segment_detection",
    Task.VIDEO_MODERATION: "start_content_moderation",
}
GET = {
    Task.VIDEO_LABELS: "get_label_detection",
    Task.VIDEO_SHOTS: "get_segment_detection",
    Task.VIDEO_MODERATION: "get_content_moderation",
}
ITEMS = {Task.VIDEO_LABELS: "Labels", Task.VIDEO_SHOTS: "Segments", Task.VIDEO_MODERATION: "ModerationLabels"}


def start_params(task: Task, request: VideoRequest, bucket: str, key: str, token: str) -> dict[str, Any]:
    params: dict[str, Any] = {"Video": {"S3Object": {"Bucket": bucket, "Name": key}}, "ClientRequestToken": token}
    if task is Task.VIDEO_SHOTS:
        params["SegmentTypes"] = ["SHOT"]
    elif request.min_confidence is not None:
        params["MinConfidence"] = max(0.0, min(100.0, request.min_confidence * 100.0))
    return params


def get_params(task: Task, job_id: str, token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"JobId": job_id, "MaxResults": PAGE}
    if task is Task.VIDEO_LABELS:
        params |= {"SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS"}
    elif task is Task.VIDEO_MODERATION:
        params["SortBy"] = "TIMESTAMP"
    if token:
        params["NextToken"] = token
    return params


def _s(millis: Any) -> float:
    return round(float(millis) / 1000.0, 3)


def _info(metadata: Any, request: VideoRequest) -> VideoInfo | None:
    """The decoded facts, else what Rekognition says (``VideoMetadata``: an object, or a list per video)."""
    meta = metadata[0] if isinstance(metadata, list) and metadata else metadata
    if request.video.duration_s is not None or not isinstance(meta, dict) or "DurationMillis" not in meta:
        seconds = request.video.duration_s
        return None if seconds is None else VideoInfo(duration_s=seconds, codec=request.video.codec)
    return VideoInfo(
        duration_s=_s(meta["DurationMillis"]),
        width=meta.get("FrameWidth"),
        height=meta.get("FrameHeight"),
        codec=meta.get("Codec"),
    )


def from_vendor(task: Task, items: list[dict[str, Any]], metadata: Any, request: VideoRequest) -> TaskResult:
    info = _info(metadata, request)
    if task is Task.VIDEO_SHOTS:
        shots = [
            Shot(start_s=_s(s["StartTimestampMillis"]), end_s=_s(s["EndTimestampMillis"]))
            for s in items
            if s.get("Type", "SHOT") == "SHOT"
        ]
        return VideoShotsResult(shots=sorted(shots, key=lambda s: s.start_s), video=info)
    if task is Task.VIDEO_MODERATION:
        frames = [
            ModeratedFrame(
                time_s=_s(m["Timestamp"]),
                category=str(m["ModerationLabel"]["Name"]),
                confidence=round(float(m["ModerationLabel"]["Confidence"]) / 100.0, 6),
            )
            for m in items
        ]
        frames.sort(key=lambda f: (by_confidence(f), f.time_s))
        return VideoModerationResult(frames=frames[: request.max_results], video=info)
    segments = []
    for item in items:
        start = item.get("StartTimestampMillis", item["Timestamp"])
        end = item.get("EndTimestampMillis", item["Timestamp"])
        label = item["Label"]
        confidence = round(float(label["Confidence"]) / 100.0, 6)
        segments.append(VideoSegment(name=str(label["Name"]), confidence=confidence, start_s=_s(start), end_s=_s(end)))
    segments.sort(key=lambda s: (by_confidence(s), s.start_s, s.name))
    return VideoLabelsResult(segments=segments[: request.max_results], video=info)


async def wait_and_read(aws: AwsClients, task: Task, job_id: str, ctx: CallContext) -> tuple[list[Any], Any]:
    """Poll ``Get*`` until the job SUCCEEDED, then read every page: (items, VideoMetadata)."""
    delay = aws.config.video_poll_s
    while True:
        page = await aws.call("rekognition", GET[task], get_params(task, job_id, None), ctx)
        status = page.get("JobStatus")
        if status == "SUCCEEDED":
            break
        if status == "FAILED":
            reason = page.get("StatusMessage") or "no reason given"
            raise UnprocessableInput(f"rekognition video could not analyse the clip: {reason}"[:500], field="video")
        if ctx.remaining_s() <= delay:
            raise UpstreamTimeout(f"{aws.name}: rekognition video job {job_id} still {status} at the deadline")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, aws.config.video_poll_max_s)
    items = list(page.get(ITEMS[task]) or [])
    metadata = page.get("VideoMetadata")
    while page.get("NextToken"):
        page = await aws.call("rekognition", GET[task], get_params(task, job_id, page["NextToken"]), ctx)
        items.extend(page.get(ITEMS[task]) or [])
    return items, metadata


def _delete(aws: AwsClients, bucket: str, key: str) -> None:
    """Best effort: remove the staged clip (runs in the pool)."""
    try:
        aws.client("s3").delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        log.warning("aws rekognition video cleanup: cannot delete s3://%s/%s: %s", bucket, key, exc)


async def run(aws: AwsClients, task: Task, request: VideoRequest, ctx: CallContext) -> ProviderResult:
    media = request.video
    token = re.sub(r"[^0-9A-Za-z_-]", "-", f"omni-{uuid.uuid4().hex}")[:64]
    staged: tuple[str, str] | None = None
    if media.uri:
        bucket, key = parse_s3_uri(media.uri)
    else:
        bucket = aws.config.video_bucket or aws.config.s3_bucket or ""
        if not bucket:
            raise Unsupported(f"{aws.name}: {task} needs video_bucket (or s3_bucket) in the provider's config")
        if not media.data:
            raise InvalidInput("the video is empty", field="video")
        key = f"{aws.config.video_prefix}{token}.{media.format}"
        staged = (bucket, key)
    try:
        if staged is not None:
            await aws.call("s3", "put_object", {"Bucket": bucket, "Key": key, "Body": media.data}, ctx)
        started = await aws.call("rekognition", START[task], start_params(task, request, bucket, key, token), ctx)
        items, metadata = await wait_and_read(aws, task, str(started["JobId"]), ctx)
        result = parsed(aws.name, lambda: from_vendor(task, items, metadata, request))
    finally:
        if staged is not None:
            aws.background(_delete, aws, *staged)
    answer = {ITEMS[task]: items, "VideoMetadata": metadata}
    return ProviderResult(result=result, model=MODEL, raw=raw(answer, request.include_raw))
