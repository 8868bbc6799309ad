"""A fleet on loopback for the scale-out tests: gateway replicas as real `omnisense serve`
processes, an instant fake model server whose answers a test can turn into failures, and a
private Redis server a test may stop and start again (the shared one on 6379 is never stopped).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent

SENTIMENT = {"label": "positive", "scores": {"positive": 0.9, "negative": 0.05, "neutral": 0.05, "mixed": 0.0}}
LANGUAGE = {"languages": [{"code": "en", "confidence": 0.99}]}


class FakeModelServer:
    """Answers like ``local_models`` at once; ``failing`` turns every task answer into a 500.
    ``stop()`` and ``start()`` take it down and bring it back on the same address."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.failing = False
        self.delay_s = 0.0  # how long each task answer takes
        self.hits: dict[str, int] = {}
        self.hosts: set[str] = set()  # the Host headers it was sent
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def tasks_answered(self) -> int:
        """Task calls it answered (not /capabilities, not /readyz)."""
        return sum(n for path, n in self.hits.items() if path != "/capabilities")

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.hosts.add(request.headers.get("Host", ""))
        if path == "/capabilities":
            tasks = {"text.sentiment": {"model": "fake"}, "text.language": {"model": "fake"}}
            return web.json_response({"tasks": tasks, "device": "cpu"})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failing:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response(SENTIMENT if path == "/text/sentiment" else LANGUAGE)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._answer)
        app.router.add_get("/readyz", self._ok)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def _ok(self, request: web.Request) -> web.Response:
        self.hosts.add(request.headers.get("Host", ""))
        return web.Response(text="ok")

    def __enter__(self) -> FakeModelServer:
        self._thread.start()
        self.start()
        return self

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        """Stop listening and close its connections (the address refuses until ``start()``)."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class RedisServer:
    """A private redis-server on a free port (no persistence): this one a test may stop."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([*args, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        wait_until(lambda: _redis_answers(self.port), 10, "redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def _redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2).ping())
    except redis.RedisError:
        return False


class Replica:
    """One gateway process: ``python -m gateway.cli serve`` with the worktree first on the path."""

    def __init__(self, config: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.config, self.workers, self.env = config, workers, env or {}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        args = ["serve", "--config", str(self.config), "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args, "--log-level", "warning"], env=env, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(self._ready, 60, f"gateway on {self.port} did not start")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"gateway on {self.port} exited with {self.proc.returncode}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # uvicorn's workers too, when there are several
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def post(self, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    def providers(self, key: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/v1/providers", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)
