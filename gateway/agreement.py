"""How much two answers to one request agree: the shadow comparison and ``omnisense eval``.

``compare(task, reference, candidate)`` scores ``candidate`` against ``reference`` (the
served answer for a shadow; the expected output for an eval) with the measure the task's
row names (``TaskSpec.agreement``), resolved through ``MEASURES``, one entry per measure:

- ``label``: 1 for the same top answer (the row's output summary ``top``: the sentiment
  label, the top label or moderation category, text moderation's category or ``ok``;
  no answer on both sides is the same), case-insensitive; agrees at 1.
- ``language``: the same, comparing languages by primary subtag (metric ``label``).
- ``overlap`` (spans): F1 of the result's spans as (text, type) pairs, case-insensitive;
  agrees >= 0.8.
- ``iou`` (boxes): F1 of the result's boxes matched one-to-one at IoU >= 0.5 and the
  same name (faces have none); agrees >= 0.8.
- ``wer``: word error rate of the candidate's ``text`` against the reference's (jiwer; lower
  is better); agrees <= 0.2.
- ``chars``: character overlap of the ``text``, 2 x the characters of their longest common
  subsequence / both lengths (rapidfuzz); agrees >= 0.8.
- ``none``: not compared (None): two voices' audio has no agreement to speak of.

Pure functions over the schema's result types; nothing here imports the rest of the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from rapidfuzz import fuzz

from gateway.measures import squeezed, wer
from omnisense.schema import Agreement, Box, Task, TaskResult, TaskSpec, spec_of

IOU_MATCH = 0.5
OVERLAP_AGREES = 0.8
WER_AGREES = 0.2


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    metric: str  # label | overlap | iou | wer | chars
    value: float
    agrees: bool


def compare(task: Task, reference: TaskResult, candidate: TaskResult) -> Comparison | None:
    """``candidate`` scored against ``reference`` with ``task``'s measure; None when not comparable."""
    spec = spec_of(task)
    measure = MEASURES[spec.agreement]
    if measure is None or type(reference) is not type(candidate):
        return None
    value = round(measure.score(spec, reference, candidate), 4)
    return Comparison(metric=measure.metric, value=value, agrees=measure.agrees(value))


# -- the metrics ------------------------------------------------------------------------------------------------------


def f1(reference: Sequence[Any], candidate: Sequence[Any]) -> float:
    """F1 of two multisets; two empty ones agree fully."""
    if not reference and not candidate:
        return 1.0
    left = list(reference)
    matched = 0
    for item in candidate:
        if item in left:
            left.remove(item)
            matched += 1
    return 2 * matched / (len(reference) + len(candidate))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (fractions of the image)."""
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    inter = max(0.0, w) * max(0.0, h)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def box_f1(reference: Sequence[tuple[str, Box]], candidate: Sequence[tuple[str, Box]]) -> float:
    """F1 of boxes matched greedily, best IoU first, one-to-one, at IoU >= 0.5 and the same name."""
    if not reference and not candidate:
        return 1.0
    pairs = sorted(
        (
            (iou(rb, cb), i, j)
            for i, (rn, rb) in enumerate(reference)
            for j, (cn, cb) in enumerate(candidate)
            if rn == cn
        ),
        reverse=True,
    )
    used_r: set[int] = set()
    used_c: set[int] = set()
    for score, i, j in pairs:
        if score < IOU_MATCH:
            break
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
    return 2 * len(used_r) / (len(reference) + len(candidate))


def char_overlap(a: str, b: str) -> float:
    """Character overlap: 2 x the characters of the longest common subsequence / both lengths (rapidfuzz)."""
    a, b = squeezed(a), squeezed(b)
    if not a and not b:
        return 1.0
    return float(fuzz.ratio(a, b)) / 100.0


# -- the measures ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    metric: str  # the name comparisons and eval reports carry
    score: Callable[[TaskSpec[Any, Any], Any, Any], float]  # (row, reference, candidate) -> value
    agrees: Callable[[float], bool]


def _top(spec: TaskSpec[Any, Any], result: Any) -> str:
    return (spec.summarize(result).top or "").lower()


def _label(spec: TaskSpec[Any, Any], r: Any, c: Any) -> float:
    return 1.0 if _top(spec, r) == _top(spec, c) else 0.0


def _language(spec: TaskSpec[Any, Any], r: Any, c: Any) -> float:
    return 1.0 if _top(spec, r).split("-")[0] == _top(spec, c).split("-")[0] else 0.0


def items(result: msgspec.Struct) -> list[Any]:
    """The result's list of items (its spans or boxes): its one list field."""
    lists = [value for value in msgspec.structs.astuple(result) if isinstance(value, list)]
    if len(lists) != 1:
        raise TypeError(f"{type(result).__name__} has {len(lists)} lists of items, not one")
    return lists[0]


def _spans(spec: TaskSpec[Any, Any], r: Any, c: Any) -> float:
    def keys(x: Any) -> list[tuple[str, str | None]]:
        return [(s.text.lower(), getattr(s, "type", None)) for s in items(x)]

    return f1(keys(r), keys(c))


def _boxes(spec: TaskSpec[Any, Any], r: Any, c: Any) -> float:
    def boxes(x: Any) -> list[tuple[str, Box]]:
        return [(getattr(b, "name", "").lower(), b.box) for b in items(x)]

    return box_f1(boxes(r), boxes(c))


def _at_least(threshold: float) -> Callable[[float], bool]:
    return lambda value: value >= threshold


MEASURES: dict[Agreement, Measure | None] = {
    Agreement.LABEL: Measure("label", _label, _at_least(1.0)),
    Agreement.LANGUAGE: Measure("label", _language, _at_least(1.0)),
    Agreement.SPANS: Measure("overlap", _spans, _at_least(OVERLAP_AGREES)),
    Agreement.BOXES: Measure("iou", _boxes, _at_least(OVERLAP_AGREES)),
    Agreement.WER: Measure("wer", lambda spec, r, c: wer(r.text, c.text), lambda value: value <= WER_AGREES),
    Agreement.CHARS: Measure("chars", lambda spec, r, c: char_overlap(r.text, c.text), _at_least(OVERLAP_AGREES)),
    Agreement.NONE: None,
}
