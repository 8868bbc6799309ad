"""What the live-transcription tests of the cloud adapters share: spoken audio and a driver.

``spoken_pcm`` is a sentence spoken by espeak-ng (the machine's local synthesizer), as the
16-bit mono PCM a ``TranscriptionStream`` takes, with its rate. ``transcribe_live`` drives
one stream the way the gateway does: audio in 100 ms frames from one task, hypotheses read
by another, ``finish`` once the first partial is in (so partials arrive before the end).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import time
import wave
from dataclasses import dataclass, field

import pytest

from adapters.base import CallContext, Hypothesis, StreamingTranscriber, TranscriptionStream

SENTENCE = "The Amazon is the largest rainforest on the planet."


def spoken_pcm(text: str = SENTENCE) -> tuple[bytes, int]:
    """(PCM, sample rate) of ``text`` spoken by espeak-ng."""
    if shutil.which("espeak-ng") is None:  # scripts/setup.sh installs it (local_models/setup.sh)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("espeak-ng is not installed (CI=true: scripts/setup.sh installs it)")
        pytest.skip("espeak-ng is not installed")
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.readframes(w.getnframes()), w.getframerate()


def ctx(seconds: float = 30.0) -> CallContext:
    return CallContext(request_id="live-test", deadline=time.monotonic() + seconds)


@dataclass
class Heard:
    hypotheses: list[Hypothesis] = field(default_factory=list)
    before_finish: int = 0  # hypotheses received before finish() was called
    first: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first hypothesis

    @property
    def partials(self) -> list[Hypothesis]:
        return [h for h in self.hypotheses if not h.final]

    @property
    def finals(self) -> list[Hypothesis]:
        return [h for h in self.hypotheses if h.final]


async def read_all(stream: TranscriptionStream, heard: Heard) -> None:
    async for hypothesis in stream:
        heard.hypotheses.append(hypothesis)
        heard.first.set()


async def transcribe_live(
    provider: StreamingTranscriber,
    pcm: bytes,
    rate: int,
    *,
    language: str | None = "en",
    interim: bool = True,
    frame_s: float = 0.1,
) -> Heard:
    """Open, send ``pcm`` in frames, wait (up to 5 s) for a first hypothesis, finish, read to the end."""
    stream = await provider.open_transcription(sample_rate=rate, language=language, interim=interim, ctx=ctx())
    heard = Heard()
    reader = asyncio.create_task(read_all(stream, heard))
    try:
        step = int(rate * frame_s) * 2
        for at in range(0, len(pcm), step):
            await stream.send(pcm[at : at + step])
            await asyncio.sleep(0)
        if interim:
            first = asyncio.create_task(heard.first.wait())
            await asyncio.wait([reader, first], timeout=5, return_when=asyncio.FIRST_COMPLETED)
            first.cancel()
        heard.before_finish = len(heard.hypotheses)
        await stream.finish()
        await asyncio.wait_for(reader, 20)
    finally:
        reader.cancel()
        await stream.aclose()
    return heard
