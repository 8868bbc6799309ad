"""Watch a policy file: call back when it changes (polling its stat; no extra dependency).

A change is any difference in (inode, size, mtime_ns); editors that write a new file and
rename it over the old one are caught by the inode. Polling every ``interval_s`` (1 s by
default) costs one ``stat`` per interval.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

log = logging.getLogger("omnisense.policy")

Signature = tuple[int, int, int] | None


def signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class FileWatcher:
    def __init__(self, path: str, on_change: Callable[[], Awaitable[object]], interval_s: float = 1.0) -> None:
        self.path = path
        self.on_change = on_change
        self.interval_s = interval_s
        self.seen = signature(path)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    def mark_seen(self) -> None:
        """The file as it is now was handled (a SIGHUP reload read it)."""
        self.seen = signature(self.path)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            now = signature(self.path)
            if now != self.seen and now is not None:
                self.seen = now
                try:
                    await self.on_change()
                except Exception:
                    log.exception("policy reload after a change of %s failed", self.path)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
