"""Video Intelligence through the official SDK (REST transport) against the fake: what goes on
the wire, the long-running operation polled to its end, and its failures mapped."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest

from adapters.google.provider import GoogleProvider
from contract_tests.abstract.video import CLIP, video_ctx, video_request
from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.google import GoogleFake
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
def fake(google_fake: GoogleFake) -> Iterator[GoogleFake]:
    google_fake.reset()
    yield google_fake
    google_fake.video.polls_until_done = 1
    google_fake.video.failures.clear()


def _calls(fake: GoogleFake) -> tuple[list[dict[str, object]], int]:
    posts = [r.json() for r in fake.requests if r.method == "POST" and r.path == "/v1/videos:annotate"]
    gets = [r for r in fake.requests if r.method == "GET" and "/operations/" in r.path]
    return posts, len(gets)


async def test_labels_inline_and_the_operation_polled_to_its_end(
    google_video_provider: GoogleProvider, fake: GoogleFake
) -> None:
    fake.video.polls_until_done = 3
    out = await google_video_provider.run(Task.VIDEO_LABELS, video_request(), video_ctx())
    assert isinstance(out.result, VideoLabelsResult) and out.model == "video-intelligence"
    first = out.result.segments[0]
    assert (first.name, first.confidence, first.start_s, first.end_s) == ("cat", 0.98509187, 0.0, 14.833664)
    assert ("animal", 5.166666) in {(s.name, s.end_s) for s in out.result.segments}  # a shot's label
    (posted,), polls = _calls(fake)
    assert posted["features"] in ([1], ["LABEL_DETECTION"]) and base64.b64decode(str(posted["inputContent"])) == CLIP
    assert polls == 4  # three answers "done": false, then the result


async def test_shots_and_explicit_frames(google_video_provider: GoogleProvider, fake: GoogleFake) -> None:
    shots = (await google_video_provider.run(Task.VIDEO_SHOTS, video_request(), video_ctx())).result
    assert isinstance(shots, VideoShotsResult)
    assert [(s.start_s, s.end_s) for s in shots.shots][1] == (5.233333, 10.066666)
    moderation = (await google_video_provider.run(Task.VIDEO_MODERATION, video_request(), video_ctx())).result
    assert isinstance(moderation, VideoModerationResult)
    assert [(f.time_s, f.confidence) for f in moderation.frames][:2] == [(3.127416, 0.5), (2.107224, 0.25)]
    assert {f.category for f in moderation.frames} == {"adult"}


async def test_a_gs_reference_in_its_bucket_goes_as_input_uri(
    google_video_provider: GoogleProvider, fake: GoogleFake
) -> None:
    request = VideoRequest(video=Media(data=b"", format="mp4", uri="gs://media-in/clips/cat.mp4"))
    out = await google_video_provider.run(Task.VIDEO_SHOTS, request, video_ctx())
    assert len(out.result.shots) == 3  # type: ignore[union-attr]
    (posted,), _ = _calls(fake)
    assert posted["inputUri"] == "gs://media-in/clips/cat.mp4" and "inputContent" not in posted


async def test_an_operation_that_fails_maps_like_any_error(
    google_video_provider: GoogleProvider, fake: GoogleFake
) -> None:
    fake.video.fail_next(3, "Invalid video format: the file could not be decoded.")
    with pytest.raises(Unsupported, match="could not be decoded"):  # the gateway decoded it: google's limit
        await google_video_provider.run(Task.VIDEO_LABELS, video_request(), video_ctx())


async def test_an_operation_not_done_within_the_deadline_is_a_timeout(
    google_video_provider: GoogleProvider, fake: GoogleFake
) -> None:
    fake.video.polls_until_done = 10_000
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await google_video_provider.run(Task.VIDEO_LABELS, video_request(), video_ctx(1.0))
    assert time.monotonic() - started < 3.0
