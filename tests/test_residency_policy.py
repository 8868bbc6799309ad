"""``residency:`` in a policy file: ``omnisense policy check``, start-up and the eu-only preset."""

from __future__ import annotations

import io
import traceback
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from litestar.testing import TestClient

from gateway.cli import main
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings
from omnisense.schema import Task
from policies.check import check_file
from policies.loader import load_policy
from policies.planner import Planner
from policies.residency import Placements
from tests.routing_helpers import SCRIPTED

CREDENTIALS = {"AZURE_AI_ENDPOINT": "https://example.cognitiveservices.azure.com", "AZURE_AI_KEY": "k"}

US_ONLY = """\
version: 1
residency: eu
providers:
  aws-eu: {kind: aws, region: eu-central-1}
  aws-us: {kind: aws, region: us-east-1}
routes:
  "*": {candidates: [aws-eu, aws-us]}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


def test_policy_check_refuses_a_us_candidate_naming_it(tmp_path: Path) -> None:
    problems = check_file(write(tmp_path, US_ONLY), env={})
    assert len(problems) == 1, problems
    assert problems[0].startswith("routes.\"*\".candidates[1]: provider 'aws-us'")
    assert "us-east-1 (us)" in problems[0] and "outside residency eu" in problems[0]


def test_the_cli_prints_the_problem_and_fails(tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["policy", "check", write(tmp_path, US_ONLY)])
    assert code == 1
    assert "aws-us" in out.getvalue() and "us-east-1" in out.getvalue()


def test_start_up_refuses_the_policy(tmp_path: Path) -> None:
    config = GatewayConfig(policy=write(tmp_path, US_ONLY), logs=LogSettings(sink="none"), policy_watch_s=None)
    with pytest.raises(BaseException) as info, TestClient(create_app(config)):
        pass
    text = "".join(traceback.format_exception(info.value))
    assert "PolicyError" in text and "provider 'aws-us'" in text and "us-east-1 (us)" in text


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("{candidates: [aws-eu], shadow: [aws-us]}", "shadow[0]"),
        ("{candidates: [aws-eu], fallback: [aws-us]}", "fallback[0]"),
        ("{fanout: {providers: [aws-eu, aws-us]}}", "fanout.providers[1]"),
    ],
)
def test_every_way_a_route_sends_data_is_checked(tmp_path: Path, route: str, path: str) -> None:
    text = US_ONLY.replace('"*": {candidates: [aws-eu, aws-us]}', f'"text.sentiment": {route}')
    problems = check_file(write(tmp_path, text), env={})
    assert any(p.startswith(f"routes.\"text.sentiment\".{path}: provider 'aws-us'") for p in problems), problems


def test_a_budgets_then_is_checked(tmp_path: Path) -> None:
    text = US_ONLY.replace("[aws-eu, aws-us]", "[aws-eu]") + "budgets: [{key: k, usd_per_day: 1, then: aws-us}]\n"
    problems = check_file(write(tmp_path, text), env={})
    assert len(problems) == 1 and problems[0].startswith("budgets[0].then: provider 'aws-us'"), problems


def test_a_route_requirement_narrows_and_covers_only_its_tasks(tmp_path: Path) -> None:
    text = """\
version: 1
providers:
  aws-uk: {kind: aws, region: eu-west-2}
  aws-us: {kind: aws, region: us-east-1}
routes:
  "*": {candidates: [aws-us]}
  vision.*: {candidates: [aws-uk], residency: [uk, eu]}
"""
    assert check_file(write(tmp_path, text), env={}) == []
    problems = check_file(write(tmp_path, text.replace("[uk, eu]", "eu")), env={})
    assert len(problems) == 1 and "eu-west-2 (uk)" in problems[0] and "vision" in problems[0]


def test_an_unknown_jurisdiction_is_named_with_its_path(tmp_path: Path) -> None:
    problems = check_file(write(tmp_path, US_ONLY.replace("residency: eu", "residency: europe")), env={})
    assert problems == [problems[0]] and problems[0].startswith("residency: unknown jurisdiction 'europe'")


def test_global_and_undeclared_never_satisfy(tmp_path: Path) -> None:
    text = f"""\
version: 1
residency: eu
providers:
  gcp: {{kind: google}}
  local: {{kind: local}}
  other: {{kind: "{SCRIPTED}"}}
routes:
  vision.labels: {{candidates: [gcp, local, other]}}
"""
    problems = check_file(write(tmp_path, text), env={})
    assert [p.split(":")[0] for p in problems] == [
        'routes."vision.labels".candidates[0]',
        'routes."vision.labels".candidates[1]',
        'routes."vision.labels".candidates[2]',
    ]
    assert "global (any location)" in problems[0] and "gateway-host" in problems[1] and "undeclared" in problems[2]


def test_the_eu_only_preset_passes_and_keeps_every_route_in_the_eu() -> None:
    assert check_file("eu-only", env=CREDENTIALS) == []
    loaded = load_policy("eu-only", env=CREDENTIALS)
    assert loaded.policy.residency == "eu"
    planner = Planner(loaded, {})
    placements = Placements(loaded.policy)
    kinds = {b["kind"] for b in loaded.policy.providers.values()}
    assert {"aws", "google", "azure", "local"} <= kinds  # every cloud, and the local models
    for task, route in planner.routes.items():
        for cand in [*route.candidates, *route.fallback]:
            where = placements.of(cand.provider, task)
            assert where is not None and where.within(frozenset({"eu"})), (task, cand.provider, where)
    assert any(c.provider == "gcp-eu" for c in planner.routes[Task.VISION_LABELS].candidates)
    assert all(c.provider != "gcp-eu" for c in planner.routes[Task.TEXT_SENTIMENT].candidates)  # global NL API


@pytest.mark.parametrize(
    ("env", "provider", "region"),
    [
        ({"OMNISENSE_AWS_EU_REGION": "eu-west-2"}, "aws-eu", "eu-west-2 (uk)"),
        ({"OMNISENSE_AZURE_EU_REGION": "eastus"}, "azure-eu", "eastus (us)"),
        ({"OMNISENSE_LOCAL_REGION": "us"}, "local", "us (us)"),
    ],
)
def test_the_eu_only_preset_refuses_a_region_outside_the_eu(env: dict[str, str], provider: str, region: str) -> None:
    problems = check_file("eu-only", env={**CREDENTIALS, **env})
    assert problems and all(f"provider '{provider}'" in p and region in p for p in problems), problems


def test_a_reload_that_would_leave_the_eu_is_refused_and_the_last_good_policy_serves(tmp_path: Path) -> None:
    from gateway.logs import MemorySink
    from tests.routing_helpers import policy_text, wait_for

    providers = {"eu": {"region": "eu-central-1"}, "us": {"region": "us-east-1"}}
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(providers, '  "*": {candidates: [eu]}', extra="residency: eu"))
    config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=0.05)
    with TestClient(create_app(config, sink=MemorySink())) as client:
        path.write_text(policy_text(providers, '  "*": {candidates: [us, eu]}', extra="residency: eu"))
        wait_for(lambda: client.get("/v1/policy").json()["reload"]["refused"] == 1)
        status = client.get("/v1/policy").json()
        [problem] = status["reload"]["last_error"]
        assert problem.startswith("routes.\"*\".candidates[0]: provider 'us'") and "us-east-1 (us)" in problem
        assert status["routes"]["text.sentiment"]["residency"] == ["eu"]
        assert client.post("/v1/text/sentiment", json={"text": "fine"}).json()["provider"] == "eu"
