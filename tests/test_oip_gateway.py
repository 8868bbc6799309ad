"""The gateway routing text.sentiment to a team's model on a real Seldon MLServer over the
Open Inference Protocol: normalized envelopes, fallback from a stopped server, a canary
share by weight, and a new version tried as a shadow with its agreement measured."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.mlserver.server import MLServer, free_port
from contract_tests.test_oip import sentiment_block
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from tests.routing_helpers import wait_for

# Clear to both versions, and neutral ones that only v2 knows (v1 must pick a side).
TEXTS = [
    "what a lovely day", "the service was awful", "the film was wonderful", "a terrible meal",
    "the meeting is on monday", "the report is on tuesday", "the hotel is on monday",
    "the book was great", "the phone was broken", "the street is on tuesday",
]  # fmt: skip

Make = Callable[[dict[str, Any]], Any]


@pytest.fixture
def gateway(tmp_path: Path, mlserver: MLServer) -> Iterator[Make]:
    """``gateway(routes)`` -> a TestClient whose policy has sentiment-v1, sentiment-v2 and a stopped server."""
    clients: list[Any] = []

    def make(routes: dict[str, Any]) -> Any:
        providers = {
            "sentiment-v1": sentiment_block(mlserver.url, "1"),
            "sentiment-v2": sentiment_block(mlserver.url, "2"),
            "stopped": sentiment_block(f"http://127.0.0.1:{free_port()}", "1"),
        }
        policy = {"version": 1, "providers": providers, "routes": routes,
                  "defaults": {"timeout_s": 10, "retries": {"attempts": 1}}}  # fmt: skip
        path = tmp_path / f"policy{len(clients)}.yaml"
        path.write_text(json.dumps(policy))
        config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=None)
        sink = MemorySink()
        client = TestClient(create_app(config, sink=sink))
        client.__enter__()
        client.sink = sink  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def sentiment(client: Any, text: str, provider: str | None = None) -> dict[str, Any]:
    headers = {"X-Omnisense-Provider": provider} if provider else {}
    r = client.post("/v1/text/sentiment", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_normalized_envelope_from_each_version(gateway: Make) -> None:
    client = gateway({"text.sentiment": {"candidates": ["sentiment-v1", "sentiment-v2"]}})
    one = sentiment(client, "the meeting is on monday", "sentiment-v1")
    two = sentiment(client, "the meeting is on monday", "sentiment-v2")
    assert (one["provider"], one["model"], two["provider"], two["model"]) == (
        "sentiment-v1", "sentiment:1", "sentiment-v2", "sentiment:2",
    )  # fmt: skip
    assert one["result"]["label"] in ("positive", "negative") and two["result"]["label"] == "neutral"
    assert set(two["result"]["scores"]) == {"positive", "negative", "neutral", "mixed"}
    assert two["usage"] == {"units": 24, "unit": "character", "cost_usd": 0.000024}  # $0.0001 per 100
    providers = {p["name"]: p for p in client.get("/v1/providers").json()["providers"]}
    assert providers["sentiment-v2"]["kind"] == "oip" and providers["sentiment-v2"]["health"]["ok"]
    assert not providers["stopped"]["health"]["ok"]


def test_a_stopped_server_falls_back_to_the_next_candidate(gateway: Make) -> None:
    client = gateway({"text.sentiment": {"candidates": ["stopped", "sentiment-v1"]}})
    body = sentiment(client, "what a lovely day")
    assert body["provider"] == "sentiment-v1" and body["result"]["label"] == "positive"
    first, second = body["attempts"]
    assert (first["provider"], first["outcome"], first["error_type"]) == ("stopped", "error", "UpstreamUnavailable")
    assert (second["provider"], second["outcome"]) == ("sentiment-v1", "ok")


def test_canary_share_within_tolerance(gateway: Make) -> None:
    client = gateway({"text.sentiment": {"strategy": "weighted", "candidates": [
        {"provider": "sentiment-v1", "weight": 80}, {"provider": "sentiment-v2", "weight": 20}]}})  # fmt: skip
    n = 200
    served = Counter(sentiment(client, TEXTS[i % len(TEXTS)])["provider"] for i in range(n))
    share = served["sentiment-v2"] / n
    # Binomial(200, 0.2): sd 0.028; 0.11 is ~4 sd, so this fails only when the weights are not honoured.
    assert abs(share - 0.2) < 0.11, served
    assert served["sentiment-v1"] + served["sentiment-v2"] == n


def test_shadow_version_agreement_is_measured(gateway: Make) -> None:
    client = gateway({"text.sentiment": {"candidates": ["sentiment-v1"], "shadow": ["sentiment-v2"]}})
    expected_agree = sum(
        sentiment(client, t, "sentiment-v1")["result"]["label"]
        == sentiment(client, t, "sentiment-v2")["result"]["label"]
        for t in TEXTS
    )
    assert 0 < expected_agree < len(TEXTS)  # the versions differ on the neutral texts, agree on the clear ones
    ids = {sentiment(client, t)["request_id"] for t in TEXTS}
    n = 2 * len(TEXTS)  # the requests pinned to v1 above ran the shadow too

    def rows() -> list[dict[str, Any]]:
        body = client.get("/v1/stats", params={"window": "1h", "task": "text.sentiment"}).json()
        return [r for r in body["comparisons"] if r["served"] == "sentiment-v1"]

    wait_for(lambda: bool(rows()) and rows()[0]["shadowed"] == n, timeout_s=20)
    [row] = rows()
    assert row["shadow"] == "sentiment-v2" and row["metric"] == "label" and row["errors"] == 0
    assert row["agreed"] == 2 * expected_agree and row["agreement"] == round(expected_agree / len(TEXTS), 4)
    records = [r for r in client.sink.records if r.request_id in ids]
    assert len(records) == len(TEXTS) and all(r.shadow[0].provider == "sentiment-v2" for r in records)
