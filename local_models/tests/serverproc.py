"""Start and stop a real `bentoml serve` of the local model server (tests, bench)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]  # local_models/
BENTOML = Path(sys.executable).with_name("bentoml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENTOML_DO_NOT_TRACK="True", HF_HUB_OFFLINE="1", OMP_THREAD_LIMIT="1", **extra)
    return env


def start(port: int, log_path: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    """Start the server in its own process group; return once /readyz answers 200."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(BENTOML), "serve", "service:LocalModels", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=serve_env(**extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    url = f"http://127.0.0.1:{port}/readyz"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop(proc)
    raise RuntimeError(f"server not ready in 240 s; see {log_path}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
