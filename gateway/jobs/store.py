"""The job store protocol and its SQLite implementation (the embedded default).

A job is one row: the columns that queries filter on, the ``Job`` as JSON, and the inputs
as msgpack (media bytes included, so a restarted gateway has everything it needs). Every
change is a transition (``gateway.jobs.model``) applied to the current row inside one
transaction, so two gateways never both claim or both finish a job. SQLite runs on one
dedicated thread, like the log sink, in WAL mode on the same file.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec

from gateway.jobs.model import Job, JobStatus, Transition, claimed
from gateway.jobs.settings import JobSettings
from gateway.logs.settings import LogSettings

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Job).decode


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


def columns(job: Job) -> tuple[str, str | None, str, float, float, float | None, float | None, str]:
    return (
        job.id,
        job.key_id,
        job.status,
        job.created,
        job.updated,
        job.lease_until,
        job.expires,
        _encode(job).decode(),
    )


def decode(text: str | bytes) -> Job:
    return _decode(text)


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
    def __init__(self, path: str | Path, *, table: str = "jobs") -> None:
        if not table.isidentifier():
            raise ValueError(f"not a plain SQL identifier: {table!r}")
        self.path, self.t = Path(path), table
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="omnisense-jobs")
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        for sql in [_SCHEMA, *_INDEXES]:
            conn.execute(sql.format(t=self.t))
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"the job store {self.path} is not open")
        return self._conn

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def start(self) -> None:
        await self._run(self._open)

    async def create(self, job: Job, inputs: bytes) -> None:
        def run() -> None:
            with self._db() as conn:
                conn.execute(f"INSERT INTO {self.t} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*columns(job), inputs))

        await self._run(run)

    async def get(self, job_id: str) -> Job | None:
        def run() -> Job | None:
            row = self._db().execute(f"SELECT job FROM {self.t} WHERE id = ?", (job_id,)).fetchone()
            return decode(row[0]) if row else None

        return await self._run(run)

    async def inputs(self, job_id: str) -> bytes:
        def run() -> bytes:
            row = self._db().execute(f"SELECT inputs FROM {self.t} WHERE id = ?", (job_id,)).fetchone()
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

        def run() -> list[Job]:
            return [decode(r[0]) for r in self._db().execute(sql, [*args, limit])]

        return await self._run(run)

    def _write(self, conn: sqlite3.Connection, job: Job) -> None:
        cols = columns(job)
        conn.execute(_SET.format(t=self.t), (*cols[1:], job.id))

    async def claim(self, owner: str, lease_s: float) -> Job | None:
        claimable = (
            f"SELECT job FROM {self.t} WHERE status = 'queued' OR (status = 'running' AND lease_until < ?) "
            "ORDER BY created LIMIT 1"
        )

        def run() -> Job | None:
            conn = self._db()
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
        def run() -> Job | None:
            conn = self._db()
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

        def run() -> list[Job]:
            return [decode(r[0]) for r in self._db().execute(sql, (before, limit))]

        return await self._run(run)

    async def purge(self, now: float) -> int:
        def run() -> int:
            with self._db() as conn:
                return conn.execute(f"DELETE FROM {self.t} WHERE expires < ?", (now,)).rowcount

        return await self._run(run)

    async def close(self) -> None:
        def run() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(run)
        self._executor.shutdown(wait=True)


def make_job_store(jobs: JobSettings, logs: LogSettings) -> JobStore:
    """Jobs live where the request log lives: the same PostgreSQL schema or SQLite file."""
    if logs.sink == "postgres":
        from gateway.jobs.postgres import PostgresJobStore

        dsn = logs.dsn or os.environ.get("OMNISENSE_LOG_DSN")
        if not dsn:
            raise ValueError("logs.sink is postgres but neither logs.dsn nor OMNISENSE_LOG_DSN is set")
        return PostgresJobStore(dsn, schema=logs.schema, table=jobs.table)
    if jobs.path:
        return SqliteJobStore(jobs.path, table=jobs.table)
    if logs.sink == "none":  # nothing is kept: jobs live in memory and do not survive a restart
        return SqliteJobStore(":memory:", table=jobs.table)
    path = logs.file if logs.sink == "sqlite" else str(Path(logs.file).with_name("jobs.db"))
    return SqliteJobStore(path, table=jobs.table)
