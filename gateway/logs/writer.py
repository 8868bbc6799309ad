"""The LogWriter: a bounded queue drained in batches by one background task.

``submit`` never blocks the caller and never awaits I/O. When the queue is full the
configured policy applies: ``drop`` counts the record as dropped at once; ``block``
hands the record to a small task that waits up to ``block_s`` for room, then drops and
counts. Either way nothing is silent: ``dropped`` is exported
as a metric, and each drop is logged. ``aclose`` drains everything accepted before it
returns; a record submitted after that is dropped and counted. A failed batch is
retried twice (0.1 s, 0.5 s) before its records count as ``failed``.

Batches are filled, not trickled: after the first record of a batch arrives the writer
lingers up to ``linger_s`` (or until ``batch_size`` records wait) before it hands the
batch to the sink. Under load that is one sink call (one thread hand-off for SQLite) per
few hundred requests instead of one per request, so the writer's thread takes the GIL
from the event loop a few times a second, not thousands. ``caught_up`` (which the log
query endpoints await, so a record is queryable once its answer is out), ``flush`` and
``aclose`` cut the wait short.

With a spool (``gateway.logs.spool``) a failed batch is not retried here: it goes to the disk
buffer at once, and so does every later batch while the spool holds records (order is kept);
a replay task hands the spool's oldest records to the sink, backing off while it still fails,
and the spool empties itself. ``degraded`` is true meanwhile (``/readyz`` says so). A record is
lost only when the spool is full (``dropped``) or cannot be written either (``failed``).

The queue is a plain ``deque`` that the one drainer task reads, not an ``asyncio.Queue``:
``submit`` runs once per request, and ``Queue.put_nowait`` and ``get_nowait`` cost a dozen
Python calls a record (counters, waiter wake-ups, ``task_done``) where an append is one. The
drainer is woken only when it waits for records (``_wake``), and a record that waits for
room (``block``) only when the drainer took some (``_room``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Literal

from gateway.logs.record import RequestLog
from gateway.logs.sinks import GentleWrite, LogSink
from gateway.logs.spool import Spool

log = logging.getLogger("omnisense.logs")
RETRY_DELAYS_S = (0.1, 0.5)
REPLAY_BACKOFF_S = (0.2, 5.0)  # first and longest wait between replays that fail
CLOSE_REPLAY_S = 2.0  # at shutdown, how long the spool may still replay (the rest waits for the next start)


class LogWriter:
    def __init__(
        self,
        sink: LogSink,
        *,
        max_queue: int = 10_000,
        batch_size: int = 256,
        when_full: Literal["drop", "block"] = "block",
        block_s: float = 0.05,
        linger_s: float = 0.05,
        spool: Spool | None = None,
    ) -> None:
        self.sink = sink
        self._write_gently = sink.write_gently if isinstance(sink, GentleWrite) else None
        self.spool = spool
        self.spooled = 0  # records put in the spool so far
        self.replayed = 0  # records the spool handed to the sink
        self.sink_failing = False  # the last sink call failed
        self._replay_task: asyncio.Task[None] | None = None
        self.batch_size = batch_size
        self.when_full = when_full
        self.block_s = block_s
        self.linger_s = linger_s
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self.max_queue = max_queue
        self._items: deque[RequestLog] = deque()
        self._idle = False  # the drainer waits for records on ``_wake``
        self._wake = asyncio.Event()
        self._room = asyncio.Event()  # set when the drainer has taken records (``block`` waits for it)
        self._task: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()
        self._closing = False
        self._warned = -1.0
        self._filled = asyncio.Event()  # set when a lingering batch should be written now
        self._accepted = 0  # records put on the queue so far
        self._handled = 0  # of those, handed to the sink (written or failed)
        self._catching_up: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def spool_records(self) -> int:
        return self.spool.records if self.spool else 0

    @property
    def spool_bytes(self) -> int:
        return self.spool.bytes if self.spool else 0

    @property
    def degraded(self) -> bool:
        """The sink is failing, or records wait in the spool."""
        return self.sink_failing or bool(self.spool and self.spool.records)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="omnisense-log-writer")

    async def recover(self) -> int:
        """Replay what a previous run left in the spool (in the background); returns how many records wait."""
        if self.spool is None:
            return 0
        waiting = await self.spool.recover()
        if waiting:
            log.warning("request log: %d records in the spool %s from an earlier run", waiting, self.spool.path)
            self._replay_soon()
        return waiting

    def submit(self, record: RequestLog) -> None:
        if self._closing:  # after shutdown began nobody drains the queue: count it, loudly
            self._drop(record)
            return
        if len(self._items) < self.max_queue:
            self._enqueue(record)
            return
        self._filled.set()
        if self.when_full == "drop":
            self._drop(record)
        else:
            task = asyncio.get_running_loop().create_task(self._put_waiting(record))
            self._waiting.add(task)
            task.add_done_callback(self._waiting.discard)

    def _enqueue(self, record: RequestLog) -> None:
        items = self._items
        items.append(record)
        self._accepted += 1
        if self._idle:
            self._idle = False
            self._wake.set()
        if len(items) >= self.batch_size:
            self._filled.set()

    async def _put_waiting(self, record: RequestLog) -> None:
        """Wait up to ``block_s`` for room (the drainer taking records), then queue it or drop it."""
        try:
            async with asyncio.timeout(self.block_s):
                while len(self._items) >= self.max_queue:
                    self._room.clear()
                    await self._room.wait()
        except TimeoutError:
            self._drop(record)
            return
        self._enqueue(record)

    def _drop(self, record: RequestLog, reason: str | None = None) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._warned >= 1.0:  # at most one warning a second: a flood of drops must not flood the log too
            self._warned = now
            reason = reason or ("the writer is closed" if self._closing else "the queue is full")
            log.warning(
                "request log: dropped record %s, %s (%d dropped so far)", record.request_id, reason, self.dropped
            )

    async def _drain(self) -> None:
        items = self._items
        while True:
            if not items:
                if self._closing:
                    return
                self._idle = True
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._linger()
            batch = [items.popleft() for _ in range(min(len(items), self.batch_size))]
            self._room.set()
            await self._write(batch)
            self._handled += len(batch)
            self._wake_caught_up()

    async def _linger(self) -> None:
        """Let a batch fill: up to ``linger_s``, unless it is full (or a flush or close asks) sooner."""
        if self.linger_s <= 0 or self._closing or len(self._items) >= self.batch_size:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.linger_s):
                await self._filled.wait()
        self._filled.clear()

    async def caught_up(self, timeout_s: float | None = 1.0) -> bool:
        """Wait until every record accepted before this call has been handed to the sink.

        Later records do not hold it up (under steady load the queue is never empty); a
        sink slower than ``timeout_s`` makes it give up and return False."""
        target = self._accepted
        if self._task is None or self._handled >= target:
            return True
        fut = asyncio.get_running_loop().create_future()
        self._catching_up.append((target, fut))
        self._filled.set()  # no lingering: someone is waiting
        try:
            async with asyncio.timeout(timeout_s):
                await fut
        except TimeoutError:
            return False
        finally:
            if (target, fut) in self._catching_up:
                self._catching_up.remove((target, fut))
        return True

    def _wake_caught_up(self) -> None:
        if not self._catching_up:
            return
        waiting = []
        for target, fut in self._catching_up:
            if target > self._handled:
                waiting.append((target, fut))
            elif not fut.done():
                fut.set_result(None)
        self._catching_up = waiting

    async def flush(self) -> None:
        """Wait until every record accepted so far (or waiting for room) has been handed to the sink."""
        if self._waiting:
            await asyncio.gather(*self._waiting, return_exceptions=True)
        await self.caught_up(None)

    def _behind(self, batch: list[RequestLog]) -> bool:
        """The batch filled before its linger ran out, more wait, or somebody waits for them."""
        full = self.batch_size
        return len(batch) >= full or len(self._items) >= full or self._closing or bool(self._catching_up)

    async def _sink_write(self, batch: list[RequestLog]) -> None:
        """The sink's write; one that leaves the CPU to requests while the writer keeps up (``GentleWrite``)."""
        if self._write_gently is not None and not self._behind(batch):
            await self._write_gently(batch)
        else:
            await self.sink.write(batch)

    async def _write(self, batch: list[RequestLog]) -> None:
        if self.spool is not None:
            await self._write_or_spool(batch, self.spool)
            return
        for delay in RETRY_DELAYS_S:  # a database blip should not cost records
            try:
                await self._sink_write(batch)
                self.written += len(batch)
                return
            except Exception:
                log.warning("request log sink failed; retrying in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
        try:
            await self._sink_write(batch)
            self.written += len(batch)
        except Exception:
            self.failed += len(batch)
            log.exception("request log sink failed: %d records lost", len(batch))

    async def _write_or_spool(self, batch: list[RequestLog], spool: Spool) -> None:
        if not spool.records:  # while the spool holds records, new ones queue behind them
            try:
                await self._sink_write(batch)
                self.written += len(batch)
                self.sink_failing = False
                return
            except Exception as exc:
                if not self.sink_failing:
                    log.warning("request log sink failed (%s); spooling records to %s", exc, spool.path, exc_info=True)
                self.sink_failing = True
        try:
            stored = await spool.append(batch)
        except Exception:
            self.failed += len(batch)
            log.exception("request log: the sink and the spool %s failed: %d records lost", spool.path, len(batch))
            return
        self.spooled += stored
        for record in batch[stored:]:
            self._drop(record, "the spool is full")
        self._replay_soon()

    def _replay_soon(self) -> None:
        if self._replay_task is None or self._replay_task.done():
            loop = asyncio.get_running_loop()
            self._replay_task = loop.create_task(self._replay(), name="omnisense-log-replay")

    async def _replay(self) -> None:
        """Hand the spool's oldest records to the sink until it is empty, backing off while the sink fails."""
        spool, delay = self.spool, REPLAY_BACKOFF_S[0]
        assert spool is not None
        while spool.records:
            rows = await spool.oldest(self.batch_size * 4)
            try:
                await self.sink.write([row.record for row in rows])
            except Exception as exc:
                self.sink_failing = True
                log.debug("request log: replay failed (%s); next try in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, REPLAY_BACKOFF_S[1])
                continue
            self.sink_failing, delay = False, REPLAY_BACKOFF_S[0]
            self.written += len(rows)
            self.replayed += len(rows)
            await spool.remove(rows)
            if not spool.records:
                log.warning("request log: the sink is back; %d records replayed from the spool", self.replayed)

    async def aclose(self) -> None:
        """Write everything accepted so far, then close the sink."""
        if self._waiting:
            await asyncio.gather(*self._waiting, return_exceptions=True)
        self._closing = True
        self._filled.set()
        if self._task is not None:
            self._idle = False
            self._wake.set()  # the drainer writes what is queued, then returns
            await self._task
            self._task = None
        await self._close_spool()
        await self.sink.close()

    async def _close_spool(self) -> None:
        """Let the replay finish for a moment (if the sink answers); what is left stays on disk for the next start."""
        task, self._replay_task = self._replay_task, None
        if task is not None and not self.sink_failing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), CLOSE_REPLAY_S)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.spool is not None:
            if self.spool.records:
                log.warning("request log: %d records stay in the spool %s", self.spool.records, self.spool.path)
            await self.spool.aclose()
