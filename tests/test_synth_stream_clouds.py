"""Streamed synthesis from the clouds: Polly (boto3) and Azure Speech (REST), real SDK code
against wire-level fakes that send their audio chunked, as the vendors do.

moto's Polly answers eight bytes at once (``vendor-wire.md``), so Polly's fake is ours: a
``POST /v1/speech`` that answers the documented rest-json shape, audio in the body, sent in
pieces; ``gate`` holds the pieces after the first until the test lets them go.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.conftest_azure import KEY, azure_block
from contract_tests.fakes.azure import AzureFake
from contract_tests.fakes.scripted import Reply, ScriptedVendor
from gateway.logs import MemorySink
from tests.conftest import LiveServer, make_config, wait_for

POLLY = r"/v1/speech"
PCM = bytes(range(256)) * 64  # 16 KiB: 0.5 s of 16 kHz PCM
TEXT = "Hello from the cloud. This is streamed."


@pytest.fixture
def fakes() -> Iterator[tuple[ScriptedVendor, AzureFake]]:
    polly = ScriptedVendor().start()
    polly.route("POST", POLLY, lambda req: Reply(chunks=(PCM[:8192], PCM[8192:]), content_type="audio/pcm"))
    voices = {"Voices": [{"Id": "Joanna", "LanguageCode": "en-US", "Gender": "Female", "Name": "Joanna"}]}
    polly.route("GET", r"/v1/voices", lambda req: Reply(json=voices))  # the provider's health probe
    azure = AzureFake(key=KEY)
    azure.start()
    try:
        yield polly, azure
    finally:
        polly.stop()
        azure.stop()


@pytest.fixture
def gateway(fakes: tuple[ScriptedVendor, AzureFake], tmp_path: Path) -> Iterator[tuple[LiveServer, MemorySink]]:
    with serving(fakes, tmp_path, "eu-west-1") as both:
        yield both


@contextlib.contextmanager
def serving(
    fakes: tuple[ScriptedVendor, AzureFake], tmp_path: Path, aws_region: str
) -> Iterator[tuple[LiveServer, MemorySink]]:
    """A gateway whose speech.synthesize route is [aws (Polly's fake, in ``aws_region``), azure (westeurope)]."""
    polly, azure = fakes
    aws = {
        "kind": "aws", "region": aws_region, "access_key_id": "testing", "secret_access_key": "testing",
        "endpoints": {"polly": polly.url}, "timeout_s": 5,
    }  # fmt: skip
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"""
version: 1
providers:
  aws: {json.dumps(aws)}
  azure: {json.dumps(azure_block(azure.url, region="westeurope"))}
defaults: {{timeout_s: 5.0, deadline_s: 20.0, retries: {{attempts: 1}}}}
routes:
  speech.synthesize: {{strategy: priority, candidates: [aws, azure]}}
""")
    sink = MemorySink()
    with LiveServer(make_config(policy), sink) as server:
        yield server, sink


def stream(server: LiveServer, **body: Any) -> tuple[list[bytes], httpx.Headers]:
    http = httpx.Client(base_url=server.url, timeout=20)
    with http, http.stream("POST", "/v1/speech/synthesize", json={"text": TEXT, "stream": True, **body}) as r:
        assert r.status_code == 200, r.read()
        return list(r.iter_raw()), r.headers


def test_polly_audio_is_passed_on_as_it_arrives(
    fakes: tuple[ScriptedVendor, AzureFake], gateway: tuple[LiveServer, MemorySink]
) -> None:
    polly, _ = fakes
    server, sink = gateway
    gate = threading.Event()
    polly.push("POST", POLLY, Reply(chunks=(PCM[:8192], PCM[8192:]), content_type="audio/pcm", gate=gate))
    http = httpx.Client(base_url=server.url, timeout=20)
    with http, http.stream("POST", "/v1/speech/synthesize", json={"text": TEXT, "stream": True}) as r:
        pieces = r.iter_raw()
        first = next(pieces)  # Polly has sent half its audio and holds the rest
        assert r.headers["x-omnisense-provider"] == "aws" and first[:4] == b"RIFF"
        assert not gate.is_set()
        gate.set()
        audio = first + b"".join(pieces)
        request_id = r.headers["x-request-id"]
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == 16_000 and wav.readframes(10**9) == PCM
    sent = polly.requests[-1].json()
    assert sent["Text"] == TEXT and sent["OutputFormat"] == "pcm" and sent["SampleRate"] == "16000"
    assert wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    record = next(r for r in sink.records if r.request_id == request_id)
    assert record.provider == "aws" and record.model == "polly-neural" and record.ttfb_ms is not None
    assert record.cost_usd > 0


def test_polly_mp3_passes_through_unchanged(gateway: tuple[LiveServer, MemorySink], fakes: Any) -> None:
    polly, _ = fakes
    mp3 = b"\xff\xfb\x90\x64" + b"\x00" * 4000
    polly.push("POST", POLLY, Reply(chunks=(mp3[:1000], mp3[1000:]), content_type="audio/mpeg"))
    pieces, headers = stream(gateway[0], format="mp3")
    assert b"".join(pieces) == mp3 and headers["content-type"] == "audio/mpeg"
    assert polly.requests[-1].json()["OutputFormat"] == "mp3"


def test_polly_failing_before_its_audio_falls_back_to_azures_stream(
    fakes: tuple[ScriptedVendor, AzureFake], gateway: tuple[LiveServer, MemorySink]
) -> None:
    polly, azure = fakes
    server, sink = gateway
    failure = {"__type": "ServiceFailureException", "message": "Internal failure"}
    polly.push("POST", POLLY, Reply(status=500, json=failure, headers={"x-amzn-ErrorType": "ServiceFailureException"}))
    pieces, headers = stream(server)
    assert headers["x-omnisense-provider"] == "azure"
    audio = b"".join(pieces)
    with wave.open(io.BytesIO(audio)) as wav:  # Azure's raw PCM behind the gateway's stream header
        assert wav.getframerate() == 24_000 and len(wav.readframes(10**9)) == 4800
    tts = [r for r in azure.requests if r.path == "/cognitiveservices/v1"][-1]
    assert tts.headers["X-Microsoft-OutputFormat"] == "raw-24khz-16bit-mono-pcm" and b"<speak" in tts.body
    assert wait_for(lambda: any(r.request_id == headers["x-request-id"] for r in sink.records))
    record = next(r for r in sink.records if r.request_id == headers["x-request-id"])
    assert [(a.provider, a.outcome) for a in record.attempts] == [("aws", "error"), ("azure", "ok")]
    assert record.attempts[0].error_type == "UpstreamUnavailable"


def test_azure_sends_its_chunked_body_on_as_it_comes(
    fakes: tuple[ScriptedVendor, AzureFake], gateway: tuple[LiveServer, MemorySink]
) -> None:
    _, azure = fakes
    gate = threading.Event()
    azure.push("POST", r"/cognitiveservices/v1", Reply(chunks=(b"\x01\x00" * 2400, b"\x02\x00" * 2400), gate=gate))
    with httpx.Client(base_url=gateway[0].url, timeout=20) as http, http.stream(
        "POST", "/v1/speech/synthesize", json={"text": TEXT, "stream": True, "format": "pcm"},
        headers={"X-Omnisense-Provider": "azure"},
    ) as r:  # fmt: skip
        pieces = r.iter_raw()
        first = next(pieces)
        assert first == b"\x01\x00" * 2400 and not gate.is_set()
        gate.set()
        assert first + b"".join(pieces) == b"\x01\x00" * 2400 + b"\x02\x00" * 2400
        assert r.headers["content-type"] == "audio/L16"


def test_a_streamed_synthesis_keeps_the_callers_residency(
    fakes: tuple[ScriptedVendor, AzureFake], tmp_path: Path
) -> None:
    polly = fakes[0]
    with serving(fakes, tmp_path, "us-east-1") as (server, sink):
        http = httpx.Client(base_url=server.url, timeout=20)
        body = {"text": TEXT, "stream": True}
        with (
            http,
            http.stream("POST", "/v1/speech/synthesize", json=body, headers={"X-Omnisense-Residency": "eu"}) as r,
        ):
            assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "azure"
            r.read()
        assert not [q for q in polly.requests if q.path == POLLY], "the text never went to the US vendor"
        assert wait_for(lambda: any(x.request_id == r.headers["x-request-id"] for x in sink.records))
        record = next(x for x in sink.records if x.request_id == r.headers["x-request-id"])
        assert (record.region, record.jurisdiction) == ("westeurope", "eu")
