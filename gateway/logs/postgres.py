"""The PostgreSQL sink (extra ``omnisense[postgres]``): asyncpg, batched COPY.

Each batch goes in with one ``COPY ... FROM STDIN (FORMAT binary)``
(``copy_records_to_table``), the fastest way into PostgreSQL and one round trip per
batch. The schema is created or migrated at start-up (``start``): a ``schema_version``
table in the same schema records the version of the ``request_log`` table, and the
migration runs under a transaction-scoped advisory lock so that several gateways
starting together migrate once. The whole record is kept as ``jsonb`` next to the
columns that queries filter on. A record is one row however often it is written: a unique
index on ``(time, request_id)`` makes a replayed batch fall back to ``INSERT ... ON CONFLICT DO
NOTHING``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import asyncpg

from gateway.logs.query import (
    COLUMNS,
    SHADOWED_POSTGRES,
    STAT_COLUMNS,
    STAT_REDACTED_POSTGRES,
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
from gateway.storage.migrations import migrate_postgres
from gateway.storage.postgres import PgPool

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def migrations(schema: str, table: str) -> list[list[str]]:
    t = f'"{schema}"."{table}"'
    return [
        [  # version 1
            f'CREATE SCHEMA IF NOT EXISTS "{schema}"',
            f"""CREATE TABLE IF NOT EXISTS {t} (
                id bigserial PRIMARY KEY, request_id text NOT NULL, time double precision NOT NULL,
                task text NOT NULL, provider text, status text NOT NULL, http_status integer NOT NULL,
                key_id text, latency_ms double precision NOT NULL, overhead_ms double precision,
                cost_usd double precision NOT NULL DEFAULT 0, error_type text, out_top text,
                out_confidence double precision, out_items integer, record jsonb NOT NULL)""",
            f'CREATE INDEX IF NOT EXISTS "{table}_time" ON {t} (time, request_id)',
            f'CREATE INDEX IF NOT EXISTS "{table}_task" ON {t} (task, time)',
            f'CREATE INDEX IF NOT EXISTS "{table}_provider" ON {t} (provider, time)',
            f'CREATE INDEX IF NOT EXISTS "{table}_key" ON {t} (key_id, time)',
            f'CREATE INDEX IF NOT EXISTS "{table}_rid" ON {t} (request_id)',
        ],
        [  # version 2: a record written twice (a spool replay) is one row; the time index becomes unique
            f"DELETE FROM {t} a USING {t} b WHERE a.time = b.time AND a.request_id = b.request_id AND a.id > b.id",
            f'DROP INDEX IF EXISTS "{schema}"."{table}_time"',
            f'CREATE UNIQUE INDEX "{table}_time" ON {t} (time, request_id)',
        ],
        [  # version 3: where each request was processed (residency); records from before have none
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS region text",
        ],
    ]


class PostgresSink:
    """A LogSink and a LogStore on one PostgreSQL table.

    ``pool``: a DSN (the sink opens its own pool of ``pool_size`` and closes it with itself)
    or the storage layer's pool on it (``gateway.storage``: shared with the job store).
    """

    def __init__(
        self, pool: str | PgPool, *, schema: str = "public", table: str = "request_log", pool_size: int = 2
    ) -> None:
        for name in (schema, table):
            if not _IDENT.match(name):
                raise ValueError(f"not a plain SQL identifier: {name!r}")
        self._pg = pool if isinstance(pool, PgPool) else PgPool(pool, pool_size)
        self.dsn, self.schema, self.table = self._pg.dsn, schema, table
        self._qualified = f'"{schema}"."{table}"'
        self._pool: asyncpg.Pool | None = None  # set once the table is migrated
        self._lock = asyncio.Lock()

    @property
    def version(self) -> int:
        return len(migrations(self.schema, self.table))

    async def start(self) -> None:
        """Connect, then create or migrate the table."""
        await self._connected()

    async def _connected(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                pool = await self._pg.get()
                try:
                    await self._migrate(pool)
                except BaseException:
                    await self._pg.release()
                    raise
                self._pool = pool
            return self._pool

    async def _migrate(self, pool: asyncpg.Pool) -> int:
        return await migrate_postgres(pool, self.schema, self.table, migrations(self.schema, self.table))

    async def write(self, records: Sequence[RequestLog]) -> None:
        """One COPY; when a record is there already (a spool replay), row by row, skipping those."""
        pool = await self._connected()
        rows = [to_columns(r) for r in records]
        async with pool.acquire() as conn:
            try:
                await conn.copy_records_to_table(self.table, schema_name=self.schema, columns=COLUMNS, records=rows)
            except asyncpg.UniqueViolationError:
                await conn.executemany(self._insert, rows)

    @property
    def _insert(self) -> str:
        marks = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        return (
            f"INSERT INTO {self._qualified} ({', '.join(COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (time, request_id) DO NOTHING"
        )

    async def query(self, filters: LogQuery) -> LogPage:
        pool = await self._connected()
        where, args = where_clause(filters, lambda n: f"${n}", SHADOWED_POSTGRES)
        sql = (
            f"SELECT record::text FROM {self._qualified}{where} "
            f"ORDER BY time DESC, request_id DESC LIMIT ${len(args) + 1}"
        )
        rows = await pool.fetch(sql, *args, filters.page_size() + 1)
        return page_of([from_json(r[0]) for r in rows], filters)

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats:
        pool = await self._connected()
        ref_start, _, end = window_bounds(window_s, now)
        sql = f"SELECT {STAT_COLUMNS}, {STAT_REDACTED_POSTGRES} FROM {self._qualified} WHERE time >= $1 AND time < $2"
        rows = [Row(*r) for r in await pool.fetch(sql, ref_start, end)]
        return compute_stats(rows, window_s, now=end)

    async def drop(self) -> None:
        """Remove the table and its version row (tests)."""
        pool = await self._connected()
        await pool.execute(f"DROP TABLE IF EXISTS {self._qualified}")
        await pool.execute(f'DELETE FROM "{self.schema}".schema_version WHERE component = $1', self.table)

    async def close(self) -> None:
        self._pool = None
        await self._pg.release()


def from_settings(settings: LogSettings, storage: Storage) -> PostgresSink:
    """``logs.sink: postgres`` (``gateway.logs.registry``)."""
    return PostgresSink(storage.postgres(settings.postgres_dsn()), schema=settings.schema, table=settings.table)
