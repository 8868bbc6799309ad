"""The LogWriter: a bounded queue drained in batches by one background task.

``submit`` never blocks the caller and never awaits I/O. When the queue is full the
configured policy applies: ``drop`` counts the record as dropped at once; ``block``
hands the record to a small task that waits up to ``block_s`` for room, then drops and
counts. Either way nothing is silent: ``dropped`` is exported
as a metric. ``aclose`` drains everything accepted before it returns.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from gateway.logs.record import RequestLog
from gateway.logs.sinks import LogSink

log = logging.getLogger("omnisense.logs")


class LogWriter:
    def __init__(
        self,
        sink: LogSink,
        *,
        max_queue: int = 10_000,
        batch_size: int = 256,
        when_full: Literal["drop", "block"] = "block",
        block_s: float = 0.05,
    ) -> None:
        self.sink = sink
        self.batch_size = batch_size
        self.when_full = when_full
        self.block_s = block_s
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._queue: asyncio.Queue[RequestLog | None] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Task[None]] = set()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="omnisense-log-writer")

    def submit(self, record: RequestLog) -> None:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            if self.when_full == "drop":
                self._drop(record)
            else:
                task = asyncio.get_running_loop().create_task(self._put_waiting(record))
                self._waiting.add(task)
                task.add_done_callback(self._waiting.discard)

    async def _put_waiting(self, record: RequestLog) -> None:
        try:
            await asyncio.wait_for(self._queue.put(record), self.block_s)
        except TimeoutError:
            self._drop(record)

    def _drop(self, record: RequestLog) -> None:
        self.dropped += 1
        log.warning("request log queue full: dropped record %s (%d dropped so far)", record.request_id, self.dropped)

    async def _drain(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch: list[RequestLog] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < self.batch_size and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    continue
                batch.append(item)
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[RequestLog]) -> None:
        try:
            await self.sink.write(batch)
            self.written += len(batch)
        except Exception:
            self.failed += len(batch)
            log.exception("request log sink failed: %d records lost", len(batch))

    async def aclose(self) -> None:
        """Write everything accepted so far, then close the sink."""
        if self._waiting:
            await asyncio.gather(*self._waiting, return_exceptions=True)
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        await self.sink.close()
