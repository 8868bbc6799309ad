"""Rekognition Video through boto3 against the fakes: the clip staged in S3 (moto) and removed,
the job polled, every page read, an s3:// reference read in place, failures mapped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from adapters.aws.provider import AwsProvider
from contract_tests.abstract.video import CLIP, video_ctx, video_request
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import BUCKET, READ_BUCKET, REGION
from contract_tests.fakes.aws_json import AwsJsonFake
from omnisense.schema import (
    Media,
    Task,
    Unsupported,
    UpstreamTimeout,
    VideoLabelsResult,
    VideoModerationResult,
    VideoRequest,
    VideoShotsResult,
)


@pytest.fixture
def fake(aws_fake: AwsJsonFake) -> Iterator[AwsJsonFake]:
    aws_fake.reset()
    yield aws_fake
    aws_fake.video.polls_until_done = 1
    aws_fake.video.fail_next = None


@pytest.fixture
def s3(moto_url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


def _bodies(fake: AwsJsonFake, operation: str) -> list[dict[str, Any]]:
    return [r.json() for r in fake.requests if r.headers.get("X-Amz-Target") == f"RekognitionService.{operation}"]


def _staged(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="omnisense/video/")
    return [o["Key"] for o in listed.get("Contents", [])]


async def test_labels_staged_polled_paged_and_cleaned_up(aws_provider: AwsProvider, fake: AwsJsonFake, s3: Any) -> None:
    out = await aws_provider.run(Task.VIDEO_LABELS, video_request(min_confidence=0.5), video_ctx())
    assert isinstance(out.result, VideoLabelsResult) and out.model == "rekognition-video"
    assert [s.name for s in out.result.segments] == ["Person", "Car", "Road", "Tree", "Building"]  # all 3 pages
    first = out.result.segments[0]
    assert (first.confidence, first.start_s, first.end_s) == (0.9935, 0.0, 6.006)
    (start,) = _bodies(fake, "StartLabelDetection")
    staged = start["Video"]["S3Object"]
    assert staged["Bucket"] == BUCKET and staged["Name"].startswith("omnisense/video/") and start["MinConfidence"] == 50
    gets = _bodies(fake, "GetLabelDetection")
    assert len(gets) == 4 and [g.get("NextToken") for g in gets] == [None, None, "2", "4"]  # IN_PROGRESS, 3 pages
    assert gets[0]["AggregateBy"] == "SEGMENTS"
    for _ in range(100):  # removed in the background
        if not _staged(s3):
            break
        await asyncio.sleep(0.05)
    assert _staged(s3) == []


async def test_shots_and_moderation(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    shots = (await aws_provider.run(Task.VIDEO_SHOTS, video_request(), video_ctx())).result
    assert isinstance(shots, VideoShotsResult)
    assert [(s.start_s, s.end_s) for s in shots.shots] == [(0.0, 3.303), (3.337, 6.673), (6.707, 10.01)]
    assert _bodies(fake, "StartSegmentDetection")[0]["SegmentTypes"] == ["SHOT"]
    moderation = (await aws_provider.run(Task.VIDEO_MODERATION, video_request(), video_ctx())).result
    assert isinstance(moderation, VideoModerationResult)
    best = moderation.frames[0]
    assert (best.category, best.time_s) == ("Alcohol", 7.007)


async def test_an_s3_reference_is_read_in_place(aws_provider: AwsProvider, fake: AwsJsonFake, s3: Any) -> None:
    s3.put_object(Bucket=READ_BUCKET, Key="clips/street.mp4", Body=CLIP)
    request = VideoRequest(video=Media(data=b"", format="mp4", uri=f"s3://{READ_BUCKET}/clips/street.mp4"))
    out = await aws_provider.run(Task.VIDEO_SHOTS, request, video_ctx())
    assert isinstance(out.result, VideoShotsResult)
    assert out.result.video is not None and out.result.video.duration_s == 10.01  # Rekognition's VideoMetadata
    (start,) = _bodies(fake, "StartSegmentDetection")
    assert start["Video"]["S3Object"] == {"Bucket": READ_BUCKET, "Name": "clips/street.mp4"}
    assert s3.get_object(Bucket=READ_BUCKET, Key="clips/street.mp4")["Body"].read() == CLIP  # not deleted
    targets = [r.path for r in fake.requests]
    assert all(t == "/" for t in targets)  # nothing but Rekognition went through the JSON fake (no upload)


async def test_a_failed_job_is_the_vendor_refusing_the_clip(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    fake.video.fail_next = "Unsupported codec: the video must be H.264."
    with pytest.raises(Unsupported, match=r"H\.264"):
        await aws_provider.run(Task.VIDEO_LABELS, video_request(), video_ctx())


async def test_a_job_still_running_at_the_deadline_is_a_timeout(aws_provider: AwsProvider, fake: AwsJsonFake) -> None:
    fake.video.polls_until_done = 10_000
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await aws_provider.run(Task.VIDEO_MODERATION, video_request(), video_ctx(0.5))
    assert time.monotonic() - started < 2.0


def test_only_h264_in_mp4_or_mov_is_declared(aws_provider: AwsProvider) -> None:
    support = aws_provider.info.capabilities[Task.VIDEO_LABELS]
    assert support.formats == frozenset({"mp4", "mov"}) and support.codecs == frozenset({"h264"})
    assert support.buckets == (f"s3://{READ_BUCKET}",)
