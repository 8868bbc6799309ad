"""Watching the models, not only the calls: output profiles and their drift.

Every successful answer is summarized as a ``Sample`` (top answer — sentiment label,
detected language, top label —, its confidence, and the item count). A window of
samples per provider and task gives an ``OutputProfile`` (label mix, mean confidence,
mean items), and two windows give a drift signal: the population stability index

    PSI = sum over bins of (cur - ref) * ln(cur / ref)

computed on three distributions — the top-answer mix, confidence in ten bins over
[0, 1], and item counts in bins 0, 1, 2, 3-5, 6-10, 11+ — and reported as the largest
of the three. Rules of thumb: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25
a significant one. Fewer than ``MIN_SAMPLES`` in either window gives no signal (None).

``DriftMonitor`` keeps these windows in memory for the Prometheus metrics: it rotates
every ``window_s`` seconds, the previous window becoming the reference.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import msgspec

MIN_SAMPLES = 30
EPSILON = 1e-4  # stands in for an empty bin, so that ln() stays finite
ITEM_BINS = ((0, 0), (1, 1), (2, 2), (3, 5), (6, 10), (11, None))
TOP_MIX_SIZE = 5
STABLE, MODERATE = 0.1, 0.25


class Sample(msgspec.Struct, frozen=True, array_like=True):
    top: str | None
    confidence: float | None
    items: int | None


class OutputProfile(msgspec.Struct, kw_only=True, omit_defaults=True):
    samples: int
    top_mix: dict[str, float] = msgspec.field(default_factory=dict)  # share of the most frequent answers
    mean_confidence: float | None = None
    mean_items: float | None = None

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> OutputProfile:
        tops = Counter(s.top for s in samples if s.top is not None)
        confs = [s.confidence for s in samples if s.confidence is not None]
        items = [s.items for s in samples if s.items is not None]
        return cls(
            samples=len(samples),
            top_mix={k: round(v / len(samples), 4) for k, v in tops.most_common(TOP_MIX_SIZE)},
            mean_confidence=round(sum(confs) / len(confs), 4) if confs else None,
            mean_items=round(sum(items) / len(items), 3) if items else None,
        )

    def describe(self) -> str:
        parts = [", ".join(f"{k} {v:.0%}" for k, v in self.top_mix.items())]
        if self.mean_confidence is not None:
            parts.append(f"conf {self.mean_confidence:.2f}")
        if self.mean_items is not None:
            parts.append(f"items {self.mean_items:.1f}")
        return "; ".join(p for p in parts if p)


def psi(reference: Counter[str], current: Counter[str]) -> float:
    """Population stability index between two histograms over the same bins."""
    ref_n, cur_n = sum(reference.values()), sum(current.values())
    if not ref_n or not cur_n:
        return 0.0
    total = 0.0
    for key in set(reference) | set(current):
        r = max(reference[key] / ref_n, EPSILON)
        c = max(current[key] / cur_n, EPSILON)
        total += (c - r) * math.log(c / r)
    return total


def _confidence_bin(value: float) -> str:
    return str(min(9, max(0, int(value * 10))))


def _items_bin(value: int) -> str:
    for lo, hi in ITEM_BINS:
        if value >= lo and (hi is None or value <= hi):
            return f"{lo}-{hi}" if hi is not None else f"{lo}+"
    return "?"


def _histograms(samples: Iterable[Sample]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    tops: Counter[str] = Counter()
    confs: Counter[str] = Counter()
    items: Counter[str] = Counter()
    for s in samples:
        if s.top is not None:
            tops[s.top] += 1
        if s.confidence is not None:
            confs[_confidence_bin(s.confidence)] += 1
        if s.items is not None:
            items[_items_bin(s.items)] += 1
    return tops, confs, items


def drift_of(reference: Sequence[Sample], current: Sequence[Sample]) -> float | None:
    """The largest PSI over the three output distributions, or None with too few samples."""
    if len(reference) < MIN_SAMPLES or len(current) < MIN_SAMPLES:
        return None
    pairs = zip(_histograms(reference), _histograms(current), strict=True)
    return round(max(psi(ref, cur) for ref, cur in pairs), 4)


def drift_level(value: float | None) -> str:
    if value is None:
        return "-"
    return "stable" if value < STABLE else "moderate" if value < MODERATE else "SHIFT"


@dataclass(slots=True)
class _Windows:
    started: float
    current: list[Sample] = field(default_factory=list)
    reference: list[Sample] = field(default_factory=list)


@dataclass
class DriftMonitor:
    """In-memory current and reference windows per (provider, task), for the metrics.

    Each window keeps at most ``max_samples`` (a uniform thinning beyond that would be
    nicer; the first ones are kept, which is enough to catch a shift within a window)."""

    window_s: float = 3_600.0
    max_samples: int = 20_000
    clock: Callable[[], float] = time.monotonic
    _windows: dict[tuple[str, str], _Windows] = field(default_factory=dict)

    def observe(self, provider: str, task: str, sample: Sample) -> None:
        """Once per answered request: rotates only when a window has passed."""
        now = self.clock()
        key = (provider, task)
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Windows(started=now)
        elif now - w.started >= self.window_s:
            self._rotate(w, now)
        current = w.current
        if len(current) < self.max_samples:
            current.append(sample)

    def _rotate(self, w: _Windows, now: float) -> None:
        elapsed = now - w.started
        if elapsed < self.window_s:
            return
        # one window passed: the current becomes the reference; two or more: both are stale
        w.reference = w.current if elapsed < 2 * self.window_s else []
        w.current = []
        w.started = now - (elapsed % self.window_s)

    def snapshot(self) -> dict[tuple[str, str], tuple[OutputProfile | None, float | None]]:
        """Per (provider, task): the current window's profile and its drift against the reference."""
        now = self.clock()
        out: dict[tuple[str, str], tuple[OutputProfile | None, float | None]] = {}
        for key, w in self._windows.items():
            self._rotate(w, now)
            profile = OutputProfile.of(w.current) if w.current else None
            out[key] = (profile, drift_of(w.reference, w.current))
        return out
