"""Serve a request through the response cache of its route.

Only routes with ``cache: {ttl_s: ...}`` in the policy cache. A hit answers the stored
envelope under the new request's id, with ``cache: "hit"``, cost 0, no attempts and its
own latency; the request's one log record says the same. A miss runs the dispatcher and
keeps the answer only when it succeeded (errors raise and are never stored). The caller's
``Cache-Control: no-cache`` skips the lookup (``cache: "bypass"``) but still refreshes
the entry with the new answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from gateway.cache.keys import cache_key
from gateway.cache.replays import Replays
from gateway.cache.stores import CacheStore
from gateway.logs.record import summarize_output
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, Task, TaskRequest, TaskResult, Usage, spec_of
from policies.planner import Planner

log = logging.getLogger("omnisense.cache")

Run = Callable[[], Awaitable[Envelope[TaskResult]]]


def ttl_for(planner: Planner, task: Task) -> float | None:
    """The route's cache TTL in seconds, or None when the route does not cache."""
    resolved = planner.routes.get(task)
    if resolved is None or resolved.route.cache is None:
        return None
    return resolved.route.cache.ttl_s


def bypass_requested(cache_control: str | None) -> bool:
    """``Cache-Control: no-cache`` (or ``no-store``) from the caller."""
    if not cache_control:
        return False
    directives = {d.strip().split("=", 1)[0].lower() for d in cache_control.split(",")}
    return bool(directives & {"no-cache", "no-store"})


class ResponseCache:
    def __init__(self, store: CacheStore, *, max_entry_bytes: int = 8 * 1024 * 1024) -> None:
        self.store = store
        self.max_entry_bytes = max_entry_bytes
        self.replays = Replays(store)  # Idempotency-Key answers, in the same store
        self.hits = 0
        self.misses = 0

    async def serve(
        self,
        planner: Planner,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        run: Run,
        *,
        pinned: str | None = None,
        allowed: frozenset[str] | None = None,
        bypass: bool = False,
    ) -> Envelope[TaskResult]:
        ttl = ttl_for(planner, task)
        if ttl is None:
            return await run()
        resolved = planner.routes.get(task)
        route = [resolved.pattern, *(c.provider for c in resolved.candidates)] if resolved else []
        shared = resolved is not None and resolved.route.cache is not None and resolved.route.cache.shared
        tenant = None if shared else trace.record.key_id
        key = cache_key(planner.loaded.name, task, request, pinned, allowed, route=route, tenant=tenant)
        if not bypass:
            stored = await self.store.get(key)
            hit = self._decode(task, stored) if stored is not None else None
            if hit is not None:
                self.hits += 1
                return self._answer_hit(hit, planner, task, trace)
        self.misses += 1
        envelope = await run()
        envelope.cache = trace.record.cache = "bypass" if bypass else "miss"
        blob = msgspec.msgpack.encode(envelope)
        if len(blob) <= self.max_entry_bytes:
            await self.store.set(key, blob, ttl)
        return envelope

    def _decode(self, task: Task, blob: bytes) -> Envelope[TaskResult] | None:
        try:
            result: Any = spec_of(task).result
            envelope: Envelope[TaskResult] = msgspec.msgpack.decode(blob, type=Envelope[result])
        except msgspec.MsgspecError as exc:  # written by another version: treat as a miss
            log.warning("response cache: unreadable entry for %s (%s): ignored", task, exc)
            return None
        return envelope

    def _answer_hit(
        self, stored: Envelope[TaskResult], planner: Planner, task: Task, trace: RequestTrace
    ) -> Envelope[TaskResult]:
        resolved = planner.routes.get(task)
        record = trace.record
        record.policy, record.route = planner.loaded.name, resolved.pattern if resolved else None
        record.provider, record.model = stored.provider, stored.model
        record.units, record.unit, record.cost_usd = stored.usage.units, stored.usage.unit, 0.0
        record.output = summarize_output(task, stored.result)
        record.cache = "hit"
        record.decisions = ["answered from the response cache"]
        return Envelope(
            request_id=record.request_id,
            task=stored.task,
            provider=stored.provider,
            model=stored.model,
            result=stored.result,
            usage=Usage(units=stored.usage.units, unit=stored.usage.unit, cost_usd=0.0),
            latency_ms=round(trace.elapsed_ms(), 3),
            attempts=[],
            raw=stored.raw,
            cache="hit",
        )
