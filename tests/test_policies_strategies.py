"""Each strategy, table-driven: candidates and facts in, the order of the plan out."""

from __future__ import annotations

from collections import Counter

import pytest

from omnisense.schema import Task, TextRequest
from policies.plan import LatencyStat, StaticFacts
from policies.strategies import sticky_draw
from tests.routing_helpers import TEXT, build, order

W90_10 = '  "*": {strategy: weighted, candidates: [{provider: a, weight: 90}, {provider: b, weight: 10}]}'
W0_1 = '  "*": {strategy: weighted, candidates: [{provider: a, weight: 0}, {provider: b, weight: 1}]}'
W50_50_STICKY = (
    '  "*": {strategy: weighted, sticky: true, candidates: [{provider: a, weight: 50}, {provider: b, weight: 50}]}'
)
PRICED = {"a": {"price_usd": 0.003}, "b": {"price_usd": 0.001}, "c": {"price_usd": 0.002}}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("priority", ["a", "b", "c"]), ("cheapest", ["b", "c", "a"]), ("round_robin", ["a", "b", "c"])],
)
def test_static_orders(strategy: str, expected: list[str]) -> None:
    planner, _ = build(PRICED, f'  "*": {{strategy: {strategy}, candidates: [a, b, c]}}')
    assert order(planner) == expected


@pytest.mark.parametrize(("tick", "expected"), [(0, "abc"), (1, "bca"), (2, "cab"), (3, "abc"), (301, "bca")])
def test_round_robin_rotates_by_tick(tick: int, expected: str) -> None:
    planner, _ = build(PRICED, '  "*": {strategy: round_robin, candidates: [a, b, c]}')
    assert "".join(order(planner, tick=tick)) == expected


def test_cheapest_uses_the_request_units_per_provider() -> None:
    # Both bill per character, but b has a 300-character minimum (like Comprehend): short texts are cheaper at a.
    planner, providers = build(
        {"a": {"price_usd": 0.0001}, "b": {"price_usd": 0.00005}}, '  "*": {strategy: cheapest, candidates: [a, b]}'
    )
    from omnisense.schema import Price, Unit

    info = providers["b"].info
    prices = dict(info.prices)
    prices[Task.TEXT_SENTIMENT] = Price(usd=0.00005, unit=Unit.CHARACTER, minimum=300)
    planner.infos["b"] = type(info)(name="b", kind="scripted", capabilities=info.capabilities, prices=prices)
    short, long = TextRequest(text="x" * 10), TextRequest(text="x" * 10_000)
    assert order(planner, Task.TEXT_SENTIMENT, short) == ["a", "b"]  # 0.001 vs 0.015
    assert order(planner, Task.TEXT_SENTIMENT, long) == ["b", "a"]  # 1.0 vs 0.5


def stat(ms: float, age: float = 1.0) -> LatencyStat:
    return LatencyStat(mean_ms=ms, samples=10, age_s=age)


@pytest.mark.parametrize(
    ("latencies", "explore", "expected"),
    [
        ({"a": 300, "b": 100, "c": 200}, False, ["b", "c", "a"]),
        ({"a": 300, "b": 100}, False, ["c", "b", "a"]),  # c unmeasured: measured first
        ({}, False, ["a", "b", "c"]),  # nothing known: file order
        ({"a": 300, "b": 100, "c": 200}, True, ["a", "b", "c"]),  # explore: the stalest (a, age 9 s) first
    ],
)
def test_fastest(latencies: dict[str, float], explore: bool, expected: list[str]) -> None:
    planner, _ = build(PRICED, '  "*": {strategy: fastest, candidates: [a, b, c]}')
    ages = {"a": 9.0, "b": 1.0, "c": 2.0}
    facts = StaticFacts(latencies={(p, Task.VISION_LABELS): stat(ms, ages[p]) for p, ms in latencies.items()})
    assert order(planner, facts=facts, explore=explore) == expected


@pytest.mark.parametrize(("draw", "first"), [(0.0, "a"), (0.89, "a"), (0.9, "b"), (0.99, "b"), (0.999999, "b")])
def test_weighted_first_pick_by_draw(draw: float, first: str) -> None:
    planner, _ = build(PRICED, W90_10)
    assert order(planner, draw=draw) == [first, "b" if first == "a" else "a"]


def test_weighted_distribution_follows_the_weights() -> None:
    planner, _ = build(
        PRICED,
        '  "*": {strategy: weighted, candidates: [{provider: a, weight: 70}, {provider: b, weight: 20}, '
        "{provider: c, weight: 10}]}",
    )
    firsts = Counter(order(planner, draw=i / 1000)[0] for i in range(1000))
    assert firsts == {"a": 700, "b": 200, "c": 100}


def test_weighted_sticky_per_key() -> None:
    planner, _ = build(PRICED, W50_50_STICKY)
    for key in ("team-a", "team-b", "team-c", "team-d"):
        picks = {order(planner, key_id=key, draw=d / 10)[0] for d in range(10)}
        assert len(picks) == 1  # the draw is ignored: the key decides
        assert picks == {"a" if sticky_draw(key, "vision.labels") < 0.5 else "b"}
    assert len({order(planner, key_id=f"k{i}")[0] for i in range(40)}) == 2  # keys spread over both


def test_zero_weight_is_a_fallback_only() -> None:
    planner, _ = build(PRICED, W0_1)
    assert {order(planner, draw=d / 10)[0] for d in range(10)} == {"b"}
    assert order(planner, draw=0.5) == ["b", "a"]


def test_text_default_request_is_served() -> None:
    planner, _ = build(PRICED, '  "*": {candidates: [a]}')
    assert order(planner, Task.TEXT_SENTIMENT, TEXT) == ["a"]


def test_route_fallback_comes_after_the_ranked_candidates() -> None:
    # c is free: `cheapest` over [a, b, c] would always serve it first; as a fallback it is tried last.
    priced = {**PRICED, "c": {"price_usd": 0.0}}
    planner, _ = build(priced, '  "*": {strategy: cheapest, candidates: [a, b], fallback: [c]}')
    assert order(planner) == ["b", "a", "c"]
    ranked, _ = build(priced, '  "*": {strategy: cheapest, candidates: [a, b, c]}')
    assert order(ranked) == ["c", "b", "a"]


def test_route_fallback_goes_through_the_guards() -> None:
    planner, _ = build(
        {**PRICED, "en_only": {"price_usd": 0.0, "languages": ["en"]}},
        '  "*": {strategy: cheapest, candidates: [a, b], fallback: [en_only]}',
    )
    spanish = TextRequest(text="Hola", language="es")
    plan = planner.plan(Task.TEXT_SENTIMENT, spanish)
    assert [s.provider for s in plan.steps] == ["b", "a"]
    assert any(d.provider == "en_only" and not d.kept for d in plan.decisions)
