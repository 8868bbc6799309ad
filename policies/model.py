"""The policy file, as msgspec Structs (DESIGN §5).

```yaml
version: 1
providers:
  aws:   {kind: aws, region: eu-west-1, timeout_s: 5}
  local: {kind: local}
defaults: {strategy: priority, retries: {attempts: 2, backoff_s: 0.1}, timeout_s: 10}
routes:
  vision.*:       {candidates: [local, aws]}
  text.sentiment: {strategy: weighted, candidates: [{provider: aws, weight: 90}, {provider: local, weight: 10}]}
```
A provider block is kept as a plain mapping: its ``kind`` picks the adapter, and the
adapter validates the rest of the block itself.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Strategy = Literal["priority", "cheapest", "fastest", "weighted", "round_robin"]


class _Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Retries(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    attempts: int = 1  # tries per provider, the first included
    backoff_s: float = 0.1
    max_backoff_s: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")


class CircuitSettings(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    failures: int = 5  # consecutive failures that open the circuit
    cooldown_s: float = 30.0


class Candidate(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    provider: str
    weight: float = 1.0


class RouteSettings(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings a route may override; unset fields fall back to ``defaults``."""

    strategy: Strategy | None = None
    timeout_s: float | None = None  # per attempt
    deadline_s: float | None = None  # the whole request
    retries: Retries | None = None
    circuit: CircuitSettings | None = None
    hedge_after_ms: float | None = None


class Route(RouteSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    candidates: list[str | Candidate]
    shadow: list[str] = msgspec.field(default_factory=list)
    shadow_fraction: float = 1.0

    def candidate_list(self) -> list[Candidate]:
        return [Candidate(provider=c) if isinstance(c, str) else c for c in self.candidates]


class Defaults(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strategy: Strategy = "priority"
    timeout_s: float = 10.0
    deadline_s: float = 30.0
    retries: Retries = Retries()
    circuit: CircuitSettings = CircuitSettings()
    hedge_after_ms: float | None = None


class Budget(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: str
    usd_per_day: float | None = None
    usd_per_month: float | None = None
    then: str = "reject"  # "reject" or a provider name to switch to


class PolicyFile(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: Literal[1] = 1
    providers: dict[str, dict[str, Any]]
    defaults: Defaults = Defaults()
    routes: dict[str, Route] = msgspec.field(default_factory=dict)
    budgets: list[Budget] = msgspec.field(default_factory=list)
