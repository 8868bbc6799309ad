"""The local adapter against a scripted fake of the model server: every failure kind
maps to the right error, BentoML's 503 "overloaded" is retried, and capabilities are
read from the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.base import CallContext
from adapters.local.provider import LocalProvider
from contract_tests.abstract import FailureContract
from contract_tests.fakes import Recorded, Reply, ScriptedVendor
from gateway.schema import Task, TaskRequest, TextRequest, TranslateRequest, UpstreamThrottled

CAPABILITIES = {
    "tasks": {
        "text.sentiment": {"model": "vader", "languages": ["en"]},
        "text.translate": {"model": "apertium", "languages": ["en", "es"], "pairs": [["en", "es"]]},
    },
    "device": "cpu",
}
SENTIMENT = {"label": "positive", "scores": {"positive": 0.8, "negative": 0.0, "neutral": 0.2, "mixed": 0.0}}


@pytest.fixture(scope="module")
def fake() -> Iterator[ScriptedVendor]:
    vendor = ScriptedVendor().start()
    vendor.route("POST", "/capabilities", lambda _: Reply(json=CAPABILITIES))
    vendor.route("POST", "/text/sentiment", lambda _: Reply(json=SENTIMENT))
    vendor.route("GET", "/readyz", lambda _: Reply(body=b"ok", content_type="text/plain"))
    yield vendor
    vendor.stop()


@pytest.fixture
async def local(fake: ScriptedVendor) -> Any:
    fake.reset()
    provider = registry.build("local", {"kind": "local", "url": fake.url, "timeout_s": 1.0, "overload_retries": 2})
    await provider.start()
    yield provider
    await provider.aclose()


def ctx(seconds: float = 5.0) -> CallContext:
    return CallContext(request_id="t", deadline=time.monotonic() + seconds)


class TestLocalFailures(FailureContract):
    failure_kinds = ("throttle", "timeout", "server_error", "malformed", "error_in_200", "bad_input")

    @pytest.fixture
    def provider(self, local: LocalProvider, fake: ScriptedVendor) -> LocalProvider:
        self.fake = fake
        return local

    def arrange(self, kind: str) -> None:
        reply = {
            "throttle": Reply(status=503, json={"error": "overloaded"}),
            "timeout": Reply(hang=True),
            "server_error": Reply(status=500, body=b"Internal Server Error", content_type="text/plain"),
            "malformed": Reply.malformed(),
            "error_in_200": Reply(json={"label": "positive", "scores": {"positive": 80}}),
            "bad_input": Reply(status=400, json={"error": "invalid_input", "detail": "text is empty"}),
        }[kind]
        # A throttled server stays throttled through the adapter's own retries.
        self.fake.push("POST", "/text/sentiment", *([reply] * (3 if kind == "throttle" else 1)))

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_SENTIMENT, TextRequest(text="hello", language="en")


async def test_capabilities_come_from_the_model_server(local: LocalProvider) -> None:
    caps = local.info.capabilities
    assert set(caps) == {Task.TEXT_SENTIMENT, Task.TEXT_TRANSLATE}
    assert caps[Task.TEXT_TRANSLATE].pairs == frozenset({("en", "es")})
    assert caps[Task.TEXT_SENTIMENT].model == "vader"
    assert (await local.probe()).ok


async def test_overloaded_is_retried_by_the_adapter(local: LocalProvider, fake: ScriptedVendor) -> None:
    fake.push("POST", "/text/sentiment", Reply(status=503), Reply(status=503))
    out = await local.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx())
    assert out.result.label == "positive"  # type: ignore[union-attr]
    assert [r.path for r in fake.requests].count("/text/sentiment") == 3


async def test_overloaded_three_times_is_throttled(local: LocalProvider, fake: ScriptedVendor) -> None:
    fake.push("POST", "/text/sentiment", *[Reply(status=503)] * 3)
    with pytest.raises(UpstreamThrottled):
        await local.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx())


async def test_undeclared_task_is_unsupported_without_a_call(local: LocalProvider, fake: ScriptedVendor) -> None:
    from gateway.schema import Unsupported

    with pytest.raises(Unsupported):
        await local.run(Task.TEXT_ENTITIES, TextRequest(text="hello"), ctx())
    assert not [r for r in fake.requests if r.path == "/text/entities"]


async def test_request_body_is_what_the_model_server_expects(local: LocalProvider, fake: ScriptedVendor) -> None:
    def translate(req: Recorded) -> Reply:
        body = req.json()
        assert body == {"text": "hello", "target_language": "es", "source_language": "en"}
        return Reply(json={"text": "hola", "source_language": "en", "target_language": "es"})

    fake.route("POST", "/text/translate", translate)
    req = TranslateRequest(text="hello", target_language="es", source_language="en")
    out = await local.run(Task.TEXT_TRANSLATE, req, ctx())
    assert out.result.text == "hola" and out.model == "apertium"  # type: ignore[union-attr]
