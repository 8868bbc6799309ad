"""The shared-state parts against the real Redis on 127.0.0.1:6379 (a key prefix per test):
two links stand for two replicas. The fleet-level behaviour is in tests/test_scale_out.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from gateway.server.config import load_config
from omnisense.schema import Attempt, Task
from policies.budgets import BudgetBook
from policies.circuit import CircuitBoard
from policies.latency import LatencyBook
from policies.model import Budget, CircuitSettings, Fastest
from policies.shared.backend import SharedBackend, open_backend
from policies.shared.ratelimit import Limit
from tests.conftest import require_redis

URL = "redis://127.0.0.1:6379/0"
TASK = Task.TEXT_SENTIMENT
FAIL = Attempt(provider="p", outcome="error", latency_ms=3.0, error_type="UpstreamUnavailable")
OK = Attempt(provider="p", outcome="ok", latency_ms=40.0)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[SharedBackend, SharedBackend]]:
    require_redis()
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    a = await open_backend(URL, prefix=prefix, sync_s=0.05)
    b = await open_backend(URL, prefix=prefix, sync_s=0.05)
    try:
        yield a, b
    finally:
        assert a.link is not None
        names = [n async for n in a.link.redis.scan_iter(f"{prefix}*")]
        if names:
            await a.link.redis.delete(*names)
        await a.aclose()
        await b.aclose()


async def test_a_rate_limit_is_one_bucket_for_every_replica(pair: tuple[SharedBackend, SharedBackend]) -> None:
    a, b = pair
    limits = [Limit("minute", 4, 60.0)]
    verdicts = [await (a if i % 2 else b).limiter.take("k", limits) for i in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 4 + [False] * 2
    assert 10 < verdicts[-1].retry_after_s <= 15 and verdicts[-1].limit == limits[0]
    # the tighter of two limits refuses, and a refused request takes no token from the other
    both = [Limit("second", 1, 1.0), Limit("minute", 100, 60.0)]
    assert (await a.limiter.take("j", both)).allowed
    refused = await b.limiter.take("j", both)
    assert not refused.allowed and refused.limit == both[0]


async def test_circuits_and_latency_travel_between_replicas(pair: tuple[SharedBackend, SharedBackend]) -> None:
    a, b = pair
    assert a.hub is not None and b.hub is not None
    settings = CircuitSettings(failures=3, cooldown_s=30.0)

    def books(hub_owner: SharedBackend) -> tuple[CircuitBoard, LatencyBook]:
        circuits, latencies = CircuitBoard(lambda _: settings), LatencyBook(lambda _: Fastest(window=10))
        assert hub_owner.hub is not None
        shared = hub_owner.hub.attach("policy-x", circuits, latencies)
        circuits.shared = shared  # type: ignore[attr-defined]
        return circuits, latencies

    circuits_a, latency_a = books(a)
    circuits_b, latency_b = books(b)
    shared_a, shared_b = a.hub.attached["policy-x"], b.hub.attached["policy-x"]

    def observe(circuits: CircuitBoard, latencies: LatencyBook, shared: object, attempt: Attempt) -> None:
        was_open = circuits.state("p", TASK) == "open"
        circuits.observe("p", TASK, attempt)
        latencies.observe("p", TASK, attempt)
        shared.observe("p", TASK, attempt, was_open)  # type: ignore[attr-defined]

    # failures seen by two replicas add up: two on A and one on B open the fleet's circuit
    observe(circuits_a, latency_a, shared_a, FAIL)
    observe(circuits_a, latency_a, shared_a, FAIL)
    await a.hub.sync()
    observe(circuits_b, latency_b, shared_b, FAIL)
    await b.hub.sync()
    assert circuits_b.state("p", TASK) == "open"  # opened in Redis, read back by B
    await a.hub.sync()
    assert circuits_a.state("p", TASK) == "open" and 29 < circuits_a.breaker("p", TASK).cooldown_left_s() <= 30
    # a success elsewhere resets the count; latency samples from A reach B's window
    observe(circuits_a, latency_a, shared_a, OK)
    await a.hub.sync()
    await b.hub.sync()
    stat = latency_b.stat("p", TASK)
    assert stat is not None and stat.samples == 4  # 3 failures (penalised) + 1 success, from both
    assert stat.mean_ms == pytest.approx((3 * 5000.0 + 40.0) / 4)


async def test_spend_charged_while_redis_is_away_is_paid_back_on_rejoin(
    pair: tuple[SharedBackend, SharedBackend],
) -> None:
    a, b = pair
    assert a.link is not None and a.spend is not None and b.spend is not None
    book_a, book_b = (
        BudgetBook([Budget(key="k", usd_per_day=1.0)], a.spend),
        BudgetBook([Budget(key="k", usd_per_day=1.0)], b.spend),
    )
    await book_a.charge("k", 0.25)
    a.link.mark_down(ConnectionError("simulated outage"))  # the next ping (Redis is up) rejoins
    assert not a.status().connected and a.status().outages == 1
    await book_a.charge("k", 0.5)  # counted locally
    assert (await book_a.spent("k"))["day"] == pytest.approx(0.75)
    assert (await book_b.spent("k"))["day"] == pytest.approx(0.25)  # B has not seen it yet
    for _ in range(100):
        if a.link.up and not a.spend.pending:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert a.status().connected
    assert (await book_b.spent("k"))["day"] == pytest.approx(0.75)


async def test_a_replica_without_redis_serves_on_local_state() -> None:
    backend = await open_backend("redis://127.0.0.1:1/0", prefix="omnisense-test:nowhere:", sync_s=0.05)
    try:
        status = backend.status()
        assert status.backend == "redis" and not status.connected and status.detail
        limits = [Limit("minute", 2, 60.0)]
        assert [(await backend.limiter.take("k", limits)).allowed for _ in range(3)] == [True, True, False]
        assert backend.spend is not None
        book = BudgetBook([Budget(key="k", usd_per_day=1.0)], backend.spend)
        await book.charge("k", 0.4)
        allowance = await book.left("k")
        assert allowance is not None and allowance.left_usd == pytest.approx(0.6)
    finally:
        await backend.aclose()


def test_the_config_names_one_redis(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("spend_store: redis://127.0.0.1:6379/0\n")
    assert load_config(str(path)).redis_url == "redis://127.0.0.1:6379/0"  # the old name still works
    path.write_text("spend_store: redis://a:6379/0\nstate: {redis: 'redis://b:6379/0'}\n")
    with pytest.raises(ValueError, match=r"spend_store and state\.redis"):
        load_config(str(path))
    path.write_text("state: {redis: 'redis://b:6379/0', sync_s: 0}\n")
    with pytest.raises(ValueError, match=r"state\.sync_s"):
        load_config(str(path))
    path.write_text("keys: [{id: k, sha256: ab, rate_per_second: 0.5}]\n")
    with pytest.raises(ValueError, match=r"keys\[k\].rate_per_second"):
        load_config(str(path))


def test_an_embedded_gateway_says_its_state_is_in_memory(client: TestClient) -> None:  # type: ignore[type-arg]
    state = client.get("/v1/providers").json()["state"]
    assert state == {"backend": "memory", "connected": True, "down_since_s": None, "outages": 0, "detail": None}
    assert 'omnisense_shared_state_up{backend="memory"} 1.0' in client.get("/metrics").text


def test_a_redis_cache_without_its_own_url_uses_the_shared_state_redis(tmp_path: Path) -> None:
    from gateway.cache import RedisCache, make_store
    from gateway.cache.settings import CacheSettings

    path = tmp_path / "gateway.yaml"
    path.write_text("cache: {store: redis}\n")
    with pytest.raises(ValueError, match=r"neither cache\.url nor state\.redis"):
        load_config(str(path))
    path.write_text(f"cache: {{store: redis}}\nstate: {{redis: '{URL}'}}\n")
    config = load_config(str(path))
    store = make_store(config.cache, config.redis_url)
    assert isinstance(store, RedisCache)
    with pytest.raises(ValueError, match=r"cache\.url is required"):
        make_store(CacheSettings(store="redis"))


async def test_an_outage_that_begins_while_rejoining_still_ends(pair: tuple[SharedBackend, SharedBackend]) -> None:
    """Redis lost again during the rejoin (the monitor task still running) must not leave the link down for good."""
    a, _ = pair
    link = a.link
    assert link is not None
    link.retry_s = 0.02
    rejoins = 0

    async def flaky_rejoin() -> None:
        nonlocal rejoins
        rejoins += 1
        if rejoins == 1:  # the connection drops again in the middle of the first rejoin
            await link.run(lambda r: _raise(ConnectionError("dropped during rejoin")))

    link.on_rejoin.insert(0, flaky_rejoin)
    link.mark_down(ConnectionError("simulated outage"))
    for _ in range(200):
        if link.up and rejoins >= 2:
            break
        await asyncio.sleep(0.02)
    assert rejoins >= 2 and link.up, f"rejoins={rejoins}, up={link.up}: the second outage was never monitored"
    assert a.status().connected and a.status().outages == 2


async def _raise(exc: Exception) -> None:
    raise exc
