"""An envelope as the CLI prints it: one line about who served it, then the result.

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
from omnisense.schema import Envelope


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


def envelope_view(envelope: Envelope[Any]) -> RenderableType:
    return Group(Text(headline(envelope), style="dim"), *result_view(envelope.result))
