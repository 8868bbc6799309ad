"""``jobs:`` in the gateway config: where jobs are kept, how they run, how webhooks are sent."""

from __future__ import annotations

from typing import Literal

import msgspec


class JobSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where jobs are kept: ``store`` (``gateway.jobs.registry``).

    Without ``store``, jobs follow the request log: the same SQLite file (table ``jobs``) or
    the same PostgreSQL database and schema (``logs.dsn`` / ``logs.schema``); with the
    JSON-lines sink they go to ``jobs.db`` next to its file, and with ``logs.sink: none`` they
    stay in memory (lost on a restart). ``path`` puts them in that SQLite file instead.
    ``store: sqlite | postgres | memory`` chooses regardless of the log; ``dsn`` and ``schema``
    default to the log's. On the same file or DSN as the log, both share one connection
    (``gateway.storage``)."""

    enabled: bool = True
    store: Literal["sqlite", "postgres", "memory"] | None = None  # None: where the request log is
    path: str | None = None  # SQLite file (default: the log's SQLite file, else jobs.db next to the log)
    dsn: str | None = None  # store: postgres (default: logs.dsn, then $OMNISENSE_LOG_DSN)
    schema: str | None = None  # store: postgres (default: logs.schema)
    table: str = "jobs"
    workers: int = 2  # jobs run at once by one gateway process
    poll_s: float = 1.0  # how often an idle worker looks for queued jobs (a submit wakes it at once)
    lease_s: float = 30.0  # a running job whose gateway stopped renewing this long is taken again
    attempt_timeout_s: float = 900.0  # one provider attempt of one item
    time_limit_s: float = 3_600.0  # one item, every attempt and fallback included
    # A job whose gateway died mid-run (its lease ran out) this many times ends ``failed`` with
    # the reason, instead of crashing the next gateway too; a clean shutdown is not counted.
    max_attempts: int = 3
    keep_s: float = 7 * 86_400.0  # finished jobs (and their results) are deleted after this
    max_items: int = 1_000  # inputs in one batch
    webhook_secret: str | None = None  # signs webhooks of jobs submitted without a key
    webhook_hosts: list[str] | None = None  # hosts (or *.example.com) webhooks may go to; None: any public host
    webhook_private: bool = False  # allow webhooks to loopback/private addresses (in-cluster receivers, tests)
    webhook_attempts: int = 5
    webhook_backoff_s: float = 1.0  # first retry after ~this, doubling (tenacity, with jitter)
    webhook_timeout_s: float = 10.0
    webhook_tolerance_s: float = 300.0  # the replay window receivers should enforce (documented)
    # A webhook still pending this long after its job finished (its gateway stopped mid-delivery)
    # is sent by whichever gateway looks next: delivery is at least once.
    webhook_resume_after_s: float = 300.0
    sweep_s: float = 60.0  # how often expired jobs are purged and pending webhooks looked for

    def __post_init__(self) -> None:
        if self.workers < 1 or self.lease_s <= 0 or self.poll_s <= 0 or self.max_items < 1:
            raise ValueError("jobs: workers and max_items >= 1, lease_s and poll_s > 0")
        if self.max_attempts < 1:
            raise ValueError("jobs.max_attempts must be >= 1")
        if self.webhook_attempts < 1:
            raise ValueError("jobs.webhook_attempts must be >= 1")
