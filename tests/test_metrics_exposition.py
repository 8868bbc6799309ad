"""The request metrics exactly as Prometheus scrapes them, pinned against golden files.

What dashboards depend on: metric names, HELP texts, types, label names and values, bucket
bounds, the ``_bucket``/``_count``/``_sum`` series, counters' ``_total`` and the ``_created``
gauges that prometheus_client has always emitted beside them; and the order of it all.
Timing-dependent values (latency, overhead, creation times) are masked in the golden files
and checked for sense here instead: cumulative buckets, ``+Inf`` equal to ``_count``,
creation times within the test.

A golden file that does not exist yet is written from the current output and the test
fails: read it, and commit it when it says what a user should see.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import prometheus_client
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from contract_tests.scripted_provider import Fail
from gateway.logs import MemorySink, OutputSummary, RequestLog, ShadowResult
from gateway.metric_families import CounterFamily, FamiliesCollector, HistogramFamily
from gateway.metric_share import MetricsShare
from gateway.metrics import CONFIDENCE_BUCKETS, Metrics
from omnisense.schema import Attempt, UpstreamUnavailable
from tests.routing_helpers import wait_for

GOLDEN = Path(__file__).parent / "golden"
FIRST = "# HELP omnisense_requests_total "
AFTER = ("# HELP omnisense_log_queue_depth ", "# HELP omnisense_output_drift_psi ")  # the scrape-time state
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?P<labels>\{[^}]*\})? (?P<value>\S+)$")
TIMED = re.compile(r"^omnisense_(request_latency|gateway_overhead)_seconds_(bucket|sum)\b")


def _request_families(text: str) -> str:
    """The families the request path feeds: from the requests counter to the scrape-time state."""
    start = text.index(FIRST)
    return text[start : min(i for i in (text.find(a, start) for a in AFTER) if i >= 0)]


def _check_and_mask(text: str, since: float, *, timed: bool) -> str:
    """Histograms are cumulative with ``+Inf == _count``; ``_created`` is a time within the test.
    Returns the text with creation times (and, when ``timed``, latency and overhead values) masked."""
    now, buckets, out = time.time(), dict[str, list[float]](), []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m is None:
            out.append(line)
            continue
        name, labels, value = m["name"], m["labels"] or "", float(m["value"])
        if name.endswith("_bucket"):
            series = name[: -len("_bucket")] + re.sub(r',?le="[^"]*"', "", labels).replace("{,", "{")
            buckets.setdefault(series, []).append(value)
        elif name.endswith("_count"):
            seen = buckets[name[: -len("_count")] + labels]
            assert seen == sorted(seen) and seen[-1] == value, (line, seen)
        if name.endswith("_created"):
            assert since <= value <= now, line
            line = f"{name}{labels} <time>"
        elif timed and TIMED.match(line):
            assert value >= 0 and not math.isnan(value), line
            line = f"{name}{labels} <timed>"
        out.append(line)
    return "\n".join(out) + "\n"


def _against_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        raise AssertionError(f"{path} written from the current output: check it and commit it")
    assert text == path.read_text()


def test_request_metrics_through_the_app(client: TestClient[Any], sink: MemorySink) -> None:
    """Failover after two failed attempts, plain answers of three tasks, a refused input."""
    since = time.time()
    client.app.state.runtime.providers["primary"].script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    for i in range(3):
        assert client.post("/v1/text/sentiment", json={"text": f"fine {i}"}).status_code == 200
    assert client.post("/v1/text/sentiment", json={"text": ""}).status_code == 422
    assert client.post("/v1/text/language", json={"text": "hello"}).status_code == 200
    assert client.post("/v1/text/entities", json={"text": "hello"}).status_code == 200
    wait_for(lambda: len(sink.records) == 6)
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == CONTENT_TYPE_LATEST  # its one charset, not a second one
    _against_golden("metrics_app.txt", _check_and_mask(_request_families(resp.text), since, timed=True))


def _records() -> list[RequestLog]:
    """Values on bucket bounds (a bound belongs to its bucket), beyond the last bound, zero items,
    an error after two attempts, a request refused before any provider, and shadow answers."""

    def ok(latency_ms: float, top: str, confidence: float, items: int, **kw: Any) -> RequestLog:
        return RequestLog(
            request_id="r", time=0, task=kw.pop("task", "text.sentiment"), status="ok", http_status=200,
            latency_ms=latency_ms, provider=kw.pop("provider", "aws"), overhead_ms=kw.pop("overhead_ms", 0.5),
            cost_usd=0.0001, attempts=[Attempt(provider="aws", outcome="ok", latency_ms=latency_ms)],
            output=OutputSummary(top=top, confidence=confidence, items=items), **kw,
        )  # fmt: skip

    failed = [
        Attempt(provider="aws", outcome="error", latency_ms=3, error_type="UpstreamUnavailable"),
        Attempt(provider="gcp", outcome="timeout", latency_ms=30, error_type="UpstreamTimeout"),
    ]
    shadows = [
        ShadowResult(provider="gcp", outcome="ok", latency_ms=9, agrees=True, metric="label", score=1.0),
        ShadowResult(provider="azure", outcome="error", latency_ms=2, error_type="UpstreamUnavailable"),
    ]
    return [
        ok(5.0, "positive", 0.9, 0),
        ok(5.0001, "positive", 0.95, 1, overhead_ms=0.2),
        ok(31_000, "negative", 0.05, 200, overhead_ms=300),
        ok(12, "en", 1.0, 2, task="text.language"),
        ok(7, "cat", 0.8, 3, task="vision.labels", provider="gcp", shadow=shadows),
        ok(7, "neutral", 0.4, 1, shadow=[ShadowResult(provider="gcp", outcome="ok", latency_ms=4, agrees=False,
                                                      metric="label", score=0.0)]),
        RequestLog(request_id="e", time=0, task="text.sentiment", status="error", http_status=503,
                   latency_ms=33.5, provider="gcp", overhead_ms=0.4, attempts=failed,
                   error_type="UpstreamTimeout", output=OutputSummary(top="ignored", confidence=0.5)),
        RequestLog(request_id="u", time=0, task="text.sentiment", status="error", http_status=401, latency_ms=0.2),
    ]  # fmt: skip


def test_request_metrics_exact_values() -> None:
    """Every value of the request families for known records, through ``render()`` (what /metrics returns)."""
    since = time.time()
    metrics = Metrics()
    for record in _records():
        metrics.observe(record)
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE_LATEST
    _against_golden("metrics_records.txt", _check_and_mask(_request_families(body.decode()), since, timed=False))


def _masked(registry: CollectorRegistry) -> str:
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 <time>", generate_latest(registry).decode())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["x", "y"]),
            st.one_of(st.sampled_from([*CONFIDENCE_BUCKETS, 0.0, math.inf, -math.inf, math.nan]), st.floats()),
        ),
        max_size=40,
    )
)
def test_families_expose_what_prometheus_client_exposes(values: list[tuple[str, float]]) -> None:
    """Any values — on a bound, between, beyond the last, negative, infinite, NaN — land in the
    same buckets, counts and sums as with prometheus_client (its ``le``: a bound is in its bucket)."""
    reference, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("c", "A counter", ["a", "b"], registry=reference)
    histogram = Histogram("h", "A histogram", ["a"], buckets=CONFIDENCE_BUCKETS, registry=reference)
    counts = CounterFamily("c", "A counter", ["a", "b"])
    observed = HistogramFamily("h", "A histogram", ["a"], CONFIDENCE_BUCKETS)
    ours.register(FamiliesCollector([counts, observed]))
    for label, value in values:
        amount = abs(value) if value == value else 1.0
        counter.labels(label, "z").inc(amount)
        counts.inc((label, "z"), amount)
        histogram.labels(label).observe(value)
        observed.observe((label,), value)
    assert _masked(ours) == _masked(reference)


def test_created_series_follow_prometheus_clients_switch() -> None:
    """``PROMETHEUS_DISABLE_CREATED_SERIES`` (or ``disable_created_metrics()``) drops them here too."""
    metrics = Metrics()
    metrics.observe(_records()[0])
    prometheus_client.disable_created_metrics()
    try:
        text = metrics.render()[0].decode()
    finally:
        prometheus_client.enable_created_metrics()
    assert "omnisense_requests_total{" in text and "_created" not in text
    assert "omnisense_requests_created{" in metrics.render()[0].decode()


def test_a_negative_cost_is_refused_as_prometheus_client_refused_it() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="counters only go up"):
        metrics.observe(msgspec.structs.replace(_records()[0], cost_usd=-0.5))
    assert "omnisense_cost_usd_total{" not in metrics.render()[0].decode()


def test_workers_counters_add_up_to_one_process_counting_everything(tmp_path: Path) -> None:
    """Two workers' files (``gateway.metric_share``): a scrape of either shows every counter and
    histogram series that one process observing all the records would show, with the same values."""
    records = _records()
    alone, first, second = Metrics(), Metrics(), Metrics()
    for i, record in enumerate(records):
        alone.observe(record)
        (first if i % 2 else second).observe(record)
    shares = [MetricsShare(m.families, tmp_path) for m in (first, second)]
    for share in shares:
        share.publish()
        share.collector.peers = share.peers

    def series(metrics: Metrics) -> list[str]:
        text = _request_families(_masked(metrics.registry))
        return sorted(line for line in text.splitlines() if not line.startswith("#"))

    assert series(first) == series(second) == series(alone)
    assert len(list(tmp_path.iterdir())) == 2, "a file per worker, nothing left aside"
