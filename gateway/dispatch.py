"""Execute a routing plan: attempts, retries, fallback; fill the request's trace.

The policy decides the order (``policies.planner``); this module alone runs it:

- each step is one provider, tried up to ``retries.attempts`` times on retryable
  errors (tenacity: exponential backoff with jitter, Retry-After honoured), every try
  bounded by the step's timeout and the request's deadline;
- an error marked ``fallback`` (DESIGN §3) moves on to the next step; one that is not
  (bad input) ends the request at once: it would fail everywhere;
- every try is recorded as an Attempt, on the trace and in the error that ends the
  request, and reported to the observers (circuit breakers, latency windows).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from adapters.base import CallContext, Provider, ProviderResult
from gateway.logs.record import summarize_output
from gateway.schema import (
    Attempt,
    Envelope,
    NoProvider,
    OmnisenseError,
    Outcome,
    Task,
    TaskRequest,
    TaskResult,
    UpstreamBadResponse,
    UpstreamTimeout,
    Usage,
    request_units,
    unit_of,
)
from gateway.trace import RequestTrace
from policies.plan import Plan, Step
from policies.planner import Planner

log = logging.getLogger("omnisense.dispatch")


class AttemptObserver(Protocol):
    """Told about every finished attempt: circuit breakers and latency windows listen."""

    def observe(self, provider: str, task: Task, attempt: Attempt) -> None: ...


class Dispatcher:
    def __init__(
        self,
        planner: Planner,
        providers: Mapping[str, Provider],
        observers: Sequence[AttemptObserver] = (),
    ) -> None:
        self.planner = planner
        self.providers = providers
        self.observers = list(observers)

    async def run(
        self, task: Task, request: TaskRequest, trace: RequestTrace, *, pinned: str | None = None
    ) -> Envelope[TaskResult]:
        plan = self.planner.plan(task, request, pinned=pinned)
        trace.policy, trace.route, trace.strategy = plan.policy, plan.route, plan.strategy
        trace.decisions = [f"{d.provider}: {d.reason}" for d in plan.decisions]
        if not plan.steps:
            reasons = "; ".join(trace.decisions) or f"no route for {task} in policy {plan.policy!r}"
            raise NoProvider(f"no provider can serve {task}: {reasons}")
        deadline = time.monotonic() + plan.deadline_s
        last: OmnisenseError | None = None
        for step in plan.steps:
            try:
                out = await self._run_step(step, task, request, trace, deadline)
            except OmnisenseError as exc:
                last = exc
                if not exc.fallback or time.monotonic() >= deadline:
                    break
                continue
            return self._envelope(task, request, step.provider, out, trace)
        assert last is not None
        raise last

    async def _run_step(
        self, step: Step, task: Task, request: TaskRequest, trace: RequestTrace, deadline: float
    ) -> ProviderResult:
        provider = self.providers[step.provider]

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, OmnisenseError) and exc.retryable and time.monotonic() < deadline

        try:  # the first try runs outside tenacity: the happy path pays nothing for retries
            return await self._attempt(provider, step, task, request, trace, deadline)
        except OmnisenseError as exc:
            if step.retries.attempts < 2 or not retryable(exc):
                raise
            first_error = exc

        base_wait = wait_exponential_jitter(multiplier=step.retries.backoff_s, max=step.retries.max_backoff_s)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = exc.retry_after_s if isinstance(exc, OmnisenseError) and exc.retry_after_s else 0.0
            return min(max(base_wait(state), hinted), max(0.0, deadline - time.monotonic()))

        retrying = AsyncRetrying(
            stop=stop_after_attempt(step.retries.attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number == 1:
                    raise first_error  # let tenacity apply its wait and accounting to the first failure
                return await self._attempt(provider, step, task, request, trace, deadline)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(
        self, provider: Provider, step: Step, task: Task, request: TaskRequest, trace: RequestTrace, deadline: float
    ) -> ProviderResult:
        timeout = min(step.timeout_s, max(0.0, deadline - time.monotonic()))
        ctx = CallContext(request_id=trace.request_id, deadline=time.monotonic() + timeout, key_id=trace.key_id)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                out = await provider.run(task, request, ctx)
        except TimeoutError as exc:
            err: OmnisenseError = UpstreamTimeout(f"{step.provider}: no answer within {timeout:.2f} s")
            self._record(trace, step.provider, task, start, err)
            raise err from exc
        except OmnisenseError as exc:
            self._record(trace, step.provider, task, start, exc)
            raise
        except Exception as exc:  # an adapter bug: log it, and let the next provider try
            log.exception("provider %s raised an unmapped exception", step.provider)
            err = UpstreamBadResponse(f"{step.provider}: adapter error {type(exc).__name__}")
            self._record(trace, step.provider, task, start, err)
            raise err from exc
        self._record(trace, step.provider, task, start, None)
        return out

    def _record(self, trace: RequestTrace, provider: str, task: Task, start: float, err: OmnisenseError | None) -> None:
        elapsed = (time.perf_counter() - start) * 1000.0
        trace.upstream_ms += elapsed
        if err is not None:
            err.provider = err.provider or provider
        outcome: Outcome = "ok" if err is None else "timeout" if isinstance(err, UpstreamTimeout) else "error"
        attempt = Attempt(
            provider=provider,
            outcome=outcome,
            latency_ms=round(elapsed, 3),
            error_type=None if err is None else type(err).__name__,
            detail=None if err is None else err.detail[:300],
        )
        trace.attempts.append(attempt)
        for observer in self.observers:
            observer.observe(provider, task, attempt)

    def _envelope(
        self, task: Task, request: TaskRequest, provider_name: str, out: ProviderResult, trace: RequestTrace
    ) -> Envelope[TaskResult]:
        info = self.providers[provider_name].info
        units = request_units(request)
        cost = round(out.cost_usd if out.cost_usd is not None else info.cost(task, units), 8)
        trace.provider, trace.model = provider_name, out.model
        trace.units, trace.unit, trace.cost_usd = units, unit_of(task).value, cost
        trace.output = summarize_output(out.result)
        return Envelope(
            request_id=trace.request_id,
            task=task.value,
            provider=provider_name,
            model=out.model,
            result=out.result,
            usage=Usage(units=units, unit=unit_of(task).value, cost_usd=cost),
            latency_ms=round(trace.elapsed_ms(), 3),
            attempts=list(trace.attempts),
            raw=out.raw if request.include_raw else None,
        )


def plan_for(planner: Planner, task: Task, request: TaskRequest, pinned: str | None = None) -> Plan:
    """The plan a request would get, without running it (``/v1/route/explain``)."""
    return planner.plan(task, request, pinned=pinned)
