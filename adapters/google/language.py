"""Cloud Natural Language v2: text.sentiment (``analyzeSentiment``), text.entities
(``analyzeEntities``) and text.moderation (``moderateText``, ``flagged`` when a category
reaches the schema's ``FLAGGED_AT``).

v2 rather than v1: its entity mentions carry a ``probability`` (v1 has only salience,
which is not a confidence). text.key_phrases is not served: v2 has no syntax analysis,
and v1's noun phrases or entity salience would be a guess dressed as key phrases, so
routing skips Google for it.

- Sentiment: Google gives ``documentSentiment {score in [-1, 1], magnitude >= 0}``: one
  signed number and a strength, no label and no score per label. Label, after Google's
  guide to interpreting them (a score near 0 is neutral with a low magnitude and mixed with
  a high one): ``positive`` when score >= 0.25, ``negative`` when score <= -0.25, else
  ``mixed`` when magnitude >= 1.0, else ``neutral`` (the thresholds are ours). Scores:
  Google's score read on its own scale, positive = max(score, 0), negative =
  max(-score, 0); neutral and mixed are null, since Google gives no number for them.
- Entities: one entity per mention, at the mention's offsets. The request asks for
  ``encodingType: UTF32``, whose offsets are code points; UTF8 (bytes) and UTF16 (code
  units) offsets are converted too, so any answer lands on code points. Types:
  CONSUMER_GOOD -> PRODUCT, NUMBER and PRICE -> QUANTITY, ADDRESS -> LOCATION,
  WORK_OF_ART, PHONE_NUMBER, UNKNOWN -> OTHER; the rest by name; Google's type stays in
  ``vendor_type``. Confidence: the mention's ``probability``.
- Moderation: ``moderationCategories [{name, confidence}]``. The harm categories map to the
  fixed set: Toxic -> toxicity, Insult -> insult, Profanity -> profanity, Derogatory ->
  hate, Sexual -> sexual, Violent -> violence, "Death, Harm & Tragedy" -> other. The topic
  categories (Firearms & Weapons, Public Safety, Health, Religion & Belief, Illicit Drugs,
  War & Conflict, Politics, Finance, Legal) say what a text is about, not that it is
  harmful: they are not flags (they stay in ``raw``). Google has no threat or self-harm
  category of its own.
"""

from __future__ import annotations

from typing import Any, cast

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.google.common import enum_name, f32, raw, score
from adapters.kit import parsed, request_language, span, unit, utf8_limit
from omnisense.schema import (
    EntitiesResult,
    Entity,
    SentimentResult,
    SentimentScores,
    Task,
    TaskResult,
    TextModerationFlag,
    TextModerationResult,
    TextRequest,
)
from omnisense.schema.results import EntityType, ModerationCategory, SentimentLabel

MODEL = "natural-language-v2"  # (moderateText: its own model, named in MODEL_MODERATION)
MODEL_MODERATION = "natural-language-v2-moderation"
TASKS = frozenset({Task.TEXT_SENTIMENT, Task.TEXT_ENTITIES, Task.TEXT_MODERATION})
METHODS = {
    Task.TEXT_SENTIMENT: "analyze_sentiment",
    Task.TEXT_ENTITIES: "analyze_entities",
    Task.TEXT_MODERATION: "moderate_text",
}
MAX_BYTES = 1_000_000  # a document is at most 1 MB
PLAIN_TEXT = 1
UTF8, UTF16, UTF32 = 1, 2, 3
POSITIVE_AT, NEGATIVE_AT, MIXED_MAGNITUDE = 0.25, -0.25, 1.0
ENTITY_TYPES = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "EVENT": "EVENT",
    "DATE": "DATE",
    "CONSUMER_GOOD": "PRODUCT",
    "NUMBER": "QUANTITY",
    "PRICE": "QUANTITY",
    "ADDRESS": "LOCATION",
}
MODERATION_CATEGORIES = {
    "Toxic": "toxicity",
    "Insult": "insult",
    "Profanity": "profanity",
    "Derogatory": "hate",
    "Sexual": "sexual",
    "Violent": "violence",
    "Death, Harm & Tragedy": "other",
}


def to_vendor(request: TextRequest) -> dict[str, Any]:
    utf8_limit(request.text, MAX_BYTES, "natural language")
    document: dict[str, Any] = {"type_": PLAIN_TEXT, "content": request.text}
    language = request_language(request.language)
    if language:
        document["language_code"] = language
    return {"document": document, "encoding_type": UTF32}


def moderation_to_vendor(request: TextRequest) -> dict[str, Any]:
    request_vendor = to_vendor(request)
    del request_vendor["encoding_type"]
    return request_vendor


def sentiment_scores(value: float, magnitude: float) -> tuple[SentimentLabel, SentimentScores]:
    """Google's score and magnitude as a label and four scores (see the module's doc)."""
    value = max(-1.0, min(1.0, f32(value)))  # float32 on the wire
    magnitude = max(0.0, f32(magnitude))
    label: SentimentLabel
    if value >= POSITIVE_AT:
        label = "positive"
    elif value <= NEGATIVE_AT:
        label = "negative"
    else:
        label = "mixed" if magnitude >= MIXED_MAGNITUDE else "neutral"
    scores = SentimentScores(positive=unit(max(value, 0.0)), negative=unit(max(-value, 0.0)), neutral=None, mixed=None)
    return label, scores


def code_points(text: str, offset: int, encoding: int) -> int:
    """A Natural Language offset (in the unit of ``encoding``) as a code-point offset."""
    if encoding == UTF8:
        return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
    if encoding == UTF16:
        return len(text.encode("utf-16-le")[: 2 * offset].decode("utf-16-le", errors="ignore"))
    return offset


def entities_result(response: Any, text: str, encoding: int = UTF32) -> EntitiesResult:
    entities = []
    for entity in response.entities:
        kind = enum_name(entity, "type_")
        for mention in entity.mentions:
            content = str(mention.text.content)
            begin = code_points(text, int(mention.text.begin_offset), encoding)
            placed = span(text, content, begin, begin + len(content))
            if placed is None:
                continue
            entities.append(
                Entity(
                    text=placed[0],
                    begin=placed[1],
                    end=placed[2],
                    confidence=score(mention.probability),
                    type=cast(EntityType, ENTITY_TYPES.get(kind, "OTHER")),
                    vendor_type=kind,
                )
            )
    entities.sort(key=lambda e: (e.begin, e.end))
    return EntitiesResult(entities=entities)


def moderation_flags(response: Any) -> list[TextModerationFlag]:
    """A flag (category, confidence, Google's category) for each harm category in the answer."""
    return [
        TextModerationFlag(
            category=cast(ModerationCategory, MODERATION_CATEGORIES[str(c.name)]),
            confidence=score(c.confidence),
            vendor_category=str(c.name),
        )
        for c in response.moderation_categories
        if str(c.name) in MODERATION_CATEGORIES
    ]


def from_vendor(task: Task, response: Any, request: TextRequest) -> TaskResult:
    if task is Task.TEXT_SENTIMENT:
        sentiment = response.document_sentiment
        label, scores = sentiment_scores(sentiment.score, sentiment.magnitude)
        return SentimentResult(label=label, scores=scores)
    if task is Task.TEXT_MODERATION:
        return TextModerationResult.of(moderation_flags(response))
    return entities_result(response, request.text)


async def run(google: GoogleClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    body = moderation_to_vendor(request) if task is Task.TEXT_MODERATION else to_vendor(request)
    response = await google.call("language", METHODS[task], body, ctx)
    result = parsed(google.name, lambda: from_vendor(task, response, request))
    model = MODEL_MODERATION if task is Task.TEXT_MODERATION else MODEL
    return ProviderResult(result=result, model=model, raw=raw(response, request.include_raw))
