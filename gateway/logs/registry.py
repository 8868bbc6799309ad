"""Sinks by name, like the adapters' registry: ``logs.sink`` in the config picks one.

Each entry is a factory from the log settings, imported only when chosen (so a gateway
writing SQLite never imports asyncpg). ``omnisense logs`` opens the same sink to read.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from gateway.logs.settings import LogSettings
from gateway.logs.sinks import LogSink

SinkFactory = Callable[[LogSettings], LogSink]

# name -> "module:factory"; each factory takes the LogSettings.
SINKS: dict[str, str] = {
    "jsonl": "gateway.logs.registry:_jsonl",
    "sqlite": "gateway.logs.registry:_sqlite",
    "postgres": "gateway.logs.registry:_postgres",
    "none": "gateway.logs.registry:_none",
}


def make_sink(settings: LogSettings) -> LogSink:
    """The sink ``settings.sink`` names (SQLite by default)."""
    target = SINKS.get(settings.sink)
    if target is None:
        raise ValueError(f"logs.sink: unknown sink {settings.sink!r} (known: {', '.join(SINKS)})")
    module, _, attr = target.partition(":")
    factory: SinkFactory = getattr(importlib.import_module(module), attr)
    return factory(settings)


def _jsonl(settings: LogSettings) -> LogSink:
    from gateway.logs.sinks import JsonlSink

    return JsonlSink(settings.file)


def _sqlite(settings: LogSettings) -> LogSink:
    from gateway.logs.sqlite import SqliteSink

    return SqliteSink(settings.file)


def _postgres(settings: LogSettings) -> LogSink:
    from gateway.logs.postgres import PostgresSink

    dsn = settings.dsn or os.environ.get("OMNISENSE_LOG_DSN")
    if not dsn:
        raise ValueError("logs.sink is postgres but neither logs.dsn nor OMNISENSE_LOG_DSN is set")
    return PostgresSink(dsn, schema=settings.schema, table=settings.table)


def _none(settings: LogSettings) -> LogSink:
    from gateway.logs.sinks import NullSink

    return NullSink()
