"""Background re-probing of providers: the only place that calls ``Provider.probe()``.

Every provider is probed on a schedule of its own: every ``interval_s`` while healthy,
and with a backoff while down (``min_backoff_s`` doubling up to ``max_backoff_s``), so a
provider that recovers takes traffic again within seconds without anyone calling
``/readyz``. A probe is cheap and never a paid call (DESIGN §4) and is bounded by
``timeout_s``. Each result goes to ``on_result`` (the runtime caches it for ``/readyz``
and ``/v1/providers`` and hands it to the planner, which tries unhealthy providers last).
The set of providers (label -> instance) is read on every round, so a policy reload is
picked up: a rebuilt provider has a new label and is probed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from adapters.base import Provider
from omnisense.schema import Health

log = logging.getLogger("omnisense.health")

ProviderSource = Callable[[], Mapping[str, Provider]]
ResultSink = Callable[[str, Provider, Health], None]


class Prober:
    def __init__(
        self,
        providers: ProviderSource,
        on_result: ResultSink,
        *,
        interval_s: float = 10.0,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.providers = providers
        self.on_result = on_result
        self.interval_s = interval_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self._due: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._last_ok: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None

    async def probe_one(self, name: str, provider: Provider) -> Health:
        try:
            health = await asyncio.wait_for(provider.probe(), self.timeout_s)
        except Exception as exc:
            health = Health(ok=False, detail=f"{type(exc).__name__}: {exc}"[:200])
        now = time.monotonic()
        if health.ok:
            self._backoff.pop(name, None)
            self._due[name] = now + self.interval_s
        else:
            wait = self._backoff.get(name, self.min_backoff_s / 2) * 2
            self._backoff[name] = wait = min(max(wait, self.min_backoff_s), self.max_backoff_s)
            self._due[name] = now + wait
        if self._last_ok.get(name) != health.ok:
            level = logging.INFO if health.ok else logging.WARNING
            shown = name.split("#", 1)[0]  # labels may carry an instance suffix
            log.log(level, "provider %s is %s (%s)", shown, "up" if health.ok else "down", health.detail)
        self._last_ok[name] = health.ok
        self.on_result(name, provider, health)
        return health

    async def probe_all(self) -> dict[str, Health]:
        """One round over every provider, now (start-up, and tests)."""
        current = dict(self.providers())
        results = await asyncio.gather(*(self.probe_one(n, p) for n, p in current.items()))
        return dict(zip(current, results, strict=True))

    async def run(self) -> None:
        while True:
            now = time.monotonic()
            current = self.providers()
            due = [(n, p) for n, p in current.items() if self._due.get(n, 0.0) <= now]
            if due:
                await asyncio.gather(*(self.probe_one(n, p) for n, p in due))
            for gone in set(self._due) - set(current):
                self._due.pop(gone, None)
                self._backoff.pop(gone, None)
            upcoming = [self._due.get(n, now) for n in current] or [now + self.interval_s]
            await asyncio.sleep(max(0.05, min(upcoming) - time.monotonic()))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="omnisense-prober")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
