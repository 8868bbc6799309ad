"""The real local model server (local_models/) for tests: one per test session.

Started through the gateway's own supervisor, so the code path is the one `omnisense
serve` uses. Tests that need it skip, visibly, when local_models/.venv is missing
(`local_models/setup.sh` installs it; `scripts/setup.sh` runs that).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.local.supervisor import BackgroundModelServer, ModelServer, default_command

LOCAL_MODELS = Path(__file__).resolve().parent.parent / "local_models"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model_server_url() -> Iterator[str]:
    if not (LOCAL_MODELS / ".venv" / "bin" / "bentoml").exists():
        pytest.skip("the local model server is not installed: run local_models/setup.sh")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = BackgroundModelServer(ModelServer(default_command("127.0.0.1", port), url, start_timeout_s=300))
    server.start()
    try:
        yield url
    finally:
        server.stop()
