"""The request log's settings: which sink, where, and how the writer queues."""

from __future__ import annotations

import os
from typing import Literal

import msgspec


class SpoolSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The disk buffer for records the sink cannot take (``gateway.logs.spool``); ``max_bytes: 0`` turns it off."""

    dir: str = "var/spool"
    max_bytes: int = 256 * 1024 * 1024


class LogSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sink: Literal["sqlite", "jsonl", "postgres", "none"] = "sqlite"
    path: str | None = None  # sqlite/jsonl file; default var/requests.db or var/requests.jsonl
    dsn: str | None = None  # postgres; default: $OMNISENSE_LOG_DSN
    table: str = "request_log"  # postgres table (created or migrated at start-up)
    schema: str = "public"  # postgres schema
    max_queue: int = 10_000
    batch_size: int = 256
    when_full: Literal["drop", "block"] = "block"
    block_s: float = 0.05  # how long a full queue may hold a record before it is dropped (and counted)
    linger_s: float = 0.05  # how long a batch may wait to fill before it is written (one sink call per batch)
    spool: SpoolSettings = SpoolSettings()
    payload_sample_rate: float = 0.0  # fraction of requests whose (truncated) input is kept; 0: never
    payload_max_chars: int = 2_000
    drift_window_s: float = 3_600.0  # output-distribution windows compared by the drift metric
    quality_window_s: float = 7 * 86_400.0  # the quality table's window for routing, /metrics and /v1/quality
    quality_refresh_s: float = 10.0  # how often a gateway reads the table back (every replica's samples)

    @property
    def file(self) -> str:
        return self.path or ("var/requests.jsonl" if self.sink == "jsonl" else "var/requests.db")

    def postgres_dsn(self) -> str:
        """``dsn``, else ``$OMNISENSE_LOG_DSN`` (the PostgreSQL sink, and the job store following it)."""
        dsn = self.dsn or os.environ.get("OMNISENSE_LOG_DSN")
        if not dsn:
            raise ValueError("logs.sink is postgres but neither logs.dsn nor OMNISENSE_LOG_DSN is set")
        return dsn
