"""Residency with real adapters against the vendors' wire fakes, which record every request.

``aws-us`` is the AWS adapter (region us-east-1) on moto and its JSON fake; ``azure-eu`` the
Azure adapter on the Azure fake, declared in westeurope (its endpoint is not Azure's, so
``region:`` says where it is). Each block's region comes from its configuration, as in
production; the fakes show which vendor received the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import aws_block
from contract_tests.conftest_azure import *  # noqa: F403
from contract_tests.conftest_azure import azure_block
from contract_tests.fakes.aws_json import AwsJsonFake
from contract_tests.fakes.azure import AzureFake
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from tests.routing_helpers import wait_for

Client = TestClient  # type: ignore[type-arg]
TEXT = {"text": "What a lovely day", "language": "en"}


@pytest.fixture
def gateway(
    tmp_path: Path, azure_fake: AzureFake, moto_url: str, aws_fake: AwsJsonFake, sink: MemorySink
) -> Iterator[Client]:
    policy = {
        "version": 1,
        "providers": {
            "aws-us": aws_block(moto_url, aws_fake.url, region="us-east-1", timeout_s=8),
            "azure-eu": azure_block(azure_fake.url, region="westeurope", timeout_s=8),
        },
        "routes": {"text.sentiment": {"candidates": ["aws-us", "azure-eu"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    azure_fake.reset()
    aws_fake.reset()
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as client:
        yield client
    azure_fake.reset()
    aws_fake.reset()


def comprehend_calls(aws_fake: AwsJsonFake) -> list[str]:
    return [t for t in aws_fake.targets() if t.startswith("Comprehend")]


def test_the_header_keeps_the_text_away_from_the_us_vendor(
    gateway: Client, azure_fake: AzureFake, aws_fake: AwsJsonFake, sink: MemorySink
) -> None:
    r = gateway.post("/v1/text/sentiment", json=TEXT, headers={"X-Omnisense-Residency": "eu"})
    assert r.status_code == 200, r.text
    assert r.json()["provider"] == "azure-eu"
    assert comprehend_calls(aws_fake) == []  # AWS (us-east-1) received nothing
    assert any("lovely" in c.body.decode() for c in azure_fake.calls("language"))
    rid = r.json()["request_id"]
    wait_for(lambda: any(x.request_id == rid for x in sink.records))
    record = next(x for x in sink.records if x.request_id == rid)
    assert (record.region, record.jurisdiction) == ("westeurope", "eu")

    # without the header the route's first candidate, in the US, serves: and the record says so
    r = gateway.post("/v1/text/sentiment", json=TEXT)
    assert r.status_code == 200 and r.json()["provider"] == "aws-us"
    assert comprehend_calls(aws_fake) == ["Comprehend_20171127.DetectSentiment"]
    rid = r.json()["request_id"]
    wait_for(lambda: any(x.request_id == rid for x in sink.records))
    record = next(x for x in sink.records if x.request_id == rid)
    assert (record.region, record.jurisdiction) == ("us-east-1", "us")


def test_explain_names_the_aws_region_it_excluded(gateway: Client, aws_fake: AwsJsonFake) -> None:
    r = gateway.post(
        "/v1/route/explain", json={"task": "text.sentiment", "text": "hi"}, headers={"X-Omnisense-Residency": "eu"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["excluded"] == [
        {
            "provider": "aws-us",
            "reason": "processes text.sentiment in us-east-1 (us), outside the residency required (eu)",
        }
    ]
    providers = {p["name"]: p for p in gateway.get("/v1/providers").json()["providers"]}
    assert (providers["aws-us"]["region"], providers["azure-eu"]["region"]) == ("us-east-1", "westeurope")
    assert comprehend_calls(aws_fake) == []
