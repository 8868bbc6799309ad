"""The job store protocol and its SQLite implementation (the embedded default).

A job is one row: the columns that queries filter on, the ``Job`` as JSON, and the inputs
as msgpack (media bytes included, so a restarted gateway has everything it needs). Every
change is a transition (``gateway.jobs.model``) applied to the current row inside one
transaction, so two gateways never both claim or both finish a job. SQLite runs on one
dedicated thread (``gateway.storage.SqliteFile``): on the request log's file, the log's thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from gateway.jobs.model import Job, JobStatus, Transition, claimed
from gateway.jobs.rows import columns, decode
from gateway.storage.sqlite import SqliteFile

T = TypeVar("T")


class JobStore(Protocol):
    async def start(self) -> None: ...

    async def create(self, job: Job, inputs: bytes) -> None: ...

    async def get(self, job_id: str) -> Job | None: ...

    async def inputs(self, job_id: str) -> bytes: ...

    async def list_jobs(
        self, key_id: str | None, status: JobStatus | None, since: float | None, limit: int
    ) -> list[Job]: ...

    async def claim(self, owner: str, lease_s: float) -> Job | None: ...

    async def update(self, job_id: str, change: Transition) -> Job | None: ...

    async def purge(self, now: float) -> int: ...

    async def pending_webhooks(self, before: float, limit: int) -> list[Job]: ...

    async def close(self) -> None: ...


_SCHEMA = """CREATE TABLE IF NOT EXISTS {t} (
    id TEXT PRIMARY KEY, key_id TEXT, status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    lease_until REAL, expires REAL, job TEXT NOT NULL, inputs BLOB NOT NULL)"""
_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {t}_status ON {t} (status, created)",
    "CREATE INDEX IF NOT EXISTS {t}_key ON {t} (key_id, created)",
    "CREATE INDEX IF NOT EXISTS {t}_expires ON {t} (expires)",
]
_SET = (
    "UPDATE {t} SET key_id = ?, status = ?, created = ?, updated = ?, lease_until = ?, expires = ?, job = ? "
    "WHERE id = ?"
)


class SqliteJobStore:
    """Jobs in one table of a SQLite file. ``file``: a path (the store opens the file and closes
    it with itself) or the storage layer's handle on it (``gateway.storage``: shared with the
    request log on the same file, closed by the storage)."""

    def __init__(self, file: str | Path | SqliteFile, *, table: str = "jobs") -> None:
        if not table.isidentifier():
            raise ValueError(f"not a plain SQL identifier: {table!r}")
        self._file = file if isinstance(file, SqliteFile) else SqliteFile(file)
        self.path, self.t = self._file.path, table
        self._open = False

    def _create(self, conn: sqlite3.Connection) -> None:
        for sql in [_SCHEMA, *_INDEXES]:
            conn.execute(sql.format(t=self.t))
        self._open = True

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._open:
            raise RuntimeError(f"the job store {self.path} is not open")
        return await self._file.run(fn)

    async def start(self) -> None:
        await self._file.run(self._create)

    async def create(self, job: Job, inputs: bytes) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(f"INSERT INTO {self.t} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*columns(job), inputs))

        await self._run(run)

    async def get(self, job_id: str) -> Job | None:
        def run(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(f"SELECT job FROM {self.t} WHERE id = ?", (job_id,)).fetchone()
            return decode(row[0]) if row else None

        return await self._run(run)

    async def inputs(self, job_id: str) -> bytes:
        def run(conn: sqlite3.Connection) -> bytes:
            row = conn.execute(f"SELECT inputs FROM {self.t} WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            return bytes(row[0])

        return await self._run(run)

    async def list_jobs(
        self, key_id: str | None, status: JobStatus | None, since: float | None, limit: int
    ) -> list[Job]:
        where, args = ["key_id IS ?"], list[object]([key_id])
        if status:
            where.append("status = ?")
            args.append(status)
        if since is not None:
            where.append("created >= ?")
            args.append(since)
        sql = f"SELECT job FROM {self.t} WHERE {' AND '.join(where)} ORDER BY created DESC LIMIT ?"

        def run(conn: sqlite3.Connection) -> list[Job]:
            return [decode(r[0]) for r in conn.execute(sql, [*args, limit])]

        return await self._run(run)

    def _write(self, conn: sqlite3.Connection, job: Job) -> None:
        cols = columns(job)
        conn.execute(_SET.format(t=self.t), (*cols[1:], job.id))

    async def claim(self, owner: str, lease_s: float) -> Job | None:
        claimable = (
            f"SELECT job FROM {self.t} WHERE status = 'queued' OR (status = 'running' AND lease_until < ?) "
            "ORDER BY created LIMIT 1"
        )

        def run(conn: sqlite3.Connection) -> Job | None:
            if conn.execute(claimable, (time.time(),)).fetchone() is None:
                return None  # the usual idle poll: a read, no write lock on the log's file
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                now = time.time()
                row = conn.execute(claimable, (now,)).fetchone()
                if row is None:
                    return None
                job = claimed(decode(row[0]), owner, lease_s, now)
                self._write(conn, job)
                return job

        return await self._run(run)

    async def update(self, job_id: str, change: Transition) -> Job | None:
        def run(conn: sqlite3.Connection) -> Job | None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(f"SELECT job FROM {self.t} WHERE id = ?", (job_id,)).fetchone()
                job = change(decode(row[0])) if row else None
                if job is not None:
                    self._write(conn, job)
                return job

        return await self._run(run)

    async def pending_webhooks(self, before: float, limit: int) -> list[Job]:
        """Finished jobs whose webhook is still to be sent, last changed before ``before``."""
        sql = (
            f"SELECT job FROM {self.t} WHERE status IN ('succeeded', 'failed') "
            "AND json_extract(job, '$.webhook') = 'pending' AND updated < ? ORDER BY updated LIMIT ?"
        )

        def run(conn: sqlite3.Connection) -> list[Job]:
            return [decode(r[0]) for r in conn.execute(sql, (before, limit))]

        return await self._run(run)

    async def purge(self, now: float) -> int:
        def run(conn: sqlite3.Connection) -> int:
            with conn:
                return conn.execute(f"DELETE FROM {self.t} WHERE expires < ?", (now,)).rowcount

        return await self._run(run)

    async def close(self) -> None:
        self._open = False
        await self._file.release()
