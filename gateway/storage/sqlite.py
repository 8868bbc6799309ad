"""One SQLite file: one connection on one dedicated thread (a single-worker executor).

sqlite3 connections must stay on their thread, one writer is all SQLite allows anyway, and a
private thread keeps the database work out of the shared pool that request handling uses.
The connection is opened on the first call, in WAL mode with ``synchronous=NORMAL``: readers
(``omnisense logs``) never block the writer, and a committed transaction survives a crash.
The request log and the job store on the same file share this one thread and connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SqliteFile:
    def __init__(self, path: str | Path, *, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared  # True: the Storage closes it, not the stores using it
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="omnisense-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._shut = False

    def _db(self) -> sqlite3.Connection:
        """The connection (on the file's thread), opened on first use."""
        if self._closed:
            raise RuntimeError(f"the SQLite file {self.path} is closed")
        if self._conn is None:
            conn = sqlite3.connect(str(self.path), isolation_level=None)  # transactions are explicit
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        return self._conn

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the file's thread, waiting here (for work at construction)."""
        return self._executor.submit(lambda: fn(self._db())).result()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the file's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(self._db()))

    def _close_sync(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        if self._shut:  # closed already
            return
        self._shut = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_sync)
        self._executor.shutdown(wait=True)

    async def release(self) -> None:
        """A store is done with the file: closed unless the Storage shares it."""
        if not self.shared:
            await self.aclose()
