"""Where the response cache lives: ``cache:`` in the gateway config."""

from __future__ import annotations

from typing import Literal

import msgspec


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``cache: {store: memory, max_entries: 10000}`` or ``{store: redis, url: redis://...}``.

    Which routes cache, and for how long, is the policy's (``routes.<task>.cache.ttl_s``);
    this only says where answers are kept. Memory is per process (bounded, LRU); Redis is
    shared by every replica that names the same URL and prefix."""

    store: Literal["memory", "redis"] = "memory"
    url: str | None = None  # redis://host:port/db (store: redis; default: state.redis)
    prefix: str = "omnisense:cache:"  # Redis key prefix
    max_entries: int = 10_000  # memory store: least recently used entries go first
    max_entry_bytes: int = 8 * 1024 * 1024  # answers larger than this are not kept

    # ``store: redis`` without ``url`` takes the gateway's shared-state Redis (``state.redis``);
    # the gateway config refuses it when there is none (``config_problems``).
    def __post_init__(self) -> None:
        if self.max_entries < 1 or self.max_entry_bytes < 1:
            raise ValueError("cache.max_entries and cache.max_entry_bytes must be >= 1")
