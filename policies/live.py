"""The routing state that outlives a request (and a policy reload): circuit breakers,
latency windows, budgets, probe health, round-robin counters and the measured quality
(a ``QualityBook`` the gateway feeds, shared by every unit).

``RoutingState`` is both the planner's ``Facts`` (read) and the dispatcher's
``AttemptObserver`` (written), so the planner itself stays a pure function of its inputs.
With a ``SharedHub`` (Redis named in the gateway config), what it observes is shared with
the other replicas and theirs is read back (``policies.shared.routing``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from omnisense.schema import Attempt, Health, Task
from policies.budgets import BudgetBook, SpendStore
from policies.circuit import CircuitBoard
from policies.latency import LatencyBook
from policies.plan import CircuitState, LatencyStat
from policies.quality import QualityBook, QualityStat
from policies.shared.routing import SharedHub, SharedRouting

if TYPE_CHECKING:
    from policies.planner import Planner


class RoutingState:
    def __init__(
        self,
        planner: Planner,
        *,
        spend: SpendStore | None = None,
        clock: Callable[[], float] | None = None,
        shared: SharedHub | None = None,
        quality: QualityBook | None = None,
    ):
        clock = clock or time.monotonic
        self.circuits = CircuitBoard(planner.circuit_settings, clock)
        self.latencies = LatencyBook(planner.fastest_settings, clock=clock)
        self.budgets = BudgetBook(planner.loaded.policy.budgets, spend)
        self.health: dict[str, Health] = {}
        self.qualities = quality or QualityBook()
        self._ticks: dict[str, int] = {}
        self.shared: SharedRouting | None = None
        if shared is not None:
            self.shared = shared.attach(planner.loaded.name, self.circuits, self.latencies)

    def adopt(self, planner: Planner) -> None:
        """A reloaded policy: new settings and budgets; breaker states, latency and spend stay."""
        self.circuits.settings_for = planner.circuit_settings
        self.circuits.resettle()
        self.latencies.settings_for = planner.fastest_settings
        self.budgets.set_budgets(planner.loaded.policy.budgets)

    def tick(self, route: str, *, advance: bool = True) -> int:
        """The round-robin turn of ``route``; ``advance=False`` peeks (a dry run)."""
        turn = self._ticks.get(route, 0)
        if advance:
            self._ticks[route] = turn + 1
        return turn

    # Facts
    def circuit(self, provider: str, task: Task) -> CircuitState:
        return self.circuits.state(provider, task)

    def latency(self, provider: str, task: Task) -> LatencyStat | None:
        return self.latencies.stat(provider, task)

    def healthy(self, provider: str) -> bool:
        health = self.health.get(provider)
        return health is None or health.ok

    def quality(self, provider: str, task: Task, language: str | None, source: str) -> QualityStat | None:
        return self.qualities.stat(provider, task.value, language, source)

    # AttemptObserver
    def observe(self, provider: str, task: Task, attempt: Attempt) -> None:
        if attempt.outcome == "skipped":
            return
        shared = self.shared
        was_open = shared is not None and self.circuits.state(provider, task) == "open"
        self.circuits.observe(provider, task, attempt)
        self.latencies.observe(provider, task, attempt)
        if shared is not None:
            shared.observe(provider, task, attempt, was_open)
