"""Circuit breakers, one per (provider, task).

closed -> open: ``failures`` consecutive failures, or a failure rate of at least
``failure_rate`` over the last ``window`` calls (once ``min_calls`` were seen).
open -> half_open: after ``cooldown_s``; the planner then keeps the provider again and
the dispatcher lets exactly one trial call through (``acquire``).
half_open -> closed on the trial's success; -> open again (a new cooldown) on its failure.

Only the provider's faults count (Upstream* errors and timeouts); bad input, an
unsupported request or a hedged call cancelled by the winner do not.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from omnisense.schema import Attempt, Task, UpstreamError
from omnisense.schema.errors import ERRORS_BY_SLUG
from policies.model import CircuitSettings
from policies.plan import CircuitState

_FAULTS = frozenset(cls.__name__ for cls in ERRORS_BY_SLUG.values() if issubclass(cls, UpstreamError))


def is_fault(attempt: Attempt) -> bool:
    """Did this attempt fail because of the provider?"""
    return attempt.outcome == "timeout" or (attempt.outcome == "error" and attempt.error_type in _FAULTS)


@dataclass
class Breaker:
    settings: CircuitSettings
    clock: Callable[[], float] = time.monotonic
    state_: CircuitState = "closed"
    consecutive: int = 0
    recent: deque[bool] = field(default_factory=deque)  # True: a failure
    recent_failures: int = 0  # the Trues in ``recent``
    opened_at: float = 0.0
    trial_in_flight: bool = False
    opened_count: int = 0

    def state(self) -> CircuitState:
        if self.state_ == "open" and self.clock() - self.opened_at >= self.settings.cooldown_s:
            self.state_ = "half_open"
            self.trial_in_flight = False
        return self.state_

    def cooldown_left_s(self) -> float:
        if self.state_ != "open":
            return 0.0
        return max(0.0, self.settings.cooldown_s - (self.clock() - self.opened_at))

    def acquire(self) -> bool:
        """May a call go to this provider now? In half-open, only one trial at a time."""
        if self.state_ == "closed":  # the usual case: nothing can change it here
            return True
        state = self.state()
        if state == "closed":
            return True
        if state == "half_open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record(self, attempt: Attempt) -> None:
        if attempt.outcome == "cancelled" or (attempt.outcome == "error" and not is_fault(attempt)):
            self.trial_in_flight = False  # no verdict on the provider
            return
        failed = attempt.outcome != "ok" and is_fault(attempt)
        state = self.state_ if self.state_ == "closed" else self.state()
        if state == "half_open":
            if failed:
                self._open()
            else:
                self._close()
            return
        if state == "open":
            return  # a call that started before the circuit opened
        self.consecutive = self.consecutive + 1 if failed else 0
        recent = self.recent
        recent.append(failed)
        self.recent_failures += failed
        while len(recent) > self.settings.window:
            self.recent_failures -= recent.popleft()
        settings, n = self.settings, len(recent)
        if (settings.failures and self.consecutive >= settings.failures) or (
            settings.failure_rate is not None
            and n >= settings.min_calls
            and self.recent_failures / n >= settings.failure_rate
        ):
            self._open()

    def adopt_open(self, left_s: float) -> bool:
        """Another replica opened this circuit with ``left_s`` of cooldown to go: open it here
        too. True when it opened here; one already open only takes the later end."""
        if self.state() == "open":
            if self.cooldown_left_s() < left_s - 0.05:
                self.opened_at = self.clock() - max(0.0, self.settings.cooldown_s - left_s)
            return False
        self._open()
        self.opened_at = self.clock() - max(0.0, self.settings.cooldown_s - left_s)
        return True

    def _open(self) -> None:
        self.state_, self.opened_at, self.trial_in_flight = "open", self.clock(), False
        self.opened_count += 1

    def _close(self) -> None:
        self.state_, self.consecutive, self.trial_in_flight = "closed", 0, False
        self.recent.clear()
        self.recent_failures = 0


class CircuitBoard:
    """All breakers of a gateway; an AttemptObserver. Settings come from the policy's
    routes (``settings_for``), which a reload swaps without losing breaker states."""

    def __init__(
        self, settings_for: Callable[[Task], CircuitSettings], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings_for = settings_for
        self.clock = clock
        self.breakers: dict[tuple[str, Task], Breaker] = {}

    def breaker(self, provider: str, task: Task) -> Breaker:
        key = (provider, task)
        b = self.breakers.get(key)
        if b is None:
            b = self.breakers[key] = Breaker(self.settings_for(task), self.clock)
        return b

    def state(self, provider: str, task: Task) -> CircuitState:
        b = self.breakers.get((provider, task))
        return "closed" if b is None else b.state()

    def acquire(self, provider: str, task: Task) -> bool:
        return (self.breakers.get((provider, task)) or self.breaker(provider, task)).acquire()

    def observe(self, provider: str, task: Task, attempt: Attempt) -> None:
        (self.breakers.get((provider, task)) or self.breaker(provider, task)).record(attempt)

    def opened(self) -> list[tuple[str, Task, float]]:
        """(provider, task, cooldown left) of every open breaker."""
        return [(p, t, b.cooldown_left_s()) for (p, t), b in self.breakers.items() if b.state() == "open"]

    def resettle(self) -> None:
        """After a reload: breakers take the new settings, keeping their state."""
        for (_, task), b in self.breakers.items():
            b.settings = self.settings_for(task)

    def by_provider(self) -> dict[str, str]:
        """Each provider's worst circuit over its tasks (for ``Metrics.bind_circuits``)."""
        rank = {"closed": 0, "half_open": 1, "open": 2}
        out: dict[str, str] = {}
        for (provider, _), b in self.breakers.items():
            state = b.state()
            if rank[state] > rank[out.get(provider, "closed")]:
                out[provider] = state
            out.setdefault(provider, state)
        return out

    def snapshot(self) -> dict[str, dict[str, dict[str, object]]]:
        """``{provider: {task: {state, consecutive_failures, cooldown_left_s, opened}}}``."""
        out: dict[str, dict[str, dict[str, object]]] = {}
        for (provider, task), b in sorted(self.breakers.items()):
            out.setdefault(provider, {})[task.value] = {
                "state": b.state(),
                "consecutive_failures": b.consecutive,
                "cooldown_left_s": round(b.cooldown_left_s(), 3),
                "opened": b.opened_count,
            }
        return out
