"""The quality table's store by the request log's sink (``logs.sink``), through the one registry shape.

``sqlite`` and ``postgres``: a ``quality`` table in the log's own file or schema, shared by
every replica that logs there. ``jsonl`` and ``none``: in this process's memory (a JSON-lines
log has no place for a table that is added to), so each replica has its own and a restart
starts it empty.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.logs.settings import LogSettings
from gateway.quality.store import MemoryQualityStore, QualityStore
from gateway.quality.table import QualityTable
from gateway.storage import Storage
from policies.quality import QualityBook
from policies.registry import Entry, Registry

StoreFactory = Callable[[LogSettings, Storage], QualityStore]

QUALITY_STORES: Registry[StoreFactory] = Registry(
    "quality store",
    {
        "sqlite": "gateway.quality.sqlite:from_settings",
        "postgres": Entry("gateway.quality.postgres:from_settings", extra="postgres"),
        "jsonl": "gateway.quality.registry:memory_store",
        "none": "gateway.quality.registry:memory_store",
    },
)


def memory_store(settings: LogSettings, storage: Storage) -> QualityStore:
    return MemoryQualityStore()


def make_quality_store(settings: LogSettings, storage: Storage | None = None) -> QualityStore:
    """The store for ``settings.sink``, on ``storage``'s backends (without one: its own, closed with it)."""
    return QUALITY_STORES[settings.sink](settings, storage or Storage(keep=False))


def make_quality_table(
    settings: LogSettings, storage: Storage, book: QualityBook, *, in_memory: bool = False
) -> QualityTable:
    """The gateway's table; ``in_memory``: a sink was handed in (tests, the bench), keep it in memory."""
    store = MemoryQualityStore() if in_memory else make_quality_store(settings, storage)
    return QualityTable(store, book, window_s=settings.quality_window_s, refresh_s=settings.quality_refresh_s)
