"""Redaction before a vendor sees an input (``redact:``), end to end: the gateway, the real
model server as the redactor, and the Google wire fake recording every request it receives.

Nothing personal from the inputs may reach the fake; what the caller gets back still points
into the caller's own text; a redactor that is down fails closed (503, the fake receives
nothing), or with ``on_redaction_error: skip_untrusted`` the trusted local models serve.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image

from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_google import google_block
from contract_tests.fakes.google import GoogleFake
from contract_tests.model_server import LOCAL_MODELS
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key
from tests.conftest import free_port, wait_for

NAME, EMAIL, PHONE, CARD = "John Smith", "john.smith@example.com", "+1 415-555-0132", "4111 1111 1111 1111"
SECRETS = (NAME, EMAIL, PHONE, CARD, "4111111111111111", "415-555-0132", "Smith")
TEXT = f"Tim Cook met {NAME} in Berlin. Write to {EMAIL} or call {PHONE}; card {CARD}. Apple pays."
DEAD = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the redactor is stopped


def _astronaut() -> bytes:
    found = sorted(LOCAL_MODELS.glob(".venv/lib/python3*/site-packages/skimage/data/astronaut.png"))
    if not found:
        pytest.skip("scikit-image's astronaut.png is in the model server's venv only")
    return found[0].read_bytes()


def _policy(tmp_path: Path, google: str, local: str, **extra: Any) -> Path:
    route: dict[str, Any] = {"candidates": ["gcp"], "redact": ["pii", "faces"], **extra.pop("route", {})}
    policy = {
        "version": 1,
        "providers": {"gcp": google_block(google, timeout_s=10), "local": {"kind": "local", "url": local}},
        "defaults": {"timeout_s": 60.0, "deadline_s": 120.0, "retries": {"attempts": 1}},
        "routes": {"*": route},
        **extra,
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    return path


def _client(path: Path, sink: MemorySink, keys: list[ApiKey] | None = None) -> TestClient:  # type: ignore[type-arg]
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), keys=keys or [])
    return TestClient(create_app(config, sink=sink), timeout=180)


def _calls(fake: GoogleFake) -> list[Any]:
    """The requests that carried a payload (the health probe's ``GET /v1/voices`` carries none)."""
    return [r for r in fake.requests if r.method != "GET"]


def _received(fake: GoogleFake) -> str:
    """Everything the fake received, bodies as text (and base64 contents decoded)."""
    return "\n".join(r.body.decode(errors="replace") for r in fake.requests)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def redacting(tmp_path: Path, google_fake: GoogleFake, model_server_url: str, sink: MemorySink) -> Iterator[TestClient]:  # type: ignore[type-arg]
    google_fake.reset()
    with _client(_policy(tmp_path, google_fake.url, model_server_url), sink) as client:
        yield client
    google_fake.reset()


def test_no_pii_reaches_the_vendor_in_text_translation_or_synthesis(
    redacting: TestClient,  # type: ignore[type-arg]
    google_fake: GoogleFake,
    sink: MemorySink,
) -> None:
    entities = redacting.post("/v1/text/entities", json={"text": TEXT})
    assert entities.status_code == 200, entities.text
    translated = redacting.post("/v1/text/translate", json={"text": TEXT, "target_language": "es"})
    assert translated.status_code == 200, translated.text
    spoken = redacting.post("/v1/speech/synthesize", json={"text": TEXT}, headers={"Accept": "application/json"})
    assert spoken.status_code == 200, spoken.text

    received = _received(google_fake)
    paths = {r.path.rsplit("/", 1)[-1] for r in google_fake.requests}
    assert any("analyzeEntities" in p for p in paths) and any("translateText" in p for p in paths)
    assert any("synthesize" in p for p in paths)
    for secret in SECRETS:
        assert secret not in received, f"{secret!r} reached the vendor"
    assert "<EMAIL_1>" in received and "<CARD_1>" in received and "<PHONE_1>" in received

    # the caller's answer holds the caller's own values again
    assert EMAIL in translated.json()["result"]["text"] and CARD in translated.json()["result"]["text"]
    assert wait_for(lambda: len(sink.records) >= 3)
    record = next(r for r in sink.records if r.task == "text.entities")
    assert record.redaction is not None
    assert record.redaction.input == {"PERSON": 2, "EMAIL": 1, "PHONE": 1, "CARD": 1}  # Tim Cook too
    assert record.redaction.version is not None and "presidio-analyzer-2.2.366" in record.redaction.version
    logged = json.dumps([json.loads(json.dumps(r, default=str)) for r in map(_as_dict, sink.records)])
    for secret in (EMAIL, CARD, PHONE):
        assert secret not in logged  # counts only, never the values


def _as_dict(record: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(record)  # type: ignore[no-any-return]


def test_entity_offsets_point_into_the_original_text(redacting: TestClient) -> None:  # type: ignore[type-arg]
    answer = redacting.post("/v1/text/entities", json={"text": TEXT})
    assert answer.status_code == 200, answer.text
    entities = answer.json()["result"]["entities"]
    by_text = {e["text"]: e for e in entities}
    assert {"Berlin", "Apple"} <= set(by_text)  # what the fake found around the placeholders
    for e in entities:  # every offset is into the caller's text, not the masked one
        assert TEXT[e["begin"] : e["end"]] == e["text"]
    assert by_text["Apple"]["begin"] == TEXT.index("Apple")


def test_faces_blurred_before_the_vendor(
    redacting: TestClient,  # type: ignore[type-arg]
    google_fake: GoogleFake,
    model_server_url: str,
    sink: MemorySink,
) -> None:
    original = _astronaut()
    answer = redacting.post("/v1/vision/labels", content=original, headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    sent = [r.json()["requests"][0]["image"]["content"] for r in google_fake.requests if "annotate" in r.path]
    assert len(sent) == 1
    seen = base64.b64decode(sent[0])
    assert seen != original
    # the face YuNet finds in the original: its pixels changed, and no face is found there any more
    with httpx.Client(base_url=model_server_url, timeout=120) as models:
        face = models.post("/vision/faces", json={"image": base64.b64encode(original).decode()}).json()["faces"]
        assert len(face) == 1
        after = models.post("/vision/faces", json={"image": sent[0]}).json()
        assert after["faces"] == []
    box = face[0]["box"]
    before_px, after_px = _pixels(original), _pixels(seen)
    h, w = before_px.shape[:2]
    x0, y0 = int(box["left"] * w), int(box["top"] * h)
    x1, y1 = x0 + int(box["width"] * w), y0 + int(box["height"] * h)
    assert np.abs(after_px[y0:y1, x0:x1].astype(int) - before_px[y0:y1, x0:x1].astype(int)).mean() > 10
    assert wait_for(lambda: len(sink.records) >= 1)
    redaction = sink.records[-1].redaction
    assert redaction is not None and redaction.input == {"FACE": 1}


def _pixels(data: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_redactor_stopped_fails_closed(tmp_path: Path, google_fake: GoogleFake, sink: MemorySink) -> None:
    google_fake.reset()
    with _client(_policy(tmp_path, google_fake.url, DEAD), sink) as client:
        for path, body in [
            ("/v1/text/entities", {"text": TEXT}),
            ("/v1/text/translate", {"text": TEXT, "target_language": "es"}),
            ("/v1/speech/synthesize", {"text": TEXT}),
        ]:
            answer = client.post(path, json=body)
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["title"] == "Redaction unavailable"
            assert "redaction unavailable" in answer.json()["detail"]
        image = client.post("/v1/vision/labels", content=_png(), headers={"Content-Type": "image/png"})
        assert image.status_code == 503
    assert _calls(google_fake) == []  # nothing at all reached the vendor
    assert wait_for(lambda: len(sink.records) >= 4)
    assert all(r.redaction is not None and r.redaction.outcome == "unavailable" for r in sink.records)
    google_fake.reset()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_skip_untrusted_serves_from_local(
    tmp_path: Path, google_fake: GoogleFake, model_server_url: str, sink: MemorySink
) -> None:
    google_fake.reset()
    path = _policy(
        tmp_path, google_fake.url, model_server_url,
        route={"candidates": ["gcp", "local"], "on_redaction_error": "skip_untrusted"},
        redactor={"provider": "redactor"},
    )  # fmt: skip
    policy = json.loads(path.read_text())
    policy["providers"]["redactor"] = {"kind": "local", "url": DEAD}  # the redactor alone is stopped
    path.write_text(json.dumps(policy))
    with _client(path, sink) as client:
        answer = client.post("/v1/text/entities", json={"text": TEXT})
        assert answer.status_code == 200, answer.text
        assert answer.json()["provider"] == "local"
        attempts = answer.json()["attempts"]
        assert attempts[0]["provider"] == "gcp" and attempts[0]["outcome"] == "skipped"
    assert _calls(google_fake) == []
    assert wait_for(lambda: len(sink.records) >= 1)
    assert sink.records[0].redaction is not None and sink.records[0].redaction.outcome == "skipped_untrusted"
    google_fake.reset()


def test_key_asks_for_redaction_on_a_route_that_does_not(
    tmp_path: Path, google_fake: GoogleFake, model_server_url: str, sink: MemorySink
) -> None:
    google_fake.reset()
    path = _policy(tmp_path, google_fake.url, model_server_url, route={"redact": []})
    keys = [ApiKey(id="careful", sha256=hash_key("k1"), redact=["pii"]), ApiKey(id="plain", sha256=hash_key("k2"))]
    with _client(path, sink, keys) as client:
        careful = client.post("/v1/text/sentiment", json={"text": TEXT}, headers={"Authorization": "Bearer k1"})
        assert careful.status_code == 200, careful.text
        assert EMAIL not in _received(google_fake)
        google_fake.reset()
        plain = client.post("/v1/text/sentiment", json={"text": TEXT}, headers={"Authorization": "Bearer k2"})
        assert plain.status_code == 200
        assert EMAIL in _received(google_fake)  # the route itself does not redact
    google_fake.reset()


def test_ocr_text_redacted_on_the_way_back(
    tmp_path: Path, google_fake: GoogleFake, model_server_url: str, sink: MemorySink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contract_tests.fakes import google as google_wire

    monkeypatch.setattr(google_wire, "OCR_TEXT", ["Mail", EMAIL, "now"])  # what the vendor reads in the image
    google_fake.reset()
    path = _policy(tmp_path, google_fake.url, model_server_url, route={"redact": [], "redact_output": ["pii"]})
    with _client(path, sink) as client:
        answer = client.post("/v1/vision/ocr?include_raw=true", content=_png(), headers={"Content-Type": "image/png"})
        assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert EMAIL not in answer.text and answer.json().get("raw") is None  # nor in the vendor's raw answer
    assert result["text"].startswith("Mail <EMAIL_1> now")
    assert any("<EMAIL_1>" in line["text"] for line in result["lines"])
    assert wait_for(lambda: len(sink.records) >= 1)
    redaction = sink.records[0].redaction
    assert redaction is not None and redaction.output == {"EMAIL": 1} and redaction.input == {}
    google_fake.reset()


async def test_transcript_words_and_segments_redacted(model_server_url: str) -> None:
    from adapters.local.config import LocalConfig
    from adapters.local.provider import LocalProvider
    from gateway.logs.record import RequestLog
    from gateway.redaction import outputs
    from gateway.redaction.session import Redaction
    from omnisense.schema import Segment, Task, TranscribeResult, Word
    from policies.model import PolicyFile, Route

    provider = LocalProvider("local", LocalConfig(url=model_server_url))
    await provider.start()
    try:
        policy = PolicyFile(providers={"local": {"kind": "local", "url": model_server_url}})
        record = RequestLog(
            request_id="r", time=0.0, task="speech.transcribe", status="ok", http_status=0, latency_ms=0
        )
        session = Redaction(policy, {"local": provider}).session(
            Task.SPEECH_TRANSCRIBE, Route(redact_output=["pii"]), record
        )
        assert session is not None
        spoken = f"please email {EMAIL} today"
        words = [Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4, confidence=0.9) for i, w in enumerate(spoken.split())]
        result = TranscribeResult(
            text=spoken, confidence=0.9, words=words,
            segments=[Segment(start_s=0.0, end_s=2.0, speaker="S1", text=spoken)],
        )  # fmt: skip
        out, counts, version = await outputs.redact(session, result)
    finally:
        await provider.aclose()
    assert isinstance(out, TranscribeResult)
    assert out.text == "please email <EMAIL_1> today" and counts == {"EMAIL": 1} and "presidio" in version
    assert [w.text for w in out.words] == ["please", "email", "<EMAIL_1>", "today"]
    assert out.segments is not None and out.segments[0].text == out.text


def test_shadow_calls_are_redacted_too(
    tmp_path: Path, google_fake: GoogleFake, model_server_url: str, sink: MemorySink
) -> None:
    google_fake.reset()
    path = _policy(tmp_path, google_fake.url, model_server_url, route={"candidates": ["local"], "shadow": ["gcp"]})
    with _client(path, sink) as client:
        answer = client.post("/v1/text/entities", json={"text": TEXT})
        assert answer.status_code == 200, answer.text
        assert answer.json()["provider"] == "local"  # trusted: served from the original text
        assert wait_for(lambda: any("analyzeEntities" in r.path for r in google_fake.requests), 30)
    received = _received(google_fake)
    for secret in SECRETS:
        assert secret not in received, f"{secret!r} reached the shadow vendor"
    assert "<EMAIL_1>" in received
    google_fake.reset()
