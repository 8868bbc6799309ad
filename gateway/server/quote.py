"""Price quotes: ``POST /v1/{modality}/{task}?dry_run=true`` answers the plan and the price
before anything is called.

The request is decoded and checked exactly as a real one (the audio's seconds counted from
its frames, the text's characters), planned by the same planner with the caller's key (its
providers, its budget left), without calling a provider or changing routing state. The
answer names every step with what it would cost by its price list, ``price_usd`` (what the
first step, the provider that serves when nothing fails, costs: the ``usage.cost_usd`` of
the real call when the vendor reports no other figure), ``reserve_usd`` (what the budget
reservation would hold: the dearest step, or every call of a hedge or a fan-out) and the
budget the key has left. A request the gateway would refuse is answered its refusal.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.charging import estimate
from gateway.dispatch import Dispatcher
from gateway.server.scope import RouteChoice
from omnisense.schema import Task, TaskRequest, UnprocessableInput, request_units, unit_of
from policies.plan import Step
from policies.refusal import refusal

QUERY = frozenset({"dry_run"})  # the query parameter the endpoint reads itself, never a request field


def wants_quote(query: str) -> bool:
    """``dry_run=true`` (or 1) in the query string; ``false``/``0`` or absent: a real call."""
    values = [part.partition("=")[2] for part in query.split("&") if part.partition("=")[0] == "dry_run"]
    if len(values) > 1:
        raise UnprocessableInput("query parameter 'dry_run' is given more than once", field="dry_run")
    if values and values[0] not in ("true", "false", "1", "0"):
        raise UnprocessableInput("dry_run must be true or false", field="dry_run")
    return bool(values) and values[0] in ("true", "1")


async def quote(choice: RouteChoice, task: Task, request: TaskRequest, key_id: str | None) -> dict[str, Any]:
    dispatcher = choice.dispatcher
    units, unit = request_units(request), unit_of(task).value
    allowance = await dispatcher.state.budgets.left(key_id) if key_id in dispatcher.state.budgets.budgets else None
    out: dict[str, Any] = {"dry_run": True, "task": task.value, "units": units, "unit": unit,
                           "budget_left_usd": allowance.left_usd if allowance else None}  # fmt: skip
    fanout = await dispatcher.plan_fanout(
        task, request, key_id, choice.pinned, allowed=choice.allowed, residency=choice.residency
    )
    if fanout is not None:
        every = [*fanout.steps, fanout.tiebreak] if fanout.tiebreak is not None else list(fanout.steps)
        price = estimate(dispatcher.providers, task, request, every, together=True)
        steps = _priced(dispatcher, task, request, every)
        return {**out, "plan": steps, "price_usd": price, "reserve_usd": price, "answer": fanout.rule()}
    plan = await dispatcher.plan(
        task, request, key_id, choice.pinned, dry_run=True, allowed=choice.allowed, residency=choice.residency
    )
    out["decisions"] = [str(d) for d in plan.decisions]
    if plan.budget_rejected or not plan.steps:
        refused = refusal(task, plan, key_id)
        return {**out, "plan": [], "price_usd": None, "reserve_usd": None,
                "answer": f"refused: {refused.status} {refused.detail}"}  # fmt: skip
    steps = _priced(dispatcher, task, request, plan.steps)
    together = plan.hedge_after_ms is not None
    return {
        **out, "plan": steps, "price_usd": steps[0]["cost_usd"],
        "reserve_usd": estimate(dispatcher.providers, task, request, plan.steps, together=together),
        "answer": f"served by {plan.steps[0].provider}",
    }  # fmt: skip


def _priced(dispatcher: Dispatcher, task: Task, request: TaskRequest, steps: list[Step]) -> list[dict[str, Any]]:
    units = request_units(request)
    return [
        {**msgspec.to_builtins(s), "cost_usd": round(dispatcher.providers[s.provider].info.cost(task, units), 8)}
        for s in steps
        if s.provider in dispatcher.providers
    ]
