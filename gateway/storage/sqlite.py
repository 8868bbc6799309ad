"""One SQLite file: one connection, used by one of two dedicated threads at a time.

One writer is all SQLite allows anyway, and private threads keep the database work out of the
shared pool that request handling uses. The connection is opened on the first call, in WAL
mode with ``synchronous=NORMAL``: readers (``omnisense logs``) never block the writer, and a
committed transaction survives a crash. The request log, the job store and the quality table
on the same file share this one connection.

Two threads take turns on it (a lock, one call at a time): the file's thread, and a background
thread at the lowest priority (nice 19) for work that should not slow a request down
(``run(..., background=True)``: the request log's batches while the gateway is not
saturated). On a core shared with the event loop, an ordinary thread takes half the core while
it has work, so a request arriving during a batch is served at half speed; at nice 19 it takes
about 1/70 of it while the event loop wants the core. Lowering a thread's priority needs no
privilege, raising it back would: hence a thread of its own. ``SCHED_IDLE`` would yield even
more, but its share on a busy core is so small that a batch holding this connection's lock
could wait there for seconds, and everything else with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("omnisense.storage")
LOWEST_PRIORITY = 19  # the highest nice value


def lowest_priority() -> None:
    """Give the calling thread the lowest priority of normal scheduling (nice 19; Linux threads have their own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    except (AttributeError, OSError) as exc:  # no per-thread priority here: an ordinary thread
        log.debug("cannot lower the background SQLite thread's priority (%s)", exc)


class SqliteFile:
    def __init__(self, path: str | Path, *, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared  # True: the Storage closes it, not the stores using it
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="omnisense-sqlite")
        self._background: ThreadPoolExecutor | None = None  # started on first use
        self._lock = threading.Lock()  # one call on the connection at a time, whichever thread
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._shut = False

    def _db(self) -> sqlite3.Connection:
        """The connection (on the file's thread), opened on first use."""
        if self._closed:
            raise RuntimeError(f"the SQLite file {self.path} is closed")
        if self._conn is None:
            # transactions are explicit; two threads use it, one at a time (``_lock``)
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        return self._conn

    def _locked(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return fn(self._db())

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the file's thread, waiting here (for work at construction)."""
        return self._executor.submit(self._locked, fn).result()

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, background: bool = False) -> T:
        """``fn(connection)`` on the file's thread, or with ``background`` on the lowest-priority one."""
        executor = self._executor
        if background and not self._shut:
            if self._background is None:
                self._background = ThreadPoolExecutor(
                    1, thread_name_prefix="omnisense-sqlite-bg", initializer=lowest_priority
                )
            executor = self._background
        return await asyncio.get_running_loop().run_in_executor(executor, self._locked, fn)

    def _close_sync(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def aclose(self) -> None:
        if self._shut:  # closed already
            return
        self._shut = True
        loop = asyncio.get_running_loop()
        if self._background is not None:  # its last call done before the connection closes
            await loop.run_in_executor(self._executor, self._background.shutdown)
        await loop.run_in_executor(self._executor, self._close_sync)
        self._executor.shutdown(wait=True)

    async def release(self) -> None:
        """A store is done with the file: closed unless the Storage shares it."""
        if not self.shared:
            await self.aclose()
