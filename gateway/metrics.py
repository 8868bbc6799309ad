"""Prometheus metrics: one ``Metrics`` per app, on its own ``CollectorRegistry``.

Nothing is global: two apps in one process (tests, the bench) never share a counter.
Request metrics are observed from the one RequestLog every request leaves, so the
metrics and the log always agree. State that lives elsewhere — the log writer's queue,
circuit breakers, the output drift windows — is read at scrape time by a collector.

Labels never carry a key, a payload or a free-form string: task, provider, status,
HTTP code, attempt outcome, and for tasks with a closed answer set (sentiment label,
language, moderation category) the top answer, capped per series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, NamedTuple, Protocol, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.logs.drift import DriftMonitor, Sample
from gateway.logs.record import RequestLog
from policies.shared.link import SharedStatus

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OVERHEAD_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
ITEM_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100)
SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
CLOSED_ANSWER_TASKS = frozenset({"text.sentiment", "text.language", "vision.moderation"})
MAX_TOP_VALUES = 50  # per (task, provider); beyond that the answer counts as "other"
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


class QueueView(Protocol):
    """What the metrics read of the LogWriter."""

    @property
    def depth(self) -> int: ...

    dropped: int
    written: int
    failed: int


M = TypeVar("M", Counter, Histogram)


class _Children(Generic[M]):
    """A metric's label children, each created once: ``labels()`` takes a lock and builds a
    key on every call, and the request path would call it eight times a request."""

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._cache: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self.metric.labels(*values)
        return child


class ProviderState(NamedTuple):
    """One provider as /metrics shows it (read at scrape time)."""

    name: str
    up: bool | None  # the last background probe; None: not probed yet
    restarts: int | None = None  # of a model server this gateway supervises
    replicas: tuple[int, int] | None = None  # (ready, all) of a provider spread over replicas


ProviderSource = Callable[[], Iterable[ProviderState]]
CircuitSource = Callable[[], Iterable[tuple[str, str, str]]]  # (provider, task, "closed" | "half_open" | "open")


class Metrics:
    def __init__(self, *, drift_window_s: float = 3_600.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "omnisense_requests", "Requests served, by outcome", ["task", "provider", "status", "code"], registry=r
        )
        self.latency = Histogram(
            "omnisense_request_latency_seconds", "End-to-end request latency", ["task", "provider"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.overhead = Histogram(
            "omnisense_gateway_overhead_seconds", "Request latency minus time spent waiting on providers", ["task"],
            buckets=OVERHEAD_BUCKETS, registry=r,
        )  # fmt: skip
        self.cost = Counter("omnisense_cost_usd", "Cost of served requests, USD", ["task", "provider"], registry=r)
        self.attempts = Counter(
            "omnisense_provider_attempts", "Provider attempts, by outcome", ["provider", "outcome", "error"], registry=r
        )
        self.output_top = Counter(
            "omnisense_output_top", "Top answers (closed answer sets only)", ["task", "provider", "top"], registry=r
        )
        self.output_confidence = Histogram(
            "omnisense_output_confidence", "Confidence of the top answer", ["task", "provider"],
            buckets=CONFIDENCE_BUCKETS, registry=r,
        )  # fmt: skip
        self.output_items = Histogram(
            "omnisense_output_items", "Items per answer (labels, entities, words...)", ["task", "provider"],
            buckets=ITEM_BUCKETS, registry=r,
        )  # fmt: skip
        self._shadow_metrics(r)
        self.drift = DriftMonitor(window_s=drift_window_s)
        self._requests, self._latency = _Children(self.requests), _Children(self.latency)
        self._overhead, self._cost, self._attempts = (
            _Children(self.overhead),
            _Children(self.cost),
            _Children(self.attempts),
        )
        self._top, self._confidence = _Children(self.output_top), _Children(self.output_confidence)
        self._items = _Children(self.output_items)
        self._tops: dict[tuple[str, str], set[str]] = {}
        self._state = _StateCollector(self.drift)
        r.register(self._state)

    def _shadow_metrics(self, r: CollectorRegistry) -> None:
        """Shadow traffic per (task, served provider, shadow provider): see ``gateway.logs.comparisons``."""
        labels = ["task", "served", "shadow"]
        self.shadow_runs = Counter(
            "omnisense_shadow_runs", "Shadow calls, by outcome", [*labels, "outcome"], registry=r
        )
        self.shadow_compared = Counter(
            "omnisense_shadow_compared", "Shadow answers compared with the served one, by agreement",
            [*labels, "agrees"], registry=r,
        )  # fmt: skip
        self.shadow_score = Histogram(
            "omnisense_shadow_score", "The task's agreement metric per compared shadow answer (wer: error rate)",
            [*labels, "metric"], buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip

    def _observe_shadows(self, record: RequestLog) -> None:
        served = record.provider or "-"
        for s in record.shadow:
            self.shadow_runs.labels(record.task, served, s.provider, s.outcome).inc()
            if s.agrees is not None:
                self.shadow_compared.labels(record.task, served, s.provider, "true" if s.agrees else "false").inc()
            if s.score is not None and s.metric is not None:
                self.shadow_score.labels(record.task, served, s.provider, s.metric).observe(s.score)

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
        task, provider = record.task, record.provider or "-"
        self._requests(task, provider, record.status, str(record.http_status)).inc()
        self._latency(task, provider).observe(record.latency_ms / 1000.0)
        if record.overhead_ms is not None:
            self._overhead(task).observe(record.overhead_ms / 1000.0)
        if record.cost_usd:
            self._cost(task, provider).inc(record.cost_usd)
        for a in record.attempts:
            self._attempts(a.provider, a.outcome, a.error_type or "").inc()
        self._observe_shadows(record)
        out = record.output
        if out is None or record.status != "ok":
            return
        if out.top is not None and task in CLOSED_ANSWER_TASKS:
            self._top(task, provider, self._capped(task, provider, out.top)).inc()
        if out.confidence is not None:
            self._confidence(task, provider).observe(out.confidence)
        if out.items is not None:
            self._items(task, provider).observe(out.items)
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
