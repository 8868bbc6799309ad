"""Where records go. A sink writes batches; the LogWriter calls it off the hot path.

A sink may also be a ``LogStore`` (``gateway.logs.query``): SQLite and PostgreSQL query
with SQL; the JSON-lines and memory sinks below answer by scanning, which is fine for
files of a few hundred thousand records. A sink with an ``async start()`` is started
by the runtime before the first write.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import anyio.to_thread
import msgspec

from gateway.logs.query import LogPage, LogQuery, Row, Stats, compute_stats, scan
from gateway.logs.record import RequestLog

log = logging.getLogger("omnisense.logs")


@runtime_checkable
class LogSink(Protocol):
    async def write(self, records: Sequence[RequestLog]) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class GentleWrite(Protocol):
    """A sink that can also write without competing with requests for the CPU (SQLite: on a
    lowest-priority thread); the LogWriter uses it while it keeps up, ``write`` when it is behind."""

    async def write_gently(self, records: Sequence[RequestLog]) -> None: ...


class JsonlSink:
    """One JSON object per line, appended; the file is opened once.

    A file that cannot be opened or written (permissions, a full disk) is a warning, not a crash:
    the write fails (the writer spools the batch) and the next one opens the file again."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self._encoder = msgspec.json.Encoder()
        try:
            self._opened()
        except OSError as exc:
            log.warning("request log %s cannot be opened (%s); records are spooled until it can", self.path, exc)

    def _opened(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        return self._file

    def _write_sync(self, records: Sequence[RequestLog]) -> None:
        buf = bytearray()
        for rec in records:
            self._encoder.encode_into(rec, buf, len(buf))
            buf += b"\n"
        file = self._opened()
        try:
            file.write(buf)
            file.flush()
        except OSError:
            self._file = None  # a partial line is skipped by readers; the next batch reopens
            with contextlib.suppress(OSError):
                file.close()
            raise

    async def write(self, records: Sequence[RequestLog]) -> None:
        await anyio.to_thread.run_sync(self._write_sync, records)

    def _read_sync(self) -> list[RequestLog]:
        decoder = msgspec.json.Decoder(RequestLog)
        if not self.path.exists():
            return []
        records: list[RequestLog] = []
        with self.path.open("rb") as f:
            for line in f:
                try:
                    records.append(decoder.decode(line))
                except msgspec.DecodeError:  # a line being written right now, or a damaged one
                    continue
        return records

    async def query(self, filters: LogQuery) -> LogPage:
        return scan(await anyio.to_thread.run_sync(self._read_sync), filters)

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats:
        records = await anyio.to_thread.run_sync(self._read_sync)
        return compute_stats((Row.of(r) for r in records), window_s, now)

    async def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()


class MemorySink:
    """Keeps records in a list: for tests and for `omnisense bench`."""

    def __init__(self) -> None:
        self.records: list[RequestLog] = []

    async def write(self, records: Sequence[RequestLog]) -> None:
        self.records.extend(records)

    async def query(self, filters: LogQuery) -> LogPage:
        return scan(self.records, filters)

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats:
        return compute_stats((Row.of(r) for r in self.records), window_s, now)

    async def close(self) -> None:
        return None


class NullSink:
    """``sink: none``: records are counted by the writer and the metrics, then discarded."""

    async def write(self, records: Sequence[RequestLog]) -> None:
        return None

    async def close(self) -> None:
        return None
