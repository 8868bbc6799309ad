"""The error a request gets when its plan has no step: the most precise one that is true.

- the key's budget is spent and its budget says reject: 429 ``BudgetExceeded``;
- every candidate was dropped because the caller's key may not use it: 403;
- every candidate was dropped for the input's size or length (or the key's scope, and at
  least one for size): 413 naming each provider's limit, with the input's field;
- anything else (no route, unsupported language, ...): 503 ``NoProvider`` with the reasons.
"""

from __future__ import annotations

from gateway.schema import BudgetExceeded, Forbidden, NoProvider, OmnisenseError, PayloadTooLarge, Task
from policies.plan import KEY_SCOPE, TOO_LARGE, Plan


def input_field(task: Task) -> str:
    """The request field that holds a task's main input."""
    if task.modality == "vision":
        return "image"
    return "audio" if task is Task.SPEECH_TRANSCRIBE else "text"


def refusal(task: Task, plan: Plan, key_id: str | None) -> OmnisenseError:
    reasons = "; ".join(str(d) for d in plan.decisions)
    if plan.budget_rejected:
        return BudgetExceeded(f"key {key_id!r} has spent its budget: {reasons}")
    kinds = {d.kind for d in plan.decisions if not d.kept}
    if kinds == {KEY_SCOPE}:
        return Forbidden(f"key {key_id!r} may use none of the providers that serve {task}")
    if TOO_LARGE in kinds and kinds <= {TOO_LARGE, KEY_SCOPE}:
        limits = "; ".join(str(d) for d in plan.decisions if d.kind == TOO_LARGE)
        return PayloadTooLarge(
            f"the input is over the limit of every provider for {task}: {limits}", field=input_field(task)
        )
    return NoProvider(f"no provider can serve {task}: {reasons or f'no route for {task} in policy {plan.policy!r}'}")
