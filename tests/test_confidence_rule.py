"""One rule for confidences everywhere: the vendor's number, its scale through a documented
table, or null; ``min_confidence`` keeps the unscored and means 0 when it says 0."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.aws import rekognition
from adapters.azure import vision as azure_vision
from adapters.kit import apply_min_confidence, mean
from adapters.kit.long_audio import merge
from contract_tests.fakes import azure_examples as ex
from gateway.server.openapi import openapi_document
from omnisense.schema import (
    Box,
    Face,
    FacesResult,
    ImageRequest,
    Label,
    LabelsResult,
    Media,
    OcrLine,
    OcrResult,
    Task,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    Word,
)
from omnisense.schema.requests import body_type
from omnisense.schema.results import ConventionError, by_confidence

JPEG = Media(data=b"\xff\xd8\xff" + b"0" * 64, format="jpeg", width=640, height=480)
BOX = Box(0.1, 0.1, 0.2, 0.2)


def image(**kw: Any) -> ImageRequest:
    return ImageRequest(image=JPEG, **kw)


def test_null_is_a_confidence_and_out_of_range_still_is_not() -> None:
    faces = FacesResult(faces=[Face(None, BOX)])
    decoded = msgspec.json.decode(msgspec.json.encode(faces), type=FacesResult)
    assert decoded.faces[0].confidence is None and b'"confidence":null' in msgspec.json.encode(faces)
    with pytest.raises(ConventionError):
        Label("cat", 1.5)


def test_unscored_items_sort_last_and_never_flag() -> None:
    labels = sorted([Label("a", None), Label("b", 0.2), Label("c", 0.9)], key=by_confidence)
    assert [lb.name for lb in labels] == ["c", "b", "a"]
    flags = [
        TextModerationFlag(category="toxicity", confidence=None),
        TextModerationFlag(category="hate", confidence=0.1),
    ]
    result = TextModerationResult.of(flags)
    assert not result.flagged and [f.category for f in result.flags] == ["hate", "toxicity"]


def test_min_confidence_keeps_the_unscored_and_zero_drops_nothing() -> None:
    labels = LabelsResult(labels=[Label("high", 0.9), Label("none", None), Label("low", 0.1)])
    kept = apply_min_confidence(labels, image(min_confidence=0.5))
    assert [lb.name for lb in kept.labels] == ["high", "none"]  # type: ignore[union-attr]
    assert apply_min_confidence(labels, image(min_confidence=0.0)) is labels
    assert apply_min_confidence(labels, image()) is labels
    ocr = OcrResult(text="A\nB", lines=[OcrLine("A", None), OcrLine("B", 0.2)])
    assert apply_min_confidence(ocr, image(min_confidence=0.5)).text == "A"  # type: ignore[union-attr]


def test_min_confidence_left_out_is_null_and_zero_is_zero() -> None:
    assert image().min_confidence is None and image(min_confidence=0.0).min_confidence == 0.0
    body = msgspec.json.decode(b'{"image": {"base64": "AA=="}, "min_confidence": 0}', type=body_type(ImageRequest))
    assert body.min_confidence == 0  # type: ignore[attr-defined]


def test_rekognition_gets_zero_as_zero_and_nothing_when_not_given() -> None:
    assert rekognition.to_vendor(Task.VISION_LABELS, image(min_confidence=0.0))["MinConfidence"] == 0.0
    assert "MinConfidence" not in rekognition.to_vendor(Task.VISION_LABELS, image())
    assert rekognition.to_vendor(Task.VISION_OCR, image(min_confidence=0.0))["Filters"]["WordFilter"] == {
        "MinConfidence": 0.0
    }


def test_azure_image_moderation_reads_zero_as_zero() -> None:
    answer = {**ex.ANALYZE, **ex.ANALYZE_FEATURES["Adult"]}
    default = azure_vision.from_vendor(Task.VISION_MODERATION, answer, image())
    everything = azure_vision.from_vendor(Task.VISION_MODERATION, answer, image(min_confidence=0.0))
    assert default.flags == []  # type: ignore[union-attr]  (Azure's documented example scores low)
    assert {f.category for f in everything.flags} == {"adult", "racy", "gore"}  # type: ignore[union-attr]


def test_the_mean_of_given_confidences_and_long_audio() -> None:
    assert mean([None, 0.4, 0.8]) == pytest.approx(0.6) and mean([None]) is None and mean([]) is None
    parts = [
        (0.0, TranscribeResult(text="a", confidence=None, words=[Word("a", 0.0, 0.5, None)])),
        (55.0, TranscribeResult(text="b", confidence=0.8, words=[Word("b", 0.0, 0.5, 0.8)])),
    ]
    assert merge(parts).confidence == 0.8
    assert merge([(0.0, TranscribeResult(text="", confidence=None))]).confidence is None


def _confidence_fields(schemas: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, prop)
        for name, schema in schemas.items()
        for field, prop in (schema.get("properties") or {}).items()
        if field == "confidence" or (name == "SentimentScores")
    ]


def test_the_openapi_document_allows_null_confidences() -> None:
    schemas = openapi_document()["components"]["schemas"]
    found = _confidence_fields(schemas)
    assert {name for name, _ in found} >= {
        "Label",
        "Face",
        "OcrLine",
        "KeyPhrase",
        "TranscribeResult",
        "SentimentScores",
    }
    for name, prop in found:
        assert {"type": "null"} in prop["anyOf"], name
