"""The AWS adapter inside the gateway: served over HTTP, and fallback when AWS fails.

The gateway builds ``aws`` from the policy file (kind ``aws`` through the registry),
pointed at moto and the JSON 1.1 fake; ``backup`` is the scripted test provider.
"""

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
from contract_tests.fakes.aws_json import AwsJsonFake, aws_error
from contract_tests.fakes.scripted import Reply
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
FACES = "RekognitionService.DetectFaces"
JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, moto_url: str, aws_fake: AwsJsonFake
) -> Iterator[TestClient]:  # type: ignore[type-arg]
    # Generous timeouts (a loaded CI machine is slow), short only where a test waits for one.
    timeout_s = 1.0 if request.node.get_closest_marker("short_timeout") else 8.0
    block = aws_block(moto_url, aws_fake.url, timeout_s=timeout_s)
    policy = {
        "version": 1,
        "providers": {"aws": block, "backup": {"kind": SCRIPTED, "label": "backup", "price_usd": 0.01}},
        "defaults": {"timeout_s": timeout_s + 2, "deadline_s": 30.0, "retries": {"attempts": 2, "backoff_s": 0.01}},
        "routes": {"*": {"candidates": ["aws", "backup"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))  # JSON is YAML
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"))
    aws_fake.reset()
    with TestClient(create_app(config, sink=MemorySink())) as client:
        yield client
    aws_fake.reset()


def outcomes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]]


def test_served_by_aws(gateway: TestClient) -> None:  # type: ignore[type-arg]
    r = gateway.post("/v1/vision/labels", content=samples.jpeg(), headers=JPEG)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "aws" and body["model"] == "rekognition"
    assert body["result"]["labels"][0]["name"] == "Mobile Phone"
    assert body["usage"]["cost_usd"] == pytest.approx(0.001)


def test_throttled_aws_is_retried_then_falls_back(gateway: TestClient, aws_fake: AwsJsonFake) -> None:  # type: ignore[type-arg]
    aws_fake.fail(FACES, *[aws_error(FACES, "ThrottlingException", "Rate exceeded")] * 2)
    body = gateway.post("/v1/vision/faces", content=samples.jpeg(), headers=JPEG).json()
    assert body["provider"] == "backup"
    assert outcomes(body) == [("aws", "UpstreamThrottled"), ("aws", "UpstreamThrottled"), ("backup", "ok")]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (aws_error(FACES, "AccessDeniedException", "denied"), "UpstreamAuth"),
        (Reply.malformed(), "UpstreamBadResponse"),
    ],
)
def test_non_retryable_aws_errors_fall_back_at_once(
    gateway: TestClient,  # type: ignore[type-arg]
    aws_fake: AwsJsonFake,
    reply: Reply,
    error: str,
) -> None:
    aws_fake.fail(FACES, reply)
    body = gateway.post("/v1/vision/faces", content=samples.jpeg(), headers=JPEG).json()
    assert outcomes(body) == [("aws", error), ("backup", "ok")]


@pytest.mark.short_timeout
def test_hung_aws_times_out_and_falls_back(gateway: TestClient, aws_fake: AwsJsonFake) -> None:  # type: ignore[type-arg]
    aws_fake.fail(FACES, Reply(hang=True), Reply(hang=True))
    body = gateway.post("/v1/vision/faces", content=samples.jpeg(), headers=JPEG).json()
    assert body["provider"] == "backup"
    assert [a["provider"] for a in body["attempts"]] == ["aws", "aws", "backup"]
    assert body["attempts"][0]["outcome"] == "timeout"


def test_bad_image_does_not_fall_back(gateway: TestClient, aws_fake: AwsJsonFake) -> None:  # type: ignore[type-arg]
    aws_fake.fail(FACES, aws_error(FACES, "InvalidImageFormatException", "Request has invalid image format"))
    r = gateway.post("/v1/vision/faces", content=samples.jpeg(), headers=JPEG)
    assert r.status_code == 415 and outcomes(r.json()) == [("aws", "UnsupportedMediaType")]
