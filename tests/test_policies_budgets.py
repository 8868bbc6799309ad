"""Budget books over both spend stores: in-process, and the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from policies.budgets import BudgetBook, MemorySpendStore, RedisSpendStore, SpendStore, periods
from policies.model import Budget
from tests.conftest import require_redis

DAY = 86400.0
T0 = 1_790_000_000.0  # 2026-09-21 (UTC), mid-day


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SpendStore]:
    if request.param == "memory":
        yield MemorySpendStore()
        return
    require_redis()
    s = RedisSpendStore(prefix=f"omnisense-test:{uuid.uuid4().hex}:")
    yield s
    keys = await s.redis.keys(f"{s.prefix}*")
    if keys:
        await s.redis.delete(*keys)
    await s.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_no_budget_means_no_limit(store: SpendStore) -> None:
    book = BudgetBook([Budget(key="a", usd_per_day=1)], store)
    assert await book.left("b") is None and await book.left(None) is None
    await book.charge("b", 5.0)  # not tracked: no budget


async def test_day_and_month_limits(store: SpendStore) -> None:
    clock = Clock()
    book = BudgetBook([Budget(key="a", usd_per_day=1.0, usd_per_month=2.5, then="local")], store, clock)
    allowance = await book.left("a")
    assert allowance is not None and allowance.left_usd == 1.0 and allowance.then == "local"
    await book.charge("a", 0.75)
    assert (await book.left("a")).left_usd == pytest.approx(0.25)  # type: ignore[union-attr]
    clock.now += DAY  # a new day: the day resets, the month does not
    assert (await book.left("a")).left_usd == pytest.approx(1.0)  # type: ignore[union-attr]
    await book.charge("a", 1.0)
    clock.now += DAY
    assert (await book.left("a")).left_usd == pytest.approx(0.75)  # type: ignore[union-attr]  # month: 2.5 - 1.75
    assert await book.spent("a") == {"day": 0.0, "month": pytest.approx(1.75)}


async def test_reload_changes_limits_not_spend(store: SpendStore) -> None:
    book = BudgetBook([Budget(key="a", usd_per_day=1.0)], store, Clock())
    await book.charge("a", 0.5)
    book.set_budgets([Budget(key="a", usd_per_day=0.6)])
    assert (await book.left("a")).left_usd == pytest.approx(0.1)  # type: ignore[union-attr]


async def test_redis_spend_is_shared_between_gateways() -> None:
    require_redis()
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    one, two = RedisSpendStore(prefix=prefix), RedisSpendStore(prefix=prefix)
    try:
        budgets = [Budget(key="a", usd_per_day=1.0)]
        await BudgetBook(budgets, one).charge("a", 0.4)
        await BudgetBook(budgets, two).charge("a", 0.4)
        assert (await BudgetBook(budgets, one).left("a")).left_usd == pytest.approx(0.2)  # type: ignore[union-attr]
        day, _ = periods(time.time())
        ttl = await one.redis.ttl(f"{prefix}a:{day}")
        assert 0 < ttl <= 2 * 86400
    finally:
        keys = await one.redis.keys(f"{prefix}*")
        if keys:
            await one.redis.delete(*keys)
        await one.aclose()
        await two.aclose()


async def test_concurrent_reservations_never_take_a_key_past_its_limit(store: SpendStore) -> None:
    import asyncio

    book = BudgetBook([Budget(key="a", usd_per_day=1.0)], store, Clock())
    holds = await asyncio.gather(*(book.reserve("a", 0.1) for _ in range(40)))  # no check before: the store decides
    assert sum(h.ok for h in holds) == 10
    assert (await book.spent("a"))["day"] == pytest.approx(1.0)
    refused = next(h for h in holds if not h.ok)
    await book.settle(refused, 0.1)  # nothing was reserved: nothing to settle
    assert (await book.spent("a"))["day"] == pytest.approx(1.0)


async def test_a_reservation_is_settled_to_the_real_cost(store: SpendStore) -> None:
    book = BudgetBook([Budget(key="a", usd_per_day=1.0, usd_per_month=5.0)], store, Clock())
    hold = await book.reserve("a", 0.6)
    assert hold.ok and not (await book.reserve("a", 0.6)).ok  # the first holds 0.6 of the 1.0
    await book.settle(hold, 0.25)
    await book.settle(hold, 0.25)  # settling twice changes nothing
    assert await book.spent("a") == {"day": pytest.approx(0.25), "month": pytest.approx(0.25)}
    failed = await book.reserve("a", 0.7)
    await book.settle(failed, 0.0)  # the call failed: its reservation is given back
    assert (await book.left("a")).left_usd == pytest.approx(0.75)  # type: ignore[union-attr]
    await book.charge("a", 0.8)  # a shadow: charged even past the limit (it was already sent)
    assert not (await book.reserve("a", 0.01)).ok
    assert (await book.reserve("a", 0.0)).ok  # a free call (the budget's `then`) is never refused


async def test_a_custom_window_of_days(store: SpendStore) -> None:
    from policies.model import SpendWindow

    clock = Clock()
    book = BudgetBook([Budget(key="a", usd_per=SpendWindow(amount=1.0, days=7))], store, clock)
    assert (await book.reserve("a", 0.7)).ok
    clock.now += DAY  # a new day: the day counter resets, the 7-day window does not
    assert not (await book.reserve("a", 0.7)).ok
    assert (await book.left("a")).left_usd == pytest.approx(0.3)  # type: ignore[union-attr]
    assert (await book.spent("a"))["days7"] == pytest.approx(0.7)
    clock.now += 7 * DAY  # the next window
    assert (await book.reserve("a", 0.7)).ok
    with pytest.raises(ValueError):
        SpendWindow(amount=1.0, days=0)


async def test_the_forecast_says_when_each_window_runs_out_at_the_current_rate() -> None:
    import calendar

    from gateway.server.budget_forecast import forecast
    from policies.model import SpendWindow

    now = float(calendar.timegm((2026, 9, 21, 6, 0, 0, 0, 0, 0)))  # 06:00 UTC: six hours into the day
    clock = Clock()
    clock.now = now
    budgets = [Budget(key="a", usd_per_day=10.0, usd_per_month=20.0, usd_per=SpendWindow(amount=7.0, days=7))]
    book = BudgetBook(budgets, MemorySpendStore(), clock)
    await book.charge("a", 3.0)  # 0.5 USD an hour today
    (row,) = await forecast(book)
    assert row["usd_per_hour"] == pytest.approx(0.5)
    windows = {w["window"]: w for w in row["windows"]}
    assert windows["day"]["left_usd"] == pytest.approx(7.0)
    assert windows["day"]["runs_out_in_s"] == pytest.approx(14 * 3600)  # before the day resets (in 18 h)
    assert windows["day"]["resets_in_s"] == pytest.approx(18 * 3600)
    assert windows["month"]["runs_out_in_s"] == pytest.approx(34 * 3600)  # 17 USD left at 0.5 an hour
    assert windows["days7"]["runs_out_in_s"] == pytest.approx(8 * 3600)  # 4 USD left
    roomy = BudgetBook([Budget(key="r", usd_per_day=100.0)], MemorySpendStore(), clock)
    await roomy.charge("r", 3.0)
    assert (await forecast(roomy))[0]["windows"][0]["runs_out_in_s"] is None  # 194 h: the day resets first
    idle = BudgetBook([Budget(key="b", usd_per_day=1.0)], MemorySpendStore(), clock)
    assert (await forecast(idle))[0]["windows"][0]["runs_out_in_s"] is None  # nothing spent: no end in sight
