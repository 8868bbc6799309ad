"""One answer from several: the merged ``consensus`` of a fan-out, by the task's ``consensus`` column.

``merge(spec, results)`` takes the answers that succeeded, in the route's order, and returns
one result in the task's normal shape. The row's ``Consensus`` value picks the merge, one
entry per kind in ``MERGES`` (never per task): the merges read a result by its shape (its
one list of items, the items' ``box``, ``begin``/``end`` and ``confidence``, the row's
output summary ``top``), so a new task of a known shape needs no code here.

- ``vote`` (vision.labels, vision.moderation): an item (by its name, case-insensitive) is
  kept when more than half of the answers give it; its confidence is the mean of the
  confidences given (``null`` when none gave one); the most votes first, then confidence.
- ``majority`` (text.sentiment, text.language, text.moderation): the top answer most answers
  give (languages by primary subtag); a tie goes to the higher mean confidence, then to the
  route's order. The result is the first such answer with every score averaged over all the
  answers (sentiment's four scores; each language's or category's confidence over the answers
  that name it).
- ``boxes`` (vision.objects, vision.faces): boxes of different answers matched at IoU >= 0.5
  (and the same name); a match more than half of the answers found is kept, with its
  coordinates and confidences averaged.
- ``spans`` (text.entities, text.key_phrases): overlapping spans of different answers (and the
  same type) are one; kept when more than half found it, with the offsets most answers gave.
- ``ocr_lines`` (vision.ocr), ``medoid_chrf`` (text.translate), ``medoid_wer``
  (speech.transcribe): the answer closest to all the others (the lowest summed character error
  rate, the highest summed chrF, the lowest summed word error rate), returned whole with its
  lines and words. With two answers there is no middle: the first (the route's order) stands.
- ``none`` (speech.synthesize): nothing to merge; asking for a fan-out is a 422.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from statistics import fmean
from typing import Any, TypeVar

import msgspec

from gateway.agreement import IOU_MATCH, iou, items
from gateway.measures import cer, chrf, wer
from omnisense.schema import Agreement, Box, Consensus, TaskResult, TaskSpec

T = TypeVar("T")
Merge = Callable[[TaskSpec[Any, Any], Sequence[Any]], TaskResult]


def merge(spec: TaskSpec[Any, Any], results: Sequence[TaskResult]) -> TaskResult:
    """The consensus of ``results`` (at least one), by the row's ``consensus`` column."""
    how = MERGES[spec.consensus]
    if how is None:
        raise ValueError(f"{spec.task} has no consensus")
    return how(spec, results) if len(results) > 1 else results[0]


_FIELDS: dict[type, tuple[msgspec.structs.FieldInfo, ...]] = {}


def fields_of(struct: type) -> tuple[msgspec.structs.FieldInfo, ...]:
    """``msgspec.structs.fields``, once per type: it resolves the type hints (~100 us) on every call."""
    found = _FIELDS.get(struct)
    if found is None:
        found = _FIELDS[struct] = msgspec.structs.fields(struct)
    return found


def mean_or_none(values: Sequence[float | None]) -> float | None:
    """The mean of the numbers given; ``None`` when no answer gave one."""
    given = [v for v in values if v is not None]
    return round(fmean(given), 6) if given else None


def majority_of(n: int) -> int:
    """How many answers make a majority of ``n``: more than half (1 of 1, 2 of 2 or 3, 3 of 4)."""
    return n // 2 + 1


def _rank(confidence: float | None) -> float:
    return confidence if confidence is not None else -1.0


def _name(item: Any) -> str:
    """An item's name: its first text field (``name``, ``category``, ``code``)."""
    return next(value for value in msgspec.structs.astuple(item) if isinstance(value, str))


def _with_items(result: Any, merged: list[Any]) -> Any:
    field = next(f for f in fields_of(type(result)) if isinstance(getattr(result, f.name), list))
    return msgspec.structs.replace(result, **{field.name: merged})


# -- votes ----------------------------------------------------------------------------------------------------------


def _vote(spec: TaskSpec[Any, Any], results: Sequence[Any]) -> Any:
    votes: Counter[str] = Counter()
    found: dict[str, list[Any]] = {}
    for result in results:
        for key in dict.fromkeys(_name(item).lower() for item in items(result)):
            votes[key] += 1
        for item in items(result):
            found.setdefault(_name(item).lower(), []).append(item)
    kept = []
    for key, count in votes.items():
        if count >= majority_of(len(results)):
            confidence = mean_or_none([item.confidence for item in found[key]])
            kept.append((count, msgspec.structs.replace(found[key][0], confidence=confidence)))
    kept.sort(key=lambda pair: (-pair[0], -_rank(pair[1].confidence)))
    return _with_items(results[0], [item for _, item in kept])


# -- majority -------------------------------------------------------------------------------------------------------


def _top(spec: TaskSpec[Any, Any], result: Any) -> str:
    top = (spec.summarize(result).top or "").lower()
    return top.split("-")[0] if spec.agreement is Agreement.LANGUAGE else top


def _majority(spec: TaskSpec[Any, Any], results: Sequence[Any]) -> Any:
    tops = [_top(spec, r) for r in results]
    counts = Counter(tops)
    mean_conf = {top: mean_or_none([spec.summarize(r).confidence for r in results if _top(spec, r) == top])
                 for top in counts}  # fmt: skip
    winner = min(counts, key=lambda top: (-counts[top], -_rank(mean_conf[top]), tops.index(top)))

    def key(item: Any) -> str:
        name = _name(item).lower()
        return name.split("-")[0] if spec.agreement is Agreement.LANGUAGE else name

    return _averaged(results[tops.index(winner)], results, key)


def _averaged(template: Any, results: Sequence[Any], key: Callable[[Any], str]) -> Any:
    """``template`` with each score replaced by its mean over ``results`` (by field, or by item ``key``)."""
    changes: dict[str, Any] = {}
    for field in fields_of(type(template)):
        value = getattr(template, field.name)
        if isinstance(value, msgspec.Struct) and all(_is_score(v) for v in msgspec.structs.astuple(value)):
            changes[field.name] = type(value)(*(
                mean_or_none([getattr(getattr(r, field.name), f.name) for r in results])
                for f in fields_of(type(value))
            ))  # fmt: skip
        elif (
            isinstance(value, list)
            and value
            and isinstance(value[0], msgspec.Struct)
            and hasattr(value[0], "confidence")
        ):
            given: dict[str, list[float | None]] = {}
            for r in results:
                for item in getattr(r, field.name):
                    given.setdefault(key(item), []).append(item.confidence)
            changes[field.name] = [
                msgspec.structs.replace(item, confidence=mean_or_none(given[key(item)])) for item in value
            ]
    return msgspec.structs.replace(template, **changes)


def _is_score(value: object) -> bool:
    return value is None or isinstance(value, float)


# -- boxes ----------------------------------------------------------------------------------------------------------


def _boxes(spec: TaskSpec[Any, Any], results: Sequence[Any]) -> Any:
    clusters: list[list[Any]] = []
    owners: list[set[int]] = []
    for index, result in enumerate(results):
        for item in items(result):
            best, best_iou = None, IOU_MATCH
            for c, cluster in enumerate(clusters):
                head = cluster[0]
                if index in owners[c] or getattr(head, "name", "").lower() != getattr(item, "name", "").lower():
                    continue
                overlap = iou(head.box, item.box)
                if overlap >= best_iou:
                    best, best_iou = c, overlap
            if best is None:
                clusters.append([item])
                owners.append({index})
            else:
                clusters[best].append(item)
                owners[best].add(index)
    kept = [
        msgspec.structs.replace(
            c[0], box=_mean_box([x.box for x in c]), confidence=mean_or_none([x.confidence for x in c])
        )
        for c in clusters
        if len(c) >= majority_of(len(results))
    ]
    kept.sort(key=lambda item: -_rank(item.confidence))
    return _with_items(results[0], kept)


def _mean_box(boxes: Sequence[Box]) -> Box:
    left, top = fmean(b.left for b in boxes), fmean(b.top for b in boxes)
    width = min(fmean(b.width for b in boxes), 1.0 - left)
    height = min(fmean(b.height for b in boxes), 1.0 - top)
    return Box(round(left, 6), round(top, 6), round(width, 6), round(height, 6))


# -- spans ----------------------------------------------------------------------------------------------------------


def _spans(spec: TaskSpec[Any, Any], results: Sequence[Any]) -> Any:
    clusters: list[list[Any]] = []
    owners: list[set[int]] = []
    for index, result in enumerate(results):
        for span in items(result):
            for c, cluster in enumerate(clusters):
                head = cluster[0]
                overlaps = span.begin < head.end and head.begin < span.end
                if index not in owners[c] and overlaps and getattr(head, "type", None) == getattr(span, "type", None):
                    cluster.append(span)
                    owners[c].add(index)
                    break
            else:
                clusters.append([span])
                owners.append({index})
    kept = []
    for cluster in clusters:
        if len(cluster) >= majority_of(len(results)):
            offsets = Counter((s.begin, s.end) for s in cluster)
            chosen = max(cluster, key=lambda s: offsets[(s.begin, s.end)])
            kept.append(msgspec.structs.replace(chosen, confidence=mean_or_none([s.confidence for s in cluster])))
    return _with_items(results[0], sorted(kept, key=lambda s: s.begin))


# -- medoids --------------------------------------------------------------------------------------------------------


def medoid(results: Sequence[T], distance: Callable[[T, T], float]) -> T:
    """The answer with the smallest summed distance to the others; a tie goes to the first."""
    if len(results) < 3:
        return results[0]
    totals = [sum(distance(a, b) for b in results if b is not a) for a in results]
    return results[totals.index(min(totals))]


MERGES: dict[Consensus, Merge | None] = {
    Consensus.VOTE: _vote,
    Consensus.MAJORITY: _majority,
    Consensus.BOXES: _boxes,
    Consensus.SPANS: _spans,
    Consensus.OCR_LINES: lambda spec, rs: medoid(rs, lambda a, b: cer(a.text, b.text)),
    Consensus.MEDOID_CHRF: lambda spec, rs: medoid(rs, lambda a, b: 1.0 - chrf(a.text, b.text)),
    Consensus.MEDOID_WER: lambda spec, rs: medoid(rs, lambda a, b: wer(a.text, b.text)),
    Consensus.NONE: None,
}
