"""SIGTERM with live sessions open: every session gets 1001 and leaves its record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed

from contract_tests.scripted_stream import speech_pcm
from tests.conftest import free_port
from tests.live_helpers import open_ws, stream_policy


def test_sigterm_closes_every_open_session_with_1001_and_each_leaves_its_record(tmp_path: Path) -> None:
    policy = stream_policy(tmp_path)
    (tmp_path / "config.yaml").write_text(f"policy: {policy}\nlogs: {{sink: jsonl, path: {tmp_path / 'log.jsonl'}}}\n")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp_path / "config.yaml"),
            "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env)
    try:
        _wait_ready(port, proc)
        base = f"http://127.0.0.1:{port}"
        sockets = [open_ws(base) for _ in range(3)]
        for ws in sockets:
            ws.send(json.dumps({"type": "start", "sample_rate": 16000}))
            ws.send(speech_pcm(["alpha", "bravo", None]))
        for ws in sockets:
            assert json.loads(ws.recv(timeout=10))["type"] == "partial"  # each session is running
        proc.send_signal(signal.SIGTERM)
        codes = []
        for ws in sockets:
            events = []
            try:
                while True:
                    events.append(json.loads(ws.recv(timeout=10)))
            except ConnectionClosed as closed:
                codes.append(closed.rcvd.code if closed.rcvd else None)
            assert events[-1]["type"] == "error" and events[-1]["code"] == 1001
        assert codes == [1001, 1001, 1001]
        assert proc.wait(20) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    live = [r for r in records if "stream" in r]
    assert len(live) == 3
    assert {r["stream"]["close_code"] for r in live} == {1001}
    assert all(r["stream"]["providers"][0]["provider"] == "first" for r in live)
    assert all(r["attempts"] == [{**r["attempts"][0], "provider": "first", "outcome": "cancelled"}] for r in live)


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)
