"""One storage layer: a gateway opens each backend once, whatever uses it.

Seen from the servers, not from our code: PostgreSQL's ``pg_stat_activity`` counts the
connections that carry the test's ``application_name``, and Redis's ``CLIENT LIST`` those
that carry its ``client_name``. One pool (one client) used one call at a time holds one
connection; two would hold two.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gateway.cache.settings import CacheSettings
from gateway.jobs.model import Job
from gateway.jobs.registry import make_job_store, store_name
from gateway.jobs.settings import JobSettings
from gateway.logs import RequestLog
from gateway.logs.registry import make_sink
from gateway.logs.settings import LogSettings
from gateway.server.config import GatewayConfig, StateSettings
from gateway.server.runtime import build_runtime
from gateway.storage import Storage
from policies.registry import Entry, Registry, UnknownEntry
from tests.conftest import require_redis, service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available
from tests.test_shared_state import URL as REDIS_URL


def with_query(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


async def pg_connections(application_name: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application_name
        )
        return int(found)
    finally:
        await conn.close()


def redis_connections(client_name: str) -> int:
    clients = redis.Redis.from_url(REDIS_URL).client_list()
    return sum(1 for c in clients if c.get("name") == client_name)


def record() -> RequestLog:
    return RequestLog(
        request_id=uuid.uuid4().hex,
        time=time.time(),
        task="text.sentiment",
        status="ok",
        http_status=200,
        latency_ms=1.0,
    )


def job() -> Job:
    now = time.time()
    return Job(id=uuid.uuid4().hex, task="text.sentiment", status="queued", created=now, updated=now)


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"omnisense_test_{uuid.uuid4().hex[:12]}"
    yield name
    asyncio.run(drop_schema(name))


async def test_one_dsn_for_the_log_and_the_jobs_is_one_pool(policy_file: Path, schema: str) -> None:
    if not await pg_available():
        service_missing(f"no PostgreSQL at {PG_DSN}")
    app = f"omnisense-test-{uuid.uuid4().hex[:12]}"
    dsn = with_query(PG_DSN, "application_name", app)
    config = GatewayConfig(
        policy=str(policy_file), policy_watch_s=None, logs=LogSettings(sink="postgres", dsn=dsn, schema=schema),
        jobs=JobSettings(poll_s=60.0, sweep_s=3600.0),
    )  # fmt: skip
    runtime = await build_runtime(config)
    try:
        assert runtime.jobs is not None
        await asyncio.sleep(0.3)  # the job worker's first claim and sweep
        await runtime.writer.sink.write([record()])
        await runtime.jobs.store.create(job(), b"")
        assert await runtime.jobs.store.claim("test", 30) is not None
        assert await pg_connections(app) == 1  # two pools (log, jobs) would hold one connection each
    finally:
        await runtime.aclose()
    assert await pg_connections(app) == 0  # closed once, at shutdown


async def test_one_redis_url_for_the_cache_and_the_state_is_one_client(policy_file: Path) -> None:
    require_redis(REDIS_URL)
    name = f"omnisense-test-{uuid.uuid4().hex[:12]}"
    url = with_query(REDIS_URL, "client_name", name)
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    config = GatewayConfig(
        policy=str(policy_file), policy_watch_s=None, logs=LogSettings(sink="none"),
        state=StateSettings(redis=url, prefix=prefix, sync_s=3600.0),
        cache=CacheSettings(store="redis", url=url, prefix=prefix + "cache:"), jobs=JobSettings(enabled=False),
    )  # fmt: skip
    runtime = await build_runtime(config)
    try:
        await asyncio.sleep(0.3)  # the shared state's first read
        await runtime.cache.store.set("k", b"answer", 60)
        assert await runtime.cache.store.get("k") == b"answer"
        assert runtime.shared.link is not None and await runtime.shared.link.check()
        assert redis_connections(name) == 1  # a client for the cache and one for the state would be two
    finally:
        await runtime.aclose()
    assert redis_connections(name) == 0


def storage_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("omnisense-"))


async def test_the_log_and_the_jobs_share_one_sqlite_file_and_thread(tmp_path: Path) -> None:
    before = storage_threads()
    storage = Storage()
    logs = LogSettings(sink="sqlite", path=str(tmp_path / "r.db"))
    sink = make_sink(logs, storage)
    jobs = make_job_store(JobSettings(), logs, storage)
    await jobs.start()
    await sink.write([record()])
    await jobs.create(job(), b"")
    assert storage_threads() == before + 1  # one connection on one thread, not one per store
    await sink.close()
    await jobs.close()
    rows = await storage.sqlite(logs.file).run(lambda c: c.execute("SELECT count(*) FROM jobs").fetchone())
    assert rows == (1,)  # the stores are closed; the file stays open until the storage closes
    await storage.aclose()
    assert storage_threads() == before


def test_the_job_store_follows_the_log_unless_it_names_its_own() -> None:
    assert store_name(JobSettings(), LogSettings(sink="postgres")) == "postgres"
    assert store_name(JobSettings(), LogSettings(sink="jsonl")) == "sqlite"
    assert store_name(JobSettings(), LogSettings(sink="none")) == "memory"
    assert store_name(JobSettings(path="j.db"), LogSettings(sink="none")) == "sqlite"
    assert store_name(JobSettings(store="sqlite"), LogSettings(sink="postgres")) == "sqlite"
    assert store_name(JobSettings(store="memory"), LogSettings(sink="sqlite")) == "memory"


def test_a_job_store_on_its_own_postgres_settings() -> None:
    from gateway.jobs.postgres import PostgresJobStore

    store = make_job_store(JobSettings(store="postgres", dsn=PG_DSN, schema="jobs_here"), LogSettings(sink="jsonl"))
    assert isinstance(store, PostgresJobStore) and store.t == '"jobs_here"."jobs"' and store.dsn == PG_DSN


def test_a_registry_loads_on_first_use_and_says_what_to_install() -> None:
    missing = Entry("omnisense_no_such_module:x", extra="postgres")
    reg: Registry[object] = Registry("thing", {"json": "json:dumps", "missing": missing})
    assert "json" in reg and "nope" not in reg and reg.names() == ["json", "missing"]
    assert dict(reg) == {}  # nothing imported yet
    import json

    assert reg["json"] is json.dumps and dict(reg) == {"json": json.dumps}
    with pytest.raises(UnknownEntry, match=r"unknown thing 'nope' \(known: json, missing\)"):
        reg["nope"]
    with pytest.raises(ValueError, match=r"thing 'missing' cannot be loaded .*pip install 'omnisense\[postgres\]'"):
        reg["missing"]
