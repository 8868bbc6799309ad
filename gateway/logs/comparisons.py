"""Shadow agreement, aggregated per (task, served provider, shadow provider).

Every request with shadows leaves its ShadowResults in its one RequestLog record, each
with the task's agreement metric (``gateway.agreement``). ``aggregate`` folds records
into one row per (task, served, shadow): how many shadow calls, how many failed, how
many were compared, the share that agreed, the mean of the metric, and the shadow's own
p50/p95 latency. ``/v1/stats`` (``comparisons``), ``omnisense compare`` and the
Prometheus metrics (``omnisense_shadow_*``) all report these figures.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from gateway.logs.percentile import percentile
from gateway.logs.record import RequestLog, ShadowResult


class ComparisonRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    task: str
    served: str
    shadow: str
    shadowed: int  # shadow calls
    errors: int  # shadow calls that failed or timed out
    compared: int  # answers compared by a metric
    agreed: int
    agreement: float | None = None  # agreed / compared
    metric: str | None = None  # label | overlap | iou | wer | chars
    mean_score: float | None = None  # mean of the metric (for wer: the mean word error rate)
    shadow_p50_ms: float | None = None
    shadow_p95_ms: float | None = None


def aggregate(records: Iterable[RequestLog], task: str | None = None) -> list[ComparisonRow]:
    groups: dict[tuple[str, str, str], list[ShadowResult]] = {}
    for record in records:
        if not record.shadow or record.status != "ok" or (task is not None and record.task != task):
            continue
        for shadow in record.shadow:
            groups.setdefault((record.task, record.provider or "-", shadow.provider), []).append(shadow)
    return [_row(key, results) for key, results in sorted(groups.items())]


def _row(key: tuple[str, str, str], results: list[ShadowResult]) -> ComparisonRow:
    scored = [r for r in results if r.score is not None]
    compared = [r for r in results if r.agrees is not None]
    agreed = sum(1 for r in compared if r.agrees)
    latencies = sorted(r.latency_ms for r in results if r.outcome == "ok")
    metrics = {r.metric for r in scored}
    return ComparisonRow(
        task=key[0],
        served=key[1],
        shadow=key[2],
        shadowed=len(results),
        errors=sum(1 for r in results if r.outcome != "ok"),
        compared=len(compared),
        agreed=agreed,
        agreement=round(agreed / len(compared), 4) if compared else None,
        metric=metrics.pop() if len(metrics) == 1 else None,
        mean_score=round(sum(r.score or 0.0 for r in scored) / len(scored), 4) if scored else None,
        shadow_p50_ms=round(percentile(latencies, 0.5), 3) if latencies else None,
        shadow_p95_ms=round(percentile(latencies, 0.95), 3) if latencies else None,
    )
