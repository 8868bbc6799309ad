"""The ``oip`` adapter: the contract suite against a real Seldon MLServer serving two
versions of a scikit-learn sentiment model, and the wire details (pixel tensors, boxes,
every failure kind) against a scripted fake of an OIP server."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.base import CallContext, Provider
from adapters.oip.provider import OipProvider
from contract_tests import abstract
from contract_tests.fakes import Recorded, Reply, ScriptedVendor
from contract_tests.mlserver.server import MLServer, free_port
from omnisense.schema import (
    ImageRequest,
    LabelsResult,
    Media,
    ObjectsResult,
    SentimentResult,
    Task,
    TaskRequest,
    TextRequest,
    UpstreamBadResponse,
    UpstreamUnavailable,
)


def sentiment_block(url: str, version: str, **extra: Any) -> dict[str, Any]:
    """v1 knows negative/positive; v2 also neutral (scikit-learn orders classes by name)."""
    classes = ["negative", "positive"] if version == "1" else ["negative", "neutral", "positive"]
    return {
        "kind": "oip",
        "url": url,
        "model": "sentiment",
        "version": version,
        "task": "text.sentiment",
        "inputs": [{"name": "text", "from": "text"}],
        "outputs": {"label": "predict", "scores": "predict_proba", "classes": classes},
        "prices": {"text.sentiment": {"usd": 0.0001, "per": 100, "unit": "character"}},
        **extra,
    }


def ctx(seconds: float = 10.0) -> CallContext:
    return CallContext(request_id="oip-test", deadline=time.monotonic() + seconds)


@pytest.fixture(scope="module")
async def v1(mlserver: MLServer) -> AsyncIterator[Provider]:
    provider = registry.build("sentiment-v1", sentiment_block(mlserver.url, "1"))
    await provider.start()
    yield provider
    await provider.aclose()


@pytest.fixture(scope="module")
async def v2(mlserver: MLServer) -> AsyncIterator[Provider]:
    provider = registry.build("sentiment-v2", sentiment_block(mlserver.url, "2"))
    await provider.start()
    yield provider
    await provider.aclose()


class TestSentimentOnMLServer(abstract.SentimentContract):
    @pytest.fixture
    def provider(self, v2: Provider) -> Provider:
        return v2


async def test_versions_answer_their_own_classes(v1: Provider, v2: Provider) -> None:
    text = TextRequest(text="the meeting is on monday")
    one, two = await v1.run(Task.TEXT_SENTIMENT, text, ctx()), await v2.run(Task.TEXT_SENTIMENT, text, ctx())
    assert isinstance(one.result, SentimentResult) and isinstance(two.result, SentimentResult)
    assert one.result.label in ("positive", "negative") and one.result.scores.neutral is None  # v1 has no neutral class
    assert two.result.label == "neutral" and two.result.scores.neutral > 0.5
    assert (one.model, two.model) == ("sentiment:1", "sentiment:2")
    assert two.raw["model_version"] == "2"


async def test_metadata_and_readiness(v1: OipProvider, mlserver: MLServer) -> None:
    meta = await v1.read_metadata()
    assert meta.name == "sentiment"
    health = await v1.probe()
    assert health.ok and health.detail == "ready"
    missing = registry.build("ghost", {**sentiment_block(mlserver.url, "1"), "model": "ghost"})
    await missing.start()  # a model the server does not hold: not ready, and not fatal at start
    try:
        assert not (await missing.probe()).ok
        with pytest.raises(UpstreamUnavailable):
            await missing.run(Task.TEXT_SENTIMENT, TextRequest(text="good"), ctx())
    finally:
        await missing.aclose()


async def test_a_stopped_server_is_unavailable_not_fatal() -> None:
    provider = registry.build("gone", sentiment_block(f"http://127.0.0.1:{free_port()}", "1"))
    await provider.start()  # the server is down at start: the gateway still starts
    try:
        assert not (await provider.probe()).ok
        with pytest.raises(UpstreamUnavailable) as info:
            await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="good"), ctx())
        assert info.value.fallback and info.value.retryable
    finally:
        await provider.aclose()


async def test_tensors_the_model_refuses_are_a_bad_response(mlserver: MLServer) -> None:
    """A mapping that sends what the model cannot take fails over (500 from MLServer here)."""
    block = sentiment_block(mlserver.url, "1")
    block["outputs"] = {"label": "no_such_output"}
    provider = registry.build("wrong", block)
    await provider.start()
    try:
        with pytest.raises((UpstreamBadResponse, UpstreamUnavailable)) as info:
            await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="good"), ctx())
        assert info.value.fallback
    finally:
        await provider.aclose()


# -- the wire, against a scripted OIP server -------------------------------------------------------------------------

SENTIMENT_REPLY = {"outputs": [
    {"name": "predict", "shape": [1, 1], "datatype": "BYTES", "data": ["positive"]},
    {"name": "predict_proba", "shape": [1, 2], "datatype": "FP64", "data": [0.2, 0.8]},
]}  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> Iterator[ScriptedVendor]:
    vendor = ScriptedVendor().start()
    vendor.route("GET", "/v2/health/ready", lambda _: Reply(body=b""))
    vendor.route("GET", r"/v2/models/[^/]+(/versions/[^/]+)?/ready", lambda _: Reply(body=b""))
    vendor.route("GET", r"/v2/models/[^/]+(/versions/[^/]+)?", lambda _: Reply(json={"name": "m"}))
    vendor.route("POST", "/v2/models/sentiment/versions/1/infer", lambda _: Reply(json=SENTIMENT_REPLY))
    yield vendor
    vendor.stop()


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def _image(width: int = 40, height: int = 20) -> ImageRequest:
    return ImageRequest(image=Media(data=_png(width, height, (255, 0, 0)), format="png", width=width, height=height))


async def _built(block: dict[str, Any]) -> Provider:
    provider = registry.build("fake-oip", block)
    await provider.start()
    return provider


async def test_image_as_a_normalized_pixel_tensor(fake: ScriptedVendor) -> None:
    seen: list[Any] = []

    def infer(req: Recorded) -> Reply:
        seen.append(req.json())
        return Reply(json={"outputs": [
            {"name": "probs", "shape": [1, 3], "datatype": "FP32", "data": [0.1, 0.7, 0.2]},
        ]})  # fmt: skip

    fake.route("POST", "/v2/models/resnet/infer", infer)
    provider = await _built({
        "kind": "oip", "url": fake.url, "model": "resnet", "task": "vision.labels",
        "inputs": [{"name": "pixels", "from": "image", "datatype": "FP32", "size": [4, 2], "layout": "NCHW",
                    "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}],
        "outputs": {"scores": "probs", "classes": ["cat", "dog", "fish"]},
    })  # fmt: skip
    try:
        out = await provider.run(Task.VISION_LABELS, _image(), ctx())
    finally:
        await provider.aclose()
    tensor = seen[0]["inputs"][0]
    assert tensor["shape"] == [1, 3, 2, 4] and tensor["datatype"] == "FP32"
    red, green = tensor["data"][:8], tensor["data"][8:16]  # a red image: R = (1 - .5)/.5, G = (0 - .5)/.5
    assert red == pytest.approx([1.0] * 8) and green == pytest.approx([-1.0] * 8)
    assert seen[0]["outputs"] == [{"name": "probs"}]
    assert isinstance(out.result, LabelsResult)
    assert [(lb.name, lb.confidence) for lb in out.result.labels] == [("dog", 0.7), ("fish", 0.2), ("cat", 0.1)]


async def test_pixel_boxes_become_fractions_of_the_image(fake: ScriptedVendor) -> None:
    reply = {"outputs": [
        {"name": "boxes", "shape": [2, 4], "datatype": "FP32", "data": [[0, 0, 20, 10], [10, 5, 40, 20]]},
        {"name": "scores", "shape": [2], "datatype": "FP32", "data": [0.4, 0.9]},
        {"name": "labels", "shape": [2], "datatype": "INT64", "data": [1, 0]},
    ]}  # fmt: skip
    fake.route("POST", "/v2/models/detector/versions/3/infer", lambda _: Reply(json=reply))
    provider = await _built({
        "kind": "oip", "url": fake.url, "model": "detector", "version": "3", "task": "vision.objects",
        "inputs": [{"name": "image", "from": "image"}],
        "outputs": {"boxes": "boxes", "scores": "scores", "label": "labels", "classes": ["cat", "dog"],
                    "box_units": "pixels"},
    })  # fmt: skip
    try:
        out = await provider.run(Task.VISION_OBJECTS, _image(40, 20), ctx())
    finally:
        await provider.aclose()
    assert isinstance(out.result, ObjectsResult)
    first, second = out.result.objects
    assert (first.name, first.confidence) == ("cat", 0.9)
    assert (first.box.left, first.box.top, first.box.width, first.box.height) == (0.25, 0.25, 0.75, 0.75)
    assert (second.name, second.box.width, second.box.height) == ("dog", 0.5, 0.5)
    assert out.model == "detector:3"


class TestOipFailures(abstract.FailureContract):
    # A 400 from an OIP server refuses the tensors the mapping built: UpstreamBadResponse
    # (next candidate), not the caller's bad input -- tested below.
    failure_kinds = ("auth", "throttle", "timeout", "server_error", "malformed", "error_in_200")
    timeout_s = 5.0

    @pytest.fixture
    async def provider(self, fake: ScriptedVendor) -> AsyncIterator[Provider]:
        self.fake = fake
        provider = await _built(sentiment_block(fake.url, "1", timeout_s=1.0))
        yield provider
        await provider.aclose()

    def arrange(self, kind: str) -> None:
        reply = {
            "auth": Reply(status=401, json={"error": "unauthorized"}),
            "throttle": Reply(status=429, json={"error": "slow down"}, headers={"Retry-After": "1"}),
            "timeout": Reply(hang=True),
            "server_error": Reply(status=500, json={"error": "boom"}),
            "malformed": Reply.malformed(),
            "error_in_200": Reply(json={"outputs": [{"name": "other", "shape": [1], "datatype": "FP32", "data": [1]}]}),
        }[kind]
        self.fake.push("POST", "/v2/models/sentiment/versions/1/infer", reply)

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_SENTIMENT, TextRequest(text="hello")


async def test_400_is_a_bad_response_that_falls_back(fake: ScriptedVendor) -> None:
    fake.push("POST", "/v2/models/sentiment/versions/1/infer", Reply(status=400, json={"error": "bad shape"}))
    provider = await _built(sentiment_block(fake.url, "1"))
    try:
        with pytest.raises(UpstreamBadResponse, match="bad shape") as info:
            await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx())
    finally:
        await provider.aclose()
    assert info.value.fallback and not info.value.retryable


async def test_metadata_that_lacks_a_declared_tensor_marks_it_unhealthy(fake: ScriptedVendor) -> None:
    meta = {"name": "strict", "inputs": [{"name": "input_text"}], "outputs": [{"name": "predict"}]}
    fake.push("GET", r"/v2/models/[^/]+(/versions/[^/]+)?", Reply(json=meta))
    provider = await _built({**sentiment_block(fake.url, "1"), "model": "strict", "version": None})
    try:
        health = await provider.probe()
    finally:
        await provider.aclose()
    assert not health.ok
    assert "input 'text' is not one of ['input_text']" in health.detail
    assert "output 'predict_proba'" in health.detail


def test_pixel_layouts() -> None:
    """NHWC interleaves the channels of each pixel; CHW keeps one plane per channel (no batch)."""
    from PIL import Image

    from adapters.oip.config import TensorInput
    from adapters.oip.tensors import pixels

    img = Image.new("RGB", (2, 1))
    img.putpixel((0, 0), (255, 0, 0))
    img.putpixel((1, 0), (0, 0, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    media = Media(data=buf.getvalue(), format="png", width=2, height=1)
    nhwc = TensorInput(name="x", source="image", datatype="FP32", size=(2, 1), layout="NHWC")
    assert pixels(nhwc, media) == ([1, 1, 2, 3], [1.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    chw = TensorInput(name="x", source="image", datatype="FP32", size=(2, 1), layout="CHW", scale=1.0)
    assert pixels(chw, media) == ([3, 1, 2], [255.0, 0.0, 0.0, 0.0, 0.0, 255.0])
