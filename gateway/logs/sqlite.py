"""The SQLite sink: the embedded default (``var/requests.db``).

stdlib ``sqlite3`` on one dedicated thread that owns the one connection (a
single-worker executor): sqlite3 connections must stay on their thread, one writer is
all SQLite allows anyway, and a private thread keeps the writes out of the shared
anyio/asyncio pool that request handling uses. (aiosqlite does the same — a thread per
connection — behind another dependency.) The database runs in WAL mode with
``synchronous=NORMAL``: each batch is one transaction (``executemany``), readers such
as ``omnisense logs`` never block the writer, and a committed batch survives a crash of
the gateway. Queries run on the same thread, between batches.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from gateway.logs.query import (
    COLUMNS,
    STAT_COLUMNS,
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

T = TypeVar("T")

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
]
SCHEMA_VERSION = len(MIGRATIONS)
_ROW = f"({', '.join('?' * len(COLUMNS))})"
ROWS_PER_INSERT = 64  # 64 x 15 parameters, well under SQLite's limit of 32,766


@functools.cache
def _insert(rows: int) -> str:
    """One INSERT of ``rows`` rows: sqlite3 releases and retakes the GIL per statement step, so
    ``executemany`` (a step per row) would hand the GIL back and forth with the event loop for
    every record; one multi-row statement does it once per ``ROWS_PER_INSERT`` records."""
    return f"INSERT INTO request_log ({', '.join(COLUMNS)}) VALUES {', '.join([_ROW] * rows)}"


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``SCHEMA_VERSION``; returns the version it found."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version WHERE component = 'request_log'").fetchone()
    found = int(row[0]) if row else 0
    if found > SCHEMA_VERSION:
        raise RuntimeError(f"the request log schema is version {found}; this gateway knows up to {SCHEMA_VERSION}")
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for statements in MIGRATIONS[found:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(
            "INSERT INTO schema_version VALUES ('request_log', ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (SCHEMA_VERSION,),
        )
    return found


class SqliteSink:
    """A LogSink and a LogStore on one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="omnisense-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit (`with conn`)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        migrate(conn)
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"the request log {self.path} is closed")
        return self._conn

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _write_sync(self, records: Sequence[RequestLog]) -> None:
        conn = self._db()
        with conn:
            conn.execute("BEGIN")
            for at in range(0, len(records), ROWS_PER_INSERT):
                chunk = records[at : at + ROWS_PER_INSERT]
                conn.execute(_insert(len(chunk)), [v for r in chunk for v in to_columns(r)])

    async def write(self, records: Sequence[RequestLog]) -> None:
        await self._run(lambda: self._write_sync(records))

    def _query_sync(self, filters: LogQuery) -> LogPage:
        where, args = where_clause(filters, lambda n: "?")
        sql = f"SELECT record FROM request_log{where} ORDER BY time DESC, request_id DESC LIMIT ?"
        rows = self._db().execute(sql, [*args, filters.page_size() + 1]).fetchall()
        return page_of([from_json(r[0]) for r in rows], filters)

    async def query(self, filters: LogQuery) -> LogPage:
        return await self._run(lambda: self._query_sync(filters))

    def _stats_sync(self, window_s: float, now: float | None) -> Stats:
        ref_start, _, end = window_bounds(window_s, now)
        sql = f"SELECT {STAT_COLUMNS} FROM request_log WHERE time >= ? AND time < ?"
        rows = [Row(*r) for r in self._db().execute(sql, (ref_start, end))]
        return compute_stats(rows, window_s, now=end)

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats:
        return await self._run(lambda: self._stats_sync(window_s, now))

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
