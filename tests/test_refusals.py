"""Caller mistakes the framework, the router or the options layer catches: each a precise 4xx, never 5xx.

Each case is one a new user hit (issue 13): the framework's own 400/405/413 and a
multipart ``UnicodeDecodeError`` used to become 500, routing mistakes 503, bad options
reached the model. Every answer is problem+json whose ``status`` matches the HTTP status,
and every task request still leaves exactly one log record.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import Limits, LogSettings
from tests.conftest import LiveServer
from tests.routing_helpers import policy_text, wait_for

Client = TestClient  # type: ignore[type-arg]
PNG = samples.png()


def problem(response: Any, status: int, field: str | None = None, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    assert body.get("field") == field, body
    for word in words:
        assert word.lower() in body["detail"].lower(), body
    return body


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> dict[str, Any]:
    """A multipart body by hand: (name, filename or None for a plain field, bytes)."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return {"content": out, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


FRAMEWORK_CASES = [
    ("not multipart at all", {"content": b"hello", "headers": {"Content-Type": "multipart/form-data"}}, 400),
    (
        "malformed multipart part",
        {"content": b"--b\r\nbroken\r\n\r\n--b--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=b"}},
        400,
    ),
    ("a file sent as a plain field", multipart([("image", None, PNG)]), 400),
]


@pytest.mark.parametrize(("name", "kwargs", "status"), FRAMEWORK_CASES, ids=[c[0] for c in FRAMEWORK_CASES])
def test_framework_errors_are_4xx_with_one_record(
    client: Client, sink: MemorySink, name: str, kwargs: dict[str, Any], status: int
) -> None:
    body = problem(client.post("/v1/vision/labels", **kwargs), status)
    assert body["type"] == "/problems/invalid-input"
    wait_for(lambda: any(r.request_id == body["request_id"] for r in sink.records))
    record = next(r for r in sink.records if r.request_id == body["request_id"])
    assert record.http_status == status and record.error_type == "InvalidInput"


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    for path in ("/v1/vision/labels", "/v1/logs"):
        r = client.put(path, content=b"x")
        body = problem(r, 405, None, "PUT")
        assert body["type"] == "/problems/method-not-allowed"
        assert "POST" in r.headers["allow"] or "GET" in r.headers["allow"]
    assert problem(client.get("/v1/nothing-here"), 404)["type"] == "/problems/not-found"


def test_options_lists_exactly_the_documented_methods_of_every_path(client: Client) -> None:
    """What OPTIONS says a path allows is what the OpenAPI document lists for it (a generated
    client or a fuzzer reads both): /v1/jobs and /v1/jobs/{job_id} have two methods each."""
    doc = client.get("/schema/openapi.json").json()
    for path, operations in doc["paths"].items():
        documented = {m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete")}
        r = client.options(re.sub(r"\{[^}]+\}", "some-id", path))
        assert r.status_code == 204, path
        assert {m.strip() for m in r.headers["allow"].split(",")} == documented | {"OPTIONS"}, path


@pytest.fixture
def small(tmp_path: Path, sink: MemorySink) -> Iterator[LiveServer]:
    """The gateway over real HTTP with small limits, and providers that take at most 20 characters."""
    path = tmp_path / "policy.yaml"
    providers = {"a": {"max_chars": 20}, "b": {"max_chars": 10}}
    path.write_text(policy_text(providers, '  "*": {candidates: [a, b]}'))
    limits = Limits(max_image_bytes=50_000, max_audio_bytes=50_000, max_text_chars=1_000)
    config = GatewayConfig(policy=str(path), limits=limits, logs=LogSettings(sink="none"), policy_watch_s=None)
    with LiveServer(config, sink) as server:
        yield server


def test_chunked_body_over_the_limit_is_413(small: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield PNG
        for _ in range(100):
            yield b"\0" * 10_000  # 1 MB in all, far over the endpoint's limit

    with httpx.Client(base_url=small.url) as http:
        r = http.post("/v1/vision/labels", content=chunks(), headers={"Content-Type": "image/png"})
        assert "content-length" not in r.request.headers
        problem(r, 413, None, "limit of 100000 bytes")
        ok = http.post("/v1/vision/labels", content=iter([PNG]), headers={"Content-Type": "image/png"})
        assert ok.status_code == 200


def test_text_over_every_candidates_limit_is_413_naming_the_limits(small: LiveServer) -> None:
    with httpx.Client(base_url=small.url) as http:
        r = http.post("/v1/text/sentiment", json={"text": "x" * 25})
        problem(r, 413, "text", "accepts at most 20 characters", "accepts at most 10 characters")
        r = http.post("/v1/text/sentiment", json={"text": "x" * 15})
        assert r.status_code == 200 and r.json()["provider"] == "a"


@pytest.mark.parametrize(
    ("headers", "body", "field"),
    [
        ({"X-Omnisense-Provider": "nobody"}, {}, "X-Omnisense-Provider"),
        ({}, {"routing": {"provider": "nobody"}}, "routing.provider"),
        ({}, {"routing": {"max_cost_usd": -1}}, "routing.max_cost_usd"),
        ({}, {"routing": {"unknown": 1}}, "routing.unknown"),
        ({"X-Omnisense-Policy": "nope"}, {}, "X-Omnisense-Policy"),
    ],
)
def test_routing_mistakes_are_422_naming_the_hint(
    client: Client, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    problem(client.post("/v1/text/sentiment", json={"text": "hi", **body}, headers=headers), 422, field)
    assert not client.app.state.runtime.providers["primary"].calls


OPTION_CASES = [
    ("/v1/vision/labels", {"max_results": 0}, "max_results"),
    ("/v1/vision/labels", {"max_results": -5}, "max_results"),
    ("/v1/vision/labels", {"min_confidence": 7}, "min_confidence"),
    ("/v1/vision/labels", {"min_confidence": -0.1}, "min_confidence"),
    ("/v1/vision/ocr", {"language": ""}, "language"),
    ("/v1/vision/labels", {"surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("path", "options", "field"), OPTION_CASES)
def test_options_are_checked_in_every_input_form(
    client: Client, path: str, options: dict[str, Any], field: str
) -> None:
    as_json = {"image": {"base64": base64.b64encode(PNG).decode()}, **options}
    problem(client.post(path, json=as_json), 422, field)
    query = {k: str(v) for k, v in options.items()}
    problem(client.post(path, content=PNG, params=query, headers={"Content-Type": "image/png"}), 422, field)
    problem(client.post(path, files={"image": ("p.png", PNG)}, data=query), 422, field)
    assert not client.app.state.runtime.providers["primary"].calls


def test_text_options_and_language(client: Client) -> None:
    problem(client.post("/v1/text/sentiment", json={"text": "hi", "language": ""}), 422, "language")
    problem(client.post("/v1/text/sentiment", json={"text": ""}), 422, "text")
    r = client.post(
        "/v1/text/sentiment", content=b"hi", params={"languag": "en"}, headers={"Content-Type": "text/plain"}
    )
    problem(r, 422, "languag", "unknown query parameter")
    problem(client.post("/v1/text/sentiment", json={"text": "a\x00b"}), 422, "text", "NUL")


def test_a_field_given_twice_is_refused(client: Client) -> None:
    r = client.post("/v1/vision/labels", **multipart([("image", "a.png", PNG), ("image", "b.png", samples.jpeg())]))
    problem(r, 422, "image", "more than once")
    r = client.post("/v1/vision/labels?max_results=2&max_results=3", content=PNG, headers={"Content-Type": "image/png"})
    problem(r, 422, "max_results", "more than once")


@pytest.mark.parametrize("text", [".", "{}", "\x07 bell", "hello\x00world", " \t\n", "!!! ???"])
def test_synthesize_refuses_text_with_nothing_to_speak(client: Client, text: str) -> None:
    body = problem(client.post("/v1/speech/synthesize", json={"text": text}), 422, "text")
    assert not body.get("attempts")  # never sent to a voice, never retried
    assert not client.app.state.runtime.providers["primary"].calls
    assert client.post("/v1/speech/synthesize", json={"text": "Hello, 42!"}).status_code == 200


def test_wav_seconds_come_from_the_samples_not_the_header(client: Client) -> None:
    wav = samples.wav(1.0)
    i = wav.index(b"data")
    claims_ten_hours = wav[: i + 4] + struct.pack("<I", 16_000 * 2 * 36_000) + wav[i + 8 :]
    r = client.post("/v1/speech/transcribe", content=claims_ten_hours, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    assert r.json()["usage"] == {"units": 1.0, "unit": "second", "cost_usd": pytest.approx(0.002)}


def test_a_language_no_provider_takes_is_422_naming_it(tmp_path: Path, sink: MemorySink) -> None:
    from litestar.testing import TestClient as Sync

    from gateway.server import create_app

    path = tmp_path / "policy.yaml"
    path.write_text(
        policy_text({"a": {"languages": "[en]"}, "b": {"languages": "[en, es]"}}, '  "*": {candidates: [a, b]}')
    )
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=None)
    with Sync(create_app(config, sink=sink)) as client:
        problem(client.post("/v1/text/sentiment", json={"text": "salut", "language": "fr"}), 422, "language", "fr")
        assert client.post("/v1/text/sentiment", json={"text": "hola", "language": "es"}).json()["provider"] == "b"
        r = client.post("/v1/route/explain", json={"task": "vision.labels", "bytes": -1})
        problem(r, 422, "bytes")
        plan = client.post("/v1/route/explain", json={"task": "text.sentiment", "text": "x", "language": "fr"}).json()
        assert plan["answer"].startswith("refused: 422")
