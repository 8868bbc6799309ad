"""One protocol, several backends, one test file: every sink that is a LogStore.

The PostgreSQL store runs against the real server (``OMNISENSE_TEST_PG_DSN``, default
postgresql://postgres@127.0.0.1:5432/test) in a table unique to the test, dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.logs import JsonlSink, LogWriter, MemorySink, OutputSummary, RequestLog
from gateway.logs.drift import MIN_SAMPLES
from gateway.logs.postgres import PostgresSink
from gateway.logs.query import LogQuery, LogStore, Stats, parse_duration, parse_time
from gateway.logs.sqlite import SqliteSink
from omnisense.schema import Attempt
from tests.conftest import service_missing

PG_DSN = os.environ.get("OMNISENSE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NOW = 1_800_000_000.0


async def pg_available() -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture(params=["memory", "jsonl", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogStore]:
    kind = request.param
    if kind == "memory":
        yield MemorySink()
    elif kind == "jsonl":
        sink = JsonlSink(tmp_path / "requests.jsonl")
        yield sink
        await sink.close()
    elif kind == "sqlite":
        sqlite = SqliteSink(tmp_path / "requests.db")
        yield sqlite
        await sqlite.close()
    else:
        if not await pg_available():
            service_missing(f"no PostgreSQL at {PG_DSN}")
        pg = PostgresSink(PG_DSN, schema=f"omnisense_test_{uuid.uuid4().hex[:12]}")
        await pg.start()
        try:
            yield pg
        finally:
            await pg.close()
            await drop_schema(pg.schema)


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def rec(i: int, **kw: object) -> RequestLog:
    base: dict[str, object] = {
        "request_id": f"r{i:04d}",
        "time": NOW - 1000 + i,
        "task": "text.sentiment",
        "status": "ok",
        "http_status": 200,
        "latency_ms": float(i % 100),
        "provider": "aws",
        "key_id": "team-a",
        "cost_usd": 0.001,
        "output": OutputSummary(top="positive", confidence=0.9, items=1),
        "attempts": [Attempt(provider="aws", outcome="ok", latency_ms=1.0)],
    }
    base.update(kw)
    return RequestLog(**base)  # type: ignore[arg-type]


async def write(store: LogStore, records: list[RequestLog]) -> None:
    writer = LogWriter(store, batch_size=64)  # type: ignore[arg-type]
    writer.start()
    for r in records:
        writer.submit(r)
    await writer.flush()
    assert writer.written == len(records)


async def test_round_trip_keeps_every_field(store: LogStore) -> None:
    original = rec(1, error_type="UpstreamTimeout", overhead_ms=0.5, decisions=["gcp: circuit open"])
    await write(store, [original])
    page = await store.query(LogQuery())
    assert page.records == [original]
    assert page.next_cursor is None


async def test_filters(store: LogStore) -> None:
    records = [
        rec(1),
        rec(2, task="vision.labels", provider="gcp"),
        rec(3, status="error", http_status=502, error_type="UpstreamUnavailable", output=None),
        rec(4, key_id="team-b"),
        rec(5, provider=None, status="error", http_status=401, key_id=None, output=None),
    ]
    await write(store, records)

    async def ids(**kw: object) -> list[str]:
        page = await store.query(LogQuery(**kw))  # type: ignore[arg-type]
        return [r.request_id for r in page.records]

    assert await ids() == ["r0005", "r0004", "r0003", "r0002", "r0001"]
    assert await ids(task="vision.labels") == ["r0002"]
    assert await ids(provider="aws") == ["r0004", "r0003", "r0001"]
    assert await ids(status="error") == ["r0005", "r0003"]
    assert await ids(status="401") == ["r0005"]
    assert await ids(key_id="team-b") == ["r0004"]
    assert await ids(request_id="r0003") == ["r0003"]
    assert await ids(since=NOW - 1000 + 2, until=NOW - 1000 + 4) == ["r0003", "r0002"]
    assert await ids(task="text.sentiment", status="ok", key_id="team-a") == ["r0001"]


async def test_pagination_is_stable_under_new_writes(store: LogStore) -> None:
    await write(store, [rec(i) for i in range(25)])
    first = await store.query(LogQuery(limit=10))
    assert [r.request_id for r in first.records] == [f"r{i:04d}" for i in range(24, 14, -1)]
    assert first.next_cursor
    await write(store, [rec(100)])  # newer: must not shift the next page
    second = await store.query(LogQuery(limit=10, cursor=first.next_cursor))
    assert [r.request_id for r in second.records] == [f"r{i:04d}" for i in range(14, 4, -1)]
    third = await store.query(LogQuery(limit=10, cursor=second.next_cursor))
    assert [r.request_id for r in third.records] == [f"r{i:04d}" for i in range(4, -1, -1)]
    assert third.next_cursor is None


async def test_bad_cursor_is_a_value_error(store: LogStore) -> None:
    with pytest.raises(ValueError, match="cursor"):
        await store.query(LogQuery(cursor="!!!"))


async def test_stats_per_provider_and_task(store: LogStore) -> None:
    window = 600.0
    current = [rec(i, time=NOW - 300 + i, latency_ms=float(i + 1)) for i in range(100)]
    current += [rec(200 + i, time=NOW - 100, status="error", http_status=502, output=None) for i in range(25)]
    current += [rec(300, time=NOW - 10, task="vision.labels", provider="gcp", cost_usd=0.5)]
    older = [rec(400 + i, time=NOW - 5000) for i in range(10)]  # outside both windows
    await write(store, current + older)
    stats: Stats = await store.stats(window, now=NOW)
    rows = {(r.provider, r.task): r for r in stats.rows}
    assert set(rows) == {("aws", "text.sentiment"), ("gcp", "vision.labels")}
    aws = rows[("aws", "text.sentiment")]
    assert aws.requests == 125 and aws.errors == 25
    assert aws.error_rate == pytest.approx(0.2)
    assert aws.cost_usd == pytest.approx(0.125)
    assert aws.output is not None and aws.output.top_mix == {"positive": 1.0}
    assert aws.drift_psi is None  # no reference window
    assert rows[("gcp", "vision.labels")].cost_usd == pytest.approx(0.5)


async def test_stats_latency_percentiles(store: LogStore) -> None:
    await write(store, [rec(i, time=NOW - 100, latency_ms=float(i + 1), request_id=f"p{i}") for i in range(100)])
    (row,) = (await store.stats(3600, now=NOW)).rows
    assert row.p50_ms == pytest.approx(50.5)
    assert row.p95_ms == pytest.approx(95.05)


async def test_stats_drift_against_the_previous_window(store: LogStore) -> None:
    n = MIN_SAMPLES * 2
    reference = [rec(i, time=NOW - 1500 + i) for i in range(n)]  # all positive, 0.9
    shifted = [
        rec(1000 + i, time=NOW - 500 + i, output=OutputSummary(top="negative", confidence=0.55, items=1))
        for i in range(n)
    ]
    await write(store, reference + shifted)
    (row,) = (await store.stats(1000, now=NOW)).rows
    assert row.drift_psi is not None and row.drift_psi > 0.25
    assert row.output is not None and row.output.top_mix == {"negative": 1.0}


def test_parse_time_and_duration() -> None:
    assert parse_duration("90") == 90 and parse_duration("15m") == 900 and parse_duration("2h") == 7200
    assert parse_time("1700000000.5") == 1700000000.5
    assert parse_time("2023-11-14T22:13:20Z") == 1700000000.0
    assert parse_time("1h", now=NOW) == NOW - 3600
    with pytest.raises(ValueError):
        parse_time("yesterday-ish")
    with pytest.raises(ValueError):
        parse_duration("-5m")
