"""The local adapter spread over several model-server replicas (issue #15): load goes to all
of them, a replica that dies loses no request and comes back by itself, a whole-set outage
falls back quickly, ``discover: dns`` turns every address of a name into a replica, and a
bad URL is refused by ``omnisense policy check``. Fake model servers are real HTTP servers
on loopback; the gateway is the real one, over HTTP."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.base import CallContext
from adapters.local.config import LocalConfig
from adapters.local.provider import LocalProvider
from adapters.local.replicas import ReplicaSet, Target
from gateway.cli import main
from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import LogSettings, ProbeSettings
from omnisense.schema import SentimentResult, Task, TextRequest
from tests.conftest import SCRIPTED, LiveServer, free_port
from tests.fleet import FakeModelServer, wait_until

FAST = ProbeSettings(interval_s=0.5, min_backoff_s=0.1, max_backoff_s=0.5, timeout_s=2.0)


def policy(urls: list[str]) -> str:
    listed = ", ".join(f'"{u}"' for u in urls)
    return f"""
version: 1
providers:
  local: {{kind: local, url: [{listed}], timeout_s: 5, recheck_s: 0.2}}
  backup: {{kind: "{SCRIPTED}", label: backup}}
defaults: {{timeout_s: 5, deadline_s: 10, retries: {{attempts: 2, backoff_s: 0.01}}}}
routes:
  text.sentiment: {{candidates: [local, backup]}}
  text.language: {{candidates: [local]}}
"""


@pytest.fixture
def models() -> Iterator[list[FakeModelServer]]:
    with FakeModelServer() as a, FakeModelServer() as b, FakeModelServer() as c:
        yield [a, b, c]


@pytest.fixture
def gateway(tmp_path: Path, models: list[FakeModelServer]) -> Iterator[httpx.Client]:
    path = tmp_path / "policy.yaml"
    path.write_text(policy([m.url for m in models]))
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), probes=FAST)
    with LiveServer(config, MemorySink()) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def sentiment(client: httpx.Client) -> dict[str, Any]:
    r = client.post("/v1/text/sentiment", json={"text": "What a lovely day"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def local_entry(client: httpx.Client) -> dict[str, Any]:
    providers = client.get("/v1/providers").json()["providers"]
    entry: dict[str, Any] = next(p for p in providers if p["name"] == "local")
    return entry


def ready_urls(client: httpx.Client) -> list[str]:
    return [r["url"] for r in local_entry(client)["replicas"] if r["ready"]]


def test_load_spreads_over_every_replica(gateway: httpx.Client, models: list[FakeModelServer]) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: sentiment(gateway), range(60)))
    assert {a["provider"] for a in answers} == {"local"}
    counts = [m.tasks_answered() for m in models]
    assert sum(counts) == 60 and min(counts) >= 10, counts
    answered = [sum(m.hits.values()) for m in models]  # /capabilities too
    assert [r["answered"] for r in local_entry(gateway)["replicas"]] == answered


def test_a_replica_stopped_mid_run_loses_no_request_and_comes_back(
    gateway: httpx.Client, models: list[FakeModelServer]
) -> None:
    dead = models[0]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(sentiment, gateway) for _ in range(90)]
        wait_until(lambda: sum(m.tasks_answered() for m in models) >= 30, 10, "no traffic")
        dead.stop()
        answers = [f.result() for f in futures]  # each one 200 (sentiment() asserts it)
    assert {a["provider"] for a in answers} == {"local"}
    assert {t["provider"] for a in answers for t in a["attempts"]} == {"local"}, "none fell back"
    # A call on a connection the stopping server reset (it may have read it) goes back to
    # the dispatcher, whose retry picks another replica: at most one per client in flight.
    retried = [a["attempts"] for a in answers if len(a["attempts"]) > 1]
    assert len(retried) <= 8 and all(len(t) == 2 and t[1]["outcome"] == "ok" for t in retried), retried
    stopped_at = dead.tasks_answered()
    assert sum(m.tasks_answered() for m in models) == 90
    assert ready_urls(gateway) == [models[1].url, models[2].url]
    down = local_entry(gateway)["replicas"][0]
    assert down["url"] == dead.url and down["ready"] is False and down["error"]
    wait_until(lambda: local_entry(gateway)["health"]["detail"].startswith("2/3 replicas ready"), 5, "probe")
    assert f"{dead.url}: down (" in local_entry(gateway)["health"]["detail"]
    assert local_entry(gateway)["health"]["ok"] is True
    metrics = gateway.get("/metrics").text
    assert 'omnisense_provider_replicas_ready{provider="local"} 2.0' in metrics
    assert 'omnisense_provider_replicas{provider="local"} 3.0' in metrics

    for _ in range(10):
        sentiment(gateway)
    assert dead.tasks_answered() == stopped_at, "a replica marked down gets no traffic"

    dead.start()  # the same address: re-checked (recheck_s) and back in the set
    wait_until(lambda: len(ready_urls(gateway)) == 3, 5, "the restarted replica did not come back")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: sentiment(gateway), range(30)))
    assert dead.tasks_answered() >= stopped_at + 5, "it takes traffic again"


def test_every_replica_down_falls_back_quickly(gateway: httpx.Client, models: list[FakeModelServer]) -> None:
    sentiment(gateway)
    for m in models:
        m.stop()
    start = time.monotonic()
    answer = sentiment(gateway)
    assert answer["provider"] == "backup"
    assert [a["provider"] for a in answer["attempts"]][-1] == "backup"
    assert time.monotonic() - start < 2.0, "no long hang on dead replicas"

    start = time.monotonic()
    refused = gateway.post("/v1/text/language", json={"text": "Bonjour tout le monde"})
    assert time.monotonic() - start < 2.0
    problem = refused.json()
    assert refused.status_code == 502 and problem["type"].endswith("upstream-unavailable"), problem
    assert "local: no model server answered (3 replica(s) tried" in problem["detail"]
    wait_until(lambda: local_entry(gateway)["health"]["ok"] is False, 5, "the prober saw the outage")
    assert local_entry(gateway)["health"]["detail"].startswith("0/3 replicas ready")


def ctx() -> CallContext:
    return CallContext(request_id="t", deadline=time.monotonic() + 5)


async def call(provider: LocalProvider, n: int) -> None:
    for _ in range(n):
        out = await provider.run(Task.TEXT_SENTIMENT, TextRequest(text="fine"), ctx())
        assert isinstance(out.result, SentimentResult) and out.result.label == "positive"


async def test_dns_discovery_makes_every_address_a_replica_and_follows_changes() -> None:
    port = free_port()
    with FakeModelServer("127.0.0.1", port) as one, FakeModelServer("127.0.0.2", port) as two:
        answers: dict[str, list[str]] = {"models.test": ["127.0.0.1", "127.0.0.2"]}

        async def resolve(host: str, _port: int) -> list[str]:
            if host not in answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return answers[host]

        config = LocalConfig(url=f"http://models.test:{port}", discover="dns")
        provider = LocalProvider("local", config, resolver=resolve)
        await provider.start()
        try:
            assert [r["url"] for r in provider.replica_status()] == [one.url, two.url]
            await call(provider, 20)
            assert one.tasks_answered() == two.tasks_answered() == 10
            # connected by address, but each replica is asked by the name it was configured with
            assert one.hosts == two.hosts == {f"models.test:{port}"}

            answers["models.test"] = ["127.0.0.2"]  # a pod went away: the next probe follows
            assert (await provider.probe()).detail == "1/1 replicas ready"
            await call(provider, 10)
            assert one.tasks_answered() == 10 and two.tasks_answered() == 20

            answers.clear()  # the name stops resolving: the last known replicas keep serving
            health = await provider.probe()
            assert health.ok and health.detail.startswith("1/1 replicas ready; DNS models.test: gaierror")
            await call(provider, 1)
        finally:
            await provider.aclose()


async def test_the_system_resolver_on_localhost() -> None:
    with FakeModelServer() as server:
        config = LocalConfig(url=f"http://localhost:{server.port}", discover="dns")
        provider = LocalProvider("local", config)
        await provider.start()
        try:
            assert server.url in [r["url"] for r in provider.replica_status()]
            await call(provider, 3)  # ::1 too, where localhost has it: refused, marked down, next
            assert server.tasks_answered() == 3
        finally:
            await provider.aclose()


def test_pick_prefers_the_least_busy_ready_replica_then_the_longest_failed() -> None:
    replicas = ReplicaSet.of([Target(f"http://10.0.0.{i}:3000") for i in range(3)])
    a, b, c = replicas.replicas
    assert [replicas.pick() for _ in range(6)] == [a, b, c, a, b, c], "ties go round-robin"
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert {id(replicas.pick()) for _ in range(3)} == {id(b)}
    a.ready = b.ready = c.ready = False
    a.failed_at, b.failed_at, c.failed_at = 3.0, 1.0, 2.0
    assert replicas.pick() is b, "none ready: the one that failed longest ago"
    assert replicas.pick([b]) is c and replicas.pick([b, c]) is a and replicas.pick([a, b, c]) is None


def test_policy_check_names_a_bad_replica_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy(["http://127.0.0.1:3000", "ftp://models:21", "http://models:3000/api"]))
    assert main(["policy", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "providers.local.url[1]: 'ftp://models:21' is not a model-server URL (expected http(s)://host[:port])" in out
    good = tmp_path / "good.yaml"
    good.write_text(policy(["http://127.0.0.1:3000", "https://models.ns.svc:3000/"]))
    assert main(["policy", "check", str(good)]) == 0


def test_the_real_model_server_next_to_a_dead_replica(model_server_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy([f"http://127.0.0.1:{free_port()}", model_server_url]))
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), probes=FAST)
    with LiveServer(config, MemorySink()) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for text, label in [("What a lovely day", "positive"), ("The food was cold and awful.", "negative")] * 4:
            r = client.post("/v1/text/sentiment", json={"text": text})
            assert r.status_code == 200 and r.json()["provider"] == "local", r.text
            assert r.json()["result"]["label"] == label
        r = client.post("/v1/text/language", json={"text": "Le chat dort sur la table."})
        assert r.status_code == 200 and r.json()["result"]["languages"][0]["code"] == "fr"
        assert ready_urls(client) == [model_server_url]
