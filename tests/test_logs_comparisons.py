"""Every LogStore finds the records that ran shadows, and the agreement rows add up."""

from __future__ import annotations

from gateway.logs.query import LogQuery, LogStore, read_comparisons
from gateway.logs.record import PayloadSample, ShadowResult
from tests.test_logs_stores import NOW, rec, store, write

__all__ = ["store"]  # the parametrized store fixture: memory, jsonl, sqlite, postgres


def shadow(provider: str, agrees: bool, score: float, outcome: str = "ok") -> ShadowResult:
    if outcome != "ok":
        return ShadowResult(provider=provider, outcome=outcome, latency_ms=5.0, error_type="UpstreamTimeout")
    return ShadowResult(provider=provider, outcome="ok", latency_ms=10.0, agrees=agrees, metric="label", score=score)


async def test_shadowed_filter_and_comparison_rows(store: LogStore) -> None:
    # A payload whose text looks like a shadow key must not match: inside a JSON string
    # every quote is escaped.
    sneaky = PayloadSample(text='x,"shadow":[{"provider":"v2"}]')
    records = [
        rec(1, shadow=[shadow("v2", True, 1.0)]),
        rec(2, shadow=[shadow("v2", False, 0.0)]),
        rec(3, shadow=[shadow("v2", True, 1.0), shadow("v3", False, 0.0, outcome="timeout")]),
        rec(4, payload=sneaky),
        rec(5, task="vision.labels", shadow=[shadow("v2", True, 1.0)]),
    ]
    await write(store, records)
    page = await store.query(LogQuery(shadowed=True))
    assert [r.request_id for r in page.records] == ["r0005", "r0003", "r0002", "r0001"]
    page = await store.query(LogQuery(shadowed=False))
    assert [r.request_id for r in page.records] == ["r0004"]

    rows = await read_comparisons(store, NOW - 2000, NOW, task="text.sentiment")
    assert [(r.served, r.shadow) for r in rows] == [("aws", "v2"), ("aws", "v3")]
    v2, v3 = rows
    assert (v2.shadowed, v2.compared, v2.agreed, v2.agreement, v2.mean_score) == (3, 3, 2, 0.6667, 0.6667)
    assert (v3.shadowed, v3.errors, v3.compared, v3.agreement) == (1, 1, 0, None)
    every = await read_comparisons(store, NOW - 2000, NOW)
    assert {r.task for r in every} == {"text.sentiment", "vision.labels"}
