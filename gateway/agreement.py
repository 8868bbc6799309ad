"""How much two answers to one request agree, per task: the shadow comparison and ``omnisense eval``.

``compare(task, reference, candidate)`` scores ``candidate`` against ``reference`` (the
served answer for a shadow; the expected output for an eval) with the task's metric:

- text.sentiment -- ``label``: 1 for the same label, else 0; agrees at 1.
- text.language, vision.labels, vision.moderation -- ``label``: the same top answer
  (languages by primary subtag; no answer on both sides is the same); agrees at 1.
- text.moderation -- ``label``: the same ``flagged``, and when flagged the same top category.
- text.entities -- ``overlap``: F1 of the (text, type) pairs, case-insensitive; agrees >= 0.8.
- text.key_phrases -- ``overlap``: F1 of the phrases, case-insensitive; agrees >= 0.8.
- vision.objects, vision.faces -- ``iou``: F1 of the boxes matched one-to-one at
  IoU >= 0.5 (objects: the same name too); agrees >= 0.8.
- speech.transcribe -- ``wer``: word error rate of the candidate against the reference
  (lower is better); agrees <= 0.2.
- text.translate, vision.ocr -- ``chars``: character overlap, 2 x matching characters /
  both lengths (difflib); agrees >= 0.8.

speech.synthesize is not compared (None): two voices' audio has no agreement to speak of.
Pure functions over the schema's result types; nothing here imports the rest of the gateway.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from omnisense.schema import (
    Box,
    EntitiesResult,
    FacesResult,
    KeyPhrasesResult,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    Task,
    TaskResult,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
)

IOU_MATCH = 0.5
OVERLAP_AGREES = 0.8
WER_AGREES = 0.2
MAX_CHARS = 5_000  # character overlap and WER are quadratic: longer texts are cut
MAX_WORDS = 2_000


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    metric: str  # label | overlap | iou | wer | chars
    value: float
    agrees: bool


def compare(task: Task, reference: TaskResult, candidate: TaskResult) -> Comparison | None:
    """``candidate`` scored against ``reference`` with ``task``'s metric; None when not comparable."""
    scorer = _SCORERS.get(task)
    if scorer is None or type(reference) is not type(candidate):
        return None
    metric, value = scorer(reference, candidate)
    value = round(value, 4)
    if metric == "wer":
        return Comparison(metric=metric, value=value, agrees=value <= WER_AGREES)
    threshold = 1.0 if metric == "label" else OVERLAP_AGREES
    return Comparison(metric=metric, value=value, agrees=value >= threshold)


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


_WORD = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:MAX_WORDS]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words (Levenshtein on words)."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)


def char_overlap(a: str, b: str) -> float:
    a, b = " ".join(a.split())[:MAX_CHARS], " ".join(b.split())[:MAX_CHARS]
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# -- per task ----------------------------------------------------------------------------------------------------


def _same(a: str | None, b: str | None) -> tuple[str, float]:
    return "label", 1.0 if (a or "").lower() == (b or "").lower() else 0.0


def _sentiment(r: Any, c: Any) -> tuple[str, float]:
    return _same(r.label, c.label)


def _language(r: Any, c: Any) -> tuple[str, float]:
    def top(x: LanguageResult) -> str | None:
        return x.languages[0].code.split("-")[0] if x.languages else None

    return _same(top(r), top(c))


def _labels(r: Any, c: Any) -> tuple[str, float]:
    return _same(r.labels[0].name if r.labels else None, c.labels[0].name if c.labels else None)


def _image_moderation(r: Any, c: Any) -> tuple[str, float]:
    return _same(r.flags[0].category if r.flags else None, c.flags[0].category if c.flags else None)


def _text_moderation(r: Any, c: Any) -> tuple[str, float]:
    def verdict(x: TextModerationResult) -> str:
        return x.flags[0].category if x.flagged and x.flags else "ok"

    return _same(verdict(r), verdict(c))


def _entities(r: Any, c: Any) -> tuple[str, float]:
    def keys(x: EntitiesResult) -> list[tuple[str, str]]:
        return [(e.text.lower(), e.type) for e in x.entities]

    return "overlap", f1(keys(r), keys(c))


def _phrases(r: Any, c: Any) -> tuple[str, float]:
    def keys(x: KeyPhrasesResult) -> list[str]:
        return [p.text.lower() for p in x.phrases]

    return "overlap", f1(keys(r), keys(c))


def _objects(r: Any, c: Any) -> tuple[str, float]:
    def boxes(x: ObjectsResult) -> list[tuple[str, Box]]:
        return [(o.name.lower(), o.box) for o in x.objects]

    return "iou", box_f1(boxes(r), boxes(c))


def _faces(r: Any, c: Any) -> tuple[str, float]:
    def boxes(x: FacesResult) -> list[tuple[str, Box]]:
        return [("face", f.box) for f in x.faces]

    return "iou", box_f1(boxes(r), boxes(c))


def _transcript(r: Any, c: Any) -> tuple[str, float]:
    return "wer", wer(r.text, c.text)


def _chars(r: Any, c: Any) -> tuple[str, float]:
    return "chars", char_overlap(r.text, c.text)


_SCORERS: dict[Task, Callable[[Any, Any], tuple[str, float]]] = {
    Task.TEXT_SENTIMENT: _sentiment,
    Task.TEXT_LANGUAGE: _language,
    Task.VISION_LABELS: _labels,
    Task.VISION_MODERATION: _image_moderation,
    Task.TEXT_MODERATION: _text_moderation,
    Task.TEXT_ENTITIES: _entities,
    Task.TEXT_KEY_PHRASES: _phrases,
    Task.VISION_OBJECTS: _objects,
    Task.VISION_FACES: _faces,
    Task.SPEECH_TRANSCRIBE: _transcript,
    Task.TEXT_TRANSLATE: _chars,
    Task.VISION_OCR: _chars,
}

# The result types each scorer reads, for readers of this module.
COMPARED: dict[Task, type[TaskResult]] = {
    Task.TEXT_SENTIMENT: SentimentResult,
    Task.TEXT_LANGUAGE: LanguageResult,
    Task.VISION_LABELS: LabelsResult,
    Task.VISION_MODERATION: ModerationResult,
    Task.TEXT_MODERATION: TextModerationResult,
    Task.TEXT_ENTITIES: EntitiesResult,
    Task.TEXT_KEY_PHRASES: KeyPhrasesResult,
    Task.VISION_OBJECTS: ObjectsResult,
    Task.VISION_FACES: FacesResult,
    Task.SPEECH_TRANSCRIBE: TranscribeResult,
    Task.TEXT_TRANSLATE: TranslateResult,
    Task.VISION_OCR: OcrResult,
}
