"""Time limits on many concurrent calls, kept by one timer: ``asyncio.timeout`` for the hot path.

Every provider call is bounded (``gateway.dispatch``). ``asyncio.timeout`` arms and cancels
a timer of the event loop on each use: on uvloop (a libuv timer allocated, started and
stopped) some 30k instructions a call under callgrind, 5 % of what the floor of the
gateway's own stack spends on a whole request (``bench/instructions.py``). ``Deadlines``
keeps the limits of all calls in one heap and the loop holds at most one timer for them:
a limit costs a heap push and a few method calls, some 12k instructions.

``Deadlines.limit(seconds)`` is used as ``with deadlines.limit(5.0): await call()`` and
behaves as ``async with asyncio.timeout(5.0)``: when the time is up the task is cancelled,
and the cancellation leaves the block as ``TimeoutError``, unless someone else cancelled
the task too (a client that left, a hedge that lost, shutdown), which stays a
``CancelledError``. A limit fires at most ``TICK_S`` late: the timer wakes once per tick at
most, whatever the number of calls.

A limit that ended (its block was left) stays in the heap until its time comes, marked
done: a heap cannot remove from its middle cheaply. When ended ones outnumber the rest,
the heap is rebuilt from the live ones, so it stays within a few times the calls in flight.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from types import TracebackType

TICK_S = 0.005


class Limit:
    """One call's limit: a context manager (``with``, not ``async with``: nothing is awaited)."""

    __slots__ = ("_cancelling", "_expired", "_owner", "_task", "live", "when")

    def __init__(self, owner: Deadlines, when: float) -> None:
        self._owner = owner
        self.when = when
        self.live = False  # entered, and neither left nor expired
        self._expired = False
        self._cancelling = 0
        self._task: asyncio.Task[object] | None = None

    def __enter__(self) -> Limit:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a time limit is kept for a task: use it inside one")
        self._task = task
        self._cancelling = task.cancelling()
        self.live = True
        self._owner._add(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        task, self._task = self._task, None  # an ended limit waits in the heap: it holds no task
        if self.live:
            self.live = False
            self._owner._ended += 1
        elif (  # as asyncio.timeout: our cancel is taken back; it leaves as TimeoutError if no one else's is
            self._expired
            and task is not None
            and task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc

    def _expire(self) -> None:
        """The time is up (the limit has left the heap): cancel the task; ``__exit__`` makes it a ``TimeoutError``."""
        self.live = False
        self._expired = True
        if self._task is not None:
            self._task.cancel()


class Deadlines:
    """The limits of the calls of one event loop (started afresh when the loop changes, as in tests)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heap: list[tuple[float, int, Limit]] = []  # (when, order of arrival, limit): compared in C
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = 0.0
        self._ended = 0  # limits in the heap that were left before their time

    def limit(self, seconds: float) -> Limit:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._reset(loop)
        return Limit(self, loop.time() + seconds)

    def held(self) -> int:
        """Limits in the heap, live or ended (what the heap costs in memory)."""
        return len(self._heap)

    def _reset(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._loop, self._heap, self._timer, self._ended = loop, [], None, 0

    def _add(self, limit: Limit) -> None:
        heap = self._heap
        if self._ended > 1024 and self._ended * 2 > len(heap):
            heap[:] = [entry for entry in heap if entry[2].live]
            heapq.heapify(heap)
            self._ended = 0
        heapq.heappush(heap, (limit.when, next(self._arrivals), limit))
        if self._timer is None or limit.when < self._armed_at:
            self._arm(limit.when)

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = when
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        assert self._loop is not None
        now = self._loop.time()
        heap = self._heap
        while heap and (heap[0][0] <= now or not heap[0][2].live):  # due, or ended (no wake-up for it)
            limit = heapq.heappop(heap)[2]
            if limit.live:
                limit._expire()
            else:
                self._ended -= 1
        if heap:
            self._arm(max(heap[0][0], now + TICK_S))
