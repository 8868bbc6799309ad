"""Streamed synthesis on the real model server: ``POST /speech/synthesize_stream``."""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Any

import httpx

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was a bright cold day in April. "
    "The clocks were striking thirteen. Then the fox ran home."
)


def _events(server: str, body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The stream's lines, each with the index of the network read that completed it."""
    events: list[tuple[int, dict[str, Any]]] = []
    pending = b""
    http = httpx.Client(base_url=server, timeout=120)
    with http, http.stream("POST", "/speech/synthesize_stream", json=body) as r:
        assert r.status_code == 200
        for read, data in enumerate(r.iter_raw()):
            pending += data
            *lines, pending = pending.split(b"\n")
            events += [(read, json.loads(line)) for line in lines if line.strip()]
    assert not pending.strip(), "the body ends with a complete line"
    return events


def test_audio_comes_sentence_by_sentence_before_the_end(server: str) -> None:
    events = _events(server, {"text": TEXT, "language": "en"})
    audio = [(read, e) for read, e in events if "audio" in e]
    done_read, done = events[-1]
    assert done["done"] is True and done["voice"] == "en_US-joe-medium"
    assert len(audio) == 4, "one piece of audio per sentence"
    # the first sentence's audio was on the wire before the server had finished the last one
    assert audio[0][0] < done_read
    assert audio[0][0] < audio[-1][0]


def test_the_concatenated_stream_is_a_wav_that_transcribes_back(server: str, client: Any) -> None:
    events = _events(server, {"text": TEXT})
    stream = b"".join(base64.b64decode(e["audio"]) for _, e in events if "audio" in e)
    assert stream[:4] == b"RIFF" and stream[8:12] == b"WAVE"
    assert stream[4:8] == b"\xff\xff\xff\xff", "a streamed WAV's sizes are unknown when its header is sent"
    with wave.open(io.BytesIO(stream)) as wav:  # Python reads "up to the end" for such a header
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (22050, 1, 2)
        pcm = wav.readframes(10**9)
    assert len(pcm) == len(stream) - 44 and len(pcm) / 2 / 22050 > 5.0
    whole = client.ok("/speech/synthesize", {"text": TEXT})
    with wave.open(io.BytesIO(base64.b64decode(whole["audio"]))) as wav:
        whole_s = wav.getnframes() / wav.getframerate()
    assert abs(len(pcm) / 2 / 22050 - whole_s) < 0.25 * whole_s  # piper's noise varies durations a little
    heard = client.ok("/speech/transcribe", {"audio": base64.b64encode(stream).decode(), "language": "en"})["text"]
    for word in ("quick", "fox", "april", "clocks"):
        assert word in heard.lower()


def test_espeak_voices_stream_in_one_piece(server: str) -> None:
    events = _events(server, {"text": "Hola. ¿Cómo estás?", "language": "es"})
    assert [next(iter(e)) for _, e in events] == ["audio", "done"]
    audio = base64.b64decode(events[0][1]["audio"])
    assert audio[:4] == b"RIFF" and audio[40:44] == b"\xff\xff\xff\xff" and len(audio) > 10_000


def test_an_error_is_the_last_line(server: str) -> None:
    events = _events(server, {"text": "Hello there.", "voice": "no-such-voice"})
    assert [e for _, e in events] == [{"error": "unsupported", "detail": "voice 'no-such-voice' is not installed"}]
    events = _events(server, {"text": "Hello", "format": "mp3"})
    assert events[-1][1]["error"] == "unsupported"
