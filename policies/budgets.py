"""Budgets: spend per API key per UTC day and calendar month, in USD.

The dispatcher asks ``left(key_id)`` before planning (the planner drops candidates that
would take the key over a limit) and ``charge(key_id, usd)`` once the served provider's
cost is known. Spend lives in a ``SpendStore``: in-process by default, Redis when
several gateway processes must share it (``RedisSpendStore``, ``INCRBYFLOAT`` on keys that
expire after their period).

Concurrency: spend is charged when an answer is back, not reserved when a request
starts, so requests in flight together may each pass the check and overshoot a limit
by at most their own cost. Calls cancelled by hedging are not charged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from policies.model import Budget


class SpendStore(Protocol):
    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]: ...

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        """Add ``usd`` to each period; ``int`` is how long the period's counter must live (s)."""
        ...


class MemorySpendStore:
    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], float] = {}

    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]:
        return [self.totals.get((key_id, p), 0.0) for p in periods]

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        for period, _ in periods:
            self.totals[(key_id, period)] = self.totals.get((key_id, period), 0.0) + usd


class RedisSpendStore:
    """Shared spend in Redis: ``{prefix}{key_id}:{period}`` counters (INCRBYFLOAT + EXPIRE)."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "omnisense:spend:") -> None:
        import redis.asyncio as aioredis  # the "redis" extra; imported only when configured

        self.redis: Any = aioredis.from_url(url)
        self.prefix = prefix

    @classmethod
    def on(cls, client: Any, prefix: str) -> RedisSpendStore:
        """A store on an existing client (``policies.shared``: one connection for all shared state)."""
        store = cls.__new__(cls)
        store.redis, store.prefix = client, prefix
        return store

    def _name(self, key_id: str, period: str) -> str:
        return f"{self.prefix}{key_id}:{period}"

    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]:
        values = await self.redis.mget([self._name(key_id, p) for p in periods])
        return [float(v) if v is not None else 0.0 for v in values]

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        await self.add_totals(key_id, periods, usd)

    async def add_totals(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> list[float]:
        """``add``, answering each period's new total."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for period, ttl in periods:
                pipe.incrbyfloat(self._name(key_id, period), usd)
                pipe.expire(self._name(key_id, period), ttl)
            results = await pipe.execute()
        return [float(v) for v in results[::2]]

    async def aclose(self) -> None:
        await self.redis.aclose()


@dataclass(frozen=True)
class Allowance:
    left_usd: float
    then: str


def periods(now: float) -> tuple[str, str]:
    t = time.gmtime(now)
    return time.strftime("day:%Y-%m-%d", t), time.strftime("month:%Y-%m", t)


_DAY_TTL, _MONTH_TTL = 2 * 86400, 32 * 86400


class BudgetBook:
    def __init__(
        self, budgets: Sequence[Budget], store: SpendStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store: SpendStore = store or MemorySpendStore()
        self.clock = clock
        self.set_budgets(budgets)

    def set_budgets(self, budgets: Sequence[Budget]) -> None:
        """A reload changes the limits; the spend so far stays."""
        self.budgets = {b.key: b for b in budgets}

    async def left(self, key_id: str | None) -> Allowance | None:
        """What ``key_id`` may still spend now (the tighter of day and month), or None: no budget."""
        budget = self.budgets.get(key_id) if key_id else None
        if budget is None or key_id is None:
            return None
        day, month = periods(self.clock())
        spent_day, spent_month = await self.store.spent(key_id, [day, month])
        left = float("inf")
        if budget.usd_per_day is not None:
            left = min(left, budget.usd_per_day - spent_day)
        if budget.usd_per_month is not None:
            left = min(left, budget.usd_per_month - spent_month)
        return Allowance(left_usd=left, then=budget.then)

    async def charge(self, key_id: str | None, usd: float) -> None:
        if not key_id or usd <= 0 or key_id not in self.budgets:
            return
        day, month = periods(self.clock())
        await self.store.add(key_id, [(day, _DAY_TTL), (month, _MONTH_TTL)], usd)

    async def spent(self, key_id: str) -> dict[str, float]:
        day, month = periods(self.clock())
        spent_day, spent_month = await self.store.spent(key_id, [day, month])
        return {"day": spent_day, "month": spent_month}
