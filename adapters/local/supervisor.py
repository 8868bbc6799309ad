"""Run the model server as a child process: start, wait for readiness, restart, stop.

Used when a policy names ``local`` without a ``url``. What the supervisor guarantees:

- **Nothing is orphaned.** The server runs under ``reaper.py``, a subreaper in a
  session of its own whose stdin is a pipe from the gateway: when the gateway stops,
  crashes or is killed, when the supervisor stops it, or when the BentoML root dies,
  the reaper stops every process of the tree (BentoML's workers included, which each
  run in their own session) before it exits.
- **It never adopts a stranger.** Before a start the port must be free; a port held by
  another process is a clear error naming the port and its owner (``PortInUse``), fatal
  at gateway start-up. Readiness counts only when ``/readyz`` answers *and* the process
  listening on the port is one of ours.
- **Restarts back off** (1 s doubling to 60 s, back to 1 s after a minute of uptime)
  and are counted (``restarts``; ``omnisense_model_server_restarts`` on ``/metrics``).
- **A slow or failing server is not fatal**: after ``start_timeout_s`` without
  readiness the gateway serves degraded and the supervisor keeps trying.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from adapters.base import CannotServe

log = logging.getLogger("omnisense.local")
SHARED_URL_ENV = "OMNISENSE_LOCAL_MODELS_URL"
STATE_ENV = "OMNISENSE_LOCAL_MODELS_STATE"  # a JSON file: restarts, readiness (see ModelServer.publish)
REAPER = Path(__file__).resolve().parent / "reaper.py"
MAX_BACKOFF_S = 60.0
STABLE_AFTER_S = 60.0  # uptime after which the restart backoff starts again from its first step


class PortInUse(CannotServe):
    """The model server's port is held by a process that is not ours."""


def default_command(host: str, port: int) -> list[str]:
    """``local_models/serve.sh`` from a source checkout, found from this package's place."""
    script = Path(__file__).resolve().parents[2] / "local_models" / "serve.sh"
    if not script.exists():
        raise FileNotFoundError(
            f"{script} not found: run the model server yourself and set `url:` in the policy's local block"
        )
    return ["bash", str(script), "--host", host, "--port", str(port)]


def listeners(port: int) -> set[int]:
    """Pids listening on TCP ``port`` (empty when none, or when they cannot be seen)."""
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return set()
    return {c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}


def describe(pid: int) -> str:
    import psutil

    try:
        proc = psutil.Process(pid)
        return f"pid {pid} ({' '.join(proc.cmdline())[:120] or proc.name()})"
    except psutil.Error:
        return f"pid {pid}"


def port_owner_error(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be used by a new model server, or None when it is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            owners = ", ".join(describe(p) for p in sorted(listeners(port))) or "another process"
            return (
                f"the model server's port {host}:{port} is already in use by {owners} ({exc.strerror}): "
                "stop it, set another `port:` in the policy's local block, or point `url:` at that server"
            )
    return None


def tree(pid: int) -> set[int]:
    """``pid`` and every live descendant."""
    import psutil

    try:
        return {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return set()


class ModelServer:
    def __init__(self, command: list[str], url: str, start_timeout_s: float, *, state_path: str | None = None) -> None:
        self.command = command
        self.state_path = state_path  # where `omnisense serve` workers read restarts and readiness
        self.url = url
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.start_timeout_s = start_timeout_s
        self.restarts = 0
        self.ready = False
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The reaper's pid: the root of everything this supervisor started."""
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Spawn and wait for readiness (up to ``start_timeout_s``; a slow start is logged, not
        fatal). Raises PortInUse when a stranger holds the port."""
        problem = port_owner_error(self.host, self.port)
        if problem is not None:
            raise PortInUse(problem)
        await self._spawn()
        if not await self.wait_ready():
            log.warning("the model server is not ready after %.0f s: serving degraded meanwhile", self.start_timeout_s)
        self._watch = asyncio.get_running_loop().create_task(self._supervise())

    async def _spawn(self) -> None:
        env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "HF_HUB_OFFLINE": "1"}
        log.info("starting the model server: %s", " ".join(self.command))
        self.ready = False
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, str(REAPER), *self.command,
            env=env, start_new_session=True, stdin=asyncio.subprocess.PIPE, stdout=sys.stderr, stderr=sys.stderr,
        )  # fmt: skip

    def owns_port(self) -> bool:
        """The process listening on the port is ours (unknown listeners count as ours)."""
        found = listeners(self.port)
        return not found or bool(found & tree(self.pid or -1))

    async def wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout_s
        warned = False
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.returncode is not None:
                    return False
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200 and self.owns_port():
                            log.info("the model server is ready at %s", self.url)
                            self.ready = True
                            self.publish()
                            return True
                        if r.status == 200 and not warned:
                            warned = True
                            log.error("%s answers but is not ours (%s): waiting", self.url, listeners(self.port))
                await asyncio.sleep(0.5)
        return False

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._proc is not None
            started = time.monotonic()
            code = await self._proc.wait()
            if self._stopping:
                return
            self.ready = False
            self.publish()
            if time.monotonic() - started > STABLE_AFTER_S:
                backoff = 1.0
            self.restarts += 1
            self.publish()
            log.error("the model server exited (status %s); restart #%d in %.0f s", code, self.restarts, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            try:
                await self._respawn()
            except Exception:
                log.exception("restarting the model server failed")

    async def _respawn(self) -> None:
        while (problem := port_owner_error(self.host, self.port)) is not None and not self._stopping:
            log.error("%s; retrying in 5 s", problem)
            await asyncio.sleep(5)
        if not self._stopping:
            await self._spawn()
            await self.wait_ready()

    def publish(self) -> None:
        """Write restarts, readiness and the reaper's pid to ``state_path`` (if any)."""
        if self.state_path is None:
            return
        state = {"restarts": self.restarts, "ready": self.ready, "pid": self.pid, "url": self.url}
        tmp = f"{self.state_path}.tmp"
        with contextlib.suppress(OSError):
            Path(tmp).write_text(json.dumps(state))
            os.replace(tmp, self.state_path)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        everything = tree(proc.pid)
        proc.send_signal(signal.SIGTERM)  # the reaper stops the whole tree, then exits
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            for pid in everything | tree(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        if self.state_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.state_path)


class BackgroundModelServer:
    """A ModelServer supervised from a thread of its own: for ``omnisense serve``, whose
    parent process owns the model server so that every gateway worker shares one."""

    def __init__(self, server: ModelServer) -> None:
        import threading

        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False
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
        if self._stopped:
            return
        self._stopped = True
        if self._error is None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def read_restarts(state_path: str) -> int | None:
    """Restarts published by the supervising process (``omnisense serve``), or None."""
    try:
        value = json.loads(Path(state_path).read_text()).get("restarts")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None
