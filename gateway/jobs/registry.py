"""Job stores by name, through the one registry shape (``policies.registry``): ``jobs.store``.

Without ``jobs.store`` the jobs follow the request log (``store_name``), as they always did:
PostgreSQL when the log is, else SQLite (``jobs.path``, the log's file, or ``jobs.db`` next to
the JSON-lines file), and memory when nothing is logged. The store takes its backend from the
process's storage layer (``gateway.storage``), so on the log's file or DSN the two share it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gateway.jobs.settings import JobSettings
from gateway.jobs.store import JobStore, SqliteJobStore
from gateway.logs.settings import LogSettings
from gateway.storage import Storage
from policies.registry import Entry, Registry

StoreFactory = Callable[[JobSettings, LogSettings, Storage], JobStore]

STORES: Registry[StoreFactory] = Registry(
    "job store",
    {
        "sqlite": "gateway.jobs.registry:sqlite_store",
        "postgres": Entry("gateway.jobs.postgres:from_settings", extra="postgres"),
        "memory": "gateway.jobs.registry:memory_store",
    },
)


def store_name(jobs: JobSettings, logs: LogSettings) -> str:
    """``jobs.store``, or the store that follows the request log."""
    if jobs.store is not None:
        return jobs.store
    if logs.sink == "postgres":
        return "postgres"
    if jobs.path or logs.sink != "none":
        return "sqlite"
    return "memory"  # nothing is kept: jobs live in memory and do not survive a restart


def make_job_store(jobs: JobSettings, logs: LogSettings, storage: Storage | None = None) -> JobStore:
    """The job store the settings name, on ``storage``'s backends (without one, the store opens
    its own and closes them with itself)."""
    return STORES[store_name(jobs, logs)](jobs, logs, storage or Storage(keep=False))


def sqlite_store(jobs: JobSettings, logs: LogSettings, storage: Storage) -> JobStore:
    path = jobs.path or (logs.file if logs.sink == "sqlite" else str(Path(logs.file).with_name("jobs.db")))
    return SqliteJobStore(storage.sqlite(path), table=jobs.table)


def memory_store(jobs: JobSettings, logs: LogSettings, storage: Storage) -> JobStore:
    return SqliteJobStore(storage.sqlite(":memory:"), table=jobs.table)
