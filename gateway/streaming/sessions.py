"""The open live sessions of this process, and what happens to them when the gateway stops.

uvicorn answers SIGTERM by closing every WebSocket with 1012 at once, before the application
hears of it. ``Sessions.hook_signals`` (called in the lifespan, in the main thread of a
server that handles signals) puts a handler in front of uvicorn's: every open session is
closed with 1001 "the gateway is shutting down" and leaves its record, then uvicorn's own
handler runs (after at most ``drain_s``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from gateway.streaming.session import LiveSession

log = logging.getLogger("omnisense.streaming")
GOING_AWAY = (1001, "going away: the gateway is shutting down")


class Sessions:
    def __init__(self, max_sessions: int = 1000) -> None:
        self.max_sessions = max_sessions
        self.open: set[LiveSession] = set()
        self._empty = asyncio.Event()
        self._empty.set()
        self._restore: list[tuple[int, Any]] = []
        self.stopping = False
        self.drainer: asyncio.Task[None] | None = None

    def add(self, session: LiveSession) -> bool:
        """Count ``session`` in; False when the process holds ``max_sessions`` already (or is stopping)."""
        if self.stopping or len(self.open) >= self.max_sessions:
            return False
        self.open.add(session)
        self._empty.clear()
        return True

    def remove(self, session: LiveSession) -> None:
        self.open.discard(session)
        if not self.open:
            self._empty.set()

    async def close_all(self, drain_s: float = 5.0) -> None:
        """Close every open session with 1001 and wait (``drain_s`` at most) for their records."""
        self.stopping = True
        for session in list(self.open):
            session.stop(*GOING_AWAY)
        try:
            async with asyncio.timeout(drain_s):
                await self._empty.wait()
        except TimeoutError:
            log.warning("%d live sessions still open after %.1f s", len(self.open), drain_s)

    def hook_signals(self, drain_s: float = 5.0) -> None:
        """SIGTERM and SIGINT close the sessions first, then reach the server's own handler."""
        if threading.current_thread() is not threading.main_thread():
            return  # a server in a thread handles no signals (tests): close_all() at shutdown still runs
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue
            self._restore.append((sig, previous))
            signal.signal(sig, _handler(self, loop, previous, drain_s))

    def unhook_signals(self) -> None:
        for sig, previous in self._restore:
            signal.signal(sig, previous)
        self._restore.clear()


def _handler(
    sessions: Sessions,
    loop: asyncio.AbstractEventLoop,
    previous: Callable[[int, FrameType | None], Any],
    drain_s: float,
) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        if not sessions.open or sessions.stopping:
            previous(signum, frame)
            return

        async def drain_then_exit() -> None:
            try:
                await sessions.close_all(drain_s)
            finally:
                previous(signum, frame)

        def start() -> None:
            sessions.drainer = loop.create_task(drain_then_exit())

        loop.call_soon_threadsafe(start)

    return handle
