"""Every record keeps where the request was processed, in every store, and databases written by
an earlier gateway (schema version 2, no region column) upgrade in place, their records kept."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import msgspec

from gateway.logs.postgres import PostgresSink, migrations
from gateway.logs.query import LogQuery, LogStore
from gateway.logs.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteSink
from gateway.storage.migrations import migrate_postgres, migrate_sqlite
from tests.conftest import service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available, rec, store, write

__all__ = ["store"]  # the fixture: every LogStore backend (memory, jsonl, sqlite, postgres)


async def test_records_keep_their_region_and_filter_by_it(store: LogStore) -> None:
    records = [
        rec(1, region="eu-central-1", jurisdiction="eu"),
        rec(2, region="us-east-1", jurisdiction="us", provider="aws-us"),
        rec(3, region="global"),  # a global endpoint: no jurisdiction
        rec(4),  # no provider served (or an earlier gateway)
    ]
    await write(store, records)
    page = await store.query(LogQuery())
    by_id = {r.request_id: r for r in page.records}
    assert (by_id["r0001"].region, by_id["r0001"].jurisdiction) == ("eu-central-1", "eu")
    assert (by_id["r0003"].region, by_id["r0003"].jurisdiction) == ("global", None)
    assert by_id["r0004"].region is None
    assert [r.request_id for r in (await store.query(LogQuery(region="us-east-1"))).records] == ["r0002"]
    assert [r.request_id for r in (await store.query(LogQuery(region="global"))).records] == ["r0003"]


def test_a_version_2_sqlite_log_upgrades_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "requests.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate_sqlite(conn, "request_log", MIGRATIONS[:2])  # what the gateway before this one created
    old = rec(1)
    old_json = msgspec.json.encode(  # a record as an earlier gateway wrote it: no region
        {k: v for k, v in msgspec.to_builtins(old).items() if k not in ("region", "jurisdiction")}
    ).decode()
    conn.execute(
        "INSERT INTO request_log (request_id, time, task, provider, status, http_status, latency_ms, cost_usd, record)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (old.request_id, old.time, old.task, old.provider, old.status, old.http_status, old.latency_ms, 0.0, old_json),
    )
    conn.close()

    async def upgraded() -> None:
        sink = SqliteSink(path)
        try:
            await write(sink, [rec(2, region="westeurope", jurisdiction="eu")])
            ids = [r.request_id for r in (await sink.query(LogQuery())).records]
            assert ids == ["r0002", "r0001"]
            assert [r.request_id for r in (await sink.query(LogQuery(region="westeurope"))).records] == ["r0002"]
        finally:
            await sink.close()

    asyncio.run(upgraded())
    check = sqlite3.connect(path)
    assert check.execute("SELECT version FROM schema_version WHERE component = 'request_log'").fetchone() == (
        SCHEMA_VERSION,
    )
    assert "region" in [row[1] for row in check.execute("PRAGMA table_info(request_log)")]
    check.close()


async def test_a_version_2_postgres_log_upgrades_and_keeps_its_records() -> None:
    if not await pg_available():
        service_missing(f"no PostgreSQL at {PG_DSN}")
    import asyncpg

    schema = f"omnisense_res_{uuid.uuid4().hex[:10]}"
    pool = await asyncpg.create_pool(PG_DSN, min_size=1, max_size=1)
    try:
        await migrate_postgres(pool, schema, "request_log", migrations(schema, "request_log")[:2])
        await pool.execute(
            f'INSERT INTO "{schema}".request_log (request_id, time, task, status, http_status, latency_ms, record) '
            "VALUES ('r0001', 1.0, 'text.sentiment', 'ok', 200, 1.0, $1::jsonb)",
            '{"request_id":"r0001","time":1.0,"task":"text.sentiment","status":"ok","http_status":200,"latency_ms":1.0}',
        )
        sink = PostgresSink(PG_DSN, schema=schema)
        await sink.start()
        try:
            await write(sink, [rec(2, region="europe-west4", jurisdiction="eu")])
            assert [r.request_id for r in (await sink.query(LogQuery())).records] == ["r0002", "r0001"]
            hits = (await sink.query(LogQuery(region="europe-west4"))).records
            assert [(r.request_id, r.jurisdiction) for r in hits] == [("r0002", "eu")]
            version = await pool.fetchval(f'SELECT version FROM "{schema}".schema_version')
            assert version == sink.version == 3
        finally:
            await sink.close()
    finally:
        await pool.close()
        await drop_schema(schema)
