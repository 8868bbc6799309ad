"""``omnisense jobs submit | status | wait | cancel | list``: async jobs from the shell.

Talks to a running gateway with the Python client (``--url`` or ``OMNISENSE_URL``, key from
``OMNISENSE_API_KEY``). ``wait`` (and ``submit --wait``) shows a progress bar of the items
done; the final job is printed as JSON with ``--json``, else as a short summary with the
result. Exit status: 0 succeeded, 1 failed or cancelled, 2 the gateway could not be reached
or refused the request, 3 ``wait`` timed out (the job keeps running).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec

from omnisense.client import Client
from omnisense.client.jobs import JobsTimeout
from omnisense.schema import OmnisenseError
from omnisense.schema.jobs import JobView


def add_parsers(sub: Any) -> None:
    """Register ``jobs`` and its subcommands on the ``omnisense`` command's subparsers."""
    jobs = sub.add_parser("jobs", help="async jobs: long audio and batches")
    jobs.add_argument("--url", help="gateway URL (default: OMNISENSE_URL or http://127.0.0.1:8080)")
    jobs.add_argument("--json", action="store_true", help="print the job as JSON")
    cmds = jobs.add_subparsers(dest="jobs_command", required=True)

    submit = cmds.add_parser("submit", help="submit a job: one input, or a batch with several")
    submit.add_argument("task", help="e.g. speech.transcribe, text.sentiment")
    submit.add_argument("inputs", nargs="+", help="files (images, audio) or texts; several make a batch")
    submit.add_argument("--webhook", help="POST the finished job to this URL (signed)")
    submit.add_argument("--provider", help="pin a provider")
    submit.add_argument("--language")
    submit.add_argument("--wait", action="store_true", help="wait for the result with a progress bar")
    submit.add_argument("--timeout", type=float, default=3600.0)
    submit.set_defaults(func=_submit)

    for name, help_text in (("status", "show a job"), ("wait", "wait for a job, with a progress bar")):
        cmd = cmds.add_parser(name, help=help_text)
        cmd.add_argument("job_id")
        cmd.add_argument("--timeout", type=float, default=3600.0)
        cmd.set_defaults(func=_status if name == "status" else _wait)

    cancel = cmds.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=_cancel)

    listing = cmds.add_parser("list", help="your jobs, newest first")
    listing.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    listing.add_argument("--since", help="unix seconds, ISO 8601, or a duration ago (15m)")
    listing.set_defaults(func=_list)


def _client(args: argparse.Namespace) -> Client:
    return Client(args.url, timeout=120)


def _guarded(args: argparse.Namespace, run: Any) -> int:
    try:
        with _client(args) as omni:
            code: int = run(omni)
            return code
    except OmnisenseError as exc:
        print(f"{type(exc).__name__}: {exc.detail}" + (f" (field {exc.field})" if exc.field else ""), file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"cannot reach the gateway: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an input file that cannot be read
        print(f"cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2


def _input(task: str, text: str) -> Any:
    path = Path(text)
    return path.read_bytes() if task.split(".")[0] in ("vision", "speech") and task != "speech.synthesize" else text


def _submit(args: argparse.Namespace) -> int:
    def run(omni: Client) -> int:
        items = [_input(args.task, i) for i in args.inputs]
        options = {"webhook_url": args.webhook, "provider": args.provider, "language": args.language}
        if len(items) == 1:
            job = omni.jobs.submit(args.task, items[0], **options)
        else:
            job = omni.jobs.submit(args.task, inputs=items, **options)
        if not args.wait:
            _show(job, args.json)
            return 0
        return _follow(omni, job, args)

    return _guarded(args, run)


def _status(args: argparse.Namespace) -> int:
    def run(omni: Client) -> int:
        job = omni.jobs.get(args.job_id)
        _show(job, args.json)
        return 0 if job.status != "failed" else 1

    return _guarded(args, run)


def _wait(args: argparse.Namespace) -> int:
    return _guarded(args, lambda omni: _follow(omni, omni.jobs.get(args.job_id), args))


def _cancel(args: argparse.Namespace) -> int:
    def run(omni: Client) -> int:
        _show(omni.jobs.cancel(args.job_id), args.json)
        return 0

    return _guarded(args, run)


def _list(args: argparse.Namespace) -> int:
    def run(omni: Client) -> int:
        from rich.console import Console
        from rich.table import Table

        jobs = omni.jobs.list(status=args.status, since=args.since)
        if args.json:
            print(msgspec.json.encode(jobs).decode())
            return 0
        table = Table("id", "task", "status", "done", "attempts")
        for j in jobs:
            table.add_row(j.id, j.task, j.status, f"{j.done}/{j.items}", str(j.attempts))
        Console().print(table)
        return 0

    return _guarded(args, run)


def _follow(omni: Client, job: JobView, args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True, disable=args.json or not sys.stderr.isatty()) as bar:
        progress = bar.add_task(f"{job.task} {job.id[:8]} {job.status}", total=job.items)

        def update(now: JobView) -> None:
            bar.update(progress, completed=now.done, description=f"{now.task} {now.id[:8]} {now.status}")

        try:
            done = omni.jobs.wait(job.id, timeout=args.timeout, on_update=update)
        except JobsTimeout as exc:
            print(f"{exc}; it keeps running: omnisense jobs wait {job.id}", file=sys.stderr)
            return 3
    _show(done, args.json)
    return 0 if done.status == "succeeded" else 1


def _show(job: JobView, as_json: bool) -> None:
    if as_json:
        print(msgspec.json.encode(job).decode())
        return
    print(f"job {job.id}: {job.task} {job.status} ({job.done}/{job.items} done, attempts {job.attempts})")
    if job.result is not None:
        print(json.dumps(job.result.get("result"), indent=2, ensure_ascii=False))
    for item in job.results or ():
        what = item.result.get("result") if item.result else (item.error or {}).get("detail")
        print(f"  [{item.index}] {item.status}: {json.dumps(what, ensure_ascii=False)[:200]}")
    if job.error is not None and job.result is None and not job.results:
        print(f"  error: {job.error.get('detail') if isinstance(job.error, dict) else job.error}")
