"""``omnisense logs`` and ``omnisense stats``: read the configured request log directly.

Both open the sink that the gateway's config names (``--config`` or
``OMNISENSE_CONFIG``; SQLite at var/requests.db by default) — no running gateway is
needed, and SQLite's WAL lets them read while the gateway writes. ``logs`` prints the
newest records as a table (oldest of them first) and ``--follow`` keeps polling for
new ones; ``stats`` prints per provider and task: requests, error rate, p50/p95
latency, cost, the output mix and its drift against the window before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import msgspec

from gateway.logs.drift import drift_level
from gateway.logs.query import LogQuery, LogStore, StatRow, Stats, parse_duration, parse_time, with_comparisons
from gateway.logs.record import RequestLog
from gateway.logs.registry import make_sink
from gateway.logs.settings import LogSettings
from gateway.terminal import print_table

LOG_COLUMNS = ("time", "request_id", "task", "provider", "code", "ms", "cost_usd", "key", "error")
STAT_COLUMNS = ("provider", "task", "requests", "err%", "p50_ms", "p95_ms", "cost_usd", "outputs", "drift")
STAT_NUMERIC = ("requests", "err%", "p50_ms", "p95_ms", "cost_usd")


SettingsLoader = Callable[[str | None], LogSettings]


def add_parsers(sub: Any, settings_from: SettingsLoader) -> None:
    """Register ``logs`` and ``stats`` on the ``omnisense`` command's subparsers.

    ``settings_from(config_path)`` reads the log settings from the gateway's config file."""
    logs = sub.add_parser("logs", help="show the request log (tail and filter)")
    logs.add_argument("--config", help="gateway config file (default: OMNISENSE_CONFIG)")
    logs.add_argument("--task")
    logs.add_argument("--provider")
    logs.add_argument("--region", help="where the request was processed (eu-west-1, westeurope, global)")
    logs.add_argument("--status", help="ok, error, or an HTTP status")
    logs.add_argument("--key", help="a key id")
    logs.add_argument("--request-id")
    logs.add_argument("--since", help="unix seconds, ISO 8601, or a duration ago (15m)")
    logs.add_argument("--until")
    logs.add_argument("-n", "--limit", type=int, default=20)
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    logs.add_argument("--interval", type=float, default=1.0, help="--follow polling interval, seconds")
    logs.add_argument("--json", action="store_true", help="one JSON record per line instead of a table")
    logs.set_defaults(func=logs_command, settings_from=settings_from)

    stats = sub.add_parser("stats", help="per provider and task: requests, errors, latency, cost, output drift")
    stats.add_argument("--config", help="gateway config file (default: OMNISENSE_CONFIG)")
    stats.add_argument("-w", "--window", default="1h", help="window (e.g. 15m, 1h, 7d); drift compares the one before")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=stats_command, settings_from=settings_from)


def open_store(args: argparse.Namespace) -> LogStore:
    settings: LogSettings = args.settings_from(args.config or os.environ.get("OMNISENSE_CONFIG"))
    sink = make_sink(settings)
    if not isinstance(sink, LogStore):
        raise ValueError(f"logs.sink is {settings.sink!r}: there is no request log to read")
    return sink


async def _close(store: LogStore) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        await close()


def logs_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        filters = LogQuery(
            task=args.task,
            provider=args.provider,
            region=args.region,
            status=args.status,
            key_id=args.key,
            request_id=args.request_id,
            since=parse_time(args.since) if args.since else None,
            until=parse_time(args.until) if args.until else None,
            limit=args.limit,
        )
        store = open_store(args)
    except ValueError as exc:
        print(f"omnisense logs: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # --follow ends with Ctrl-C
        asyncio.run(_logs(store, filters, args, out))
    return 0


async def _logs(store: LogStore, filters: LogQuery, args: argparse.Namespace, out: TextIO) -> None:
    try:
        page = await store.query(filters)
        records = list(reversed(page.records))
        emit(records, out, as_json=args.json, header=True)
        seen = {r.request_id for r in records}
        newest = max((r.time for r in records), default=filters.since or time.time() - 1)
        while args.follow:
            await asyncio.sleep(args.interval)
            new = await store.query(msgspec.structs.replace(filters, since=newest, limit=1000))
            fresh = [r for r in reversed(new.records) if r.request_id not in seen]
            emit(fresh, out, as_json=args.json, header=False)
            seen.update(r.request_id for r in fresh)
            newest = max((r.time for r in fresh), default=newest)
    finally:
        await _close(store)


def emit(records: Sequence[RequestLog], out: TextIO, *, as_json: bool, header: bool) -> None:
    if as_json:
        for r in records:
            out.write(msgspec.json.encode(r).decode() + "\n")
    else:
        rows = [log_row(r) for r in records]
        out.write(table(LOG_COLUMNS, rows, header=header))
    out.flush()


def log_row(r: RequestLog) -> list[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.time))
    return [
        stamp,
        r.request_id[:32],
        r.task,
        r.provider or "-",
        str(r.http_status),
        f"{r.latency_ms:.1f}",
        f"{r.cost_usd:.6f}",
        r.key_id or "-",
        r.error_type or "",
    ]


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
    widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))] if header else []
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "".join(line.rstrip() + "\n" for line in lines)


def stats_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        window = parse_duration(args.window)
        store = open_store(args)
    except ValueError as exc:
        print(f"omnisense stats: {exc}", file=sys.stderr)
        return 2

    async def run() -> Stats:
        try:
            return await with_comparisons(store, await store.stats(window))
        finally:
            await _close(store)

    stats = asyncio.run(run())
    if args.json:
        out.write(msgspec.json.encode(stats).decode() + "\n")
        return 0
    title = f"window: last {args.window} (drift: against the {args.window} before)"
    print_table(out, STAT_COLUMNS, [stat_row(r) for r in stats.rows], title=title, numeric=STAT_NUMERIC)
    if not stats.rows:
        out.write("(no requests in the window)\n")
    for c in stats.comparisons:  # details: omnisense compare --task T
        agree = "-" if c.agreement is None else f"{100 * c.agreement:.1f}%"
        metric = c.metric or "-"
        out.write(f"shadow {c.task}: {c.shadow} agrees with {c.served} on {agree} of {c.compared} ({metric})\n")
    return 0


def stat_row(r: StatRow) -> list[str]:
    drift = "-" if r.drift_psi is None else f"{r.drift_psi:.3f} {drift_level(r.drift_psi)}"
    return [
        r.provider,
        r.task,
        str(r.requests),
        f"{100 * r.error_rate:.1f}",
        f"{r.p50_ms:.1f}",
        f"{r.p95_ms:.1f}",
        f"{r.cost_usd:.6f}",
        r.output.describe() if r.output else "-",
        drift,
    ]
