"""The ``vertex`` kind against the fake ``:predict`` endpoint: each schema, errors, probe, gateway."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters import registry
from adapters.base import CallContext
from adapters.google import vertex_schemas
from adapters.google.config import VertexConfig
from adapters.google.vertex import VertexProvider
from adapters.kit import parse_config
from contract_tests import samples
from contract_tests.abstract.base import image_request
from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.fakes.google import PREDICT, GoogleFake, google_error
from contract_tests.fakes.scripted import Reply
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from omnisense.schema import (
    InvalidInput,
    Task,
    TextRequest,
    Unsupported,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

LABELS = {"endpoint_id": "101", "task": "vision.labels", "schema": "image_classification"}
OBJECTS = {"endpoint_id": "102", "task": "vision.objects", "schema": "image_object_detection"}
SENTIMENT = {"endpoint_id": "103", "task": "text.sentiment", "schema": "text_sentiment"}
CUSTOM_LABELS = {
    "endpoint_id": "104",
    "task": "vision.labels",
    "schema": "custom",
    "mapping": {
        "instance": "image.b64",
        "input": "image_base64",
        "label": "output.classes",
        "scores": "output.probabilities",
    },
}
CUSTOM_SENTIMENT = {
    "endpoint_id": "105",
    "task": "text.sentiment",
    "schema": "custom",
    "mapping": {"instance": "text", "score": "score", "score_range": "signed"},
}


def block(url: str, **fields: Any) -> dict[str, Any]:
    base = {"kind": "vertex", "project": "p", "location": "europe-west4", "endpoint": url, "credentials": "anonymous"}
    return {**base, "timeout_s": 10, "price_usd": 0.0002, **fields}


def ctx() -> CallContext:
    return CallContext(request_id="vertex-test", deadline=time.monotonic() + 10)


@pytest.fixture
async def make(google_fake: GoogleFake) -> AsyncIterator[Any]:
    built: list[VertexProvider] = []

    def build(fields: dict[str, Any]) -> VertexProvider:
        provider = registry.build("vx", block(google_fake.url, **fields))
        assert isinstance(provider, VertexProvider)
        built.append(provider)
        return provider

    google_fake.reset()
    yield build
    google_fake.reset()
    for provider in built:
        await provider.aclose()


async def test_image_classification(make: Any, google_fake: GoogleFake) -> None:
    provider = make(LABELS)
    out = await provider.run(
        Task.VISION_LABELS, image_request(samples.jpeg(), max_results=1, min_confidence=0.01), ctx()
    )
    assert [(lb.name, lb.confidence) for lb in out.result.labels] == [("daisy", 0.97)]
    assert out.model == "vertex:101" and provider.info.cost(Task.VISION_LABELS, 1) == 0.0002
    sent = google_fake.requests[-1]
    assert sent.path == "/v1/projects/p/locations/europe-west4/endpoints/101:predict"
    body = sent.json()
    assert set(body["instances"][0]) == {"content"}
    assert body["parameters"] == {"maxPredictions": 1, "confidenceThreshold": 0.01}


async def test_object_detection_bboxes_are_xmin_xmax_ymin_ymax(make: Any) -> None:
    out = await make(OBJECTS).run(Task.VISION_OBJECTS, image_request(samples.jpeg()), ctx())
    salad = out.result.objects[0]
    assert salad.name == "Salad" and salad.confidence == 0.98
    assert (salad.box.left, salad.box.top) == (0.1, 0.05)
    assert salad.box.width == pytest.approx(0.8) and salad.box.height == pytest.approx(0.75)


async def test_text_sentiment(make: Any, google_fake: GoogleFake) -> None:
    provider = make(SENTIMENT)
    good = await provider.run(Task.TEXT_SENTIMENT, TextRequest(text=samples.POSITIVE), ctx())
    bad = await provider.run(Task.TEXT_SENTIMENT, TextRequest(text=samples.NEGATIVE), ctx())
    assert (good.result.label, good.result.scores.positive) == ("positive", 1.0)
    assert (bad.result.label, bad.result.scores.negative) == ("negative", 1.0)
    assert google_fake.requests[-1].json()["instances"] == [{"content": samples.NEGATIVE, "mimeType": "text/plain"}]


async def test_custom_mappings(make: Any, google_fake: GoogleFake) -> None:
    labels = await make(CUSTOM_LABELS).run(Task.VISION_LABELS, image_request(samples.jpeg()), ctx())
    assert [(lb.name, lb.confidence) for lb in labels.result.labels] == [("dog", 0.7), ("cat", 0.3)]
    assert set(google_fake.requests[-1].json()["instances"][0]["image"]) == {"b64"}
    sentiment = await make(CUSTOM_SENTIMENT).run(Task.TEXT_SENTIMENT, TextRequest(text="fine"), ctx())
    assert sentiment.result.label == "positive"  # 0.8 on -1..1
    assert sentiment.result.scores.positive == pytest.approx(0.8)
    assert google_fake.requests[-1].json()["instances"] == [{"text": "fine"}]


async def test_other_tasks_are_unsupported(make: Any) -> None:
    provider = make(LABELS)
    assert set(provider.info.capabilities) == {Task.VISION_LABELS}
    with pytest.raises(Unsupported):
        await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="x"), ctx())


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (google_error(429, "Quota exceeded", retry_after="3"), UpstreamThrottled),
        (google_error(503, "unavailable"), UpstreamUnavailable),
        (google_error(400, "Invalid instance"), InvalidInput),
        (Reply.malformed(), UpstreamBadResponse),
        (Reply(json={"deployedModelId": "1"}), UpstreamBadResponse),  # no predictions
        (Reply(hang=True), UpstreamTimeout),
    ],
)
async def test_failures_map(make: Any, google_fake: GoogleFake, reply: Reply, error: type[Exception]) -> None:
    provider = make({**LABELS, "timeout_s": 1} if reply.hang else LABELS)
    google_fake.fail(PREDICT, reply)
    with pytest.raises(error) as info:
        await provider.run(Task.VISION_LABELS, image_request(samples.jpeg()), ctx())
    assert info.value.provider in (None, "vx")  # type: ignore[attr-defined]  # the dispatcher names it
    if error is UpstreamThrottled:
        assert info.value.retry_after_s == 3.0  # type: ignore[attr-defined]


async def test_probe_reads_the_endpoint(make: Any) -> None:
    health = await make(LABELS).probe()
    assert health.ok and "1 deployed model" in health.detail
    missing = await make({**LABELS, "endpoint_id": "999"}).probe()
    assert not missing.ok and "404" in missing.detail


def test_bad_declarations_are_refused() -> None:
    def problems(**fields: Any) -> str:
        with pytest.raises(ValueError) as info:
            parse_config(VertexConfig, "vx", {"kind": "vertex", "project": "p", "endpoint_id": "1", **fields})
        return str(info.value)

    assert "serves vision.objects, not vision.labels" in problems(task="vision.labels", schema="image_object_detection")
    assert "needs a mapping" in problems(task="vision.labels", schema="custom")
    assert "needs input: text and score" in problems(
        task="text.sentiment", schema="custom", mapping={"instance": "t", "label": "l"}
    )
    assert "schema" in problems(task="vision.labels", schema="tabular")


def test_put_and_pick_dotted_paths() -> None:
    target: dict[str, Any] = {}
    vertex_schemas.put(target, "a.b.c", 1)
    assert target == {"a": {"b": {"c": 1}}} and vertex_schemas.pick(target, "a.b.c") == 1


@pytest.fixture
def gateway(tmp_path: Path, google_fake: GoogleFake) -> Iterator[TestClient]:  # type: ignore[type-arg]
    policy = {
        "version": 1,
        "providers": {"flowers": block(google_fake.url, **LABELS)},
        "defaults": {"timeout_s": 10.0, "deadline_s": 30.0},
        "routes": {"vision.labels": {"candidates": ["flowers"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    with TestClient(create_app(GatewayConfig(policy=str(path), logs=LogSettings(sink="none")), sink=MemorySink())) as c:
        yield c


def test_a_vertex_endpoint_is_a_routable_provider(gateway: TestClient) -> None:  # type: ignore[type-arg]
    r = gateway.post("/v1/vision/labels", content=samples.jpeg(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "flowers" and body["model"] == "vertex:101"
    assert body["result"]["labels"][0] == {"name": "daisy", "confidence": 0.97}
    assert body["usage"]["cost_usd"] == pytest.approx(0.0002)
