"""The quality table on ``/metrics``: two gauges per task x language x provider x source.

``omnisense_quality_score`` (the mean score in [0, 1]) and ``omnisense_quality_samples``
(how many samples it is the mean of), over the quality window, read from the routing's
``QualityBook`` at scrape time: the figures ``best_quality`` routes on. Languages are
primary subtags (``und``: undetermined), so the label set stays small.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from policies.quality import QualityBook

LABELS = ["task", "language", "provider", "source"]


class QualityCollector(Collector):
    def __init__(self, book: QualityBook) -> None:
        self.book = book

    def describe(self) -> list[Metric]:
        return []  # unchecked: the series are whatever the book holds

    def collect(self) -> Iterator[Metric]:
        score = GaugeMetricFamily(
            "omnisense_quality_score",
            "Mean quality score over the quality window: agreement with the consensus or accuracy against references",
            labels=LABELS,
        )
        samples = GaugeMetricFamily(
            "omnisense_quality_samples", "Samples behind omnisense_quality_score", labels=LABELS
        )
        for row in self.book.totals():
            if row.samples <= 0:
                continue
            labels = [row.task, row.language, row.provider, row.source]
            score.add_metric(labels, row.total / row.samples)
            samples.add_metric(labels, row.samples)
        yield score
        yield samples
