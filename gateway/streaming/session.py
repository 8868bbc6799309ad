"""One live session, from its start message to its close code, and its one log record.

``LiveSession.run`` reads the start message (1008 when the first frame is not one, 1007 when
it is not valid), lets the server authorize and route it (``Prepare``), then runs two tasks:
``ingest`` reads the client's frames (limits: idle time 4008, frame size 1009, session length
4009, a text frame where audio was expected 1003, the buffer 4013) into the ``AudioQueue``;
the ``Relay`` sends the audio to the providers and the events back. Whatever ends it, the
client gets a close code (and, before any code but 1000, an ``error`` event with it) and the
session leaves exactly one record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec

from adapters.base import CallContext, Hypothesis
from gateway.logs.record import RequestLog
from gateway.streaming.audio import AudioDecoder
from gateway.streaming.buffer import AudioQueue
from gateway.streaming.candidates import Candidates
from gateway.streaming.errors import CLIENT_GONE, ClientGone, SessionClosed, closed_by
from gateway.streaming.meter import Meter
from gateway.streaming.recording import SessionFacts, finish_record
from gateway.streaming.relay import Relay
from gateway.streaming.settings import StreamSettings
from gateway.trace import RequestTrace
from omnisense.schema import OmnisenseError, Task
from omnisense.schema.streaming import ClientControl, StreamDone, StreamEnd, StreamError, StreamEvent, StreamStart
from policies.residency import Placements

log = logging.getLogger("omnisense.streaming")
_encode = msgspec.json.Encoder().encode


class Channel(Protocol):
    """The client's connection (a WebSocket in the server; anything in a test)."""

    async def receive(self) -> bytes | str:
        """The next frame; raises ClientGone when the client closed the connection."""
        ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass
class Routed:
    """What the server decided for the session: who may serve it and how it is paid."""

    candidates: Candidates
    meter: Meter
    placements: Placements | None = None  # where each provider processes data (the record's region)


Authorize = Callable[[RequestLog], Awaitable[None]]  # the key, its scope and rate (before the start message)
Prepare = Callable[[StreamStart, RequestLog], Awaitable[Routed]]  # the route's streaming candidates, the meter


class LiveSession:
    def __init__(
        self,
        channel: Channel,
        settings: StreamSettings,
        request_id: str,
        submit: Callable[[RequestLog], None],
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.trace = RequestTrace(request_id=request_id, task=Task.SPEECH_TRANSCRIBE.value)
        self.submit = submit
        self.facts = SessionFacts()
        self._stop: SessionClosed | None = None
        self._work: asyncio.Task[None] | None = None
        self._first_audio: float | None = None

    def stop(self, code: int, reason: str) -> None:
        """End the session now with ``code`` (the gateway is stopping: 1001)."""
        self._stop = SessionClosed(code, reason)
        if self._work is not None:
            self._work.cancel()

    async def run(self, authorize: Authorize, prepare: Prepare) -> None:
        code, reason = 1000, "done"
        if self._stop is not None:  # refused before it began (too many sessions, stopping)
            await self._close(self._stop.code, self._stop.reason)
            return
        self._work = asyncio.create_task(self._serve(authorize, prepare))
        try:
            await asyncio.shield(self._work)
        except SessionClosed as closed:
            code, reason = closed.code, closed.reason
        except ClientGone as gone:
            code, reason = CLIENT_GONE, str(gone)
        except asyncio.CancelledError:
            if self._stop is None:  # our own task was cancelled: leave the record, then go
                self._work.cancel()
                self._close_record(1011, "cancelled")
                raise
            code, reason = self._stop.code, self._stop.reason
            with contextlib.suppress(BaseException):  # its clean-up first: provider streams closed, attempts noted
                await self._work
        except Exception:
            log.exception("live session %s failed", self.trace.record.request_id)
            code, reason = 1011, "internal error"
        await self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        try:
            if code not in (1000, CLIENT_GONE):
                await self.channel.send_text(_encode(StreamError(code=code, reason=reason)).decode())
            if code != CLIENT_GONE:
                await self.channel.close(code, reason)
        except Exception:  # the client may be gone already: the record still goes
            log.debug("closing live session %s", self.trace.record.request_id, exc_info=True)
        finally:
            self._close_record(code, reason)

    def _close_record(self, code: int, reason: str) -> None:
        self.submit(finish_record(self.trace, self.facts, code, reason))

    async def _serve(self, authorize: Authorize, prepare: Prepare) -> None:
        record = self.trace.record
        try:
            await authorize(record)
            start = await self._start()
            routed = await prepare(start, record)
        except OmnisenseError as exc:
            raise closed_by(exc) from exc
        facts = self.facts
        facts.meter, facts.language, facts.encoding = routed.meter, start.language, start.encoding
        facts.interim, facts.placements = start.interim, routed.placements
        record.policy, record.route = routed.candidates.policy, routed.candidates.route
        record.strategy, record.decisions = routed.candidates.strategy, routed.candidates.decisions
        decoder = facts.decoder = AudioDecoder(start.encoding, start.sample_rate)
        queue = AudioQueue(0, self.settings.backpressure_s)
        ended = await self._until_rate_known(decoder, queue)
        queue.max_bytes = int(self.settings.buffer_s * decoder.sample_rate * 2)
        relay = facts.relay = Relay(
            routed.candidates.providers, queue, routed.meter, self._emit, self.settings,
            {"language": start.language, "interim": True},  # partials show it is alive; `interim` filters below
        )  # fmt: skip
        deadline = time.monotonic() + self.settings.max_session_s * 2 + self.settings.finish_timeout_s
        ctx = CallContext(request_id=record.request_id, deadline=deadline, key_id=record.key_id)
        tasks = {asyncio.create_task(relay.run(decoder.sample_rate, ctx))}
        if not ended:
            tasks.add(asyncio.create_task(self._ingest(decoder, queue)))
        try:
            await _all_or_first_error(tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        done = StreamDone(
            request_id=record.request_id, text=" ".join(facts.finals), audio_s=round(facts.audio_s, 3),
            cost_usd=routed.meter.cost_usd, providers=routed.meter.providers(), failovers=relay.failovers,
        )  # fmt: skip
        await self.channel.send_text(_encode(done).decode())

    async def _receive(self) -> bytes | str:
        try:
            async with asyncio.timeout(self.settings.idle_s):
                return await self.channel.receive()
        except TimeoutError:
            raise SessionClosed(4008, f"idle: no frame from the client within {self.settings.idle_s:g} s") from None

    async def _start(self) -> StreamStart:
        frame = await self._receive()
        if not isinstance(frame, str):
            raise SessionClosed(1008, "the first frame must be the JSON start message")
        try:
            message = msgspec.json.decode(frame, type=ClientControl)
        except msgspec.DecodeError as exc:
            raise SessionClosed(1007, f"start message: {exc}") from None
        if not isinstance(message, StreamStart):
            raise SessionClosed(1008, "the first frame must be the start message, not end")
        return message

    async def _until_rate_known(self, decoder: AudioDecoder, queue: AudioQueue) -> bool:
        """Read frames until the audio's rate is known (a WAV header has arrived); True: ``end`` came first."""
        while not decoder.header_done:
            if await self._take(decoder, queue):
                return True
        return False

    async def _ingest(self, decoder: AudioDecoder, queue: AudioQueue) -> None:
        while not await self._take(decoder, queue):
            pass

    async def _take(self, decoder: AudioDecoder, queue: AudioQueue) -> bool:
        """Read one frame into the queue; True once the client sent ``end``."""
        frame = await self._receive()
        if isinstance(frame, str):
            try:
                message = msgspec.json.decode(frame, type=ClientControl)
            except msgspec.DecodeError:
                message = None
            if isinstance(message, StreamEnd):
                queue.close()
                return True
            raise SessionClosed(1003, "unsupported data: a text frame where audio (binary) was expected")
        limit = self.settings.max_frame_bytes
        if len(frame) > limit:
            raise SessionClosed(1009, f"message too big: a frame of {len(frame)} bytes; the limit is {limit}")
        if decoder.encoding == "pcm_s16le" and decoder.bytes_in == 0 and frame[:4] == b"RIFF":
            raise SessionClosed(1003, "the audio is a WAV file but the start message said pcm_s16le")
        pcm = decoder.feed(frame)
        if not pcm:
            return False
        if self._first_audio is None:
            self._first_audio = time.perf_counter()
        self.facts.audio_s += decoder.seconds(pcm)
        if self.facts.audio_s > self.settings.max_session_s:
            raise SessionClosed(4009, f"session too long: over {self.settings.max_session_s:g} s of audio")
        await queue.put(pcm)
        return False

    async def _emit(self, hypothesis: Hypothesis, provider: str, offset: float) -> None:
        facts = self.facts
        if not hypothesis.final and (not hypothesis.text or not facts.interim):
            return
        if facts.first_partial_ms is None and self._first_audio is not None:
            facts.first_partial_ms = round((time.perf_counter() - self._first_audio) * 1000.0, 3)
        if hypothesis.final and hypothesis.text:
            facts.finals.append(hypothesis.text)
        event = StreamEvent(
            type="final" if hypothesis.final else "partial", text=hypothesis.text,
            start_s=round(offset + hypothesis.start_s, 3), end_s=round(offset + hypothesis.end_s, 3),
            provider=provider, confidence=hypothesis.confidence,
        )  # fmt: skip
        facts.events += 1
        await self.channel.send_text(_encode(event).decode())


async def _all_or_first_error(tasks: set[asyncio.Task[None]]) -> None:
    """Wait for every task; the first that fails ends the wait with its error."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
