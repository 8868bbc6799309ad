"""Streamed synthesis end to end on the real local model server (piper, sentence by sentence)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import LogSettings
from omnisense.client import Client
from tests.conftest import LiveServer, wait_for

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was a bright cold day in April. "
    "The clocks were striking thirteen. Then the fox ran home."
)


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, MemorySink]]:
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("local") / "policy.yaml"
    policy.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    sink = MemorySink()
    with LiveServer(GatewayConfig(policy=str(policy), logs=LogSettings(sink="none")), sink) as server:
        yield server, sink


def test_local_audio_streams_sentence_by_sentence(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, sink = gateway
    reads: list[bytes] = []
    with httpx.Client(base_url=server.url, timeout=120) as http:
        providers = http.get("/v1/providers").json()
        local = next(p for p in providers["providers"] if p["name"] == "local")
        assert local["tasks"]["speech.synthesize"]["streaming"] is True
        with http.stream("POST", "/v1/speech/synthesize", json={"text": TEXT, "stream": True}) as r:
            assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "local"
            reads = list(r.iter_raw())
            request_id = r.headers["x-request-id"]
            timing = r.headers["server-timing"]
    audio = b"".join(reads)
    # the first sentence came on its own: the rest was still being synthesized
    assert len(reads) >= 2 and len(reads[0]) < len(audio)
    assert "ttfb;dur=" in timing
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == 22050
        seconds = len(wav.readframes(10**9)) / 2 / 22050
    assert seconds > 5.0
    assert wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    record = next(r for r in sink.records if r.request_id == request_id)
    assert record.status == "ok" and record.provider == "local" and record.model == "piper"
    assert record.ttfb_ms is not None and record.ttfb_ms < record.latency_ms
    assert record.units == len(TEXT) and record.output is not None and record.output.items == len(audio)
    with Client(server.url, timeout=180) as omni:  # the streamed WAV, as is, is audio the gateway reads
        heard = omni.speech.transcribe(audio, language="en").result.text.lower()
    assert "quick brown fox" in heard and "april" in heard
