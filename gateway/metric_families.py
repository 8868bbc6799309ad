"""Counters and histograms as plain Python numbers, turned into Prometheus families at scrape time.

prometheus_client's ``Counter`` and ``Histogram`` take a lock per increment and check, bisect
and lock again per observation: some ten microseconds a request for the gateway's dozen
updates. The gateway observes from one event-loop thread per process, so the request path
needs none of it. A family here is a dict from a child's key to its value — a float for a
counter, a list of per-bucket counts then the sum for a histogram — and ``collect()`` builds
what prometheus_client would have exposed for the same observations: ``_total``, cumulative
``_bucket`` series up to ``+Inf``, ``_count``, ``_sum``, and the ``_created`` time of each
child (unless ``PROMETHEUS_DISABLE_CREATED_SERIES`` or ``disable_created_metrics()`` turned
those off for prometheus_client's own metrics).

A child's key is its label values, or anything cheaper that ``labels_of`` turns into them
at scrape time (an HTTP status kept as an int, a single label kept as a plain string).
Children appear in the exposition in the order they were first observed. ``inc`` and
``observe`` are the plain way in; a hot path may inline them on ``values``/``children``,
calling ``add(key)`` on a miss (``gateway.metrics.Metrics.observe`` does).

``export()`` gives a family's children by label values, and ``collect(peers)`` adds other
processes' exports to the family's own figures (``gateway.metric_share``: the workers of
``omnisense serve --workers N``).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec
import prometheus_client.metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

LabelsOf = Callable[[Any], Sequence[str]]
_go_float: Callable[[float], str] = floatToGoString  # how prometheus_client writes an ``le`` (untyped there)


def _created_series() -> bool:
    """Whether prometheus_client emits ``_created`` series: the same switch for these families."""
    return bool(getattr(prometheus_client.metrics, "_use_created", True))


def _same(key: Any) -> Sequence[str]:
    labels: Sequence[str] = key
    return labels


class Exported(msgspec.Struct, array_like=True, frozen=True):
    """One child as another process sees it: label values, its numbers (a counter's count;
    a histogram's per-bucket counts, then the sum), when it appeared."""

    labels: tuple[str, ...]
    value: list[float]
    created: float | None = None


Merged = dict[tuple[str, ...], tuple[list[float], float | None]]


def _merged(own: Iterable[Exported], peers: Iterable[Sequence[Exported]]) -> Merged:
    """Children by label values, each the sum over this process and its peers (the earliest
    ``created``); this process's children first, in the order they appeared. A peer's child
    of another shape (a histogram with other buckets, from another version) is left out."""
    out: Merged = {c.labels: (list(c.value), c.created) for c in own}
    for children in peers:
        for c in children:
            mine = out.get(c.labels)
            if mine is None:
                out[c.labels] = (list(c.value), c.created)
            elif len(mine[0]) == len(c.value):
                values = [a + b for a, b in zip(mine[0], c.value, strict=True)]
                times = [t for t in (mine[1], c.created) if t is not None]
                out[c.labels] = (values, min(times) if times else None)
    return out


class CounterFamily:
    """``values[key]``: the count of the child ``key``; ``created[key]``: when it appeared (unix time)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], labels_of: LabelsOf = _same) -> None:
        self.name = name.removesuffix("_total")
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.labels_of = labels_of
        self.values: dict[Hashable, float] = {}
        self.created: dict[Hashable, float] = {}

    def inc(self, key: Hashable, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: counters only go up ({amount})")
        values = self.values
        value = values.get(key)
        if value is None:
            value = self.add(key)
        values[key] = value + amount

    def add(self, key: Hashable) -> float:
        """A new child at zero (the request path's miss, once per label set)."""
        self.created[key] = time.time()
        self.values[key] = 0.0
        return 0.0

    def export(self) -> list[Exported]:
        created = self.created
        return [Exported(tuple(self.labels_of(k)), [v], created.get(k)) for k, v in list(self.values.items())]

    def collect(self, peers: Iterable[Sequence[Exported]] = ()) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with_created = _created_series()
        for labels, (value, created) in _merged(self.export(), peers).items():
            family.add_metric(labels, value[0], created if with_created else None)
        return family


class HistogramFamily:
    """``children[key]``: the child's count per bucket (``bounds``, then +Inf), then its sum.

    A value equal to a bound counts in that bound's bucket (Prometheus ``le``), which is
    ``bisect_left`` on the bounds; NaN counts in no bucket but reaches the sum, as with
    prometheus_client."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        labels_of: LabelsOf = _same,
    ) -> None:
        bounds = [float(b) for b in buckets]
        if bounds and bounds[-1] == float("inf"):
            bounds.pop()
        if not bounds or bounds != sorted(bounds) or bounds[0] < 0:
            raise ValueError(f"{name}: buckets must be sorted, non-negative and not empty")
        self.name, self.documentation = name, documentation
        self.labelnames = tuple(labelnames)
        self.labels_of = labels_of
        self.bounds = tuple(bounds)
        self.les = (*(_go_float(b) for b in bounds), "+Inf")
        self.children: dict[Hashable, list[float]] = {}
        self.created: dict[Hashable, float] = {}

    def observe(self, key: Hashable, value: float) -> None:
        child = self.children.get(key)
        if child is None:
            child = self.add(key)
        if value == value:  # not NaN
            child[bisect_left(self.bounds, value)] += 1.0
        child[-1] += value

    def add(self, key: Hashable) -> list[float]:
        """A new, empty child (the request path's miss, once per label set)."""
        self.created[key] = time.time()
        child = self.children[key] = [0.0] * (len(self.bounds) + 2)
        return child

    def export(self) -> list[Exported]:
        created = self.created
        return [Exported(tuple(self.labels_of(k)), list(c), created.get(k)) for k, c in list(self.children.items())]

    def collect(self, peers: Iterable[Sequence[Exported]] = ()) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with_created = _created_series()
        for labels, (child, created) in _merged(self.export(), peers).items():
            cumulative, acc = [], 0.0
            for le, count in zip(self.les, child, strict=False):  # the sum, last, has no bucket
                acc += count
                cumulative.append((le, acc))
            family.add_metric(labels, cumulative, child[-1])
            if created is not None and with_created:
                named = dict(zip(self.labelnames, labels, strict=True))
                family.samples.append(Sample(f"{self.name}_created", named, created))
        return family


Family = CounterFamily | HistogramFamily


PeerSource = Callable[[], Mapping[str, Sequence[Sequence[Exported]]]]  # family name -> each peer's children


class FamiliesCollector(Collector):
    """Exposes families on a registry, in the order given; with ``peers``, each family adds
    up what the other processes exported for it."""

    def __init__(self, families: Sequence[Family]) -> None:
        self.families = tuple(families)
        self.peers: PeerSource | None = None

    def describe(self) -> list[Metric]:
        return [f.collect() for f in self.families]

    def collect(self) -> Iterator[Metric]:
        peers = self.peers() if self.peers is not None else {}
        for family in self.families:
            yield family.collect(peers.get(family.name, ()))
