"""Jobs that end and never pay twice (issue #28): the attempt cap on a job whose worker is
killed mid-item, Idempotency-Key on POST /v1/jobs, a rate-limit token per batch item."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.server import create_app
from gateway.server.config import ApiKey, hash_key
from tests.conftest import SCRIPTED, free_port
from tests.jobs_helpers import job_config, wait_until
from tests.test_jobs_api import finished, provider
from tests.test_jobs_restart import gateway

HANGS = f"""
version: 1
providers:
  hangs: {{kind: "{SCRIPTED}", label: hangs, latency_ms: 60000}}
routes:
  "*": {{candidates: [hangs], timeout_s: 120}}
"""


def test_a_job_whose_worker_is_killed_mid_item_runs_to_the_cap_and_ends_failed(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(HANGS)
    db = tmp_path / "requests.db"
    (tmp_path / "gateway.yaml").write_text(
        f"policy: {tmp_path / 'policy.yaml'}\nlogs: {{sink: sqlite, path: {db}}}\n"
        "jobs: {poll_s: 0.1, lease_s: 1, max_attempts: 2}\n"
    )
    port, log = free_port(), tmp_path / "gateway.log"
    url = f"http://127.0.0.1:{port}"

    def job(job_id: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{url}/v1/jobs/{job_id}").json()
        return body

    with gateway(tmp_path, port, log):  # killed (SIGKILL) when the block ends, its item mid-call
        job_id = httpx.post(f"{url}/v1/jobs", json={"task": "text.sentiment", "input": {"text": "x"}}).json()["id"]
        wait_until(lambda: job(job_id)["status"] == "running", timeout_s=20)
    with gateway(tmp_path, port, log):  # takes it over once the lease has run out, and is killed too
        wait_until(lambda: job(job_id)["attempts"] == 2, timeout_s=30)
    with gateway(tmp_path, port, log):
        done = wait_until(lambda: (j := job(job_id))["status"] != "running" and j["attempts"] == 3 and j, 30)
    assert done["status"] == "failed", done
    assert "gave up after 2 attempts" in done["error"] and "max_attempts: 2" in done["error"], done


def test_a_repeated_idempotency_key_submits_one_job_and_makes_one_vendor_call(
    policy_file: Path, sink: MemorySink
) -> None:
    with TestClient(create_app(job_config(policy_file), sink=sink)) as c:
        body = {"task": "text.sentiment", "input": {"text": "pay once"}}
        headers = {"Idempotency-Key": "order-17"}
        first = c.post("/v1/jobs", json=body, headers=headers)
        assert first.status_code == 202
        finished(c, first.json()["id"])
        again = c.post("/v1/jobs", json=body, headers=headers)
        assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
        assert again.json()["status"] == "succeeded" and again.headers["idempotent-replayed"] == "true"
        assert len(provider(c, "primary").calls) == 1
        other = c.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "else"}}, headers=headers)
        assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
        fresh = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "order-18"})
        assert fresh.json()["id"] != first.json()["id"]


def test_every_item_of_a_batch_takes_its_own_rate_limit_token(policy_file: Path, sink: MemorySink) -> None:
    keys = [ApiKey(id="slow", sha256=hash_key("key-slow"), rate_per_minute=6)]
    with TestClient(create_app(job_config(policy_file, keys=keys), sink=sink)) as c:
        auth = {"Authorization": "Bearer key-slow"}
        inputs = [{"text": f"item {i}"} for i in range(20)]
        r = c.post("/v1/jobs", json={"task": "text.sentiment", "inputs": inputs}, headers=auth)
        assert r.status_code == 202  # the submission takes no token: its items do
        job_id = r.json()["id"]
        wait_until(lambda: c.get(f"/v1/jobs/{job_id}", headers=auth).json()["done"] >= 6)
        time.sleep(1.5)
        now = c.get(f"/v1/jobs/{job_id}", headers=auth).json()
        assert now["status"] == "running" and now["done"] == 6, now  # the other 14 wait for tokens (one in 10 s)
        assert len(provider(c, "primary").calls) == 6
        # the key's own requests wait in the same bucket: it is empty
        assert c.post("/v1/text/sentiment", json={"text": "now"}, headers=auth).status_code == 429
        assert c.delete(f"/v1/jobs/{job_id}", headers=auth).status_code == 200


def test_every_item_of_a_batch_reserves_its_own_budget(policy_file: Path, sink: MemorySink, tmp_path: Path) -> None:
    """primary costs 0.002 a character: 0.01 for each 5-character item; the key has room for 3."""
    policy = tmp_path / "budgeted.yaml"
    policy.write_text(policy_file.read_text() + "budgets:\n  - {key: payer, usd_per_day: 0.03, then: reject}\n")
    keys = [ApiKey(id="payer", sha256=hash_key("key-payer"))]
    with TestClient(create_app(job_config(policy, keys=keys), sink=sink)) as c:
        auth = {"Authorization": "Bearer key-payer"}
        inputs = [{"text": f"item{i}"} for i in range(5)]
        job_id = c.post("/v1/jobs", json={"task": "text.sentiment", "inputs": inputs}, headers=auth).json()["id"]
        done = finished(c, job_id, auth)
        statuses = [r["status"] for r in done["results"]]
        assert statuses == ["succeeded"] * 3 + ["failed"] * 2, done
        assert {r["error"]["type"] for r in done["results"][3:]} == {"/problems/budget-exceeded"}
