"""Run the model server as a child process: start, wait for readiness, restart, stop.

Used when a policy names ``local`` without a ``url``. The child gets its own process
group so that stopping it also stops the BentoML workers it forked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

log = logging.getLogger("omnisense.local")
SHARED_URL_ENV = "OMNISENSE_LOCAL_MODELS_URL"


def default_command(host: str, port: int) -> list[str]:
    """``local_models/serve.sh`` from a source checkout, found from this package's place."""
    script = Path(__file__).resolve().parents[2] / "local_models" / "serve.sh"
    if not script.exists():
        raise FileNotFoundError(
            f"{script} not found: run the model server yourself and set `url:` in the policy's local block"
        )
    return ["bash", str(script), "--host", host, "--port", str(port)]


class ModelServer:
    def __init__(self, command: list[str], url: str, start_timeout_s: float) -> None:
        self.command = command
        self.url = url
        self.start_timeout_s = start_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._spawn()
        self._watch = asyncio.get_running_loop().create_task(self._restart_when_dead())

    async def _spawn(self) -> None:
        env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "HF_HUB_OFFLINE": "1"}
        log.info("starting the model server: %s", " ".join(self.command))
        self._proc = await asyncio.create_subprocess_exec(
            *self.command, env=env, start_new_session=True, stdout=sys.stderr, stderr=sys.stderr
        )
        await self.wait_ready()

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.returncode is not None:
                    raise RuntimeError(f"the model server exited with status {self._proc.returncode}")
                try:
                    async with http.get(f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            log.info("the model server is ready at %s", self.url)
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.5)
        raise TimeoutError(f"the model server was not ready within {self.start_timeout_s:.0f} s")

    async def _restart_when_dead(self) -> None:
        while not self._stopping:
            assert self._proc is not None
            code = await self._proc.wait()
            if self._stopping:
                return
            log.error("the model server died (status %s); restarting it", code)
            try:
                await self._spawn()
            except Exception:
                log.exception("restarting the model server failed; trying again in 5 s")
                await asyncio.sleep(5)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


class BackgroundModelServer:
    """A ModelServer supervised from a thread of its own: for ``omnisense serve``, whose
    parent process owns the model server so that every gateway worker shares one."""

    def __init__(self, server: ModelServer) -> None:
        import threading

        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="model-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._error is None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
