"""``omnisense quality``: the quality table, per task x language x provider x source.

By default it reads the table from the log store that the gateway's config names (SQLite
or PostgreSQL; ``--config`` or ``OMNISENSE_CONFIG``), like ``omnisense stats``: no running
gateway needed. With ``--url`` it asks a running gateway (``GET /v1/quality``, with
``OMNISENSE_API_KEY`` as its admin key); that is the only way to see a table kept in a
gateway's memory (``logs.sink`` jsonl or none).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any, TextIO

import msgspec

from gateway.logs.cli_commands import SettingsLoader
from gateway.logs.query import parse_time
from gateway.quality.store import BUCKET_S, MemoryQualityStore, QualityQuery, QualityRow
from gateway.terminal import print_table

COLUMNS = ("task", "language", "provider", "source", "samples", "score", "from", "to")
NUMERIC = ("samples", "score")


def add_parsers(sub: Any, settings_from: SettingsLoader) -> None:
    """Register ``quality`` on the ``omnisense`` command's subparsers."""
    cmd = sub.add_parser("quality", help="measured quality per task, language and provider (agreement, accuracy)")
    cmd.add_argument("--task")
    cmd.add_argument("--language", help="a primary subtag (en, es; und: undetermined)")
    cmd.add_argument("--provider")
    cmd.add_argument("--source", choices=["agreement", "reference"])
    cmd.add_argument("--since", default="7d", help="unix seconds, ISO 8601, or a duration ago (default: 7d)")
    cmd.add_argument("--config", help="gateway config file (default: OMNISENSE_CONFIG)")
    cmd.add_argument("--url", help="ask this running gateway instead of reading the store")
    cmd.add_argument("--json", action="store_true", help="the rows as JSON")
    cmd.set_defaults(func=quality_command, settings_from=settings_from)


def quality_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        since = parse_time(args.since)
        query = QualityQuery(since=since, until=time.time() + BUCKET_S, task=args.task, language=args.language,
                             provider=args.provider, source=args.source)  # fmt: skip
        rows = _from_gateway(args.url, args.since, query) if args.url else asyncio.run(_from_store(args, query))
    except (ValueError, OSError) as exc:
        print(f"omnisense quality: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out.write(msgspec.json.encode({"since": since, "rows": rows}).decode() + "\n")
        return 0
    title = f"quality since {args.since}" + (f" ({args.task})" if args.task else "")
    print_table(out, COLUMNS, [row_cells(r) for r in rows], title=title, numeric=NUMERIC)
    if not rows:
        out.write("(no quality samples in the window)\n")
    return 0


def row_cells(r: QualityRow) -> list[str]:
    stamp = "%Y-%m-%d %H:%M"
    return [
        r.task,
        r.language,
        r.provider,
        r.source,
        str(r.samples),
        f"{r.score:.3f}",
        time.strftime(stamp, time.localtime(r.window.since)),
        time.strftime(stamp, time.localtime(r.window.until)),
    ]


async def _from_store(args: argparse.Namespace, query: QualityQuery) -> list[QualityRow]:
    from gateway.quality.registry import make_quality_store

    settings = args.settings_from(args.config or os.environ.get("OMNISENSE_CONFIG"))
    store = make_quality_store(settings)
    if isinstance(store, MemoryQualityStore):
        raise ValueError(f"logs.sink is {settings.sink!r}: the table lives in the gateway's memory; ask it with --url")
    try:
        await store.start()
        return await store.read(query)
    finally:
        await store.close()


def _from_gateway(url: str, since: str, query: QualityQuery) -> list[QualityRow]:
    import httpx

    from gateway.server.quality_routes import QualityAnswer
    from omnisense.client.transport import error_from, settings

    base, headers = settings(url, None)
    params = {"since": since, "task": query.task, "language": query.language, "provider": query.provider,
              "source": query.source}  # fmt: skip
    response = httpx.get(f"{base}/v1/quality", params={k: v for k, v in params.items() if v}, headers=headers)
    if response.status_code != 200:
        raise ValueError(str(error_from(response)))
    return msgspec.json.decode(response.content, type=QualityAnswer).rows
