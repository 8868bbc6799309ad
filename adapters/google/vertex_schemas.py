"""Pure mappings between a task and a Vertex AI endpoint's instances and predictions.

The documented AutoML prediction schemas
(``gs://google-cloud-aiplatform/schema/predict/{instance,params,prediction}/*.yaml``):

- ``image_classification`` (vision.labels): instance ``{"content": <base64>}``, parameters
  ``{"confidenceThreshold", "maxPredictions"}``; prediction ``{"ids", "displayNames",
  "confidences"}``, one confidence per name.
- ``image_object_detection`` (vision.objects): the same, plus ``"bboxes"``: one
  ``[xMin, xMax, yMin, yMax]`` per name, as fractions of the image (mind the order: both x
  first, then both y).
- ``text_sentiment`` (text.sentiment): instance ``{"content": text, "mimeType": "text/plain"}``;
  prediction ``{"sentiment": n}`` with n in 0..sentimentMax (the model's own scale, the
  provider's ``sentiment_max``). r = n / sentimentMax; label positive when r > 0.5,
  negative when r < 0.5, neutral at 0.5; scores positive = max(0, 2r - 1),
  negative = max(0, 1 - 2r) (the model's scale read as a signed score, as for Natural
  Language), neutral and mixed null (the model gives no number for them). A text
  *classification* model whose classes are named positive/negative/neutral/mixed also fits:
  its ``displayNames``/``confidences`` are the scores (normalized to sum 1; a class the model
  does not score is null), the label the best.
- ``custom``: the declared ``mapping`` (``config.FieldMap``) names the instance field that
  takes the input and the prediction fields (dotted paths) that hold the labels and
  scores, or a single score (``score_range: unit`` for 0..1, ``signed`` for -1..1,
  mapped as r above). A label with no score field has confidence null.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from adapters.google.config import FieldMap, VertexConfig
from adapters.kit import box_from_ratios, image_size, optional_unit, unit
from omnisense.schema import (
    DetectedObject,
    ImageRequest,
    InvalidInput,
    Label,
    LabelsResult,
    ObjectsResult,
    SentimentResult,
    SentimentScores,
    Task,
    TaskRequest,
    TaskResult,
    TextRequest,
)
from omnisense.schema.results import SENTIMENT_LABELS, SentimentLabel, by_confidence


def _b64(request: ImageRequest) -> str:
    if not request.image.data:
        raise InvalidInput("the image is empty", field="image")
    return base64.b64encode(request.image.data).decode("ascii")


def _text(request: TextRequest) -> str:
    if not request.text.strip():
        raise InvalidInput("the text is empty", field="text")
    return request.text


def put(target: dict[str, Any], path: str, value: Any) -> None:
    """``put(d, "image.bytesBase64Encoded", v)`` sets ``d["image"]["bytesBase64Encoded"] = v``."""
    *parents, leaf = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value


def pick(source: Any, path: str) -> Any:
    """The value at a dotted ``path`` of a prediction (KeyError/TypeError when absent)."""
    for key in path.split("."):
        source = source[key]
    return source


def to_vendor(config: VertexConfig, request: TaskRequest) -> dict[str, Any]:
    """The ``:predict`` body for one request: ``{"instances": [one], "parameters": {...}}``."""
    params = dict(config.parameters)
    instance: dict[str, Any] = {}
    if config.schema == "custom":
        mapping = config.mapping
        assert mapping is not None
        params = {**mapping.parameters, **params}
        if mapping.input == "image_base64":
            assert isinstance(request, ImageRequest)
            put(instance, mapping.instance, _b64(request))
        else:
            assert isinstance(request, TextRequest)
            put(instance, mapping.instance, _text(request))
    elif isinstance(request, ImageRequest):
        instance["content"] = _b64(request)
        params.setdefault("maxPredictions", request.max_results)
        if request.min_confidence is not None:
            params.setdefault("confidenceThreshold", request.min_confidence)
    else:
        assert isinstance(request, TextRequest)
        instance = {"content": _text(request), "mimeType": "text/plain"}
    body: dict[str, Any] = {"instances": [instance]}
    if params:
        body["parameters"] = params
    return body


def from_vendor(config: VertexConfig, answer: Any, request: TaskRequest) -> TaskResult:
    """The task's result from the first prediction of a ``:predict`` answer."""
    prediction = answer["predictions"][0]
    if config.schema == "image_classification":
        assert isinstance(request, ImageRequest)
        return labels_result(prediction["displayNames"], prediction["confidences"], request)
    if config.schema == "image_object_detection":
        assert isinstance(request, ImageRequest)
        return objects_result(prediction, request)
    if config.schema == "text_sentiment":
        if "sentiment" in prediction:
            return ratio_sentiment(float(prediction["sentiment"]) / config.sentiment_max)
        return class_sentiment(prediction["displayNames"], prediction["confidences"])
    assert config.mapping is not None
    return custom_result(config.task, config.mapping, prediction, request)


def labels_result(names: list[Any], scores: list[Any], request: ImageRequest) -> LabelsResult:
    if len(names) != len(scores):
        raise ValueError(f"{len(names)} names but {len(scores)} confidences")
    labels = sorted((Label(str(n), optional_unit(s)) for n, s in zip(names, scores, strict=True)), key=by_confidence)
    return LabelsResult(labels=labels[: request.max_results], image=image_size(request.image))


def objects_result(prediction: dict[str, Any], request: ImageRequest) -> ObjectsResult:
    names, scores, boxes = prediction["displayNames"], prediction["confidences"], prediction["bboxes"]
    if not len(names) == len(scores) == len(boxes):
        raise ValueError("displayNames, confidences and bboxes differ in length")
    objects = []
    for name, score, (x_min, x_max, y_min, y_max) in zip(names, scores, boxes, strict=True):
        box = box_from_ratios(x_min, y_min, float(x_max) - float(x_min), float(y_max) - float(y_min))
        objects.append(DetectedObject(str(name), unit(score), box))
    objects.sort(key=by_confidence)
    return ObjectsResult(objects=objects[: request.max_results], image=image_size(request.image))


def ratio_sentiment(ratio: float) -> SentimentResult:
    """A 0..1 sentiment (0 most negative) as a label and four scores (see the module's doc)."""
    r = unit(ratio)
    label: SentimentLabel = "positive" if r > 0.5 else "negative" if r < 0.5 else "neutral"
    scores = SentimentScores(
        positive=unit(max(0.0, 2 * r - 1)), negative=unit(max(0.0, 1 - 2 * r)), neutral=None, mixed=None
    )
    return SentimentResult(label=label, scores=scores)


def class_sentiment(names: list[Any], scores: list[Any]) -> SentimentResult:
    """Classes named positive/negative/neutral/mixed with their confidences."""
    found = {str(n).lower(): float(s) for n, s in zip(names, scores, strict=True)}
    known = {k: v for k, v in found.items() if k in SENTIMENT_LABELS}
    total = sum(known.values())
    if not known or total <= 0:
        raise ValueError(f"no sentiment class among {sorted(found)}")
    values = {k: unit(known[k] / total) if k in known else None for k in SENTIMENT_LABELS}
    best = cast(SentimentLabel, max(known, key=lambda k: known[k]))
    return SentimentResult(label=best, scores=SentimentScores(**values))


def custom_result(task: Task, mapping: FieldMap, prediction: Any, request: TaskRequest) -> TaskResult:
    if task is Task.VISION_LABELS:
        assert isinstance(request, ImageRequest) and mapping.label is not None
        names = pick(prediction, mapping.label)
        if isinstance(names, str):
            score = pick(prediction, mapping.score) if mapping.score else None
            return labels_result([names], [score], request)
        return labels_result(list(names), list(pick(prediction, mapping.scores or "")), request)
    if mapping.score:
        value = float(pick(prediction, mapping.score))
        return ratio_sentiment((value + 1) / 2 if mapping.score_range == "signed" else value)
    assert mapping.label is not None and mapping.scores is not None
    return class_sentiment(list(pick(prediction, mapping.label)), list(pick(prediction, mapping.scores)))
