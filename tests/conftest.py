"""Shared fixtures: a gateway app on scripted providers, in-process and over real HTTP."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psutil
import pytest
import uvicorn
from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"


def service_missing(reason: str) -> NoReturn:
    """A backing service (PostgreSQL, Redis) a test needs is not there: a skip on a developer's
    machine, a failure under ``CI=true`` (scripts/setup.sh installs them, scripts/services.sh
    starts them), so a CI run never comes out green with those tests skipped."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the backing services must run; see scripts/services.sh)")
    pytest.skip(reason)


SHARED_REDIS = "redis://127.0.0.1:6379/0"


def require_redis(url: str = SHARED_REDIS) -> None:
    """Skip (or fail under CI) unless the Redis at ``url`` answers a PING."""
    import redis

    try:
        if redis.Redis.from_url(url, socket_connect_timeout=0.5).ping():
            return
    except redis.RedisError:
        pass
    service_missing(f"no Redis at {url}")


def drop_redis_prefix(prefix: str, url: str = SHARED_REDIS) -> None:
    """Delete every key a test wrote under its own ``prefix`` in the shared Redis."""
    import redis

    client = redis.Redis.from_url(url)
    for name in client.scan_iter(f"{prefix}*"):
        client.delete(name)


POLICY = f"""
version: 1
providers:
  primary:   {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002}}
  secondary: {{kind: "{SCRIPTED}", label: secondary, price_usd: 0.001}}
defaults: {{timeout_s: 1.0, deadline_s: 5.0, retries: {{attempts: 2, backoff_s: 0.01}}}}
routes:
  "*": {{candidates: [primary, secondary]}}
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


def make_config(policy: Path, *, keys: list[ApiKey] | None = None) -> GatewayConfig:
    return GatewayConfig(policy=str(policy), keys=keys or [], logs=LogSettings(sink="none"))


@pytest.fixture
def client(policy_file: Path, sink: MemorySink) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(make_config(policy_file), sink=sink)) as c:
        yield c


@pytest.fixture
def protected_client(policy_file: Path, sink: MemorySink) -> Iterator[TestClient]:  # type: ignore[type-arg]
    keys = [
        ApiKey(id="team-a", sha256=hash_key("secret-a")),
        ApiKey(id="ops", sha256=hash_key("secret-admin"), admin=True, providers=["primary"]),
    ]
    with TestClient(create_app(make_config(policy_file, keys=keys), sink=sink)) as c:
        yield c


def wait_for(check: Callable[[], object], seconds: float = 5.0) -> bool:
    """Poll ``check`` every 50 ms until it is true (True) or ``seconds`` pass (False)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie does not count)."""
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The gateway on uvicorn in a thread: tests talk to it over real HTTP (``sink=None``: the
    config's own log sink)."""

    def __init__(self, config: GatewayConfig, sink: MemorySink | None) -> None:
        self.port = free_port()
        self.app = create_app(config, sink=sink)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(policy_file: Path, sink: MemorySink) -> Iterator[LiveServer]:
    with LiveServer(make_config(policy_file), sink) as server:
        yield server
