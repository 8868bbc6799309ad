"""``omnisense quote VERB INPUT [options]``: the price of a task call before it is made.

The same inputs and options as the task's own command (``omnisense quote transcribe
meeting.wav``, ``omnisense quote sentiment "some text"``), sent with ``?dry_run=true``: the
gateway decodes and plans the request as a real one and calls nothing
(``gateway.server.quote``). Prints the plan, the units, the price and what the key's budget
has left; ``--json`` prints the gateway's answer.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any, TextIO

import httpx
import msgspec

from gateway.task_cli.commands import TaskCommand
from gateway.task_cli.inputs import InputError
from gateway.task_cli.run import call_for, inputs_of, problem_line
from omnisense import Client
from omnisense.schema import OmnisenseError


def run_quote(args: argparse.Namespace, out: TextIO | None = None) -> int:
    command: TaskCommand = args.task_command
    out = out or sys.stdout
    try:
        inputs = inputs_of(command, args)
    except (InputError, OSError) as exc:
        print(f"omnisense quote {command.verb}: {exc}", file=sys.stderr)
        return 2
    options = {o.name: getattr(args, o.name) for o in command.options if getattr(args, o.name) is not None}
    total, failed = 0.0, 0
    try:
        with Client(args.url, timeout=args.timeout) as client:
            for item in inputs.items:
                call = call_for(command, item, options)
                call = dataclasses.replace(call, params={**call.params, "dry_run": "true"})
                try:
                    body: dict[str, Any] = msgspec.json.decode(client.send(call))
                except OmnisenseError as exc:
                    print(problem_line(f"quote {command.verb}", exc), file=sys.stderr)
                    failed += 1
                    continue
                total += body.get("price_usd") or 0.0
                print(json.dumps(body) if args.json else _line(item.name, body), file=out)
    except httpx.TransportError as exc:
        print(f"omnisense quote {command.verb}: cannot reach the gateway: {exc}", file=sys.stderr)
        return 2
    if inputs.batch and not args.json:
        print(f"total: ${total:.6f} for {len(inputs.items) - failed} input(s)", file=out)
    return 1 if failed else 0


def _line(name: str, body: dict[str, Any]) -> str:
    price = body.get("price_usd")
    left = body.get("budget_left_usd")
    budget = f", budget left ${left:.6f}" if left is not None else ""
    cost = f"${price:.6f}" if price is not None else "-"
    return f"{name}: {body['answer']}: {body['units']:g} {body['unit']}(s), {cost}{budget}"
