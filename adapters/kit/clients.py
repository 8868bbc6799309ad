"""``SdkClients``: a provider's vendor SDK clients, and the one way its service modules call them.

A vendor subclasses it with two things: ``build(key)``, which makes the client for one key
(a service name; the SDK is imported there, so importing the adapter imports no SDK), and
``classify``, which maps the SDK's own exceptions (``adapters.kit.errors.mapped_errors``).
The base keeps the rest, once for every vendor:

- a cache of built clients under a lock (SDK clients are thread-safe once built; building
  them is not);
- the provider's bounded thread pool (``BlockingPool``), where every blocking call runs,
  bounded by the request's deadline, with its exceptions mapped (``run``);
- one close: background work drained, each client closed (``close_client``), the pool shut.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from adapters.base import CallContext
from adapters.kit.config import ProviderConfig
from adapters.kit.errors import mapped_errors
from adapters.kit.pool import BlockingPool
from omnisense.schema import OmnisenseError, UpstreamTimeout

ConfigT = TypeVar("ConfigT", bound=ProviderConfig)
T = TypeVar("T")


class SdkClients(Generic[ConfigT]):
    """One client per key, built on first use and shared by the pool's threads."""

    classify: ClassVar[Callable[[BaseException], OmnisenseError | None]]

    def __init__(self, name: str, config: ConfigT) -> None:
        self.name = name
        self.config = config
        self.pool = BlockingPool(name, config.max_workers)
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def build(self, key: str) -> Any:
        """The SDK client for ``key`` (called once per key, under the lock)."""
        raise NotImplementedError

    def client(self, key: str) -> Any:
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = self.build(key)
            return found

    def timeout(self, ctx: CallContext | None, limit: float) -> float:
        """Seconds the next call may take: ``limit``, capped by the request's time left."""
        if ctx is None:
            return limit
        remaining = ctx.remaining_s()
        if remaining <= 0:
            raise UpstreamTimeout(f"{self.name}: the request's deadline passed before the call")
        return min(limit, remaining)

    async def run(self, fn: Callable[..., T], *args: Any, ctx: CallContext | None = None) -> T:
        """Run blocking ``fn(*args)`` in the pool, within the request's deadline, errors mapped."""
        with mapped_errors(self.name, type(self).classify):
            return await self.pool.run_blocking(fn, *args, ctx=ctx)

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run blocking ``fn(*args)`` in the pool without waiting for it (clean-up work)."""
        self.pool.background(fn, *args)

    async def drain(self, timeout_s: float = 10.0) -> None:
        await self.pool.drain(timeout_s)

    def close_client(self, client: Any) -> None:
        """Release one client's connections (its ``close()`` where it has one)."""
        close = getattr(client, "close", None)
        if close is not None:
            close()

    def close(self) -> None:
        """Shut the pool and close every client built so far (blocking; see ``aclose``)."""
        self.pool.shutdown()
        with self._lock:
            for client in self._clients.values():
                self.close_client(client)
            self._clients.clear()

    async def aclose(self) -> None:
        """The provider's close: background work drained first, then ``close``."""
        await self.drain()
        self.close()
