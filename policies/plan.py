"""Plans: what the dispatcher executes for one request, and why.

A plan is the output of a strategy: an ordered list of steps (provider + per-attempt
settings), the providers to mirror to, and the decisions that explain it.
"""

from __future__ import annotations

import msgspec

from policies.model import Retries


class Step(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    timeout_s: float
    retries: Retries


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    kept: bool
    reason: str


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    policy: str
    route: str  # the route pattern that matched
    strategy: str
    steps: list[Step]
    deadline_s: float
    hedge_after_ms: float | None = None
    shadow: list[str] = msgspec.field(default_factory=list)
    decisions: list[Decision] = msgspec.field(default_factory=list)
