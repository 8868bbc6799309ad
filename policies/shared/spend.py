"""Budget spend in Redis with a local fallback: a replica that loses Redis keeps counting.

While Redis answers, spend is ``INCRBYFLOAT`` on ``{prefix}spend:{key}:{period}`` counters
that expire after their period (``policies.budgets.RedisSpendStore``). While it does not,
charges go to a local ledger and reads answer the last total seen in Redis plus that
ledger, so a key over its budget stays refused; reservations are checked the same way
(atomic in this process: no ``await`` between the check and the add). When Redis returns, the ledger is added
to the shared counters (``rejoin``), so no spend is lost to the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from policies.budgets import EPSILON, RedisSpendStore, Window
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

    async def reserve(self, key_id: str, windows: Sequence[Window], usd: float) -> bool:
        try:
            ok: bool = await self.link.run(lambda _: self.redis_store.reserve(key_id, windows, usd))
        except SharedDown:
            local = [self.seen.get((key_id, w.period), 0.0) + self.pending.get((key_id, w.period), (0.0, 0))[0]
                     for w in windows]  # fmt: skip
            if any(now + usd > w.limit_usd + EPSILON for now, w in zip(local, windows, strict=True)):
                return False
            for w in windows:
                before, _ = self.pending.get((key_id, w.period), (0.0, w.ttl_s))
                self.pending[(key_id, w.period)] = (before + usd, w.ttl_s)
            return True
        if ok:
            for w in windows:
                self.seen[(key_id, w.period)] = self.seen.get((key_id, w.period), 0.0) + usd
        return ok

    async def rejoin(self) -> None:
        """Pay the spend charged during the outage into the shared counters."""
        while self.pending:
            (key_id, period), (usd, ttl) = next(iter(self.pending.items()))
            await self.link.run(self._adder(key_id, period, ttl, usd))
            del self.pending[(key_id, period)]

    def _adder(self, key_id: str, period: str, ttl: int, usd: float) -> Callable[[Any], Awaitable[None]]:
        return lambda _: self.redis_store.add(key_id, [(period, ttl)], usd)
