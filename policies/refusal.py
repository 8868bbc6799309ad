"""The error a request gets when its plan has no step: the most precise one that is true.

- the key's budget is spent and its budget says reject: 429 ``BudgetExceeded``;
- every candidate was dropped because the caller's key may not use it: 403;
- every candidate was dropped for residency (or the key's scope, and at least one for
  residency): 422 naming ``X-Omnisense-Residency`` when that header narrowed the
  requirement (the caller can ask otherwise) or ``X-Omnisense-Provider`` when the caller
  pinned a provider outside it, else 503 ``NoProvider`` (the policy's, the
  route's or the key's requirement leaves no provider: the operator's to fix);
- every candidate was dropped for the input's size or length (or the key's scope, and at
  least one for size): 413 naming each provider's limit, with the input's field;
- every candidate was dropped for something the caller chose (the input's language or
  format, a translation pair, ``routing.max_cost_usd``; sizes and key scope may join):
  422 naming that field — the request would fail everywhere as it is;
- anything else (no route, the task not offered, open circuits): 503 ``NoProvider``.
"""

from __future__ import annotations

from omnisense.schema import (
    BudgetExceeded,
    Forbidden,
    NoProvider,
    OmnisenseError,
    PayloadTooLarge,
    Task,
    UnprocessableInput,
)
from policies.capabilities import input_field_of
from policies.plan import INPUT, KEY_SCOPE, OVER_COST, RESIDENCY, TOO_LARGE, Plan

CALLERS_CHOICE = frozenset({INPUT, OVER_COST, TOO_LARGE, KEY_SCOPE})


def input_field(task: Task) -> str:
    """The request field that holds a task's main input."""
    if task.modality == "vision":
        return "image"
    return "audio" if task is Task.SPEECH_TRANSCRIBE else "text"


def refusal(task: Task, plan: Plan, key_id: str | None) -> OmnisenseError:
    reasons = "; ".join(str(d) for d in plan.decisions)
    if plan.budget_rejected:
        return BudgetExceeded(f"key {key_id!r} has spent its budget: {reasons}")
    dropped = [d for d in plan.decisions if not d.kept]
    kinds = {d.kind for d in dropped}
    if kinds == {KEY_SCOPE}:
        return Forbidden(f"key {key_id!r} may use none of the providers that serve {task}")
    if RESIDENCY in kinds and kinds <= {RESIDENCY, KEY_SCOPE}:
        where = ", ".join(plan.residency or [])
        why = f"no provider for {task} processes data within the residency required ({where}): {reasons}"
        if plan.residency_field is not None:
            return UnprocessableInput(why, field=plan.residency_field)
        if plan.strategy == "pinned":  # the caller pinned a provider that may not have the data
            return UnprocessableInput(why, field="X-Omnisense-Provider")
        return NoProvider(why)
    if TOO_LARGE in kinds and kinds <= {TOO_LARGE, KEY_SCOPE}:
        limits = "; ".join(str(d) for d in dropped if d.kind == TOO_LARGE)
        why = f"the input is over the limit of every provider for {task}: {limits}"
        return PayloadTooLarge(why, field=input_field(task))
    if kinds and kinds <= CALLERS_CHOICE:
        first = next(d for d in dropped if d.kind in (INPUT, OVER_COST))
        field = "routing.max_cost_usd" if first.kind == OVER_COST else input_field_of(first.reason)
        return UnprocessableInput(
            f"no provider for {task} can take this request: {reasons}", field=field or input_field(task)
        )
    return NoProvider(f"no provider can serve {task}: {reasons or f'no route for {task} in policy {plan.policy!r}'}")
