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

from gateway.logs.settings import LogSettings
from gateway.quality.store import COLUMNS, Bucket, QualityQuery, QualityRow, row_of, select
from gateway.storage import Storage
from gateway.storage.migrations import migrate_postgres
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
        await migrate_postgres(await self._pg.get(), self.schema, COMPONENT, migrations(self.table))

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
