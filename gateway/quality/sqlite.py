"""The quality table in the request log's SQLite file (``logs.sink: sqlite``).

The table ``quality`` sits next to ``request_log`` in the same file, on the file's one
thread and connection (``gateway.storage.SqliteFile``); its version is the ``quality`` row of
the file's ``schema_version`` table. A batch is one transaction of upserts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from gateway.logs.settings import LogSettings
from gateway.quality.store import COLUMNS, Bucket, QualityQuery, QualityRow, row_of, select
from gateway.storage import Storage
from gateway.storage.migrations import migrate_sqlite
from gateway.storage.sqlite import SqliteFile

MIGRATIONS: list[list[str]] = [
    [  # version 1
        """CREATE TABLE IF NOT EXISTS quality (
            bucket REAL NOT NULL, task TEXT NOT NULL, language TEXT NOT NULL, provider TEXT NOT NULL,
            source TEXT NOT NULL, samples INTEGER NOT NULL, total REAL NOT NULL,
            PRIMARY KEY (task, language, provider, source, bucket))""",
        "CREATE INDEX IF NOT EXISTS quality_bucket ON quality (bucket)",
    ],
]
UPSERT = (
    f"INSERT INTO quality ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (task, language, provider, source, bucket) "
    "DO UPDATE SET samples = samples + excluded.samples, total = total + excluded.total"
)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the ``quality`` table to the newest version; returns the version it found."""
    return migrate_sqlite(conn, "quality", MIGRATIONS)


class SqliteQualityStore:
    def __init__(self, file: str | Path | SqliteFile) -> None:
        self._file = file if isinstance(file, SqliteFile) else SqliteFile(file)
        self.path = self._file.path

    async def start(self) -> None:
        await self._file.run(migrate)

    async def add(self, buckets: Sequence[Bucket]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN")
                conn.executemany(UPSERT, buckets)

        if buckets:
            await self._file.run(run)

    async def read(self, query: QualityQuery) -> list[QualityRow]:
        sql, args = select("quality", query, lambda n: "?")
        rows = await self._file.run(lambda conn: conn.execute(sql, args).fetchall())
        return [row_of(r, query.until) for r in rows]

    async def close(self) -> None:
        await self._file.release()


def from_settings(settings: LogSettings, storage: Storage) -> SqliteQualityStore:
    """``logs.sink: sqlite``: the log's file."""
    return SqliteQualityStore(storage.sqlite(settings.file))
