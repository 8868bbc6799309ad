"""The response cache through the gateway: hits are free and logged, parameters and pins
change the key, no-cache bypasses, failures are never kept, audio is cached, Redis is shared."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image

from contract_tests.scripted_provider import Fail, ScriptedProvider
from gateway.cache import MemoryCache, cache_key
from gateway.cache.settings import CacheSettings
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from omnisense.schema import Task, TextRequest, UpstreamUnavailable
from tests.conftest import SCRIPTED, require_redis
from tests.jobs_helpers import wait_until

POLICY = f"""
version: 1
providers:
  primary:   {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002}}
  secondary: {{kind: "{SCRIPTED}", label: secondary, price_usd: 0.001}}
defaults: {{timeout_s: 1.0, retries: {{attempts: 1}}}}
routes:
  text.*:   {{candidates: [primary, secondary], cache: {{ttl_s: 3600}}}}
  vision.*: {{candidates: [primary, secondary]}}
  speech.*: {{candidates: [primary, secondary], cache: {{ttl_s: 60}}}}
"""
REDIS_URL = "redis://127.0.0.1:6379/0"
Client = TestClient  # type: ignore[type-arg]


def config(tmp_path: Path, cache: CacheSettings | None = None) -> GatewayConfig:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return GatewayConfig(policy=str(policy), logs=LogSettings(sink="none"), cache=cache or CacheSettings())


@pytest.fixture
def gw(tmp_path: Path, sink: MemorySink) -> Iterator[Client]:
    with TestClient(create_app(config(tmp_path), sink=sink)) as c:
        yield c


def calls(client: Client, name: str = "primary") -> int:
    provider: Any = client.app.state.runtime.providers[name]
    assert isinstance(provider, ScriptedProvider)
    return len(provider.calls)


def records(sink: MemorySink, n: int) -> list[Any]:
    return wait_until(lambda: sink.records if len(sink.records) >= n else None)


def test_a_hit_is_free_answered_from_the_cache_and_logged(gw: Client, sink: MemorySink) -> None:
    body = {"text": "What a lovely day"}
    first = gw.post("/v1/text/sentiment", json=body)
    second = gw.post("/v1/text/sentiment", json=body)
    assert first.status_code == second.status_code == 200
    a, b = first.json(), second.json()
    assert a["cache"] == "miss" and b["cache"] == "hit" and second.headers["x-omnisense-cache"] == "hit"
    assert a["usage"]["cost_usd"] > 0 and b["usage"]["cost_usd"] == 0.0
    assert b["result"] == a["result"] and b["provider"] == "primary" and "attempts" not in b
    assert b["request_id"] != a["request_id"] and second.headers["x-request-id"] == b["request_id"]
    assert calls(gw) == 1
    miss, hit = records(sink, 2)
    assert (miss.cache, hit.cache) == ("miss", "hit")
    assert hit.cost_usd == 0.0 and hit.provider == "primary" and hit.status == "ok" and hit.attempts == []
    assert hit.output is not None and hit.output.top == "positive"


def test_a_different_parameter_or_pin_misses(gw: Client) -> None:
    gw.post("/v1/text/sentiment", json={"text": "Same words"})
    assert gw.post("/v1/text/sentiment", json={"text": "Same words", "language": "en"}).json()["cache"] == "miss"
    assert gw.post("/v1/text/sentiment", json={"text": "Same words!"}).json()["cache"] == "miss"
    pinned = gw.post("/v1/text/sentiment", json={"text": "Same words"}, headers={"X-Omnisense-Provider": "secondary"})
    assert pinned.json()["cache"] == "miss" and pinned.json()["provider"] == "secondary"
    assert gw.post("/v1/text/sentiment", json={"text": "Same words"}).json()["cache"] == "hit"


def test_no_cache_bypasses_the_lookup_and_refreshes(gw: Client) -> None:
    gw.post("/v1/text/language", json={"text": "Hello"})
    fresh = gw.post("/v1/text/language", json={"text": "Hello"}, headers={"Cache-Control": "no-cache"})
    assert fresh.json()["cache"] == "bypass" and fresh.json()["usage"]["cost_usd"] > 0
    assert calls(gw) == 2
    assert gw.post("/v1/text/language", json={"text": "Hello"}).json()["cache"] == "hit"


def test_failures_are_not_cached_and_routes_without_cache_do_not_cache(gw: Client) -> None:
    for name in ("primary", "secondary"):
        provider: Any = gw.app.state.runtime.providers[name]
        provider.script(Fail(UpstreamUnavailable))
    assert gw.post("/v1/text/entities", json={"text": "Berlin"}).status_code == 502
    assert gw.post("/v1/text/entities", json={"text": "Berlin"}).json()["cache"] == "miss"
    png = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(png, format="PNG")
    for _ in range(2):
        one = gw.post("/v1/vision/labels", content=png.getvalue(), headers={"Content-Type": "image/png"})
        assert one.status_code == 200 and "cache" not in one.json() and "x-omnisense-cache" not in one.headers


def test_synthesized_audio_is_cached_too(gw: Client) -> None:
    first = gw.post("/v1/speech/synthesize", json={"text": "Hello"})
    second = gw.post("/v1/speech/synthesize", json={"text": "Hello"})
    assert second.content == first.content and second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-omnisense-cache"] == "hit" and second.headers["x-omnisense-cost-usd"] == "0.00000000"
    assert calls(gw) == 1


def test_the_memory_store_is_bounded_lru_with_expiry() -> None:
    now = [0.0]
    cache = MemoryCache(2, clock=lambda: now[0])

    async def run() -> None:
        await cache.set("a", b"1", 10)
        await cache.set("b", b"2", 10)
        assert await cache.get("a") == b"1"  # a is now the most recent
        await cache.set("c", b"3", 10)
        assert await cache.get("b") is None and await cache.get("a") == b"1" and len(cache) == 2
        now[0] = 11.0
        assert await cache.get("a") is None

    asyncio.run(run())


def test_the_key_covers_task_parameters_input_and_pin() -> None:
    base = cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), None)
    assert base == cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), None)
    others = [
        cache_key("q", Task.TEXT_SENTIMENT, TextRequest(text="x"), None),
        cache_key("p", Task.TEXT_ENTITIES, TextRequest(text="x"), None),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="y"), None),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x", language="en"), None),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x", include_raw=True), None),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), "aws"),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), None, frozenset({"local"})),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), None, route=["text.*", "aws", "local"]),
        cache_key("p", Task.TEXT_SENTIMENT, TextRequest(text="x"), None, tenant="team-a"),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_a_redis_cache_is_shared_by_two_replicas(tmp_path: Path) -> None:
    require_redis()
    prefix = f"omnisense-test-{uuid.uuid4().hex[:12]}:"
    settings = CacheSettings(store="redis", url=REDIS_URL, prefix=prefix)
    sinks = MemorySink(), MemorySink()
    try:
        with (
            TestClient(create_app(config(tmp_path, settings), sink=sinks[0])) as one,
            TestClient(create_app(config(tmp_path, settings), sink=sinks[1])) as two,
        ):
            assert one.post("/v1/text/sentiment", json={"text": "Shared"}).json()["cache"] == "miss"
            hit = two.post("/v1/text/sentiment", json={"text": "Shared"}).json()
            assert hit["cache"] == "hit" and hit["usage"]["cost_usd"] == 0.0
            assert calls(one) == 1 and calls(two) == 0
            (record,) = records(sinks[1], 1)
            assert record.cache == "hit"
    finally:
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(f"{prefix}*"))
        assert len(keys) == 1
        r.delete(*keys)
        r.close()


def test_a_dead_redis_answers_without_the_cache(tmp_path: Path) -> None:
    settings = CacheSettings(store="redis", url="redis://127.0.0.1:1/0")
    with TestClient(create_app(config(tmp_path, settings), sink=MemorySink())) as c:
        for _ in range(2):
            r = c.post("/v1/text/sentiment", json={"text": "No Redis"})
            assert r.status_code == 200 and r.json()["cache"] == "miss"


def test_keys_limited_to_other_providers_do_not_share_entries(tmp_path: Path) -> None:
    from gateway.server.config import ApiKey, hash_key

    keys = [
        ApiKey(id="any", sha256=hash_key("key-any")),
        ApiKey(id="cheap", sha256=hash_key("key-cheap"), providers=["secondary"]),
    ]
    cfg = config(tmp_path)
    import msgspec

    with TestClient(create_app(msgspec.structs.replace(cfg, keys=keys), sink=MemorySink())) as c:
        body = {"text": "Who answers?"}
        first = c.post("/v1/text/sentiment", json=body, headers={"Authorization": "Bearer key-any"}).json()
        assert first["provider"] == "primary" and first["cache"] == "miss"
        cheap = c.post("/v1/text/sentiment", json=body, headers={"Authorization": "Bearer key-cheap"}).json()
        assert cheap["provider"] == "secondary" and cheap["cache"] == "miss"
        again = c.post("/v1/text/sentiment", json=body, headers={"Authorization": "Bearer key-cheap"}).json()
        assert again["provider"] == "secondary" and again["cache"] == "hit"


def test_tenants_are_apart_unless_the_route_shares_its_cache(tmp_path: Path) -> None:
    """Two gateways on one Redis cache: a second key misses the first key's entry, on either
    gateway; a route with ``cache: {shared: true}`` answers every key from one entry."""
    import msgspec

    from gateway.server.config import ApiKey, hash_key

    require_redis()
    policy = tmp_path / "tenants.yaml"
    policy.write_text(
        POLICY.replace("text.*:   {candidates: [primary, secondary], cache: {ttl_s: 3600}}",
                       "text.sentiment: {candidates: [primary], cache: {ttl_s: 3600}}\n"
                       "  text.language: {candidates: [primary], cache: {ttl_s: 3600, shared: true}}")
    )  # fmt: skip
    prefix = f"omnisense-test-{uuid.uuid4().hex[:12]}:"
    keys = [ApiKey(id="tenant-a", sha256=hash_key("key-a")), ApiKey(id="tenant-b", sha256=hash_key("key-b"))]
    cfg = msgspec.structs.replace(
        config(tmp_path, CacheSettings(store="redis", url=REDIS_URL, prefix=prefix)), policy=str(policy), keys=keys
    )
    a, b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    try:
        with (
            TestClient(create_app(cfg, sink=MemorySink())) as one,
            TestClient(create_app(cfg, sink=MemorySink())) as two,
        ):
            body = {"text": "Private matter"}
            assert one.post("/v1/text/sentiment", json=body, headers=a).json()["cache"] == "miss"
            assert two.post("/v1/text/sentiment", json=body, headers=a).json()["cache"] == "hit"  # same tenant
            other = two.post("/v1/text/sentiment", json=body, headers=b).json()
            assert other["cache"] == "miss" and other["usage"]["cost_usd"] > 0  # tenant b paid for its own answer
            assert calls(one) + calls(two) == 2
            assert one.post("/v1/text/language", json=body, headers=a).json()["cache"] == "miss"
            assert two.post("/v1/text/language", json=body, headers=b).json()["cache"] == "hit"  # shared route
    finally:
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        names = list(r.scan_iter(f"{prefix}*"))
        assert len(names) == 3  # a's and b's sentiment, one shared language entry
        r.delete(*names)
        r.close()
