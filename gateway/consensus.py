"""One answer from several: the merged ``consensus`` of a fan-out, per kind of task.

``merge(kind, results)`` takes the answers that succeeded, in the route's order, and
returns one result in the task's normal shape. The kind is the task's ``consensus``
column in the task table:

- ``vote`` (vision.labels, vision.moderation): a name is kept when more than half of the
  answers give it; its confidence is the mean of the confidences given (``null`` when
  none gave one); the most votes first, then the highest confidence.
- ``majority`` (text.sentiment, text.language, text.moderation): the label most answers
  give (a tie goes to the higher mean score, then to the route's order); scores averaged.
- ``boxes`` (vision.objects, vision.faces): boxes of different answers matched at IoU >= 0.5
  (objects: the same name too); a match found by more than half of the answers is kept,
  with its coordinates and confidences averaged.
- ``spans`` (text.entities, text.key_phrases): spans of different answers that overlap (the
  same type for entities) are one; kept when more than half found it, with the offsets
  most answers gave.
- ``medoid_cer`` (vision.ocr), ``medoid_chrf`` (text.translate), ``medoid_wer``
  (speech.transcribe): the answer closest to all the others (lowest summed character error
  rate, highest summed chrF, lowest summed word error rate), returned whole. A tie goes to
  the route's order.
- ``none`` (speech.synthesize): there is nothing to merge; asking is a 422.

The measures come from maintained libraries: jiwer (WER, CER) and sacrebleu (chrF).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from statistics import fmean
from typing import Any, TypeVar

from gateway.agreement import IOU_MATCH, iou
from gateway.measures import cer, chrf, wer
from omnisense.schema import (
    Box,
    DetectedLanguage,
    DetectedObject,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    KeyPhrase,
    KeyPhrasesResult,
    Label,
    LabelsResult,
    LanguageResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    SentimentResult,
    SentimentScores,
    TaskResult,
    TextModerationFlag,
    TextModerationResult,
)

T = TypeVar("T")


def mean_or_none(values: Sequence[float | None]) -> float | None:
    """The mean of the numbers given; ``None`` when no answer gave one."""
    given = [v for v in values if v is not None]
    return round(fmean(given), 6) if given else None


def majority_of(n: int) -> int:
    """How many answers make a majority of ``n``: more than half (1 of 1, 2 of 2 or 3, 3 of 4)."""
    return n // 2 + 1


# -- votes ----------------------------------------------------------------------------------------------------------


def _voted(items: Sequence[Sequence[tuple[str, float | None]]]) -> list[tuple[str, float | None]]:
    """(name, mean confidence) for the names more than half of the answers give, best first."""
    votes: Counter[str] = Counter()
    scores: dict[str, list[float | None]] = {}
    shown: dict[str, str] = {}
    for answer in items:
        seen: set[str] = set()
        for name, confidence in answer:
            key = name.lower()
            if key in seen:
                continue
            seen.add(key)
            votes[key] += 1
            scores.setdefault(key, []).append(confidence)
            shown.setdefault(key, name)
    need = majority_of(len(items))
    kept = [(key, mean_or_none(scores[key])) for key, count in votes.items() if count >= need]
    kept.sort(key=lambda kv: (-votes[kv[0]], -(kv[1] if kv[1] is not None else -1.0)))
    return [(shown[key], confidence) for key, confidence in kept]


def _labels(results: Sequence[LabelsResult]) -> LabelsResult:
    voted = _voted([[(label.name, label.confidence) for label in r.labels] for r in results])
    return LabelsResult(labels=[Label(name, confidence) for name, confidence in voted], image=results[0].image)


def _image_moderation(results: Sequence[ModerationResult]) -> ModerationResult:
    voted = _voted([[(flag.category, flag.confidence) for flag in r.flags] for r in results])
    return ModerationResult(flags=[ModerationFlag(name, conf) for name, conf in voted], image=results[0].image)


# -- majority -------------------------------------------------------------------------------------------------------


def _winner(labels: Sequence[str], score: Callable[[str], float]) -> str:
    """The label most answers give; a tie goes to the higher score, then to the first answer's."""
    counts = Counter(labels)
    order = {label: i for i, label in reversed(list(enumerate(labels)))}
    return min(counts, key=lambda label: (-counts[label], -score(label), order[label]))


def _sentiment(results: Sequence[SentimentResult]) -> SentimentResult:
    fields = ("positive", "negative", "neutral", "mixed")
    averaged = {name: fmean(getattr(r.scores, name) for r in results) for name in fields}
    label = _winner([r.label for r in results], lambda name: averaged[name])
    return SentimentResult(label=label, scores=SentimentScores(**{k: round(v, 6) for k, v in averaged.items()}))


def _language(results: Sequence[LanguageResult]) -> LanguageResult:
    confidences: dict[str, list[float | None]] = {}
    for r in results:
        for found in r.languages:
            confidences.setdefault(found.code.split("-")[0].lower(), []).append(found.confidence)
    tops = [r.languages[0].code.split("-")[0].lower() for r in results if r.languages]
    if not tops:
        return LanguageResult(languages=[])

    def mean_of(code: str) -> float:
        return mean_or_none(confidences[code]) or 0.0

    best = _winner(tops, mean_of)
    rest = sorted((code for code in confidences if code != best), key=lambda code: -mean_of(code))
    return LanguageResult(languages=[DetectedLanguage(code, mean_or_none(confidences[code])) for code in [best, *rest]])


def _text_moderation(results: Sequence[TextModerationResult]) -> TextModerationResult:
    """The verdict (flagged or not) most answers give; the categories averaged over every answer."""
    flagged = _winner(["flagged" if r.flagged else "ok" for r in results], lambda _: 0.0) == "flagged"
    scores: dict[str, list[float]] = {}
    vendor: dict[str, str | None] = {}
    for r in results:
        for flag in r.flags:
            scores.setdefault(flag.category, []).append(flag.confidence)
            vendor.setdefault(flag.category, flag.vendor_category)
    flags = [
        TextModerationFlag(category=category, confidence=round(sum(values) / len(results), 6),  # type: ignore[arg-type]
                           vendor_category=vendor[category])
        for category, values in scores.items()
    ]  # fmt: skip
    ranked = sorted(flags, key=lambda f: -f.confidence)
    return TextModerationResult(flagged=flagged, flags=ranked)


# -- boxes ----------------------------------------------------------------------------------------------------------


def _box_clusters(answers: Sequence[Sequence[tuple[str, Box, float | None]]]) -> list[list[tuple[str, Box, float | None]]]:
    """Boxes of different answers grouped greedily: each joins the cluster whose first box it overlaps most."""
    clusters: list[list[tuple[str, Box, float | None]]] = []
    owners: list[set[int]] = []
    for index, answer in enumerate(answers):
        for item in answer:
            name, box, _ = item
            best, best_iou = None, IOU_MATCH
            for c, cluster in enumerate(clusters):
                if index in owners[c] or cluster[0][0].lower() != name.lower():
                    continue
                overlap = iou(cluster[0][1], box)
                if overlap >= best_iou:
                    best, best_iou = c, overlap
            if best is None:
                clusters.append([item])
                owners.append({index})
            else:
                clusters[best].append(item)
                owners[best].add(index)
    need = majority_of(len(answers))
    return [cluster for cluster in clusters if len(cluster) >= need]


def _mean_box(boxes: Sequence[Box]) -> Box:
    left, top = fmean(b.left for b in boxes), fmean(b.top for b in boxes)
    width = min(fmean(b.width for b in boxes), 1.0 - left)
    height = min(fmean(b.height for b in boxes), 1.0 - top)
    return Box(round(left, 6), round(top, 6), round(width, 6), round(height, 6))


def _objects(results: Sequence[ObjectsResult]) -> ObjectsResult:
    clusters = _box_clusters([[(o.name, o.box, o.confidence) for o in r.objects] for r in results])
    objects = [
        DetectedObject(c[0][0], mean_or_none([x[2] for x in c]), _mean_box([x[1] for x in c]))  # type: ignore[arg-type]
        for c in clusters
    ]
    objects.sort(key=lambda o: -(o.confidence if o.confidence is not None else -1.0))
    return ObjectsResult(objects=objects, image=results[0].image)


def _faces(results: Sequence[FacesResult]) -> FacesResult:
    clusters = _box_clusters([[("face", f.box, f.confidence) for f in r.faces] for r in results])
    faces = [Face(mean_or_none([x[2] for x in c]), _mean_box([x[1] for x in c])) for c in clusters]  # type: ignore[arg-type]
    return FacesResult(faces=faces, image=results[0].image)


# -- spans ----------------------------------------------------------------------------------------------------------


def _span_clusters(answers: Sequence[Sequence[Any]], same: Callable[[Any, Any], bool]) -> list[list[Any]]:
    clusters: list[list[Any]] = []
    owners: list[set[int]] = []
    for index, answer in enumerate(answers):
        for span in answer:
            for c, cluster in enumerate(clusters):
                head = cluster[0]
                if index not in owners[c] and span.begin < head.end and head.begin < span.end and same(head, span):
                    cluster.append(span)
                    owners[c].add(index)
                    break
            else:
                clusters.append([span])
                owners.append({index})
    need = majority_of(len(answers))
    return [cluster for cluster in clusters if len(cluster) >= need]


def _commonest(cluster: Sequence[T], key: Callable[[T], Any]) -> T:
    counts = Counter(key(span) for span in cluster)
    return max(cluster, key=lambda span: counts[key(span)])


def _entities(results: Sequence[EntitiesResult]) -> EntitiesResult:
    clusters = _span_clusters([r.entities for r in results], lambda a, b: a.type == b.type)
    merged: list[Entity] = []
    for cluster in clusters:
        chosen: Entity = _commonest(cluster, lambda e: (e.begin, e.end))
        merged.append(Entity(text=chosen.text, begin=chosen.begin, end=chosen.end, type=chosen.type,
                             vendor_type=chosen.vendor_type,
                             confidence=mean_or_none([e.confidence for e in cluster])))  # type: ignore[arg-type]  # fmt: skip
    return EntitiesResult(entities=sorted(merged, key=lambda e: e.begin))


def _phrases(results: Sequence[KeyPhrasesResult]) -> KeyPhrasesResult:
    clusters = _span_clusters([r.phrases for r in results], lambda a, b: True)
    merged: list[KeyPhrase] = []
    for cluster in clusters:
        chosen: KeyPhrase = _commonest(cluster, lambda p: (p.begin, p.end))
        merged.append(KeyPhrase(text=chosen.text, begin=chosen.begin, end=chosen.end,
                                confidence=mean_or_none([p.confidence for p in cluster])))  # type: ignore[arg-type]  # fmt: skip
    return KeyPhrasesResult(phrases=sorted(merged, key=lambda p: p.begin))


# -- medoids --------------------------------------------------------------------------------------------------------


def medoid(results: Sequence[T], distance: Callable[[T, T], float]) -> T:
    """The answer with the smallest summed distance to the others; a tie goes to the first."""
    if len(results) < 3:
        return results[0]
    totals = [sum(distance(a, b) for b in results if b is not a) for a in results]
    return results[totals.index(min(totals))]


def _ocr(results: Sequence[Any]) -> Any:
    return medoid(results, lambda a, b: cer(a.text, b.text))


def _translation(results: Sequence[Any]) -> Any:
    return medoid(results, lambda a, b: 1.0 - chrf(b.text, a.text))


def _transcript(results: Sequence[Any]) -> Any:
    return medoid(results, lambda a, b: wer(a.text, b.text))


MERGES: dict[str, Callable[[Sequence[Any]], TaskResult]] = {
    "labels": _labels,
    "image_moderation": _image_moderation,
    "sentiment": _sentiment,
    "language": _language,
    "text_moderation": _text_moderation,
    "objects": _objects,
    "faces": _faces,
    "entities": _entities,
    "phrases": _phrases,
    "ocr": _ocr,
    "translation": _translation,
    "transcript": _transcript,
}
