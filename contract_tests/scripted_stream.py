"""A scripted streaming provider for the live-session tests and bench: a real recognizer of a
made-up audio code, so that lost or repeated audio shows in the transcript.

The code (``speech_pcm``): every word of ``VOCAB`` is a block of ``BLOCK_S`` seconds of one
constant sample value, silence (``None``) is a pause. The stream decodes each whole block as
it arrives: a word extends the current line (a partial with the line so far), a pause ends it
(a final). ``finish`` finals what is left. Hypothesis times are the blocks' times on this
stream, as a vendor's are.

Policy block: ``{kind: "contract_tests.scripted_stream:ScriptedStreamer", label: a,
price_usd: 0.0001}`` (per second of audio) and, to script a failure, ``fail_after_s`` (the
stream errors once it has had that much audio, as a killed server), ``hang_after_s`` (it stops
answering), ``latency_ms`` (each answer waits that long), ``send_latency_ms`` (each send does),
``refuse_open`` (it cannot open), ``max_audio_s`` (a vendor's cap on one stream: it says so,
and a stream that gets more audio errors, as Google's does past 305 s).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import ClassVar

from adapters.base import CallContext, Hypothesis, ProviderResult
from adapters.kit import ProviderConfig
from omnisense.schema import (
    Health,
    Price,
    ProviderInfo,
    Task,
    TaskRequest,
    TaskSupport,
    TranscribeResult,
    Unit,
    Unsupported,
    UpstreamUnavailable,
)

BLOCK_S = 0.2
VOCAB = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
_STEP = 1000  # sample value of VOCAB[i] is (i + 1) * _STEP


def speech_pcm(words: list[str | None], rate: int = 16000) -> bytes:
    """16-bit mono PCM of ``words`` in the code above (None: a pause)."""
    per = int(rate * BLOCK_S)
    out = bytearray()
    for word in words:
        value = 0 if word is None else (VOCAB.index(word) + 1) * _STEP
        out += struct.pack("<h", value) * per
    return bytes(out)


class ScriptedStreamConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    label: str = "scripted"
    price_usd: float = 0.0001  # per second of audio
    fail_after_s: float | None = None
    hang_after_s: float | None = None
    latency_ms: float = 0.0
    send_latency_ms: float = 0.0  # each send waits this long (a slow upstream: the gateway's buffer fills)
    refuse_open: bool = False
    max_audio_s: float | None = None
    languages: list[str] | None = None


class _Stream:
    def __init__(self, config: ScriptedStreamConfig, rate: int, interim: bool) -> None:
        self.config = config
        self.max_audio_s = config.max_audio_s
        self.rate = rate
        self.received_s = 0.0
        self.block_bytes = int(rate * BLOCK_S) * 2
        self.interim = interim
        self.pending = bytearray()
        self.blocks = 0
        self.line: list[str] = []
        self.line_start = 0.0
        self.answers: asyncio.Queue[Hypothesis | Exception | None] = asyncio.Queue()
        self.audio_s = 0.0
        self.dead = False
        self.closed = False

    async def send(self, pcm: bytes) -> None:
        if self.dead or self.closed:
            raise UpstreamUnavailable(f"{self.config.label}: the stream is closed")
        if self.config.send_latency_ms:
            await asyncio.sleep(self.config.send_latency_ms / 1000.0)
        self.received_s += len(pcm) / (2.0 * self.rate)
        if self.max_audio_s is not None and self.received_s > self.max_audio_s + 1e-9:
            self.dead = True
            cap = f"{self.config.label}: stream past its {self.max_audio_s:g} s cap"
            self.answers.put_nowait(UpstreamUnavailable(cap))
            return
        self.pending += pcm
        while len(self.pending) >= self.block_bytes:
            block = bytes(self.pending[: self.block_bytes])
            del self.pending[: self.block_bytes]
            self.audio_s += BLOCK_S
            self._block(struct.unpack_from("<h", block)[0])
            fail = self.config.fail_after_s
            if fail is not None and self.audio_s >= fail - 1e-9:
                self.dead = True
                self.answers.put_nowait(UpstreamUnavailable(f"{self.config.label}: connection reset (scripted)"))
                return

    def _hanging(self) -> bool:
        hang = self.config.hang_after_s
        return hang is not None and self.audio_s >= hang - 1e-9

    def _block(self, value: int) -> None:
        start = self.blocks * BLOCK_S
        self.blocks += 1
        index = round(value / _STEP) - 1
        if index < 0 or index >= len(VOCAB):
            self._final()
            return
        if not self.line:
            self.line_start = start
        self.line.append(VOCAB[index])
        if self.interim and not self._hanging():
            self.answers.put_nowait(self._hypothesis(final=False))

    def _hypothesis(self, *, final: bool) -> Hypothesis:
        end = self.blocks * BLOCK_S if not final else self.line_start + len(self.line) * BLOCK_S
        return Hypothesis(text=" ".join(self.line), start_s=self.line_start, end_s=round(end, 6), final=final)

    def _final(self) -> None:
        if self.line and not self._hanging():
            self.answers.put_nowait(self._hypothesis(final=True))
        self.line = []

    async def finish(self) -> None:
        if self.dead:
            raise UpstreamUnavailable(f"{self.config.label}: the stream is closed")
        self._final()
        if not self._hanging():
            self.answers.put_nowait(None)

    async def _iterate(self) -> AsyncIterator[Hypothesis]:
        while True:
            item = await self.answers.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            yield item

    def __aiter__(self) -> AsyncIterator[Hypothesis]:
        return self._iterate()

    async def aclose(self) -> None:
        self.closed = True


class ScriptedStreamer:
    config_type: ClassVar[type[ProviderConfig]] = ScriptedStreamConfig

    def __init__(self, name: str, config: ScriptedStreamConfig) -> None:
        self.config = config
        langs = frozenset(config.languages) if config.languages else None
        task = Task.SPEECH_TRANSCRIBE
        self.info = ProviderInfo(
            name=name, kind="scripted-stream",
            capabilities={task: TaskSupport(model="scripted-stream-1", languages=langs, streaming=True)},
            prices={task: Price(usd=config.price_usd, unit=Unit.SECOND)},
            region=config.placement().region, jurisdiction=config.placement().jurisdiction,
        )  # fmt: skip
        self.streams: list[_Stream] = []

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> _Stream:
        if self.config.refuse_open:
            raise UpstreamUnavailable(f"{self.config.label}: connection refused (scripted)")
        stream = _Stream(self.config, sample_rate, interim)
        self.streams.append(stream)
        return stream

    async def start(self) -> None:
        return None

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        if task is not Task.SPEECH_TRANSCRIBE:
            raise Unsupported(f"{self.info.name} only transcribes")
        return ProviderResult(result=TranscribeResult(text="", confidence=None, words=[]), model="scripted-stream-1")

    async def probe(self) -> Health:
        return Health(ok=True, detail="scripted")

    async def aclose(self) -> None:
        return None
