"""Policy files: interpolation, errors with their paths, and every preset passing the check."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from adapters import registry
from omnisense.schema import Task
from policies.check import check_file
from policies.loader import PolicyError, interpolate, load_policy, parse_policy
from policies.planner import Planner

PRESETS = sorted(p.stem for p in Path(str(resources.files("policies") / "presets")).glob("*.yaml"))


def test_the_required_presets_exist() -> None:
    assert {"local", "cost-first", "high-availability", "aws", "eu-only", "google", "azure", "multi-cloud"} <= set(
        PRESETS
    )


# Presets that name a key take it from the environment (${ENV}); nothing else is needed.
CREDENTIALS = {"AZURE_AI_ENDPOINT": "https://example.cognitiveservices.azure.com", "AZURE_AI_KEY": "k"}


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_passes_the_check(name: str) -> None:
    assert check_file(name, env=CREDENTIALS) == []
    loaded = load_policy(name, env=CREDENTIALS)
    text = Path(loaded.source).read_text()
    assert text.startswith("#") and text.count("\n#") >= 3  # documented at its top
    assert {b["kind"] for b in loaded.policy.providers.values()} <= set(registry.BUILTIN)  # only kinds that exist
    assert Planner(loaded, {}).routes  # every preset routes something


def test_a_preset_without_its_credentials_names_the_variable() -> None:
    problems = check_file("azure", env={})
    assert any("AZURE_AI_KEY is not set" in p for p in problems), problems


def test_local_is_the_embedded_default() -> None:
    loaded = load_policy("local", env={})
    assert list(loaded.policy.providers) == ["local"] and loaded.policy.providers["local"]["kind"] == "local"
    assert set(Planner(loaded, {}).routes) == set(Task)  # every task


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${REGION}", {"REGION": "eu-west-1"}, "eu-west-1"),
        ("${REGION:-us-east-1}", {}, "us-east-1"),
        ("${REGION:-us-east-1}", {"REGION": "eu-west-1"}, "eu-west-1"),
        ("${T:-5}", {}, 5),  # a whole-value substitution is typed
        ("${T:-2.5}", {}, 2.5),
        ("https://${HOST}:8080/v1", {"HOST": "h"}, "https://h:8080/v1"),  # inside a string: text
    ],
)
def test_interpolation(value: str, env: dict[str, str], expected: object) -> None:
    problems: list[str] = []
    assert interpolate({"p": {"x": value}}, env, "providers", problems) == {"p": {"x": expected}}
    assert problems == []


BAD = """
version: 1
providers:
  aws: {kind: aws, key: "${MISSING_KEY}"}
routes:
  "*": {candidates: [aws]}
"""


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (BAD, ["providers.aws.key: environment variable MISSING_KEY is not set"]),
        (
            'version: 1\nproviders: {aws: {kind: aws}, x: {kind: gcp}}\nroutes: {"vision.*": {candidates: [aws, gpc]}, '
            '"vision.nope": {candidates: [aws]}}\nbudgets: [{key: a, then: nobody}]',
            [
                f"providers.x.kind: unknown provider kind 'gcp' (known: {', '.join(registry.known_kinds())})",
                "routes.\"vision.*\".candidates[1]: unknown provider 'gpc'",
                "routes.\"vision.nope\": matches no task (tasks look like 'vision.labels' or 'vision.*')",
                "budgets[0].then: unknown provider 'nobody' (or 'reject')",
            ],
        ),
        (
            'version: 1\nproviders: {aws: {kind: aws}}\nroutes: {"text.*": {candidates: [aws], strategy: fastest2}}',
            ["routes.\"text.*\".strategy: Invalid enum value 'fastest2'"],
        ),
        (
            "version: 1\nproviders: {aws: {kind: aws}}\ndefaults: {circuit: {failure_rate: 2}}\nroutes: {}",
            ["defaults.circuit: failure_rate must be in (0, 1]"],
        ),
    ],
)
def test_every_problem_is_reported_with_its_path(text: str, problems: list[str]) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, env={})
    assert info.value.problems == problems


def test_check_file_reports_unreadable_files(tmp_path: Path) -> None:
    assert check_file(str(tmp_path / "nope.yaml"))[0].startswith("cannot read")
