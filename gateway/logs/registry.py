"""Sinks by name, through the one registry shape (``policies.registry``): ``logs.sink`` picks one.

Each entry is a factory from the log settings and the process's storage layer
(``gateway.storage``), imported only when chosen (so a gateway writing SQLite never imports
asyncpg). ``omnisense logs`` opens the same sink to read.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.logs.settings import LogSettings
from gateway.logs.sinks import JsonlSink, LogSink, NullSink
from gateway.storage import Storage
from policies.registry import Entry, Registry

SinkFactory = Callable[[LogSettings, Storage], LogSink]

SINKS: Registry[SinkFactory] = Registry(
    "log sink",
    {
        "jsonl": "gateway.logs.registry:jsonl_sink",
        "sqlite": "gateway.logs.sqlite:from_settings",
        "postgres": Entry("gateway.logs.postgres:from_settings", extra="postgres"),
        "none": "gateway.logs.registry:null_sink",
    },
)


def make_sink(settings: LogSettings, storage: Storage | None = None) -> LogSink:
    """The sink ``settings.sink`` names (SQLite by default), on ``storage``'s backends (without
    one, the sink opens its own and closes them with itself)."""
    return SINKS[settings.sink](settings, storage or Storage(keep=False))


def jsonl_sink(settings: LogSettings, storage: Storage) -> LogSink:
    return JsonlSink(settings.file)


def null_sink(settings: LogSettings, storage: Storage) -> LogSink:
    return NullSink()
