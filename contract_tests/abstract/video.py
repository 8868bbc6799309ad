"""Contract tests for the video tasks: times inside the clip, the order each result promises,
object references only from the buckets a provider declares.

The default clip is ``samples.video()``: one red second, then one blue second (2 s, a cut at
1 s). An adapter's test module may give its own ``clip`` (the bytes a fake ignores) and what
its vendor's answer holds (``expected_labels``, ``expected_cuts``).
"""

from __future__ import annotations

import itertools
import time
from typing import ClassVar

import pytest

from adapters.base import CallContext, Provider
from contract_tests import samples
from contract_tests.abstract.base import ProviderContract
from omnisense.schema import (
    Media,
    Task,
    Unsupported,
    VideoLabelsResult,
    VideoModerationResult,
    VideoRequest,
    VideoShotsResult,
)

CLIP = samples.video()
EPS = 1e-6


def video_ctx(seconds: float = 10.0) -> CallContext:
    """A call's context with ``seconds`` to its deadline (a vendor's video job is polled within it)."""
    return CallContext(request_id="video", deadline=time.monotonic() + seconds)


def video_request(data: bytes = CLIP, seconds: float = 2.0, **kw: object) -> VideoRequest:
    media = Media(data=data, format="mp4", width=96, height=64, duration_s=seconds, codec="h264")
    return VideoRequest(video=media, **kw)  # type: ignore[arg-type]


class VideoContract(ProviderContract):
    clip: ClassVar[bytes] = CLIP
    seconds: ClassVar[float] = 2.0  # how long the vendor's answer says the clip is (a fake's example: its own)

    def request(self, **kw: object) -> VideoRequest:
        return video_request(self.clip, self.seconds, **kw)

    async def test_an_object_in_a_bucket_it_does_not_read_is_refused(self, provider: Provider) -> None:
        self.require(provider)
        media = Media(data=b"", format="mp4", uri="s3://nobody-names-this-bucket/clip.mp4")
        with pytest.raises(Unsupported):
            await self.run(provider, VideoRequest(video=media))


class VideoLabelsContract(VideoContract):
    task = Task.VIDEO_LABELS
    expected_labels: ClassVar[tuple[str, ...]] = ()

    async def test_labels(self, provider: Provider) -> None:
        out = await self.run(provider, self.request(max_results=10))
        assert isinstance(out.result, VideoLabelsResult)
        segments = out.result.segments
        assert len(segments) <= 10
        ranks = [(-(s.confidence or 0.0), s.start_s) for s in segments]
        assert ranks == sorted(ranks), "best first, then the earlier start"
        for s in segments:
            assert 0 <= s.start_s <= s.end_s <= self.seconds + 0.5, s
        names = {s.name.lower() for s in segments}
        for label in self.expected_labels:
            assert label.lower() in names, (label, names)


class VideoShotsContract(VideoContract):
    task = Task.VIDEO_SHOTS
    expected_cuts: ClassVar[tuple[float, ...]] = ()
    tolerance_s: ClassVar[float] = 0.25

    async def test_shots(self, provider: Provider) -> None:
        out = await self.run(provider, self.request())
        assert isinstance(out.result, VideoShotsResult)
        shots = out.result.shots
        assert shots, "a clip has at least one shot"
        for before, after in itertools.pairwise(shots):
            assert before.end_s <= after.start_s + EPS, "in order of time, not overlapping"
        cuts = [s.start_s for s in shots[1:]]
        assert len(cuts) == len(self.expected_cuts) or not self.expected_cuts, cuts
        for cut, expected in zip(cuts, self.expected_cuts, strict=False):
            assert abs(cut - expected) <= self.tolerance_s, (cuts, self.expected_cuts)


class VideoModerationContract(VideoContract):
    task = Task.VIDEO_MODERATION
    expected_categories: ClassVar[tuple[str, ...]] = ()

    async def test_moderation(self, provider: Provider) -> None:
        out = await self.run(provider, self.request())
        assert isinstance(out.result, VideoModerationResult)
        frames = out.result.frames
        ranks = [-(f.confidence or 0.0) for f in frames]
        assert ranks == sorted(ranks), "the most confident first"
        assert all(0 <= f.time_s <= self.seconds + 0.5 for f in frames), frames
        categories = {f.category for f in frames}
        for category in self.expected_categories:
            assert category in categories, (category, categories)
