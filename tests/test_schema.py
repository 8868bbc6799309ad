"""The schema's conventions hold wherever a result is built or decoded."""

from __future__ import annotations

import msgspec
import pytest

from omnisense.schema import (
    Box,
    ConventionError,
    DetectedLanguage,
    Entity,
    Label,
    LabelsResult,
    Price,
    SentimentResult,
    SentimentScores,
    Task,
    Unit,
    normalize_language,
)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Box(0.1, 0.1, 140, 0.2),
        lambda: Box(0.6, 0.1, 0.5, 0.2),
        lambda: Label("cat", 99.0),
        lambda: Label("cat", -0.1),
        lambda: Entity(text="x", begin=3, end=1, confidence=0.5, type="PERSON"),
        lambda: Entity(text="x", begin=0, end=1, confidence=0.5, type="PEOPLE"),  # type: ignore[arg-type]
        lambda: SentimentResult(label="happy", scores=SentimentScores(1, 0, 0, 0)),  # type: ignore[arg-type]
        lambda: DetectedLanguage("klingon", 0.9),
    ],
)
def test_results_that_break_a_convention_cannot_be_built(build: object) -> None:
    with pytest.raises(ConventionError):
        build()  # type: ignore[operator]


def test_decoding_a_vendor_scale_confidence_fails() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"confidence must be in \[0, 1\]"):
        msgspec.json.decode(b'{"labels": [{"name": "cat", "confidence": 99}]}', type=LabelsResult)


@pytest.mark.parametrize(
    ("tag", "canonical"), [("en", "en"), ("pt_br", "pt-BR"), ("ZH-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")]
)
def test_language_tags_normalize(tag: str, canonical: str) -> None:
    assert normalize_language(tag) == canonical


@pytest.mark.parametrize("tag", ["xx", "english", "e", "en-", ""])
def test_unknown_language_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError):
        normalize_language(tag)


def test_task_paths() -> None:
    assert Task.TEXT_KEY_PHRASES.path == "/v1/text/key-phrases"
    assert Task.VIDEO_LABELS.path == "/v1/video/labels"
    assert {t.modality for t in Task} == {"vision", "text", "speech", "video"}
    assert len(Task) == 16


def test_price_with_blocks_and_minimum() -> None:
    # Comprehend: $0.0001 per 100-character unit, 3 units minimum.
    comprehend = Price(usd=0.0001, per=100, unit=Unit.CHARACTER, minimum=300, increment=100)
    assert comprehend.cost(10) == pytest.approx(0.0003)
    assert comprehend.cost(301) == pytest.approx(0.0004)
    polly = Price(usd=4.0, per=1_000_000, unit=Unit.CHARACTER)
    assert polly.cost(1000) == pytest.approx(0.004)
