"""Budgets: spend per API key per UTC day, calendar month and custom window, in USD.

The dispatcher asks ``left(key_id)`` before planning (the planner drops candidates that
would take the key over a limit), then ``reserve(key_id, usd)``: the plan's estimated cost
is added to every window of the key in one atomic step, or nothing is when any window
would go over its limit (the request then gets the budget's ``then``). After the call,
``settle(hold, usd)`` replaces the estimate by the real cost (a failed call settles to 0).
Shadow calls and hedges that lost are charged with ``charge`` (no limit check: they were
already sent).

Spend lives in a ``SpendStore``: in-process by default (a check-and-add with no ``await``
in between: atomic on the event loop), Redis when several gateway processes must share it
(``RedisSpendStore``: one Lua script checks and adds every window, so concurrent requests
and replicas can never take a key past its limit; counters expire after their window).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from policies.model import Budget

EPSILON = 1e-9  # float slack when comparing spend with a limit


@dataclass(frozen=True)
class Window:
    """One counter of a key's spend: ``period`` names it, ``ttl_s`` is how long it must live."""

    period: str
    ttl_s: int
    limit_usd: float


class SpendStore(Protocol):
    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]: ...

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        """Add ``usd`` (may be negative: a settlement) to each period; ``int``: its counter's lifetime (s)."""
        ...

    async def reserve(self, key_id: str, windows: Sequence[Window], usd: float) -> bool:
        """Add ``usd`` to every window if each stays within its limit, atomically; else add nothing."""
        ...


class MemorySpendStore:
    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], float] = {}

    async def spent(self, key_id: str, periods: Sequence[str]) -> list[float]:
        return [self.totals.get((key_id, p), 0.0) for p in periods]

    async def add(self, key_id: str, periods: Sequence[tuple[str, int]], usd: float) -> None:
        for period, _ in periods:
            self.totals[(key_id, period)] = self.totals.get((key_id, period), 0.0) + usd

    async def reserve(self, key_id: str, windows: Sequence[Window], usd: float) -> bool:
        return self.reserve_now(key_id, windows, usd)

    def reserve_now(self, key_id: str, windows: Sequence[Window], usd: float) -> bool:
        if any(self.totals.get((key_id, w.period), 0.0) + usd > w.limit_usd + EPSILON for w in windows):
            return False
        for w in windows:
            self.totals[(key_id, w.period)] = self.totals.get((key_id, w.period), 0.0) + usd
        return True


# KEYS: one counter per window. ARGV: usd, then (ttl_s, limit_usd) per window.
# Returns 1 (reserved: usd added to every counter) or 0 (one would go over: nothing added).
_RESERVE = """
local usd = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local now = tonumber(redis.call('GET', key) or '0')
  if now + usd > tonumber(ARGV[2 * i + 1]) + 1e-9 then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBYFLOAT', key, ARGV[1])
  redis.call('EXPIRE', key, ARGV[2 * i])
end
return 1
"""


class RedisSpendStore:
    """Shared spend in Redis: ``{prefix}{key_id}:{period}`` counters (INCRBYFLOAT + EXPIRE;
    reservations in one Lua script)."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "omnisense:spend:") -> None:
        import redis.asyncio as aioredis  # the "redis" extra; imported only when configured

        self._setup(aioredis.from_url(url), prefix)

    def _setup(self, client: Any, prefix: str) -> None:
        self.redis: Any = client
        self.prefix = prefix
        self._reserve: Any = client.register_script(_RESERVE)

    @classmethod
    def on(cls, client: Any, prefix: str) -> RedisSpendStore:
        """A store on an existing client (``policies.shared``: one connection for all shared state)."""
        store = cls.__new__(cls)
        store._setup(client, prefix)
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

    async def reserve(self, key_id: str, windows: Sequence[Window], usd: float) -> bool:
        keys = [self._name(key_id, w.period) for w in windows]
        args: list[Any] = [repr(usd)] + [x for w in windows for x in (w.ttl_s, repr(min(w.limit_usd, 1e300)))]
        return bool(int(await self._reserve(keys=keys, args=args)))

    async def aclose(self) -> None:
        await self.redis.aclose()


@dataclass(frozen=True)
class Allowance:
    left_usd: float
    then: str


@dataclass
class Hold:
    """A reservation: ``usd`` added to ``windows`` of ``key_id`` until ``settle`` replaces it."""

    key_id: str | None
    usd: float = 0.0
    windows: tuple[Window, ...] = ()
    ok: bool = True  # False: it did not fit, nothing was reserved
    then: str = "reject"
    settled: bool = field(default=False, compare=False)


def periods(now: float) -> tuple[str, str]:
    t = time.gmtime(now)
    return time.strftime("day:%Y-%m-%d", t), time.strftime("month:%Y-%m", t)


_DAY_TTL, _MONTH_TTL = 2 * 86400, 32 * 86400


def windows_of(budget: Budget, now: float) -> list[Window]:
    """The key's counters at ``now``: day and month (always counted, limited when set) and custom
    (``usd_per: {amount, days}``)."""
    day, month = periods(now)
    inf = math.inf
    out = [
        Window(day, _DAY_TTL, inf if budget.usd_per_day is None else budget.usd_per_day),
        Window(month, _MONTH_TTL, inf if budget.usd_per_month is None else budget.usd_per_month),
    ]
    if budget.usd_per is not None:
        span = budget.usd_per.days * 86400.0
        out.append(Window(f"days{budget.usd_per.days:g}:{math.floor(now / span)}", math.ceil(span) + 86400,
                          budget.usd_per.amount))  # fmt: skip
    return out


class BudgetBook:
    def __init__(
        self, budgets: Sequence[Budget], store: SpendStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store: SpendStore = store or MemorySpendStore()
        self.clock = clock
        self.set_budgets(budgets)
        self.reserved_usd = 0.0  # held now by requests in flight in this process (``/v1/stats``)

    def set_budgets(self, budgets: Sequence[Budget]) -> None:
        """A reload changes the limits; the spend so far stays."""
        self.budgets = {b.key: b for b in budgets}

    async def left(self, key_id: str | None) -> Allowance | None:
        """What ``key_id`` may still spend now (the tightest window; reservations count), or None: no budget."""
        budget = self.budgets.get(key_id) if key_id else None
        if budget is None or key_id is None:
            return None
        windows = windows_of(budget, self.clock())
        spent = await self.store.spent(key_id, [w.period for w in windows])
        left = min((w.limit_usd - s for w, s in zip(windows, spent, strict=True)), default=float("inf"))
        return Allowance(left_usd=left, then=budget.then)

    async def reserve(self, key_id: str | None, usd: float) -> Hold:
        """Reserve ``usd`` on every window of the key, or nothing (``ok`` False) when one would go over."""
        budget = self.budgets.get(key_id) if key_id else None
        if budget is None or key_id is None:
            return Hold(key_id)
        windows = tuple(windows_of(budget, self.clock()))
        usd = max(0.0, usd)
        if usd == 0.0:  # a free call (the budget's ``then``, typically) is never refused
            return Hold(key_id, 0.0, windows, then=budget.then)
        if not await self.store.reserve(key_id, windows, usd):
            return Hold(key_id, 0.0, windows, ok=False, then=budget.then)
        self.reserved_usd += usd
        return Hold(key_id, usd, windows, then=budget.then)

    async def settle(self, hold: Hold, usd: float) -> None:
        """Replace the reservation by the real cost ``usd`` (0: the call failed), on the windows reserved."""
        if hold.settled or not hold.ok or hold.key_id is None or not hold.windows:
            return
        hold.settled = True
        self.reserved_usd -= hold.usd
        delta = max(0.0, usd) - hold.usd
        if abs(delta) > 1e-12:
            await self.store.add(hold.key_id, [(w.period, w.ttl_s) for w in hold.windows], delta)

    async def charge(self, key_id: str | None, usd: float) -> None:
        """Add ``usd`` to every window of the key, with no limit check (a shadow or lost hedge already sent)."""
        budget = self.budgets.get(key_id) if key_id else None
        if budget is None or key_id is None or usd <= 0:
            return
        windows = windows_of(budget, self.clock())
        await self.store.add(key_id, [(w.period, w.ttl_s) for w in windows], usd)

    async def spent(self, key_id: str) -> dict[str, float]:
        """Spend (reservations included) per window: ``day``, ``month``, and ``days{N}`` for a custom one."""
        budget = self.budgets.get(key_id)
        windows = windows_of(budget, self.clock()) if budget else []
        day, month = periods(self.clock())
        names = [day, month] + [w.period for w in windows[2:]]
        values = await self.store.spent(key_id, names)
        return {n.split(":", 1)[0]: v for n, v in zip(names, values, strict=True)}
