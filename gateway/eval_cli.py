"""``omnisense eval`` and ``omnisense compare``: how providers and model versions measure up.

- ``omnisense eval FILE --task T --providers a,b,c [--url URL] [--json]``: the labelled
  set FILE through the running gateway, pinned to each provider in turn, with a progress
  bar; per provider: the task's score (accuracy / F1 / IoU-F1 / WER / overlap), the share
  of answers that agree with the expected output, p50/p95 latency and cost
  (``gateway.evaluation``). Each scored answer is then reported to the gateway's quality
  table as a ``reference`` sample (``POST /v1/quality``, admin key from ``OMNISENSE_API_KEY``)
  unless ``--no-report``; a gateway that refuses the report leaves a warning, not a failure.
- ``omnisense compare --task T [--since 1h] [--config FILE] [--json]``: the shadow
  agreement recorded in the request log per (served provider, shadow provider)
  (``gateway.logs.comparisons``), read from the configured log like ``omnisense stats``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gateway.logs.cli_commands import SettingsLoader, open_store
from gateway.logs.comparisons import ComparisonRow
from omnisense.schema import Task

LOWER_IS_BETTER = {"wer"}


def add_parsers(sub: Any, settings_from: SettingsLoader) -> None:
    """Register ``eval`` and ``compare`` on the ``omnisense`` command's subparsers."""
    tasks = [t.value for t in Task]
    ev = sub.add_parser("eval", help="run a labelled set through each provider and compare them")
    ev.add_argument("file", type=Path, help="JSON lines: the input and the expected output per line")
    ev.add_argument("--task", required=True, choices=tasks)
    ev.add_argument("--providers", required=True, help="comma-separated provider names")
    ev.add_argument("--url", help="gateway URL (default: OMNISENSE_URL or http://127.0.0.1:8080)")
    ev.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    ev.add_argument("--json", action="store_true", help="print the results as JSON, no progress bar")
    ev.add_argument("--no-report", action="store_true", help="do not add the scores to the gateway's quality table")
    ev.set_defaults(func=eval_command)

    cmp = sub.add_parser("compare", help="shadow agreement per served and shadow provider, from the request log")
    cmp.add_argument("--task", required=True, choices=tasks)
    cmp.add_argument("--since", default="1h", help="unix seconds, ISO 8601, or a duration ago (default: 1h)")
    cmp.add_argument("--config", help="gateway config file (default: OMNISENSE_CONFIG)")
    cmp.add_argument("--json", action="store_true")
    cmp.set_defaults(func=compare_command, settings_from=settings_from)


# -- eval ------------------------------------------------------------------------------------


def eval_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from gateway.evaluation import SetError, load_set, reference_samples, run_eval
    from omnisense.client import Client

    task = Task(args.task)
    providers = [p.strip() for p in args.providers.split(",") if p.strip()]
    try:
        examples = load_set(args.file, task)
    except (SetError, OSError) as exc:
        print(f"omnisense eval: {exc}", file=sys.stderr)
        return 2
    base = args.file.resolve().parent
    with Client(args.url, timeout=args.timeout, retries=0) as client:
        if args.json:
            scores = run_eval(client, task, examples, base, providers)
        else:
            scores = _with_progress(client, task, examples, base, providers)
    rows = [s.summary() for s in scores]
    reported = None if getattr(args, "no_report", False) else _report(args.url, reference_samples(task, scores))
    if args.json:
        body = {"task": task.value, "file": str(args.file), "results": rows, "reported": reported}
        out.write(json.dumps(body) + "\n")
    else:
        _eval_table(task, len(examples), rows, out)
        if reported is not None:
            out.write(f"reported {reported} reference samples to the gateway's quality table\n")
    return 1 if all(r["errors"] == r["examples"] for r in rows) else 0


def _report(url: str | None, samples: list[Any]) -> int | None:
    """The samples to ``POST /v1/quality``; how many the gateway recorded (None: it did not)."""
    import httpx
    import msgspec

    from omnisense.client.transport import error_from, settings

    if not samples:
        return 0
    base, headers = settings(url, None)
    try:
        response = httpx.post(f"{base}/v1/quality", content=msgspec.json.encode({"samples": samples}),
                              headers={**headers, "Content-Type": "application/json"}, timeout=30.0)  # fmt: skip
    except httpx.HTTPError as exc:
        print(f"omnisense eval: the scores were not reported ({exc})", file=sys.stderr)
        return None
    if response.status_code != 200:
        print(f"omnisense eval: the scores were not reported ({error_from(response)})", file=sys.stderr)
        return None
    recorded: int = response.json()["recorded"]
    return recorded


def _with_progress(client: Any, task: Task, examples: Any, base: Path, providers: list[str]) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gateway.evaluation import run_eval

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        ids = {name: bar.add_task(f"{task.value} on {name}", total=len(examples)) for name in providers}
        return run_eval(client, task, examples, base, providers, on_step=lambda name: bar.advance(ids[name]))


def _eval_table(task: Task, count: int, rows: list[dict[str, Any]], out: TextIO) -> None:
    from gateway.terminal import print_table

    metric = next((r["metric"] for r in rows if r["metric"]), None)
    name = {"label": "accuracy", "overlap": "F1", "iou": "box F1", "wer": "WER", "chars": "char overlap"}
    score = name.get(metric or "", "score")
    columns = ("provider", score, "agree", "errors", "p50 ms", "p95 ms", "cost USD")
    table = [
        [
            r["provider"],
            _num(r["score"], 3),
            _pct(r["agreement"]),
            f"{r['errors']}" + (f" ({', '.join(r['error_types'])})" if r["error_types"] else ""),
            _num(r["p50_ms"], 1),
            _num(r["p95_ms"], 1),
            f"{r['cost_usd']:.6f}",
        ]
        for r in rows
    ]
    print_table(out, columns, table, title=f"{task.value}: {count} examples", numeric=columns[1:])
    if metric in LOWER_IS_BETTER:
        out.write("(WER: lower is better)\n")


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


# -- compare ------------------------------------------------------------------------------------


def compare_command(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from gateway.logs.query import parse_time, read_comparisons

    try:
        since = parse_time(args.since)
        store = open_store(args)
    except ValueError as exc:
        print(f"omnisense compare: {exc}", file=sys.stderr)
        return 2

    async def run() -> list[ComparisonRow]:
        try:
            return await read_comparisons(store, since, time.time() + 1, args.task)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                await close()

    rows = asyncio.run(run())
    if args.json:
        import msgspec

        out.write(msgspec.json.encode({"task": args.task, "since": since, "comparisons": rows}).decode() + "\n")
        return 0
    _compare_table(args.task, args.since, rows, out)
    return 0


def _compare_table(task: str, since: str, rows: list[ComparisonRow], out: TextIO) -> None:
    from gateway.terminal import print_table

    columns = ("served", "shadow", "shadowed", "errors", "compared", "agree", "metric", "mean", "shadow p50 ms")
    table = [
        [r.served, r.shadow, str(r.shadowed), str(r.errors), str(r.compared), _pct(r.agreement),
         r.metric or "-", _num(r.mean_score, 3), _num(r.shadow_p50_ms, 1)]
        for r in rows
    ]  # fmt: skip
    numeric = ("shadowed", "errors", "compared", "agree", "mean", "shadow p50 ms")
    print_table(out, columns, table, title=f"{task}: shadow agreement since {since}", numeric=numeric)
    if not rows:
        out.write("(no shadow traffic for this task in the window)\n")
