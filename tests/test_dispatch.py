"""Fallback, retries and timeouts through the server, and one record per request."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Crash, Fail, Hang, Ok, ScriptedProvider
from gateway.logs import MemorySink
from omnisense.schema import (
    InvalidInput,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamUnavailable,
)

TEXT = {"text": "What a lovely day"}


def wait_for_records(sink: MemorySink, count: int) -> None:
    """The writer drains in the background: wait (briefly) until it has written ``count``."""
    import time

    deadline = time.monotonic() + 5
    while len(sink.records) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def providers(client: TestClient) -> tuple[ScriptedProvider, ScriptedProvider]:  # type: ignore[type-arg]
    p = client.app.state.runtime.providers
    return p["primary"], p["secondary"]


def sentiment(client: TestClient) -> Any:  # type: ignore[type-arg]
    return client.post("/v1/text/sentiment", json=TEXT)


def outcomes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["provider"], a.get("error_type") or a["outcome"]) for a in body["attempts"]]


def test_served_by_the_first_candidate(client: TestClient, sink: MemorySink) -> None:  # type: ignore[type-arg]
    r = sentiment(client)
    assert r.status_code == 200
    body = r.json()
    assert body["provider"] == "primary" == r.headers["x-omnisense-provider"]
    assert body["usage"] == {"units": 17.0, "unit": "character", "cost_usd": pytest.approx(0.034)}
    assert "gateway;dur=" in r.headers["server-timing"]


@pytest.mark.parametrize("error", [UpstreamAuth, UpstreamBadResponse])
def test_non_retryable_upstream_errors_fall_back_at_once(client: TestClient, error: type[Exception]) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Fail(error))  # type: ignore[arg-type]
    body = sentiment(client).json()
    assert body["provider"] == "secondary"
    assert outcomes(body) == [("primary", error.__name__), ("secondary", "ok")]


def test_retryable_errors_are_retried_on_the_same_provider(client: TestClient) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Fail(UpstreamThrottled))
    body = sentiment(client).json()
    assert body["provider"] == "primary"
    assert outcomes(body) == [("primary", "UpstreamThrottled"), ("primary", "ok")]


def test_retries_exhausted_then_fallback(client: TestClient) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    body = sentiment(client).json()
    assert outcomes(body) == [
        ("primary", "UpstreamUnavailable"),
        ("primary", "UpstreamUnavailable"),
        ("secondary", "ok"),
    ]


def test_a_hanging_provider_times_out_and_falls_back(client: TestClient) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Hang(), Hang())
    body = sentiment(client).json()
    assert body["provider"] == "secondary"
    assert [a["outcome"] for a in body["attempts"]] == ["timeout", "timeout", "ok"]
    assert body["attempts"][0]["latency_ms"] >= 900


def test_an_adapter_bug_falls_back_and_is_not_a_500(client: TestClient) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Crash())
    r = sentiment(client)
    assert r.status_code == 200 and r.json()["provider"] == "secondary"


def test_bad_input_found_by_a_provider_does_not_fall_back(client: TestClient) -> None:  # type: ignore[type-arg]
    primary, secondary = providers(client)
    primary.script(Fail(InvalidInput))
    r = sentiment(client)
    assert r.status_code == 400
    assert r.json()["attempts"][0]["provider"] == "primary"
    assert not secondary.calls


def test_all_candidates_failing_gives_the_last_error_with_every_attempt(client: TestClient, sink: MemorySink) -> None:  # type: ignore[type-arg]
    primary, secondary = providers(client)
    primary.script(Fail(UpstreamAuth))
    secondary.script(Fail(UpstreamBadResponse))
    r = sentiment(client)
    assert r.status_code == 502
    wait_for_records(sink, 1)
    body = r.json()
    assert body["type"] == "/problems/upstream-bad-response"
    assert [a["provider"] for a in body["attempts"]] == ["primary", "secondary"]
    record = sink.records[-1]
    assert record.status == "error" and record.http_status == 502 and record.error_type == "UpstreamBadResponse"
    assert len(record.attempts) == 2


def test_pinned_provider(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.post("/v1/text/sentiment", json=TEXT, headers={"X-Omnisense-Provider": "secondary"})
    assert r.json()["provider"] == "secondary"
    r = client.post("/v1/text/sentiment", json={**TEXT, "routing": {"provider": "secondary"}})
    assert r.json()["provider"] == "secondary"
    r = client.post("/v1/text/sentiment", json=TEXT, headers={"X-Omnisense-Provider": "nobody"})
    assert r.status_code == 422 and r.json()["field"] == "X-Omnisense-Provider" and "nobody" in r.json()["detail"]


def test_exactly_one_record_per_request(client: TestClient, sink: MemorySink) -> None:  # type: ignore[type-arg]
    primary, _ = providers(client)
    primary.script(Ok(), Fail(UpstreamAuth))
    ids = [
        sentiment(client).headers["x-request-id"],
        sentiment(client).headers["x-request-id"],
        client.post("/v1/text/sentiment", json={"text": ""}).headers["x-request-id"],
        client.post("/v1/vision/labels", content=b"%PDF").headers["x-request-id"],
    ]
    client.post("/v1/text/language", json=TEXT, headers={"X-Request-Id": "my-own-id"})
    wait_for_records(sink, 5)
    assert [r.request_id for r in sink.records] == [*ids, "my-own-id"]
    ok = sink.records[0]
    assert ok.provider == "primary" and ok.cost_usd > 0 and ok.input.characters == 17 and ok.input.sha256
    assert ok.output is not None and ok.output.top == "positive"
    assert sink.records[1].provider == "secondary"
    assert [r.http_status for r in sink.records] == [200, 200, 422, 415, 200]
