"""The quality table in the request log's PostgreSQL schema (``logs.sink: postgres``).

The table ``quality`` sits in the log's schema, on the one pool the gateway holds for the
DSN (``gateway.storage``); it is created or migrated at start-up under the same advisory
lock as the log's table (its version: the ``quality`` row of the schema's ``schema_version``).
A batch is one statement: the rows as arrays, unnested and upserted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import asyncpg

from gateway.logs.postgres import _LOCK_ID
from gateway.logs.settings import LogSettings
from gateway.quality.store import COLUMNS, Bucket, QualityQuery, QualityRow, row_of, select
from gateway.storage import Storage
from gateway.storage.postgres import PgPool

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
COMPONENT = "quality"


def migrations(table: str) -> list[list[str]]:
    return [
        [  # version 1
            f"""CREATE TABLE IF NOT EXISTS {table} (
                bucket double precision NOT NULL, task text NOT NULL, language text NOT NULL,
                provider text NOT NULL, source text NOT NULL, samples bigint NOT NULL,
                total double precision NOT NULL, PRIMARY KEY (task, language, provider, source, bucket))""",
        ],
    ]


class PostgresQualityStore:
    def __init__(self, pool: str | PgPool, *, schema: str = "public") -> None:
        if not _IDENT.match(schema):
            raise ValueError(f"not a plain SQL identifier: {schema!r}")
        self._pg = pool if isinstance(pool, PgPool) else PgPool(pool, 1)
        self.schema = schema
        self.table = f'"{schema}".quality'
        self._upsert = (
            f"INSERT INTO {self.table} AS q ({', '.join(COLUMNS)}) SELECT * FROM unnest("
            "$1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::float8[]) "
            "ON CONFLICT (task, language, provider, source, bucket) "
            "DO UPDATE SET samples = q.samples + EXCLUDED.samples, total = q.total + EXCLUDED.total"
        )

    async def start(self) -> None:
        pool = await self._pg.get()
        steps = migrations(self.table)
        versions = f'"{self.schema}".schema_version'
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {versions} (component text PRIMARY KEY, version integer NOT NULL)"
            )
            found = int(await conn.fetchval(f"SELECT version FROM {versions} WHERE component = $1", COMPONENT) or 0)
            if found > len(steps):
                raise RuntimeError(f"{self.table} is schema version {found}; this gateway knows {len(steps)}")
            for statements in steps[found:]:
                for sql in statements:
                    await conn.execute(sql)
            await conn.execute(
                f"INSERT INTO {versions} VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = $2",
                COMPONENT,
                len(steps),
            )

    async def _pool(self) -> asyncpg.Pool:
        return await self._pg.get()

    async def add(self, buckets: Sequence[Bucket]) -> None:
        if not buckets:
            return
        columns = [list(c) for c in zip(*buckets, strict=True)]
        pool = await self._pool()
        await pool.execute(self._upsert, *columns)

    async def read(self, query: QualityQuery) -> list[QualityRow]:
        sql, args = select(self.table, query, lambda n: f"${n}")
        pool = await self._pool()
        return [row_of(tuple(r), query.until) for r in await pool.fetch(sql, *args)]

    async def close(self) -> None:
        await self._pg.release()


def from_settings(settings: LogSettings, storage: Storage) -> PostgresQualityStore:
    """``logs.sink: postgres``: the log's database and schema."""
    return PostgresQualityStore(storage.postgres(settings.postgres_dsn(), 1), schema=settings.schema)
