"""Reading the request log back: filters, pages, and per provider/task statistics.

``LogQuery`` is what ``GET /v1/logs`` and ``omnisense logs`` ask; a ``LogStore`` (the
SQLite and PostgreSQL sinks, and — by scanning — the JSON-lines and memory sinks)
answers it. Pages are newest first and keyed by ``(time, request_id)``: the cursor
of a page is the last record's key, so new records arriving between two calls never
shift the next page.

``stats`` summarizes a window per provider and task: requests, error rate, p50/p95
latency, total cost, and the output profile (label mix, mean confidence, item counts)
with its drift against the reference window just before it (``gateway.logs.drift``).
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import msgspec

from gateway.logs.comparisons import ComparisonRow, aggregate
from gateway.logs.drift import OutputProfile, Sample, drift_of
from gateway.logs.percentile import percentile as percentile  # re-exported: gateway.evaluation reads it here
from gateway.logs.record import RequestLog

MAX_LIMIT = 1_000


class LogQuery(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    task: str | None = None
    provider: str | None = None
    status: str | None = None  # "ok" | "error" | an HTTP status ("502")
    key_id: str | None = None
    request_id: str | None = None
    since: float | None = None  # unix seconds, inclusive
    until: float | None = None  # unix seconds, exclusive
    limit: int = 100
    cursor: str | None = None  # from the previous page's ``next_cursor``
    shadowed: bool | None = None  # True: only records of requests that ran shadows
    region: str | None = None  # only records processed in this region ("eu-west-1", "global")

    def page_size(self) -> int:
        return max(1, min(self.limit, MAX_LIMIT))

    def after(self) -> tuple[float, str] | None:
        """The (time, request_id) the page starts below, decoded from ``cursor``."""
        if not self.cursor:
            return None
        try:
            raw = base64.urlsafe_b64decode(self.cursor.encode() + b"=" * (-len(self.cursor) % 4)).decode()
            when, _, rid = raw.partition("|")
            return float(when), rid
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a cursor from this API: {self.cursor!r}") from exc

    def http_status(self) -> int | None:
        return int(self.status) if self.status and self.status.isascii() and self.status.isdigit() else None


def make_cursor(record: RequestLog) -> str:
    return base64.urlsafe_b64encode(f"{record.time!r}|{record.request_id}".encode()).decode().rstrip("=")


class LogPage(msgspec.Struct, kw_only=True):
    records: list[RequestLog]
    next_cursor: str | None = None


class StatRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    provider: str  # "-" when no provider served (bad input, unauthorized, no provider)
    task: str
    requests: int
    errors: int
    error_rate: float
    p50_ms: float
    p95_ms: float
    cost_usd: float
    output: OutputProfile | None = None
    drift_psi: float | None = None  # against the reference window; None: too few samples
    # What redaction removed in the window, per type, summed (``redact:``; "out:TYPE" from answers).
    redacted: dict[str, int] = msgspec.field(default_factory=dict)


class Stats(msgspec.Struct, kw_only=True):
    since: float
    until: float
    reference_since: float
    rows: list[StatRow]
    # Shadow agreement per (task, served, shadow); filled by ``with_comparisons``.
    comparisons: list[ComparisonRow] = msgspec.field(default_factory=list)


@runtime_checkable
class LogStore(Protocol):
    async def query(self, filters: LogQuery) -> LogPage: ...

    async def stats(self, window_s: float, *, now: float | None = None) -> Stats: ...


def page_of(records: list[RequestLog], filters: LogQuery) -> LogPage:
    """Cut a newest-first list fetched with one extra row into a page and its cursor."""
    size = filters.page_size()
    if len(records) > size:
        records = records[:size]
        return LogPage(records=records, next_cursor=make_cursor(records[-1]))
    return LogPage(records=records)


def matches(record: RequestLog, filters: LogQuery, after: tuple[float, str] | None = None) -> bool:
    code = filters.http_status()
    checks = (
        filters.task is None or record.task == filters.task,
        filters.provider is None or record.provider == filters.provider,
        filters.status is None or (record.http_status == code if code else record.status == filters.status),
        filters.key_id is None or record.key_id == filters.key_id,
        filters.request_id is None or record.request_id == filters.request_id,
        filters.since is None or record.time >= filters.since,
        filters.until is None or record.time < filters.until,
        filters.shadowed is None or bool(record.shadow) == filters.shadowed,
        filters.region is None or record.region == filters.region,
    )
    return all(checks) and (after is None or (record.time, record.request_id) < after)


def scan(records: Iterable[RequestLog], filters: LogQuery) -> LogPage:
    """Answer a query by scanning: the memory and JSON-lines sinks."""
    after = filters.after()
    hits = [r for r in records if matches(r, filters, after)]
    hits.sort(key=lambda r: (r.time, r.request_id), reverse=True)
    return page_of(hits[: filters.page_size() + 1], filters)


class Row(msgspec.Struct, array_like=True):
    """What ``stats`` needs of one record, as a store's rows give it."""

    time: float
    task: str
    provider: str | None
    status: str
    latency_ms: float
    cost_usd: float
    top: str | None = None
    confidence: float | None = None
    items: int | None = None
    # The record's ``redaction`` counts: a dict, or its JSON text as a SQL store reads it out of the record.
    redacted: dict[str, Any] | str | None = None

    @classmethod
    def of(cls, r: RequestLog) -> Row:
        out, red = r.output, r.redaction
        return cls(
            r.time, r.task, r.provider, r.status, r.latency_ms, r.cost_usd,
            out.top if out else None, out.confidence if out else None, out.items if out else None,
            {"input": red.input, "output": red.output} if red else None,
        )  # fmt: skip

    def redaction_counts(self) -> dict[str, int]:
        """Counts per type removed from this request (input and output together; "out:" marks the output)."""
        data = msgspec.json.decode(self.redacted) if isinstance(self.redacted, str) else self.redacted
        if not isinstance(data, dict):
            return {}
        counts: dict[str, int] = {}
        for side, prefix in (("input", ""), ("output", "out:")):
            for kind, n in (data.get(side) or {}).items():
                counts[prefix + kind] = counts.get(prefix + kind, 0) + int(n)
        return counts


def window_bounds(window_s: float, now: float | None) -> tuple[float, float, float]:
    """(reference start, window start, window end): the reference is the window before."""
    end = time.time() if now is None else now
    return end - 2 * window_s, end - window_s, end


def compute_stats(rows: Iterable[Row], window_s: float, now: float | None = None) -> Stats:
    """Stats over ``rows`` (which may include the reference window before the current one)."""
    ref_start, start, end = window_bounds(window_s, now)
    current: dict[tuple[str, str], list[Row]] = {}
    reference: dict[tuple[str, str], list[Sample]] = {}
    for row in rows:
        key = (row.provider or "-", row.task)
        if start <= row.time < end:
            current.setdefault(key, []).append(row)
        elif ref_start <= row.time < start and row.status == "ok":
            reference.setdefault(key, []).append(Sample(row.top, row.confidence, row.items))
    out = [_stat_row(key, group, reference.get(key, [])) for key, group in sorted(current.items())]
    return Stats(since=start, until=end, reference_since=ref_start, rows=out)


def _stat_row(key: tuple[str, str], group: list[Row], reference: list[Sample]) -> StatRow:
    latencies = sorted(r.latency_ms for r in group)
    errors = sum(1 for r in group if r.status != "ok")
    samples = [Sample(r.top, r.confidence, r.items) for r in group if r.status == "ok"]
    profile = OutputProfile.of(samples) if samples else None
    return StatRow(
        provider=key[0],
        task=key[1],
        requests=len(group),
        errors=errors,
        error_rate=round(errors / len(group), 4),
        p50_ms=round(percentile(latencies, 0.50), 3),
        p95_ms=round(percentile(latencies, 0.95), 3),
        cost_usd=round(sum(r.cost_usd for r in group), 8),
        output=profile,
        drift_psi=drift_of(reference, samples),
        redacted=_sum_redacted(group),
    )


def _sum_redacted(group: list[Row]) -> dict[str, int]:
    total: dict[str, int] = {}
    for row in group:
        if row.redacted is None:
            continue
        for kind, n in row.redaction_counts().items():
            total[kind] = total.get(kind, 0) + n
    return dict(sorted(total.items()))


# -- what the SQL stores share ------------------------------------------------------------------------------------

COLUMNS = (
    "request_id", "time", "task", "provider", "status", "http_status", "key_id", "latency_ms", "overhead_ms",
    "cost_usd", "error_type", "out_top", "out_confidence", "out_items", "record", "region",
)  # fmt: skip
STAT_COLUMNS = "time, task, provider, status, latency_ms, cost_usd, out_top, out_confidence, out_items"
# The redaction counts ride in the record's JSON: no column of their own (no migration).
STAT_REDACTED_SQLITE = "json_extract(record, '$.redaction')"
STAT_REDACTED_POSTGRES = "(record -> 'redaction')::text"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RequestLog)


def to_columns(r: RequestLog) -> tuple[object, ...]:
    """One record as the values of ``COLUMNS``; the whole record rides along as JSON."""
    out = r.output
    return (
        r.request_id, r.time, r.task, r.provider, r.status, r.http_status, r.key_id, r.latency_ms, r.overhead_ms,
        r.cost_usd, r.error_type, out.top if out else None, out.confidence if out else None,
        out.items if out else None, _encoder.encode(r).decode(), r.region,
    )  # fmt: skip


def from_json(data: str | bytes) -> RequestLog:
    return _decoder.decode(data)


# The JSON record holds "shadow" only when the request ran shadows (omit_defaults); inside
# the record's JSON text a key is always preceded by a comma, never by a backslash.
SHADOWED_SQLITE = """record LIKE '%,"shadow":[%'"""
SHADOWED_POSTGRES = "(record -> 'shadow') IS NOT NULL"


def where_clause(
    filters: LogQuery, mark: Callable[[int], str], shadowed_sql: str = SHADOWED_SQLITE
) -> tuple[str, list[object]]:
    """The WHERE part for ``filters``; ``mark(n)`` renders the n-th placeholder (1-based)."""
    parts: list[str] = []
    args: list[object] = []

    def add(sql: str, *values: object) -> None:
        marks = [mark(len(args) + i + 1) for i in range(len(values))]
        parts.append(sql.format(*marks))
        args.extend(values)

    for column, value in (
        ("task", filters.task),
        ("provider", filters.provider),
        ("key_id", filters.key_id),
        ("request_id", filters.request_id),
        ("region", filters.region),
    ):
        if value is not None:
            add(f"{column} = {{0}}", value)
    code = filters.http_status()
    if code is not None:
        add("http_status = {0}", code)
    elif filters.status is not None:
        add("status = {0}", filters.status)
    if filters.since is not None:
        add("time >= {0}", filters.since)
    if filters.until is not None:
        add("time < {0}", filters.until)
    if filters.shadowed is not None:
        parts.append(shadowed_sql if filters.shadowed else f"NOT ({shadowed_sql})")
    after = filters.after()
    if after is not None:
        add("(time, request_id) < ({0}, {1})", *after)
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


async def read_comparisons(
    store: LogStore, since: float, until: float, task: str | None = None, max_records: int = 100_000
) -> list[ComparisonRow]:
    """Shadow agreement per (task, served, shadow) in [since, until), from the records that ran shadows."""
    records: list[RequestLog] = []
    filters = LogQuery(task=task, since=since, until=until, shadowed=True, limit=MAX_LIMIT)
    while len(records) < max_records:
        page = await store.query(filters)
        records.extend(page.records)
        if page.next_cursor is None:
            break
        filters = msgspec.structs.replace(filters, cursor=page.next_cursor)
    return aggregate(records, task)


async def with_comparisons(store: LogStore, stats: Stats, task: str | None = None) -> Stats:
    """``stats`` with its window's shadow agreement rows."""
    stats.comparisons = await read_comparisons(store, stats.since, stats.until, task)
    return stats


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_limit(value: str | None, default: int = 100) -> int:
    """A page size from a query parameter: absent is ``default``; anything but a whole number
    from 1 to ``MAX_LIMIT`` in ASCII digits (an empty value included) is a ValueError."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT):
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {value!r}")
    return int(value)


def parse_duration(value: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d``, ``1w`` -> seconds."""
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1.0)
    except ValueError:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 15m, 1h, 7d)") from None
    if seconds <= 0 or not math.isfinite(seconds):
        raise ValueError(f"not a positive duration: {value!r}")
    return seconds


def parse_time(value: str, *, now: float | None = None) -> float:
    """Unix seconds, ISO 8601 (``2026-11-26T10:00:00Z``), or a duration ago (``15m``)."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):  # nan, inf: no time at all
            raise ValueError(f"not a time: {value!r} (unix seconds, ISO 8601, or a duration ago like 15m)")
        return seconds
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        pass
    try:
        return (time.time() if now is None else now) - parse_duration(text)
    except ValueError:
        raise ValueError(f"not a time: {value!r} (unix seconds, ISO 8601, or a duration ago like 15m)") from None
