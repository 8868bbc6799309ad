"""Three gateway processes on loopback sharing the real Redis (issue #15).

Every replica is a real `omnisense serve` process; the model servers are instant fakes;
Redis is the one on 127.0.0.1:6379 under a key prefix of this test module's own, except
in the outage test, which stops and restarts a private redis-server of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.server.config import hash_key
from tests.conftest import drop_redis_prefix, require_redis
from tests.fleet import FakeModelServer, RedisServer, Replica, wait_until

KEYS = {"team-a": "key-team-a", "payer": "key-payer", "slow": "key-slow", "busy": "key-busy", "ops": "key-ops"}
PRICE = "{text.sentiment: {usd: 0.001, per: 1000000, unit: character, minimum: 1000000}}"


def write_fleet_files(tmp: Path, primary: str, backup: str, redis_url: str, prefix: str) -> Path:
    policy = tmp / "policy.yaml"
    policy.write_text(f"""
version: 1
providers:
  primary: {{kind: local, url: "{primary}", timeout_s: 5, prices: {PRICE}}}
  backup:  {{kind: local, url: "{backup}", timeout_s: 5}}
defaults: {{retries: {{attempts: 1}}, circuit: {{failures: 3, cooldown_s: 60}}}}
routes:
  text.language:  {{strategy: priority, candidates: [primary, backup]}}
  text.sentiment: {{strategy: priority, candidates: [primary]}}
budgets:
  - {{key: payer, usd_per_day: 0.0035, then: reject}}
  - {{key: busy, usd_per_day: 100}}
""")
    config = tmp / "gateway.yaml"
    config.write_text(f"""
policy: "{policy}"
policy_watch_s: null
state: {{redis: "{redis_url}", prefix: "{prefix}", sync_s: 0.1}}
logs: {{sink: none}}
keys:
  - {{id: team-a, sha256: {hash_key(KEYS["team-a"])}}}
  - {{id: payer, sha256: {hash_key(KEYS["payer"])}}}
  - {{id: slow, sha256: {hash_key(KEYS["slow"])}, rate_per_minute: 6}}
  - {{id: busy, sha256: {hash_key(KEYS["busy"])}, rate_per_second: 1000}}
  - {{id: ops, sha256: {hash_key(KEYS["ops"])}, admin: true}}
""")
    return config


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeModelServer, FakeModelServer]]:
    with FakeModelServer() as primary, FakeModelServer() as backup:
        yield primary, backup


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, fakes: tuple[FakeModelServer, FakeModelServer]
) -> Iterator[list[Replica]]:
    require_redis()
    prefix = f"omnisense-test:{uuid.uuid4().hex}:"
    tmp = tmp_path_factory.mktemp("fleet")
    config = write_fleet_files(tmp, fakes[0].url, fakes[1].url, "redis://127.0.0.1:6379/0", prefix)
    replicas = [Replica(config) for _ in range(3)]
    try:
        for r in replicas:
            r.start()
        yield replicas
    finally:
        for r in replicas:
            r.stop()
        drop_redis_prefix(prefix)


def circuit_state(replica: Replica, provider: str, task: str) -> str:
    for p in replica.providers(KEYS["ops"])["providers"]:
        if p["name"] == provider:
            return str(p["circuits"].get(task, {}).get("state", "closed"))
    raise AssertionError(f"no provider {provider}")


def test_a_circuit_opened_through_one_replica_is_open_on_the_others(
    fleet: list[Replica], fakes: tuple[FakeModelServer, FakeModelServer]
) -> None:
    primary, _ = fakes
    first, *others = fleet
    primary.failing = True
    try:
        for _ in range(3):  # three failures of `primary`, each answered by `backup`
            r = first.post("/v1/text/language", {"text": "hello there"}, KEYS["team-a"])
            assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "backup"
        assert circuit_state(first, "primary", "text.language") == "open"
        for replica in others:
            wait_until(lambda r=replica: circuit_state(r, "primary", "text.language") == "open", 5, "not shared")
    finally:
        primary.failing = False
    hits = primary.hits.get("/text/language", 0)
    for replica in others:  # they route around primary without trying it, though it would answer now
        r = replica.post("/v1/text/language", {"text": "hello there"}, KEYS["team-a"])
        assert r.status_code == 200 and r.headers["x-omnisense-provider"] == "backup"
        assert [a["provider"] for a in r.json()["attempts"] if a["outcome"] != "skipped"] in ([], ["backup"])
    assert primary.hits.get("/text/language", 0) == hits
    # other tasks of the same provider have circuits of their own
    assert circuit_state(others[0], "primary", "text.sentiment") == "closed"


def test_a_rate_limit_holds_across_replicas(fleet: list[Replica]) -> None:
    codes = [fleet[i % 3].post("/v1/text/sentiment", {"text": "hi"}, KEYS["slow"]).status_code for i in range(12)]
    assert 6 <= codes.count(200) <= 7, codes  # 6 a minute for the whole fleet (plus what refills meanwhile)
    assert set(codes) == {200, 429}
    refused = fleet[1].post("/v1/text/sentiment", {"text": "hi"}, KEYS["slow"])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"] == "/problems/rate-limited"


def test_a_budget_holds_across_replicas_and_survives_a_restart(fleet: list[Replica]) -> None:
    answers = [fleet[i % 3].post("/v1/text/sentiment", {"text": "hi"}, KEYS["payer"]) for i in range(6)]
    codes = [r.status_code for r in answers]
    assert codes == [200, 200, 200, 429, 429, 429], codes  # 0.0035 USD a day, 0.001 a request
    assert answers[0].json()["usage"]["cost_usd"] == pytest.approx(0.001)
    fleet[0].stop()
    fleet[0].start()
    after = fleet[0].post("/v1/text/sentiment", {"text": "hi"}, KEYS["payer"])
    assert after.status_code == 429 and after.json()["type"] == "/problems/budget-exceeded"
    # a key without a budget is served as before
    assert fleet[0].post("/v1/text/sentiment", {"text": "hi"}, KEYS["team-a"]).status_code == 200


def test_with_redis_stopped_mid_run_every_request_is_answered(
    tmp_path: Path, fakes: tuple[FakeModelServer, FakeModelServer]
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    config = write_fleet_files(tmp_path, fakes[0].url, fakes[1].url, server.url, "omnisense-test:outage:")
    replicas = [Replica(config) for _ in range(3)]
    try:
        for r in replicas:
            r.start()
        assert all(r.providers(KEYS["ops"])["state"]["connected"] for r in replicas)
        # requests in flight on every replica while Redis stops; each takes a rate-limit token,
        # reads its key's spend and charges it (all three in Redis until it goes)
        with ThreadPoolExecutor(4) as pool:
            calls = [
                pool.submit(replicas[i % 3].post, "/v1/text/sentiment", {"text": "hi"}, KEYS["busy"]) for i in range(60)
            ]
            wait_until(lambda: sum(c.done() for c in calls) >= 10, 30, "no answers")
            server.stop()
            codes = [c.result().status_code for c in calls]
        assert codes == [200] * 60
        for r in replicas:
            state = r.providers(KEYS["ops"])["state"]
            assert state["backend"] == "redis" and state["connected"] is False and state["outages"] == 1
            assert 'omnisense_shared_state_up{backend="redis"} 0.0' in _metrics(r)
        # budgets still hold on local state: the payer's spend is counted while Redis is away
        payer = [replicas[0].post("/v1/text/sentiment", {"text": "hi"}, KEYS["payer"]).status_code for _ in range(5)]
        assert payer == [200, 200, 200, 429, 429]
        server.start()  # the same port: every replica rejoins by itself
        for r in replicas:
            wait_until(lambda r=r: r.providers(KEYS["ops"])["state"]["connected"], 10, "did not rejoin")
            assert 'omnisense_shared_state_up{backend="redis"} 1.0' in _metrics(r)
        # the spend charged during the outage was paid into Redis on rejoin: the fleet sees it
        assert replicas[1].post("/v1/text/sentiment", {"text": "hi"}, KEYS["payer"]).status_code == 429
    finally:
        for r in replicas:
            r.stop()
        server.stop()


def test_serve_with_workers_counts_every_workers_requests_in_each_scrape(fleet: list[Replica], tmp_path: Path) -> None:
    replica = Replica(fleet[0].config, workers=2, env={"TMPDIR": str(tmp_path)}).start()
    try:
        shares = list(tmp_path.glob("omnisense-metrics-*"))
        assert len(shares) == 1, "serve made one directory for its workers' counters"
        for _ in range(20):  # a new connection each: either worker answers
            assert replica.post("/v1/text/language", {"text": "hello"}, KEYS["busy"]).status_code == 200
        # every scrape, whichever worker answers it, counts all 20 (the other worker's within a second)
        wait_until(lambda: [_served(replica) for _ in range(6)] == [20.0] * 6, 10, "a scrape missed requests")
        assert len(list(shares[0].glob("*.metrics"))) == 2, "one file per worker"
    finally:
        replica.stop()
    assert not list(tmp_path.glob("omnisense-metrics-*")), "serve removed the directory when it stopped"


def _served(replica: Replica) -> float:
    """``omnisense_requests_total`` of text.language, summed over its series."""
    lines = _metrics(replica).splitlines()
    series = [line for line in lines if line.startswith("omnisense_requests_total{") and '"text.language"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in series)


def _metrics(replica: Replica) -> str:
    import httpx

    return httpx.get(f"{replica.url}/metrics", headers={"Authorization": f"Bearer {KEYS['ops']}"}, timeout=10).text


def test_serve_with_workers_shares_the_rate_limit_between_them(fleet: list[Replica]) -> None:
    replica = Replica(fleet[0].config, workers=2).start()
    try:
        codes = [replica.post("/v1/text/sentiment", {"text": "hi"}, "key-fresh").status_code for _ in range(2)]
        assert codes == [401, 401]  # an unknown key: nothing counted
        while fleet[0].post("/v1/text/sentiment", {"text": "hi"}, KEYS["slow"]).status_code == 200:
            pass  # empty the bucket of `slow` through another replica
        # new connections land on either worker: both see the bucket empty (6 a minute refills 1 in 10 s)
        codes = [replica.post("/v1/text/sentiment", {"text": "hi"}, KEYS["slow"]).status_code for _ in range(6)]
        assert codes.count(200) <= 1, codes
    finally:
        replica.stop()
