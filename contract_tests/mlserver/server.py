"""A real Seldon MLServer for the tests: one per test session, serving two versions of a
scikit-learn sentiment model that ``train.py`` fits on data it makes.

The server runs in its own process group on a free port and is stopped (SIGTERM, then
SIGKILL) at the end of the session. Tests that need it skip, visibly, when MLServer's
environment is missing (``contract_tests/mlserver/setup.sh``; ``scripts/setup.sh`` runs it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("MLSERVER_VENV", HERE / ".venv"))
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MLServer:
    url: str
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:  # its workers exit after it
            time.sleep(0.1)

    def leftovers(self) -> list[int]:
        """The processes of the server's group still in the process table."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == self.process.pid:  # state, ppid, pgrp
                found.append(int(stat.parent.name))
        return found


def start(folder: Path) -> MLServer:
    """Train the models into ``folder`` and serve them; returns once every model is ready."""
    port = free_port()
    python = VENV / "bin" / "python"
    subprocess.run([str(python), str(HERE / "train.py"), str(folder), "--http-port", str(port)], check=True)
    log = (folder / "mlserver.log").open("wb")
    process = subprocess.Popen(
        [str(VENV / "bin" / "mlserver"), "start", str(folder)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = MLServer(url=f"http://127.0.0.1:{port}", folder=folder, process=process)
    try:
        wait_ready(server, ["/v2/models/sentiment/versions/1/ready", "/v2/models/sentiment/versions/2/ready"])
    except BaseException:
        server.stop()
        sys.stderr.write((folder / "mlserver.log").read_text(errors="replace")[-3000:])
        raise
    return server


def wait_ready(server: MLServer, paths: list[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"MLServer exited with status {server.process.returncode}")
        try:
            if all(httpx.get(server.url + p, timeout=2).status_code == 200 for p in paths):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"MLServer was not ready within {START_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLServer]:
    if not (VENV / "bin" / "mlserver").exists():
        pytest.skip("MLServer is not installed: run contract_tests/mlserver/setup.sh")
    server = start(tmp_path_factory.mktemp("mlserver"))
    try:
        yield server
    finally:
        server.stop()
    assert not server.leftovers(), f"MLServer processes left running: {server.leftovers()}"
