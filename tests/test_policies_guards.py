"""The guards around every strategy, table-driven: what is dropped, why, and what is left."""

from __future__ import annotations

from typing import Any

import pytest

from omnisense.schema import ImageRequest, Media, Task, TextRequest
from policies.plan import NoFacts, RequestMeta, StaticFacts
from tests.routing_helpers import IMAGE, build

PROVIDERS: dict[str, dict[str, Any]] = {
    "a": {"price_usd": 0.003, "languages": "[en]"},
    "b": {"price_usd": 0.001, "tasks": "[vision.labels, text.sentiment]"},
    "c": {"price_usd": 0.002},
}
ROUTES = '  "*": {candidates: [a, b, c]}'
L = Task.VISION_LABELS


def plan(request: Any = IMAGE, task: Task = L, facts: Any = None, **meta: Any) -> Any:
    planner, _ = build(PROVIDERS, ROUTES, extra="budgets: [{key: k, usd_per_day: 1, then: c}]")
    return planner.plan(task, request, RequestMeta(**meta), facts or NoFacts())


@pytest.mark.parametrize(
    ("task", "request_", "kept", "dropped"),
    [
        (L, IMAGE, "abc", {}),
        (Task.VISION_OCR, IMAGE, "ac", {"b": "does not offer vision.ocr"}),
        (Task.TEXT_SENTIMENT, TextRequest(text="hola", language="es"), "bc", {"a": "does not support language 'es'"}),
        (Task.TEXT_SENTIMENT, TextRequest(text="hi", language="en-GB"), "abc", {}),
    ],
)
def test_capability_filter(task: Task, request_: Any, kept: str, dropped: dict[str, str]) -> None:
    p = plan(request_, task)
    assert "".join(s.provider for s in p.steps) == kept
    reasons = {d.provider: d.reason for d in p.decisions if not d.kept}
    assert set(reasons) == set(dropped)
    for name, why in dropped.items():
        assert reasons[name].startswith(why)


@pytest.mark.parametrize(("cap", "kept"), [(None, "abc"), (0.003, "abc"), (0.0025, "bc"), (0.0015, "b"), (0.0, "")])
def test_max_cost_usd(cap: float | None, kept: str) -> None:
    p = plan(max_cost_usd=cap)
    assert "".join(s.provider for s in p.steps) == kept
    assert not p.budget_rejected


@pytest.mark.parametrize(
    ("left", "then", "kept", "rejected"),
    [
        (None, "reject", "abc", False),
        (1.0, "reject", "abc", False),
        (0.003, "reject", "abc", False),  # exactly enough for the dearest one
        (0.0029, "reject", "bc", False),  # a would go over: the cheaper ones serve
        (0.0009, "reject", "", True),
        (0.0, "reject", "", True),
        (0.0, "c", "c", False),  # over budget: switch to the budget's 'then'
        (-5.0, "b", "b", False),
    ],
)
def test_budget(left: float | None, then: str, kept: str, rejected: bool) -> None:
    p = plan(budget_left_usd=left, budget_then=then)
    assert "".join(s.provider for s in p.steps) == kept
    assert p.budget_rejected is rejected


def test_budget_then_must_be_capable() -> None:
    p = plan(IMAGE, Task.VISION_OCR, budget_left_usd=0.0, budget_then="b")
    assert p.steps == [] and p.budget_rejected


@pytest.mark.parametrize(
    ("circuits", "kept", "last_resort"),
    [
        ({}, "abc", False),
        ({"a": "open"}, "bc", False),
        ({"a": "half_open"}, "abc", False),  # half-open: kept for its trial call
        ({"a": "open", "b": "open", "c": "open"}, "abc", True),  # nothing else: try them anyway
    ],
)
def test_circuit_guard(circuits: dict[str, Any], kept: str, last_resort: bool) -> None:
    facts = StaticFacts(circuits={(p, L): s for p, s in circuits.items()})
    p = plan(facts=facts)
    assert "".join(s.provider for s in p.steps) == kept
    assert all(s.last_resort is last_resort for s in p.steps)


def test_unhealthy_providers_go_last() -> None:
    p = plan(facts=StaticFacts(unhealthy=frozenset({"a"})))
    assert [s.provider for s in p.steps] == ["b", "c", "a"]
    assert "last probe failed" in p.decisions[2].reason


def test_pinned_provider_skips_the_strategy_not_the_guards() -> None:
    assert [s.provider for s in plan(pinned="c").steps] == ["c"]
    p = plan(ImageRequest(image=Media(data=b"x", format="png")), Task.VISION_OCR, pinned="b")
    assert p.steps == [] and p.decisions[0].reason == "does not offer vision.ocr"
    assert plan(pinned="nobody").decisions[0].reason == "not configured"


def test_every_decision_explains_itself() -> None:
    p = plan(max_cost_usd=0.0025)
    assert [str(d) for d in p.decisions] == [
        "b: kept #1: file order",
        "c: kept #2: file order",
        "a: costs $0.003000 > max_cost_usd $0.002500",
    ]


def test_steps_carry_timeouts_from_candidate_route_provider_defaults() -> None:
    planner, _ = build(
        {"a": {}, "b": {}, "c": {}},
        '  "vision.*": {candidates: [{provider: a, timeout_s: 0.5}, b]}\n  "text.*": {timeout_s: 2, candidates: [c]}',
        defaults="{timeout_s: 7}",
    )
    vision = planner.plan(L, IMAGE)
    assert [(s.provider, s.timeout_s) for s in vision.steps] == [("a", 0.5), ("b", 7.0)]
    text = planner.plan(Task.TEXT_SENTIMENT, TextRequest(text="hi"))
    assert [(s.provider, s.timeout_s) for s in text.steps] == [("c", 2.0)]
