"""A password inside a provider's URL (``endpoint_url: http://user:pw@host``) is shown nowhere.

The real AWS adapter (botocore) is pointed at a closed local port through such a URL:
botocore quotes the URL in its connection error, and the probe fails the same way. The
password must not reach the 502 body, ``/v1/logs``, ``/v1/providers``, the log file or
the gateway's own log output (also log lines and tracebacks that quote the URL).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from tests.conftest import free_port

PASSWORD = "Pl4nted-url-passw0rd"


def test_url_passwords_are_scrubbed_everywhere(tmp_path: Path) -> None:
    endpoint = f"http://admin:{PASSWORD}@127.0.0.1:{free_port()}"
    block = {
        "kind": "aws",
        "region": "eu-west-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "endpoint_url": endpoint,
        "timeout_s": 2,
    }
    policy = {
        "version": 1,
        "providers": {"aws": block},
        "defaults": {"retries": {"attempts": 1}},
        "routes": {"*": {"candidates": ["aws"]}},
    }
    (tmp_path / "policy.yaml").write_text(json.dumps(policy))
    log_file = tmp_path / "requests.jsonl"
    config = GatewayConfig(
        policy=str(tmp_path / "policy.yaml"), logs=LogSettings(sink="jsonl", path=str(log_file)), policy_watch_s=None
    )
    app = create_app(config)  # litestar configures logging here: the handler below joins the root's after it
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    try:
        failed, providers, logs = drive(app, endpoint)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    written = output.getvalue()
    assert "cannot reach http://admin:[REDACTED]@127.0.0.1" in written and "ConnectionError: refused by" in written
    shown = {
        "the 502 body": failed.text,
        "/v1/providers": providers.text,
        "/v1/logs": logs.text,
        "the log file": log_file.read_text(),
        "the log output": written,
    }
    for where, text in shown.items():
        assert PASSWORD not in text, f"the URL's password is in {where}"


def drive(app: Any, endpoint: str) -> tuple[Any, Any, Any]:
    """Fail a request on the dead endpoint, read the providers and the log, and log as an adapter would."""
    with TestClient(app) as client:
        failed = client.post("/v1/text/sentiment", json={"text": "hello"})
        assert failed.status_code == 502, failed.text
        assert "127.0.0.1" in failed.text and "[REDACTED]" in failed.text  # the URL is still there to debug
        providers = client.get("/v1/providers")
        assert providers.status_code == 200 and providers.json()["providers"][0]["health"]["ok"] is False
        logs = client.get("/v1/logs")
        assert logs.json()["records"]
        adapter_log = logging.getLogger("omnisense.adapters.test")  # what an adapter bug would write
        adapter_log.warning("cannot reach %s", endpoint)
        try:
            raise ConnectionError(f"refused by {endpoint}")
        except ConnectionError:
            adapter_log.exception("probe failed")
    return failed, providers, logs
