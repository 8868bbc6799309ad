"""``Idempotency-Key`` on the task endpoints: a client's retry of a request never pays twice.

The first request with a given key (per tenant: the caller's API key id) runs; its
successful answer is kept in the response cache's store (memory, or Redis shared by every
replica) for ``TTL_S``, beside the SHA-256 of the request's content. A repeat with the same
content gets that answer, exactly as it was (same request id, same usage), without calling
anything; its own log record says ``cache: replay``. The same key with other content is a 422
naming ``Idempotency-Key``. Repeats that arrive while the first is still running in this
process wait for it; a failed first answer is not kept (the repeat runs again). Across
replicas, two copies that arrive at the same moment may both run: the keeping is shared, the
waiting is per process.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from typing import Any

import msgspec

from gateway.cache.keys import cache_key
from gateway.cache.stores import CacheStore
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, Task, TaskRequest, TaskResult, UnprocessableInput, spec_of

TTL_S = 86_400.0  # how long an answer is kept for its Idempotency-Key
_FIELD = "Idempotency-Key"


def check_header(header: str) -> None:
    """An Idempotency-Key longer than 255 characters is a 422 naming it (before anything runs)."""
    if len(header) > 255:
        raise UnprocessableInput("Idempotency-Key is longer than 255 characters", field=_FIELD)


class Replays:
    def __init__(self, store: CacheStore) -> None:
        self.store = store
        self.running: dict[str, asyncio.Event] = {}  # keys whose first request runs in this process

    async def serve(
        self,
        tenant: str | None,
        header: str,
        task: Task,
        request: TaskRequest,
        trace: RequestTrace,
        run: Coroutine[Any, Any, Envelope[TaskResult]],
    ) -> Envelope[TaskResult]:
        try:
            check_header(header)
        except UnprocessableInput:
            run.close()
            raise
        name = "idem:" + hashlib.sha256(f"{tenant}\x00{task.value}\x00{header}".encode()).hexdigest()
        content = cache_key("", task, request, None).encode()  # 64 hex characters
        while (first := self.running.get(name)) is not None:
            await first.wait()
        stored = await self.store.get(name)
        if stored is not None:
            run.close()
            return self._replay(task, stored, content, trace)
        done = self.running[name] = asyncio.Event()
        try:
            envelope = await run
            await self.store.set(name, content + msgspec.msgpack.encode(envelope), TTL_S)
            return envelope
        finally:
            del self.running[name]
            done.set()

    def _replay(self, task: Task, stored: bytes, content: bytes, trace: RequestTrace) -> Envelope[TaskResult]:
        if stored[:64] != content:
            raise UnprocessableInput(f"{_FIELD} was already used for a request with other content", field=_FIELD)
        result: Any = spec_of(task).result
        envelope: Envelope[TaskResult] = msgspec.msgpack.decode(stored[64:], type=Envelope[result])
        trace.record.cache = "replay"
        trace.record.provider, trace.record.model = envelope.provider, envelope.model
        return envelope
