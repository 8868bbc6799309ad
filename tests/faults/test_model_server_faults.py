"""Faults of the model server itself, with the gateway on real HTTP: a model server that
is down when the gateway starts and comes up later, and the supervised model server
killed under load (its root alone, then root and workers). A scripted provider is the
healthy fallback; every request is answered, each leaves one record, and no process of
the model server outlives the gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import LogSettings, ProbeSettings
from tests.conftest import LiveServer, alive, free_port, wait_for

FAKE = str(Path(__file__).resolve().parent / "fake_model_server.py")
SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
FAST = ProbeSettings(interval_s=0.5, min_backoff_s=0.1, max_backoff_s=0.5, timeout_s=1.0)


def config(tmp_path: Path, local_block: str) -> GatewayConfig:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"""
version: 1
providers:
  local: {local_block}
  good:  {{kind: "{SCRIPTED}", label: good}}
defaults: {{timeout_s: 2, deadline_s: 6, retries: {{attempts: 2, backoff_s: 0.05}}}}
routes:
  "*": {{candidates: [local, good]}}
"""
    )
    return GatewayConfig(policy=str(policy), logs=LogSettings(sink="none"), probes=FAST, policy_watch_s=None)


def sentiment(url: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/text/sentiment", json={"text": "fine"}, timeout=30)


def test_down_at_start_then_up(tmp_path: Path) -> None:
    port = free_port()
    sink = MemorySink()
    with LiveServer(config(tmp_path, f'{{kind: local, url: "http://127.0.0.1:{port}"}}'), sink) as live:
        runtime = live.app.state.runtime
        assert not runtime.health["local"].ok, "down at start: unhealthy, not fatal"
        assert httpx.get(f"{live.url}/readyz").status_code == 200, "the other provider serves"
        assert sentiment(live.url).json()["provider"] == "good"
        server = subprocess.Popen([sys.executable, FAKE, str(port), "--workers", "1"])
        try:
            assert wait_for(lambda: runtime.health["local"].ok, 15), "re-probed and found up"
            assert sentiment(live.url).json()["provider"] == "local", "capabilities fetched when it came up"
        finally:
            server.terminate()
            server.wait(10)
    assert len(sink.records) == 2


def test_model_server_killed_under_load(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, FAKE, str(port), "--workers", "2"]
    block = f"{{kind: local, port: {port}, serve_command: {command!r}, start_timeout_s: 20, timeout_s: 2}}"
    sink = MemorySink()
    codes: list[int] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                codes.append(http.post(f"{url}/v1/text/sentiment", json={"text": "fine"}).status_code)

    with LiveServer(config(tmp_path, block), sink) as live:
        server = live.app.state.runtime.providers["local"]._server
        assert server is not None and server.ready
        seen = {server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))}
        threads = [threading.Thread(target=load, args=(live.url,)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        fake_root = psutil.Process(server.pid).children()[0]
        os.kill(fake_root.pid, signal.SIGKILL)  # the root alone: its workers keep the port
        assert wait_for(lambda: server.restarts == 1 and server.ready, 20)
        seen |= {server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))}
        for proc in psutil.Process(server.pid).children(recursive=True):  # root and workers
            proc.kill()
        assert wait_for(lambda: server.restarts == 2 and server.ready, 20)
        seen |= {server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))}
        metrics = httpx.get(f"{live.url}/metrics").text
        assert 'omnisense_model_server_restarts_total{provider="local"} 2.0' in metrics
        # "up" is the last background probe's verdict: one may have run while the server was
        # down, and the next comes after its backoff (up to probes.max_backoff_s).
        up = 'omnisense_provider_up{provider="local"} 1.0'
        assert wait_for(lambda: up in httpx.get(f"{live.url}/metrics").text, 15), "the provider is up again"
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join(30)
        served_by_local = sum(1 for r in sink.records if r.provider == "local")
    assert codes and set(codes) == {200}, f"{len(codes)} requests, codes {set(codes)}"
    assert len(sink.records) == len(codes), "one record per request"
    assert served_by_local > 0
    assert wait_for(lambda: not alive(seen), 20), f"left behind: {alive(seen)}"
