"""Job webhooks: signed with the key's secret, verifiable, retried after a 500, each delivery logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.server import create_app
from gateway.server.config import ApiKey, hash_key
from omnisense.schema.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookVerificationError,
    sign,
    signed_headers,
    verify,
)
from tests.jobs_helpers import job_config, wait_until

SECRET = "whsec-team-a"


class Receiver:
    """An HTTP server that answers the scripted statuses in turn (then 200) and keeps what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers.items()), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([500]) as r:
        yield r


def test_the_webhook_arrives_signed_and_a_500_is_retried(
    policy_file: Path, sink: MemorySink, receiver: Receiver
) -> None:
    keys = [ApiKey(id="team-a", sha256=hash_key("key-a"), webhook_secret=SECRET)]
    auth = {"Authorization": "Bearer key-a"}
    with TestClient(create_app(job_config(policy_file, keys=keys), sink=sink)) as c:
        body = {"task": "text.sentiment", "input": {"text": "Lovely"}, "webhook_url": receiver.url}
        job = c.post("/v1/jobs", json=body, headers=auth).json()
        wait_until(lambda: len(receiver.got) >= 2)
        wait_until(lambda: c.get(f"/v1/jobs/{job['id']}", headers=auth).json().get("webhook") == "delivered")
    (first_headers, first_body), (headers, delivered) = receiver.got
    verify(SECRET, delivered, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])  # raises if wrong
    verify(SECRET, first_body, first_headers[TIMESTAMP_HEADER], first_headers[SIGNATURE_HEADER])
    payload = json.loads(delivered)
    assert payload["id"] == job["id"] and payload["status"] == "succeeded"
    assert payload["result"]["result"]["label"] == "positive"
    assert headers["Omnisense-Job-Id"] == job["id"]
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify("another-secret", delivered, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(SECRET, delivered + b" ", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    (record,) = [r for r in sink.records if r.task == "jobs.webhook"]
    assert record.request_id == f"{job['id']}.webhook" and record.status == "ok" and record.key_id == "team-a"
    assert [a.outcome for a in record.attempts] == ["error", "ok"] and record.attempts[0].detail == "HTTP 500"
    assert SECRET not in json.dumps([r.request_id for r in sink.records]) + repr(sink.records)


def test_a_webhook_that_keeps_failing_is_logged_as_failed(policy_file: Path, sink: MemorySink) -> None:
    with Receiver([503, 503, 503]) as receiver:
        with TestClient(create_app(job_config(policy_file, webhook_attempts=3), sink=sink)) as c:
            body = {"task": "text.sentiment", "input": {"text": "Lovely"}, "webhook_url": receiver.url}
            job = c.post("/v1/jobs", json=body).json()
            wait_until(lambda: c.get(f"/v1/jobs/{job['id']}").json().get("webhook") == "failed")
        assert len(receiver.got) == 3
        assert SIGNATURE_HEADER not in receiver.got[0][0]  # no secret configured: sent unsigned
    (record,) = [r for r in sink.records if r.task == "jobs.webhook"]
    assert record.status == "error" and record.http_status == 503 and len(record.attempts) == 3


def test_a_replayed_delivery_is_refused_outside_the_window() -> None:
    body = b'{"id": "x"}'
    old = signed_headers(SECRET, body, now=1_000_000.0)
    verify(SECRET, body, old[TIMESTAMP_HEADER], old[SIGNATURE_HEADER], now=1_000_000.0 + 299)
    with pytest.raises(WebhookVerificationError, match="old"):
        verify(SECRET, body, old[TIMESTAMP_HEADER], old[SIGNATURE_HEADER], now=1_000_000.0 + 301)
    assert sign(SECRET, body, 1) != sign(SECRET, body, 2)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SECRET, body, None, "v1=00")


def test_a_webhook_left_pending_by_a_stopped_gateway_is_sent_by_the_next(policy_file: Path, tmp_path: Path) -> None:
    import asyncio
    import time

    from gateway.jobs.model import Job, finished
    from gateway.jobs.store import SqliteJobStore
    from gateway.server.config import LogSettings

    db = tmp_path / "requests.db"
    with Receiver([]) as receiver:

        async def leave_pending() -> str:
            store = SqliteJobStore(db)
            await store.start()
            now = time.time() - 10
            job = Job(id="j1", task="text.sentiment", status="queued", created=now, updated=now,
                      webhook_url=receiver.url)  # fmt: skip
            await store.create(job, b"\x90")
            await store.claim("gone", 30)
            await store.update(job.id, finished("gone", "succeeded", [], 60, None))
            await store.close()
            return job.id

        job_id = asyncio.run(leave_pending())
        config = job_config(
            policy_file, logs=LogSettings(sink="sqlite", path=str(db)), webhook_resume_after_s=0.0, sweep_s=0.2
        )
        with TestClient(create_app(config, sink=MemorySink())) as c:
            wait_until(lambda: c.get(f"/v1/jobs/{job_id}").json().get("webhook") == "delivered")
        assert len(receiver.got) == 1 and json.loads(receiver.got[0][1])["id"] == job_id


def test_webhooks_to_private_addresses_or_other_hosts_are_refused(policy_file: Path, sink: MemorySink) -> None:
    with Receiver([]) as receiver:
        config = job_config(policy_file, webhook_private=False)
        with TestClient(create_app(config, sink=sink)) as c:
            body = {"task": "text.sentiment", "input": {"text": "x"}, "webhook_url": receiver.url}
            job = c.post("/v1/jobs", json=body).json()
            wait_until(lambda: c.get(f"/v1/jobs/{job['id']}").json().get("webhook") == "failed")
            creds = {**body, "webhook_url": "http://user:pw@example.com/hook"}
            assert c.post("/v1/jobs", json=creds).json()["field"] == "webhook_url"
        assert receiver.got == []  # never called
    (record,) = [r for r in sink.records if r.task == "jobs.webhook"]
    assert record.status == "error" and "loopback" in (record.error_detail or "") and record.attempts == []
    with TestClient(create_app(job_config(policy_file, webhook_hosts=["*.example.invalid"]), sink=sink)) as c:
        other = {"task": "text.sentiment", "input": {"text": "x"}, "webhook_url": "https://example.org.invalid/hook"}
        refused = c.post("/v1/jobs", json=other)
        assert refused.status_code == 422 and "webhook_hosts" in refused.json()["detail"]
        ok = c.post("/v1/jobs", json={**other, "webhook_url": "https://hooks.example.invalid/x"})
        assert ok.status_code == 202
