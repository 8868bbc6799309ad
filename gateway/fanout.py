"""Run a fan-out: one request answered by several providers at once, and their consensus.

``policies.fanout.plan_fanout`` decides who is asked (the request's ``providers``, or its
route's ``fanout`` block) and refuses what cannot be done before any call; this module
runs the plan for the dispatcher (``Dispatcher.run`` hands a fan-out over):

- every provider is one step of the dispatcher's own machinery (``Dispatcher._run_step``
  on a ``StepTry``: retries, circuit breakers, timeouts, observers), all started at once
  and bounded by the request's one deadline. A provider that fails leaves its error in
  ``answers``; the others still answer. When every one fails, the request ends with the
  problem of the most telling error (the caller's input, else a provider error, else a
  timeout: 502/503/504) and every attempt;
- with a ``tiebreak``, it is called (in the same deadline) only when two of the others
  disagree (``score_of(compare(...)) < agree_at``, or the task's own rule without
  ``agree_at``) or one of them failed; its answer then joins the merge;
- the answers that succeeded are merged by the task's ``consensus`` column
  (``gateway.consensus.merge``); each answer's ``agreement`` is its score against the
  consensus, the envelope's is their mean (null when fewer than two answered: one answer
  agrees with itself by construction, and that is no evidence);
- the envelope's ``result`` and ``consensus`` are the merged result, ``provider`` is
  ``"fanout"`` and ``model`` ``"consensus:<kind>"``; ``usage`` is every answer's units and
  cost together; the request's log record says the same, with every attempt of every
  provider, the plan's rule in ``decisions`` and the output summary of the consensus;
- the cost of every provider (and the tiebreak) is reserved on the key's budget before
  the calls and settled to the total cost after (``policies.budgets``); one ``agreement`` quality sample per
  provider that answered goes to the ``QualityRecorder``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import fmean

import msgspec

from adapters.base import ProviderResult
from adapters.kit.regions import combined
from gateway.agreement import compare
from gateway.charging import estimate, lost_cost
from gateway.consensus import merge
from gateway.dispatch import CircuitOpen, Dispatcher, StepTry
from gateway.logs.record import summarize_output
from gateway.quality import QualityRecorder, QualitySample, discard, sample_language, score_of
from gateway.trace import RequestTrace
from omnisense.schema import (
    Answer,
    AnswerError,
    BudgetExceeded,
    Envelope,
    OmnisenseError,
    Outcome,
    Task,
    TaskRequest,
    TaskResult,
    UpstreamTimeout,
    Usage,
    request_units,
    spec_of,
    unit_of,
)
from policies.fanout import FanOutPlan
from policies.plan import Step

PROVIDER = "fanout"  # the envelope's and the log record's provider for a fan-out


@dataclass(slots=True)
class Call:
    """One provider's part of a fan-out."""

    step: Step
    out: ProviderResult | None = None
    error: OmnisenseError | None = None
    latency_ms: float = 0.0

    @property
    def provider(self) -> str:
        return self.step.provider


class FanOutRunner:
    def __init__(self, dispatcher: Dispatcher, quality: QualityRecorder = discard) -> None:
        self.dispatcher = dispatcher
        self.quality = quality

    async def run(
        self,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        plan: FanOutPlan,
        time_limit: tuple[float, float] | None = None,
    ) -> Envelope[TaskResult]:
        record = trace.record
        record.strategy = PROVIDER
        record.decisions = [plan.rule(), *plan.decisions]
        steps, tiebreak, deadline_s = plan.steps, plan.tiebreak, plan.deadline_s
        if time_limit is not None:  # an async job: far longer than an HTTP request may take
            steps = [msgspec.structs.replace(s, timeout_s=time_limit[0]) for s in steps]
            tiebreak = tiebreak and msgspec.structs.replace(tiebreak, timeout_s=time_limit[0])
            deadline_s = time_limit[1]
        deadline = time.monotonic() + deadline_s
        budgets, key_id = self.dispatcher.state.budgets, record.key_id
        hold = None
        if key_id in budgets.budgets:  # every provider, and the tiebreak, may be called: all reserved
            every = [*steps, tiebreak] if tiebreak is not None else steps
            price = estimate(self.dispatcher.providers, task, request, every, together=True)
            hold = await budgets.reserve(key_id, price)
            if not hold.ok:
                raise BudgetExceeded(f"key {key_id!r}: the fan-out's cost does not fit what its budget has left")
        try:
            return await self._fan_out(task, request, trace, plan, steps, tiebreak, deadline)
        finally:
            if hold is not None:
                record.lost_cost_usd = lost_cost(self.dispatcher.providers, task, request, record.attempts)
                await budgets.settle(hold, record.cost_usd + record.lost_cost_usd)

    async def _fan_out(
        self,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        plan: FanOutPlan,
        steps: Sequence[Step],
        tiebreak: Step | None,
        deadline: float,
    ) -> Envelope[TaskResult]:
        record = trace.record
        upstream_before, started = trace.upstream_ms, time.perf_counter()
        try:
            calls = await self._ask(steps, task, request, trace, deadline)
            if tiebreak is not None:
                disagree, why = disagreement(task, calls, plan.agree_at)
                called = "called" if disagree else "not called"
                record.decisions.append(f"{tiebreak.provider}: tiebreak {called}: {why}")
                if disagree:
                    calls += await self._ask([tiebreak], task, request, trace, deadline)
        finally:  # the calls ran side by side: the time spent waiting is the wall time, not their sum
            trace.upstream_ms = upstream_before + (time.perf_counter() - started) * 1000.0
        answered = [c for c in calls if c.out is not None]
        if not answered:
            raise all_failed(calls)
        envelope = self._envelope(task, request, trace, calls, answered)
        if envelope.answers and envelope.agreement is not None:
            self._record_quality(task, request, envelope)
        return envelope

    async def _ask(
        self, steps: Sequence[Step], task: Task, request: TaskRequest, trace: RequestTrace, deadline: float
    ) -> list[Call]:
        dispatcher = self.dispatcher
        calls = [Call(step) for step in steps]

        async def ask(call: Call) -> None:
            started = time.perf_counter()
            try:
                call.out = await dispatcher._run_step(StepTry(call.step, task, request, trace, deadline))
            except OmnisenseError as exc:
                call.error = exc
            call.latency_ms = round((time.perf_counter() - started) * 1000.0, 3)

        await asyncio.gather(*(ask(c) for c in calls))
        return calls

    def _envelope(
        self, task: Task, request: TaskRequest, trace: RequestTrace, calls: list[Call], answered: list[Call]
    ) -> Envelope[TaskResult]:
        spec = spec_of(task)
        consensus = merge(spec, [c.out.result for c in answered if c.out is not None])
        units, unit = request_units(request), unit_of(task).value
        answers = [self._answer(task, call, consensus, units, unit, len(answered) > 1) for call in calls]
        scores = [a.agreement for a in answers if a.agreement is not None]
        cost = round(sum(a.usage.cost_usd for a in answers if a.usage is not None), 8)
        record = trace.record
        record.provider, record.model = PROVIDER, f"consensus:{spec.consensus.value}"
        placements = self.dispatcher.planner.placements
        where = combined(p for c in calls if (p := placements.of(c.provider, task)) is not None)  # every call sent
        record.region, record.jurisdiction = where.region, where.jurisdiction
        record.units, record.unit, record.cost_usd = units * len(answered), unit, cost
        record.output = summarize_output(task, consensus)
        return Envelope(
            request_id=record.request_id,
            task=record.task,
            provider=PROVIDER,
            model=record.model,
            result=consensus,
            usage=Usage(units=record.units, unit=unit, cost_usd=cost),
            latency_ms=round(trace.elapsed_ms(), 3),
            attempts=list(record.attempts),
            consensus=consensus,
            agreement=round(fmean(scores), 4) if scores else None,
            answers=answers,
        )

    def _answer(
        self, task: Task, call: Call, consensus: TaskResult, units: float, unit: str, compared: bool
    ) -> Answer[TaskResult]:
        info = self.dispatcher.providers[call.provider].info
        if call.out is None:
            err = call.error
            assert err is not None, "a call without an answer has its error"
            support = info.capabilities.get(task)
            return Answer(
                provider=call.provider, model=support.model if support else "", outcome=outcome_of(err),
                result=None, usage=None, latency_ms=call.latency_ms, agreement=None,
                error=AnswerError(type=err.type_uri, title=err.title, status=err.status, detail=err.detail),
            )  # fmt: skip
        out = call.out
        cost = round(out.cost_usd if out.cost_usd is not None else info.cost(task, units), 8)
        comparison = compare(task, consensus, out.result) if compared else None
        return Answer(
            provider=call.provider, model=out.model, outcome="ok", result=out.result,
            usage=Usage(units=units, unit=unit, cost_usd=cost), latency_ms=call.latency_ms,
            agreement=round(score_of(comparison), 4) if comparison is not None else None, error=None,
        )  # fmt: skip

    def _record_quality(self, task: Task, request: TaskRequest, envelope: Envelope[TaskResult]) -> None:
        language = sample_language(request, envelope.consensus)
        samples = [
            QualitySample(
                task=task.value, language=language, provider=a.provider, source="agreement", score=a.agreement
            )
            for a in envelope.answers or []
            if a.agreement is not None
        ]
        self.quality.record(samples)


def disagreement(task: Task, calls: Sequence[Call], agree_at: float | None) -> tuple[bool, str]:
    """Whether the answers disagree (a tiebreak is worth calling), and why in words."""
    failed = [c.provider for c in calls if c.out is None]
    if failed:
        return True, f"{', '.join(failed)} failed"
    for a, b in combinations(calls, 2):
        assert a.out is not None and b.out is not None
        comparison = compare(task, a.out.result, b.out.result)
        if comparison is None:
            return True, f"{a.provider} and {b.provider} cannot be compared"
        score = score_of(comparison)
        agrees = comparison.agrees if agree_at is None else score >= agree_at
        if not agrees:
            return True, f"{a.provider} and {b.provider} disagree ({comparison.metric} score {score:.3f})"
    return False, f"{', '.join(c.provider for c in calls)} agree"


def outcome_of(err: OmnisenseError) -> Outcome:
    if isinstance(err, UpstreamTimeout):
        return "timeout"
    return "skipped" if isinstance(err, CircuitOpen) else "error"


def all_failed(calls: Sequence[Call]) -> OmnisenseError:
    """The error that ends a fan-out nobody answered: the caller's input (it would fail anywhere),
    else a provider's error, else a timeout; its detail names every provider's."""
    errors = [c.error for c in calls if c.error is not None]
    chosen = (
        next((e for e in errors if not e.fallback), None)
        or next((e for e in errors if not isinstance(e, UpstreamTimeout)), None)
        or errors[0]
    )
    chosen.detail = "every provider of the fan-out failed: " + "; ".join(
        f"{c.provider}: {c.error.detail}" for c in calls if c.error is not None
    )
    return chosen
