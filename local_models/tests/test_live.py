"""WS /live/transcribe: Moonshine tiny-en, partials as it hears and finals at pauses."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from typing import Any

import aiohttp

from conftest import Client

SENTENCES = ["The weather is nice today.", "Please call me in the morning."]


def _spoken(client: Client) -> tuple[bytes, int]:
    """Both sentences as piper says them, with a second of silence between (a pause)."""
    pcm, rate = b"", 0
    for i, sentence in enumerate(SENTENCES):
        audio = base64.b64decode(client.ok("/speech/synthesize", {"text": sentence})["audio"])
        with wave.open(io.BytesIO(audio)) as w:
            rate = w.getframerate()
            pcm += (b"\x00\x00" * rate if i else b"") + w.readframes(w.getnframes())
    return pcm + b"\x00\x00" * rate, rate


async def _session(url: str, pcm: bytes, rate: int, start: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    events: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"sample_rate": rate, **start}))
        step = rate // 10 * 2  # 100 ms frames
        for i in range(0, len(pcm), step):
            await ws.send_bytes(pcm[i : i + step])
            events.append({"sent_s": (i + step) / 2 / rate})  # a marker: how much audio had gone out
        await ws.send_str(json.dumps({"type": "end"}))
        async for message in ws:
            events.append(json.loads(message.data))
        return events, ws.close_code


def test_partials_come_before_the_end_and_finals_at_pauses(server: str, client: Client) -> None:
    pcm, rate = _spoken(client)
    url = server.replace("http://", "ws://") + "/live/transcribe"
    events, code = asyncio.run(_session(url, pcm, rate, {"language": "en", "interim": True}))
    assert code == 1000
    answers = [e for e in events if "type" in e]
    assert answers[-1] == {"type": "done"}
    finals = [e for e in answers if e["type"] == "final"]
    assert len(finals) == 2, answers  # one per sentence: the pause ends the first
    words = " ".join(f["text"] for f in finals).lower()
    # "weather" and "whether" sound the same: Moonshine wrote "but whether is nice today" in one
    # fresh-clone run on a busy machine, where its passes fell on other frames than usual.
    for expected in (("weather", "whether"), ("nice",), ("today",), ("call",), ("morning",)):
        assert any(word in words for word in expected), words
    assert finals[1]["start_s"] > finals[0]["end_s"]
    assert any(e["type"] == "partial" for e in answers)
    shown: list[str] = []  # partials are stable once shown: each extends the one before, until a final
    for event in answers:
        words = event.get("text", "").split()
        if event["type"] == "partial":
            assert words[: len(shown)] == shown and len(words) > len(shown), (shown, words)
            shown = words
        elif event["type"] == "final":
            shown = []


def test_a_language_it_does_not_speak_is_refused(server: str) -> None:
    url = server.replace("http://", "ws://") + "/live/transcribe"
    events, code = asyncio.run(_session(url, b"", 16000, {"language": "de"}))
    assert code == 1003
    assert events[-1]["type"] == "error" and events[-1]["error"] == "unsupported"


def test_capabilities_say_speech_transcribe_streams(client: Client) -> None:
    caps = client.ok("/capabilities", {})["tasks"]["speech.transcribe"]
    assert caps["streaming"] is True and caps["stream_languages"] == ["en"]
