"""Both job stores (SQLite, and PostgreSQL in a schema unique to the test) behave the same:
one claim per job, leases taken over only when they ran out, one finish, own jobs listed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from gateway.jobs.model import (
    ItemResult,
    Job,
    cancelled,
    finished,
    progressed,
    released,
    renewed,
    webhook_done,
)
from gateway.jobs.postgres import PostgresJobStore
from gateway.jobs.registry import make_job_store
from gateway.jobs.settings import JobSettings
from gateway.jobs.store import JobStore, SqliteJobStore
from gateway.logs.settings import LogSettings
from tests.conftest import service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    if request.param == "sqlite":
        sqlite = SqliteJobStore(tmp_path / "requests.db")
        await sqlite.start()
        yield sqlite
        await sqlite.close()
        return
    if not await pg_available():
        service_missing(f"no PostgreSQL at {PG_DSN}")
    schema = f"omnisense_test_{uuid.uuid4().hex[:12]}"
    pg = PostgresJobStore(PG_DSN, schema=schema, pool_size=4)
    await pg.start()
    try:
        yield pg
    finally:
        await pg.close()
        await drop_schema(schema)


def new_job(key: str | None = "team-a", created: float | None = None) -> Job:
    now = created or time.time()
    return Job(id=uuid.uuid4().hex, task="text.sentiment", status="queued", created=now, updated=now, key_id=key)


async def test_a_job_is_claimed_once_even_by_racing_gateways(store: JobStore) -> None:
    job = new_job()
    await store.create(job, b"\x91\x80")
    claims = await asyncio.gather(*(store.claim(f"gw-{i}", 30) for i in range(4)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].status == "running" and won[0].attempts == 1
    assert await store.inputs(job.id) == b"\x91\x80"
    assert await store.claim("gw-late", 30) is None


async def test_an_expired_lease_is_taken_over_and_only_the_holder_finishes(store: JobStore) -> None:
    job = new_job()
    await store.create(job, b"")
    first = await store.claim("gw-1", 0.05)
    assert first is not None
    await asyncio.sleep(0.1)
    second = await store.claim("gw-2", 30)
    assert second is not None and second.owner == "gw-2" and second.attempts == 2
    assert await store.update(job.id, renewed("gw-1", 30)) is None  # gw-1 learns it lost the job
    item = ItemResult(index=0, status="succeeded", result={"ok": True})
    assert await store.update(job.id, finished("gw-1", "succeeded", [item], 60, None)) is None
    assert await store.update(job.id, progressed("gw-2", [item])) is not None
    done = await store.update(job.id, finished("gw-2", "succeeded", [item], 60, None))
    assert done is not None and done.status == "succeeded" and done.results == [item]
    assert await store.update(job.id, finished("gw-2", "failed", [], 60, "again")) is None  # one result
    again = await store.get(job.id)
    assert again is not None and again.status == "succeeded" and again.expires is not None


async def test_release_and_cancel(store: JobStore) -> None:
    a, b = new_job(), new_job()
    await store.create(a, b"")
    await store.create(b, b"")
    claimed = await store.claim("gw-1", 30)
    assert claimed is not None
    back = await store.update(claimed.id, released("gw-1"))
    assert back is not None and back.status == "queued" and back.owner is None
    stopped = await store.update(a.id, cancelled(60))
    assert stopped is not None and stopped.status == "cancelled"
    assert await store.update(a.id, cancelled(60)) is None


async def test_listing_is_per_key_newest_first_with_filters_and_purge(store: JobStore) -> None:
    old, mine, theirs, anonymous = new_job(created=1000.0), new_job(), new_job("team-b"), new_job(None)
    for job in (old, mine, theirs, anonymous):
        await store.create(job, b"")
    assert [j.id for j in await store.list_jobs("team-a", None, None, 10)] == [mine.id, old.id]
    assert [j.id for j in await store.list_jobs("team-a", None, 2000.0, 10)] == [mine.id]
    assert [j.id for j in await store.list_jobs(None, "queued", None, 10)] == [anonymous.id]
    assert await store.list_jobs("team-a", "running", None, 10) == []
    await store.update(old.id, cancelled(-1.0))  # already expired
    assert await store.purge(time.time()) == 1
    assert await store.get(old.id) is None


def test_jobs_live_in_the_request_logs_store(tmp_path: Path) -> None:
    sqlite = make_job_store(JobSettings(), LogSettings(sink="sqlite", path=str(tmp_path / "r.db")))
    assert isinstance(sqlite, SqliteJobStore) and sqlite.path == tmp_path / "r.db"
    pg = make_job_store(JobSettings(), LogSettings(sink="postgres", dsn=PG_DSN, schema="logs"))
    assert isinstance(pg, PostgresJobStore) and pg.t == '"logs"."jobs"'
    jsonl = make_job_store(JobSettings(), LogSettings(sink="jsonl", path=str(tmp_path / "x" / "r.jsonl")))
    assert isinstance(jsonl, SqliteJobStore) and jsonl.path == tmp_path / "x" / "jobs.db"


def test_a_gateway_on_postgresql_keeps_jobs_next_to_its_request_log(policy_file: Path) -> None:
    from litestar.testing import TestClient

    from gateway.server import create_app
    from tests.jobs_helpers import job_config, wait_until

    if not asyncio.run(pg_available()):
        service_missing(f"no PostgreSQL at {PG_DSN}")
    schema = f"omnisense_test_{uuid.uuid4().hex[:12]}"
    logs = LogSettings(sink="postgres", dsn=PG_DSN, schema=schema)
    try:
        with TestClient(create_app(job_config(policy_file, logs=logs))) as c:
            job = c.post("/v1/jobs", json={"task": "text.sentiment", "inputs": [{"text": "a"}, {"text": "b"}]}).json()
            done = wait_until(lambda: (j := c.get(f"/v1/jobs/{job['id']}").json())["status"] == "succeeded" and j)
            assert done["done"] == 2

        async def rows() -> tuple[str, list[str]]:
            import asyncpg

            conn = await asyncpg.connect(PG_DSN)
            try:
                status = await conn.fetchval(f'SELECT status FROM "{schema}".jobs WHERE id = $1', job["id"])
                ids = [r[0] for r in await conn.fetch(f'SELECT request_id FROM "{schema}".request_log ORDER BY 1')]
                return status, ids
            finally:
                await conn.close()

        status, ids = asyncio.run(rows())
        assert status == "succeeded" and ids == [f"{job['id']}.0", f"{job['id']}.1"]
    finally:
        asyncio.run(drop_schema(schema))


async def test_pending_webhooks_are_found_once_finished_and_old_enough(store: JobStore) -> None:
    job = msgspec.structs.replace(new_job(), webhook_url="http://127.0.0.1:9/hook")
    await store.create(job, b"")
    assert await store.claim("gw-1", 30) is not None
    await store.update(job.id, finished("gw-1", "succeeded", [], 60, None))
    assert await store.pending_webhooks(time.time() - 60, 10) == []  # just finished: its gateway is on it
    (pending,) = await store.pending_webhooks(time.time() + 1, 10)
    assert pending.id == job.id and pending.webhook == "pending"
    await store.update(job.id, webhook_done("delivered"))
    assert await store.pending_webhooks(time.time() + 1, 10) == []
