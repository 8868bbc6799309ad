"""Bad input gives HTTP 400 with {"error": "invalid_input"|"unsupported", "detail"}."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from inputs import b64_png, sample

NOT_AN_IMAGE = base64.b64encode(b"certainly not an image").decode()


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/vision/labels", {"image": "%%% not base64 %%%"}, "invalid_input"),
        ("/vision/labels", {"image": NOT_AN_IMAGE}, "invalid_input"),
        ("/vision/labels", {"image": ""}, "invalid_input"),
        ("/vision/labels", {}, "invalid_input"),
        ("/vision/labels", {"image": 42}, "invalid_input"),
        ("/vision/faces", {"image": NOT_AN_IMAGE}, "invalid_input"),
        ("/vision/ocr", {"image": NOT_AN_IMAGE}, "invalid_input"),
        ("/text/sentiment", {"text": ""}, "invalid_input"),
        ("/text/sentiment", {"text": "   "}, "invalid_input"),
        ("/text/sentiment", {"text": "Questo è buono", "language": "it"}, "unsupported"),
        ("/text/entities", {"text": ""}, "invalid_input"),
        ("/text/key_phrases", {"text": ""}, "invalid_input"),
        ("/text/language", {"text": ""}, "invalid_input"),
        ("/text/moderation", {"text": ""}, "invalid_input"),  # the batched path
        ("/text/moderation", {"text": "x" * 100_001}, "invalid_input"),
        ("/text/moderation", {"text": "Du bist ein Idiot.", "language": "de"}, "unsupported"),
        ("/text/moderation", {"text": "Hello", "language": "not a code!"}, "invalid_input"),
        ("/text/translate", {"text": "Hello", "target_language": "ja"}, "unsupported"),
        ("/text/translate", {"text": "Hello", "target_language": "not a code!"}, "invalid_input"),
        ("/text/translate", {"text": "", "target_language": "es"}, "invalid_input"),
        ("/speech/synthesize", {"text": "Hi", "voice": "nobody"}, "unsupported"),
        ("/speech/synthesize", {"text": "Hi", "format": "mp3"}, "unsupported"),
        ("/speech/synthesize", {"text": "Hi", "language": "xx"}, "unsupported"),
        ("/speech/synthesize", {"text": ""}, "invalid_input"),
        ("/speech/transcribe", {"audio": NOT_AN_IMAGE}, "invalid_input"),
        ("/speech/transcribe", {"audio": "UklGRg==", "language": "xx"}, "unsupported"),
    ],
)
def test_bad_input_is_400(client: Any, path: str, body: dict[str, Any], code: str) -> None:
    resp = client.post(path, body)
    assert resp.status_code == 400, resp.text
    data = resp.json()
    assert data["error"] == code and isinstance(data["detail"], str) and data["detail"]


def test_labels_max_results_zero(client: Any) -> None:
    resp = client.post("/vision/labels", {"image": b64_png(sample("coffee")), "max_results": 0})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_input"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_non_json_body_is_400(server: str, raw: bytes) -> None:
    resp = httpx.post(f"{server}/text/sentiment", content=raw, headers={"content-type": "application/json"}, timeout=30)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_input"


def test_health_endpoints(server: str) -> None:
    assert httpx.get(f"{server}/readyz", timeout=10).status_code == 200
    assert httpx.get(f"{server}/livez", timeout=10).status_code == 200
