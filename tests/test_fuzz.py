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
