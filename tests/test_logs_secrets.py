"""No planted secret reaches a record, a log line or /metrics — with every sink.

The test plants: a caller's API key (right and wrong), a vendor credential in a provider
block (which the fake vendor even quotes back in an error message), and a payload text.
It then searches the JSON-lines file, the SQLite database files, the PostgreSQL rows,
the captured log output and /metrics for each planted string.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.base import CallContext, ProviderResult
from contract_tests.scripted_provider import ScriptedConfig, ScriptedProvider
from gateway.logs import MemorySink
from gateway.logs.redact import Redactor, secrets_in
from gateway.server import create_app
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, hash_key
from omnisense.schema import Task, TaskRequest, UpstreamAuth
from tests.conftest import service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available

CALLER_KEY = "sk-PLANTED-caller-key-4f1e"
WRONG_KEY = "sk-PLANTED-wrong-key-77aa"
VENDOR_SECRET = "PLANTED-vendor-secret-9b2c"
VENDOR_TOKEN = "PLANTED-nested-token-31d0"
PAYLOAD = "PLANTED-payload-text-e5e5"
PLANTED = (CALLER_KEY, WRONG_KEY, VENDOR_SECRET, VENDOR_TOKEN, PAYLOAD)


class KeyedConfig(ScriptedConfig, kw_only=True, forbid_unknown_fields=True):
    api_key: str
    credentials: dict[str, str]


class KeyedProvider(ScriptedProvider):
    """A scripted provider with credentials, whose 'vendor' quotes the key back on a bad request."""

    config_type = KeyedConfig

    def __init__(self, name: str, config: KeyedConfig) -> None:
        self.api_key = config.api_key
        self.credentials = config.credentials
        super().__init__(name, config)

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        if "leak" in getattr(request, "text", ""):
            raise UpstreamAuth(f"vendor: key {self.api_key} rejected; token={self.credentials['token']}")
        return await super().run(task, request, ctx)


POLICY = f"""
version: 1
providers:
  primary:
    kind: "tests.test_logs_secrets:KeyedProvider"
    api_key: "{VENDOR_SECRET}"
    credentials: {{token: "{VENDOR_TOKEN}", region: eu}}
  secondary: {{kind: "contract_tests.scripted_provider:ScriptedProvider", label: secondary}}
defaults: {{timeout_s: 1.0, retries: {{attempts: 1}}}}
routes:
  "*": {{candidates: [primary, secondary]}}
"""


def drive(client: TestClient[Any]) -> str:
    """Requests carrying the planted strings; returns the /metrics text."""
    good = {"Authorization": f"Bearer {CALLER_KEY}"}
    assert client.post("/v1/text/sentiment", json={"text": f"{PAYLOAD} fine"}, headers=good).status_code == 200
    leaked = client.post("/v1/text/entities", json={"text": f"leak {PAYLOAD}"}, headers=good)
    assert leaked.status_code == 200 and leaked.json()["attempts"][0]["error_type"] == "UpstreamAuth"
    assert VENDOR_SECRET not in leaked.text and VENDOR_TOKEN not in leaked.text, "the caller never sees them either"
    bad = {"Authorization": f"Bearer {WRONG_KEY}"}
    assert client.post("/v1/text/sentiment", json={"text": PAYLOAD}, headers=bad).status_code == 401
    assert client.post("/v1/text/sentiment", json={"text": ""}, headers=good).status_code in (400, 422)
    deadline = time.monotonic() + 5
    while True:  # the writer hands records over in the background
        logs = client.get("/v1/logs", headers=good)
        if len(logs.json()["records"]) == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert logs.status_code == 200 and len(logs.json()["records"]) == 4
    for planted in PLANTED:
        assert planted not in logs.text
    return client.get("/metrics").text


def config_for(tmp_path: Path, logs: LogSettings) -> GatewayConfig:
    (tmp_path / "policy.yaml").write_text(POLICY)
    keys = [ApiKey(id="team-a", sha256=hash_key(CALLER_KEY), admin=True)]
    return GatewayConfig(policy=str(tmp_path / "policy.yaml"), keys=keys, logs=logs)


def assert_clean(where: str, data: bytes | str) -> None:
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    for planted in PLANTED:
        assert planted not in text, f"{planted!r} found in {where}"


@pytest.mark.parametrize("kind", ["jsonl", "sqlite", "postgres"])
async def test_no_planted_secret_anywhere(kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    schema = f"omnisense_secrets_{uuid.uuid4().hex[:10]}"
    if kind == "postgres":
        if not await pg_available():
            service_missing(f"no PostgreSQL at {PG_DSN}")
        logs = LogSettings(sink="postgres", dsn=PG_DSN, schema=schema)
    else:
        logs = LogSettings(sink=kind, path=str(tmp_path / f"requests.{kind}"))  # type: ignore[arg-type]
    import asyncio

    def serve() -> str:
        with TestClient(create_app(config_for(tmp_path, logs))) as client:
            return drive(client)

    try:
        metrics = await asyncio.to_thread(serve)
        rows = await pg_rows(schema) if kind == "postgres" else []
    finally:
        if kind == "postgres":
            await drop_schema(schema)
    assert_clean("/metrics", metrics)
    assert "omnisense_requests_total" in metrics
    assert_clean("log output", caplog.text)
    if kind == "postgres":
        assert len(rows) == 4
        assert_clean("postgres rows", "\n".join(r[0] for r in rows))
        assert "[REDACTED]" in "\n".join(r[0] for r in rows)
    else:
        check_files(tmp_path)


def check_files(tmp_path: Path) -> None:
    files = list(tmp_path.glob("requests.*"))  # the database, its -wal and -shm, or the .jsonl
    assert files
    for f in files:
        assert_clean(f.name, f.read_bytes())
    assert b"[REDACTED]" in b"".join(f.read_bytes() for f in files)


async def pg_rows(schema: str) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        return list(await conn.fetch(f'SELECT t::text FROM "{schema}".request_log t'))
    finally:
        await conn.close()


def test_payload_sampling_is_off_by_default_and_on_when_asked(tmp_path: Path) -> None:
    for rate, expect in ((0.0, None), (1.0, f"{PAYLOAD} fine")):
        sink = MemorySink()
        config = config_for(tmp_path, LogSettings(sink="none", payload_sample_rate=rate))
        with TestClient(create_app(config, sink=sink)) as client:
            headers = {"Authorization": f"Bearer {CALLER_KEY}"}
            client.post("/v1/text/sentiment", json={"text": f"{PAYLOAD} fine"}, headers=headers)
        (record,) = sink.records
        assert (record.payload.text if record.payload else None) == expect


def test_redactor_patterns() -> None:
    blocks = {
        "aws": {
            "kind": "aws",
            "region": "eu-west-1",
            "secret_access_key": "abcdefgh123",
            "nested": [{"password": "hunter22"}],
        }
    }
    assert secrets_in(blocks) == {"abcdefgh123", "hunter22"}
    r = Redactor(secrets_in(blocks))
    assert (
        r.text("failed with abcdefgh123 and hunter22 in eu-west-1")
        == "failed with [REDACTED] and [REDACTED] in eu-west-1"
    )
    assert r.text("Authorization: Bearer abc.def-ghi") == "Authorization: [REDACTED]"
    assert r.text("id AKIAABCDEFGHIJKLMNOP here") == "id [REDACTED] here"
    assert r.text("url?api_key=zzzzzzzzzz&x=1") == "url?api_key=[REDACTED]&x=1"
