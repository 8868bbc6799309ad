"""A job survives a gateway restart: SIGTERM mid-run, start again, it completes with one result.

The gateway runs as a real ``omnisense serve`` process on a SQLite store; the test stops
every process it starts (and checks that they are gone).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import SCRIPTED, free_port
from tests.jobs_helpers import wait_until

POLICY = f"""
version: 1
providers:
  slow: {{kind: "{SCRIPTED}", label: slow, latency_ms: 1500}}
routes:
  "*": {{candidates: [slow]}}
"""


@contextmanager
def gateway(tmp: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp / "gateway.yaml"), "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_until(lambda: _up(port) or proc.poll() is not None, timeout_s=60, every_s=0.2)
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def _status(db: Path, job_id: str) -> Any:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def test_a_job_survives_sigterm_and_a_new_start(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    db = tmp_path / "requests.db"
    (tmp_path / "gateway.yaml").write_text(
        f"policy: {tmp_path / 'policy.yaml'}\nlogs: {{sink: sqlite, path: {db}}}\njobs: {{poll_s: 0.1, lease_s: 60}}\n"
    )
    port, log = free_port(), tmp_path / "gateway.log"
    url = f"http://127.0.0.1:{port}"
    body = {"task": "text.sentiment", "inputs": [{"text": "first"}, {"text": "second"}, {"text": "third"}]}
    with gateway(tmp_path, port, log) as first:
        job = httpx.post(f"{url}/v1/jobs", json=body).json()
        wait_until(lambda: httpx.get(f"{url}/v1/jobs/{job['id']}").json()["done"] >= 1, timeout_s=20)
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) in (0, -signal.SIGTERM), log.read_text()  # uvicorn re-raises the signal
    assert _status(db, job["id"]) == "queued"  # handed back at shutdown, not left to its lease
    with gateway(tmp_path, port, log) as second:
        done = wait_until(
            lambda: (j := httpx.get(f"{url}/v1/jobs/{job['id']}").json())["status"] == "succeeded" and j,
            timeout_s=30,
        )
        logs = httpx.get(f"{url}/v1/logs", params={"limit": 100}).json()
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) in (0, -signal.SIGTERM)
    assert done["attempts"] == 2 and done["done"] == 3
    assert [r["status"] for r in done["results"]] == ["succeeded"] * 3
    assert [r["result"]["request_id"] for r in done["results"]] == [f"{job['id']}.{i}" for i in range(3)]
    ok = [r["request_id"] for r in logs["records"] if r["request_id"].startswith(job["id"]) and r["status"] == "ok"]
    assert sorted(ok) == [f"{job['id']}.{i}" for i in range(3)]  # each input answered once: item 0 not run again
    assert first.poll() is not None and second.poll() is not None
