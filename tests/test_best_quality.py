"""``strategy: best_quality``, table-driven: quality figures in (a QualityBook as the facts), order out."""

from __future__ import annotations

from typing import Any

import pytest

from omnisense.schema import Task, TextRequest
from policies.plan import Plan, RequestMeta, StaticFacts
from policies.planner import Planner
from policies.quality import QualityBook
from tests.routing_helpers import build

T = Task.TEXT_SENTIMENT
PRICED = {"a": {"price_usd": 0.0001}, "b": {"price_usd": 0.0002}, "c": {"price_usd": 0.01}}
EN, ES, FR = (TextRequest(text="What a lovely day", language=lang) for lang in ("en", "es", "fr"))
UNDECLARED = TextRequest(text="What a lovely day")


def planner(settings: str = "min_samples: 10, explore: 0", candidates: str = "[c, a, b]") -> Planner:
    route = f'  "*": {{strategy: best_quality, best_quality: {{{settings}}}, candidates: {candidates}}}'
    return build(PRICED, route)[0]


def book(*rows: tuple[str, str, str, float, int]) -> QualityBook:
    """(provider, language, source, mean score, samples) rows for text.sentiment."""
    out = QualityBook()
    for provider, language, source, score, n in rows:
        out.add(T.value, language, provider, source, score * n, samples=n)
    return out


# a right only in English, b only in Spanish, c in both (and expensive)
BY_LANGUAGE = book(
    ("a", "en", "reference", 0.98, 20), ("a", "es", "reference", 0.1, 20),
    ("b", "en", "reference", 0.2, 20), ("b", "es", "reference", 0.97, 20),
    ("c", "en", "reference", 0.99, 20), ("c", "es", "reference", 0.99, 20),
)  # fmt: skip


def plan(p: Planner, request: TextRequest, quality: QualityBook, **meta: Any) -> Plan:
    return p.plan(T, request, RequestMeta(**meta), StaticFacts(qualities=quality))


def order(p: Planner, request: TextRequest, quality: QualityBook, **meta: Any) -> list[str]:
    return [s.provider for s in plan(p, request, quality, **meta).steps]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (EN, ["a", "c", "b"]),  # a and c equally right in English: a is cheaper
        (ES, ["b", "c", "a"]),
        (FR, ["c", "a", "b"]),  # no evidence for French: the route's order
        (UNDECLARED, ["c", "b", "a"]),  # every language together: c 0.99, b 0.585, a 0.54
    ],
)
def test_the_cheapest_of_the_right_ones_per_language(request_: TextRequest, expected: list[str]) -> None:
    assert order(planner(), request_, BY_LANGUAGE) == expected


def test_the_reasons_name_the_figures() -> None:
    decisions = [d.reason for d in plan(planner(), EN, BY_LANGUAGE).decisions]
    assert decisions[0].startswith("#1: reference 0.980 over 20 samples (en), cost $0.001700")
    assert "within 0.02 of the best (0.990): cheapest first" in decisions[0]
    assert decisions[2].startswith("#3: reference 0.200 over 20 samples (en)") and "below the best" in decisions[2]
    fr = [d.reason for d in plan(planner(), FR, BY_LANGUAGE).decisions]
    assert fr[0] == "#1: too little evidence (0 samples, min_samples 10): route order, cost $0.170000"


def test_reference_first_when_it_has_min_samples_else_agreement() -> None:
    quality = book(
        ("a", "en", "agreement", 0.9, 50), ("a", "en", "reference", 0.5, 12),
        ("b", "en", "agreement", 0.8, 50), ("b", "en", "reference", 0.95, 3),  # too few references: agreement
    )  # fmt: skip
    reasons = [d.reason for d in plan(planner(candidates="[a, b]"), EN, quality).decisions]
    assert reasons[0].startswith("#1: agreement 0.800 over 50 samples (en)")  # b: 0.8 beats a's reference 0.5
    assert reasons[1].startswith("#2: reference 0.500 over 12 samples (en)")


def test_too_little_evidence_follows_the_measured_in_route_order() -> None:
    quality = book(("b", "en", "reference", 0.6, 10), ("a", "en", "reference", 1.0, 9))
    assert order(planner(), EN, quality) == ["b", "c", "a"]  # a has 9 < 10 samples: after b, in route order
    assert order(planner(), EN, QualityBook()) == ["c", "a", "b"]  # nothing measured: the route's order


def test_tolerance_and_cost_weight() -> None:
    quality = book(("a", "en", "reference", 0.90, 20), ("c", "en", "reference", 0.95, 20))
    assert order(planner(candidates="[c, a]"), EN, quality) == ["c", "a"]  # 0.05 apart: c is better
    assert order(planner("min_samples: 10, explore: 0, tolerance: 0.06", "[c, a]"), EN, quality) == ["a", "c"]
    # c costs $0.17 for this request: with cost_weight 1, c's figure is 0.95 - 0.17 = 0.78 < a's 0.8983
    assert order(planner("min_samples: 10, explore: 0, cost_weight: 1", "[c, a]"), EN, quality) == ["a", "c"]


def test_a_cost_cap_puts_the_expensive_last() -> None:
    p = planner("min_samples: 10, explore: 0, max_cost_usd: 0.01")
    reasons = [d.reason for d in plan(p, ES, BY_LANGUAGE).decisions]
    assert order(p, ES, BY_LANGUAGE) == ["b", "a", "c"]
    assert reasons[2] == "#3: costs $0.170000 > best_quality.max_cost_usd $0.010000: after the others"


def test_exploring_puts_the_least_measured_first() -> None:
    quality = book(
        ("a", "en", "reference", 1.0, 40), ("b", "en", "reference", 0.5, 25), ("c", "en", "agreement", 1, 30)
    )
    assert order(planner(), EN, quality) == ["a", "c", "b"]
    explored = plan(planner(), EN, quality, explore=True)
    assert [s.provider for s in explored.steps] == ["b", "a", "c"]
    assert explored.decisions[0].reason.startswith("#1: exploring (fewest samples): reference 0.500")
    assert order(planner(), FR, quality, explore=True) == ["c", "a", "b"]  # nothing measured: no exploring


def test_the_explore_share_is_the_strategys() -> None:
    p = planner("explore: 0.3")
    assert p.routes[T].explore_share == 0.3
    fastest = build(PRICED, '  "*": {strategy: fastest, fastest: {explore: 0.2}, candidates: [a, b]}')[0]
    assert fastest.routes[T].explore_share == 0.2


@pytest.mark.parametrize("bad", ["min_samples: 0", "tolerance: -1", "explore: 2", "cost_weight: -1"])
def test_bad_settings_are_refused(bad: str) -> None:
    with pytest.raises(Exception, match=r"min_samples|explore"):
        planner(bad)
