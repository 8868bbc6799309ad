"""Streamed synthesis: the body of ``POST /speech/synthesize_stream``, sentence by sentence.

Piper synthesizes one sentence at a time (``PiperVoice.synthesize`` yields a chunk per
sentence), so the first sentence's audio is sent while the next ones are still being
made. espeak-ng voices (other languages) are made whole and sent as one piece.

The body is NDJSON, one JSON object a line, because BentoML ends a stream that fails
midway like one that is complete (it logs the error and closes the body normally):

- ``{"audio": "<base64>"}``: the next bytes of the WAV stream, in order. The first one
  starts with a WAV header whose RIFF and data sizes are ``0xFFFFFFFF`` (the length is not
  known yet: the streaming convention), then 16-bit mono PCM;
- ``{"done": true, "voice": ..., "sample_rate": ..., "format": "wav"}``: the last line of
  a complete stream;
- ``{"error": "invalid_input" | "unsupported" | "timeout", "detail": "..."}``: the last
  line of a failed one.

A body that ends with neither last line was cut off; the gateway treats it as broken.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import wave
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from .errors import ModelInputError
from .media import require_text

if TYPE_CHECKING:
    from .speech import SpeechModels

UNKNOWN = 0xFFFFFFFF  # a RIFF or data chunk size not known when the header is sent


def wav_stream_header(sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """A 44-byte PCM WAV header for a stream of unknown length."""
    block = channels * sample_width
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", UNKNOWN, b"WAVE", b"fmt ", 16, 1, channels, sample_rate, sample_rate * block, block,
        sample_width * 8, b"data", UNKNOWN,
    )  # fmt: skip


def _line(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":")) + "\n"


def _audio(data: bytes) -> str:
    return _line({"audio": base64.b64encode(data).decode("ascii")})


def synthesize_lines(
    models: SpeechModels, text: str, voice: str | None, language: str | None, fmt: str, deadline: float | None
) -> Iterator[str]:
    """The NDJSON lines of one streamed synthesis (see the module docstring)."""
    from .errors import unsupported
    from .speech import MAX_SPEECH_CHARS, PIPER_VOICE

    try:
        require_text(text, MAX_SPEECH_CHARS)
        if (fmt or "wav").lower() != "wav":
            raise unsupported(f"audio format {fmt!r} is not produced; only 'wav'")
        chosen = models.synth.resolve(voice, language)
        if chosen == PIPER_VOICE:
            rate = yield from _piper(models, text, deadline)
        else:
            rate = yield from _whole(models, text, chosen)
    except ModelInputError as exc:
        yield _line({"error": exc.code, "detail": exc.detail})
        return
    yield _line({"done": True, "voice": chosen, "sample_rate": rate, "format": "wav"})


def _piper(models: SpeechModels, text: str, deadline: float | None) -> Generator[str, None, int]:
    """One line per sentence, as piper makes it; returns the sample rate."""
    rate: int = models.synth.sample_rate
    first = True
    for chunk in models.synth.piper.synthesize(text):
        pcm = chunk.audio_int16_bytes
        if first:
            rate = int(chunk.sample_rate)
            pcm = wav_stream_header(rate, chunk.sample_channels, chunk.sample_width) + pcm
            first = False
        yield _audio(pcm)
        if deadline is not None and time.time() > deadline:
            raise ModelInputError("timeout", "the stream ran out of the caller's time budget: abandoned")
    if first:  # no sentence at all (only punctuation): a header, so the body is still a WAV stream
        yield _audio(wav_stream_header(rate))
    return rate


def _whole(models: SpeechModels, text: str, voice: str) -> Generator[str, None, int]:
    """espeak-ng: the whole audio in one line (its header rewritten for a stream); returns the rate."""
    audio = models.synth.synthesize(text, voice)
    with wave.open(io.BytesIO(audio)) as wav:
        rate, channels, width = int(wav.getframerate()), wav.getnchannels(), wav.getsampwidth()
        pcm = wav.readframes(wav.getnframes())
    yield _audio(wav_stream_header(rate, channels, width) + pcm)
    return rate
