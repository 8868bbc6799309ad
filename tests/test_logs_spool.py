"""The request log's disk spool: a failing sink costs no record, replay is in order and idempotent,
the spool survives a restart, and only a full spool drops (counted)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gateway.logs import LogWriter, MemorySink, RequestLog
from gateway.logs.sinks import JsonlSink
from gateway.logs.spool import Spool
from gateway.logs.sqlite import SqliteSink


def spool_files(directory: Path) -> list[Path]:
    return list(directory.glob("requests.*.spool.db"))


def rec(i: int) -> RequestLog:
    return RequestLog(request_id=f"r{i}", time=1_700_000_000.0 + i, task="text.sentiment", status="ok",
                      http_status=200, latency_ms=1.0)  # fmt: skip


class FlakySink(MemorySink):
    """Fails while ``down`` is set; counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.calls = 0

    async def write(self, records: Sequence[RequestLog]) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("database is down")
        await super().write(records)


async def wait_for(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_a_failing_sink_spools_and_replays_in_order(tmp_path: Path) -> None:
    async def main() -> None:
        sink = FlakySink()
        writer = LogWriter(sink, batch_size=10, linger_s=0.0, spool=Spool(tmp_path, 1 << 20))
        writer.start()
        for i in range(50):
            writer.submit(rec(i))
        await writer.flush()
        assert writer.spool_records == 50 and writer.spool_bytes > 0 and writer.degraded
        assert spool_files(tmp_path)
        sink.down = False
        for i in range(50, 60):  # new records queue behind the spooled ones
            writer.submit(rec(i))
        await writer.flush()
        await wait_for(lambda: writer.spool_records == 0)
        assert [r.request_id for r in sink.records] == [f"r{i}" for i in range(60)]
        assert writer.replayed == 60 and writer.spooled == 60 and writer.dropped == writer.failed == 0
        assert not writer.degraded and not spool_files(tmp_path)
        await writer.aclose()

    asyncio.run(main())


def test_the_spool_survives_a_restart(tmp_path: Path) -> None:
    async def first_run() -> None:
        writer = LogWriter(FlakySink(), linger_s=0.0, spool=Spool(tmp_path, 1 << 20))
        writer.start()
        for i in range(30):
            writer.submit(rec(i))
        await writer.aclose()  # the sink never came back: the records stay on disk

    async def second_run() -> list[str]:
        sink = FlakySink()
        sink.down = False
        writer = LogWriter(sink, linger_s=0.0, spool=Spool(tmp_path, 1 << 20))
        writer.start()
        assert await writer.recover() == 30
        await wait_for(lambda: writer.spool_records == 0)
        await writer.aclose()
        return [r.request_id for r in sink.records]

    asyncio.run(first_run())
    assert spool_files(tmp_path)
    assert asyncio.run(second_run()) == [f"r{i}" for i in range(30)]


def test_a_full_spool_drops_and_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> LogWriter:
        writer = LogWriter(FlakySink(), batch_size=10, linger_s=0.0, spool=Spool(tmp_path, 1_000))
        writer.start()
        for i in range(40):
            writer.submit(rec(i))
        await writer.flush()
        await writer.aclose()
        return writer

    writer = asyncio.run(main())
    assert writer.spooled > 0 and writer.dropped > 0 and writer.spooled + writer.dropped == 40
    assert writer.spool_bytes <= 1_000
    assert "the spool is full" in caplog.text


def test_the_sqlite_sink_writes_a_record_once(tmp_path: Path) -> None:
    async def main() -> None:
        sink = SqliteSink(tmp_path / "requests.db")
        batch = [rec(i) for i in range(5)]
        await sink.write(batch)
        await sink.write([*batch[2:], rec(5)])  # a replay overlapping what the sink already has
        await sink.close()

    asyncio.run(main())
    with sqlite3.connect(tmp_path / "requests.db") as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT request_id) FROM request_log").fetchone() == (6, 6)


def test_sqlite_migration_2_removes_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "requests.db"
    with sqlite3.connect(path) as conn:  # a version-1 database holding a duplicated record
        from gateway.logs.sqlite import MIGRATIONS
        from gateway.storage.migrations import migrate_sqlite

        migrate_sqlite(conn, "request_log", MIGRATIONS[:1])
        row = ("a", 1.0, "t", None, "ok", 200, None, 1.0, None, 0, None, None, None, None, "{}")
        conn.executemany(f"INSERT INTO request_log VALUES ({', '.join('?' * 15)})", [row, row])
    SqliteSink(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM request_log").fetchone() == (1,)


def test_an_unwritable_jsonl_file_spools_then_recovers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log's directory should be")  # unwritable even for root

    async def main() -> list[str]:
        sink = JsonlSink(blocker / "requests.jsonl")  # a warning, not a crash
        writer = LogWriter(sink, linger_s=0.0, spool=Spool(tmp_path / "spool", 1 << 20))
        writer.start()
        for i in range(10):
            writer.submit(rec(i))
        await writer.flush()
        assert writer.spool_records == 10 and writer.degraded
        blocker.unlink()
        await wait_for(lambda: writer.spool_records == 0)
        await writer.aclose()
        return [r.request_id for r in sink._read_sync()]

    assert asyncio.run(main()) == [f"r{i}" for i in range(10)]
    assert "cannot be opened" in caplog.text


def test_a_spool_left_by_a_process_that_is_gone_is_adopted(tmp_path: Path) -> None:
    async def first_run() -> None:
        writer = LogWriter(FlakySink(), linger_s=0.0, spool=Spool(tmp_path, 1 << 20))
        writer.start()
        for i in range(20):
            writer.submit(rec(i))
        await writer.aclose()

    asyncio.run(first_run())
    (left,) = spool_files(tmp_path)
    left.rename(tmp_path / "requests.999999999.spool.db")  # as if another process (now dead) wrote it

    async def second_run() -> list[str]:
        sink = FlakySink()
        sink.down = False
        writer = LogWriter(sink, linger_s=0.0, spool=Spool(tmp_path, 1 << 20))
        writer.start()
        assert await writer.recover() == 20
        await wait_for(lambda: writer.spool_records == 0)
        await writer.aclose()
        return [r.request_id for r in sink.records]

    assert asyncio.run(second_run()) == [f"r{i}" for i in range(20)]
    assert not spool_files(tmp_path)
