"""Amazon Comprehend: text.sentiment, text.entities, text.key_phrases, text.language.

- Size limits (UTF-8 bytes, checked before the call, ``PayloadTooLarge``): DetectSentiment
  5,000; DetectEntities, DetectKeyPhrases and DetectDominantLanguage 100 KB (taken as
  100,000) per the current API reference (botocore 1.44's service model).
- Sentiment, entities and key phrases need a language: the request's, else the
  provider's ``default_language``. A language Comprehend lacks is ``Unsupported``
  (the next provider may serve it), checked before the call.
- Offsets: Comprehend documents ``BeginOffset``/``EndOffset`` as code points ("a multi-byte
  UTF-8 character maps to a single code point"), which is what Python indexes and what
  the schema uses, so they pass through; ``common.span`` re-places any span whose text
  does not match the input and drops what cannot be placed.
- Sentiment scores are 0-1 already; the label is the lower-cased ``Sentiment``.
- Entity types: COMMERCIAL_ITEM -> PRODUCT, TITLE -> OTHER; the vendor's type stays in
  ``vendor_type``. Scores are 0-1.
"""

from __future__ import annotations

from typing import Any, cast

from adapters.aws.clients import AwsClients
from adapters.aws.common import bcp47, raw, request_language, span, unit, utf8_limit
from adapters.base import CallContext, ProviderResult
from adapters.kit import optional_unit, parsed
from omnisense.schema import (
    DetectedLanguage,
    EntitiesResult,
    Entity,
    KeyPhrase,
    KeyPhrasesResult,
    LanguageResult,
    SentimentResult,
    SentimentScores,
    Task,
    TaskResult,
    TextRequest,
    Unsupported,
    primary,
)
from omnisense.schema.results import EntityType, SentimentLabel, by_confidence

MODEL = "comprehend"
TASKS = frozenset({Task.TEXT_SENTIMENT, Task.TEXT_ENTITIES, Task.TEXT_KEY_PHRASES, Task.TEXT_LANGUAGE})
OPERATIONS = {
    Task.TEXT_SENTIMENT: "detect_sentiment",
    Task.TEXT_ENTITIES: "detect_entities",
    Task.TEXT_KEY_PHRASES: "detect_key_phrases",
    Task.TEXT_LANGUAGE: "detect_dominant_language",
}
MAX_BYTES = {
    Task.TEXT_SENTIMENT: 5_000,
    Task.TEXT_ENTITIES: 100_000,
    Task.TEXT_KEY_PHRASES: 100_000,
    Task.TEXT_LANGUAGE: 100_000,
}
# Primary subtags Comprehend's pre-trained sentiment/entities/key-phrase models take.
LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "zh"})
ENTITY_TYPES = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "DATE": "DATE",
    "QUANTITY": "QUANTITY",
    "EVENT": "EVENT",
    "COMMERCIAL_ITEM": "PRODUCT",
    "TITLE": "OTHER",
    "OTHER": "OTHER",
}


def language_code(language: str | None, default: str) -> str:
    """Comprehend's ``LanguageCode`` for a BCP-47 tag: ``en``, ``zh``, ``zh-TW``..."""
    tag = request_language(language, default)
    assert tag is not None
    lang = primary(tag)
    if lang not in LANGUAGES:
        raise Unsupported(f"comprehend has no model for language {tag!r}", field="language")
    if lang == "zh" and ("Hant" in tag or tag.endswith(("-TW", "-HK", "-MO"))):
        return "zh-TW"
    return lang


def to_vendor(task: Task, request: TextRequest, default_language: str = "en") -> dict[str, Any]:
    utf8_limit(request.text, MAX_BYTES[task], "comprehend")
    params: dict[str, Any] = {"Text": request.text}
    if task is not Task.TEXT_LANGUAGE:
        params["LanguageCode"] = language_code(request.language, default_language)
    return params


def from_vendor(task: Task, response: dict[str, Any], request: TextRequest) -> TaskResult:
    if task is Task.TEXT_SENTIMENT:
        return sentiment_result(response)
    if task is Task.TEXT_ENTITIES:
        return entities_result(response, request.text)
    if task is Task.TEXT_KEY_PHRASES:
        return key_phrases_result(response, request.text)
    return language_result(response)


def sentiment_result(response: dict[str, Any]) -> SentimentResult:
    score = response["SentimentScore"]
    scores = SentimentScores(
        positive=optional_unit(score.get("Positive")),
        negative=optional_unit(score.get("Negative")),
        neutral=optional_unit(score.get("Neutral")),
        mixed=optional_unit(score.get("Mixed")),
    )
    label = cast(SentimentLabel, str(response["Sentiment"]).lower())
    return SentimentResult(label=label, scores=scores)


def entities_result(response: dict[str, Any], text: str) -> EntitiesResult:
    entities = []
    for item in response["Entities"]:
        placed = span(text, item.get("Text"), int(item["BeginOffset"]), int(item["EndOffset"]))
        if placed is None:
            continue
        vendor_type = str(item.get("Type", "OTHER"))
        kind = cast(EntityType, ENTITY_TYPES.get(vendor_type, "OTHER"))
        entities.append(
            Entity(
                text=placed[0],
                begin=placed[1],
                end=placed[2],
                confidence=optional_unit(item.get("Score")),
                type=kind,
                vendor_type=vendor_type,
            )
        )
    return EntitiesResult(entities=entities)


def key_phrases_result(response: dict[str, Any], text: str) -> KeyPhrasesResult:
    phrases = []
    for item in response["KeyPhrases"]:
        placed = span(text, item.get("Text"), int(item["BeginOffset"]), int(item["EndOffset"]))
        if placed is not None and placed[0]:
            phrases.append(KeyPhrase(text=placed[0], begin=placed[1], end=placed[2], confidence=unit(item["Score"])))
    return KeyPhrasesResult(phrases=phrases)


def language_result(response: dict[str, Any]) -> LanguageResult:
    found = [DetectedLanguage(bcp47(str(x["LanguageCode"])), unit(x["Score"])) for x in response["Languages"]]
    return LanguageResult(languages=sorted(found, key=by_confidence))


async def run(aws: AwsClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(task, request, aws.config.default_language)
    response = await aws.call("comprehend", OPERATIONS[task], params, ctx)
    result = parsed(aws.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
