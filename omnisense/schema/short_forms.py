"""``omnisense eval``'s short expected outputs, one ``ShortForm`` per task of the table.

An expected output is either a whole result of the task or its short form: ``label``
(sentiment, labels, image moderation; video labels and moderation: the top one),
``language``, ``flagged`` with an optional
``category`` (text moderation), ``text`` (transcripts, translations, OCR), ``phrases``
(a list of strings), ``entities`` ([{text, type}]), ``objects`` ([{name, box}]),
``faces`` ([{box}]). Each builder makes the whole result the agreement measure scores
against; building runs the result's conventions, so a bad label or box is refused.
"""

from __future__ import annotations

from typing import Any

from omnisense.schema.columns import ShortForm
from omnisense.schema.results import (
    SENTIMENT_LABELS,
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
    ModeratedFrame,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    SentimentScores,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
    VideoLabelsResult,
    VideoModerationResult,
    VideoSegment,
)


def _sentiment(e: dict[str, Any]) -> SentimentResult:
    scores = {k: 1.0 if k == e["label"] else 0.0 for k in SENTIMENT_LABELS}
    return SentimentResult(label=e["label"], scores=SentimentScores(**scores))


def _text_moderation(e: dict[str, Any]) -> TextModerationResult:
    flags = [TextModerationFlag(category=e.get("category", "toxicity"), confidence=1.0 if e["flagged"] else 0.0)]
    return TextModerationResult.of(flags)


def _entities(e: dict[str, Any]) -> EntitiesResult:
    def kind(item: str | dict[str, Any]) -> Any:
        return "OTHER" if isinstance(item, str) else item.get("type", "OTHER")

    return EntitiesResult(entities=[Entity(**_span(item), type=kind(item)) for item in e["entities"]])


def _phrases(e: dict[str, Any]) -> KeyPhrasesResult:
    return KeyPhrasesResult(phrases=[KeyPhrase(**_span(item)) for item in e["phrases"]])


def _span(item: str | dict[str, Any]) -> dict[str, Any]:
    text = item if isinstance(item, str) else item["text"]
    return {"text": text, "begin": 0, "end": len(text), "confidence": 1.0}


def _box(b: dict[str, float]) -> Box:
    return Box(b["left"], b["top"], b["width"], b["height"])


def _objects(e: dict[str, Any]) -> ObjectsResult:
    return ObjectsResult(objects=[DetectedObject(o["name"], 1.0, _box(o["box"])) for o in e["objects"]])


def _faces(e: dict[str, Any]) -> FacesResult:
    return FacesResult(faces=[Face(1.0, _box(f["box"])) for f in e["faces"]])


LABELS = ShortForm("label", lambda e: LabelsResult(labels=[Label(e["label"], 1.0)]))
OBJECTS = ShortForm("objects", _objects)
FACES = ShortForm("faces", _faces)
OCR = ShortForm("text", lambda e: OcrResult(text=e["text"], lines=[]))
IMAGE_MODERATION = ShortForm("label", lambda e: ModerationResult(flags=[ModerationFlag(e["label"], 1.0)]))
SENTIMENT = ShortForm("label", _sentiment)
ENTITIES = ShortForm("entities", _entities)
KEY_PHRASES = ShortForm("phrases", _phrases)
LANGUAGE = ShortForm("language", lambda e: LanguageResult(languages=[DetectedLanguage(e["language"], 1.0)]))
TRANSLATION = ShortForm("text", lambda e: TranslateResult(text=e["text"], source_language="en", target_language="en"))
TEXT_MODERATION = ShortForm("flagged", _text_moderation)
TRANSCRIPT = ShortForm("text", lambda e: TranscribeResult(text=e["text"], confidence=1.0))
VIDEO_LABELS = ShortForm(
    "label",
    lambda e: VideoLabelsResult(segments=[VideoSegment(name=e["label"], confidence=1.0, start_s=0.0, end_s=0.0)]),
)
VIDEO_MODERATION = ShortForm(
    "label",
    lambda e: VideoModerationResult(frames=[ModeratedFrame(time_s=0.0, category=e["label"], confidence=1.0)]),
)
