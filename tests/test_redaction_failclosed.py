"""The redactor erring or timing out fails closed, like one that is down (``tests/test_redaction.py``).

The redactor here is a scripted model server (``/capabilities`` answers, ``/redact/text``
answers as each test scripts it); the vendor is the Google wire fake, which must receive
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from contract_tests.conftest_google import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_google import google_block
from contract_tests.fakes.google import GoogleFake
from contract_tests.fakes.scripted import Reply, ScriptedVendor
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

TEXT = "Write to john.smith@example.com today."


@pytest.fixture
def redactor() -> Iterator[ScriptedVendor]:
    fake = ScriptedVendor().start()
    fake.route("POST", r"/capabilities", lambda req: Reply(json={"tasks": {}, "device": "cpu"}))
    fake.route("GET", r"/readyz", lambda req: Reply(json={}))
    yield fake
    fake.stop()


def _client(tmp_path: Path, google: str, redactor: str) -> TestClient:  # type: ignore[type-arg]
    policy = {
        "version": 1,
        "providers": {"gcp": google_block(google, timeout_s=10), "local": {"kind": "local", "url": redactor}},
        "redactor": {"timeout_s": 0.5},
        "routes": {"*": {"candidates": ["gcp"], "redact": ["pii"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    return TestClient(create_app(GatewayConfig(policy=str(path), logs=LogSettings(sink="none")), sink=MemorySink()))


@pytest.mark.parametrize(
    "reply",
    [
        Reply(hang=True),  # times out
        Reply(status=500, json={"error": "boom"}),  # errs
        Reply(json={"spans": "not a list"}),  # answers nonsense
        Reply(json={"spans": [], "version": "x"}),  # answers for no text
    ],
    ids=["timeout", "error", "malformed", "wrong-count"],
)
def test_redactor_failure_is_503_and_nothing_sent(
    tmp_path: Path, google_fake: GoogleFake, redactor: ScriptedVendor, reply: Reply
) -> None:
    redactor.route("POST", r"/redact/text", lambda req: reply)
    google_fake.reset()
    with _client(tmp_path, google_fake.url, redactor.url) as client:
        answer = client.post("/v1/text/sentiment", json={"text": TEXT})
    assert answer.status_code == 503, answer.text
    assert answer.json()["title"] == "Redaction unavailable"
    assert [r for r in google_fake.requests if r.method != "GET"] == []
    assert any(r.path == "/redact/text" for r in redactor.requests)
    google_fake.reset()
