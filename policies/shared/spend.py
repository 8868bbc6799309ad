"""Budget spend in Redis with a local fallback: a replica that loses Redis keeps counting.

While Redis answers, spend is ``INCRBYFLOAT`` on ``{prefix}spend:{key}:{period}`` counters
that expire after their period (``policies.budgets.RedisSpendStore``). While it does not,
charges go to a local ledger and reads answer the last total seen in Redis plus that
ledger, so a key over its budget stays refused. When Redis returns, the ledger is added
to the shared counters (``rejoin``), so no spend is lost to the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from policies.budgets import RedisSpendStore
from policies.shared.link import RedisLink, SharedDown


class SharedSpendStore:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.redis_store = RedisSpendStore.on(link.redis, link.key("spend", ""))
        self.seen: dict[tuple[str, str], float] = {}  # the last totals Redis answered
        self.pending: dict[tuple[str, str], tuple[float, int]] = {}  # charged while down: (usd, ttl)
        link.on_rejoin.append(self.rejoin)

    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]:
        try:
            totals = await self.link.run(lambda _: self.redis_store.spent(key_id, periods))
        except SharedDown:
            totals = [self.seen.get((key_id, p), 0.0) for p in periods]
        else:
            self.seen.update({(key_id, p): v for p, v in zip(periods, totals, strict=True)})
        return [v + self.pending.get((key_id, p), (0.0, 0))[0] for p, v in zip(periods, totals, strict=True)]

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        try:
            totals = await self.link.run(lambda _: self.redis_store.add_totals(key_id, periods, usd))
        except SharedDown:
            for period, ttl in periods:
                before, _ = self.pending.get((key_id, period), (0.0, ttl))
                self.pending[(key_id, period)] = (before + usd, ttl)
        else:
            self.seen.update({(key_id, p): v for (p, _), v in zip(periods, totals, strict=True)})

    async def rejoin(self) -> None:
        """Pay the spend charged during the outage into the shared counters."""
        while self.pending:
            (key_id, period), (usd, ttl) = next(iter(self.pending.items()))
            await self.link.run(self._adder(key_id, period, ttl, usd))
            del self.pending[(key_id, period)]

    def _adder(self, key_id: str, period: str, ttl: int, usd: float) -> Callable[[Any], Awaitable[None]]:
        return lambda _: self.redis_store.add(key_id, [(period, ttl)], usd)
