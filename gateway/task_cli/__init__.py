"""The task commands of ``omnisense`` (``labels``, ``sentiment``, ``translate``, ``say`` ...) and
``providers``: they call a running gateway, as any user of the Python client would.

``add_parsers(sub)`` registers one command per row of the task table (``commands.py``),
the same under ``quote`` (their price, nothing called: ``quote.py``) and ``providers``;
``gateway/cli.py`` calls it once.
"""

from __future__ import annotations

import argparse
from typing import Any

from gateway.task_cli.commands import TaskCommand, task_commands
from gateway.task_cli.live import add_live_option, transcribe_or_live
from gateway.task_cli.providers import providers_command
from gateway.task_cli.quote import run_quote
from gateway.task_cli.run import run_task
from omnisense.schema import InputKind, Task

URL_HELP = "gateway URL (default: OMNISENSE_URL or http://127.0.0.1:8080); the key comes from OMNISENSE_API_KEY"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=URL_HELP)
    parser.add_argument("--json", action="store_true", help="print the envelope (a batch: one per line)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")


def _add_task(sub: Any, command: TaskCommand) -> argparse.ArgumentParser:
    spec = command.spec
    what = {InputKind.IMAGE: "PHOTO", InputKind.AUDIO: "AUDIO", InputKind.TEXT: "TEXT"}[command.input]
    parser: argparse.ArgumentParser = sub.add_parser(
        command.verb, help=f"{spec.task}: POST {spec.path}", description=f"Run {spec.task}."
    )
    if command.input is InputKind.TEXT:
        parser.add_argument("text", nargs="*", metavar=what, help="the text ('-': read stdin)")
        parser.add_argument("-f", "--file", action="append", help="a file, glob or directory of texts (a batch)")
    else:
        parser.add_argument("inputs", nargs="+", metavar=what, help="files, globs or directories ('-': stdin)")
    for option in command.options:
        if option.kind is bool:
            parser.add_argument(*option.flags, dest=option.name, action="store_true", default=None)
        else:
            kind = option.kind
            parser.add_argument(*option.flags, dest=option.name, type=kind, required=option.required, default=None)
    if spec.answers_audio:
        parser.add_argument("-o", "--output", help="where to write the audio (a batch: a folder; default say.FORMAT)")
    parser.add_argument("-c", "--concurrency", type=int, default=4, help="requests in flight in a batch (default 4)")
    _common(parser)
    parser.set_defaults(func=run_task, task_command=command)
    return parser


def add_parsers(sub: Any) -> None:
    """Register every task command and ``providers`` on the ``omnisense`` command's subparsers."""
    for command in task_commands().values():
        parser = _add_task(sub, command)
        if command.spec.task is Task.SPEECH_TRANSCRIBE:  # transcribe --live FILE: the WebSocket session
            add_live_option(parser)
            parser.set_defaults(func=transcribe_or_live(run_task))
    quote = sub.add_parser("quote", help="the plan and price of a task call, nothing called (?dry_run=true)")
    quote_sub = quote.add_subparsers(dest="quote_command", required=True)
    for command in task_commands().values():
        _add_task(quote_sub, command).set_defaults(func=run_quote)
    providers = sub.add_parser("providers", help="a running gateway's providers: health, circuits, latency, tasks")
    _common(providers)
    providers.set_defaults(func=providers_command)
