"""Video through the gateway with AWS first and a scripted backup: served by Rekognition Video,
billed by the decoded length at AWS's per-minute price, and a clip AWS refuses (its codec, or a
job that fails on it) answered by the next candidate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests import samples
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import aws_block
from contract_tests.fakes.aws_json import AwsJsonFake
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from tests.conftest import SCRIPTED

MP4 = {"Content-Type": "video/mp4"}
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def gateway(tmp_path: Path, moto_url: str, aws_fake: AwsJsonFake) -> Iterator[Client]:
    policy = {
        "version": 1,
        "providers": {
            "aws": aws_block(moto_url, aws_fake.url, timeout_s=8),
            "backup": {"kind": SCRIPTED, "label": "backup", "price_usd": 0.01},
        },
        "defaults": {"timeout_s": 10.0, "deadline_s": 30.0},
        "routes": {"*": {"candidates": ["aws", "backup"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    aws_fake.reset()
    with TestClient(create_app(GatewayConfig(policy=str(path), logs=LogSettings(sink="none")), sink=MemorySink())) as c:
        yield c
    aws_fake.reset()
    aws_fake.video.fail_next = None


def _attempts(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]]


def test_served_by_rekognition_video_and_billed_per_minute(gateway: Client) -> None:
    r = gateway.post("/v1/video/shots", content=samples.video(seconds=1.5), headers=MP4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "aws" and body["model"] == "rekognition-video"
    assert len(body["result"]["shots"]) == 3
    assert body["usage"]["units"] == 3.0 and body["usage"]["unit"] == "second"
    assert body["usage"]["cost_usd"] == pytest.approx(0.05 * 3.0 / 60)  # $0.05 a minute of shot detection


def test_a_codec_aws_does_not_take_goes_to_the_next_candidate(gateway: Client, aws_fake: AwsJsonFake) -> None:
    webm = samples.video(container="webm", codec="libvpx-vp9")
    r = gateway.post("/v1/video/labels", content=webm, headers={"Content-Type": "video/webm"})
    assert r.status_code == 200, r.text
    assert r.json()["provider"] == "backup"
    assert not [t for t in aws_fake.targets() if "Start" in t]  # AWS was never asked


def test_a_clip_aws_fails_on_falls_back(gateway: Client, aws_fake: AwsJsonFake) -> None:
    aws_fake.video.fail_next = "The video could not be decoded: unsupported profile."
    r = gateway.post("/v1/video/moderation", content=samples.video(), headers=MP4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "backup" and _attempts(body) == [("aws", "Unsupported"), ("backup", "ok")]


def test_an_s3_reference_is_billed_by_the_length_aws_reports(gateway: Client, moto_url: str) -> None:
    import boto3

    from contract_tests.conftest_aws import READ_BUCKET, REGION

    keys = {"aws_access_key_id": "t", "aws_secret_access_key": "t"}
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION, **keys)
    s3.put_object(Bucket=READ_BUCKET, Key="clips/a.mp4", Body=samples.video())
    r = gateway.post("/v1/video/shots", json={"video": {"uri": f"s3://{READ_BUCKET}/clips/a.mp4"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "aws" and body["result"]["video"]["duration_s"] == 10.01  # the fake's VideoMetadata
    assert body["usage"]["units"] == 10.01 and body["usage"]["cost_usd"] == pytest.approx(0.05 * 10.01 / 60)
    r = gateway.post("/v1/video/shots", json={"video": {"uri": "s3://not-named-anywhere/a.mp4"}})
    assert r.status_code == 422 and "s3://not-named-anywhere" in r.json()["detail"], r.text
