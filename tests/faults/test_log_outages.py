"""The request log under its backing services' faults, with the gateway as a real process under
steady load: PostgreSQL stopped and restarted (a private cluster, never the shared one), the
gateway SIGKILLed with records in its spool and started again, the SQLite log's disk filled (a
small tmpfs, mounted as root), Redis stopped and restarted. After each, every answered request has
exactly one record once the service is back, and the table (answered, written, spooled, replayed,
lost) is printed (``pytest -s``).

``OMNISENSE_FAULT_OUTAGE_S`` sets how long PostgreSQL stays down (default 20 s). A batch job
runs through that outage, with a lease four times shorter: each item runs once, leaves one record
and is in the job's results once, and the job ends ``succeeded`` with one attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import asyncpg
import psutil
import pytest

from tests.conftest import free_port, service_missing
from tests.faults.services import SCRIPTED, Gateway, Load, OwnPostgres, pg_bin, print_table
from tests.fleet import RedisServer

OUTAGE_S = float(os.environ.get("OMNISENSE_FAULT_OUTAGE_S", "20"))
JOB_ITEMS = 30  # at 0.3 s each: the job is under way when PostgreSQL stops, and ends after it is back
SLOW = f"""
version: 1
providers:
  primary: {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002, latency_ms: 5}}
  slow:    {{kind: "{SCRIPTED}", label: slow, price_usd: 0.002, latency_ms: 300}}
defaults: {{timeout_s: 2.0, deadline_s: 5.0}}
routes:
  "*": {{candidates: [primary]}}
  text.language: {{candidates: [slow]}}
"""
ROWS: list[tuple[str, int, int, int, int, int]] = []


@pytest.fixture(scope="module")
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    if pg_bin("initdb") is None:
        service_missing("no initdb: scripts/setup.sh installs PostgreSQL")
    pg = OwnPostgres(tmp_path_factory.mktemp("pg"))
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            pg.stop()


def pg_config(pg: OwnPostgres, tmp_path: Path, table: str) -> str:
    log = f"logs: {{sink: postgres, dsn: '{pg.dsn}', table: {table}, spool: {{dir: '{tmp_path / 'spool'}'}}}}\n"
    return log + f"jobs: {{table: jobs_{table}, lease_s: {OUTAGE_S / 4:g}}}\n"


async def pg_counts(pg: OwnPostgres, table: str) -> Counter[str]:
    conn = await asyncpg.connect(pg.dsn)
    try:
        return Counter({r[0]: r[1] for r in await conn.fetch(f"SELECT request_id, count(*) FROM {table} GROUP BY 1")})
    finally:
        await conn.close()


def sqlite_counts(path: Path) -> Counter[str]:
    with sqlite3.connect(path) as db:
        return Counter(dict(db.execute("SELECT request_id, count(*) FROM request_log GROUP BY 1").fetchall()))


async def drained(gw: Gateway, timeout_s: float = 60) -> dict[str, float]:
    """Wait until the spool is empty; the log's metrics then."""
    deadline = time.monotonic() + timeout_s
    while True:
        m = await gw.metrics()
        if m.get("omnisense_log_spooled", 0) == 0 and m.get("omnisense_log_queue_depth", 0) == 0:
            return m
        assert time.monotonic() < deadline, f"the spool did not drain: {m}"
        await asyncio.sleep(0.2)


def check(fault: str, answered: dict[str, int], counts: Counter[str], spooled: int, replayed: int) -> None:
    lost = [rid for rid in answered if counts[rid] == 0]
    twice = [rid for rid, n in counts.items() if n > 1]
    ROWS.append((fault, len(answered), sum(counts[r] for r in answered), spooled, replayed, len(lost)))
    print()
    print_table(ROWS)
    assert not twice, f"{len(twice)} records written twice, e.g. {twice[:5]}"
    assert not lost, f"{len(lost)} answered requests without a record, e.g. {lost[:5]}"


async def test_postgres_stopped_and_restarted(own_pg: OwnPostgres, tmp_path: Path) -> None:
    gw = Gateway(tmp_path, pg_config(own_pg, tmp_path, "log_outage"), SLOW)
    await gw.start()
    try:
        load = Load(gw.url)
        load.start()
        inputs = [{"text": f"job item {i}"} for i in range(JOB_ITEMS)]
        status, _, batch = await gw.submit_job({"task": "text.language", "inputs": inputs})
        assert status == 202
        await asyncio.sleep(2)
        await asyncio.to_thread(own_pg.stop)
        await asyncio.sleep(OUTAGE_S / 2)
        ready = await gw.readyz()
        assert ready["status"] == "ready" and ready["log"]["status"] == "degraded", ready  # type: ignore[index]
        status, headers, _ = await gw.submit_job()
        assert status == 503 and headers.get("Retry-After") == "5", "a job is refused, not lost, while PG is down"
        await asyncio.sleep(OUTAGE_S / 2)
        await asyncio.to_thread(own_pg.start)
        back = time.time()
        await asyncio.sleep(3)
        status, _, job_id = await gw.submit_job()
        assert status == 202, "jobs are taken again once PG is back"
        assert await gw.job_status(job_id) == "succeeded"
        job = await gw.job(batch, timeout_s=JOB_ITEMS)
        await load.finish()
        m = await drained(gw)
        assert (await gw.readyz())["log"]["status"] == "ok"  # type: ignore[index]
    finally:
        gw.stop()
    assert job["status"] == "succeeded" and job["attempts"] == 1, job
    assert cast(float, job["finished"]) > back, "the batch ran through the outage"
    results = cast(list[dict[str, object]], job["results"])
    assert sorted(cast(int, r["index"]) for r in results) == list(range(JOB_ITEMS)), "each item once"
    spooled, replayed = int(m["omnisense_log_spool_writes_total"]), int(m["omnisense_log_replayed_total"])
    assert replayed > 0, "the outage spooled nothing: no load to speak of"
    answered = {**load.answered, **{f"{batch}.{i}": 200 for i in range(JOB_ITEMS)}}  # one record per job item
    check(f"PostgreSQL down {OUTAGE_S:g} s", answered, await pg_counts(own_pg, "log_outage"), spooled, replayed)


async def test_sigkill_with_a_full_spool_replays_at_the_next_start(own_pg: OwnPostgres, tmp_path: Path) -> None:
    gw = Gateway(tmp_path, pg_config(own_pg, tmp_path, "log_sigkill"))
    await gw.start()
    await asyncio.to_thread(own_pg.stop)
    try:
        load = Load(gw.url, tag="k")
        load.start()
        await asyncio.sleep(3)
        await load.finish()
        await asyncio.sleep(0.5)  # the queue is in the spool now (linger 50 ms, one fsync'd batch)
        spooled = int((await gw.metrics())["omnisense_log_spooled"])
        gw.kill()  # SIGKILL: no shutdown, no drain
        await asyncio.to_thread(own_pg.start)
        await gw.start()
        m = await drained(gw)
    finally:
        gw.stop()
    replayed = int(m.get("omnisense_log_replayed_total", 0))
    assert spooled > 0 and replayed == spooled, (spooled, replayed)
    check("gateway SIGKILL (spool on disk)", load.answered, await pg_counts(own_pg, "log_sigkill"), spooled, replayed)


async def test_sqlite_disk_full(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not await asyncio.to_thread(mount_tmpfs, disk):
        pytest.skip("filling a disk needs root to mount a small tmpfs")
    try:
        config = f"logs: {{sink: sqlite, path: '{disk / 'requests.db'}', spool: {{dir: '{tmp_path / 'spool'}'}}}}\n"
        gw = Gateway(tmp_path, config)
        await gw.start()
        try:
            load = Load(gw.url, tag="d")
            load.start()
            await asyncio.sleep(1)
            filler = disk / "filler"
            await asyncio.to_thread(fill, filler)
            await asyncio.sleep(3)
            ready = await gw.readyz()
            assert ready["log"]["status"] == "degraded", ready  # type: ignore[index]
            filler.unlink()
            await asyncio.sleep(2)
            await load.finish()
            m = await drained(gw)
        finally:
            gw.stop()
        counts = sqlite_counts(disk / "requests.db")
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(disk)], check=False)
    spooled, replayed = int(m["omnisense_log_spool_writes_total"]), int(m["omnisense_log_replayed_total"])
    assert replayed > 0, "the full disk spooled nothing"
    check("SQLite disk full (tmpfs)", load.answered, counts, spooled, replayed)


def mount_tmpfs(disk: Path) -> bool:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=False).returncode == 0


def fill(path: Path) -> None:
    """Write zeros until the disk says no.

    Unbuffered on purpose: a buffered file keeps the bytes the disk refused and
    raises ENOSPC a second time when it is closed.
    """
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as f:
        try:
            while f.write(chunk):
                pass
        except OSError:
            pass


async def test_redis_stopped_and_restarted(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        service_missing("no redis-server: scripts/setup.sh installs Redis")
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        config = f"state: {{redis: '{redis.url}'}}\nlogs: {{sink: sqlite, path: '{tmp_path / 'requests.db'}'}}\n"
        gw = Gateway(tmp_path, config)
        await gw.start()
        try:
            load = Load(gw.url, tag="r")
            load.start()
            await asyncio.sleep(1.5)
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(redis.start)
            await asyncio.sleep(2)
            await load.finish()
            await drained(gw)
        finally:
            gw.stop()
    finally:
        redis.stop()
    assert all(status == 200 for status in load.answered.values()), "Redis down: served on local state"
    check("Redis down 3 s", load.answered, sqlite_counts(tmp_path / "requests.db"), 0, 0)


async def test_model_server_killed(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(Path(__file__).parent / "fake_model_server.py"), str(port), "--workers", "1"]
    policy = f"""
version: 1
providers:
  local: {{kind: local, port: {port}, serve_command: {command!r}, start_timeout_s: 20, timeout_s: 2}}
  good:  {{kind: "{SCRIPTED}", label: good}}
defaults: {{timeout_s: 2, deadline_s: 6, retries: {{attempts: 2, backoff_s: 0.05}}}}
routes:
  "*": {{candidates: [local, good]}}
"""
    gw = Gateway(tmp_path, f"logs: {{sink: sqlite, path: '{tmp_path / 'requests.db'}'}}\n", policy)
    await gw.start()
    try:
        load = Load(gw.url, tag="m")
        load.start()
        await asyncio.sleep(1.5)
        assert gw.proc is not None
        fakes = [
            p
            for p in psutil.Process(gw.proc.pid).children(recursive=True)
            if "fake_model_server" in " ".join(p.cmdline())
        ]
        assert fakes, "the model server is not running"
        for proc in fakes:  # root and worker: the supervisor restarts it
            proc.kill()
        await asyncio.sleep(3)
        await load.finish()
        await drained(gw)
    finally:
        gw.stop()
    assert all(status == 200 for status in load.answered.values()), "the fallback answered meanwhile"
    check("model server killed", load.answered, sqlite_counts(tmp_path / "requests.db"), 0, 0)
