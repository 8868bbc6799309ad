"""Residency at request time: a key's or a request's requirement excludes providers, explain says
why, the refusal is clear, and the record says where the request was processed.

The gateway runs for real (routing, dispatch, server, log writer) over scripted providers whose
blocks declare their region; ``policies.residency`` reads it from the block as for any kind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from gateway.logs import MemorySink, RequestLog
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key
from tests.routing_helpers import policy_text, wait_for

Client = TestClient  # type: ignore[type-arg]
PROVIDERS = {
    "us": {"price_usd": 0.001, "region": "us-east-1"},
    "eu": {"price_usd": 0.002, "region": "eu-central-1"},
    "uk": {"price_usd": 0.003, "region": "eu-west-2"},
}
ROUTES = """\
  "*": {strategy: cheapest, candidates: [us, eu, uk]}
  text.language: {candidates: [us]}
  text.entities: {candidates: [eu], shadow: [us]}"""
ROOT = {"Authorization": "Bearer root"}
EU_KEY = {"Authorization": "Bearer eu-key"}
CH_KEY = {"Authorization": "Bearer ch-key"}


@pytest.fixture
def client(tmp_path: Path, sink: MemorySink) -> Iterator[Client]:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(PROVIDERS, ROUTES))
    keys = [
        ApiKey(id="root", sha256=hash_key("root"), admin=True),
        ApiKey(id="eu-key", sha256=hash_key("eu-key"), residency="eu"),
        ApiKey(id="ch-key", sha256=hash_key("ch-key"), residency=["ch"]),
    ]
    config = GatewayConfig(policy=str(path), keys=keys, logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as c:
        yield c


def calls(client: Client, name: str) -> list[Any]:
    provider: Any = client.app.state.runtime.providers[name]
    return list(provider.calls)


def record_of(sink: MemorySink, request_id: str) -> RequestLog:
    wait_for(lambda: any(r.request_id == request_id for r in sink.records))
    return next(r for r in sink.records if r.request_id == request_id)


def test_without_a_requirement_the_cheapest_serves_and_the_record_says_where(client: Client, sink: MemorySink) -> None:
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers=ROOT)
    assert r.status_code == 200 and r.json()["provider"] == "us"
    record = record_of(sink, r.json()["request_id"])
    assert (record.region, record.jurisdiction) == ("us-east-1", "us")


def test_the_header_excludes_providers_outside_it(client: Client, sink: MemorySink) -> None:
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers={**ROOT, "X-Omnisense-Residency": "eu"})
    assert r.status_code == 200, r.text
    assert r.json()["provider"] == "eu"
    assert calls(client, "us") == [] and calls(client, "uk") == []  # nothing went to the US or the UK
    record = record_of(sink, r.json()["request_id"])
    assert (record.region, record.jurisdiction) == ("eu-central-1", "eu")
    assert "us: processes text.sentiment in us-east-1 (us), outside the residency required (eu)" in record.decisions
    assert any(d.startswith("uk: processes text.sentiment in eu-west-2 (uk)") for d in record.decisions)


def test_explain_shows_the_excluded_providers_and_why(client: Client) -> None:
    body = {"task": "text.sentiment", "text": "fine"}
    r = client.post("/v1/route/explain", json=body, headers={**ROOT, "X-Omnisense-Residency": "eu, uk"})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["answer"] == "served by eu" and plan["residency"] == ["eu", "uk"]
    assert [s["provider"] for s in plan["steps"]] == ["eu", "uk"]
    why = "processes text.sentiment in us-east-1 (us), outside the residency required (eu, uk)"
    assert plan["excluded"] == [{"provider": "us", "reason": why}]
    assert calls(client, "us") == [] and calls(client, "eu") == []  # a dry run


def test_no_provider_left_for_the_header_is_a_422_naming_it(client: Client) -> None:
    r = client.post("/v1/text/language", json={"text": "fine"}, headers={**ROOT, "X-Omnisense-Residency": "eu"})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == "X-Omnisense-Residency"
    assert "residency required (eu)" in problem["detail"] and "us-east-1 (us)" in problem["detail"]
    assert calls(client, "us") == []


def test_a_keys_requirement_narrows_and_leaves_nothing_503(client: Client) -> None:
    assert client.post("/v1/text/sentiment", json={"text": "fine"}, headers=EU_KEY).json()["provider"] == "eu"
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers=CH_KEY)
    assert r.status_code == 503, r.text
    assert "residency required (ch)" in r.json()["detail"]
    # the header narrows the key's further: eu-key asking for uk has nothing in common left
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers={**EU_KEY, "X-Omnisense-Residency": "uk"})
    assert r.status_code == 422 and r.json()["field"] == "X-Omnisense-Residency"
    assert calls(client, "us") == [] and calls(client, "uk") == []


def test_a_pinned_provider_outside_the_keys_requirement_is_refused(client: Client) -> None:
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers={**EU_KEY, "X-Omnisense-Provider": "us"})
    assert r.status_code == 422 and r.json()["field"] == "X-Omnisense-Provider", r.text
    assert calls(client, "us") == []


def test_an_unknown_jurisdiction_in_the_header_is_a_422(client: Client) -> None:
    r = client.post("/v1/text/sentiment", json={"text": "fine"}, headers={**ROOT, "X-Omnisense-Residency": "mars"})
    assert r.status_code == 422 and r.json()["field"] == "X-Omnisense-Residency"
    assert "unknown jurisdiction 'mars'" in r.json()["detail"]


def test_a_shadow_outside_the_requirement_is_not_sent(client: Client, sink: MemorySink) -> None:
    r = client.post("/v1/text/entities", json={"text": "Ada"}, headers={**ROOT, "X-Omnisense-Residency": "eu"})
    assert r.status_code == 200 and r.json()["provider"] == "eu"
    r2 = client.post("/v1/text/entities", json={"text": "Ada"}, headers=ROOT)  # no requirement: shadowed to us
    assert r2.status_code == 200
    wait_for(lambda: len(calls(client, "us")) == 1)
    time.sleep(0.1)
    assert len(calls(client, "us")) == 1  # only the second request's shadow reached us


def test_providers_list_their_region(client: Client) -> None:
    body = client.get("/v1/providers", headers=ROOT).json()
    listed = body["providers"] if isinstance(body, dict) else body
    by_name = {p["name"]: p for p in listed}
    assert (by_name["eu"]["region"], by_name["eu"]["jurisdiction"]) == ("eu-central-1", "eu")
    assert (by_name["uk"]["region"], by_name["uk"]["jurisdiction"]) == ("eu-west-2", "uk")


def test_a_job_keeps_the_callers_requirement_until_it_runs(tmp_path: Path, sink: MemorySink) -> None:
    from tests.jobs_helpers import job_config, wait_until

    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(PROVIDERS, ROUTES))
    with TestClient(create_app(job_config(path), sink=sink)) as jobs:
        header = {"X-Omnisense-Residency": "eu"}
        job = jobs.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "fine"}}, headers=header)
        assert job.status_code == 202, job.text

        def done() -> dict[str, Any] | None:
            body: dict[str, Any] = jobs.get(f"/v1/jobs/{job.json()['id']}").json()
            return body if body["status"] in ("succeeded", "failed") else None

        finished = wait_until(done)
        assert finished["status"] == "succeeded" and finished["result"]["provider"] == "eu"
        assert calls(jobs, "us") == []
        refused = jobs.post("/v1/jobs", json={"task": "text.language", "input": {"text": "fine"}}, headers=header)
        assert refused.status_code == 422 and refused.json()["field"] == "X-Omnisense-Residency"


def test_a_key_with_an_unknown_jurisdiction_is_refused_at_load() -> None:
    import msgspec

    with pytest.raises(msgspec.ValidationError, match="unknown jurisdiction 'europe'"):
        msgspec.convert({"id": "k", "sha256": "0" * 64, "residency": "europe"}, ApiKey)


def test_the_python_client_asks_for_residency(client: Client) -> None:
    from omnisense import Client as Omnisense

    client.headers["Authorization"] = "Bearer root"
    omni = Omnisense(http=client, residency="eu")
    assert omni.text.sentiment("fine").provider == "eu"
    assert calls(client, "us") == []
