"""The Python client's ``transcribe_stream`` and ``omnisense transcribe --live`` against a gateway
on scripted streaming providers, over real WebSockets."""

from __future__ import annotations

import asyncio
import io
import struct
import time
from pathlib import Path

import pytest
from rich.console import Console

from contract_tests.scripted_stream import speech_pcm
from gateway.cli import parser
from gateway.logs import MemorySink
from gateway.server.config import GatewayConfig, LogSettings
from gateway.task_cli.live import run_live
from omnisense.client import AsyncClient
from omnisense.schema import BudgetExceeded, NoProvider
from omnisense.schema.streaming import StreamDone, StreamEvent
from tests.conftest import LiveServer
from tests.live_helpers import chunks, stream_policy

WORDS: list[str | None] = ["alpha", "bravo", None, "charlie", "delta", None]


def _server(tmp_path: Path, **policy: str) -> LiveServer:
    config = GatewayConfig(policy=str(stream_policy(tmp_path, **policy)), logs=LogSettings(sink="none"))
    return LiveServer(config, MemorySink())


async def _collect(url: str, frames: object, **kwargs: object) -> list[StreamEvent | StreamDone]:
    async with AsyncClient(url) as client:
        return [e async for e in client.transcribe_stream(frames, **kwargs)]  # type: ignore[arg-type]


def test_async_for_event_in_transcribe_stream(tmp_path: Path) -> None:
    with _server(tmp_path) as server:
        events = asyncio.run(_collect(server.url, chunks(speech_pcm(WORDS)), language="en"))
    finals = [e for e in events if isinstance(e, StreamEvent) and e.type == "final"]
    assert [f.text for f in finals] == ["alpha bravo", "charlie delta"]
    assert any(isinstance(e, StreamEvent) and e.type == "partial" for e in events)
    done = events[-1]
    assert isinstance(done, StreamDone) and done.text == "alpha bravo charlie delta"
    assert done.providers[0].provider == "first"


def test_async_chunks_and_a_pinned_provider(tmp_path: Path) -> None:
    async def frames() -> object:
        for frame in chunks(speech_pcm(WORDS)):
            yield frame

    with _server(tmp_path) as server:
        events = asyncio.run(_collect(server.url, frames(), provider="second"))
    assert {e.provider for e in events if isinstance(e, StreamEvent)} == {"second"}


def test_a_close_code_raises_the_gateways_error(tmp_path: Path) -> None:
    with (
        _server(tmp_path, first=", refuse_open: true", second=", refuse_open: true") as server,
        pytest.raises(NoProvider, match="4503"),
    ):
        asyncio.run(_collect(server.url, chunks(speech_pcm(WORDS))))


def test_budget_close_is_budget_exceeded(tmp_path: Path) -> None:
    from gateway.server.config import ApiKey, hash_key

    budgets = "budgets:\n  - {key: team-a, usd_per_day: 0.0005, then: reject}\n"
    keys = [ApiKey(id="team-a", sha256=hash_key("secret-a"))]
    config = GatewayConfig(
        policy=str(stream_policy(tmp_path, budgets=budgets)), keys=keys, logs=LogSettings(sink="none")
    )

    async def run(url: str) -> None:
        async with AsyncClient(url, api_key="secret-a") as client:
            async for _ in client.transcribe_stream(chunks(speech_pcm(WORDS))):
                pass

    with LiveServer(config, MemorySink()) as server, pytest.raises(BudgetExceeded):
        asyncio.run(run(server.url))


def test_transcribe_live_paces_the_file_and_prints_the_finals(tmp_path: Path) -> None:
    pcm = speech_pcm(WORDS)
    wav = tmp_path / "speech.wav"
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    wav.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
                    + b"data" + struct.pack("<I", len(pcm)) + pcm)  # fmt: skip
    out = io.StringIO()
    with _server(tmp_path) as server:
        args = parser().parse_args(["transcribe", "--live", str(wav), "--url", server.url])
        began = time.monotonic()
        code = run_live(args, Console(file=out, width=200))
        took = time.monotonic() - began
    text = out.getvalue()
    assert code == 0, text
    assert took >= len(WORDS) * 0.2 * 0.9  # real-time pace: 1.2 s of audio
    assert "alpha bravo  (first)" in text and "charlie delta  (first)" in text
    assert "done: 1.2 s of audio" in text
