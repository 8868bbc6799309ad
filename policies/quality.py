"""Measured quality per (task, language, provider, source): the ``best_quality`` strategy's facts.

A source is ``reference`` (accuracy against labelled outputs, from ``omnisense eval``) or
``agreement`` (agreement with a fan-out's consensus or a shadow's served answer). The book
holds, per key, how many samples were scored and the sum of their scores (each in [0, 1]),
over the gateway's quality window. The gateway feeds it (``gateway.quality``): each sample as
it is recorded, and every few seconds the whole window as the shared store holds it
(``replace``), so replicas that share a store rank alike.

A figure for a language is that language's; for ``language=None`` (a request that declares
none) it is the sum over every language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Source = Literal["agreement", "reference"]
SOURCES: tuple[Source, ...] = ("reference", "agreement")  # in the order best_quality prefers them


@dataclass(frozen=True, slots=True)
class QualityStat:
    score: float  # mean score in [0, 1]
    samples: int
    source: str
    language: str | None  # the language the figure is for (None: every language together)


@dataclass(frozen=True, slots=True)
class QualityTotal:
    """One aggregated row: ``samples`` scores summing to ``total``."""

    task: str
    language: str
    provider: str
    source: str
    samples: int
    total: float


_Key = tuple[str, str, str]  # (task, provider, source)


class QualityBook:
    def __init__(self) -> None:
        self._by: dict[_Key, dict[str, list[float]]] = {}  # -> language -> [samples, total]

    def add(self, task: str, language: str, provider: str, source: str, score: float, samples: int = 1) -> None:
        cell = self._by.setdefault((task, provider, source), {}).setdefault(language, [0.0, 0.0])
        cell[0] += samples
        cell[1] += score

    def replace(self, rows: Iterable[QualityTotal]) -> None:
        """The whole window as the store holds it (every replica's samples)."""
        fresh: dict[_Key, dict[str, list[float]]] = {}
        for r in rows:
            cell = fresh.setdefault((r.task, r.provider, r.source), {}).setdefault(r.language, [0.0, 0.0])
            cell[0] += r.samples
            cell[1] += r.total
        self._by = fresh

    def stat(self, provider: str, task: str, language: str | None, source: str) -> QualityStat | None:
        langs = self._by.get((task, provider, source))
        if not langs:
            return None
        if language is None:
            n = sum(c[0] for c in langs.values())
            total = sum(c[1] for c in langs.values())
        else:
            cell = langs.get(language)
            if cell is None:
                return None
            n, total = cell
        if n <= 0:
            return None
        return QualityStat(score=total / n, samples=int(n), source=source, language=language)

    def totals(self) -> list[QualityTotal]:
        """Every (task, language, provider, source) the book holds, sorted (``/metrics``)."""
        out = [
            QualityTotal(task, language, provider, source, int(cell[0]), cell[1])
            for (task, provider, source), langs in self._by.items()
            for language, cell in langs.items()
        ]
        return sorted(out, key=lambda r: (r.task, r.language, r.provider, r.source))
