"""What every adapter checks on a video request before it calls its vendor, once, in the kit.

An object reference (``Media.uri``, ``s3://bucket/key`` or ``gs://bucket/key``) is read by the
vendor itself: only from a bucket the provider block names (``TaskSupport.buckets``). A
decoded codec the provider does not take (``TaskSupport.codecs``) is refused before the
vendor is paid. Both are ``Unsupported``: the dispatcher falls back to the next candidate.
"""

from __future__ import annotations

from omnisense.schema import Task, TaskSupport, Unsupported, VideoRequest


def check_video(name: str, task: Task, support: TaskSupport | None, request: VideoRequest) -> None:
    media = request.video
    if support is None:
        return
    if media.uri is not None:
        bucket = media.bucket
        if bucket not in support.buckets:
            offer = f" (it reads {', '.join(support.buckets)})" if support.buckets else " (it reads uploads only)"
            raise Unsupported(f"{name} does not read objects from {bucket} for {task}{offer}", field="video.uri")
        return
    if support.codecs is not None and media.codec is not None and media.codec not in support.codecs:
        raise Unsupported(f"{name} does not take {media.codec} video for {task}", field="video")


def video_buckets(buckets: list[str], scheme: str) -> tuple[str, ...]:
    """A provider block's ``buckets`` as ``scheme://name`` (lower case); a bare name gets ``scheme``."""
    out = []
    for bucket in buckets:
        name = bucket.strip().lower().rstrip("/")
        out.append(name if "://" in name else f"{scheme}://{name}")
    return tuple(out)
