"""Where records go. A sink writes batches; the LogWriter calls it off the hot path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread
import msgspec

from gateway.logs.record import RequestLog


@runtime_checkable
class LogSink(Protocol):
    async def write(self, records: Sequence[RequestLog]) -> None: ...

    async def close(self) -> None: ...


class JsonlSink:
    """One JSON object per line, appended; the file is opened once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        self._encoder = msgspec.json.Encoder()

    def _write_sync(self, records: Sequence[RequestLog]) -> None:
        buf = bytearray()
        for rec in records:
            self._encoder.encode_into(rec, buf, len(buf))
            buf += b"\n"
        self._file.write(buf)
        self._file.flush()

    async def write(self, records: Sequence[RequestLog]) -> None:
        await anyio.to_thread.run_sync(self._write_sync, records)

    async def close(self) -> None:
        self._file.close()


class MemorySink:
    """Keeps records in a list: for tests and for `omnisense bench`."""

    def __init__(self) -> None:
        self.records: list[RequestLog] = []

    async def write(self, records: Sequence[RequestLog]) -> None:
        self.records.extend(records)

    async def close(self) -> None:
        return None
