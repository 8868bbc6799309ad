"""The local adapter against a scripted fake of the model server: every failure kind
maps to the right error, BentoML's 503 "overloaded" is one call (the dispatcher retries),
capabilities are read from the server, and a server that is down at start is not fatal."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.base import CallContext
from adapters.local.provider import LocalProvider
from contract_tests.abstract import FailureContract
from contract_tests.fakes import Recorded, Reply, ScriptedVendor
from omnisense.schema import Task, TaskRequest, TextRequest, TranslateRequest, UpstreamThrottled

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
    provider = registry.build("local", {"kind": "local", "url": fake.url, "timeout_s": 1.0})
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
        self.fake.push("POST", "/text/sentiment", reply)

    def failing_call(self) -> tuple[Task, TaskRequest]:
        return Task.TEXT_SENTIMENT, TextRequest(text="hello", language="en")


async def test_capabilities_come_from_the_model_server(local: LocalProvider) -> None:
    caps = local.info.capabilities
    assert set(caps) == {Task.TEXT_SENTIMENT, Task.TEXT_TRANSLATE}
    assert caps[Task.TEXT_TRANSLATE].pairs == frozenset({("en", "es")})
    assert caps[Task.TEXT_SENTIMENT].model == "vader"
    assert (await local.probe()).ok


async def test_overloaded_is_one_call_and_throttled(local: LocalProvider, fake: ScriptedVendor) -> None:
    """The adapter does not retry: the dispatcher is the only retry layer."""
    fake.push("POST", "/text/sentiment", Reply(status=503, headers={"Retry-After": "2"}))
    with pytest.raises(UpstreamThrottled) as caught:
        await local.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx())
    assert caught.value.retry_after_s == 2.0
    assert [r.path for r in fake.requests].count("/text/sentiment") == 1


async def test_the_call_carries_its_time_budget(local: LocalProvider, fake: ScriptedVendor) -> None:
    await local.run(Task.TEXT_SENTIMENT, TextRequest(text="hello"), ctx(0.5))
    sent = [r for r in fake.requests if r.path == "/text/sentiment"][-1]
    assert 0.0 < float(sent.headers["X-Omnisense-Timeout-S"]) <= 0.5


async def test_a_server_down_at_start_is_degraded_then_picked_up() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = registry.build("local", {"kind": "local", "url": f"http://127.0.0.1:{port}"})
    assert isinstance(down, LocalProvider)
    await down.start()  # not fatal
    later = ScriptedVendor()
    try:
        assert down.info.capabilities == {}
        assert not (await down.probe()).ok
        later.port = port  # the server comes up, at the configured address
        later.route("POST", "/capabilities", lambda _: Reply(json=CAPABILITIES))
        later.route("GET", "/readyz", lambda _: Reply(body=b"ok", content_type="text/plain"))
        later.start()
        assert (await down.probe()).ok
        assert Task.TEXT_SENTIMENT in down.info.capabilities, "capabilities read when it came up"
    finally:
        await down.aclose()
        later.stop()


async def test_undeclared_task_is_unsupported_without_a_call(local: LocalProvider, fake: ScriptedVendor) -> None:
    from omnisense.schema import Unsupported

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
