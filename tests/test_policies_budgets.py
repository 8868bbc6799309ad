"""Budget books over both spend stores: in-process, and the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from policies.budgets import BudgetBook, MemorySpendStore, RedisSpendStore, SpendStore, periods
from policies.model import Budget
from tests.conftest import service_missing

DAY = 86400.0
T0 = 1_790_000_000.0  # 2026-09-21 (UTC), mid-day


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.3).ping())
    except Exception:
        return False


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SpendStore]:
    if request.param == "memory":
        yield MemorySpendStore()
        return
    if not redis_up():
        service_missing("no Redis on 127.0.0.1:6379")
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
    if not redis_up():
        service_missing("no Redis on 127.0.0.1:6379")
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
