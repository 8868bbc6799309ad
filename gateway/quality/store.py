"""The quality table's rows and where they are kept.

Samples are kept aggregated: one row per hour (``BUCKET_S``) x task x language x provider x
source, holding how many samples were scored (``samples``) and the sum of their scores
(``total``). A batch adds to the rows (an upsert), so every replica writing to one store
adds to the same rows, and a read sums the rows of a window: per task x language x
provider x source, the samples and their mean score, and the hours they came from.

A window counts whole hours: a row is read when any part of its hour is in the window.

Backends: ``gateway.quality.sqlite`` and ``gateway.quality.postgres`` (the log store's
file or database), and ``MemoryQualityStore`` below for a gateway whose request log is a
JSON-lines file or nothing (the table then lives in that process alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import msgspec

from gateway.quality.samples import QualitySample
from policies.quality import QualityTotal

BUCKET_S = 3600.0
COLUMNS = ("bucket", "task", "language", "provider", "source", "samples", "total")
KEY = "task, language, provider, source"


class Bucket(NamedTuple):
    """What a batch adds to one row."""

    bucket: float  # the hour's start, unix seconds
    task: str
    language: str
    provider: str
    source: str
    samples: int
    total: float


class QualityQuery(msgspec.Struct, frozen=True, kw_only=True):
    since: float
    until: float
    task: str | None = None
    language: str | None = None
    provider: str | None = None
    source: str | None = None


class QualityWindow(msgspec.Struct, frozen=True, kw_only=True):
    since: float  # the start of the first hour with a sample (unix seconds)
    until: float  # the end of the last one (or the query's end, if sooner)


class QualityRow(msgspec.Struct, frozen=True, kw_only=True):
    task: str
    language: str
    provider: str
    source: str
    samples: int
    score: float  # mean score in [0, 1] (1: right every time)
    window: QualityWindow

    def total(self) -> QualityTotal:
        total = self.score * self.samples
        return QualityTotal(self.task, self.language, self.provider, self.source, self.samples, total)


@runtime_checkable
class QualityStore(Protocol):
    async def start(self) -> None: ...

    async def add(self, buckets: Sequence[Bucket]) -> None: ...

    async def read(self, query: QualityQuery) -> list[QualityRow]: ...

    async def close(self) -> None: ...


def bucket_of(at: float) -> float:
    return at - at % BUCKET_S


def aggregate(samples: Iterable[tuple[float, QualitySample]]) -> list[Bucket]:
    """(time, sample) pairs as one ``Bucket`` per hour and key."""
    sums: dict[tuple[float, str, str, str, str], list[float]] = {}
    for at, s in samples:
        cell = sums.setdefault((bucket_of(at), s.task, s.language, s.provider, s.source), [0.0, 0.0])
        cell[0] += 1
        cell[1] += s.score
    return [Bucket(*key, int(n), total) for key, (n, total) in sums.items()]


def where(query: QualityQuery, placeholder: Callable[[int], str]) -> tuple[str, list[Any]]:
    """The WHERE clause of a read (``placeholder(n)``: ``?`` or ``$n``) and its arguments."""
    args: list[Any] = [query.since - BUCKET_S, query.until]
    parts = [f"bucket > {placeholder(1)}", f"bucket < {placeholder(2)}"]
    for name in ("task", "language", "provider", "source"):
        value = getattr(query, name)
        if value is not None:
            args.append(value)
            parts.append(f"{name} = {placeholder(len(args))}")
    return " WHERE " + " AND ".join(parts), args


def select(table: str, query: QualityQuery, placeholder: Callable[[int], str]) -> tuple[str, list[Any]]:
    clause, args = where(query, placeholder)
    sql = (
        f"SELECT {KEY}, SUM(samples), SUM(total), MIN(bucket), MAX(bucket) FROM {table}{clause} "
        f"GROUP BY {KEY} ORDER BY {KEY}"
    )
    return sql, args


def row_of(values: Sequence[Any], until: float) -> QualityRow:
    task, language, provider, source, samples, total, first, last = values
    n = int(samples)
    window = QualityWindow(since=float(first), until=min(until, float(last) + BUCKET_S))
    score = float(total) / n if n else 0.0
    return QualityRow(task=task, language=language, provider=provider, source=source, samples=n, score=score,
                      window=window)  # fmt: skip


class MemoryQualityStore:
    """The table in this process's memory (``logs.sink`` jsonl or none, or a sink handed in)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.rows: dict[tuple[float, str, str, str, str], list[float]] = {}
        self.clock = clock

    async def start(self) -> None:
        return None

    async def add(self, buckets: Sequence[Bucket]) -> None:
        for b in buckets:
            cell = self.rows.setdefault((b.bucket, b.task, b.language, b.provider, b.source), [0.0, 0.0])
            cell[0] += b.samples
            cell[1] += b.total

    async def read(self, query: QualityQuery) -> list[QualityRow]:
        sums: dict[tuple[str, str, str, str], list[float]] = {}
        for (bucket, *key), (n, total) in self.rows.items():
            if not query.since - BUCKET_S < bucket < query.until:
                continue
            if any(want is not None and want != have for want, have in zip(_filters(query), key, strict=True)):
                continue
            cell = sums.setdefault((key[0], key[1], key[2], key[3]), [0.0, 0.0, bucket, bucket])
            cell[0] += n
            cell[1] += total
            cell[2], cell[3] = min(cell[2], bucket), max(cell[3], bucket)
        return [row_of((*key, *cell), query.until) for key, cell in sorted(sums.items())]

    async def close(self) -> None:
        return None


def _filters(query: QualityQuery) -> tuple[str | None, ...]:
    return query.task, query.language, query.provider, query.source
