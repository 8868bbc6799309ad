"""The providers that may serve a live session, in the order the route's policy gives them.

No second router: the dispatcher's planner plans a speech.transcribe request (the key's
providers, pins, budget left, open circuits, the strategy) and only the planned providers
whose capability says ``streaming`` (and that implement ``StreamingTranscriber``) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.base import StreamingTranscriber
from gateway.dispatch import Dispatcher
from omnisense.schema import Media, NoProvider, Task, TranscribeRequest
from policies.refusal import refusal
from policies.residency import CallerResidency

TASK = Task.SPEECH_TRANSCRIBE


@dataclass
class Candidates:
    providers: list[tuple[str, StreamingTranscriber]]
    policy: str
    route: str
    strategy: str
    decisions: list[str] = field(default_factory=list)


async def streaming_candidates(
    dispatcher: Dispatcher,
    key_id: str | None,
    language: str | None,
    *,
    pinned: str | None = None,
    allowed: frozenset[str] | None = None,
    residency: CallerResidency | None = None,
) -> Candidates:
    """The plan's streaming providers; the REST refusal when the plan has none (BudgetExceeded:
    4002, Forbidden: 4003, UnprocessableInput for a residency the caller asked: 1007, NoProvider:
    4503), NoProvider when none of them streams."""
    request = TranscribeRequest(audio=Media(data=b"", format="wav"), language=language)
    plan = await dispatcher.plan(TASK, request, key_id, pinned, allowed=allowed, residency=residency)
    decisions = [str(d) for d in plan.decisions]
    if plan.budget_rejected or not plan.steps:  # the REST refusal: key scope, residency, budget, no route
        raise refusal(TASK, plan, key_id)
    kept: list[tuple[str, StreamingTranscriber]] = []
    for step in plan.steps:
        provider = dispatcher.providers.get(step.provider)
        support = provider.info.capabilities.get(TASK) if provider is not None else None
        if provider is None or support is None or not support.streaming:
            decisions.append(f"{step.provider}: dropped: does not stream {TASK}")
        elif not isinstance(provider, StreamingTranscriber):
            decisions.append(f"{step.provider}: dropped: declares streaming but has no open_transcription")
        else:
            kept.append((step.provider, provider))
    if not kept:
        raise NoProvider(f"no provider of policy {plan.policy!r} can transcribe live (streaming) for this key")
    return Candidates(kept, plan.policy, plan.route, plan.strategy, decisions)
