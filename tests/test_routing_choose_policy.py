"""X-Omnisense-Policy: a caller chooses one of the gateway's named policies, where its key allows."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import ApiKey, LogSettings, hash_key
from tests.conftest import POLICY

TEXT = {"text": "What a lovely day"}


def make_app(tmp_path: Path, sink: MemorySink, keys: list[ApiKey] | None = None) -> TestClient:  # type: ignore[type-arg]
    main = tmp_path / "main.yaml"
    main.write_text(POLICY)
    # The same two providers, the other way round: shared instances, another order.
    reverse = tmp_path / "reverse.yaml"
    reverse.write_text(POLICY.replace("candidates: [primary, secondary]", "candidates: [secondary, primary]"))
    config = GatewayConfig(
        policy=str(main), policies={"reverse": str(reverse)}, keys=keys or [], logs=LogSettings(sink="none")
    )
    return TestClient(create_app(config, sink=sink))


def test_a_request_chooses_a_named_policy(tmp_path: Path, sink: MemorySink) -> None:
    with make_app(tmp_path, sink) as client:
        assert client.post("/v1/text/sentiment", json=TEXT).json()["provider"] == "primary"
        chosen = client.post("/v1/text/sentiment", json=TEXT, headers={"X-Omnisense-Policy": "reverse"})
        assert chosen.json()["provider"] == "secondary"
        by_body = client.post("/v1/text/sentiment", json={**TEXT, "routing": {"policy": "reverse"}})
        assert by_body.json()["provider"] == "secondary"
        unknown = client.post("/v1/text/sentiment", json=TEXT, headers={"X-Omnisense-Policy": "nope"})
        assert unknown.status_code == 422 and "unknown policy 'nope'" in unknown.json()["detail"]
        runtime = client.app.state.runtime
        assert runtime.routing.unit("reverse").providers["primary"] is runtime.providers["primary"], "shared"


def test_only_keys_that_may_choose_it(tmp_path: Path, sink: MemorySink) -> None:
    keys = [
        ApiKey(id="app", sha256=hash_key("k-app"), policies=["main"]),
        ApiKey(id="ops", sha256=hash_key("k-ops"), policies=["main", "reverse"]),
    ]
    with make_app(tmp_path, sink, keys) as client:
        header = {"X-Omnisense-Policy": "reverse"}
        app = client.post("/v1/text/sentiment", json=TEXT, headers={**header, "Authorization": "Bearer k-app"})
        assert app.status_code == 403 and "may not choose policy 'reverse'" in app.json()["detail"]
        ops = client.post("/v1/text/sentiment", json=TEXT, headers={**header, "Authorization": "Bearer k-ops"})
        assert ops.status_code == 200 and ops.json()["provider"] == "secondary"
