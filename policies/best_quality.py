"""The ``best_quality`` strategy: the candidate most often right for this task and language goes first.

Each candidate's figure comes from the facts (``Facts.quality``, held in ``policies.quality``)
for the request's task and declared language (its primary subtag; a request that declares
none is judged on the figures of every language together):

- its accuracy against references (``omnisense eval``) when it has ``min_samples`` of them,
  else its agreement with fan-out consensus and served answers when it has that many;
- with ``cost_weight`` the figure is the score minus ``cost_weight`` x the request's cost in USD;
- the candidates within ``tolerance`` of the best figure count as equally right: the cheapest
  of them goes first (the route's order breaking ties), then the rest of them by cost; the
  other measured ones follow by figure;
- a candidate with too little evidence follows the measured ones in the route's order, so
  with no evidence at all the route's order stands;
- a candidate costing more than ``max_cost_usd`` for this request goes after all of those
  (still a fallback: the strategy orders, the guards drop);
- on an exploring request (``RequestMeta.explore``, drawn with the ``explore`` share) the
  candidate with the fewest samples goes first, so the others keep being measured.

Every reason names the figure that decided: score, samples, source, language and cost.
"""

from __future__ import annotations

from policies.model import BestQuality, Candidate
from policies.quality import SOURCES, QualityStat
from policies.strategies import Inputs, Ranked

EPS = 1e-12


def _figure(inp: Inputs, provider: str, settings: BestQuality) -> tuple[QualityStat | None, int]:
    """The figure that counts (None: too little evidence) and every sample seen for it."""
    seen = 0
    chosen: QualityStat | None = None
    for source in SOURCES:  # reference first
        stat = inp.facts.quality(provider, inp.task, inp.language, source)
        if stat is None:
            continue
        seen += stat.samples
        if chosen is None and stat.samples >= settings.min_samples:
            chosen = stat
    return chosen, seen


def _describe(stat: QualityStat, cost: float) -> str:
    where = stat.language or "all languages"
    return f"{stat.source} {stat.score:.3f} over {stat.samples} samples ({where}), cost ${cost:.6f}"


def best_quality(cands: list[Candidate], inp: Inputs) -> Ranked:
    settings = inp.best_quality
    order = {c.provider: i for i, c in enumerate(cands)}
    figures = {c.provider: _figure(inp, c.provider, settings) for c in cands}

    def cost(c: Candidate) -> float:
        return inp.costs.get(c.provider, 0.0)

    def stat(c: Candidate) -> QualityStat:
        found = figures[c.provider][0]
        assert found is not None
        return found

    def value(c: Candidate) -> float:
        return stat(c).score - settings.cost_weight * cost(c)

    cap = settings.max_cost_usd
    capped = [c for c in cands if cap is not None and cost(c) > cap + EPS]
    pool = [c for c in cands if c not in capped]
    measured = [c for c in pool if figures[c.provider][0] is not None]
    out: Ranked = []
    if measured:
        best = max(value(c) for c in measured)
        equal = sorted((c for c in measured if value(c) >= best - settings.tolerance - EPS),
                       key=lambda c: (cost(c), order[c.provider]))  # fmt: skip
        below = sorted((c for c in measured if c not in equal), key=lambda c: (-value(c), cost(c), order[c.provider]))
        near = f"within {settings.tolerance:g} of the best ({best:.3f}): cheapest first"
        out += [(c, f"{_describe(stat(c), cost(c))}; {near}") for c in equal]
        out += [(c, f"{_describe(stat(c), cost(c))}; below the best") for c in below]
    for c in pool:
        if figures[c.provider][0] is None:
            seen = figures[c.provider][1]
            why = f"too little evidence ({seen} samples, min_samples {settings.min_samples}): route order"
            out.append((c, f"{why}, cost ${cost(c):.6f}"))
    for c in capped:
        out.append((c, f"costs ${cost(c):.6f} > best_quality.max_cost_usd ${cap:.6f}: after the others"))
    if inp.meta.explore and measured and len(pool) > 1:
        least = min(pool, key=lambda c: (figures[c.provider][1], order[c.provider]))
        at = next(i for i, (c, _) in enumerate(out) if c is least)
        cand, why = out.pop(at)
        out.insert(0, (cand, f"exploring (fewest samples): {why}"))
    return out
