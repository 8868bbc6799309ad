"""The answer side of the mapping: OIP output tensors as the task's normalized result.

Pure functions. ``from_vendor`` reads the response's ``outputs`` by the names the config
declares and builds the task's result; a missing tensor, a wrong shape or a class the
task does not know is an ``UpstreamBadResponse`` (raised through ``adapters.kit.parsed``
by the provider), so a model that drifts from its declared mapping is never answered.

Classification: the scores of one input are the first row of ``scores`` ([C] or
[1, C]), named by ``classes``; the top class is ``label`` when the model returns one,
else the highest score. A label the model gives no score for has confidence null, as do
the classes it does not score (sentiment) and OCR lines and transcripts (a text tensor
carries no score).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import msgspec

from adapters.kit.convert import box_from_ratios, unit
from adapters.oip.config import OipConfig, OutputMapping
from omnisense.schema import (
    DetectedLanguage,
    DetectedObject,
    Face,
    FacesResult,
    ImageRequest,
    ImageSize,
    Label,
    LabelsResult,
    LanguageResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    OutputShape,
    SentimentResult,
    SentimentScores,
    Task,
    TaskRequest,
    TaskResult,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    TranslateRequest,
    TranslateResult,
    spec_of,
)
from omnisense.schema.results import MODERATION_CATEGORIES


class OutputTensor(msgspec.Struct, kw_only=True):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferResponse(msgspec.Struct, kw_only=True):
    outputs: list[OutputTensor]
    model_name: str = ""
    model_version: str | None = None
    id: str | None = None


class Tensors:
    """The response's outputs by name, flattened (some servers nest ``data`` by shape)."""

    def __init__(self, response: InferResponse) -> None:
        self.by_name = {t.name: t for t in response.outputs}

    def get(self, name: str) -> OutputTensor:
        tensor = self.by_name.get(name)
        if tensor is None:
            raise KeyError(f"output {name!r} missing (the model answered {sorted(self.by_name)})")
        return tensor

    def values(self, name: str) -> list[Any]:
        return _flatten(self.get(name).data)

    def strings(self, name: str) -> list[str]:
        return [_text(v) for v in self.values(name)]

    def row(self, name: str) -> list[float]:
        """The first row: the scores of the one input sent."""
        tensor = self.get(name)
        values = [float(v) for v in _flatten(tensor.data)]
        width = tensor.shape[-1] if tensor.shape else len(values)
        return values[:width]


def _flatten(data: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in data:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _text(value: Any) -> str:
    """A BYTES element: a string, or (some servers) base64 of UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"]).decode()
    return str(value)


def from_vendor(config: OipConfig, body: bytes, request: TaskRequest) -> TaskResult:
    response = msgspec.json.decode(body, type=InferResponse)
    tensors, task, out = Tensors(response), config.task, config.outputs
    shape = spec_of(task).output
    if shape is OutputShape.BOXES:
        return _detections(task, tensors, out, request)
    if shape is OutputShape.TEXT:
        assert out.text is not None
        return _text_result(task, " ".join(tensors.strings(out.text)), request, config.source_language)
    if shape is OutputShape.CLASSES:
        return _classification(task, ranked(tensors, out), request)
    raise ValueError(f"{task} ({shape} output) has no OIP mapping")  # pragma: no cover - the config refuses it


def ranked(tensors: Tensors, out: OutputMapping) -> list[tuple[str, float | None]]:
    """(class, score) best first, with the task's names; the model's own label first when it gives one
    (its score None when the model scores no such class)."""
    scored: list[tuple[str, float | None]] = []
    if out.scores and out.classes:
        row = tensors.row(out.scores)
        if len(row) != len(out.classes):
            raise ValueError(f"{out.scores} has {len(row)} scores for {len(out.classes)} classes")
        scored = [
            (name, score) for name, score in sorted(zip(out.classes, map(unit, row), strict=True), key=lambda p: -p[1])
        ]
    if out.label:
        top = _class_name(tensors.values(out.label)[0], out)
        score = dict(scored).get(top)
        scored = [(top, score)] + [p for p in scored if p[0] != top]
    return [(out.label_map.get(name, name), score) for name, score in scored]


def _class_name(value: Any, out: OutputMapping) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and out.classes:
        return out.classes[int(value)]
    return _text(value)


def _size(request: TaskRequest) -> ImageSize | None:
    if isinstance(request, ImageRequest) and request.image.width and request.image.height:
        return ImageSize(request.image.width, request.image.height)
    return None


def _classification(task: Task, scored: list[tuple[str, float | None]], request: TaskRequest) -> TaskResult:
    if not scored:
        raise ValueError("the model answered no class")
    limit = request.max_results if isinstance(request, ImageRequest) else len(scored)
    if task is Task.TEXT_SENTIMENT:
        scores: dict[str, float | None] = {"positive": None, "negative": None, "neutral": None, "mixed": None}
        for name, score in scored:
            if name not in scores:
                raise ValueError(f"{name!r} is not a sentiment label")
            scores[name] = score
        return SentimentResult(label=scored[0][0], scores=SentimentScores(**scores))  # type: ignore[arg-type]
    if task is Task.TEXT_LANGUAGE:
        return LanguageResult(languages=[DetectedLanguage(name, score) for name, score in scored])
    if task is Task.TEXT_MODERATION:
        flags = [
            TextModerationFlag(
                category=name if name in MODERATION_CATEGORIES else "other",  # type: ignore[arg-type]
                confidence=score,
                vendor_category=name,
            )
            for name, score in scored
        ]
        return TextModerationResult.of(flags)
    if task is Task.VISION_MODERATION:
        return ModerationResult(flags=[ModerationFlag(n, s) for n, s in scored[:limit]], image=_size(request))
    if task is Task.VISION_LABELS:
        return LabelsResult(labels=[Label(n, s) for n, s in scored[:limit]], image=_size(request))
    raise ValueError(f"the OIP adapter builds no {task} result from classes")


def _detections(task: Task, tensors: Tensors, out: OutputMapping, request: TaskRequest) -> TaskResult:
    assert out.boxes is not None and out.scores is not None
    coords = [float(v) for v in tensors.values(out.boxes)]
    scores = [unit(v) for v in tensors.values(out.scores)]
    if len(coords) != 4 * len(scores):
        raise ValueError(f"{out.boxes} holds {len(coords)} numbers for {len(scores)} scores (4 per box)")
    names = [_class_name(v, out) for v in tensors.values(out.label)] if out.label else []
    size = _size(request)
    boxes = []
    for i in range(len(scores)):
        a, b, c, d = coords[4 * i : 4 * i + 4]
        w, h = (c - a, d - b) if out.box_format == "xyxy" else (c, d)
        if out.box_units == "pixels":
            if size is None:
                raise ValueError("pixel boxes need the image's size")
            a, b, w, h = a / size.width, b / size.height, w / size.width, h / size.height
        boxes.append(box_from_ratios(a, b, w, h))
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    if task is Task.VISION_FACES:
        return FacesResult(faces=[Face(scores[i], boxes[i]) for i in order], image=size)
    if task is not Task.VISION_OBJECTS:
        raise ValueError(f"the OIP adapter builds no {task} result from boxes")
    objects = [DetectedObject(out.label_map.get(names[i], names[i]), scores[i], boxes[i]) for i in order]
    return ObjectsResult(objects=objects, image=size)


def _text_result(task: Task, text: str, request: TaskRequest, source_language: str | None) -> TaskResult:
    if task is Task.TEXT_TRANSLATE:
        assert isinstance(request, TranslateRequest)
        source = request.source_language or source_language
        if source is None:
            raise ValueError("the request names no source_language and the provider declares none")
        return TranslateResult(text=text, source_language=source, target_language=request.target_language)
    if task is Task.VISION_OCR:
        lines = [OcrLine(line, None) for line in text.splitlines() if line.strip()]
        return OcrResult(text=text, lines=lines, image=_size(request))
    if task is Task.SPEECH_TRANSCRIBE:
        return TranscribeResult(text=text, confidence=None)
    raise ValueError(f"the OIP adapter builds no {task} result from text")
