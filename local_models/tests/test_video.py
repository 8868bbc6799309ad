"""Video on the real model server: a clip made here (3 s of the astronaut, then 3 s of the cat,
encoded with PyAV) gives a shot change near 3 s, labels that differ between the halves, and a
moderation score for every sampled frame."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from inputs import b64_png, sample, video_clip

CAT = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def clip() -> str:
    return base64.b64encode(video_clip()).decode("ascii")


def test_capabilities_declare_video(client: Any) -> None:
    tasks = client.ok("/capabilities", {})["tasks"]
    for task in ("video.labels", "video.shots", "video.moderation"):
        assert tasks[task]["formats"] == ["mp4", "mov", "webm", "mkv"] and tasks[task]["limits"]["max_seconds"]


def test_a_shot_change_near_3_s(client: Any, clip: str) -> None:
    shots = client.ok("/video/shots", {"video": clip})["shots"]
    assert len(shots) == 2, shots
    assert abs(shots[0]["end_s"] - 3.0) <= 0.2 and shots[1]["start_s"] == shots[0]["end_s"]
    assert shots[0]["start_s"] == 0.0 and abs(shots[1]["end_s"] - 6.0) <= 0.2


def test_labels_differ_between_the_halves(client: Any, clip: str) -> None:
    out = client.ok("/video/labels", {"video": clip, "max_results": 20})
    segments = out["segments"]
    assert out["video"] == {"duration_s": 6.0, "width": 320, "height": 240}
    first = {s["name"] for s in segments if s["end_s"] <= 3.0 + 1e-6}
    second = {s["name"] for s in segments if s["start_s"] >= 3.0 - 1e-6}
    assert first and second and not first & second, segments
    assert second & CAT, second  # the cat is labelled as one, in the second half only
    confidences = [s["confidence"] for s in segments]
    assert confidences == sorted(confidences, reverse=True) and all(0 <= c <= 1 for c in confidences)


def test_moderation_scores_every_sampled_frame(client: Any, clip: str) -> None:
    out = client.ok("/video/moderation", {"video": clip})
    times = sorted(f["time_s"] for f in out["frames"])
    assert times == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # one frame a second (LOCAL_MODELS_VIDEO_FPS)
    assert all(f["category"] == "sexual" and f["confidence"] < 0.3 for f in out["frames"])


def test_an_image_is_not_a_video(client: Any) -> None:
    r = client.post("/video/labels", {"video": b64_png(sample("chelsea"))})
    assert r.status_code == 400 and r.json()["error"] == "unsupported" and "video format" in r.json()["detail"]
