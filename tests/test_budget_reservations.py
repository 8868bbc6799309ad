"""Budget reservations across two gateway processes sharing the real Redis (issue #28).

Each request reserves its estimated cost in Redis (one Lua script) before calling the
provider, so requests in flight together cannot all pass a check and overshoot; shadows
are charged when they answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gateway.server.config import hash_key
from tests.conftest import drop_redis_prefix, require_redis
from tests.fleet import FakeModelServer, Replica, wait_until

KEYS = {"ten": "key-ten", "watched": "key-watched", "ops": "key-ops"}
PRICES = (
    "{text.sentiment: {usd: 0.001, per: 1000000, unit: character, minimum: 1000000},"
    " text.language: {usd: 0.002, per: 1000000, unit: character, minimum: 1000000}}"
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Replica], FakeModelServer, str]]:
    require_redis()
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    tmp = tmp_path_factory.mktemp("reservations")
    with FakeModelServer() as paid, FakeModelServer() as free:
        policy = tmp / "policy.yaml"
        policy.write_text(f"""
version: 1
providers:
  paid: {{kind: local, url: "{paid.url}", timeout_s: 10, prices: {PRICES}}}
  free: {{kind: local, url: "{free.url}", timeout_s: 10}}
defaults: {{retries: {{attempts: 1}}}}
routes:
  text.sentiment: {{strategy: priority, candidates: [paid]}}
  text.language:  {{strategy: priority, candidates: [free], shadow: [paid], shadow_fraction: 1.0}}
budgets:
  - {{key: ten, usd_per_day: 0.01, then: reject}}
  - {{key: watched, usd_per: {{amount: 1.0, days: 7}}}}
""")
        config = tmp / "gateway.yaml"
        config.write_text(f"""
policy: "{policy}"
policy_watch_s: null
state: {{redis: "redis://127.0.0.1:6379/0", prefix: "{prefix}", sync_s: 0.1}}
logs: {{sink: none}}
keys:
  - {{id: ten, sha256: {hash_key(KEYS["ten"])}}}
  - {{id: watched, sha256: {hash_key(KEYS["watched"])}}}
  - {{id: ops, sha256: {hash_key(KEYS["ops"])}, admin: true}}
""")
        replicas = [Replica(config) for _ in range(2)]
        try:
            for r in replicas:
                r.start()
            yield replicas, paid, prefix
        finally:
            for r in replicas:
                r.stop()
            drop_redis_prefix(prefix)


def spent(prefix: str, key_id: str, window: str) -> float:
    client = redis.Redis(host="127.0.0.1", port=6379)
    names = list(client.scan_iter(f"{prefix}spend:{key_id}:{window}:*"))
    assert len(names) <= 1, names
    return float(client.get(names[0]) or 0) if names else 0.0


def test_forty_requests_in_flight_on_room_for_ten_leave_exactly_ten_charged(
    setup: tuple[list[Replica], FakeModelServer, str],
) -> None:
    replicas, paid, prefix = setup
    paid.delay_s = 0.5  # every request is in flight while the others reserve: check-then-spend would let all pass
    before = paid.hits.get("/text/sentiment", 0)
    try:
        with ThreadPoolExecutor(40) as pool:
            calls = [
                pool.submit(replicas[i % 2].post, "/v1/text/sentiment", {"text": f"hi {i}"}, KEYS["ten"])
                for i in range(40)
            ]
            answers = [c.result() for c in calls]
    finally:
        paid.delay_s = 0.0
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 10 and codes.count(429) == 30, codes
    assert {a.json()["type"] for a in answers if a.status_code == 429} == {"/problems/budget-exceeded"}
    assert paid.hits.get("/text/sentiment", 0) - before == 10  # the refused ones never reached the vendor
    assert spent(prefix, "ten", "day") == pytest.approx(0.01)  # settled: exactly ten times 0.001
    assert replicas[1].post("/v1/text/sentiment", {"text": "one more"}, KEYS["ten"]).status_code == 429


def test_a_shadow_is_charged_to_the_callers_custom_window(setup: tuple[list[Replica], FakeModelServer, str]) -> None:
    replicas, paid, prefix = setup
    before = paid.hits.get("/text/language", 0)
    r = replicas[0].post("/v1/text/language", {"text": "hello there"}, KEYS["watched"])
    assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "free"
    assert r.json()["usage"]["cost_usd"] == 0.0  # the served answer is free ...
    wait_until(lambda: paid.hits.get("/text/language", 0) == before + 1, 10, "the shadow did not run")
    wait_until(lambda: spent(prefix, "watched", "day") > 0, 10, "the shadow was not charged")
    # ... the shadow is not: its price is on the key's day, month and 7-day window
    for window in ("day", "month", "days7"):
        assert spent(prefix, "watched", window) == pytest.approx(0.002), window
