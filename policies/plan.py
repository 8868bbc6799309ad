"""Plans: what the dispatcher executes for one request, and why.

A plan is the output of a strategy: an ordered list of steps (provider + per-attempt
settings), the providers to mirror to, and the decisions that explain it.

The planner's inputs besides the task and the request are explicit: ``RequestMeta``
(who asks, hints, the budget left, the random draw) and ``Facts`` (circuit states,
observed latency, probe health, measured quality), so that planning is a pure function that tests can
feed by hand and ``/v1/route/explain`` can run without side effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec

from omnisense.schema import Task
from policies.model import Retries
from policies.quality import QualityBook, QualityStat

CircuitState = Literal["closed", "open", "half_open"]


class Step(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    timeout_s: float
    retries: Retries
    last_resort: bool = False  # kept although its circuit is open: nothing else could serve


TOO_LARGE = "too_large"  # Decision.kind: the input is over this provider's size or length limit
KEY_SCOPE = "key_scope"  # Decision.kind: the caller's key may not use this provider
OVER_COST = "over_cost"  # Decision.kind: it would cost more than the request's max_cost_usd
INPUT = "input"  # Decision.kind: it cannot take this input (language, translation pair, format)
RESIDENCY = "residency"  # Decision.kind: it processes the task outside the jurisdictions required


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    kept: bool
    reason: str
    kind: str = ""  # why a candidate was dropped, for the caller's answer: one of the kinds above, or ""

    def __str__(self) -> str:
        return f"{self.provider}: kept {self.reason}" if self.kept else f"{self.provider}: {self.reason}"


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    policy: str
    route: str  # the route pattern that matched
    strategy: str
    steps: list[Step]
    deadline_s: float
    hedge_after_ms: float | None = None
    shadow: list[str] = msgspec.field(default_factory=list)
    shadow_fraction: float = 0.0
    decisions: list[Decision] = msgspec.field(default_factory=list)
    budget_rejected: bool = False  # no candidate fits the key's budget and the budget says reject
    residency: list[str] | None = None  # the jurisdictions this request may be processed in (None: any)
    residency_field: str | None = None  # the request header that narrowed it (the caller's choice)


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What the planner knows about this request besides its body."""

    key_id: str | None = None
    pinned: str | None = None
    allowed: frozenset[str] | None = None  # the providers the caller's key may use (None: any)
    max_cost_usd: float | None = None  # the caller's cap for this request
    budget_left_usd: float | None = None  # what the key may still spend (None: no budget)
    budget_then: str = "reject"  # "reject" or a provider to switch to when over budget
    draw: float = 0.0  # uniform in [0, 1): the weighted pick
    tick: int = 0  # a counter per route: round robin
    explore: bool = False  # fastest: the least recently measured first; best_quality: the least measured first
    # The caller's residency requirement (its key's and X-Omnisense-Residency's, intersected);
    # the planner narrows the policy's and the route's with it.
    residency: frozenset[str] | None = None
    residency_field: str | None = None  # "X-Omnisense-Residency" when the request header asked


@dataclass(frozen=True, slots=True)
class LatencyStat:
    mean_ms: float
    samples: int
    age_s: float  # since the newest sample


class Facts(Protocol):
    """The world as the planner sees it at this moment (read-only)."""

    def circuit(self, provider: str, task: Task) -> CircuitState: ...

    def latency(self, provider: str, task: Task) -> LatencyStat | None: ...

    def healthy(self, provider: str) -> bool: ...

    def quality(self, provider: str, task: Task, language: str | None, source: str) -> QualityStat | None:
        """The measured quality of ``provider`` for ``task`` in ``language`` (None: every language)
        from ``source`` (``reference`` or ``agreement``; ``policies.quality``)."""
        ...


class NoFacts:
    """Nothing known: every circuit closed, no latency or quality measured, every provider healthy."""

    def circuit(self, provider: str, task: Task) -> CircuitState:
        return "closed"

    def latency(self, provider: str, task: Task) -> LatencyStat | None:
        return None

    def healthy(self, provider: str) -> bool:
        return True

    def quality(self, provider: str, task: Task, language: str | None, source: str) -> QualityStat | None:
        return None


@dataclass
class StaticFacts:
    """Facts given as tables (tests, ``explain`` with a snapshot)."""

    circuits: dict[tuple[str, Task], CircuitState] | None = None
    latencies: dict[tuple[str, Task], LatencyStat] | None = None
    unhealthy: frozenset[str] = frozenset()
    qualities: QualityBook | None = None

    def circuit(self, provider: str, task: Task) -> CircuitState:
        return (self.circuits or {}).get((provider, task), "closed")

    def latency(self, provider: str, task: Task) -> LatencyStat | None:
        return (self.latencies or {}).get((provider, task))

    def healthy(self, provider: str) -> bool:
        return provider not in self.unhealthy

    def quality(self, provider: str, task: Task, language: str | None, source: str) -> QualityStat | None:
        return self.qualities.stat(provider, task.value, language, source) if self.qualities else None
