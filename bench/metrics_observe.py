"""CPU per ``Metrics.observe(record)``: the request path's metrics, before and after issue #19.

    python bench/metrics_observe.py [--calls 100000] [--rounds 7] [--multiprocess]

"old" is the request path as it was, rebuilt here from prometheus_client objects (label
children cached once, as ``gateway.metrics`` had them; the output-drift window as it was);
"new" is ``gateway.metrics.Metrics``. Both first observe the same records and must expose
the same request families (creation times aside), then each observes one record
``--calls`` times per round, old and new in turn; the table gives the process's CPU
microseconds per call, best and median round. The garbage collector is tuned as
``omnisense serve`` tunes it (``gateway.server.gc_tuning``).

``--multiprocess`` runs "old" in prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``
set before prometheus_client is imported: every value lives in a per-process mmap file), the
library's way of adding up the workers of ``serve --workers N``; ``gateway.metric_share`` says
why the gateway does not use it.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if "--multiprocess" in sys.argv:  # before prometheus_client is imported, which reads it then
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="omnisense-bench-metrics-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], True)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # ``adapters`` is the package, not bench/adapters.py

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from gateway.logs.drift import DriftMonitor, Sample, _Windows
from gateway.logs.record import OutputSummary, RequestLog
from gateway.metrics import (
    CLOSED_ANSWER_TASKS,
    CONFIDENCE_BUCKETS,
    ITEM_BUCKETS,
    LATENCY_BUCKETS,
    MAX_TOP_VALUES,
    OVERHEAD_BUCKETS,
    SCORE_BUCKETS,
    Metrics,
)
from gateway.server.gc_tuning import tune_after_startup
from omnisense.schema import Attempt

OK = RequestLog(
    request_id="r1", time=0, task="text.sentiment", status="ok", http_status=200, latency_ms=182.4,
    provider="aws", overhead_ms=0.31, cost_usd=0.0001, attempts=[Attempt(provider="aws", outcome="ok", latency_ms=182)],
    output=OutputSummary(top="positive", confidence=0.93),
)  # fmt: skip
ERROR = RequestLog(
    request_id="r2", time=0, task="text.sentiment", status="error", http_status=503, latency_ms=2_051.0,
    provider=None, overhead_ms=0.44, error_type="UpstreamUnavailable", attempts=[
        Attempt(provider="aws", outcome="error", latency_ms=1_000, error_type="UpstreamUnavailable"),
        Attempt(provider="gcp", outcome="timeout", latency_ms=1_050, error_type="UpstreamTimeout"),
    ],
)  # fmt: skip
RECORDS = {"ok, 1 attempt": OK, "error, 2 attempts": ERROR}


class OldDrift(DriftMonitor):
    """``DriftMonitor.observe`` as it was: the rotation check called on every sample."""

    def observe(self, provider: str, task: str, sample: Sample) -> None:
        now = self.clock()
        w = self._windows.get((provider, task))
        if w is None:
            w = self._windows[(provider, task)] = _Windows(started=now)
        self._rotate(w, now)
        if len(w.current) < self.max_samples:
            w.current.append(sample)


class _Children:
    def __init__(self, metric: Counter | Histogram) -> None:
        self.metric, self._cache = metric, dict[tuple[str, ...], Counter | Histogram]()

    def __call__(self, *values: str) -> Counter | Histogram:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self.metric.labels(*values)
        return child


class OldMetrics:
    """The request path on prometheus_client's Counter and Histogram, as ``gateway.metrics`` had it."""

    # fmt: off
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        tp = ["task", "provider"]
        self._requests = _Children(Counter("omnisense_requests", "Requests served, by outcome",
                                           [*tp, "status", "code"], registry=r))
        self._latency = _Children(Histogram("omnisense_request_latency_seconds", "End-to-end request latency", tp,
                                            buckets=LATENCY_BUCKETS, registry=r))
        self._overhead = _Children(Histogram("omnisense_gateway_overhead_seconds",
                                             "Request latency minus time spent waiting on providers", ["task"],
                                             buckets=OVERHEAD_BUCKETS, registry=r))
        self._cost = _Children(Counter("omnisense_cost_usd", "Cost of served requests, USD", tp, registry=r))
        self._attempts = _Children(Counter("omnisense_provider_attempts", "Provider attempts, by outcome",
                                           ["provider", "outcome", "error"], registry=r))
        self._top = _Children(Counter("omnisense_output_top", "Top answers (closed answer sets only)",
                                      [*tp, "top"], registry=r))
        self._confidence = _Children(Histogram("omnisense_output_confidence", "Confidence of the top answer", tp,
                                               buckets=CONFIDENCE_BUCKETS, registry=r))
        self._items = _Children(Histogram("omnisense_output_items", "Items per answer (labels, entities, words...)",
                                          tp, buckets=ITEM_BUCKETS, registry=r))
        labels = ["task", "served", "shadow"]
        self.shadow_runs = Counter("omnisense_shadow_runs", "Shadow calls, by outcome", [*labels, "outcome"],
                                   registry=r)
        self.shadow_compared = Counter("omnisense_shadow_compared",
                                       "Shadow answers compared with the served one, by agreement",
                                       [*labels, "agrees"], registry=r)
        self.shadow_score = Histogram("omnisense_shadow_score",
                                      "The task's agreement metric per compared shadow answer (wer: error rate)",
                                      [*labels, "metric"], buckets=SCORE_BUCKETS, registry=r)
        self.drift = OldDrift()
        self._tops: dict[tuple[str, str], set[str]] = {}
    # fmt: on

    def observe(self, record: RequestLog) -> None:
        task, provider = record.task, record.provider or "-"
        self._requests(task, provider, record.status, str(record.http_status)).inc()  # type: ignore[union-attr]
        self._latency(task, provider).observe(record.latency_ms / 1000.0)  # type: ignore[union-attr]
        if record.overhead_ms is not None:
            self._overhead(task).observe(record.overhead_ms / 1000.0)  # type: ignore[union-attr]
        if record.cost_usd:
            self._cost(task, provider).inc(record.cost_usd)  # type: ignore[union-attr]
        for a in record.attempts:
            self._attempts(a.provider, a.outcome, a.error_type or "").inc()  # type: ignore[union-attr]
        served = record.provider or "-"
        for s in record.shadow:
            self.shadow_runs.labels(record.task, served, s.provider, s.outcome).inc()
            if s.agrees is not None:
                self.shadow_compared.labels(record.task, served, s.provider, "true" if s.agrees else "false").inc()
            if s.score is not None and s.metric is not None:
                self.shadow_score.labels(record.task, served, s.provider, s.metric).observe(s.score)
        out = record.output
        if out is None or record.status != "ok":
            return
        if out.top is not None and task in CLOSED_ANSWER_TASKS:
            self._top(task, provider, self._capped(task, provider, out.top)).inc()  # type: ignore[union-attr]
        if out.confidence is not None:
            self._confidence(task, provider).observe(out.confidence)  # type: ignore[union-attr]
        if out.items is not None:
            self._items(task, provider).observe(out.items)  # type: ignore[union-attr]
        self.drift.observe(provider, task, Sample(out.top, out.confidence, out.items))

    def _capped(self, task: str, provider: str, top: str) -> str:
        seen = self._tops.setdefault((task, provider), set())
        if top in seen:
            return top
        if len(seen) >= MAX_TOP_VALUES:
            return "other"
        seen.add(top)
        return top

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), ""


def _request_families(body: bytes) -> str:
    text = body.decode()
    end = text.find("# HELP omnisense_output_drift_psi ")
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 <time>", text if end < 0 else text[:end])


def same_exposition() -> None:
    old, new = OldMetrics(), Metrics()
    for record in [*RECORDS.values()] * 3:
        old.observe(record)
        new.observe(record)
    if _request_families(old.render()[0]) != _request_families(new.render()[0]):
        raise SystemExit("old and new expose different request metrics")


def per_call_us(
    observers: list[Callable[[RequestLog], None]], record: RequestLog, calls: int, rounds: int
) -> list[list[float]]:
    """CPU time (this process's, so that other work on the machine counts less) per call, per round:
    the observers take turns within each round, so that they share the machine's moods."""
    times: list[list[float]] = [[] for _ in observers]
    for observe in observers:
        observe(record)  # the label children exist from the first request on
    for _ in range(rounds):
        for observe, out in zip(observers, times, strict=True):
            start = time.process_time()
            for _ in range(calls):
                observe(record)
            out.append((time.process_time() - start) / calls * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--multiprocess", action="store_true", help="old: prometheus_client's multiprocess mode")
    args = parser.parse_args()
    if not args.multiprocess:  # the multiprocess exposition has no _created series to compare
        same_exposition()
    tune_after_startup()
    print(f"CPU µs per observe(), best (median) of {args.rounds} rounds of {args.calls:,} calls\n")
    old_name = "old (multiproc)" if args.multiprocess else "old"
    print(f"{'record':<20} {old_name:>15} {'new':>14} {'speed-up':>9}")
    for name, record in RECORDS.items():
        old, new = per_call_us([OldMetrics().observe, Metrics().observe], record, args.calls, args.rounds)
        cells = [f"{min(t):.2f} ({statistics.median(t):.2f})" for t in (old, new)]
        print(f"{name:<20} {cells[0]:>15} {cells[1]:>14} {min(old) / min(new):>8.1f}x")


if __name__ == "__main__":
    main()
