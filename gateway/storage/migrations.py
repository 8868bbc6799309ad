"""Versioned migrations, the same way for every store that owns tables (request log, quality table).

A store names its ``component`` and gives its ``steps``: step *i* is the list of statements that
take its tables from version *i* to *i + 1*. The version each component reached is a row of the
database's ``schema_version`` table (in PostgreSQL, of the store's schema), so stores sharing a
file or a schema migrate independently. A database newer than the code is refused, never
downgraded. In PostgreSQL the whole migration runs under one advisory lock, so replicas starting
together migrate once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

Steps = Sequence[Sequence[str]]
LOCK_ID = 0x6F6D6E69  # "omni": the advisory lock that serializes migrations


def _too_new(what: str, found: int, steps: Steps) -> RuntimeError:
    return RuntimeError(f"{what} is schema version {found}; this gateway knows up to {len(steps)}")


def migrate_sqlite(conn: sqlite3.Connection, component: str, steps: Steps) -> int:
    """Bring ``component``'s tables to the newest version, in one transaction; returns the version found."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
    found = int(row[0]) if row else 0
    if found > len(steps):
        raise _too_new(f"the {component} table", found, steps)
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for statements in steps[found:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(
            "INSERT INTO schema_version VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, len(steps)),
        )
    return found


async def migrate_postgres(pool: Any, schema: str, component: str, steps: Steps) -> int:
    """The same in PostgreSQL, in ``schema`` (created if missing), under the advisory lock."""
    versions = f'"{schema}".schema_version'
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {versions} (component text PRIMARY KEY, version integer NOT NULL)"
        )
        found = int(await conn.fetchval(f"SELECT version FROM {versions} WHERE component = $1", component) or 0)
        if found > len(steps):
            raise _too_new(f'"{schema}".{component}', found, steps)
        for statements in steps[found:]:
            for sql in statements:
                await conn.execute(sql)
        await conn.execute(
            f"INSERT INTO {versions} VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = $2",
            component,
            len(steps),
        )
    return found
