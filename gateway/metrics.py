"""Prometheus metrics: one ``Metrics`` per app, on its own ``CollectorRegistry``.

Nothing is global: two apps in one process (tests, the bench) never share a counter.
Request metrics are observed from the one RequestLog every request leaves, so the
metrics and the log always agree; they accumulate as plain numbers (``gateway.metric_families``:
one event-loop thread per process observes, so nothing takes a lock) and become Prometheus
families at scrape time, exposed as prometheus_client's Counter and Histogram were. State
that lives elsewhere — the log writer's queue, circuit breakers, the output drift windows —
is read at scrape time by a collector.

``omnisense serve --workers N`` runs N processes, each with its own ``Metrics``; the
counters and histograms of all of them are added up at scrape time (``gateway.metric_share``),
gauges are the answering worker's.

Labels never carry a key, a payload or a free-form string: task, provider, status,
HTTP code, attempt outcome, and for tasks with a closed answer set (the task table's
``closed_answer`` column: sentiment label, language, moderation category or ``ok``) the
top answer, capped per series.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.logs.drift import DriftMonitor, Sample
from gateway.logs.record import OutputSummary, RequestLog
from gateway.metric_families import CounterFamily, FamiliesCollector, HistogramFamily
from omnisense.schema import TABLE
from policies.shared.link import SharedStatus

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OVERHEAD_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
ITEM_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100)
SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
CLOSED_ANSWER_TASKS = frozenset(task.value for task, spec in TABLE.items() if spec.closed_answer)  # the rows say
MAX_TOP_VALUES = 50  # per (task, provider); beyond that the answer counts as "other"
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


class QueueView(Protocol):
    """What the metrics read of the LogWriter."""

    @property
    def depth(self) -> int: ...

    @property
    def spool_records(self) -> int: ...

    @property
    def spool_bytes(self) -> int: ...

    dropped: int
    written: int
    failed: int
    replayed: int
    spooled: int


class ProviderState(NamedTuple):
    """One provider as /metrics shows it (read at scrape time)."""

    name: str
    up: bool | None  # the last background probe; None: not probed yet
    restarts: int | None = None  # of a model server this gateway supervises
    replicas: tuple[int, int] | None = None  # (ready, all) of a provider spread over replicas


ProviderSource = Callable[[], Iterable[ProviderState]]
CircuitSource = Callable[[], Iterable[tuple[str, str, str]]]  # (provider, task, "closed" | "half_open" | "open")


def _request_labels(key: tuple[str, str, str, int]) -> tuple[str, str, str, str]:
    task, provider, status, code = key
    return task, provider, status, str(code)


def _one_label(key: str) -> tuple[str]:
    return (key,)


class Metrics:
    def __init__(self, *, drift_window_s: float = 3_600.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Keys: (task, provider, status, HTTP status as an int); (task, provider); task alone for the overhead.
        self.requests = CounterFamily(
            "omnisense_requests", "Requests served, by outcome", ["task", "provider", "status", "code"],
            labels_of=_request_labels,
        )  # fmt: skip
        self.latency = HistogramFamily(
            "omnisense_request_latency_seconds", "End-to-end request latency", ["task", "provider"], LATENCY_BUCKETS
        )
        self.overhead = HistogramFamily(
            "omnisense_gateway_overhead_seconds", "Request latency minus time spent waiting on providers", ["task"],
            OVERHEAD_BUCKETS, labels_of=_one_label,
        )  # fmt: skip
        self.cost = CounterFamily("omnisense_cost_usd", "Cost of served requests, USD", ["task", "provider"])
        self.attempts = CounterFamily(
            "omnisense_provider_attempts", "Provider attempts, by outcome", ["provider", "outcome", "error"]
        )
        self.output_top = CounterFamily(
            "omnisense_output_top", "Top answers (closed answer sets only)", ["task", "provider", "top"]
        )
        self.output_confidence = HistogramFamily(
            "omnisense_output_confidence", "Confidence of the top answer", ["task", "provider"], CONFIDENCE_BUCKETS
        )
        self.output_items = HistogramFamily(
            "omnisense_output_items", "Items per answer (labels, entities, words...)", ["task", "provider"],
            ITEM_BUCKETS,
        )  # fmt: skip
        self._shadow_metrics()
        self.families = FamiliesCollector([
            self.requests, self.latency, self.overhead, self.cost, self.attempts, self.output_top,
            self.output_confidence, self.output_items, self.shadow_runs, self.shadow_compared, self.shadow_score,
        ])  # fmt: skip
        self.registry.register(self.families)
        # bound once for observe()
        self._requests, self._attempts, self._cost = self.requests.values, self.attempts.values, self.cost.values
        self._latency, self._latency_bounds = self.latency.children, self.latency.bounds
        self._overhead, self._overhead_bounds = self.overhead.children, self.overhead.bounds
        self._confidence, self._confidence_bounds = self.output_confidence.children, self.output_confidence.bounds
        self._output_top = self.output_top.values
        self._top_keys: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {}  # capped: see _top_key
        self.drift = DriftMonitor(window_s=drift_window_s)
        self._state = _StateCollector(self.drift)
        self.registry.register(self._state)

    def _shadow_metrics(self) -> None:
        """Shadow traffic per (task, served provider, shadow provider): see ``gateway.logs.comparisons``."""
        labels = ["task", "served", "shadow"]
        self.shadow_runs = CounterFamily("omnisense_shadow_runs", "Shadow calls, by outcome", [*labels, "outcome"])
        self.shadow_compared = CounterFamily(
            "omnisense_shadow_compared", "Shadow answers compared with the served one, by agreement",
            [*labels, "agrees"],
        )  # fmt: skip
        self.shadow_score = HistogramFamily(
            "omnisense_shadow_score", "The task's agreement metric per compared shadow answer (wer: error rate)",
            [*labels, "metric"], SCORE_BUCKETS,
        )  # fmt: skip

    def _observe_shadows(self, record: RequestLog) -> None:
        task, served = record.task, record.provider or "-"
        for s in record.shadow:
            self.shadow_runs.inc((task, served, s.provider, s.outcome))
            if s.agrees is not None:
                self.shadow_compared.inc((task, served, s.provider, "true" if s.agrees else "false"))
            if s.score is not None and s.metric is not None:
                self.shadow_score.observe((task, served, s.provider, s.metric), s.score)

    def bind_queue(self, queue: QueueView) -> None:
        self._state.queue = queue

    def bind_circuits(self, source: CircuitSource) -> None:
        self._state.circuits = source

    def bind_shared(self, source: Callable[[], SharedStatus]) -> None:
        """Where the shared state lives and whether Redis answers (``policies.shared``)."""
        self._state.shared = source

    def bind_reloads(self, source: Callable[[], tuple[int, int]]) -> None:
        """(good reloads, refused files) of the policy since start."""
        self._state.reloads = source

    def bind_providers(self, source: ProviderSource) -> None:
        """Every provider's ``ProviderState``."""
        self._state.providers = source

    def observe(self, record: RequestLog) -> None:
        """The request path, once per request. What most requests feed is inlined: one dict
        look-up and a float addition or two per family, ``add()`` on a child's first use (see
        ``gateway.metric_families``). Latencies come from a monotonic clock, never NaN."""
        task, provider = record.task, record.provider or "-"
        pair = (task, provider)
        counts = self._requests
        key = (task, provider, record.status, record.http_status)
        count = counts.get(key)
        counts[key] = (self.requests.add(key) if count is None else count) + 1.0
        child = self._latency.get(pair) or self.latency.add(pair)
        seconds = record.latency_ms / 1000.0
        child[bisect_left(self._latency_bounds, seconds)] += 1.0
        child[-1] += seconds
        if record.overhead_ms is not None:
            child = self._overhead.get(task) or self.overhead.add(task)
            seconds = record.overhead_ms / 1000.0
            child[bisect_left(self._overhead_bounds, seconds)] += 1.0
            child[-1] += seconds
        cost = record.cost_usd
        if cost > 0.0:
            spent = self._cost.get(pair)
            self._cost[pair] = (self.cost.add(pair) if spent is None else spent) + cost
        elif cost:
            self.cost.inc(pair, cost)  # refuses a negative amount, as prometheus_client did
        counts = self._attempts
        for a in record.attempts:
            tried = (a.provider, a.outcome, a.error_type or "")
            count = counts.get(tried)
            counts[tried] = (self.attempts.add(tried) if count is None else count) + 1.0
        if record.shadow:
            self._observe_shadows(record)
        out = record.output
        if out is not None and record.status == "ok":
            self._observe_output(task, provider, pair, out)

    def _observe_output(self, task: str, provider: str, pair: tuple[str, str], out: OutputSummary) -> None:
        top, confidence = out.top, out.confidence
        if top is not None and task in CLOSED_ANSWER_TASKS:
            tops = self._top_keys.get(pair)
            key = None if tops is None else tops.get(top)
            if key is None:
                key = self._top_key(pair, top)
            count = self._output_top.get(key)
            self._output_top[key] = (self.output_top.add(key) if count is None else count) + 1.0
        if confidence is not None:
            child = self._confidence.get(pair) or self.output_confidence.add(pair)
            if confidence == confidence:  # NaN counts in no bucket, as with prometheus_client
                child[bisect_left(self._confidence_bounds, confidence)] += 1.0
            child[-1] += confidence
        if out.items is not None:
            self.output_items.observe(pair, out.items)
        self.drift.observe(provider, task, Sample(top, confidence, out.items))

    def _top_key(self, pair: tuple[str, str], top: str) -> tuple[str, str, str]:
        """The ``output_top`` child of a top answer not seen yet for ``pair``: its own up to
        ``MAX_TOP_VALUES`` answers per (task, provider), ``"other"`` beyond."""
        tops = self._top_keys.setdefault(pair, {})
        if len(tops) >= MAX_TOP_VALUES:
            return (*pair, "other")
        key = tops[top] = (*pair, top)
        return key

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _StateCollector(Collector):
    """Read at scrape time: the log queue, circuit breakers, output drift."""

    def __init__(self, drift: DriftMonitor) -> None:
        self.drift = drift
        self.queue: QueueView | None = None
        self.circuits: CircuitSource | None = None
        self.reloads: Callable[[], tuple[int, int]] | None = None
        self.shared: Callable[[], SharedStatus] | None = None
        self.providers: ProviderSource | None = None

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: its families vary with what is bound

    def collect(self) -> Iterator[Metric]:
        if self.queue is not None:
            q = self.queue
            yield GaugeMetricFamily("omnisense_log_queue_depth", "Records waiting to be written", value=q.depth)
            yield CounterMetricFamily("omnisense_log_dropped", "Records dropped (queue full)", value=q.dropped)
            yield CounterMetricFamily("omnisense_log_written", "Records written to the sink", value=q.written)
            yield CounterMetricFamily("omnisense_log_failed", "Records the sink failed to write", value=q.failed)
            yield GaugeMetricFamily("omnisense_log_spooled", "Records waiting in the disk spool", value=q.spool_records)
            yield GaugeMetricFamily("omnisense_log_spool_bytes", "Bytes in the disk spool", value=q.spool_bytes)
            yield CounterMetricFamily("omnisense_log_replayed", "Records replayed from the spool", value=q.replayed)
            yield CounterMetricFamily("omnisense_log_spool_writes", "Records put in the spool", value=q.spooled)
        if self.circuits is not None:
            state = GaugeMetricFamily(
                "omnisense_circuit_state",
                "Circuit breaker per provider and task: 0 closed, 1 half-open, 2 open",
                labels=["provider", "task"],
            )
            for provider, task, value in sorted(self.circuits()):
                state.add_metric([provider, task], CIRCUIT_STATES.get(value, 2))
            yield state
        if self.reloads is not None:
            good, refused = self.reloads()
            yield CounterMetricFamily("omnisense_policy_reloads", "Policy reloads that took effect", value=good)
            yield CounterMetricFamily(
                "omnisense_policy_reloads_refused",
                "Policy files refused (the last good one kept serving)",
                value=refused,
            )
        if self.shared is not None:
            yield from _shared(self.shared())
        if self.providers is not None:
            yield from self._providers(self.providers)
        yield from self._drift()

    @staticmethod
    def _providers(source: ProviderSource) -> Iterator[Metric]:
        up = GaugeMetricFamily("omnisense_provider_up", "Last background probe: 1 ok, 0 down", labels=["provider"])
        restarts = CounterMetricFamily(
            "omnisense_model_server_restarts", "Restarts of a supervised model server", labels=["provider"]
        )
        ready = GaugeMetricFamily(
            "omnisense_provider_replicas_ready", "Model-server replicas ready (last check)", labels=["provider"]
        )
        total = GaugeMetricFamily("omnisense_provider_replicas", "Model-server replicas known", labels=["provider"])
        for state in sorted(source(), key=lambda row: row.name):
            if state.up is not None:
                up.add_metric([state.name], 1.0 if state.up else 0.0)
            if state.restarts is not None:
                restarts.add_metric([state.name], state.restarts)
            if state.replicas is not None:
                ready.add_metric([state.name], state.replicas[0])
                total.add_metric([state.name], state.replicas[1])
        yield from (up, restarts, ready, total)

    def _drift(self) -> Iterator[Metric]:
        labels = ["task", "provider"]
        psi = GaugeMetricFamily(
            "omnisense_output_drift_psi", "Population stability index of outputs vs the previous window", labels=labels
        )
        conf = GaugeMetricFamily("omnisense_output_mean_confidence", "Mean confidence, current window", labels=labels)
        for (provider, task), (profile, value) in sorted(self.drift.snapshot().items()):
            if value is not None:
                psi.add_metric([task, provider], value)
            if profile is not None and profile.mean_confidence is not None:
                conf.add_metric([task, provider], profile.mean_confidence)
        yield psi
        yield conf


def _shared(status: SharedStatus) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "omnisense_shared_state_up",
        "1 while the shared state (Redis) answers; 0: this replica serves on its local state",
        labels=["backend"],
    )
    up.add_metric([status.backend], 1.0 if status.connected else 0.0)
    yield up
    yield CounterMetricFamily(
        "omnisense_shared_state_outages", "Times this replica lost the shared state", value=status.outages
    )
