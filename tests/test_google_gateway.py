"""The Google adapter inside the gateway: every Google task over HTTP, and fallback to AWS.

The gateway builds ``gcp`` from the policy file (kind ``google`` through the registry),
pointed at the Google wire fake with anonymous credentials, and ``aws`` pointed at moto
and the AWS JSON 1.1 fake.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests import samples
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import aws_block
from contract_tests.conftest_google import *  # noqa: F403
from contract_tests.conftest_google import google_block
from contract_tests.fakes.aws_json import AwsJsonFake
from contract_tests.fakes.google import ANNOTATE, LANGUAGE, GoogleFake, google_error
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

JPEG = {"Content-Type": "image/jpeg"}
JSON = {"Accept": "application/json"}


def _client(tmp_path: Path, policy: dict[str, Any]) -> TestClient:  # type: ignore[type-arg]
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))  # JSON is YAML
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"))
    return TestClient(create_app(config, sink=MemorySink()))


@pytest.fixture
def gateway(tmp_path: Path, google_fake: GoogleFake) -> Iterator[TestClient]:  # type: ignore[type-arg]
    policy = {
        "version": 1,
        "providers": {"gcp": google_block(google_fake.url, timeout_s=10)},
        # Generous: nothing here hangs, and a loaded machine must not turn a slow answer into a retry.
        "defaults": {"timeout_s": 10.0, "deadline_s": 30.0, "retries": {"attempts": 1}},
        "routes": {"*": {"candidates": ["gcp"]}},
    }
    google_fake.reset()
    with _client(tmp_path, policy) as client:
        yield client
    google_fake.reset()


@pytest.fixture
def with_fallback(
    tmp_path: Path, google_fake: GoogleFake, moto_url: str, aws_fake: AwsJsonFake
) -> Iterator[TestClient]:  # type: ignore[type-arg]
    policy = {
        "version": 1,
        "providers": {
            "gcp": google_block(google_fake.url, timeout_s=10),
            "aws": aws_block(moto_url, aws_fake.url, timeout_s=10),
        },
        "defaults": {"timeout_s": 10.0, "deadline_s": 30.0, "retries": {"attempts": 2, "backoff_s": 0.01}},
        "routes": {"*": {"candidates": ["gcp", "aws"]}},
    }
    google_fake.reset()
    with _client(tmp_path, policy) as client:
        yield client
    google_fake.reset()


def image(path: str) -> tuple[str, dict[str, Any]]:
    return path, {"content": samples.jpeg(), "headers": JPEG}


SENTENCE = samples.SENTENCES["en"]
# task path, request, the price of this request at Google's list prices.
CASES: list[tuple[str, dict[str, Any], float]] = [
    ("/v1/vision/labels", {"content": samples.jpeg(), "headers": JPEG}, 0.0015),
    ("/v1/vision/objects", {"content": samples.jpeg(), "headers": JPEG}, 0.00225),
    ("/v1/vision/faces", {"content": samples.jpeg(), "headers": JPEG}, 0.0015),
    ("/v1/vision/ocr", {"content": samples.text_image(), "headers": {"Content-Type": "image/png"}}, 0.0015),
    ("/v1/vision/moderation", {"content": samples.jpeg(), "headers": JPEG}, 0.0015),
    ("/v1/text/sentiment", {"json": {"text": samples.POSITIVE}}, 0.001),
    ("/v1/text/entities", {"json": {"text": samples.ENTITIES}}, 0.001),
    ("/v1/text/moderation", {"json": {"text": samples.INSULT}}, 0.0005),
    ("/v1/text/language", {"json": {"text": SENTENCE}}, len(SENTENCE) * 20.0 / 1e6),
    ("/v1/text/translate", {"json": {"text": SENTENCE, "target_language": "es"}}, len(SENTENCE) * 20.0 / 1e6),
    ("/v1/speech/synthesize", {"json": {"text": "Hello there"}, "headers": JSON}, 11 * 16.0 / 1e6),
    ("/v1/speech/transcribe", {"content": samples.wav(2.0), "headers": {"Content-Type": "audio/wav"}}, 0.006),
]


@pytest.mark.parametrize(("path", "request_kw", "cost"), CASES, ids=[c[0] for c in CASES])
def test_every_google_task_over_http(
    gateway: TestClient,  # type: ignore[type-arg]
    path: str,
    request_kw: dict[str, Any],
    cost: float,
) -> None:
    r = gateway.post(path, **request_kw)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "gcp" and r.headers["X-Omnisense-Provider"] == "gcp"
    assert body["usage"]["cost_usd"] == pytest.approx(cost)
    assert body["attempts"] == [{"provider": "gcp", "outcome": "ok", "latency_ms": body["attempts"][0]["latency_ms"]}]
    assert body["result"], body


def test_results_are_normalized(gateway: TestClient) -> None:  # type: ignore[type-arg]
    labels = gateway.post("/v1/vision/labels", content=samples.jpeg(), headers=JPEG).json()
    assert labels["model"] == "cloud-vision" and labels["result"]["labels"][0]["name"] == "Street"
    assert labels["result"]["image"] == {"width": 64, "height": 48}
    faces = gateway.post("/v1/vision/faces", content=samples.jpeg(), headers=JPEG).json()["result"]["faces"]
    assert faces[0]["box"]["left"] == 0.0 and faces[0]["landmarks"][0]["type"] == "left_eye"
    ocr = gateway.post("/v1/vision/ocr", content=samples.text_image(), headers={"Content-Type": "image/png"}).json()
    assert ocr["result"]["text"] == "HELLO WORLD"
    sentiment = gateway.post("/v1/text/sentiment", json={"text": samples.NEGATIVE}).json()["result"]
    assert sentiment["label"] == "negative" and set(sentiment["scores"]) == {"positive", "negative", "neutral", "mixed"}
    moderated = gateway.post("/v1/text/moderation", json={"text": samples.INSULT}).json()["result"]
    assert moderated["flagged"] and moderated["flags"][0]["vendor_category"] in ("Toxic", "Insult")
    calm = gateway.post("/v1/text/moderation", json={"text": samples.POSITIVE}).json()["result"]
    assert not calm["flagged"]
    translated = gateway.post("/v1/text/translate", json={"text": SENTENCE, "target_language": "es"}).json()
    assert translated["result"]["source_language"] == "en"
    audio = gateway.post("/v1/speech/synthesize", json={"text": "Hello"})
    assert audio.headers["content-type"].startswith("audio/wav") and audio.content[:4] == b"RIFF"
    heard = gateway.post("/v1/speech/transcribe", content=samples.wav(1.0), headers={"Content-Type": "audio/wav"})
    assert heard.json()["result"]["words"][4] == {
        "text": "Brooklyn",
        "start": 0.9,
        "end": 1.3,
        "confidence": 0.95,  # the word's own (enableWordConfidence)
    }


def test_key_phrases_are_not_routed_to_google(gateway: TestClient) -> None:  # type: ignore[type-arg]
    r = gateway.post("/v1/text/key-phrases", json={"text": samples.ENTITIES})
    assert r.status_code in (422, 503), r.text


def test_wav_over_a_minute_goes_in_chunks(gateway: TestClient, google_fake: GoogleFake) -> None:  # type: ignore[type-arg]
    r = gateway.post(
        "/v1/speech/transcribe", content=samples.wav(61.0, rate=8000), headers={"Content-Type": "audio/wav"}
    )
    assert r.status_code == 200 and r.json()["provider"] == "gcp", r.text
    recognized = [q for q in google_fake.requests if q.path == "/v1/speech:recognize"]
    assert len(recognized) == 2  # 55 s + 6 s: each inside recognize's 60 s


def test_bad_input_at_google_does_not_fall_back(with_fallback: TestClient, google_fake: GoogleFake) -> None:  # type: ignore[type-arg]
    google_fake.fail(LANGUAGE, google_error(400, "Invalid text content: too few tokens (words) to process."))
    r = with_fallback.post("/v1/text/entities", json={"text": samples.ENTITIES})
    assert r.status_code == 400 and [a["provider"] for a in r.json()["attempts"]] == ["gcp"]


@pytest.mark.parametrize("status", [503, 429])
def test_google_unavailable_falls_back_to_aws(
    with_fallback: TestClient,  # type: ignore[type-arg]
    google_fake: GoogleFake,
    status: int,
) -> None:
    google_fake.fail(ANNOTATE, *[google_error(status, "try later", retry_after="0")] * 2)
    r = with_fallback.post("/v1/vision/labels", content=samples.jpeg(), headers=JPEG)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "aws" and body["result"]["labels"][0]["name"] == "Mobile Phone"
    error = "UpstreamUnavailable" if status == 503 else "UpstreamThrottled"
    outcomes = [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]]
    assert outcomes == [("gcp", error), ("gcp", error), ("aws", "ok")]
    assert body["usage"]["cost_usd"] == pytest.approx(0.001)  # AWS's price, not Google's


def test_an_error_inside_a_200_falls_back(with_fallback: TestClient, google_fake: GoogleFake) -> None:  # type: ignore[type-arg]
    from contract_tests.fakes.scripted import Reply

    google_fake.fail(ANNOTATE, Reply(json={"responses": [{"error": {"code": 3, "message": "Bad image data."}}]}))
    body = with_fallback.post("/v1/vision/labels", content=samples.jpeg(), headers=JPEG).json()
    assert [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]] == [
        ("gcp", "UpstreamBadResponse"),
        ("aws", "ok"),
    ]


def test_synthesized_audio_in_json_is_base64(gateway: TestClient) -> None:  # type: ignore[type-arg]
    body = gateway.post("/v1/speech/synthesize", json={"text": "Hi", "format": "mp3"}, headers=JSON).json()
    assert base64.b64decode(body["result"]["audio"])[:2] == b"\xff\xfb" and body["model"] == "cloud-tts-neural2"


def test_providers_shows_google_healthy_by_a_free_probe(gateway: TestClient, google_fake: GoogleFake) -> None:  # type: ignore[type-arg]
    body = gateway.get("/v1/providers").json()
    gcp = next(p for p in body["providers"] if p["name"] == "gcp")
    assert gcp["health"]["ok"] is True and "voices.list" in gcp["health"]["detail"]
    assert "text.key_phrases" not in gcp["tasks"] and gcp["prices"]["vision.objects"]["usd"] == 0.00225
    assert any(r.method == "GET" and r.path == "/v1/voices" for r in google_fake.requests)  # the probe: no billed call
