"""Running a task command against the gateway: one input, or a batch with a progress bar.

Every call goes through the public Python client (``omnisense.Client``: ``--url`` or
``OMNISENSE_URL``, ``OMNISENSE_API_KEY``), so the CLI retries exactly what the client does.
One input prints the envelope as a table (``--json``: the envelope itself); a batch prints
one row per input and a summary (ok, failed, cost; ``--json``: one envelope per line).
Exit status: 0 all answered, 1 the gateway answered a problem (its title is printed),
2 bad command line or no gateway at the URL.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import httpx
import msgspec
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gateway.task_cli.commands import TaskCommand
from gateway.task_cli.inputs import InputError, Inputs, Item, media_inputs, text_inputs
from gateway.task_cli.render import answer_text, envelope_view
from gateway.terminal import console, table
from omnisense import Client
from omnisense.client.calls import Call
from omnisense.schema import Envelope, InputKind, OmnisenseError, Task


@dataclasses.dataclass
class Outcome:
    item: Item
    envelope: Envelope[Any] | None = None
    raw: bytes = b""  # the envelope as the gateway sent it: what --json prints
    error: OmnisenseError | None = None


def call_for(command: TaskCommand, item: Item, options: dict[str, Any]) -> Call[msgspec.Raw]:
    """The client's call for the task, answered as the raw envelope (audio too: base64 in the envelope)."""
    call: Call[Any] = command.build(item.source, **options)
    headers = {**call.headers, "Accept": "application/json"} if command.spec.answers_audio else call.headers
    return dataclasses.replace(call, result_type=msgspec.Raw, headers=headers)


def send(client: Client, command: TaskCommand, item: Item, options: dict[str, Any]) -> Outcome:
    try:
        raw = client.send(call_for(command, item, options))
    except OmnisenseError as exc:
        return Outcome(item, error=exc)
    envelope = msgspec.json.decode(raw, type=Envelope[command.spec.result])  # type: ignore[name-defined]
    return Outcome(item, envelope=envelope, raw=bytes(raw))


def inputs_of(command: TaskCommand, args: argparse.Namespace) -> Inputs:
    if command.input is InputKind.TEXT:
        return text_inputs(args.text, args.file or [])
    return media_inputs(args.inputs, command.input)


def audio_path(args: argparse.Namespace, item: Item, fmt: str, batch: bool) -> Path:
    if batch:
        folder = Path(args.output or ".")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{item.stem}.{fmt}"
    return Path(args.output or f"say.{fmt}")


def save_audio(args: argparse.Namespace, outcome: Outcome, batch: bool) -> Path | None:
    envelope = outcome.envelope
    audio = getattr(envelope.result, "audio", None) if envelope else None
    if not isinstance(audio, bytes) or envelope is None:
        return None
    path = audio_path(args, outcome.item, envelope.result.format, batch)
    path.write_bytes(audio)
    return path


def problem_line(verb: str, exc: OmnisenseError) -> str:
    rid = f" (request {exc.request_id})" if exc.request_id else ""
    return f"omnisense {verb}: {exc.title}: {exc.detail}{rid}"


def run_task(args: argparse.Namespace, out: TextIO | None = None) -> int:
    command: TaskCommand = args.task_command
    out = out or sys.stdout
    try:
        inputs = inputs_of(command, args)
    except (InputError, OSError) as exc:
        print(f"omnisense {command.verb}: {exc}", file=sys.stderr)
        return 2
    options = {o.name: getattr(args, o.name) for o in command.options if getattr(args, o.name) is not None}
    if command.spec.answers_audio and args.format is None and args.output and not inputs.batch:
        suffix = Path(args.output).suffix.lstrip(".")
        options["format"] = suffix or "wav"  # `say Hello -o hello.mp3` asks for mp3
    try:
        with Client(args.url, timeout=args.timeout) as client:
            if inputs.batch:
                return run_batch(client, command, inputs, options, args, out)
            return run_one(client, command, inputs.items[0], options, args, out)
    except httpx.TransportError as exc:
        print(f"omnisense {command.verb}: cannot reach the gateway: {exc}", file=sys.stderr)
        return 2


def run_one(client: Client, command: TaskCommand, item: Item, options: dict[str, Any],
            args: argparse.Namespace, out: TextIO) -> int:  # fmt: skip
    outcome = send(client, command, item, options)
    if outcome.error is not None or outcome.envelope is None:
        assert outcome.error is not None
        print(problem_line(command.verb, outcome.error), file=sys.stderr)
        return 1
    saved = save_audio(args, outcome, batch=False)
    if args.json:
        out.write(msgspec.json.format(outcome.raw, indent=2).decode() + "\n")
    else:
        console(out).print(envelope_view(outcome.envelope))
    if saved is not None:
        print(f"wrote {saved.stat().st_size} bytes to {saved}", file=sys.stderr if args.json else out)
    return 0


def run_batch(client: Client, command: TaskCommand, inputs: Inputs, options: dict[str, Any],
              args: argparse.Namespace, out: TextIO) -> int:  # fmt: skip
    outcomes: list[Outcome] = []
    progress = Progress(
        TextColumn(f"{command.verb}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console(stderr=True), transient=False,
    )  # fmt: skip
    with progress, ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        bar = progress.add_task(command.verb, total=len(inputs.items))
        futures = [pool.submit(send, client, command, item, options) for item in inputs.items]
        for future in futures:
            outcomes.append(future.result())
            progress.advance(bar)
    for outcome in outcomes:
        save_audio(args, outcome, batch=True)
    if args.json:
        for o in outcomes:
            line = (
                o.raw if o.envelope is not None else msgspec.json.encode({"input": o.item.name, **error_body(o.error)})
            )
            out.write(line.decode() + "\n")
    else:
        console(out).print(batch_table(outcomes))
    failed = sum(1 for o in outcomes if o.error is not None)
    cost = sum(o.envelope.usage.cost_usd for o in outcomes if o.envelope is not None)
    summary = f"{len(outcomes) - failed} ok, {failed} failed, cost ${cost:.6f}"
    print(summary, file=sys.stderr if args.json else out)
    return 1 if failed else 0


def error_body(exc: OmnisenseError | None) -> dict[str, Any]:
    if exc is None:
        return {}
    return {"error": exc.title, "status": exc.status, "detail": exc.detail, "request_id": exc.request_id}


def batch_table(outcomes: list[Outcome]) -> Any:
    rows = []
    for o in outcomes:
        if o.envelope is None:
            title = o.error.title if o.error else "error"
            rows.append([o.item.name, title, "-", o.error.detail if o.error else "", "-", "-"])
            continue
        e = o.envelope
        top = answer_text(Task(e.task), e.result)
        rows.append([o.item.name, "ok", e.provider, top, f"{e.latency_ms:.1f}", f"{e.usage.cost_usd:.6f}"])
    return table(["input", "status", "provider", "answer", "ms", "cost_usd"], rows, numeric=["ms", "cost_usd"])
