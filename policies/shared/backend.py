"""Everything shared between replicas, built from the gateway config in one place.

Without a Redis URL: in-process state (the embedded default; ``--workers N`` then gives
each worker its own). With one (or the client the gateway's storage layer opened for it,
shared with the response cache): a ``RedisLink`` and, on it, the rate limiter, the spend
store and the hub that shares circuits and latency. A Redis that does not answer at start
does not stop the gateway: it starts on local state and rejoins when Redis is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from policies.budgets import SpendStore
from policies.shared.link import RedisLink, SharedStatus
from policies.shared.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from policies.shared.routing import SharedHub
from policies.shared.spend import SharedSpendStore

log = logging.getLogger("omnisense.shared")


@dataclass
class SharedBackend:
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    link: RedisLink | None = None
    hub: SharedHub | None = None
    spend: SpendStore | None = None

    def status(self) -> SharedStatus:
        return SharedStatus("memory", True) if self.link is None else self.link.status()

    async def aclose(self) -> None:
        if self.hub is not None:
            await self.hub.aclose()
        if self.link is not None:
            await self.link.aclose()


async def open_backend(
    url: str | None = None,
    *,
    client: Any = None,
    prefix: str = "omnisense:",
    sync_s: float = 0.5,
    timeout_s: float = 1.0,
) -> SharedBackend:
    """On ``client`` (the gateway's storage layer's Redis client, left open by ``aclose``), or on
    a client of its own for ``url``; neither: in-process state."""
    if not url and client is None:
        return SharedBackend()
    link = RedisLink(url, prefix, client=client, timeout_s=timeout_s, retry_s=sync_s)
    if not await link.check():
        log.warning("shared state: redis at start does not answer; starting on local state")
    hub = SharedHub(link, sync_s=sync_s)
    hub.start()
    return SharedBackend(RedisRateLimiter(link), link, hub, SharedSpendStore(link))
