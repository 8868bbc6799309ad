"""Strategies: how a route orders the candidates that survived the guards.

Each strategy is a pure function of the candidates (already filtered, in the order the
file gives them) and the request's facts; it returns them in the order the dispatcher
should try them, each with a short reason for ``/v1/route/explain`` and the log record.
The first one serves; the rest are the fallback chain in that order.

- ``priority``: the file's order.
- ``cheapest``: by what this request would cost at each provider (its own units:
  images, characters, seconds), the file's order breaking ties.
- ``fastest``: by the mean observed latency over a sliding window. A candidate with no
  recent sample is tried first, so a provider that recovered (or was never measured)
  gets re-measured; with ``explore`` the least recently measured one goes first.
- ``weighted``: the first pick is drawn by weight (``RequestMeta.draw``; with ``sticky``
  a hash of the key, so one key stays on one provider); the rest follow by weight.
- ``round_robin``: the file's order rotated by a per-route counter.
- ``best_quality`` (``policies.best_quality``): by the quality measured for the request's
  task and language (accuracy against references, else agreement), the cheapest first
  among the equally right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import get_args

from omnisense.schema import ProviderInfo, Task
from policies.model import BestQuality, Candidate, Strategy
from policies.plan import Facts, LatencyStat, RequestMeta
from policies.registry import Registry

Ranked = list[tuple[Candidate, str]]


class Inputs:
    """What a strategy may look at, bundled once per request."""

    __slots__ = ("best_quality", "costs", "facts", "language", "meta", "sticky", "task")

    def __init__(
        self,
        task: Task,
        costs: Mapping[str, float],
        meta: RequestMeta,
        facts: Facts,
        sticky: bool,
        *,
        language: str | None = None,  # the request's declared language, primary subtag
        best_quality: BestQuality | None = None,  # the route's settings of the best_quality strategy
    ) -> None:
        self.task, self.costs, self.meta, self.facts, self.sticky = task, costs, meta, facts, sticky
        self.language, self.best_quality = language, best_quality or BestQuality()


def priority(cands: list[Candidate], inp: Inputs) -> Ranked:
    return [(c, "file order") for c in cands]


def cheapest(cands: list[Candidate], inp: Inputs) -> Ranked:
    ranked = sorted(cands, key=lambda c: inp.costs.get(c.provider, 0.0))
    return [(c, f"cost ${inp.costs.get(c.provider, 0.0):.6f}") for c in ranked]


def fastest(cands: list[Candidate], inp: Inputs) -> Ranked:
    stats = {c.provider: inp.facts.latency(c.provider, inp.task) for c in cands}
    unmeasured = [c for c in cands if stats[c.provider] is None]
    measured = sorted((c for c in cands if stats[c.provider] is not None), key=lambda c: _mean(stats[c.provider]))
    out: Ranked = [(c, "no recent latency sample: measuring") for c in unmeasured]
    for c in measured:
        stat = stats[c.provider]
        assert stat is not None
        out.append((c, f"mean {stat.mean_ms:.1f} ms over {stat.samples} samples"))
    if inp.meta.explore and not unmeasured and len(measured) > 1:
        stalest = max(range(len(out)), key=lambda i: _age(stats[out[i][0].provider]))
        cand, why = out.pop(stalest)
        out.insert(0, (cand, f"exploring: {why}"))
    return out


def _mean(stat: LatencyStat | None) -> float:
    return stat.mean_ms if stat else 0.0


def _age(stat: LatencyStat | None) -> float:
    return stat.age_s if stat else 0.0


def sticky_draw(key_id: str, route: str) -> float:
    """A draw in [0, 1) that depends only on the key and the route."""
    digest = hashlib.blake2b(f"{key_id}\x00{route}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def weighted(cands: list[Candidate], inp: Inputs) -> Ranked:
    total = sum(c.weight for c in cands)
    if total <= 0:
        return [(c, "weight 0 (all zero: file order)") for c in cands]
    draw = inp.meta.draw
    why = "drawn"
    if inp.sticky and inp.meta.key_id:
        draw, why = sticky_draw(inp.meta.key_id, inp.task.value), "sticky for the key"
    point, first = draw * total, len(cands) - 1
    for i, c in enumerate(cands):
        point -= c.weight
        if point < 0:
            first = i
            break
    rest = sorted((c for i, c in enumerate(cands) if i != first), key=lambda c: -c.weight)
    head = cands[first]
    return [(head, f"weight {head.weight:g}/{total:g}, {why}")] + [(c, f"weight {c.weight:g}: fallback") for c in rest]


def round_robin(cands: list[Candidate], inp: Inputs) -> Ranked:
    if not cands:
        return []
    shift = inp.meta.tick % len(cands)
    rotated = cands[shift:] + cands[:shift]
    return [(c, f"round robin turn {inp.meta.tick}") for c in rotated]


# name -> the strategy function, through the one registry shape (``policies.registry``); the
# names are the policy file's ``Strategy`` literal.
_OWN_MODULE = {"best_quality": "policies.best_quality:best_quality"}
STRATEGIES: Registry[Callable[[list[Candidate], Inputs], Ranked]] = Registry(
    "routing strategy", {name: _OWN_MODULE.get(name, f"policies.strategies:{name}") for name in get_args(Strategy)}
)


def request_costs(infos: Mapping[str, ProviderInfo], task: Task, units: float, names: list[str]) -> dict[str, float]:
    """What this request would cost at each named provider."""
    out: dict[str, float] = {}
    for name in names:
        info = infos.get(name)
        out[name] = info.cost(task, units) if info is not None else 0.0
    return out
