"""The SQLite sink: the embedded default (``var/requests.db``).

stdlib ``sqlite3`` on the file's one connection (``gateway.storage.SqliteFile``, which runs
calls on its own threads; aiosqlite does the same — a thread per connection — behind another
dependency). The database runs in WAL mode with ``synchronous=NORMAL``: each batch is one
transaction, readers such as ``omnisense logs`` never block the writer, and a committed batch
survives a crash of the gateway. Queries run between batches (and between the job store's
transactions when jobs live in the same file).

``write_gently`` (what the LogWriter calls while it keeps up) writes on the file's background
thread, at the lowest priority, in statements of 16 rows so that it holds the GIL only
briefly: a request that arrives during a batch keeps nearly all of its core
(``bench/overhead.py``: p99 at 1 in flight). On a saturated core that thread gets almost
nothing: a batch not done within ``GENTLE_PATIENCE_S`` stops after its current statement
(committing what it wrote), the file's own thread writes the rest, and batches go there for
``GENTLE_REST_S`` before the next try.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gateway.logs.query import (
    COLUMNS,
    STAT_COLUMNS,
    STAT_REDACTED_SQLITE,
    LogPage,
    LogQuery,
    Row,
    Stats,
    compute_stats,
    from_json,
    page_of,
    to_columns,
    where_clause,
    window_bounds,
)
from gateway.logs.record import RequestLog
from gateway.logs.settings import LogSettings
from gateway.storage import Storage
from gateway.storage.migrations import migrate_sqlite
from gateway.storage.sqlite import SqliteFile

T = TypeVar("T")
log = logging.getLogger("omnisense.logs")

MIGRATIONS: list[list[str]] = [
    [  # version 1
        """CREATE TABLE IF NOT EXISTS request_log (
            request_id TEXT NOT NULL, time REAL NOT NULL, task TEXT NOT NULL, provider TEXT,
            status TEXT NOT NULL, http_status INTEGER NOT NULL, key_id TEXT, latency_ms REAL NOT NULL,
            overhead_ms REAL, cost_usd REAL NOT NULL DEFAULT 0, error_type TEXT,
            out_top TEXT, out_confidence REAL, out_items INTEGER, record TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS request_log_time ON request_log (time, request_id)",
        "CREATE INDEX IF NOT EXISTS request_log_task ON request_log (task, time)",
        "CREATE INDEX IF NOT EXISTS request_log_provider ON request_log (provider, time)",
        "CREATE INDEX IF NOT EXISTS request_log_key ON request_log (key_id, time)",
        "CREATE INDEX IF NOT EXISTS request_log_rid ON request_log (request_id)",
    ],
    [  # version 2: a record written twice (a spool replay) is one row; the time index becomes unique.
        # The (task|provider|key_id, time) indexes go: each insert paid for them (about 30 % of the
        # sink's CPU per record, bench in README), while every query reads a time window, which the
        # time index finds; a filter on task, provider or key then scans that window.
        "DELETE FROM request_log WHERE rowid NOT IN (SELECT min(rowid) FROM request_log GROUP BY time, request_id)",
        "DROP INDEX IF EXISTS request_log_time",
        "CREATE UNIQUE INDEX request_log_time ON request_log (time, request_id)",
        "DROP INDEX IF EXISTS request_log_task",
        "DROP INDEX IF EXISTS request_log_provider",
        "DROP INDEX IF EXISTS request_log_key",
    ],
    [  # version 3: where each request was processed (residency); records from before have none
        "ALTER TABLE request_log ADD COLUMN region TEXT",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
_ROW = f"({', '.join('?' * len(COLUMNS))})"
ROWS_PER_INSERT = 64  # 64 x 16 parameters, well under SQLite's limit of 32,766
ROWS_PER_GENTLE_INSERT = 16  # on the background thread: short stretches holding the GIL
GENTLE_PATIENCE_S = 0.25  # a background batch still running after this: the core is saturated
GENTLE_REST_S = 10.0  # then batches go to the file's own thread for this long


@functools.cache
def _insert(rows: int) -> str:
    """One INSERT of ``rows`` rows, idempotent (a record already there is left alone).

    sqlite3 releases and retakes the GIL per statement step, so
    ``executemany`` (a step per row) would hand the GIL back and forth with the event loop for
    every record; one multi-row statement does it once per ``ROWS_PER_INSERT`` records."""
    return (
        f"INSERT INTO request_log ({', '.join(COLUMNS)}) VALUES {', '.join([_ROW] * rows)} "
        "ON CONFLICT (time, request_id) DO NOTHING"
    )


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``SCHEMA_VERSION``; returns the version it found."""
    return migrate_sqlite(conn, "request_log", MIGRATIONS)


class SqliteSink:
    """A LogSink and a LogStore on one SQLite file (its ``request_log`` table).

    ``file``: a path (the sink opens the file and closes it with itself) or the storage
    layer's handle on it (``gateway.storage``: shared with the job store, closed by the storage).
    """

    def __init__(self, file: str | Path | SqliteFile) -> None:
        self._file = file if isinstance(file, SqliteFile) else SqliteFile(file)
        self.path = self._file.path
        self._closed = False
        self._migrated = False
        self._gentle_rest_until = 0.0  # write_gently writes on the file's own thread until then
        try:
            self._file.call(migrate)
            self._migrated = True
        except sqlite3.OperationalError as exc:  # a full disk, say: warn, spool, and try again at the next write
            log.warning("request log %s cannot be prepared (%s); records are spooled until it can", self.path, exc)

    def _db(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"the request log {self.path} is closed")
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, background: bool = False) -> T:
        return await self._file.run(lambda conn: fn(self._db(conn)), background=background)

    def _write_sync(
        self,
        conn: sqlite3.Connection,
        records: Sequence[RequestLog],
        rows: int = ROWS_PER_INSERT,
        hurry: threading.Event | None = None,
    ) -> int:
        """Insert ``records`` in one transaction; returns how many (fewer when ``hurry`` is set meanwhile)."""
        if not self._migrated:
            migrate(conn)
            self._migrated = True
        written = 0
        with conn:
            conn.execute("BEGIN")
            while written < len(records) and not (hurry and hurry.is_set()):
                chunk = records[written : written + rows]
                conn.execute(_insert(len(chunk)), [v for r in chunk for v in to_columns(r)])
                written += len(chunk)
        return written

    async def write(self, records: Sequence[RequestLog]) -> None:
        await self._run(lambda conn: self._write_sync(conn, records))

    async def write_gently(self, records: Sequence[RequestLog]) -> None:
        """``write`` on the background thread, unless the core is saturated (see the module's doc)."""
        if time.monotonic() < self._gentle_rest_until:
            await self.write(records)
            return
        hurry = threading.Event()
        written = asyncio.ensure_future(
            self._run(lambda conn: self._write_sync(conn, records, ROWS_PER_GENTLE_INSERT, hurry), background=True)
        )
        try:
            done = await asyncio.wait_for(asyncio.shield(written), GENTLE_PATIENCE_S)
        except TimeoutError:
            hurry.set()
            self._gentle_rest_until = time.monotonic() + GENTLE_REST_S
            done = await written
        if done < len(records):
            await self.write(records[done:])

    def _query_sync(self, conn: sqlite3.Connection, filters: LogQuery) -> LogPage:
        where, args = where_clause(filters, lambda n: "?")
        sql = f"SELECT record FROM request_log{where} ORDER BY time DESC, request_id DESC LIMIT ?"
        rows = conn.execute(sql, [*args, filters.page_size() + 1]).fetchall()
        return page_of([from_json(r[0]) for r in rows], filters)

    async def query(self, filters: LogQuery) -> LogPage:
        return await self._run(lambda conn: self._query_sync(conn, filters))

    def _stats_sync(self, conn: sqlite3.Connection, window_s: float, now: float | None) -> Stats:
        ref_start, _, end = window_bounds(window_s, now)
        sql = f"SELECT {STAT_COLUMNS}, {STAT_REDACTED_SQLITE} FROM request_log WHERE time >= ? AND time < ?"
        rows = [Row(*r) for r in conn.execute(sql, (ref_start, end))]
        return compute_stats(rows, window_s, now=end)

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats:
        return await self._run(lambda conn: self._stats_sync(conn, window_s, now))

    async def close(self) -> None:
        self._closed = True
        await self._file.release()


def from_settings(settings: LogSettings, storage: Storage) -> SqliteSink:
    """``logs.sink: sqlite`` (``gateway.logs.registry``)."""
    return SqliteSink(storage.sqlite(settings.file))
