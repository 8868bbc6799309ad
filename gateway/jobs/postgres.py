"""The job store on PostgreSQL (asyncpg), by default next to the request log's table in the same schema.

Claiming takes the oldest queued job (or a running one whose lease ran out) with
``FOR UPDATE SKIP LOCKED``, so replicas sharing the database never take the same job;
every other change reads the row ``FOR UPDATE`` and writes the transition's result.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import asyncpg

from gateway.jobs.model import Job, JobStatus, Transition, claimed
from gateway.jobs.rows import columns, decode
from gateway.jobs.settings import JobSettings
from gateway.logs.settings import LogSettings
from gateway.storage import Storage
from gateway.storage.postgres import PgPool

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresJobStore:
    """Jobs in one table. ``pool``: a DSN (the store opens its own pool of ``pool_size`` and
    closes it with itself) or the storage layer's pool (``gateway.storage``: shared with the
    request log on the same DSN, closed by the storage)."""

    def __init__(self, pool: str | PgPool, *, schema: str = "public", table: str = "jobs", pool_size: int = 2) -> None:
        for name in (schema, table):
            if not _IDENT.match(name):
                raise ValueError(f"not a plain SQL identifier: {name!r}")
        self._pg = pool if isinstance(pool, PgPool) else PgPool(pool, pool_size)
        self.dsn, self.schema, self.table = self._pg.dsn, schema, table
        self.t = f'"{schema}"."{table}"'
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await self._pg.get()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", 0x6F6D6A62)  # "omjb": one creator at a time
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {self.t} (
                id text PRIMARY KEY, key_id text, status text NOT NULL, created double precision NOT NULL,
                updated double precision NOT NULL, lease_until double precision, expires double precision,
                job jsonb NOT NULL, inputs bytea NOT NULL)"""
            )
            await conn.execute(f'CREATE INDEX IF NOT EXISTS "{self.table}_status" ON {self.t} (status, created)')
            await conn.execute(f'CREATE INDEX IF NOT EXISTS "{self.table}_key" ON {self.t} (key_id, created)')

    def _p(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the job store is not started")
        return self._pool

    async def create(self, job: Job, inputs: bytes) -> None:
        await self._p().execute(
            f"INSERT INTO {self.t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)", *columns(job), inputs
        )

    async def get(self, job_id: str) -> Job | None:
        row = await self._p().fetchval(f"SELECT job::text FROM {self.t} WHERE id = $1", job_id)
        return decode(row) if row else None

    async def inputs(self, job_id: str) -> bytes:
        row = await self._p().fetchval(f"SELECT inputs FROM {self.t} WHERE id = $1", job_id)
        if row is None:
            raise KeyError(job_id)
        return bytes(row)

    async def list_jobs(
        self, key_id: str | None, status: JobStatus | None, since: float | None, limit: int
    ) -> list[Job]:
        where, args = ["key_id IS NOT DISTINCT FROM $1"], list[object]([key_id])
        if status:
            args.append(status)
            where.append(f"status = ${len(args)}")
        if since is not None:
            args.append(since)
            where.append(f"created >= ${len(args)}")
        args.append(limit)
        sql = f"SELECT job::text FROM {self.t} WHERE {' AND '.join(where)} ORDER BY created DESC LIMIT ${len(args)}"
        return [decode(r[0]) for r in await self._p().fetch(sql, *args)]

    async def _write(self, conn: Any, job: Job) -> None:
        cols = columns(job)
        await conn.execute(
            f"UPDATE {self.t} SET key_id = $2, status = $3, created = $4, updated = $5, lease_until = $6, "
            "expires = $7, job = $8::jsonb WHERE id = $1",
            *cols,
        )

    async def claim(self, owner: str, lease_s: float) -> Job | None:
        async with self._p().acquire() as conn, conn.transaction():
            now = time.time()
            row = await conn.fetchval(
                f"SELECT job::text FROM {self.t} WHERE status = 'queued' OR (status = 'running' AND lease_until < $1) "
                "ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED",
                now,
            )
            if row is None:
                return None
            job = claimed(decode(row), owner, lease_s, now)
            await self._write(conn, job)
            return job

    async def update(self, job_id: str, change: Transition) -> Job | None:
        async with self._p().acquire() as conn, conn.transaction():
            row = await conn.fetchval(f"SELECT job::text FROM {self.t} WHERE id = $1 FOR UPDATE", job_id)
            job = change(decode(row)) if row else None
            if job is not None:
                await self._write(conn, job)
            return job

    async def pending_webhooks(self, before: float, limit: int) -> list[Job]:
        """Finished jobs whose webhook is still to be sent, last changed before ``before``."""
        rows = await self._p().fetch(
            f"SELECT job::text FROM {self.t} WHERE status IN ('succeeded', 'failed') "
            "AND job->>'webhook' = 'pending' AND updated < $1 ORDER BY updated LIMIT $2",
            before,
            limit,
        )
        return [decode(r[0]) for r in rows]

    async def purge(self, now: float) -> int:
        result = await self._p().execute(f"DELETE FROM {self.t} WHERE expires < $1", now)
        return int(str(result).rsplit(" ", 1)[-1] or 0)

    async def drop(self) -> None:
        """Remove the table (tests)."""
        await self._p().execute(f"DROP TABLE IF EXISTS {self.t}")

    async def close(self) -> None:
        self._pool = None
        await self._pg.release()


def from_settings(jobs: JobSettings, logs: LogSettings, storage: Storage) -> PostgresJobStore:
    """``jobs.store: postgres`` (``gateway.jobs.registry``): ``jobs.dsn`` / ``jobs.schema``,
    else the request log's."""
    dsn = jobs.dsn or (logs.dsn or os.environ.get("OMNISENSE_LOG_DSN"))
    if not dsn:
        raise ValueError("the job store is postgres but none of jobs.dsn, logs.dsn, OMNISENSE_LOG_DSN is set")
    return PostgresJobStore(storage.postgres(dsn), schema=jobs.schema or logs.schema, table=jobs.table)
