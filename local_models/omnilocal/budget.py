"""Time-bounded model calls and load shedding.

The gateway sends the time it will wait (``X-Omnisense-Timeout-S``); the entry service
turns it into an absolute deadline (wall clock: every service runs on this host) and
passes it to the family service with the call. A family call whose deadline has passed
before it starts (it waited in the queue) is dropped at once, and long models check
the deadline between chunks of work (:func:`check_deadline`), so a request the gateway
gave up on stops consuming the worker instead of starving the requests behind it.

:class:`Admission` bounds how many requests each family holds (running or queued):
beyond that the entry answers 503 with Retry-After, which the gateway maps to
UpstreamThrottled and routes elsewhere, instead of queueing without bound.
"""

from __future__ import annotations

import threading
import time

from .errors import ModelInputError

TIMEOUT_HEADER = "x-omnisense-timeout-s"
DEFAULT_BUDGET_S = 60.0
MAX_BUDGET_S = 300.0  # the family services' own traffic timeout

_current = threading.local()


class DeadlineExceeded(ModelInputError):
    def __init__(self, detail: str) -> None:
        super().__init__("timeout", detail)


def budget_from(header: str | None) -> float:
    """Seconds the caller will wait, from the header (default and cap when absent or bad)."""
    try:
        value = float(header) if header else DEFAULT_BUDGET_S
    except ValueError:
        value = DEFAULT_BUDGET_S
    return min(max(value, 0.001), MAX_BUDGET_S)


def set_deadline(deadline: float | None) -> None:
    """The deadline (``time.time()``) of the call this thread runs now; None: unbounded."""
    _current.deadline = deadline


def remaining_s() -> float | None:
    deadline: float | None = getattr(_current, "deadline", None)
    return None if deadline is None else deadline - time.time()


def check_deadline(what: str = "the request") -> None:
    """Raise DeadlineExceeded when the current call's deadline has passed."""
    left = remaining_s()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"{what} ran out of its time budget ({-left:.2f} s over): abandoned")


class Admission:
    """At most ``limit`` requests per family in the server at once (running or queued)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}
        self.shed = 0  # requests refused so far

    def enter(self, family: str) -> bool:
        held = self._held.get(family, 0)
        if held >= self.limit:
            self.shed += 1
            return False
        self._held[family] = held + 1
        return True

    def leave(self, family: str) -> None:
        self._held[family] = max(0, self._held.get(family, 0) - 1)

    def held(self, family: str) -> int:
        return self._held.get(family, 0)
