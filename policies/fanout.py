"""Fan-out plans: which providers answer one request at once, and whether a tiebreak waits.

A request fans out when it names its ``providers`` (JSON ``"providers": [...]``, or
``?providers=a,b`` with a raw or multipart body), or when its route has a ``fanout`` block
and the request pins no provider; the request's own list wins over the route's.
``plan_fanout`` is a pure function of the task, the request, the request's meta (the key's
providers, its budget left, ``max_cost_usd``) and the providers' facts, like the planner;
``gateway.fanout`` runs what it answers and ``/v1/route/explain`` shows it.

Checks, each a problem naming ``providers`` (or the field at fault):

- the task has no consensus (speech.synthesize): 422;
- a request's list names a provider twice, one this policy does not have, or one that
  cannot take this request (the task, its language, size or format): 422; one the caller's
  key may not use: 403; with a pinned provider too: 422 (one provider, or several);
- a route's list leaves out the providers the key may not use or that cannot take the
  request (each a decision); when none is left: 403 (all for the key) or 503;
- the estimated cost of every call (the tiebreak's included) over ``max_cost_usd``: 422;
  over the key's budget left: 429, refused before any call.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from omnisense.schema import (
    BudgetExceeded,
    Consensus,
    Forbidden,
    NoProvider,
    Task,
    TaskRequest,
    UnprocessableInput,
    request_units,
    spec_of,
)
from policies.capabilities import unsupported_reason
from policies.model import Candidate, FanOut
from policies.plan import RequestMeta, Step
from policies.planner import Planner
from policies.strategies import request_costs

FIELD = "providers"


class FanOutPlan(msgspec.Struct, frozen=True, kw_only=True):
    source: Literal["request", "route"]
    steps: list[Step]  # called at once, in the order given
    tiebreak: Step | None = None  # called only when the others disagree
    agree_at: float | None = None  # None: the task's own agreement rule (``Comparison.agrees``)
    deadline_s: float
    estimated_cost_usd: float  # every call, the tiebreak's included: what the budget must cover
    decisions: list[str] = msgspec.field(default_factory=list)

    @property
    def providers(self) -> list[str]:
        return [s.provider for s in self.steps]

    def rule(self) -> str:
        names = ", ".join(self.providers)
        if self.tiebreak is None:
            return f"fan-out to {names}: every answer, merged into their consensus"
        at = f"score under {self.agree_at:g}" if self.agree_at is not None else "disagree by the task's rule"
        return f"fan-out to {names}; {self.tiebreak.provider} only when two of them {at}, or one fails"


def fanout_of(planner: Planner, task: Task, request: TaskRequest, pinned: str | None) -> FanOut | None:
    """The fan-out this request asks for, or its route's; None: one provider answers."""
    if request.providers is not None:
        return FanOut(providers=list(request.providers))
    resolved = planner.routes.get(task)
    if resolved is None or resolved.route.fanout is None or pinned is not None:
        return None
    return resolved.route.fanout


def plan_fanout(planner: Planner, task: Task, request: TaskRequest, meta: RequestMeta) -> FanOutPlan | None:
    """The fan-out plan for this request; None when it does not fan out. Raises the 4xx/503 above."""
    fanout = fanout_of(planner, task, request, meta.pinned)
    if fanout is None:
        return None
    if spec_of(task).consensus is Consensus.NONE:
        raise UnprocessableInput(
            f"{task} has no consensus: its answers cannot be merged; ask one provider", field=FIELD
        )
    from_request = request.providers is not None
    if from_request and meta.pinned is not None:
        raise UnprocessableInput(f"pinned to {meta.pinned!r} and fanned out: ask one provider or several", field=FIELD)
    decisions: list[str] = []
    if from_request:
        names = _checked(planner, task, request, meta, fanout.providers)
        tiebreak = None
    else:
        names = _usable(planner, task, request, meta, fanout.providers, decisions)
        tiebreak = fanout.tiebreak
        if tiebreak is not None and not _usable(planner, task, request, meta, [tiebreak], decisions):
            tiebreak = None
    costs = request_costs(planner.infos, task, request_units(request), [*names, *([tiebreak] if tiebreak else [])])
    total = round(sum(costs.values()), 8)
    _check_cost(total, meta)
    resolved = planner.routes.get(task)
    return FanOutPlan(
        source="request" if from_request else "route",
        steps=[planner.step(task, Candidate(provider=n)) for n in names],
        tiebreak=planner.step(task, Candidate(provider=tiebreak)) if tiebreak else None,
        agree_at=fanout.agree_at,
        deadline_s=resolved.deadline_s if resolved else planner.defaults.deadline_s,
        estimated_cost_usd=total,
        decisions=decisions,
    )


def _checked(planner: Planner, task: Task, request: TaskRequest, meta: RequestMeta, names: list[str]) -> list[str]:
    """A request's own list: every provider must be known, allowed, able, within residency, and named once."""
    infos = planner.infos
    for i, name in enumerate(names):
        if name in names[:i]:
            raise UnprocessableInput(f"providers: {name!r} is named twice", field=FIELD)
        if name not in infos:
            known = ", ".join(p for p in infos if meta.allowed is None or p in meta.allowed)
            raise UnprocessableInput(f"providers: unknown provider {name!r} (this policy has: {known})", field=FIELD)
        if meta.allowed is not None and name not in meta.allowed:
            raise Forbidden(f"providers: this key may not use provider {name!r}", field=FIELD)
        reason = unsupported_reason(infos[name], task, request)
        if reason is not None:
            raise UnprocessableInput(f"providers: {name!r} cannot serve this request: {reason}", field=FIELD)
        outside = planner.outside_residency(name, task, meta)
        if outside is not None:
            raise UnprocessableInput(f"providers: {name!r} {outside}", field=FIELD)
    return list(names)


def _usable(
    planner: Planner,
    task: Task,
    request: TaskRequest,
    meta: RequestMeta,
    names: list[str],
    decisions: list[str],
) -> list[str]:
    """A route's list: the providers the key may use and that can take the request (the rest, decisions)."""
    kept, scoped = [], 0
    for name in names:
        info = planner.infos.get(name)
        outside = planner.outside_residency(name, task, meta)
        if meta.allowed is not None and name not in meta.allowed:
            decisions.append(f"{name}: left out of the fan-out: the key may not use it")
            scoped += 1
        elif outside is not None:
            decisions.append(f"{name}: left out of the fan-out: it {outside}")
        elif info is None or (reason := unsupported_reason(info, task, request)) is not None:
            decisions.append(f"{name}: left out of the fan-out: {'not configured' if info is None else reason}")
        else:
            kept.append(name)
    if not kept and len(names) > 1:
        why = "; ".join(decisions)
        if scoped == len(names):
            raise Forbidden(f"key {meta.key_id!r} may use none of the providers of the fan-out for {task}")
        raise NoProvider(f"no provider of the fan-out can serve {task}: {why}")
    return kept


def _check_cost(total: float, meta: RequestMeta) -> None:
    if meta.max_cost_usd is not None and total > meta.max_cost_usd + 1e-12:
        raise UnprocessableInput(
            f"the fan-out costs ${total:.6f} in all, over max_cost_usd ${meta.max_cost_usd:.6f}",
            field="routing.max_cost_usd",
        )
    if meta.budget_left_usd is not None and total > meta.budget_left_usd + 1e-12:
        left = max(0.0, meta.budget_left_usd)
        raise BudgetExceeded(
            f"key {meta.key_id!r}: the fan-out costs ${total:.6f} in all, the key has ${left:.6f} left"
        )
