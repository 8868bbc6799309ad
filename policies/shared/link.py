"""One Redis client per gateway process, and whether it works right now.

Every shared-state call goes through ``RedisLink.run``: while Redis answers, the call's
result comes back; when it fails (refused, reset, timed out), the link marks itself down
and raises ``SharedDown``, and every caller falls back to its local state. While down, no
request waits on Redis: calls fail at once, and a background loop pings Redis every
``retry_s`` seconds. When a ping answers, the link is up again and runs its ``on_rejoin``
callbacks (spend paid back, open circuits published).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("omnisense.shared")
T = TypeVar("T")


class SharedDown(Exception):
    """Redis is not reachable now: use local state."""


@dataclass(frozen=True)
class SharedStatus:
    """What ``/v1/providers`` and the metrics say about the shared state."""

    backend: str  # "redis" or "memory"
    connected: bool
    down_since_s: float | None = None  # seconds since Redis was lost (None: up)
    outages: int = 0
    detail: str | None = None


class RedisLink:
    """``client``: a redis.asyncio client that the caller opened and will close (the gateway's
    storage layer, which shares it with the response cache); without one, the link opens its
    own on ``url`` and closes it with itself."""

    def __init__(
        self,
        url: str | None = None,
        prefix: str = "omnisense:",
        *,
        client: Any = None,
        timeout_s: float = 1.0,
        retry_s: float = 0.5,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.retry_s = retry_s
        self._owns_client = client is None
        if client is None:
            if url is None:
                raise ValueError("a RedisLink needs a url or a client")
            import redis.asyncio as aioredis  # the "redis" extra; imported only when configured

            client = aioredis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=0
            )
        self.redis: Any = client
        self.up = True
        self.down_at: float | None = None
        self.outages = 0
        self.detail: str | None = None
        self.on_rejoin: list[Callable[[], Awaitable[None]]] = []
        self._monitor: asyncio.Task[None] | None = None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def run(self, call: Callable[[Any], Awaitable[T]]) -> T:
        """``await call(redis)``; raises SharedDown (and marks the link down) if Redis fails."""
        if not self.up:
            raise SharedDown(self.detail or "redis is down")
        try:
            return await call(self.redis)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            self.mark_down(exc)
            raise SharedDown(str(exc)) from exc

    def mark_down(self, exc: BaseException) -> None:
        if not self.up:
            return
        self.up, self.down_at, self.outages = False, time.monotonic(), self.outages + 1
        self.detail = f"{type(exc).__name__}: {exc}"[:200]
        log.warning("shared state: redis unreachable (%s); serving on local state until it returns", self.detail)
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.get_running_loop().create_task(self._until_back())

    async def _until_back(self) -> None:
        """Ping until Redis answers, then rejoin; an outage that begins while rejoining (this
        task is still running, so ``mark_down`` starts no other) sends it back to pinging."""
        while True:
            await self._ping_until_answered()
            self.up, self.down_at, self.detail = True, None, None
            log.warning("shared state: redis is back; rejoining")
            for callback in list(self.on_rejoin):
                try:
                    await callback()
                except SharedDown:
                    break  # lost again at once
                except Exception:
                    log.exception("shared state: a rejoin step failed")
            if self.up:
                return

    async def _ping_until_answered(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            try:
                await self.redis.ping()
            except asyncio.CancelledError:
                raise
            except Exception:
                continue
            return

    async def check(self) -> bool:
        """Ping now (at start): False, and the link down, when Redis does not answer."""
        try:
            await self.run(lambda r: r.ping())
        except SharedDown:
            return False
        return True

    def status(self) -> SharedStatus:
        down = None if self.down_at is None else round(time.monotonic() - self.down_at, 3)
        return SharedStatus("redis", self.up, down, self.outages, self.detail)

    async def aclose(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        if self._owns_client:
            await self.redis.aclose()


def _is_connection_error(exc: BaseException) -> bool:
    """Any Redis failure (refused, timed out, read-only after a failover, out of memory...):
    the request is served on local state rather than failed."""
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError | asyncio.TimeoutError)
