"""The quality table: the gateway's ``QualityRecorder``, its store and the routing's ``QualityBook``.

``record(samples)`` (from fan-outs, shadows and ``POST /v1/quality``) never waits: each
sample goes into the book at once (so ``best_quality`` sees it on the next request) and
into a pending list. A background task writes the pending samples to the store every
``flush_s``, aggregated per hour and key (``gateway.quality.store``), and every
``refresh_s`` reads the whole window back into the book, so every replica writing to one
store ranks on every replica's samples. Pending samples beyond ``max_pending`` (a store
that is down for long) are dropped, oldest first, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

from gateway.quality.samples import QualitySample
from gateway.quality.store import BUCKET_S, QualityQuery, QualityRow, QualityStore, aggregate
from policies.quality import QualityBook

log = logging.getLogger("omnisense.quality")


class QualityTable:
    def __init__(
        self,
        store: QualityStore,
        book: QualityBook | None = None,
        *,
        window_s: float = 7 * 86_400.0,
        refresh_s: float = 10.0,
        flush_s: float = 1.0,
        max_pending: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.book = book or QualityBook()
        self.window_s, self.refresh_s, self.flush_s = window_s, refresh_s, flush_s
        self.clock = clock
        self.pending: deque[tuple[float, QualitySample]] = deque(maxlen=max_pending)
        self.dropped = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._refreshed = 0.0

    # QualityRecorder
    def record(self, samples: Sequence[QualitySample]) -> None:
        now = self.clock()
        for s in samples:
            if len(self.pending) == self.pending.maxlen:
                self.dropped += 1
            self.pending.append((now, s))
            self.book.add(s.task, s.language, s.provider, s.source, s.score)

    async def start(self) -> None:
        """Create or migrate the store's table, read the window into the book, start the writer."""
        await self.store.start()
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="omnisense-quality")

    async def flush(self) -> None:
        """Write the pending samples now (a failed write keeps them for the next try)."""
        async with self._lock:
            if not self.pending:
                return
            batch = list(self.pending)
            self.pending.clear()
            try:
                await self.store.add(aggregate(batch))
            except Exception:
                log.exception("the quality table could not write %d samples; retrying later", len(batch))
                self.pending.extendleft(reversed(batch[-(self.pending.maxlen or len(batch)) :]))
                raise

    async def refresh(self) -> None:
        """The book as the store holds the window, plus what is still pending here."""
        now = self.clock()
        rows = await self.store.read(QualityQuery(since=now - self.window_s, until=now + BUCKET_S))
        self.book.replace(r.total() for r in rows)
        for _, s in self.pending:
            self.book.add(s.task, s.language, s.provider, s.source, s.score)
        self._refreshed = now

    async def query(self, query: QualityQuery) -> list[QualityRow]:
        """The table's rows (the pending samples written first)."""
        with contextlib.suppress(Exception):  # the store is down: its read says so
            await self.flush()
        return await self.store.read(query)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
                if self.clock() - self._refreshed >= self.refresh_s:
                    await self.refresh()
            except Exception:  # logged where it happened or here; the loop goes on
                log.warning("quality table: the store did not answer; retrying in %.1f s", self.flush_s)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception:
            log.warning("quality table: %d samples not written at shutdown", len(self.pending))
        await self.store.close()
