"""An envelope as the CLI prints it: one line about who served it, then the result.

A fan-out's envelope (``--providers a,b,c``) also gets one row per provider (its answer,
its agreement with the consensus, latency, cost, error) and a line with the consensus and
the agreement; the result shown below it is the consensus.

The result is shown from its own fields, whatever the task: lists of items become tables
(one column per item field), scalars a short ``name: value`` list, nested values such as a
box or the sentiment scores one compact cell; audio is its size (the file holds it).
"""

from __future__ import annotations

from typing import Any

import msgspec
from rich.console import Group, RenderableType
from rich.text import Text

from gateway.terminal import table
from omnisense.schema import Envelope, Task, summarize_output


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, bytes):
        return f"{len(value)} bytes"
    if isinstance(value, msgspec.Struct):
        parts = (f"{f}={cell(getattr(value, f))}" for f in value.__struct_fields__ if getattr(value, f) is not None)
        return " ".join(parts)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def items_table(name: str, items: list[msgspec.Struct]) -> RenderableType:
    columns = [f for f in items[0].__struct_fields__ if any(getattr(i, f) is not None for i in items)]
    rows = [[cell(getattr(item, f)) for f in columns] for item in items]
    numeric = [f for f in columns if isinstance(getattr(items[0], f), int | float)]
    return table(columns, rows, title=name, numeric=numeric)


def result_view(result: msgspec.Struct) -> list[RenderableType]:
    scalars: list[str] = []
    tables: list[RenderableType] = []
    for name in result.__struct_fields__:
        value = getattr(result, name)
        if isinstance(value, list) and value and all(isinstance(v, msgspec.Struct) for v in value):
            tables.append(items_table(name, value))
        elif isinstance(value, list) and not value:
            scalars.append(f"{name}: none")
        elif value is not None:
            scalars.append(f"{name}: {cell(value)}")
    return [Text("\n".join(scalars)), *tables] if scalars else tables


def headline(envelope: Envelope[Any]) -> str:
    usage = envelope.usage
    tries = len(envelope.attempts)
    return (
        f"{envelope.task} by {envelope.provider} ({envelope.model}) in {envelope.latency_ms:.1f} ms, "
        f"{usage.units:g} {usage.unit}, ${usage.cost_usd:.6f}"
        + (f", {tries} attempts" if tries > 1 else "")
        + f"  [{envelope.request_id}]"
    )


def answer_text(task: Task, result: Any) -> str:
    """A result in a few words: its output summary's top answer, else how many items it has."""
    if result is None:
        return "-"
    audio = getattr(result, "audio", None)
    if isinstance(audio, bytes):
        return f"{len(audio)} bytes of {result.format}"
    summary = summarize_output(task, result)
    return summary.top or (f"{summary.items} items" if summary.items is not None else "-")


def answers_view(envelope: Envelope[Any]) -> list[RenderableType]:
    """A fan-out's answers, one row per provider, and the consensus with its agreement; [] for one provider."""
    if not envelope.answers:
        return []
    task = Task(envelope.task)
    rows = [
        [
            a.provider, a.model, a.outcome, answer_text(task, a.result), cell(a.agreement), f"{a.latency_ms:.1f}",
            f"{a.usage.cost_usd:.6f}" if a.usage else "-", f"{a.error.title}: {a.error.detail}" if a.error else "",
        ]
        for a in envelope.answers
    ]  # fmt: skip
    columns = ["provider", "model", "outcome", "answer", "agreement", "ms", "cost_usd", "error"]
    answers = table(columns, rows, title="answers", numeric=["agreement", "ms", "cost_usd"])
    line = f"consensus: {answer_text(task, envelope.consensus)}  agreement: {cell(envelope.agreement)}"
    return [answers, Text(line, style="bold")]


def envelope_view(envelope: Envelope[Any]) -> RenderableType:
    return Group(Text(headline(envelope), style="dim"), *answers_view(envelope), *result_view(envelope.result))
