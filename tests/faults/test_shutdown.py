"""A shutdown that keeps its word: when the grace period runs out, a request still in
flight gets a problem+json 503 with its request id, and its record says the same."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn

from contract_tests.scripted_provider import Hang, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import create_app
from tests.conftest import free_port, make_config


def test_grace_period_end_answers_503_problem_json(policy_file: Path) -> None:
    sink = MemorySink()
    app = create_app(make_config(policy_file), sink=sink)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=0.5)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    primary = app.state.runtime.providers["primary"]
    assert isinstance(primary, ScriptedProvider)
    primary.script(Hang())
    answers: list[httpx.Response] = []

    def call() -> None:
        url = f"http://127.0.0.1:{port}/v1/text/sentiment"
        answers.append(httpx.post(url, json={"text": "slow"}, headers={"X-Request-Id": "req-shutdown-1"}, timeout=30))

    client = threading.Thread(target=call)
    client.start()
    while not primary.calls:
        time.sleep(0.02)
    server.should_exit = True  # what SIGTERM does
    client.join(30)
    thread.join(30)
    [r] = answers
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["request_id"] == "req-shutdown-1" and r.headers["x-request-id"] == "req-shutdown-1"
    [record] = [rec for rec in sink.records if rec.request_id == "req-shutdown-1"]
    assert (record.http_status, record.error_type) == (503, "ShuttingDown")
