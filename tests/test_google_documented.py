"""The Google adapter on Google's documented example answers: OCR text as Google wrote it,
SafeSearch likelihoods through the README's table, sentiment from the one signed score,
Speech's 0.0 as "not set", and a 400 for an unsupported language as a fallback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gx
from google.cloud import speech_v1, vision_v1

from adapters.google import errors, language, speech, vision
from omnisense.schema import ImageRequest, InvalidInput, Media, Task, Unsupported

README = Path(__file__).resolve().parents[1] / "adapters" / "google" / "README.md"
IMAGE = ImageRequest(image=Media(data=b"\xff\xd8\xff" + b"0" * 64, format="jpeg", width=640, height=480))


def parse(cls: Any, body: str) -> Any:
    return cls.pb(cls.from_json(body, ignore_unknown_fields=True))


def first(body: str) -> Any:
    return vision.first_response(parse(vision_v1.BatchAnnotateImagesResponse, body))


# Google's TEXT_DETECTION example (cloud.google.com/vision/docs/ocr): the full text, and
# symbols whose detected breaks the answer does not all carry.
OCR = """{"responses": [{
  "textAnnotations": [{"locale": "en", "description": "WAITING?\\nPLEASE\\nTURN OFF\\nYOUR\\nENGINE\\n"}],
  "fullTextAnnotation": {"text": "WAITING?\\nPLEASE\\nTURN OFF\\nYOUR\\nENGINE\\n", "pages": [{"width": 640,
    "height": 480, "blocks": [{"paragraphs": [{"words": [
      {"confidence": 0.99, "symbols": [{"text": "W"}, {"text": "A"}, {"text": "I"}, {"text": "T"}, {"text": "I"},
        {"text": "N"}, {"text": "G"}, {"text": "?"}]},
      {"confidence": 0.97, "symbols": [{"text": "P"}, {"text": "L"}, {"text": "E"}, {"text": "A"}, {"text": "S"},
        {"text": "E", "property": {"detectedBreak": {"type": "LINE_BREAK"}}}]}]}]}]}]}
}]}"""


def test_ocr_text_is_full_text_annotation_text() -> None:
    result = vision.ocr_result(first(OCR), None)
    assert result.text == "WAITING?\nPLEASE\nTURN OFF\nYOUR\nENGINE"  # not "WAITING?PLEASE" rebuilt from symbols
    assert [line.confidence for line in result.lines] == [pytest.approx(0.98)]


def test_ocr_without_full_text_annotation_reads_text_annotations() -> None:
    body = '{"responses": [{"textAnnotations": [{"locale": "en", "description": "WAITING?\\nPLEASE\\n"}]}]}'
    result = vision.ocr_result(first(body), None)
    assert result.text == "WAITING?\nPLEASE"
    assert [(line.text, line.confidence, line.box) for line in result.lines] == [
        ("WAITING?", None, None),
        ("PLEASE", None, None),
    ]


def test_safe_search_example_through_the_readme_table() -> None:
    # Google's SAFE_SEARCH_DETECTION example (cloud.google.com/vision/docs/detecting-safe-search).
    body = (
        '{"responses": [{"safeSearchAnnotation": {"adult": "UNLIKELY", "spoof": "VERY_UNLIKELY",'
        ' "medical": "VERY_UNLIKELY", "violence": "LIKELY", "racy": "POSSIBLE"}}]}'
    )
    result = vision.from_vendor(Task.VISION_MODERATION, first(body), IMAGE)
    assert [(f.category, f.confidence) for f in result.flags] == [("violence", 0.75), ("racy", 0.5)]  # type: ignore[union-attr]
    rows = re.findall(r"^\s*\| ([A-Z_]+) \| (\d) \| ([\d.]+) \|$", README.read_text(), re.MULTILINE)
    assert {int(n): float(c) for _, n, c in rows} == vision.LIKELIHOOD  # the README shows the table the code uses


def test_sentiment_scores_come_from_googles_score_only() -> None:
    # Google's guide: "clearly positive" score 0.8, magnitude 3.0; "mixed" 0.0, 4.0.
    label, scores = language.sentiment_scores(0.8, 3.0)
    assert label == "positive" and (scores.positive, scores.negative, scores.neutral, scores.mixed) == (
        pytest.approx(0.8),
        0.0,
        None,
        None,
    )
    label, scores = language.sentiment_scores(0.0, 4.0)
    assert label == "mixed" and scores.mixed is None and scores.positive == 0.0


def test_speech_zero_confidence_is_not_set() -> None:
    # Google's recognize example, then an alternative without a confidence (0.0: "not set").
    body = (
        '{"results": [{"alternatives": [{"transcript": "how old is the Brooklyn Bridge", "confidence": 0.98267895}]}]}'
    )
    assert speech.from_vendor(parse(speech_v1.RecognizeResponse, body)).confidence == pytest.approx(0.98267895)
    unset = '{"results": [{"alternatives": [{"transcript": "hello", "words": [{"word": "hello"}]}]}]}'
    result = speech.from_vendor(parse(speech_v1.RecognizeResponse, unset))
    assert result.confidence is None and result.words[0].confidence is None


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("The language sw is not supported for document_sentiment analysis.", Unsupported),
        ("The language pl is not supported for entity analysis.", Unsupported),
        ("Invalid recognition 'config': bad language code.", Unsupported),
        ("Target language is invalid.", Unsupported),
        ("Request must specify image and features.", InvalidInput),
        ("Invalid text content: too few tokens (words) to process.", InvalidInput),
    ],
)
def test_a_400_for_an_unsupported_language_falls_back(message: str, cls: type[Exception]) -> None:
    error = errors.classify(gx.BadRequest(message))
    assert type(error) is cls
    assert error.fallback is (cls is Unsupported)  # type: ignore[union-attr]
