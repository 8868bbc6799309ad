"""Background probing: a provider found down goes last and is re-probed with backoff; when
it recovers it takes traffic again by itself; /readyz reads the cached state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings, ProbeSettings
from tests.conftest import POLICY, wait_for

FAST = ProbeSettings(interval_s=0.3, min_backoff_s=0.1, max_backoff_s=0.4, timeout_s=1.0)


@pytest.fixture
def fast_client(tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    config = GatewayConfig(policy=str(policy), logs=LogSettings(sink="none"), probes=FAST)
    with TestClient(create_app(config, sink=MemorySink())) as c:
        yield c


def provider(client: TestClient, name: str) -> ScriptedProvider:  # type: ignore[type-arg]
    p = client.app.state.runtime.providers[name]
    assert isinstance(p, ScriptedProvider)
    return p


def served_by(client: TestClient) -> str:  # type: ignore[type-arg]
    r = client.post("/v1/text/sentiment", json={"text": "fine"})
    assert r.status_code == 200, r.text
    return str(r.json()["provider"])


def test_a_recovered_provider_takes_traffic_without_anyone_calling_readyz(fast_client: TestClient) -> None:  # type: ignore[type-arg]
    primary = provider(fast_client, "primary")
    assert served_by(fast_client) == "primary"
    primary.config.healthy = False
    assert wait_for(lambda: not fast_client.app.state.runtime.health["primary"].ok)
    assert served_by(fast_client) == "secondary", "a provider whose probe failed goes last"
    primary.config.healthy = True
    assert wait_for(lambda: fast_client.app.state.runtime.health["primary"].ok, 2.0), "re-probed while down"
    assert served_by(fast_client) == "primary"


def test_readyz_reads_the_cached_state_and_healthz_is_liveness(fast_client: TestClient) -> None:  # type: ignore[type-arg]
    primary, secondary = provider(fast_client, "primary"), provider(fast_client, "secondary")
    before = primary.probes
    for _ in range(20):
        assert fast_client.get("/readyz").status_code == 200
    assert primary.probes - before <= 2, "readyz does not probe on each hit"
    primary.config.healthy = secondary.config.healthy = False
    assert wait_for(lambda: fast_client.get("/readyz").status_code == 503)
    body = fast_client.get("/readyz").json()
    log = {"status": "ok", "spooled": 0, "spool_bytes": 0}  # the request log is fine: not what makes it unready
    assert body == {"status": "not ready", "providers": {"primary": False, "secondary": False}, "log": log}
    assert fast_client.get("/healthz").status_code == 200
    secondary.config.healthy = True
    assert wait_for(lambda: fast_client.get("/readyz").status_code == 200, 2.0)


def test_backoff_while_down(fast_client: TestClient) -> None:  # type: ignore[type-arg]
    primary, secondary = provider(fast_client, "primary"), provider(fast_client, "secondary")
    primary.config.healthy = False
    time.sleep(0.3)
    start_down, start_up = primary.probes, secondary.probes
    time.sleep(2.0)
    down, up = primary.probes - start_down, secondary.probes - start_up
    assert 3 <= down <= 8, f"down: re-probed every <= {FAST.max_backoff_s} s ({down})"
    assert 4 <= up <= 9, f"up: every {FAST.interval_s} s ({up})"
