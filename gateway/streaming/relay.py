"""One provider stream at a time, and failover in the middle of a session.

The relay opens a stream on the first candidate, sends it the audio the session queues, and
passes each hypothesis on with its times shifted onto the session's time line. When the
serving provider errors, ends its stream early, does not open within ``open_timeout_s`` or
does not answer audible audio within ``answer_timeout_s`` (silence owes no answer: a pause is
not a stall), the relay closes it and opens the next candidate, replays the audio sent since
the last final (``ReplayBuffer``), and goes on. A stream nearing its vendor's cap rolls over
to a new stream of the same provider (``gateway.streaming.rollover``). Every stream is one
Attempt in the record; when every candidate has failed: 4503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from adapters.base import CallContext, Hypothesis, StreamingTranscriber, TranscriptionStream
from gateway.streaming.buffer import END, AudioQueue, ReplayBuffer
from gateway.streaming.errors import SessionClosed
from gateway.streaming.meter import Meter
from gateway.streaming.rollover import StreamClock
from gateway.streaming.settings import StreamSettings
from omnisense.schema import Attempt

log = logging.getLogger("omnisense.streaming")
Emit = Callable[[Hypothesis, str, float], Awaitable[None]]  # hypothesis, provider, offset (session s)


ROLLED_OVER = "rolled over before the vendor's cap on one stream"


class ProviderFailed(Exception):
    """The serving stream failed: the relay fails over."""


class _Done:
    """The stream's iteration ended."""


_DONE = _Done()
_FED = _Done()  # put after the feeder's end (its outcome is the feeder task's)
Answers = asyncio.Queue[Hypothesis | _Done | BaseException]


class Relay:
    def __init__(
        self,
        candidates: Sequence[tuple[str, StreamingTranscriber]],
        queue: AudioQueue,
        meter: Meter,
        emit: Emit,
        settings: StreamSettings,
        open_kwargs: dict[str, object],
    ) -> None:
        self.candidates = list(candidates)
        self.queue = queue
        self.meter = meter
        self.emit = emit
        self.settings = settings
        self.open_kwargs = open_kwargs
        self.replay: ReplayBuffer | None = None
        self.attempts: list[Attempt] = []
        self.serving: str | None = None
        self._stream: TranscriptionStream | None = None
        self._pending_since: float | None = None  # audio sent and not yet answered, since then
        self._rolling = False  # the feeder finished the stream at its cap, not at the session's end
        self._heard_until = 0.0  # session time up to which the serving stream has been sent audio
        self.rollovers = 0

    async def run(self, rate: int, ctx: CallContext) -> None:
        """Serve until the provider has answered everything after END; SessionClosed(4503) when all fail."""
        self.replay = ReplayBuffer(rate)
        for name, provider in self.candidates:
            self.serving = name
            try:
                await self._serve_streams(name, provider, rate, ctx)
            except ProviderFailed as failed:
                log.warning("live session %s: %s failed (%s); failing over", ctx.request_id, name, failed)
                continue
            return
        raise SessionClosed(4503, "no provider: every streaming candidate failed")

    async def _serve_streams(self, name: str, provider: StreamingTranscriber, rate: int, ctx: CallContext) -> None:
        """One provider's streams: one, and one more each time the last rolled over at its cap."""
        while True:
            started = time.perf_counter()
            try:
                rolled = await self._serve(name, provider, rate, ctx)
            except ProviderFailed as failed:
                self._attempt(name, started, "error", failed)
                raise
            except BaseException:  # the session ended otherwise (a limit, the client, shutdown)
                self._attempt(name, started, "cancelled", None)
                raise
            finally:
                await self.aclose()
            self._attempt(name, started, "ok", None, ROLLED_OVER if rolled else None)
            if not rolled:
                return
            self.rollovers += 1
            log.info("live session %s: %s rolled over to a new stream (%d)", ctx.request_id, name, self.rollovers)

    @property
    def failovers(self) -> int:
        return sum(1 for a in self.attempts if a.outcome == "error")

    def _attempt(
        self, name: str, started: float, outcome: str, exc: BaseException | None, detail: str | None = None
    ) -> None:
        cause = exc.__cause__ if exc is not None and exc.__cause__ is not None else exc
        self.attempts.append(
            Attempt(
                provider=name, outcome=outcome,  # type: ignore[arg-type]
                latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
                error_type=type(cause).__name__ if cause is not None else None,
                detail=str(cause)[:200] if cause is not None else detail,
            )
        )  # fmt: skip

    async def aclose(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                await stream.aclose()
            except Exception:
                log.debug("closing a provider stream failed", exc_info=True)

    async def _serve(self, name: str, provider: StreamingTranscriber, rate: int, ctx: CallContext) -> bool:
        """One stream, until it has answered everything it was sent; True: it rolled over at its cap."""
        self._rolling = False
        try:
            async with asyncio.timeout(self.settings.open_timeout_s):
                self._stream = await provider.open_transcription(sample_rate=rate, ctx=ctx, **self.open_kwargs)  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise ProviderFailed(f"did not open within {self.settings.open_timeout_s:g} s") from exc
        except SessionClosed:
            raise
        except Exception as exc:
            raise ProviderFailed(f"could not open: {exc}") from exc
        assert self.replay is not None
        offset = self.replay.start_s
        self._pending_since = None
        answers: Answers = asyncio.Queue()
        reader = asyncio.create_task(_read(self._stream, answers))
        feeder = asyncio.create_task(self._feed(name, self._stream))
        feeder.add_done_callback(lambda _: answers.put_nowait(_FED))
        try:
            await self._listen(name, offset, answers, feeder)
        finally:
            for task in (reader, feeder):
                task.cancel()
            await asyncio.gather(reader, feeder, return_exceptions=True)
        return self._rolling

    async def _feed(self, name: str, stream: TranscriptionStream) -> None:
        """The replay first, then the queue, until END or the stream's cap: then ``finish``."""
        assert self.replay is not None
        replay = self.replay
        clock = StreamClock(stream.max_audio_s, replay.rate)
        self._heard_until = replay.end_s  # what follows is sent in order: no final can pass it unsent
        for pcm in replay.snapshot():
            await self.meter.accrue(name, len(pcm) / (2.0 * replay.rate))
            await self._send(stream, pcm, audible(pcm))
            clock.sent(pcm, replayed=True)
        while True:
            pcm = await self.queue.get()
            if pcm is END:
                await _call(stream.finish())
                return
            loud = audible(pcm)
            if clock.roll_over_before(pcm, loud):
                replay.append(pcm)  # the next stream hears it first (and meters it then)
                self._rolling = True
                await _call(stream.finish())
                return
            await self.meter.accrue(name, len(pcm) / (2.0 * replay.rate))  # SessionClosed(4002) when it does not fit
            replay.append(pcm)
            self._heard_until = replay.end_s
            await self._send(stream, pcm, loud)
            clock.sent(pcm, replayed=False)

    async def _send(self, stream: TranscriptionStream, pcm: bytes, loud: bool) -> None:
        if self._pending_since is None and loud:  # silence owes no answer: a pause is not a stall
            self._pending_since = time.monotonic()
        await _call(stream.send(pcm))

    async def _listen(self, name: str, offset: float, answers: Answers, feeder: asyncio.Task[None]) -> None:
        finish_by: float | None = None
        while True:
            try:
                async with asyncio.timeout(self._wait_s(finish_by)):
                    item = await answers.get()
            except TimeoutError:
                if self._overdue(finish_by):
                    raise ProviderFailed(self._overdue(finish_by)) from None
                continue
            if item is _FED:  # the feeder ended: END sent (the last finals must come in time), or it failed
                if feeder.cancelled():
                    continue
                if feeder.exception() is not None:
                    await self._drain(name, offset, answers)
                    raise _as_failure(feeder.exception())
                finish_by = time.monotonic() + self.settings.finish_timeout_s
            elif isinstance(item, BaseException):
                raise ProviderFailed(f"stream error: {item}") from item
            elif isinstance(item, _Done):
                await asyncio.wait({feeder}, timeout=1.0)  # finish() may still be returning
                if feeder.done() and feeder.exception() is not None:
                    raise _as_failure(feeder.exception())
                if feeder.done():
                    return
                raise ProviderFailed("the provider ended its stream before the session's end")
            elif isinstance(item, Hypothesis):
                await self._take(item, name, offset)

    async def _drain(self, name: str, offset: float, answers: Answers) -> None:
        """Sending failed: the finals the provider gave before it failed still count (they are
        not replayed); its partials are dropped (the next provider re-hears that audio)."""
        while not answers.empty():
            item = answers.get_nowait()
            if not isinstance(item, Hypothesis):
                return
            if item.final:
                await self._take(item, name, offset)

    async def _take(self, item: Hypothesis, name: str, offset: float) -> None:
        self._pending_since = None
        await self.emit(item, name, offset)
        if item.final and self.replay is not None:  # a final past what was sent cannot drop unheard audio
            self.replay.trim_to(min(offset + item.end_s, self._heard_until))

    def _wait_s(self, finish_by: float | None) -> float:
        now = time.monotonic()
        limits = [1.0]
        if self._pending_since is not None:
            limits.append(self._pending_since + self.settings.answer_timeout_s - now)
        if finish_by is not None:
            limits.append(finish_by - now)
        return max(0.01, min(limits))

    def _overdue(self, finish_by: float | None) -> str:
        now = time.monotonic()
        if finish_by is not None and now >= finish_by:
            return f"no end of stream within {self.settings.finish_timeout_s:g} s of the session's end"
        if self._pending_since is not None and now - self._pending_since >= self.settings.answer_timeout_s:
            return f"no answer to audio within {self.settings.answer_timeout_s:g} s"
        return ""


AUDIBLE_PEAK = 300  # about -40 dBFS: below it, a frame is silence (no vendor owes words for it)


def audible(pcm: bytes) -> bool:
    """Whether any 16-bit sample of ``pcm`` peaks above ``AUDIBLE_PEAK`` (native order: little-endian
    on every platform the gateway ships for; a C-level min/max, some 20 us per 100 ms frame)."""
    samples = memoryview(pcm[: len(pcm) // 2 * 2]).cast("h")
    return len(samples) > 0 and (max(samples) > AUDIBLE_PEAK or min(samples) < -AUDIBLE_PEAK)


async def _call(step: Awaitable[None]) -> None:
    try:
        await step
    except (SessionClosed, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise ProviderFailed(f"sending audio failed: {exc}") from exc


def _as_failure(exc: BaseException | None) -> BaseException:
    return exc if isinstance(exc, SessionClosed | ProviderFailed) else ProviderFailed(str(exc))


async def _read(stream: TranscriptionStream, answers: Answers) -> None:
    try:
        async for hypothesis in stream:
            answers.put_nowait(hypothesis)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        answers.put_nowait(exc)
        return
    answers.put_nowait(_DONE)
