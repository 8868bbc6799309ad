"""Video input on the gateway: every way a clip arrives, what is decoded from it, and the precise 4xx for bad ones.

The clips are made here with PyAV (``contract_tests.samples.video``); the scripted provider
answers, so what is checked is the gateway: sniffing, decoding, limits, object references
and the long clip that becomes a job.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import create_app
from gateway.server.config import Limits
from tests.conftest import SCRIPTED
from tests.jobs_helpers import job_config, wait_until

Client = TestClient  # type: ignore[type-arg]
CLIP = samples.video(seconds=1.0)  # a red second, then a blue one: 2 s


def _policy(tmp_path: Path, **block: Any) -> Path:
    policy = {
        "version": 1,
        "providers": {"p": {"kind": SCRIPTED, "label": "clip", **block}},
        "routes": {"*": {"candidates": ["p"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    return path


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def client(tmp_path: Path, sink: MemorySink) -> Iterator[Client]:
    config = job_config(_policy(tmp_path, buckets=["s3://media-in"]))
    config = msgspec.structs.replace(config, limits=Limits(max_sync_video_s=5.0))
    with TestClient(create_app(config, sink=sink)) as c:
        yield c


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_raw_body_is_decoded_and_billed_by_its_frames(client: Client, sink: MemorySink) -> None:
    body = _ok(client.post("/v1/video/labels", content=CLIP, headers={"Content-Type": "video/mp4"}))
    assert body["task"] == "video.labels" and body["result"]["segments"][0]["name"] == "clip"
    assert body["usage"] == {**body["usage"], "units": 2.0, "unit": "second"}
    record = wait_until(lambda: next((r for r in sink.records if r.request_id == body["request_id"]), None))
    assert record.input is not None and record.input.format == "mp4" and record.input.video_seconds == 2.0


@pytest.mark.parametrize(
    ("container", "codec", "fmt"),
    [("mov", "h264", "mov"), ("webm", "libvpx-vp9", "webm"), ("matroska", "h264", "mkv")],
)
def test_formats_are_sniffed_from_the_bytes(client: Client, container: str, codec: str, fmt: str) -> None:
    clip = samples.video(seconds=0.5, container=container, codec=codec)
    # a misleading content type and file name: the bytes decide
    files = {"video": ("clip.mp4", clip, "video/mp4")}
    body = _ok(client.post("/v1/video/shots", files=files))
    assert body["result"]["shots"] == [{"start_s": 0.0, "end_s": 1.0}]


def test_json_base64(client: Client) -> None:
    body = _ok(client.post("/v1/video/moderation", json={"video": {"base64": base64.b64encode(CLIP).decode()}}))
    assert body["result"]["frames"][0]["category"] == "clip"


def test_an_image_sent_as_a_video_is_a_415_naming_it(client: Client) -> None:
    r = client.post("/v1/video/labels", content=samples.png(), headers={"Content-Type": "video/mp4"})
    assert r.status_code == 415, r.text
    assert "PNG image" in r.json()["detail"] and r.json()["field"] == "video"


def test_a_truncated_mp4_is_a_400_that_says_so(client: Client, tmp_path: Path) -> None:
    import av

    moved = tmp_path / "fast.mp4"  # the index first (faststart), so the cut loses frames, not the index
    (tmp_path / "in.mp4").write_bytes(CLIP)
    with (
        av.open(str(tmp_path / "in.mp4")) as src,
        av.open(str(moved), "w", format="mp4", options={"movflags": "faststart"}) as dst,
    ):
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    whole = moved.read_bytes()
    r = client.post("/v1/video/labels", content=whole[: len(whole) * 2 // 3], headers={"Content-Type": "video/mp4"})
    assert r.status_code == 400, r.text
    assert "truncated" in r.json()["detail"] and "20 frames" in r.json()["detail"]
    r = client.post("/v1/video/labels", content=CLIP[: len(CLIP) // 2], headers={"Content-Type": "video/mp4"})
    assert r.status_code == 400 and "cannot be read" in r.json()["detail"], r.text  # the index itself is cut off


def test_a_container_that_lies_about_its_duration_is_a_422(client: Client) -> None:
    lying = bytearray(CLIP)
    at = CLIP.find(b"mvhd")
    timescale = struct.unpack_from(">I", CLIP, at + 16)[0]
    struct.pack_into(">I", lying, at + 20, 60 * timescale)  # the movie header says 60 s
    r = client.post("/v1/video/labels", content=bytes(lying), headers={"Content-Type": "video/mp4"})
    assert r.status_code == 422, r.text
    assert "60.00 s" in r.json()["detail"] and "2.00 s" in r.json()["detail"]


def test_object_references_only_to_an_allowed_bucket(client: Client) -> None:
    body = _ok(client.post("/v1/video/labels", json={"video": {"uri": "s3://media-in/clips/a.mp4"}}))
    assert body["provider"] == "p"
    r = client.post("/v1/video/labels", json={"video": {"uri": "s3://someone-else/a.mp4"}})
    assert r.status_code == 422, r.text
    assert "s3://someone-else" in r.json()["detail"] and "s3://media-in" in r.json()["detail"]
    r = client.post("/v1/video/labels", json={"video": {"uri": "ftp://media-in/a.mp4"}})
    assert r.status_code == 422 and r.json()["field"] == "video.uri"
    r = client.post("/v1/vision/labels", json={"image": {"uri": "s3://media-in/a.png"}})
    assert r.status_code == 422 and "uri" in r.json()["detail"]  # images take no object references


def test_a_long_clip_becomes_a_job_that_completes(client: Client) -> None:
    long_clip = samples.video(seconds=3.0)  # 6 s, over max_sync_video_s = 5
    r = client.post("/v1/video/labels", content=long_clip, headers={"Content-Type": "video/mp4"})
    assert r.status_code == 202, r.text
    assert r.headers["location"].startswith("/v1/jobs/") and r.headers["x-request-id"]

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(r.headers["location"]).json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_until(done, timeout_s=20)
    assert job["status"] == "succeeded", job
    assert job["result"]["task"] == "video.labels" and job["result"]["usage"]["units"] == 6.0
    assert job["result"]["result"]["segments"][0]["end_s"] == 6.0


def test_the_client_follows_a_long_clip_to_its_job(client: Client) -> None:
    from omnisense.client import Client as Omni
    from omnisense.schema import Envelope, VideoLabelsResult

    answer = Omni(http=client).video.labels(samples.video(seconds=3.0))  # 6 s: the gateway answers 202
    assert isinstance(answer, Envelope) and isinstance(answer.result, VideoLabelsResult)
    assert answer.result.segments[0].end_s == 6.0 and answer.usage.units == 6.0


def test_the_task_command_sends_a_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main
    from tests.conftest import LiveServer, make_config

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(CLIP)
    with LiveServer(make_config(_policy(tmp_path)), MemorySink()) as live:
        assert main(["video-shots", str(clip), "--url", live.url, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["task"] == "video.shots" and answer["result"]["shots"] == [{"start_s": 0.0, "end_s": 2.0}]


def test_a_long_clip_is_quoted_not_queued(client: Client) -> None:
    r = client.post(
        "/v1/video/labels?dry_run=true", content=samples.video(seconds=3.0), headers={"Content-Type": "video/mp4"}
    )
    assert r.status_code == 200 and r.json()["dry_run"] is True, r.text
    assert client.get("/v1/jobs").json()["jobs"] == []


def test_a_long_clip_s_job_announces_itself_to_the_webhook(client: Client) -> None:
    from tests.test_jobs_webhooks import Receiver

    with Receiver([]) as receiver:
        clip = samples.video(seconds=3.0)
        r = client.post(
            f"/v1/video/shots?webhook_url={receiver.url}", content=clip, headers={"Content-Type": "video/mp4"}
        )
        assert r.status_code == 202, r.text
        wait_until(lambda: receiver.got, timeout_s=20)
    payload = json.loads(receiver.got[0][1])
    assert payload["id"] == r.headers["location"].rsplit("/", 1)[1] and payload["status"] == "succeeded"
    assert payload["result"]["result"]["shots"] == [{"start_s": 0.0, "end_s": 6.0}]
    refused = client.post("/v1/video/shots?webhook_url=ftp://x/y", content=clip, headers={"Content-Type": "video/mp4"})
    assert refused.status_code == 422 and refused.json()["field"] == "webhook_url", refused.text
