"""SIGTERM during a load run loses no record of an answered request; the CLI reads what was written.

The gateway runs as a real subprocess (``omnisense serve`` on uvicorn) with the SQLite
sink; the test drives concurrent load, sends SIGTERM mid-run, then checks that every
request that got an HTTP answer has its record in the database.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from gateway.cli import parser
from gateway.logs.cli_commands import logs_command, stats_command
from tests.conftest import SCRIPTED, free_port

ROOT = Path(__file__).parent.parent
SLOW_POLICY = f"""
version: 1
providers:
  primary:   {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002, latency_ms: 20}}
  secondary: {{kind: "{SCRIPTED}", label: secondary, price_usd: 0.001}}
defaults: {{timeout_s: 2.0, deadline_s: 5.0, retries: {{attempts: 2, backoff_s: 0.01}}}}
routes:
  "*": {{candidates: [primary, secondary]}}
"""


def start_gateway(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    (tmp_path / "policy.yaml").write_text(SLOW_POLICY)
    (tmp_path / "gateway.yaml").write_text(
        f"logs: {{sink: sqlite, path: {tmp_path / 'requests.db'}, batch_size: 64}}\n"
    )
    cmd = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp_path / "gateway.yaml")]
    cmd += ["--policy", str(tmp_path / "policy.yaml"), "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, cwd=tmp_path, env=env)


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the gateway did not start")
            await asyncio.sleep(0.1)


async def load(url: str, answered: dict[str, int], stop: asyncio.Event, worker: int) -> None:
    """Send requests until the gateway refuses; note every request id that got an answer."""
    n = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            rid = f"w{worker}-{n}"
            n += 1
            try:
                async with session.post(
                    f"{url}/v1/text/sentiment", json={"text": f"load {rid}"}, headers={"X-Request-Id": rid}
                ) as resp:
                    await resp.read()
                    answered[rid] = resp.status
            except (aiohttp.ClientError, OSError):
                if stop.is_set():
                    return
                await asyncio.sleep(0.05)  # refused while shutting down: try again until told to stop


async def test_sigterm_during_load_loses_no_answered_record(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_gateway(tmp_path, port)
    try:
        await wait_ready(url, proc)
        answered: dict[str, int] = {}
        stop = asyncio.Event()
        workers = [asyncio.create_task(load(url, answered, stop, i)) for i in range(24)]
        await asyncio.sleep(1.5)
        before = len(answered)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        stop.set()
        await asyncio.gather(*workers)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code in (0, -signal.SIGTERM)
    assert before > 50, f"only {before} requests before SIGTERM: no load to speak of"
    with sqlite3.connect(tmp_path / "requests.db") as db:
        stored = dict(db.execute("SELECT request_id, http_status FROM request_log").fetchall())
        (dupes,) = db.execute("SELECT count(*) - count(DISTINCT request_id) FROM request_log").fetchone()
    missing = sorted(set(answered) - set(stored))
    assert not missing, f"{len(missing)} answered requests without a record, e.g. {missing[:5]}"
    assert dupes == 0
    assert all(stored[rid] == status for rid, status in answered.items())
    await asyncio.to_thread(check_cli_reads, tmp_path / "gateway.yaml")


def check_cli_reads(config: Path) -> None:
    """``omnisense logs`` and ``omnisense stats`` read what the gateway wrote."""
    out = io.StringIO()
    args = parser().parse_args(
        ["logs", "--config", str(config), "--task", "text.sentiment", "--status", "200", "--since", "1h", "-n", "5"]
    )
    assert logs_command(args, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["time", "request_id", "task"] and len(lines) == 6
    assert all("text.sentiment" in line and " 200 " in line for line in lines[1:])
    out = io.StringIO()
    assert stats_command(parser().parse_args(["stats", "--config", str(config), "-w", "1h"]), out) == 0
    text = out.getvalue()
    assert "primary" in text and "text.sentiment" in text and "positive 100%" in text


def test_cli_is_wired(tmp_path: Path) -> None:
    from gateway.cli import main

    (tmp_path / "gateway.yaml").write_text(f"logs: {{sink: sqlite, path: {tmp_path / 'r.db'}}}\n")
    assert main(["stats", "--config", str(tmp_path / "gateway.yaml"), "--window", "15m"]) == 0
    assert main(["logs", "--config", str(tmp_path / "gateway.yaml"), "-n", "3"]) == 0
    with pytest.raises(SystemExit):
        main(["logs", "--bogus"])
