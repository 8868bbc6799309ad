"""The Azure adapter inside the gateway: every task it serves over HTTP, and fallback.

The gateway builds ``azure`` from the policy file (kind ``azure`` through the registry),
pointed at the Azure wire fake; ``aws`` is the real AWS adapter on moto and its JSON fake,
so ``[azure, aws]`` falls back across two real adapters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.azure.prices import load_prices
from contract_tests import samples
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import aws_block
from contract_tests.conftest_azure import *  # noqa: F403
from contract_tests.conftest_azure import azure_block
from contract_tests.fakes.aws_json import AwsJsonFake
from contract_tests.fakes.azure import AzureFake, azure_error, multipart_parts, translator_error
from contract_tests.fakes.scripted import Reply
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from omnisense.schema import Task

IMAGE = samples.jpeg(128, 96)
JPEG = {"Content-Type": "image/jpeg"}
PRICES = load_prices()


@pytest.fixture
def gateway(tmp_path: Path, azure_fake: AzureFake, moto_url: str, aws_fake: AwsJsonFake) -> Iterator[TestClient]:  # type: ignore[type-arg]
    policy = {
        "version": 1,
        "providers": {
            "azure": azure_block(azure_fake.url, timeout_s=8),  # generous: a loaded CI machine is slow
            "aws": aws_block(moto_url, aws_fake.url, timeout_s=8),
        },
        "defaults": {"timeout_s": 10.0, "deadline_s": 30.0, "retries": {"attempts": 2, "backoff_s": 0.01}},
        "routes": {"*": {"candidates": ["azure", "aws"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))  # JSON is YAML
    azure_fake.reset()
    aws_fake.reset()
    with TestClient(
        create_app(GatewayConfig(policy=str(path), logs=LogSettings(sink="none")), sink=MemorySink())
    ) as client:
        yield client
    azure_fake.reset()


CASES: list[tuple[Task, dict[str, Any], float]] = [
    (Task.VISION_LABELS, {"content": IMAGE, "headers": JPEG}, 1),
    (Task.VISION_OBJECTS, {"content": IMAGE, "headers": JPEG}, 1),
    (Task.VISION_FACES, {"content": IMAGE, "headers": JPEG}, 1),
    (Task.VISION_MODERATION, {"content": IMAGE, "headers": JPEG}, 1),
    (Task.VISION_OCR, {"content": IMAGE, "headers": JPEG}, 1),
    (Task.TEXT_SENTIMENT, {"json": {"text": samples.POSITIVE, "language": "en"}}, len(samples.POSITIVE)),
    (Task.TEXT_ENTITIES, {"json": {"text": samples.ENTITIES, "language": "en"}}, len(samples.ENTITIES)),
    (Task.TEXT_KEY_PHRASES, {"json": {"text": samples.ENTITIES, "language": "en"}}, len(samples.ENTITIES)),
    (Task.TEXT_LANGUAGE, {"json": {"text": samples.SENTENCES["fr"]}}, len(samples.SENTENCES["fr"])),
    (
        Task.TEXT_TRANSLATE,
        {"json": {"text": samples.SENTENCES["en"], "target_language": "es"}},
        len(samples.SENTENCES["en"]),
    ),
    (Task.TEXT_MODERATION, {"json": {"text": samples.INSULT}}, len(samples.INSULT)),
    (
        Task.SPEECH_SYNTHESIZE,
        {"json": {"text": "Hello there", "language": "en"}, "headers": {"Accept": "application/json"}},
        len("Hello there"),
    ),
    (Task.SPEECH_TRANSCRIBE, {"content": samples.wav(2.0), "headers": {"Content-Type": "audio/wav"}}, 2.0),
]


@pytest.mark.parametrize(("task", "kwargs", "units"), CASES, ids=[c[0].value for c in CASES])
def test_every_task_is_served_by_azure_over_http(
    gateway: TestClient,  # type: ignore[type-arg]
    task: Task,
    kwargs: dict[str, Any],
    units: float,
) -> None:
    r = gateway.post(task.path, **kwargs)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == task.value and body["provider"] == "azure", body
    assert r.headers["X-Omnisense-Provider"] == "azure"
    assert body["usage"]["cost_usd"] == pytest.approx(PRICES[task].cost(units), abs=1e-8)  # rounded to 8 places
    assert [a["provider"] for a in body["attempts"]] == ["azure"]
    assert body["result"]


def test_results_are_normalized(gateway: TestClient) -> None:  # type: ignore[type-arg]
    faces = gateway.post("/v1/vision/faces", content=IMAGE, headers=JPEG).json()["result"]
    assert faces["faces"][0]["box"]["left"] == pytest.approx(593 / 1500)
    translated = gateway.post("/v1/text/translate", json={"text": samples.SENTENCES["en"], "target_language": "es"})
    assert translated.json()["result"]["source_language"] == "en"
    heard = gateway.post("/v1/speech/transcribe", content=samples.wav(1.0), headers={"Content-Type": "audio/wav"})
    assert heard.json()["result"]["text"] == "what is the weather like"  # NBest's most confident


def test_azure_429_is_retried_then_falls_back_to_aws(gateway: TestClient, azure_fake: AzureFake) -> None:  # type: ignore[type-arg]
    azure_fake.fail("analyze", *[azure_error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "0"})] * 2)
    body = gateway.post("/v1/vision/labels", content=IMAGE, headers=JPEG).json()
    assert body["provider"] == "aws" and body["result"]["labels"][0]["name"] == "Mobile Phone"
    got = [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]]
    assert got == [("azure", "UpstreamThrottled"), ("azure", "UpstreamThrottled"), ("aws", "ok")]


@pytest.mark.parametrize(
    ("op", "reply", "error"),
    [
        ("translate", translator_error(401000, "credentials are missing or invalid"), "UpstreamAuth"),
        ("translate", Reply(status=503, body=b"", content_type="text/plain"), "UpstreamUnavailable"),
    ],
)
def test_translator_errors_fall_back(
    gateway: TestClient,  # type: ignore[type-arg]
    azure_fake: AzureFake,
    op: str,
    reply: Reply,
    error: str,
) -> None:
    azure_fake.fail(op, reply, reply)
    body = gateway.post("/v1/text/translate", json={"text": samples.SENTENCES["en"], "target_language": "es"}).json()
    assert body["provider"] == "aws", body
    assert body["attempts"][0] == {**body["attempts"][0], "provider": "azure", "error_type": error}


def test_bad_image_is_the_callers_error_and_does_not_fall_back(gateway: TestClient, azure_fake: AzureFake) -> None:  # type: ignore[type-arg]
    azure_fake.fail("analyze", azure_error(400, "InvalidRequest", "Input image is too large.", "InvalidImageSize"))
    r = gateway.post("/v1/vision/labels", content=IMAGE, headers=JPEG)
    assert r.status_code == 413, r.text
    assert [a["provider"] for a in r.json()["attempts"]] == ["azure"]


def test_wav_over_a_minute_goes_in_chunks(gateway: TestClient, azure_fake: AzureFake) -> None:  # type: ignore[type-arg]
    r = gateway.post("/v1/speech/transcribe", content=samples.wav(61.0), headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    assert r.json()["provider"] == "azure" and r.json()["usage"]["units"] == 61.0
    assert len(azure_fake.calls("stt")) == 2  # 55 s + 6 s: each inside the short-audio endpoint's 60 s


def test_speakers_go_to_fast_transcription_and_come_back_as_turns(
    gateway: TestClient,  # type: ignore[type-arg]
    azure_fake: AzureFake,
) -> None:
    """``speakers`` on speech.transcribe: Azure's fast transcription with diarization (the fake answers
    its documented example: Sam of Contoso, then Mary), turns and labelled words in the result."""
    audio = samples.wav(2.0)
    r = gateway.post("/v1/speech/transcribe?speakers=2", content=audio, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["provider"] == "azure" and body["model"] == "azure-stt-fast"
    result = body["result"]
    assert [(s["speaker"], s["text"], s["start_s"], s["end_s"]) for s in result["segments"]] == [
        ("S1", "Good afternoon. This is Sam. Thank you for calling Contoso. How can I help?", 0.96, 4.24),
        ("S2", "Hi there. My name is Mary.", 5.04, 6.84),
    ]
    assert result["text"].startswith("Good afternoon. This is Sam.") and result["language"] == "en-US"
    assert result["confidence"] == pytest.approx(0.93554276)
    assert [(w["text"], w["speaker"]) for w in result["words"][:2]] == [("Good", "S1"), ("afternoon.", "S1")]
    assert result["words"][-1] == {"text": "Mary.", "start": 6.28, "end": 6.84, "confidence": None, "speaker": "S2"}
    (call,) = azure_fake.calls("fast")
    assert call.query["api-version"] == "2024-11-15" and not azure_fake.calls("stt")
    parts = multipart_parts(call)
    assert parts["audio"] == audio
    assert json.loads(parts["definition"]) == {"locales": ["en-US"], "diarization": {"enabled": True, "maxSpeakers": 2}}


def test_without_speakers_the_short_audio_endpoint_answers(gateway: TestClient, azure_fake: AzureFake) -> None:  # type: ignore[type-arg]
    r = gateway.post("/v1/speech/transcribe", content=samples.wav(1.0), headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200 and r.json()["result"].get("segments") is None
    assert len(azure_fake.calls("stt")) == 1 and not azure_fake.calls("fast")
    one = gateway.post(
        "/v1/speech/transcribe?speakers=1", content=samples.wav(1.0), headers={"Content-Type": "audio/wav"}
    )
    assert one.status_code == 200, one.text
    definition = json.loads(multipart_parts(azure_fake.calls("fast")[-1])["definition"])
    assert definition["diarization"] == {"enabled": True, "maxSpeakers": 2}  # Azure's least: one speaker still said so
    declared = gateway.get("/v1/providers").json()
    azure = next(p for p in declared["providers"] if p["name"] == "azure")
    assert azure["tasks"]["speech.transcribe"]["diarization"] is True
