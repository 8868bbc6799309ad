"""Streamed synthesis: ``speech.synthesize`` with ``stream: true``, run through the routing plan.

The plan is the one a non-streamed request gets (the capability filter keeps only the
providers whose ``speech.synthesize`` support has ``streaming``), with the same budget
reservation, circuit breakers, retries and attempts. What differs is when a provider
has *served*: at its first chunk of audio. So

- fallback (and retries) are possible only until the first chunk: a step that fails
  before it, or sends nothing within its timeout, is recorded as a failed attempt and the
  next one runs; the client has received nothing yet, and gets a problem+json if all fail;
- after the first chunk the stream is the answer: an error, or a provider silent for
  longer than the step's timeout, ends the stream (``StreamBroken``: the server then cuts the
  connection short, ``gateway.server.synth_stream``);
- the whole stream is bounded by the plan's deadline, as a whole answer is;
- the cost is the one of the whole text (characters), charged once the first chunk is
  out (the vendor was asked for all of it), and settled on the key's budget when the
  stream ends, broken or not;
- a route or key that asks for redaction (``redact: [pii]``) has the text redacted before an
  untrusted provider hears it, as for a whole answer (failing closed: 503, nothing sent);
- the serving attempt is recorded (and reported to the circuit breakers and latency
  windows) when the stream ends, with its whole duration; ``ttfb_ms`` in the record is the
  time from the request's arrival to the first chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from adapters.base import CallContext, StreamingSynthesizer
from gateway.charging import lost_cost
from gateway.dispatch import CircuitOpen, Dispatcher, StepTry
from gateway.retry_rule import worth_retrying
from gateway.trace import RequestTrace
from omnisense.schema import (
    Attempt,
    OmnisenseError,
    SynthesizeRequest,
    Task,
    Unsupported,
    UpstreamBadResponse,
    UpstreamTimeout,
    unit_of,
)
from omnisense.schema.summary import OutputSummary
from policies.budgets import Hold
from policies.fanout import plan_fanout
from policies.refusal import refusal
from policies.residency import CallerResidency

TASK = Task.SPEECH_SYNTHESIZE


class StreamBroken(Exception):
    """The stream failed after its first chunk was sent: ``error`` says why."""

    def __init__(self, error: OmnisenseError, sent: int) -> None:
        super().__init__(error.detail)
        self.error = error
        self.sent = sent


@dataclass(slots=True)
class OpenStream:
    """A provider's stream whose first chunk is in hand: ``first``, then ``chunks()``."""

    dispatcher: Dispatcher
    step: StepTry
    started: float  # perf_counter when the serving attempt began
    first: bytes
    source: AsyncIterator[bytes]
    hold: Hold | None
    deadline: float  # time.monotonic() by which the whole stream must be sent
    first_wait_ms: float  # the serving attempt's time to its first chunk
    closed: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The audio after ``first``; ``StreamBroken`` when the provider fails before the end."""
        sent = len(self.first)
        t, dispatcher = self.step, self.dispatcher
        wait = t.step.timeout_s
        try:
            while True:
                wait = min(t.step.timeout_s, self.deadline - time.monotonic())
                try:
                    async with asyncio.timeout(max(0.0, wait)):
                        chunk = await anext(self.source)
                except StopAsyncIteration:
                    break
                if chunk:
                    sent += len(chunk)
                    yield chunk
        except asyncio.CancelledError:  # the client left: the provider was not at fault
            dispatcher._record(t, self.started, None)
            raise
        except Exception as exc:
            err = _mapped(exc, t.step.provider, wait)
            dispatcher._record(t, self.started, err)
            raise StreamBroken(err, sent) from exc
        else:
            dispatcher._record(t, self.started, None)
            t.trace.record.output = OutputSummary(items=sent)  # bytes of audio sent
        finally:
            await self.close()

    async def close(self) -> None:
        """Release the provider's stream, settle the budget, leave the dispatcher (idempotent)."""
        if self.closed:
            return
        self.closed = True
        await _aclose(self.source)
        request = self.step.request
        assert isinstance(request, SynthesizeRequest)
        await settle(self.dispatcher, request, self.step.trace, self.hold)
        _leave(self.dispatcher)


async def open_stream(
    dispatcher: Dispatcher,
    request: SynthesizeRequest,
    trace: RequestTrace,
    *,
    pinned: str | None,
    allowed: frozenset[str] | None,
    residency: CallerResidency | None = None,
) -> OpenStream:
    """The first provider of the plan to send a first chunk; the refusal or the last error when none does.
    ``residency`` (the caller's requirement) narrows the candidates as for a whole answer."""
    record, budgets = trace.record, dispatcher.state.budgets
    key_id = record.key_id
    allowance = await budgets.left(key_id) if key_id in budgets.budgets else None
    meta = dispatcher.meta_for(TASK, request, key_id, pinned, allowance, allowed=allowed, residency=residency)
    plan_fanout(dispatcher.planner, TASK, request, meta)  # synthesis never fans out: a 422 when asked to
    resolved = dispatcher.planner.routes.get(TASK)
    trace.redaction = dispatcher.redaction.session(TASK, resolved.route if resolved else None, record)
    plan = dispatcher.planner.plan(TASK, request, meta, dispatcher.state)
    record.policy, record.route, record.strategy = plan.policy, plan.route, plan.strategy
    record.decisions = [str(d) for d in plan.decisions] + ["stream: audio sent as it is produced"]
    if plan.budget_rejected or not plan.steps:
        raise refusal(TASK, plan, key_id)
    hold = None
    if key_id in budgets.budgets:
        plan, hold = await dispatcher._reserve(TASK, request, plan, meta)
    deadline = time.monotonic() + plan.deadline_s
    last = plan.steps[-1]
    error: OmnisenseError | None = None
    _enter(dispatcher)
    try:
        for step in plan.steps:
            t = StepTry(step, TASK, request, trace, deadline, last=step is last)
            try:
                return await _open_step(dispatcher, t, hold)  # from here on, OpenStream.close() settles and leaves
            except OmnisenseError as exc:
                if not exc.fallback:
                    raise
                error = exc
        assert error is not None, "a plan has at least one step"
        raise error
    except BaseException:
        await settle(dispatcher, request, trace, hold)
        _leave(dispatcher)
        raise


async def _open_step(dispatcher: Dispatcher, t: StepTry, hold: Hold | None) -> OpenStream:
    """One step: its circuit, then up to ``retries.attempts`` tries while they are worth it."""
    step = t.step
    if not (step.last_resort or dispatcher.state.circuits.acquire(step.provider, TASK) or t.last):
        t.trace.record.attempts.append(
            Attempt(provider=step.provider, outcome="skipped", latency_ms=0.0, error_type="CircuitOpen")
        )
        raise CircuitOpen(f"{step.provider}: circuit open for {TASK}", provider=step.provider)
    tries = 0
    while True:
        tries += 1
        try:
            return await _attempt(dispatcher, t, hold)
        except OmnisenseError as exc:
            if tries >= step.retries.attempts or not worth_retrying(exc, step, t.deadline):
                raise
            backoff = min(step.retries.backoff_s * 2 ** (tries - 1), step.retries.max_backoff_s)
            await asyncio.sleep(min(max(backoff, exc.retry_after_s or 0.0), max(0.0, t.deadline - time.monotonic())))


async def _attempt(dispatcher: Dispatcher, t: StepTry, hold: Hold | None) -> OpenStream:
    name, record = t.step.provider, t.trace.record
    provider = dispatcher.providers[name]
    timeout = min(t.step.timeout_s, max(0.0, t.deadline - time.monotonic()))
    ctx = CallContext(request_id=record.request_id, deadline=t.deadline, key_id=record.key_id)
    session = t.trace.redaction  # the text as this provider may see it (``redact:``); never sent when that fails
    sent = t.request if session is None else await session.attempt_request(name, t.request)
    assert isinstance(sent, SynthesizeRequest)
    start = time.perf_counter()
    if not isinstance(provider, StreamingSynthesizer):  # declared streaming, cannot: a bug, said clearly
        err: OmnisenseError = Unsupported(f"{name} does not stream {TASK}", field="stream")
        dispatcher._record(t, start, err)
        raise err
    source = provider.synthesize_stream(sent, ctx)
    try:
        async with asyncio.timeout(timeout):
            first = b""
            while not first:  # an empty chunk is not a first byte
                first = await anext(source)
    except asyncio.CancelledError:
        await _aclose(source)
        dispatcher._record(t, start, None, cancelled=True)
        raise
    except (Exception, StopAsyncIteration) as exc:
        await _aclose(source)
        err = _mapped(exc, name, timeout)
        dispatcher._record(t, start, err)
        raise err from exc
    first_wait_ms = (time.perf_counter() - start) * 1000.0
    _served(dispatcher, t, name)
    return OpenStream(dispatcher, t, start, first, source, hold, t.deadline, first_wait_ms)


def _served(dispatcher: Dispatcher, t: StepTry, name: str) -> None:
    """The record's provider, model, units and cost: known once the first chunk is in hand."""
    request, record = t.request, t.trace.record
    assert isinstance(request, SynthesizeRequest)
    info = dispatcher.providers[name].info
    support = info.capabilities.get(TASK)
    units = float(len(request.text))
    record.provider, record.model = name, (support.model if support and support.model else info.kind)
    record.units, record.unit = units, unit_of(TASK).value
    record.cost_usd = round(info.cost(TASK, units), 8)
    dispatcher.place(record, name, TASK)  # where it was processed: region, jurisdiction


def _mapped(exc: BaseException, provider: str, timeout: float) -> OmnisenseError:
    if isinstance(exc, OmnisenseError):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"{provider}: no audio within {timeout:.2f} s", provider=provider)
    if isinstance(exc, StopAsyncIteration):
        return UpstreamBadResponse(f"{provider}: the stream ended before any audio", provider=provider)
    return UpstreamBadResponse(f"{provider}: adapter error {type(exc).__name__}", provider=provider)


async def _aclose(source: AsyncIterator[bytes]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):  # a broken stream's clean-up: its error was recorded already
            await aclose()


async def settle(dispatcher: Dispatcher, request: SynthesizeRequest, trace: RequestTrace, hold: Hold | None) -> None:
    """The real cost replaces the reservation (served cost plus cancelled calls)."""
    if hold is None:
        return
    record = trace.record
    record.lost_cost_usd = lost_cost(dispatcher.providers, TASK, request, record.attempts)
    await dispatcher.state.budgets.settle(hold, record.cost_usd + record.lost_cost_usd)


def _enter(dispatcher: Dispatcher) -> None:
    """Count the stream as a request running on ``dispatcher`` (a reload waits for it to end)."""
    dispatcher.inflight += 1
    dispatcher._idle.clear()


def _leave(dispatcher: Dispatcher) -> None:
    dispatcher.inflight -= 1
    if not dispatcher.inflight:
        dispatcher._idle.set()
