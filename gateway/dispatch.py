"""Execute a routing plan: attempts, retries, fallback, hedging, shadow; fill the request's trace.

The policy decides the order (``policies.planner``, a pure function of the request and
the facts held in ``policies.live.RoutingState``); this module alone runs it:

- each step is one provider, tried up to ``retries.attempts`` times on retryable
  errors (tenacity: exponential backoff with jitter), every try bounded by the step's
  timeout and the request's one deadline (``gateway.deadlines``: one timer for all).
  This is the only retry layer: adapters do not retry (a dropped keep-alive connection
  re-sent at once is not a retry). When to try again is ``gateway.retry_rule``'s to say;
- a step whose circuit is open (or half-open with its one trial taken) is skipped,
  unless the plan keeps it as a last resort;
- an error marked ``fallback`` (DESIGN §3) moves on to the next step; one that is not
  (bad input) ends the request at once: it would fail everywhere;
- with ``hedge_after_ms`` the next step also starts when the running one is slow
  (``gateway.hedging``); the first good answer wins, the loser is cancelled and logged;
- every try is recorded as an Attempt, on the trace and in the error that ends the
  request, and reported to the observers (circuit breakers, latency windows, metrics);
- a key with a budget has the plan's estimated cost reserved before the first call
  (``policies.budgets``: atomic, in Redis across replicas), settled after to the served
  cost plus the hedges that lost (``gateway.charging``); a reservation that does not fit
  plans again on what is left (the budget's ``then``, or 429); shadows start off the
  response path (``gateway.shadow``) and are charged when they answer;
- a request whose route or key asks for redaction (``gateway.redaction``) has its input
  redacted before each call to an untrusted provider, and the answer mapped back after;
- a request that fans out (its own ``providers``, or its route's ``fanout``:
  ``policies.fanout``) is handed to ``gateway.fanout``, which runs every provider as one
  step of this module's (``_run_step`` on a ``StepTry``) at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

import msgspec
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adapters.base import CallContext, Provider, ProviderResult
from gateway.charging import estimate, lost_cost
from gateway.deadlines import Deadlines
from gateway.hedging import race
from gateway.logs.record import RequestLog, summarize_output
from gateway.quality import QualityRecorder, discard
from gateway.redaction.session import KeyRedaction, Redaction, guarded
from gateway.retry_rule import worth_retrying
from gateway.shadow import ShadowRunner
from gateway.trace import RequestTrace
from omnisense.schema import (
    Attempt,
    BudgetExceeded,
    Envelope,
    OmnisenseError,
    Outcome,
    Task,
    TaskRequest,
    TaskResult,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    Usage,
    billed_units,
    unit_of,
)
from policies.budgets import Allowance, Hold
from policies.fanout import FanOutPlan, plan_fanout
from policies.live import RoutingState
from policies.model import Candidate
from policies.plan import Plan, RequestMeta, Step
from policies.planner import Planner
from policies.refusal import refusal
from policies.residency import CallerResidency

log = logging.getLogger("omnisense.dispatch")


class AttemptObserver(Protocol):
    """Told about every finished attempt: circuit breakers and latency windows listen."""

    def observe(self, provider: str, task: Task, attempt: Attempt) -> None: ...


@dataclass(slots=True)
class StepTry:
    """One step of one request: all that its tries (``_run_step``, ``_attempt``, ``_record``) need."""

    step: Step
    task: Task
    request: TaskRequest
    trace: RequestTrace
    deadline: float  # time.monotonic() by which the whole request must be answered
    hedged: bool = False  # started because the steps before it were slow (``gateway.hedging``)
    last: bool = False  # the plan's last step: never skipped for its circuit


class CircuitOpen(UpstreamUnavailable):
    """The step was skipped: its circuit is open (never sent to the provider)."""

    retryable = False


class Dispatcher:
    def __init__(
        self,
        planner: Planner,
        providers: Mapping[str, Provider],
        observers: Sequence[AttemptObserver] = (),
        *,
        state: RoutingState | None = None,
        shadows: ShadowRunner | None = None,
        rng: random.Random | None = None,
        scrub: Callable[[str], str] | None = None,
        deadlines: Deadlines | None = None,
        quality: QualityRecorder = discard,
        redaction_keys: Mapping[str, KeyRedaction] | None = None,
    ) -> None:
        from gateway.fanout import FanOutRunner  # it runs its calls through this module's steps

        self.planner = planner
        self.providers = providers
        self.state = state or RoutingState(planner)
        self.extra_observers = list(observers)
        self.observers: list[AttemptObserver] = [self.state, *observers]
        self.shadows = shadows or ShadowRunner()
        self.rng = rng or random.Random()
        # Removes credentials from vendor error messages before they reach a response or a log.
        self.scrub = scrub or (lambda text: text)
        self.deadlines = deadlines or Deadlines()  # every attempt's time limit, on one timer
        self.fanout = FanOutRunner(self, quality)  # requests answered by several providers at once
        # What each route and key asks to redact before an untrusted provider sees the input.
        self.redaction = Redaction(planner.loaded.policy, providers, redaction_keys)
        self.inflight = 0  # requests running on this dispatcher (a reload waits for them)
        self._idle = asyncio.Event()
        self._idle.set()

    def successor(self, planner: Planner, providers: Mapping[str, Provider]) -> Dispatcher:
        """The dispatcher for a reloaded policy: same routing state, shadows and observers."""
        self.state.adopt(planner)
        return Dispatcher(
            planner,
            providers,
            self.extra_observers,
            state=self.state,
            shadows=self.shadows,
            rng=self.rng,
            scrub=self.scrub,
            deadlines=self.deadlines,
            quality=self.fanout.quality,
            redaction_keys=self.redaction.keys,
        )

    async def drained(self, timeout_s: float) -> bool:
        """Wait until no request runs on this dispatcher (after a reload swapped it out)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def meta_for(
        self,
        task: Task,
        request: TaskRequest,
        key_id: str | None,
        pinned: str | None,
        allowance: Allowance | None,
        *,
        dry_run: bool = False,
        allowed: frozenset[str] | None = None,
        residency: CallerResidency | None = None,
    ) -> RequestMeta:
        """The request's side of the planner's inputs: hints, budget left (``allowance``: the
        key's, when it has a budget), the random draws."""
        resolved = self.planner.routes.get(task)
        explore = resolved is not None and self.rng.random() < resolved.explore_share
        rr = resolved is not None and resolved.strategy == "round_robin"
        return RequestMeta(
            key_id=key_id,
            pinned=pinned,
            allowed=allowed,
            max_cost_usd=request.routing.max_cost_usd if request.routing else None,
            budget_left_usd=allowance.left_usd if allowance else None,
            budget_then=allowance.then if allowance else "reject",
            draw=self.rng.random(),
            tick=self.state.tick(resolved.pattern, advance=not dry_run) if resolved and rr else 0,
            explore=explore,
            residency=residency.allowed if residency else None,
            residency_field=residency.field if residency else None,
        )

    async def plan(
        self,
        task: Task,
        request: TaskRequest,
        key_id: str | None,
        pinned: str | None = None,
        *,
        dry_run: bool = False,
        allowed: frozenset[str] | None = None,
        residency: CallerResidency | None = None,
    ) -> Plan:
        """The plan for a request; ``dry_run`` (``/v1/route/explain``) changes no routing state."""
        budgets = self.state.budgets
        allowance = await budgets.left(key_id) if key_id in budgets.budgets else None
        meta = self.meta_for(
            task, request, key_id, pinned, allowance, dry_run=dry_run, allowed=allowed, residency=residency
        )
        return self.planner.plan(task, request, meta, self.state)

    async def plan_fanout(
        self, task: Task, request: TaskRequest, key_id: str | None, pinned: str | None = None,
        *, allowed: frozenset[str] | None = None, residency: CallerResidency | None = None,
    ) -> FanOutPlan | None:  # fmt: skip
        """The fan-out plan for a request (``/v1/route/explain``), or None: one provider answers."""
        budgets = self.state.budgets
        allowance = await budgets.left(key_id) if key_id in budgets.budgets else None
        meta = self.meta_for(
            task, request, key_id, pinned, allowance, dry_run=True, allowed=allowed, residency=residency
        )
        return plan_fanout(self.planner, task, request, meta)

    async def run(
        self,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        *,
        pinned: str | None = None,
        allowed: frozenset[str] | None = None,
        time_limit: tuple[float, float] | None = None,
        residency: CallerResidency | None = None,
    ) -> Envelope[TaskResult]:
        """Serve ``request``; ``allowed`` (the caller's key's providers) and ``residency`` (where the
        caller lets it be processed) limit the candidates.

        ``time_limit`` (per attempt, whole request, in seconds) replaces the route's timeouts:
        async jobs run far longer than an HTTP request may."""
        self.inflight += 1
        self._idle.clear()
        try:
            return await self._run(task, request, trace, pinned, allowed, time_limit, residency)
        finally:
            self.inflight -= 1
            if not self.inflight:
                self._idle.set()

    async def _run(
        self,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        pinned: str | None,
        allowed: frozenset[str] | None,
        time_limit: tuple[float, float] | None = None,
        residency: CallerResidency | None = None,
    ) -> Envelope[TaskResult]:
        record, budgets = trace.record, self.state.budgets
        key_id = record.key_id
        allowance = await budgets.left(key_id) if key_id in budgets.budgets else None  # no budget: no await
        meta = self.meta_for(task, request, key_id, pinned, allowance, allowed=allowed, residency=residency)
        resolved = self.planner.routes.get(task)
        trace.redaction = self.redaction.session(task, resolved.route if resolved else None, record)
        fanout = plan_fanout(self.planner, task, request, meta)
        if fanout is not None:  # several providers at once (``gateway.fanout``)
            record.policy, record.route = self.planner.loaded.name, resolved.pattern if resolved else ""
            return await self.fanout.run(task, request, trace, fanout, time_limit)
        plan = self.planner.plan(task, request, meta, self.state)
        hold = None
        if key_id in budgets.budgets and plan.steps and not plan.budget_rejected:
            plan, hold = await self._reserve(task, request, plan, meta)
        try:
            return await self._serve(task, request, trace, plan, time_limit)
        finally:
            if hold is not None:  # the real cost replaces the estimate, whatever happened
                record.lost_cost_usd = lost_cost(self.providers, task, request, record.attempts)
                await budgets.settle(hold, record.cost_usd + record.lost_cost_usd)

    async def _reserve(self, task: Task, request: TaskRequest, plan: Plan, meta: RequestMeta) -> tuple[Plan, Hold]:
        """Reserve the plan's estimated cost on the key's budget. When it does not fit (requests in
        flight hold the rest), plan again on what is left: the budget's ``then``, or a refusal."""
        budgets, together = self.state.budgets, plan.hedge_after_ms is not None
        price = estimate(self.providers, task, request, plan.steps, together=together)
        hold = await budgets.reserve(meta.key_id, price)
        if hold.ok:
            return plan, hold
        allowance = await budgets.left(meta.key_id)
        left = min(0.0, allowance.left_usd) if allowance else 0.0  # what did not fit is spent for this request
        plan = self.planner.plan(task, request, replace(meta, budget_left_usd=left), self.state)
        if plan.budget_rejected or not plan.steps:
            raise refusal(task, plan, meta.key_id)
        together = plan.hedge_after_ms is not None
        price = estimate(self.providers, task, request, plan.steps, together=together)
        hold = await budgets.reserve(meta.key_id, price)
        if not hold.ok:
            raise BudgetExceeded(f"key {meta.key_id!r}: the request's cost does not fit what its budget has left")
        return plan, hold

    async def _serve(
        self,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        plan: Plan,
        time_limit: tuple[float, float] | None,
    ) -> Envelope[TaskResult]:
        record, key_id = trace.record, trace.record.key_id
        if time_limit is not None:
            steps = [msgspec.structs.replace(s, timeout_s=time_limit[0]) for s in plan.steps]
            plan = msgspec.structs.replace(plan, steps=steps, deadline_s=time_limit[1])
        record.policy, record.route, record.strategy = plan.policy, plan.route, plan.strategy
        record.decisions = [str(d) for d in plan.decisions]
        if plan.budget_rejected or not plan.steps:
            raise refusal(task, plan, key_id)  # 429, 403, 413 or 503: the most precise that is true
        deadline = time.monotonic() + plan.deadline_s
        hedge_s = plan.hedge_after_ms / 1000.0 if plan.hedge_after_ms is not None else None

        last = plan.steps[-1]  # never skipped for its circuit: a request is not failed unanswered
        tries = [StepTry(s, task, request, trace, deadline, last=s is last) for s in plan.steps]
        if hedge_s is None or len(tries) < 2:  # in turn, in this task: the usual case, kept lean
            served, out = await self._in_turn(tries)
        else:

            async def run_step(t: StepTry, hedged: bool) -> ProviderResult:
                t.hedged = hedged
                return await self._run_step(t)

            served, out = await race(tries, run_step, hedge_s)
        envelope = self._envelope(task, request, served.step.provider, out, trace)
        if plan.shadow:
            self._launch_shadows(plan, task, request, trace, out.result, key_id)
        return envelope

    async def _in_turn(self, tries: Sequence[StepTry]) -> tuple[StepTry, ProviderResult]:
        """No hedging: each step after the one before has failed with an error that allows fallback."""
        last_error: OmnisenseError | None = None
        for t in tries:
            try:
                return t, await self._run_step(t)
            except OmnisenseError as exc:
                if not exc.fallback:
                    raise
                last_error = exc
        assert last_error is not None, "a plan has at least one step"
        raise last_error

    def _launch_shadows(
        self, plan: Plan, task: Task, request: TaskRequest, trace: RequestTrace, served: TaskResult, key_id: str | None
    ) -> None:
        if self.rng.random() >= plan.shadow_fraction:
            return
        targets = [  # a shadow gets the input a served call would get (``redact:``)
            (name, guarded(trace.redaction, name, self.providers[name]), self.planner.step(task, _cand(name)).timeout_s)
            for name in plan.shadow
            if name != trace.record.provider and name in self.providers
        ]
        budgets = self.state.budgets
        charge = partial(budgets.charge, key_id) if key_id in budgets.budgets else None
        self.shadows.launch(trace.record.request_id, task, request, targets, trace.record.output, served, charge)

    async def _run_step(self, t: StepTry) -> ProviderResult:
        step = t.step
        if not (step.last_resort or self.state.circuits.acquire(step.provider, t.task) or t.last):
            err = CircuitOpen(f"{step.provider}: circuit open for {t.task}", provider=step.provider)
            t.trace.record.attempts.append(
                Attempt(provider=step.provider, outcome="skipped", latency_ms=0.0, error_type="CircuitOpen")
            )
            raise err

        def retryable(exc: BaseException) -> bool:
            return worth_retrying(exc, step, t.deadline)

        try:  # the first try runs outside tenacity: the happy path pays nothing for retries
            return await self._attempt(t)
        except OmnisenseError as exc:
            if step.retries.attempts < 2 or not retryable(exc):
                raise
            first_error = exc

        backoff = step.retries.backoff_s  # exponential, plus a jitter of up to one backoff
        base_wait = wait_exponential(multiplier=backoff, max=step.retries.max_backoff_s) + wait_random(0, backoff)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = exc.retry_after_s if isinstance(exc, OmnisenseError) and exc.retry_after_s else 0.0
            return min(max(base_wait(state), hinted), max(0.0, t.deadline - time.monotonic()))

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
                return await self._attempt(t)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(self, t: StepTry) -> ProviderResult:
        name, record, session = t.step.provider, t.trace.record, t.trace.redaction
        # the input as this provider may see it (``redact:``); never sent when redaction fails
        sent = t.request if session is None else await session.attempt_request(name, t.request)
        timeout = min(t.step.timeout_s, max(0.0, t.deadline - time.monotonic()))
        ctx = CallContext(request_id=record.request_id, deadline=time.monotonic() + timeout, key_id=record.key_id)
        start = time.perf_counter()
        try:
            with self.deadlines.limit(timeout):
                out = await self.providers[name].run(t.task, sent, ctx)
        except TimeoutError as exc:
            err: OmnisenseError = UpstreamTimeout(f"{name}: no answer within {timeout:.2f} s")
            self._record(t, start, err)
            raise err from exc
        except asyncio.CancelledError:
            self._record(t, start, None, cancelled=True)
            raise
        except OmnisenseError as exc:
            self._record(t, start, exc)
            raise
        except Exception as exc:  # an adapter bug: log it, and let the next provider try
            log.exception("provider %s raised an unmapped exception", name)
            err = UpstreamBadResponse(f"{name}: adapter error {type(exc).__name__}")
            self._record(t, start, err)
            raise err from exc
        self._record(t, start, None)
        if session is not None:  # placeholders mapped back; OCR text / transcripts redacted
            out = await session.answer(name, t.request, out)
        return out

    def _record(self, t: StepTry, start: float, err: OmnisenseError | None, *, cancelled: bool = False) -> None:
        elapsed = (time.perf_counter() - start) * 1000.0
        provider, trace = t.step.provider, t.trace
        if err is not None:
            err.provider = err.provider or provider
            err.detail = self.scrub(err.detail)
        outcome: Outcome = "ok" if err is None else "timeout" if isinstance(err, UpstreamTimeout) else "error"
        if cancelled:
            outcome = "cancelled"
        else:
            trace.upstream_ms += elapsed  # a cancelled hedge ran alongside the winner
        attempt = Attempt(
            provider=provider,
            outcome=outcome,
            latency_ms=round(elapsed, 3),
            error_type=None if err is None else type(err).__name__,
            detail=None if err is None else err.detail[:300],
            hedged=t.hedged,
        )
        trace.record.attempts.append(attempt)
        for observer in self.observers:
            observer.observe(provider, t.task, attempt)

    def _envelope(
        self, task: Task, request: TaskRequest, provider_name: str, out: ProviderResult, trace: RequestTrace
    ) -> Envelope[TaskResult]:
        info = self.providers[provider_name].info
        units, unit = billed_units(request, out.result), unit_of(task).value
        cost = round(out.cost_usd if out.cost_usd is not None else info.cost(task, units), 8)
        record = trace.record
        record.provider, record.model = provider_name, out.model
        self.place(record, provider_name, task)
        record.units, record.unit, record.cost_usd = units, unit, cost
        record.output = summarize_output(task, out.result)
        return Envelope(
            request_id=record.request_id,
            task=record.task,
            provider=provider_name,
            model=out.model,
            result=out.result,
            usage=Usage(units=units, unit=unit, cost_usd=cost),
            latency_ms=round(trace.elapsed_ms(), 3),
            attempts=list(record.attempts),
            raw=out.raw if request.include_raw else None,
        )

    def place(self, record: RequestLog, provider: str, task: Task) -> None:
        """Write where ``provider`` processed the request onto its record."""
        where = self.planner.placements.of(provider, task)
        if where is not None:
            record.region, record.jurisdiction = where.region, where.jurisdiction


def _cand(name: str) -> Candidate:
    return Candidate(provider=name)
