"""Input limits the model server declares in /capabilities: the gateway refuses input over
them before any call, with a 413 naming the limit, or routes it to a candidate that can
take it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from contract_tests.fakes import Reply, ScriptedVendor
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
CAPABILITIES = {
    "tasks": {"text.sentiment": {"model": "vader", "languages": ["en"], "limits": {"max_chars": 1000}}},
    "device": "cpu",
}
SENTIMENT = {"label": "positive", "scores": {"positive": 0.8, "negative": 0.0, "neutral": 0.2, "mixed": 0.0}}


@pytest.fixture
def vendor() -> Iterator[ScriptedVendor]:
    fake = ScriptedVendor().start()
    fake.route("POST", "/capabilities", lambda _: Reply(json=CAPABILITIES))
    fake.route("GET", "/readyz", lambda _: Reply(body=b"ok", content_type="text/plain"))
    fake.route("POST", "/text/sentiment", lambda _: Reply(json=SENTIMENT))
    yield fake
    fake.stop()


def gateway(tmp_path: Path, vendor: ScriptedVendor, candidates: str) -> TestClient:  # type: ignore[type-arg]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"""
version: 1
providers:
  local: {{kind: local, url: "{vendor.url}"}}
  cloud: {{kind: "{SCRIPTED}", label: cloud}}
routes:
  "*": {{candidates: {candidates}}}
"""
    )
    return TestClient(create_app(GatewayConfig(policy=str(policy), logs=LogSettings(sink="none")), sink=MemorySink()))


def test_over_the_only_candidates_limit_is_413_naming_it(tmp_path: Path, vendor: ScriptedVendor) -> None:
    with gateway(tmp_path, vendor, "[local]") as client:
        assert client.post("/v1/text/sentiment", json={"text": "a" * 1000}).status_code == 200
        r = client.post("/v1/text/sentiment", json={"text": "a" * 1001})
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert "accepts at most 1000 characters" in problem["detail"] and problem["request_id"]
        assert [q.path for q in vendor.requests].count("/text/sentiment") == 1, "no call for the refused input"
        tasks = {p["name"]: p["tasks"] for p in client.get("/v1/providers").json()["providers"]}
        assert tasks["local"]["text.sentiment"]["max_chars"] == 1000, "the limit is visible"


def test_over_one_candidates_limit_goes_to_another(tmp_path: Path, vendor: ScriptedVendor) -> None:
    with gateway(tmp_path, vendor, "[local, cloud]") as client:
        r = client.post("/v1/text/sentiment", json={"text": "a" * 5000})
        assert r.status_code == 200 and r.json()["provider"] == "cloud"
