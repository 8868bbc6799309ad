"""The dispatcher's retry rules, on scripted providers: Retry-After only when it fits the
deadline, and no same-provider retry after a timeout unless a whole attempt still fits."""

from __future__ import annotations

import time
from pathlib import Path

from litestar.testing import TestClient

from contract_tests.scripted_provider import Fail, Hang, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from omnisense.schema import UpstreamThrottled, UpstreamUnavailable

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"


def gateway(tmp_path: Path, *, timeout_s: float, deadline_s: float, attempts: int = 3) -> TestClient:  # type: ignore[type-arg]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"""
version: 1
providers:
  first:  {{kind: "{SCRIPTED}", label: first}}
  second: {{kind: "{SCRIPTED}", label: second}}
defaults: {{timeout_s: {timeout_s}, deadline_s: {deadline_s}, retries: {{attempts: {attempts}, backoff_s: 0.01}}}}
routes:
  "*": {{candidates: [first, second]}}
"""
    )
    return TestClient(create_app(GatewayConfig(policy=str(policy), logs=LogSettings(sink="none")), sink=MemorySink()))


def scripted(client: TestClient, name: str) -> ScriptedProvider:  # type: ignore[type-arg]
    provider = client.app.state.runtime.providers[name]
    assert isinstance(provider, ScriptedProvider)
    return provider


def test_retry_after_beyond_the_deadline_moves_on_at_once(tmp_path: Path) -> None:
    with gateway(tmp_path, timeout_s=2, deadline_s=8) as client:
        first = scripted(client, "first")
        first.script(Fail(UpstreamThrottled, retry_after_s=30))
        start = time.monotonic()
        r = client.post("/v1/text/sentiment", json={"text": "hi"})
        assert r.status_code == 200 and r.json()["provider"] == "second"
        assert time.monotonic() - start < 1.0
        assert len(first.calls) == 1


def test_retry_after_that_fits_is_waited(tmp_path: Path) -> None:
    with gateway(tmp_path, timeout_s=2, deadline_s=8) as client:
        first = scripted(client, "first")
        first.script(Fail(UpstreamThrottled, retry_after_s=0.3))
        start = time.monotonic()
        r = client.post("/v1/text/sentiment", json={"text": "hi"})
        assert r.status_code == 200 and r.json()["provider"] == "first"
        assert time.monotonic() - start >= 0.3
        assert len(first.calls) == 2


def test_no_retry_after_a_timeout_without_room_for_a_whole_attempt(tmp_path: Path) -> None:
    with gateway(tmp_path, timeout_s=0.6, deadline_s=1.0) as client:
        first = scripted(client, "first")
        first.script(Hang(), Hang(), Hang())
        r = client.post("/v1/text/sentiment", json={"text": "hi"})
        assert r.status_code == 200 and r.json()["provider"] == "second"
        assert len(first.calls) == 1
        assert [a["outcome"] for a in r.json()["attempts"]] == ["timeout", "ok"]


def test_a_timeout_is_retried_when_the_deadline_has_room(tmp_path: Path) -> None:
    with gateway(tmp_path, timeout_s=0.2, deadline_s=5.0) as client:
        first = scripted(client, "first")
        first.script(Hang())
        r = client.post("/v1/text/sentiment", json={"text": "hi"})
        assert r.status_code == 200 and r.json()["provider"] == "first"
        assert len(first.calls) == 2


def test_attempts_bound_the_calls(tmp_path: Path) -> None:
    with gateway(tmp_path, timeout_s=1, deadline_s=5, attempts=3) as client:
        first = scripted(client, "first")
        first.script(*[Fail(UpstreamUnavailable)] * 5)
        r = client.post("/v1/text/sentiment", json={"text": "hi"})
        assert r.json()["provider"] == "second"
        assert len(first.calls) == 3
