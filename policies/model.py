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

Strategy = Literal["priority", "cheapest", "fastest", "weighted", "round_robin", "best_quality"]
# What ``redact:`` removes before an untrusted provider sees the input (gateway.redaction).
RedactKind = Literal["pii", "faces", "text"]
OnRedactionError = Literal["fail", "skip_untrusted"]


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
    """A breaker per (provider, task): it opens on ``failures`` consecutive failures, or when
    the failure rate over the last ``window`` calls reaches ``failure_rate`` (once at least
    ``min_calls`` were seen); after ``cooldown_s`` one trial call (half-open) decides."""

    failures: int = 5  # consecutive failures that open the circuit (0: never on this rule)
    failure_rate: float | None = None  # e.g. 0.5; None: only the consecutive rule
    window: int = 20  # calls the failure rate is measured over
    min_calls: int = 10  # calls needed before the rate rule may open the circuit
    cooldown_s: float = 30.0

    def __post_init__(self) -> None:
        if self.failures < 0 or self.window < 1 or self.min_calls < 1 or self.cooldown_s < 0:
            raise ValueError("failures >= 0, window >= 1, min_calls >= 1, cooldown_s >= 0")
        if self.failure_rate is not None and not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")


class Fastest(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``fastest`` strategy: mean latency over a sliding window, with exploration."""

    window: int = 50  # samples kept per (provider, task)
    window_s: float = 300.0  # samples older than this are forgotten
    explore: float = 0.05  # fraction of requests that try the least recently measured candidate first


class BestQuality(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``best_quality`` strategy (``policies.best_quality``): candidates ranked by their measured
    quality for the request's task and language (``reference`` accuracy when a candidate has
    ``min_samples`` of it, else ``agreement``), the cheapest first among those within ``tolerance``
    of the best."""

    min_samples: int = 20  # samples a figure needs before it counts; fewer: the route's order, after the measured
    tolerance: float = 0.02  # candidates within this much of the best count as equally right: cheapest first
    cost_weight: float = 0.0  # score minus cost_weight x the request's cost in USD (0: cost only breaks ties)
    max_cost_usd: float | None = None  # a candidate costing more per request goes after the others
    explore: float = 0.05  # fraction of requests that put the least-measured candidate first

    def __post_init__(self) -> None:
        if self.min_samples < 1 or self.tolerance < 0 or self.cost_weight < 0:
            raise ValueError("min_samples >= 1, tolerance >= 0, cost_weight >= 0")
        if not 0 <= self.explore <= 1:
            raise ValueError("explore must be in [0, 1]")
        if self.max_cost_usd is not None and self.max_cost_usd < 0:
            raise ValueError("max_cost_usd must be >= 0")


class Candidate(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    provider: str
    weight: float = 1.0
    timeout_s: float | None = None  # per attempt, for this provider on this route

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError("weight must be >= 0")


class RouteSettings(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings a route may override; unset fields fall back to ``defaults``."""

    strategy: Strategy | None = None
    timeout_s: float | None = None  # per attempt
    deadline_s: float | None = None  # the whole request
    retries: Retries | None = None
    circuit: CircuitSettings | None = None
    hedge_after_ms: float | None = None
    fastest: Fastest | None = None
    best_quality: BestQuality | None = None
    sticky: bool | None = None  # weighted: the same key always gets the same first pick


class CacheRoute(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``cache: {ttl_s: 86400}`` on a route: answers are kept for this long (off when absent).

    Each API key (tenant) has its own entries; ``shared: true`` lets every key read the answers
    any key stored (a hit then tells a caller that some tenant sent the same input)."""

    ttl_s: float
    shared: bool = False

    def __post_init__(self) -> None:
        if self.ttl_s <= 0:
            raise ValueError("ttl_s must be > 0")


class FanOut(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``fanout: {providers: [a, b], tiebreak: c, agree_at: 0.8}`` on a route: every request of it
    is answered by all of ``providers`` at once (``gateway.fanout``), and their consensus. With a
    ``tiebreak``, it is called only when the others disagree: two answers score under ``agree_at``
    against each other (left out: the task's own agreement rule), or one of them failed."""

    providers: list[str]
    tiebreak: str | None = None
    agree_at: float | None = None


class Route(RouteSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # A fan-out route may leave its candidates out: they serve only requests that pin a provider.
    candidates: list[str | Candidate] = msgspec.field(default_factory=list)
    fanout: FanOut | None = None
    cache: CacheRoute | None = None  # the response cache for this route (gateway.cache)
    # Tried in this order after the strategy's ranked candidates (e.g. a free local model
    # behind `cheapest` clouds, which would otherwise always rank first).
    fallback: list[str] = msgspec.field(default_factory=list)
    shadow: list[str] = msgspec.field(default_factory=list)
    shadow_fraction: float = 1.0
    # Where this route's requests may be processed: a jurisdiction (``eu``) or a list; it narrows
    # the policy's own ``residency`` (``policies.residency``, docs/data-protection.md).
    residency: str | list[str] | None = None
    # Redaction (gateway.redaction, docs/data-protection.md): ``pii`` (text tasks, and text going
    # into translation and synthesis), ``faces`` and ``text`` (image tasks) are removed before any
    # provider whose block is not ``trusted: true`` is called; ``redact_output: [pii]`` removes PII
    # from OCR text and transcripts on the way back, whoever answered.
    redact: list[RedactKind] = msgspec.field(default_factory=list)
    redact_output: list[Literal["pii"]] = msgspec.field(default_factory=list)
    # The redactor down, erring or slow: "fail" answers 503 and calls nobody untrusted;
    # "skip_untrusted" serves from the route's trusted providers only.
    on_redaction_error: OnRedactionError = "fail"

    def __post_init__(self) -> None:
        if not 0 <= self.shadow_fraction <= 1:
            raise ValueError("shadow_fraction must be in [0, 1]")

    def candidate_list(self) -> list[Candidate]:
        return [Candidate(provider=c) if isinstance(c, str) else c for c in self.candidates]


class Defaults(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strategy: Strategy = "priority"
    timeout_s: float = 10.0
    deadline_s: float = 30.0
    retries: Retries = Retries()
    circuit: CircuitSettings = CircuitSettings()
    hedge_after_ms: float | None = None
    fastest: Fastest = Fastest()
    best_quality: BestQuality = BestQuality()
    sticky: bool = False


class SpendWindow(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A custom budget window: ``amount`` USD per ``days`` days (fixed windows counted from the epoch, UTC)."""

    amount: float
    days: float

    def __post_init__(self) -> None:
        if self.amount < 0 or self.days <= 0:
            raise ValueError("usd_per: amount >= 0 and days > 0")


class Budget(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Spend of one API key (its ``id``) per UTC day, calendar month and/or custom window, in USD.

    A candidate whose cost for the request would take the key over a limit is dropped;
    when none is left, ``then`` decides: ``reject`` (BudgetExceeded, 429) or the name of a
    provider to serve instead (typically a free local one). The request's estimated cost is
    reserved atomically before the call and settled to its real cost after
    (``policies.budgets``)."""

    key: str
    usd_per_day: float | None = None
    usd_per_month: float | None = None
    usd_per: SpendWindow | None = None  # a custom window: {amount, days}
    then: str = "reject"  # "reject" or a provider name to switch to


class RedactorSettings(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``redactor: {provider: local, timeout_s: 5}``: the model server that finds PII and blurs
    images for ``redact:`` (a ``local`` provider; left out: the policy's first ``local`` one),
    and how long one redaction may take before the request fails closed."""

    provider: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")


class PolicyFile(_Model, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: Literal[1] = 1
    providers: dict[str, dict[str, Any]]
    redactor: RedactorSettings = RedactorSettings()
    defaults: Defaults = Defaults()
    routes: dict[str, Route] = msgspec.field(default_factory=dict)
    budgets: list[Budget] = msgspec.field(default_factory=list)
    # Where every request of this policy may be processed (``eu``, ``[eu, ch]``); routes narrow it.
    residency: str | list[str] | None = None
