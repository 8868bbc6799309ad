"""The cache's two stores: bounded LRU in memory (per process) and Redis (shared by replicas).

A store holds opaque bytes under a key with a time to live. A store that fails (Redis gone)
never fails the request: ``get`` answers a miss and ``set`` is skipped, both logged.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gateway.cache.settings import CacheSettings

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger("omnisense.cache")


class CacheStore(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCache:
    """At most ``max_entries`` answers; the least recently used goes first, expired ones on read."""

    def __init__(self, max_entries: int = 10_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._items[key] = (self.clock() + ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    async def aclose(self) -> None:
        self._items.clear()


class RedisCache:
    """``SET key value PX ttl`` / ``GET key`` under a prefix, on one connection pool."""

    def __init__(self, url: str, prefix: str = "omnisense:cache:") -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self._redis: redis.asyncio.Redis = aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(self.prefix + key)
        except Exception as exc:  # Redis down: a miss, never a failed request
            log.warning("response cache: Redis read failed (%s): answering without the cache", exc)
            return None
        if value is None:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        try:
            await self._redis.set(self.prefix + key, value, px=max(1, int(ttl_s * 1000)))
        except Exception as exc:
            log.warning("response cache: Redis write failed (%s): answer not cached", exc)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_store(settings: CacheSettings, shared_url: str | None = None) -> CacheStore:
    """``shared_url``: the gateway's shared-state Redis, for ``store: redis`` without a URL."""
    if settings.store == "redis":
        url = settings.url or shared_url
        if url is None:
            raise ValueError("cache.url is required when cache.store is redis (or name state.redis)")
        return RedisCache(url, settings.prefix)
    return MemoryCache(settings.max_entries)
