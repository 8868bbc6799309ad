"""The cache's two stores: bounded LRU in memory (per process) and Redis (shared by replicas),
by name through the one registry shape (``policies.registry``): ``cache.store`` picks one.

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
from gateway.storage import Storage
from policies.registry import Registry

if TYPE_CHECKING:
    from gateway.storage.redis import RedisSpace

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
    """``SET key value PX ttl`` / ``GET key`` under the space's prefix, on the storage layer's
    client for the URL (``gateway.storage``: shared with the routing state on the same URL)."""

    def __init__(self, space: RedisSpace) -> None:
        self.space = space
        self.prefix = space.prefix
        self._redis = space.client

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
        await self.space.release()


StoreFactory = Callable[[CacheSettings, Storage, str | None], CacheStore]

STORES: Registry[StoreFactory] = Registry(
    "cache store",
    {"memory": "gateway.cache.stores:memory_store", "redis": "gateway.cache.stores:redis_store"},
)


def make_store(settings: CacheSettings, shared_url: str | None = None, storage: Storage | None = None) -> CacheStore:
    """``shared_url``: the gateway's shared-state Redis, for ``store: redis`` without a URL;
    ``storage``: the process's backends (without one, the store opens its own)."""
    return STORES[settings.store](settings, storage or Storage(keep=False), shared_url)


def memory_store(settings: CacheSettings, storage: Storage, shared_url: str | None) -> CacheStore:
    return MemoryCache(settings.max_entries)


def redis_store(settings: CacheSettings, storage: Storage, shared_url: str | None) -> CacheStore:
    url = settings.url or shared_url
    if url is None:
        raise ValueError("cache.url is required when cache.store is redis (or name state.redis)")
    return RedisCache(storage.redis(url, settings.prefix))
