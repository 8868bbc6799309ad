"""Routing through the server with scripted fake providers: failures, circuits, hedging,
budgets and shadows, as a caller sees them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Fail, Hang, Ok, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key
from omnisense.schema import UpstreamThrottled, UpstreamUnavailable
from tests.routing_helpers import policy_text, wait_for

TEXT = {"text": "What a lovely day"}  # 17 characters
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def gateway(tmp_path: Path, sink: MemorySink) -> Iterator[Any]:
    """``gateway(providers, routes, defaults, extra, keys)`` -> a TestClient on that policy."""
    clients: list[Client] = []

    def make(
        providers: dict[str, dict[str, Any]],
        routes: str,
        defaults: str = "{timeout_s: 0.2, deadline_s: 3, retries: {attempts: 2, backoff_s: 0.01}}",
        extra: str = "",
        keys: list[ApiKey] | None = None,
    ) -> Client:
        path = tmp_path / f"policy{len(clients)}.yaml"
        path.write_text(policy_text(providers, routes, defaults, extra))
        config = GatewayConfig(policy=str(path), keys=keys or [], logs=LogSettings(sink="none"), policy_watch_s=None)
        client = TestClient(create_app(config, sink=sink))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def scripted(client: Client, name: str) -> ScriptedProvider:
    provider: ScriptedProvider = client.app.state.runtime.providers[name]
    return provider


def test_every_request_answered_while_one_candidate_is_healthy(gateway: Any) -> None:
    names = ["flaky", "hanging", "throttling", "healthy"]
    client = gateway(
        {n: {"label": n} for n in names},
        '  "*": {strategy: round_robin, candidates: [flaky, hanging, throttling, healthy]}',
        extra="",
    )
    flaky = scripted(client, "flaky")
    flaky.script(*[Fail(UpstreamUnavailable) if i % 2 else Ok() for i in range(200)])  # half the calls fail
    scripted(client, "hanging").default = Hang()
    scripted(client, "throttling").default = Fail(UpstreamThrottled, retry_after_s=0.01)
    served = []
    for _ in range(24):
        r = client.post("/v1/text/sentiment", json=TEXT)
        assert r.status_code == 200, r.text
        served.append(r.json()["provider"])
    assert set(served) <= {"flaky", "healthy"} and "healthy" in served
    # the hanging and throttling providers' circuits opened (5 failures): they stop costing time
    circuits = {p["name"]: p["circuits"] for p in client.get("/v1/providers").json()["providers"]}
    assert circuits["hanging"]["text.sentiment"]["state"] == "open"
    assert circuits["throttling"]["text.sentiment"]["state"] == "open"


def test_circuit_opens_after_the_configured_failures_and_closes_after_recovery(gateway: Any, sink: MemorySink) -> None:
    client = gateway(
        {"primary": {"label": "primary"}, "secondary": {"label": "secondary"}},
        '  "*": {candidates: [primary, secondary]}',
        defaults="{timeout_s: 0.5, retries: {attempts: 1}, circuit: {failures: 3, cooldown_s: 0.3}}",
    )
    primary = scripted(client, "primary")
    primary.default = Fail(UpstreamUnavailable)

    def state() -> str:
        providers = client.get("/v1/providers").json()["providers"]
        return str(providers[0]["circuits"].get("text.sentiment", {}).get("state", "closed"))

    for _ in range(3):
        body = client.post("/v1/text/sentiment", json=TEXT).json()
        assert body["provider"] == "secondary" and body["attempts"][0]["provider"] == "primary"
    assert state() == "open"
    calls = len(primary.calls)
    body = client.post("/v1/text/sentiment", json=TEXT).json()
    assert body["provider"] == "secondary" and [a["provider"] for a in body["attempts"]] == ["secondary"]
    assert len(primary.calls) == calls  # an open circuit sends nothing
    record_id = body["request_id"]
    wait_for(lambda: any(r.request_id == record_id for r in sink.records))
    record = next(r for r in sink.records if r.request_id == record_id)
    assert "primary: circuit open" in record.decisions
    primary.default = Ok()  # the provider recovers
    time.sleep(0.35)
    assert state() == "half_open"
    assert client.post("/v1/text/sentiment", json=TEXT).json()["provider"] == "primary"  # the trial call
    assert state() == "closed"


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def test_hedging_cuts_p99_when_one_provider_is_slow(gateway: Any, sink: MemorySink) -> None:
    providers = {"primary": {"label": "primary"}, "secondary": {"label": "secondary"}}
    slow_ok = "{timeout_s: 1, retries: {attempts: 1}}"  # a slow answer is slow, not a timeout
    plain = gateway(providers, '  "*": {candidates: [primary, secondary]}', slow_ok)
    hedged = gateway(providers, '  "*": {candidates: [primary, secondary], hedge_after_ms: 40}', slow_ok)
    timings: dict[str, list[float]] = {}
    for name, client in (("plain", plain), ("hedged", hedged)):
        scripted(client, "primary").script(*[Ok(0.4) if i % 5 == 0 else Ok(0.0) for i in range(15)])
        timings[name] = []
        for _ in range(15):
            start = time.perf_counter()
            r = client.post("/v1/text/sentiment", json=TEXT)
            timings[name].append(time.perf_counter() - start)
            assert r.status_code == 200
    assert p99(timings["plain"]) > 0.38
    assert p99(timings["hedged"]) < 0.25
    # a hedged request: both attempts logged, the slow one cancelled
    scripted(hedged, "primary").script(Ok(0.4))
    body = hedged.post("/v1/text/sentiment", json=TEXT).json()
    assert body["provider"] == "secondary"
    wait_for(lambda: any(r.request_id == body["request_id"] for r in sink.records))
    record = next(r for r in sink.records if r.request_id == body["request_id"])
    assert [(a.provider, a.outcome, a.hedged) for a in record.attempts] == [
        ("secondary", "ok", True),
        ("primary", "cancelled", False),
    ]


def test_a_hedge_that_lost_is_charged_and_reported(gateway: Any, sink: MemorySink) -> None:
    """Both calls were sent: the key pays for both (primary $0.034, secondary $0.017 for 17 characters)."""
    client = gateway(
        {"primary": {"label": "primary", "price_usd": 0.002}, "secondary": {"label": "secondary", "price_usd": 0.001}},
        '  "*": {candidates: [primary, secondary], hedge_after_ms: 40}',
        "{timeout_s: 1, retries: {attempts: 1}}",
        extra="budgets: [{key: team-a, usd_per_day: 10}]",
        keys=[ApiKey(id="team-a", sha256=hash_key("a"))],
    )
    scripted(client, "primary").script(Ok(0.4))
    body = client.post("/v1/text/sentiment", json=TEXT, headers={"Authorization": "Bearer a"}).json()
    assert body["provider"] == "secondary" and body["usage"]["cost_usd"] == pytest.approx(0.017)
    wait_for(lambda: any(r.request_id == body["request_id"] for r in sink.records))
    record = next(r for r in sink.records if r.request_id == body["request_id"])
    assert record.cost_usd == pytest.approx(0.017) and record.lost_cost_usd == pytest.approx(0.034)
    totals = client.app.state.runtime.dispatcher.state.budgets.store.totals
    day = next(v for (key, period), v in totals.items() if key == "team-a" and period.startswith("day:"))
    assert day == pytest.approx(0.051)  # the served answer and the hedge that lost


@pytest.mark.parametrize("then", ["secondary", "reject"])
def test_budget_switches_provider_exactly_at_its_limit(gateway: Any, then: str) -> None:
    # primary costs 0.002 x 17 characters = $0.034 a request; the budget is three requests' worth
    client = gateway(
        {"primary": {"price_usd": 0.002}, "secondary": {"price_usd": 0.0}},
        '  "*": {candidates: [primary]}',
        extra=f"budgets: [{{key: team-a, usd_per_day: 0.102, then: {then}}}]",
        keys=[ApiKey(id="team-a", sha256=hash_key("a")), ApiKey(id="team-b", sha256=hash_key("b"))],
    )
    auth = {"Authorization": "Bearer a"}
    answers = [client.post("/v1/text/sentiment", json=TEXT, headers=auth) for _ in range(5)]
    assert [r.json().get("provider") for r in answers[:3]] == ["primary"] * 3
    if then == "secondary":
        assert [r.json()["provider"] for r in answers[3:]] == ["secondary", "secondary"]
    else:
        assert [r.status_code for r in answers[3:]] == [429, 429]
        assert answers[3].json()["type"] == "/problems/budget-exceeded"
    other = client.post("/v1/text/sentiment", json=TEXT, headers={"Authorization": "Bearer b"})
    assert other.json()["provider"] == "primary"  # another key, no budget


def test_max_cost_usd_per_request(gateway: Any) -> None:
    client = gateway(
        {"primary": {"price_usd": 0.002}, "secondary": {"price_usd": 0.001}},
        '  "*": {candidates: [primary, secondary]}',
    )
    r = client.post("/v1/text/sentiment", json={**TEXT, "routing": {"max_cost_usd": 0.02}})
    assert r.json()["provider"] == "secondary" and r.json()["usage"]["cost_usd"] <= 0.02
    r = client.post("/v1/text/sentiment", json={**TEXT, "routing": {"max_cost_usd": 0.001}})
    assert r.status_code == 422 and "max_cost_usd" in r.json()["detail"]  # the caller's cap: no provider fits
    assert r.json()["field"] == "routing.max_cost_usd"


def test_shadow_traffic_is_logged_and_never_slows_the_answer(gateway: Any, sink: MemorySink) -> None:
    client = gateway(
        {"primary": {"label": "primary"}, "secondary": {"label": "secondary", "latency_ms": 300}},
        '  "*": {candidates: [primary], shadow: [secondary], shadow_fraction: 1.0}',
        defaults="{timeout_s: 1}",
    )
    start = time.perf_counter()
    ids = [
        client.post("/v1/vision/labels", content=_png(), headers={"content-type": "image/png"}).json()["request_id"]
        for _ in range(3)
    ]
    assert time.perf_counter() - start < 0.6  # three answers without waiting for the 300 ms shadow
    wait_for(lambda: len([r for r in sink.records if r.request_id in ids]) == 3)
    for record in (r for r in sink.records if r.request_id in ids):
        assert record.provider == "primary"
        [shadow] = record.shadow
        assert shadow.provider == "secondary" and shadow.outcome == "ok" and shadow.latency_ms >= 300
        assert shadow.agrees is False  # the scripted labels differ: "secondary" vs "primary"
    assert len([r for r in sink.records if r.request_id in ids]) == 3  # exactly one record each


def _png() -> bytes:
    from contract_tests.samples import png

    return png()
