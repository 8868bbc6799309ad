"""The quality table's stores, one protocol and three backends (memory, SQLite, PostgreSQL), and
the recorder in front of them: samples aggregate per hour x task x language x provider x source;
a read sums a window; the recorder feeds the book at once and the store in batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.quality import QualitySample
from gateway.quality.postgres import PostgresQualityStore
from gateway.quality.sqlite import SqliteQualityStore
from gateway.quality.store import BUCKET_S, MemoryQualityStore, QualityQuery, QualityStore, aggregate
from gateway.quality.table import QualityTable
from gateway.storage import Storage
from tests.conftest import service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available

HOUR = 1_800_000_000.0 - 1_800_000_000.0 % BUCKET_S  # the start of an hour


def sample(provider: str, language: str, score: float, *, source: str = "agreement") -> QualitySample:
    return QualitySample(task="text.sentiment", language=language, provider=provider, source=source,  # type: ignore[arg-type]
                         score=score)  # fmt: skip


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QualityStore]:
    if request.param == "memory":
        yield MemoryQualityStore()
        return
    if request.param == "sqlite":
        found: QualityStore = SqliteQualityStore(tmp_path / "requests.db")
    else:
        if not await pg_available():
            service_missing(f"no PostgreSQL at {PG_DSN}")
        found = PostgresQualityStore(PG_DSN, schema=f"omnisense_test_{uuid.uuid4().hex[:12]}")
    await found.start()
    await found.start()  # a second start (another replica) migrates nothing
    try:
        yield found
    finally:
        await found.close()
        if isinstance(found, PostgresQualityStore):
            await drop_schema(found.schema)


async def test_samples_aggregate_per_task_language_provider(store: QualityStore) -> None:
    await store.add(aggregate([(HOUR + 10, sample("a", "en", 1.0)), (HOUR + 20, sample("a", "en", 0.5))]))
    await store.add(aggregate([(HOUR + 30, sample("a", "en", 0.0)), (HOUR + 40, sample("a", "es", 0.25))]))
    await store.add(aggregate([(HOUR + BUCKET_S + 5, sample("a", "en", 1.0)), (HOUR + 50, sample("b", "en", 1.0))]))
    await store.add(aggregate([(HOUR + 60, sample("a", "en", 0.8, source="reference"))]))
    rows = await store.read(QualityQuery(since=HOUR, until=HOUR + 2 * BUCKET_S))
    got = {(r.language, r.provider, r.source): (r.samples, round(r.score, 6)) for r in rows}
    assert got == {
        ("en", "a", "agreement"): (4, 0.625),  # two hours together
        ("en", "a", "reference"): (1, 0.8),
        ("es", "a", "agreement"): (1, 0.25),
        ("en", "b", "agreement"): (1, 1.0),
    }
    a_en = next(r for r in rows if (r.language, r.provider, r.source) == ("en", "a", "agreement"))
    assert (a_en.window.since, a_en.window.until) == (HOUR, HOUR + 2 * BUCKET_S)

    only = await store.read(QualityQuery(since=HOUR, until=HOUR + 2 * BUCKET_S, provider="a", language="en",
                                         source="agreement", task="text.sentiment"))  # fmt: skip
    assert [(r.samples, r.score) for r in only] == [(4, 0.625)]
    later = await store.read(QualityQuery(since=HOUR + BUCKET_S, until=HOUR + 2 * BUCKET_S))
    assert [(r.provider, r.language, r.samples) for r in later] == [("a", "en", 1)]  # whole hours: the second one
    assert await store.read(QualityQuery(since=HOUR, until=HOUR + 2 * BUCKET_S, task="vision.labels")) == []


async def test_the_recorder_feeds_the_book_at_once_and_the_store_in_batches(tmp_path: Path) -> None:
    store = MemoryQualityStore()
    clock = [HOUR + 1.0]
    table = QualityTable(store, clock=lambda: clock[0], refresh_s=3600, flush_s=3600)
    await table.start()
    table.record([sample("a", "en", 1.0), sample("a", "en", 0.0)])
    assert store.rows == {}  # not written yet: off the request path
    stat = table.book.stat("a", "text.sentiment", "en", "agreement")
    assert stat is not None and (stat.samples, stat.score) == (2, 0.5)
    await table.flush()
    assert store.rows == {(HOUR, "text.sentiment", "en", "a", "agreement"): [2.0, 1.0]}
    table.record([sample("b", "es", 1.0)])  # pending while the book is read back: still counted
    await table.refresh()
    assert table.book.stat("a", "text.sentiment", "en", "agreement") == stat
    b = table.book.stat("b", "text.sentiment", None, "agreement")
    assert b is not None and b.samples == 1 and b.language is None
    await table.aclose()  # the pending sample is written at shutdown
    assert store.rows[(HOUR, "text.sentiment", "es", "b", "agreement")] == [1.0, 1.0]


async def test_two_gateways_on_one_sqlite_file_read_each_others_samples(tmp_path: Path) -> None:
    one_storage, two_storage = Storage(), Storage()  # two processes: a handle each on the same file
    path = tmp_path / "requests.db"
    one = QualityTable(SqliteQualityStore(one_storage.sqlite(path)), refresh_s=3600, flush_s=3600)
    two = QualityTable(SqliteQualityStore(two_storage.sqlite(path)), refresh_s=3600, flush_s=3600)
    await one.start()
    await two.start()
    one.record([sample("a", "en", 1.0)] * 3)
    two.record([sample("a", "en", 0.0)])
    await one.flush()
    await two.refresh()
    stat = two.book.stat("a", "text.sentiment", "en", "agreement")
    assert stat is not None and stat.samples == 4 and stat.score == 0.75
    for table, storage in ((one, one_storage), (two, two_storage)):
        await table.aclose()
        await storage.aclose()
