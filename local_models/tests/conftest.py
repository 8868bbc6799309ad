from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import serverproc


class Client:
    """POST JSON to the served endpoints."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, json=body)

    def ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.post(path, body)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = serverproc.free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc = serverproc.start(port, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serverproc.stop(proc)


@pytest.fixture(scope="session")
def client(server: str) -> Client:
    return Client(server)
