"""The bounded thread pool a provider's synchronous SDK runs in.

Sync SDKs (boto3, the Google and Azure REST clients) run here so that nothing blocks the
event loop, and at most ``max_workers`` calls per provider are in flight. ``run_blocking``
also bounds a call by the request's deadline, and ``background`` runs clean-up work that
nobody waits for (deleting an uploaded object, say) while keeping a reference to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from adapters.base import CallContext
from omnisense.schema import UpstreamTimeout

T = TypeVar("T")
log = logging.getLogger("omnisense.adapters")


class BlockingPool:
    def __init__(self, name: str, max_workers: int = 16) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"omni-{name}")
        self._background: set[asyncio.Future[Any]] = set()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def run_blocking(self, fn: Callable[..., T], *args: Any, ctx: CallContext | None = None) -> T:
        """``fn(*args)`` in the pool, given up (UpstreamTimeout) when the request's deadline passes."""
        if ctx is None:
            return await self.run(fn, *args)
        remaining = ctx.remaining_s()
        if remaining <= 0:
            raise UpstreamTimeout(f"{self.name}: the request's deadline passed before the call")
        try:
            return await asyncio.wait_for(self.run(fn, *args), remaining)
        except TimeoutError:
            raise UpstreamTimeout(f"{self.name}: no answer within the deadline") from None

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in the pool without waiting for it."""
        task = asyncio.ensure_future(self.run(fn, *args))
        self._background.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: background work failed: %r", self.name, task.exception())

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait (up to ``timeout_s``) for the background work still running."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
