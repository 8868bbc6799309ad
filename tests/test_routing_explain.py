"""``POST /v1/route/explain`` (a dry run) and per-request hints allowed by the caller's key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key
from tests.routing_helpers import policy_text, wait_for

Client = TestClient  # type: ignore[type-arg]
PROVIDERS = {
    "a": {"price_usd": 0.003, "languages": "[en]"},
    "b": {"price_usd": 0.001, "tasks": "[vision.labels, text.sentiment]"},
    "c": {"price_usd": 0.002},
}


@pytest.fixture
def client(tmp_path: Path, sink: MemorySink) -> Iterator[Client]:
    path = tmp_path / "policy.yaml"
    routes = (
        '  "*": {strategy: cheapest, candidates: [a, b, c]}\n'
        '  "text.language": {strategy: round_robin, candidates: [a, c]}'
    )
    path.write_text(policy_text(PROVIDERS, routes, extra="budgets: [{key: team-a, usd_per_day: 0.0, then: reject}]"))
    keys = [
        ApiKey(id="team-a", sha256=hash_key("a")),
        ApiKey(id="ops", sha256=hash_key("ops"), admin=True, providers=["c"], policies=["other"]),
        ApiKey(id="root", sha256=hash_key("root"), admin=True),
    ]
    config = GatewayConfig(policy=str(path), keys=keys, logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as c:
        yield c


OPS = {"Authorization": "Bearer ops"}
ROOT = {"Authorization": "Bearer root"}


def explain(client: Client, body: dict[str, object], headers: dict[str, str] | None = None) -> dict[str, object]:
    r = client.post("/v1/route/explain", json=body, headers=headers or ROOT)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def test_explain_lists_each_candidate_kept_or_dropped_and_why(client: Client) -> None:
    plan = explain(client, {"task": "text.sentiment", "text": "hola", "language": "es"})
    assert [s["provider"] for s in plan["steps"]] == ["b", "c"]  # type: ignore[attr-defined]
    assert [d["summary"] for d in plan["decisions"]] == [  # type: ignore[attr-defined]
        "b: kept #1: cost $0.004000",
        "c: kept #2: cost $0.008000",
        "a: does not support language 'es' for text.sentiment",
    ]
    assert plan["strategy"] == "cheapest" and plan["answer"] == "served by b"
    ocr = explain(client, {"task": "vision.ocr", "format": "png", "bytes": 1000})
    assert [s["provider"] for s in ocr["steps"]] == ["c", "a"]  # type: ignore[attr-defined]


def test_explain_is_a_dry_run(client: Client) -> None:
    firsts = {explain(client, {"task": "text.language", "text": "hi"})["steps"][0]["provider"] for _ in range(4)}  # type: ignore[index]
    assert firsts == {"a"}  # round robin did not advance
    served = [client.post("/v1/text/language", json={"text": "hi"}, headers=ROOT).json()["provider"] for _ in range(4)]
    assert served == ["a", "c", "a", "c"]


def test_the_log_record_carries_the_same_decisions(client: Client, sink: MemorySink) -> None:
    body = {"text": "hola", "language": "es"}
    plan = explain(client, {"task": "text.sentiment", **body})
    rid = client.post("/v1/text/sentiment", json=body, headers=ROOT).json()["request_id"]
    wait_for(lambda: any(r.request_id == rid for r in sink.records))
    record = next(r for r in sink.records if r.request_id == rid)
    assert record.decisions == [d["summary"] for d in plan["decisions"]]  # type: ignore[attr-defined]


def test_explain_shows_the_budget(client: Client) -> None:
    plan = explain(client, {"task": "text.sentiment", "text": "hi"}, {"Authorization": "Bearer a"})
    assert plan["budget_rejected"] is True and plan["answer"] == "reject: budget exceeded"
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers={"Authorization": "Bearer a"})
    assert r.status_code == 429


def test_hints_only_where_the_key_permits(client: Client) -> None:
    pinned = explain(client, {"task": "text.sentiment", "text": "hi"}, {**OPS, "X-Omnisense-Provider": "c"})
    assert [s["provider"] for s in pinned["steps"]] == ["c"]  # type: ignore[attr-defined]
    r = client.post("/v1/text/sentiment", json={"text": "hi"}, headers={**OPS, "X-Omnisense-Provider": "a"})
    assert r.status_code == 403
    r = client.post("/v1/route/explain", json={"task": "text.sentiment"}, headers={**OPS, "X-Omnisense-Policy": "x"})
    assert r.status_code == 403
    r = client.post("/v1/route/explain", json={"task": "nope"}, headers=OPS)
    assert r.status_code == 422 and r.json()["field"] == "task"


def test_policy_endpoint_shows_routes_and_hides_provider_blocks(client: Client) -> None:
    body = client.get("/v1/policy", headers=OPS).json()
    assert body["providers"] == {"a": "contract_tests.scripted_provider:ScriptedProvider"} | {
        n: "contract_tests.scripted_provider:ScriptedProvider" for n in "bc"
    }
    assert body["routes"]["text.language"] == {
        "route": "text.language",
        "strategy": "round_robin",
        "candidates": ["a", "c"],
        "shadow": [],
        "hedge_after_ms": None,
        "residency": None,  # no requirement (docs/data-protection.md)
    }
    assert client.post("/v1/policy/reload", headers={"Authorization": "Bearer a"}).status_code == 403
