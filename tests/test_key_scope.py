"""What a key may do: its tasks, the providers that may serve it (routing, not only pinning), admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.auth import KeyRing
from gateway.server.config import ApiKey, LogSettings, hash_key, load_config
from omnisense.schema import RateLimited
from policies.shared.ratelimit import MemoryRateLimiter
from tests.routing_helpers import policy_text, wait_for

Client = TestClient  # type: ignore[type-arg]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(tmp_path: Path, sink: MemorySink) -> Iterator[Client]:
    path = tmp_path / "policy.yaml"
    providers = {"cheap": {"price_usd": 0.001}, "pricey": {"price_usd": 0.002}, "mirror": {}}
    path.write_text(
        policy_text(providers, '  "*": {strategy: cheapest, candidates: [cheap, pricey], shadow: [mirror]}')
    )
    keys = [
        ApiKey(id="eyes", sha256=hash_key("eyes-key"), tasks=["vision.*", "text.language"]),
        ApiKey(id="eu", sha256=hash_key("eu-key"), providers=["pricey"]),
        ApiKey(id="nobody", sha256=hash_key("nobody-key"), providers=["mirror-only"]),
        ApiKey(id="ops", sha256=hash_key("ops-key"), admin=True),
        ApiKey(id="slow", sha256=hash_key("slow-key"), rate_per_minute=2),
    ]
    config = GatewayConfig(policy=str(path), keys=keys, logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as c:
        yield c


def test_401_says_how_to_authenticate(client: Client) -> None:
    for headers in ({}, bearer("wrong")):
        r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/v1/logs").headers["www-authenticate"].startswith("Bearer")


def test_a_key_calls_only_its_tasks(client: Client) -> None:
    eyes = bearer("eyes-key")
    r = client.post("/v1/vision/labels", content=samples.png(), headers={**eyes, "Content-Type": "image/png"})
    assert r.status_code == 200
    assert client.post("/v1/text/language", json={"text": "hi"}, headers=eyes).status_code == 200
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers=eyes)
    assert r.status_code == 403 and "text.sentiment" in r.json()["detail"]
    r = client.post("/v1/route/explain", json={"task": "speech.synthesize", "text": "hi"}, headers=eyes)
    assert r.status_code == 403


def test_a_keys_providers_limit_routing_not_only_pinning(client: Client, sink: MemorySink) -> None:
    eu = bearer("eu-key")
    runtime = client.app.state.runtime
    for _ in range(3):  # cheapest would pick "cheap", which this key may not use
        r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers=eu)
        assert r.status_code == 200 and r.json()["provider"] == "pricey"
    assert not runtime.providers["cheap"].calls
    wait_for(lambda: len(sink.records) >= 3)
    assert not runtime.providers["mirror"].calls, "no shadow copy to a provider outside the key's list"
    assert "cheap: the key may not use it" in sink.records[-1].decisions
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers={**eu, "X-Omnisense-Provider": "cheap"})
    assert r.status_code == 403 and r.json()["field"] == "X-Omnisense-Provider"
    plan = client.post("/v1/route/explain", json={"task": "text.sentiment", "text": "hi"}, headers=eu).json()
    assert [s["provider"] for s in plan["steps"]] == ["pricey"]
    # An unrestricted key still gets the cheapest, and its shadow.
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers=bearer("ops-key"))
    assert r.json()["provider"] == "cheap"
    wait_for(lambda: bool(runtime.providers["mirror"].calls))


def test_a_key_whose_providers_serve_nothing_is_403(client: Client) -> None:
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers=bearer("nobody-key"))
    assert r.status_code == 403 and "none of the providers" in r.json()["detail"]


def test_admin_scope(client: Client) -> None:
    for path in ("/v1/logs", "/v1/stats"):
        assert client.get(path, headers=bearer("eu-key")).status_code == 403
        assert client.get(path, headers=bearer("ops-key")).status_code == 200
    assert client.post("/v1/policy/reload", headers=bearer("eyes-key")).status_code == 403


def test_config_refuses_task_patterns_that_match_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(f"keys: [{{id: a, sha256: '{hash_key('a')}', tasks: [vision.lables]}}]\n")
    with pytest.raises(ValueError, match=r"keys\[a\]\.tasks: 'vision.lables'"):
        load_config(str(path))
    path.write_text("limits: {allow_urls: true}\n")
    with pytest.raises(ValueError, match=r"urls\.hosts is empty"):
        load_config(str(path))


def test_a_key_over_its_rate_is_429_with_retry_after(client: Client, sink: MemorySink) -> None:
    slow = bearer("slow-key")
    answers = [client.post("/v1/text/sentiment", json={"text": "hi"}, headers=slow) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json()["type"] == "/problems/rate-limited" and 25 <= int(answers[2].headers["retry-after"]) <= 30
    assert client.post("/v1/text/sentiment", json={"text": "hi"}, headers=bearer("ops-key")).status_code == 200
    wait_for(lambda: any(r.http_status == 429 for r in sink.records))


async def test_a_rate_bucket_refills_over_its_minute() -> None:
    now = [100.0]
    key = ApiKey(id="k", sha256=hash_key("k"), rate_per_minute=2)
    keys = KeyRing(GatewayConfig(keys=[key]), MemoryRateLimiter(clock=lambda: now[0]))
    await keys.check_rate(key)
    await keys.check_rate(key)
    now[0] = 110.0
    with pytest.raises(RateLimited):
        await keys.check_rate(key)  # a third of a token back
    now[0] = 131.0
    await keys.check_rate(key)  # a whole token after 30 s
    with pytest.raises(RateLimited):
        await keys.check_rate(key)
