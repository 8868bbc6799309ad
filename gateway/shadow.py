"""Shadow traffic: mirror a fraction of requests to other providers, off the response path.

After the served answer is known, each shadow provider of the plan gets the same request
in a background task; its outcome, latency and output summary are recorded, and its answer
is compared with the served one by the task's metric (``gateway.agreement``: the same
label, entity/key-phrase overlap, IoU-matched boxes, word error rate, character overlap):
``metric``, ``score`` and ``agrees`` on the ShadowResult, aggregated per (task, served,
shadow) by ``gateway.logs.comparisons`` for ``/v1/stats``, ``/metrics`` and
``omnisense compare``; and each compared answer is an ``agreement`` sample of the shadow
provider for the quality table (``gateway.quality``). Shadows never change the response or its latency
and do not feed circuits or latency windows (so they cannot change routing either). A shadow
that answers costs money: its cost is on its ShadowResult (``cost_usd``) and, when the
caller's key has a budget, charged to it (no limit check: the call was already made).

One RequestLog per request: the server hands the finished record to
``submit_when_done``, which submits it at once when the request had no shadows, or
when its shadows finish (each bounded by its provider's timeout) with
``RequestLog.shadow`` filled in. ``drain`` (at shutdown) cancels what is still running;
those records are still submitted, with the shadows that finished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from adapters.base import CallContext, Provider
from gateway.agreement import compare
from gateway.logs.record import OutputSummary, RequestLog, ShadowResult, summarize_output
from gateway.quality import QualityRecorder, QualitySample, discard, sample_language, score_of
from omnisense.schema import OmnisenseError, Task, TaskRequest, TaskResult, request_units

Charge = Callable[[float], Awaitable[None]]  # adds USD to the caller's budget

log = logging.getLogger("omnisense.shadow")


class ShadowRunner:
    def __init__(self, recorder: QualityRecorder = discard) -> None:
        self.recorder = recorder  # the shadows' agreement with the served answers, per provider and language
        self.pending: dict[str, asyncio.Task[list[ShadowResult]]] = {}  # not yet claimed by a record
        self.running: set[asyncio.Task[list[ShadowResult]]] = set()

    def launch(
        self,
        request_id: str,
        task: Task,
        request: TaskRequest,
        targets: Sequence[tuple[str, Provider, float]],  # (name, provider, timeout_s)
        served: OutputSummary | None,
        served_result: TaskResult | None = None,
        charge: Charge | None = None,
    ) -> None:
        if targets:
            coro = self._run_all(request_id, task, request, targets, served, served_result, charge)
            fut = self.pending[request_id] = asyncio.ensure_future(coro)
            self.running.add(fut)
            fut.add_done_callback(self.running.discard)

    async def _run_all(
        self,
        request_id: str,
        task: Task,
        request: TaskRequest,
        targets: Sequence[tuple[str, Provider, float]],
        served: OutputSummary | None,
        served_result: TaskResult | None,
        charge: Charge | None = None,
    ) -> list[ShadowResult]:
        calls = [self._one(request_id, task, request, name, p, t, served, served_result) for name, p, t in targets]
        results = list(await asyncio.gather(*calls))
        spent = round(sum(r.cost_usd for r in results), 8)
        if charge is not None and spent > 0:
            try:
                await charge(spent)
            except Exception:  # the budget store failed: the shadow's result still counts
                log.warning("shadow cost of %s not charged", request_id, exc_info=True)
        return results

    async def _one(
        self,
        request_id: str,
        task: Task,
        request: TaskRequest,
        name: str,
        provider: Provider,
        timeout_s: float,
        served: OutputSummary | None,
        served_result: TaskResult | None = None,
    ) -> ShadowResult:
        start = time.perf_counter()
        ctx = CallContext(request_id=f"{request_id}:shadow:{name}", deadline=time.monotonic() + timeout_s)

        def ms() -> float:
            return round((time.perf_counter() - start) * 1000.0, 3)

        try:
            async with asyncio.timeout(timeout_s):
                out = await provider.run(task, request, ctx)
        except TimeoutError:
            return ShadowResult(provider=name, outcome="timeout", latency_ms=ms(), error_type="UpstreamTimeout")
        except asyncio.CancelledError:
            return ShadowResult(provider=name, outcome="cancelled", latency_ms=ms())
        except OmnisenseError as exc:
            return ShadowResult(provider=name, outcome="error", latency_ms=ms(), error_type=type(exc).__name__)
        except Exception as exc:
            log.warning("shadow provider %s raised %s", name, type(exc).__name__)
            return ShadowResult(provider=name, outcome="error", latency_ms=ms(), error_type="UpstreamBadResponse")
        summary = summarize_output(task, out.result)
        cost = out.cost_usd if out.cost_usd is not None else provider.info.cost(task, request_units(request))
        result = ShadowResult(provider=name, outcome="ok", latency_ms=ms(), output=summary, cost_usd=round(cost, 8))
        found = compare(task, served_result, out.result) if served_result is not None else None
        if found is not None:
            result.agrees, result.metric, result.score = found.agrees, found.metric, found.value
            language = sample_language(request, served_result)
            sample = QualitySample(task=task.value, language=language, provider=name, source="agreement",
                                   score=score_of(found))  # fmt: skip
            self.recorder.record([sample])
        elif served is not None:  # not comparable by a metric (speech.synthesize): the summaries
            result.agrees = summary.top == served.top and summary.items == served.items
        return result

    def submit_when_done(self, record: RequestLog, submit: Callable[[RequestLog], object]) -> None:
        fut = self.pending.pop(record.request_id, None)
        if fut is None:
            submit(record)
            return

        def done(f: asyncio.Task[list[ShadowResult]]) -> None:
            if not f.cancelled() and f.exception() is None:
                record.shadow = f.result()
            submit(record)

        fut.add_done_callback(done)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Let running shadows finish (up to ``timeout_s``), cancel the rest."""
        futs = list(self.running)
        if not futs:
            return
        _, still = await asyncio.wait(futs, timeout=timeout_s)
        for f in still:
            f.cancel()
        await asyncio.gather(*futs, return_exceptions=True)
