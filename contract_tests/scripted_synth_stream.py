"""A scripted provider that streams synthesis (``adapters.base.StreamingSynthesizer``).

Policy block: ``{kind: "contract_tests.scripted_synth_stream:StreamingScriptedProvider",
label: a, chunks: 4, streaming: true}``: ``ScriptedProvider``'s options, plus how many
chunks a stream has and whether ``speech.synthesize`` declares ``streaming``. A stream is a
WAV stream header with the first chunk, then 0.1 s of 16 kHz silence per chunk.

Queued behaviours (``script``) act before the first chunk as they act on ``run`` (``Fail``,
``Hang``, ``Crash``, a delay); ``Breaks(after=n)`` sends ``n`` chunks and then fails;
``Gated(gate)`` sends the first chunk, then waits until the test sets ``gate`` (a
``threading.Event``) before the rest: how a test sees bytes arrive before the synthesis is
done. ``events`` lists what the provider did, in order ("chunk 0", "end", "closed").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import msgspec

from adapters.base import CallContext
from adapters.kit import ProviderConfig
from adapters.kit.audio_stream import wav_stream_header
from contract_tests.scripted_provider import Crash, Fail, Hang, ScriptedConfig, ScriptedProvider
from omnisense.schema import OmnisenseError, SynthesizeRequest, Task, UpstreamUnavailable

CHUNK = b"\x00\x00" * 1600  # 0.1 s of 16 kHz silence
RATE = 16_000


@dataclass(frozen=True)
class Breaks:
    after: int  # chunks sent before the error
    error: type[OmnisenseError] = UpstreamUnavailable


@dataclass(frozen=True)
class Gated:
    gate: threading.Event


class StreamingScriptedConfig(ScriptedConfig, kw_only=True, forbid_unknown_fields=True):
    chunks: int = 4
    streaming: bool = True


class StreamingScriptedProvider(ScriptedProvider):
    config_type: ClassVar[type[ProviderConfig]] = StreamingScriptedConfig

    def __init__(self, name: str, config: StreamingScriptedConfig) -> None:
        super().__init__(name, config)
        self.chunks = config.chunks
        caps = dict(self.info.capabilities)
        if Task.SPEECH_SYNTHESIZE in caps:
            caps[Task.SPEECH_SYNTHESIZE] = msgspec.structs.replace(
                caps[Task.SPEECH_SYNTHESIZE], streaming=config.streaming
            )
        self.info = msgspec.structs.replace(self.info, capabilities=caps)
        self.events: list[str] = []
        self.stream_queue: list[Breaks | Gated] = []

    def script_stream(self, *behaviours: Breaks | Gated) -> None:
        """What the next streams do after their first chunk (one behaviour per stream)."""
        self.stream_queue.extend(behaviours)

    async def synthesize_stream(self, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
        self.calls.append((Task.SPEECH_SYNTHESIZE, request))
        behaviour = self.queue.popleft() if self.queue else self.default
        if isinstance(behaviour, Hang):
            await asyncio.sleep(3600)
            return
        if isinstance(behaviour, Crash):
            raise RuntimeError("scripted adapter bug")
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if isinstance(behaviour, Fail):
            raise behaviour.error(f"{self.info.name}: scripted {behaviour.error.__name__}")
        after = self.stream_queue.pop(0) if self.stream_queue else None
        try:
            for i in range(self.chunks):
                if isinstance(after, Breaks) and i == after.after:
                    self.events.append("broke")
                    raise after.error(f"{self.info.name}: scripted break after {i} chunks")
                if isinstance(after, Gated) and i == 1:
                    await asyncio.to_thread(after.gate.wait, 10)
                self.events.append(f"chunk {i}")
                yield (wav_stream_header(RATE) if i == 0 else b"") + CHUNK
            self.events.append("end")
        finally:
            self.events.append("closed")
