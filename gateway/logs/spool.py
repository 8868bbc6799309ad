"""The request log's disk buffer: records the sink could not take, kept in order until it can.

One embedded SQLite file per process (``<logs.spool.dir>/requests.<pid>.spool.db``: the
workers of ``serve --workers N`` never share one), on its own thread
(``gateway.storage.SqliteFile``), with ``synchronous=FULL``: each appended batch is one
transaction and one fsync, so a record in the spool survives a crash of the gateway or of the
machine. Rows are numbered (``seq``) in the order they came; the writer replays the oldest first
and deletes them once the sink has them. The sinks' inserts are idempotent by
``(time, request_id)``, so a batch replayed twice (the sink took it, then the answer was lost) is
still one row each.

At start a process adopts the spool files of processes that are gone (a restart, a SIGKILL):
their records join its own spool, in order, and are replayed. A file exists only while it
holds records: it is created by the first failed batch and removed when a replay empties it,
so a healthy gateway never touches the disk here. ``max_bytes`` bounds the encoded records it
holds; a record that does not fit is dropped by the writer, counted and logged.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import msgspec

from gateway.logs.record import RequestLog
from gateway.storage.sqlite import SqliteFile

_SCHEMA = "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RequestLog)


class Spooled(NamedTuple):
    seq: int
    size: int
    record: RequestLog


def _prepare(conn: sqlite3.Connection) -> tuple[int, int]:
    conn.execute("PRAGMA synchronous=FULL")  # a batch in the spool is on the disk
    conn.execute(_SCHEMA)
    count, size = conn.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM spool").fetchone()
    return int(count), int(size)


def _append(conn: sqlite3.Connection, bodies: list[bytes]) -> None:
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO spool (body) VALUES (?)", [(b,) for b in bodies])


def _oldest(conn: sqlite3.Connection, n: int) -> list[tuple[int, bytes]]:
    return [(int(s), bytes(b)) for s, b in conn.execute("SELECT seq, body FROM spool ORDER BY seq LIMIT ?", (n,))]


def _remove(conn: sqlite3.Connection, upto: int) -> None:
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM spool WHERE seq <= ?", (upto,))


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphans(directory: Path, own: Path) -> list[Path]:
    """Spool files left by processes that are gone, oldest first."""
    found = []
    for path in directory.glob("requests.*.spool.db"):
        pid = path.name.split(".")[1]
        if path != own and (not pid.isdigit() or not _pid_alive(int(pid))):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime)


def _read_all(path: Path) -> list[bytes]:
    conn = sqlite3.connect(str(path))
    try:
        return [bytes(b) for (b,) in conn.execute("SELECT body FROM spool ORDER BY seq")]
    finally:
        conn.close()


class Spool:
    def __init__(self, directory: str | Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"requests.{os.getpid()}.spool.db"
        self.max_bytes = max_bytes
        self.records = 0  # held now
        self.bytes = 0  # of encoded records held now
        self._file: SqliteFile | None = None
        self.lock = asyncio.Lock()  # appends, removals and the final clean-up take turns

    async def _opened(self) -> SqliteFile:
        if self._file is None:
            file = SqliteFile(self.path)
            try:
                self.records, self.bytes = await file.run(_prepare)
            except BaseException:
                await file.aclose()
                raise
            self._file = file
        return self._file

    async def recover(self) -> int:
        """Adopt the spools earlier runs left behind (records to replay); returns how many this one holds."""
        if not await asyncio.to_thread(self.directory.is_dir):
            return 0
        for orphan in await asyncio.to_thread(_orphans, self.directory, self.path):
            try:
                bodies = await asyncio.to_thread(_read_all, orphan)
            except sqlite3.Error:
                continue  # not a spool, or one being written: leave it
            if bodies:
                async with self.lock:
                    file = await self._opened()
                    await file.run(functools.partial(_append, bodies=bodies))
                    self.records += len(bodies)
                    self.bytes += sum(map(len, bodies))
            await asyncio.to_thread(_unlink, orphan)
        if await asyncio.to_thread(self.path.exists):
            await self._opened()
        return self.records

    async def append(self, records: Sequence[RequestLog]) -> int:
        """Store as many of ``records`` as fit, in order; returns how many (the rest are the caller's to drop)."""
        bodies: list[bytes] = []
        size = self.bytes
        for rec in records:
            body = _encoder.encode(rec)
            if size + len(body) > self.max_bytes:
                break
            bodies.append(body)
            size += len(body)
        if not bodies:
            return 0
        async with self.lock:
            file = await self._opened()
            await file.run(lambda conn: _append(conn, bodies))
            self.records += len(bodies)
            self.bytes += sum(map(len, bodies))
        return len(bodies)

    async def oldest(self, n: int) -> list[Spooled]:
        """Up to ``n`` records, oldest first, each with its ``seq`` and size (for ``remove``)."""
        if not self.records:
            return []
        file = await self._opened()
        rows = await file.run(lambda conn: _oldest(conn, n))
        return [Spooled(seq, len(body), _decoder.decode(body)) for seq, body in rows]

    async def remove(self, batch: Sequence[Spooled]) -> None:
        """The sink has ``batch`` (from ``oldest``): forget it; the file goes when it is empty."""
        if not batch:
            return
        async with self.lock:
            file = await self._opened()
            upto = batch[-1].seq
            await file.run(lambda conn: _remove(conn, upto))
            if self.records <= len(batch):  # empty: the file goes before the counters say so
                await self._discard()
                self.records = self.bytes = 0
            else:
                self.records -= len(batch)
                self.bytes -= sum(s.size for s in batch)

    async def _discard(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            await file.aclose()
        await asyncio.to_thread(_unlink, self.path)

    async def aclose(self) -> None:
        async with self.lock:
            file, self._file = self._file, None
            if file is not None:
                await file.aclose()
