"""Schemathesis against the served OpenAPI document: every operation, positive and negative data.

A bounded number of examples per operation (``OMNISENSE_FUZZ_EXAMPLES``, default 25) keeps
this inside the CI budget. The build fails on any 5xx, any status code the document does
not list for the operation, an answer whose body or Content-Type does not match the
document, and schema-invalid data the gateway accepts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from gateway.logs import MemorySink
from gateway.server.openapi import openapi_document
from tests.conftest import POLICY, LiveServer, make_config

EXAMPLES = int(os.environ.get("OMNISENSE_FUZZ_EXAMPLES", "25"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_text(POLICY)
    with LiveServer(make_config(path), MemorySink()) as server:
        yield server


def test_the_fuzzed_document_is_the_served_one(gateway: LiveServer) -> None:
    import httpx

    assert httpx.get(f"{gateway.url}/schema/openapi.json").json() == openapi_document()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_every_operation(case: schemathesis.Case, gateway: LiveServer) -> None:
    case.call_and_validate(base_url=gateway.url, checks=CHECKS)


# -- the embedded default: the task operations on the real local model server -----------------------------------------

LOCAL_EXAMPLES = int(os.environ.get("OMNISENSE_FUZZ_LOCAL_EXAMPLES", "8"))
tasks_schema = schema.include(path_regex=r"^/v1/(vision|text|speech)/")


@pytest.fixture(scope="module")
def default_gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The default policy (policies/presets/local.yaml), its model server the session's."""
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    path: Path = tmp_path_factory.mktemp("fuzz-local") / "policy.yaml"
    path.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    with LiveServer(make_config(path), MemorySink()) as server:
        yield server


@tasks_schema.parametrize()
@settings(
    max_examples=LOCAL_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_task_on_the_default_policy(case: schemathesis.Case, default_gateway: LiveServer) -> None:
    """No 5xx from any task on the embedded default (vision.objects included: it answers the
    classes it has, and 422 for others), and every answer as the document says."""
    case.call_and_validate(base_url=default_gateway.url, checks=CHECKS, timeout=120)
