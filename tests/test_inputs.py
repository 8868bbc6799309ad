"""Every bad input gets the exact status and a problem+json that names what is wrong."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink

PNG = samples.png()


def corrupt_png() -> bytes:
    data = bytearray(PNG)
    data[40] ^= 0xFF  # inside the IDAT chunk: the CRC no longer matches
    return bytes(data)


def assert_problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["type"].startswith("/problems/") and body["title"]
    for word in words:
        assert word.lower() in body["detail"].lower(), body
    return body


CASES = [
    # (name, path, kwargs, status, words in detail)
    (
        "pdf as image",
        "/v1/vision/labels",
        {"content": b"%PDF-1.7\n...", "headers": {"Content-Type": "image/png"}},
        415,
        ["pdf"],
    ),
    (
        "html as image",
        "/v1/vision/ocr",
        {"content": b"<html></html>", "headers": {"Content-Type": "image/jpeg"}},
        415,
        ["html"],
    ),
    (
        "corrupt png",
        "/v1/vision/faces",
        {"content": corrupt_png(), "headers": {"Content-Type": "image/png"}},
        400,
        ["corrupt"],
    ),
    ("empty image", "/v1/vision/labels", {"content": b"", "headers": {"Content-Type": "image/png"}}, 400, ["empty"]),
    ("bad base64", "/v1/vision/labels", {"json": {"image": {"base64": "***"}}}, 400, ["base64"]),
    ("url not allowed", "/v1/vision/labels", {"json": {"image": {"url": "http://10.0.0.1/x.png"}}}, 422, ["url"]),
    (
        "invalid json",
        "/v1/text/sentiment",
        {"content": b"{nope", "headers": {"Content-Type": "application/json"}},
        400,
        ["json"],
    ),
    ("empty text", "/v1/text/sentiment", {"json": {"text": "   "}}, 422, ["text"]),
    ("missing text", "/v1/text/entities", {"json": {"language": "en"}}, 422, ["text"]),
    ("unknown language", "/v1/text/sentiment", {"json": {"text": "hi", "language": "xx"}}, 422, ["language", "xx"]),
    (
        "unknown target",
        "/v1/text/translate",
        {"json": {"text": "hi", "target_language": "zz"}},
        422,
        ["target_language"],
    ),
    ("unknown field", "/v1/text/language", {"json": {"text": "hi", "colour": "red"}}, 422, ["colour"]),
    ("bad synth format", "/v1/speech/synthesize", {"json": {"text": "hi", "format": "midi"}}, 422, ["format"]),
    (
        "text as audio",
        "/v1/speech/transcribe",
        {"content": b"hello", "headers": {"Content-Type": "audio/wav"}},
        415,
        ["audio"],
    ),
    (
        "image as audio",
        "/v1/speech/transcribe",
        {"content": PNG, "headers": {"Content-Type": "audio/wav"}},
        415,
        ["audio"],
    ),
    (
        "multipart without file",
        "/v1/vision/labels",
        {"data": {"max_results": "3"}, "files": {"other": ("a.png", PNG)}},
        400,
        ["image"],
    ),
    (
        "xml for text task",
        "/v1/text/sentiment",
        {"content": b"<x/>", "headers": {"Content-Type": "application/xml"}},
        415,
        ["json"],
    ),
]


@pytest.mark.parametrize(("name", "path", "kwargs", "status", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(
    client: TestClient, sink: MemorySink, name: str, path: str, kwargs: dict[str, Any], status: int, words: list[str]
) -> None:  # type: ignore[type-arg]
    response = client.post(path, **kwargs)
    assert_problem(response, status, *words)
    providers = client.app.state.runtime.providers
    assert not providers["primary"].calls, "bad input never reaches a provider"


def test_limits(tmp_path: Any, sink: MemorySink) -> None:
    from gateway.server import GatewayConfig, create_app
    from gateway.server.config import Limits, LogSettings
    from tests.conftest import POLICY

    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    limits = Limits(max_image_bytes=1000, max_text_chars=10, max_image_pixels=100)
    config = GatewayConfig(policy=str(policy), limits=limits, logs=LogSettings(sink="none"))
    with TestClient(create_app(config, sink=sink)) as c:
        big = samples.png(200, 200, (1, 2, 3)) + b"\0" * 2000
        assert_problem(c.post("/v1/vision/labels", content=big, headers={"Content-Type": "image/png"}), 413, "limit")
        assert_problem(c.post("/v1/vision/labels", content=samples.png(20, 20)), 413, "pixels")
        assert_problem(c.post("/v1/text/sentiment", json={"text": "x" * 11}), 413, "10")


@pytest.mark.parametrize("form", ["raw", "multipart", "json"])
def test_image_input_forms(client: TestClient, form: str) -> None:  # type: ignore[type-arg]
    jpeg = samples.jpeg(80, 60)
    kwargs: dict[str, Any] = {
        "raw": {
            "content": jpeg,
            "headers": {"Content-Type": "application/octet-stream"},
            "params": {"max_results": "3"},
        },
        "multipart": {"files": {"image": ("photo.png", jpeg, "image/png")}, "data": {"max_results": "3"}},
        "json": {"json": {"image": {"base64": base64.b64encode(jpeg).decode()}, "max_results": 3}},
    }[form]
    response = client.post("/v1/vision/labels", **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["image"] == {"width": 80, "height": 60}
    _, request = client.app.state.runtime.providers["primary"].calls[-1]
    assert request.image.format == "jpeg", "the format is sniffed from the bytes, not the file name"
    assert request.max_results == 3
