"""Backing services a fault test may stop, and the gateway as a process it may kill.

``OwnPostgres`` is a private PostgreSQL cluster (initdb + pg_ctl in a temporary directory, on a
free port, run as the ``postgres`` user when the tests run as root): never the shared one on
5432. ``Gateway`` is ``omnisense serve`` in a subprocess; ``Load`` sends steady traffic from a
few clients and remembers every request id that got an answer.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
POLICY = f"""
version: 1
providers:
  primary: {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002, latency_ms: 5}}
defaults: {{timeout_s: 2.0, deadline_s: 5.0}}
routes:
  "*": {{candidates: [primary]}}
"""


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class OwnPostgres:
    """A throwaway PostgreSQL cluster on a free port (trust auth, fsync off: a test, not a store)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.data = workdir / "pgdata"
        self.sockets = workdir / "pgsock"
        self.user: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user is not None:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def init(self) -> None:
        initdb = pg_bin("initdb")
        if initdb is None:
            raise RuntimeError("initdb not found: scripts/setup.sh installs PostgreSQL")
        for d in (self.data, self.sockets):
            d.mkdir(parents=True)
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                os.chown(d, entry.pw_uid, entry.pw_gid)
        if self.user is not None:  # the cluster's user must reach its directories
            for parent in self.data.parents:
                if parent == Path("/tmp") or parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o711)
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(pg_bin("pg_ctl")), "-D", str(self.data), "-o", opts, "-w", "-t", "60", "-l",
                  str(self.data / "log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(pg_bin("pg_ctl")), "-D", str(self.data), "-m", "fast", "-w", "stop")


class Gateway:
    """``omnisense serve`` with ``gateway.yaml`` (the caller writes it) in ``workdir``."""

    def __init__(self, workdir: Path, config: str, policy: str = POLICY) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "policy.yaml").write_text(policy)
        (workdir / "gateway.yaml").write_text(config)
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        cmd = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.workdir / "gateway.yaml")]
        cmd += ["--policy", str(self.workdir / "policy.yaml"), "--port", str(self.port), "--log-level", "warning"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = await asyncio.to_thread(subprocess.Popen, cmd, cwd=self.workdir, env=env)
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the gateway did not start")
                await asyncio.sleep(0.1)

    async def metrics(self) -> dict[str, float]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/metrics") as resp:
            text = await resp.text()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("omnisense_log_"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    async def submit_job(self, body: dict[str, object] | None = None) -> tuple[int, dict[str, str], str]:
        """POST a job (default: one sentiment item): (status, headers, job id or "")."""
        body = body or {"task": "text.sentiment", "input": {"text": "a job"}}
        async with aiohttp.ClientSession() as session, session.post(f"{self.url}/v1/jobs", json=body) as resp:
            answer = await resp.json(content_type=None)
            return resp.status, dict(resp.headers), str(answer.get("id", ""))

    async def job_status(self, job_id: str, timeout_s: float = 20) -> str:
        """The job's status once it is no longer queued or running (or when ``timeout_s`` runs out)."""
        return str((await self.job(job_id, timeout_s))["status"])

    async def job(self, job_id: str, timeout_s: float = 20) -> dict[str, object]:
        """The job as ``GET /v1/jobs/{id}`` shows it once it is no longer queued or running."""
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(f"{self.url}/v1/jobs/{job_id}") as resp:
                    job: dict[str, object] = await resp.json()
                if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
                    return job
                await asyncio.sleep(0.1)

    async def readyz(self) -> dict[str, object]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/readyz") as resp:
            body: dict[str, object] = await resp.json()
            return body

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class Load:
    """``clients`` loops, each sending one request at a time; ``answered``: request id -> HTTP status."""

    def __init__(self, url: str, clients: int = 4, tag: str = "") -> None:
        self.url, self.clients, self.tag = url, clients, tag
        self.answered: dict[str, int] = {}
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client(i)) for i in range(self.clients)]

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.gather(*self._tasks)

    async def _client(self, worker: int) -> None:
        n = 0
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self.stop.is_set():
                rid = f"{self.tag}w{worker}-{n}"
                n += 1
                try:
                    async with session.post(
                        f"{self.url}/v1/text/sentiment", json={"text": f"load {rid}"}, headers={"X-Request-Id": rid}
                    ) as resp:
                        await resp.read()
                        self.answered[rid] = resp.status
                except (aiohttp.ClientError, OSError, TimeoutError):
                    await asyncio.sleep(0.05)  # a gateway being killed or restarted: try again
                await asyncio.sleep(0.005)  # steady, not flat out: the machine is shared


def print_table(rows: list[tuple[str, int, int, int, int, int]]) -> None:
    head = ("fault", "answered", "written", "spooled", "replayed", "lost")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
