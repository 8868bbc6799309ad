"""One Redis client for one URL (extra ``omnisense[redis]``), under a key prefix per user.

redis-py connects on the first command, so building the client costs nothing; its one
connection pool serves the response cache and the shared routing state alike. Every call
that takes longer than ``timeout_s`` fails (``state.timeout_s``): the cache answers a miss,
the shared state falls back to local state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis


def connect(url: str, timeout_s: float) -> Any:
    return aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=0)


@dataclass(frozen=True)
class RedisSpace:
    """A client and the prefix its user's keys live under."""

    client: Any
    prefix: str
    shared: bool = False

    def with_namespace(self, prefix: str) -> RedisSpace:
        """The same client under another prefix."""
        return RedisSpace(self.client, prefix, self.shared)

    async def release(self) -> None:
        """A store is done with the client: closed unless the Storage shares it."""
        if not self.shared:
            await self.client.aclose()
