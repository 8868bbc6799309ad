"""Live transcription on the local model server (Moonshine tiny-en) through the gateway, over a
real WebSocket: speech made by the local synthesizer, sent at real-time pace."""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import LogSettings
from omnisense.client import Client
from tests.conftest import LiveServer
from tests.live_helpers import open_ws, records_of

SENTENCES = ["The weather is nice today.", "Please call me in the morning."]
WORDS = ["weather", "nice", "today", "call", "morning"]


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, MemorySink]]:
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("live-local") / "policy.yaml"
    policy.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    sink = MemorySink()
    with LiveServer(GatewayConfig(policy=str(policy), logs=LogSettings(sink="none")), sink) as server:
        yield server, sink


def spoken_wav(base: str) -> tuple[bytes, float]:
    """Both sentences from the local synthesizer, a second of silence between: one WAV."""
    pcm, rate = b"", 0
    with Client(base, timeout=120) as omni:
        for i, sentence in enumerate(SENTENCES):
            with wave.open(io.BytesIO(omni.speech.synthesize(sentence))) as w:
                rate = w.getframerate()
                pcm += (b"\x00\x00" * rate if i else b"") + w.readframes(w.getnframes())
    pcm += b"\x00\x00" * (rate // 2)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm, len(pcm) / 2 / rate


def test_spoken_audio_gives_partials_before_the_end_and_the_right_final_transcript(
    gateway: tuple[LiveServer, MemorySink],
) -> None:
    server, sink = gateway
    wav, seconds = spoken_wav(server.url)
    frame = len(wav) // int(seconds * 10)  # ~100 ms of audio a frame
    events: list[tuple[float, dict[str, Any]]] = []
    with open_ws(server.url) as ws:
        ws.send(json.dumps({"type": "start", "encoding": "wav", "language": "en"}))
        reader = threading.Thread(target=_read_all, args=(ws, events))
        reader.start()
        for i in range(0, len(wav), frame):  # at real-time pace
            ws.send(wav[i : i + frame])
            time.sleep(0.1)
        last_audio_at = time.monotonic()
        ws.send(json.dumps({"type": "end"}))
        reader.join(120)
        code = ws.close_code
    assert code == 1000
    kinds = [e["type"] for _, e in events]
    assert kinds[-1] == "done"
    partials_in_time = [e for at, e in events if e["type"] == "partial" and at < last_audio_at]
    assert partials_in_time, kinds  # words came back while the audio was still being sent
    finals = [e for _, e in events if e["type"] == "final"]
    text = " ".join(e["text"] for e in finals).lower()
    assert all(word in text for word in WORDS), text
    assert {e["provider"] for _, e in events if e["type"] != "done"} == {"local"}
    assert len(finals) >= 2 and finals[-1]["start_s"] > 1.0  # the pause split them, on the session's time line
    done = events[-1][1]
    assert done["audio_s"] == pytest.approx(seconds, abs=0.01) and done["providers"][0]["provider"] == "local"
    record = records_of(sink)[-1]
    assert record.stream is not None and record.stream.close_code == 1000 and record.provider == "local"
    assert record.stream.first_partial_ms is not None


def _read_all(ws: Any, events: list[tuple[float, dict[str, Any]]]) -> None:
    try:
        while True:
            events.append((time.monotonic(), json.loads(ws.recv(timeout=120))))
    except ConnectionClosed:
        pass


def test_the_provider_list_says_local_streams(gateway: tuple[LiveServer, MemorySink]) -> None:
    server, _ = gateway
    listed = httpx.get(server.url + "/v1/providers").json()["providers"]
    local = next(p for p in listed if p["name"] == "local")
    assert local["tasks"]["speech.transcribe"]["streaming"] is True
