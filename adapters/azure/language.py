"""Azure AI Language (Text Analytics 5.4, ``POST /language/:analyze-text?api-version=2023-04-01``):
text.sentiment, text.entities, text.key_phrases, text.language.

- One document per request, at most 5,120 characters (the synchronous API's limit, checked
  before the call). Sentiment, entities and key phrases send the request's language, else
  the provider's ``default_language``; offsets are asked as Unicode code points (the
  Python SDK's default ``string_index_type``), which is what the schema uses.
- **A per-document error inside a 200** (``results.errors[]``) is never an empty result:
  ``UnsupportedLanguageCode`` is ``Unsupported`` (the next provider may know the language),
  any other is ``UpstreamBadResponse``; both fall back.
- Sentiment: labels are lowercase ``positive``/``neutral``/``negative``/``mixed`` with three
  ``confidenceScores`` (positive, neutral, negative; they sum to 1) and no mixed score. The
  three pass through as they are; ``mixed`` is null (Azure gives no number for it), also
  for a ``mixed`` document.
- Entity categories -> the fixed set: Person -> PERSON; Location, Address -> LOCATION;
  Organization -> ORGANIZATION; DateTime -> DATE; Quantity -> QUANTITY; Event -> EVENT;
  Product -> PRODUCT; everything else (PersonType, Skill, PhoneNumber, Email, URL, IP ...)
  -> OTHER. ``vendor_type`` is ``Category`` or ``Category/Subcategory`` (``Location/GPE``).
- Key phrases come **without offsets or scores** from the API: each phrase is located in the
  input (first occurrence, case-insensitive when the exact one is absent) and has
  confidence null; a phrase that cannot be found in the input is dropped.
- Language: ``detectedLanguage {iso6391Name, confidenceScore}``, one per document; Azure's
  ``(Unknown)`` answer is an empty list.
"""

from __future__ import annotations

from typing import Any, cast

from adapters.azure.clients import AzureClients
from adapters.azure.common import raw
from adapters.azure.errors import error_for
from adapters.base import CallContext, ProviderResult
from adapters.kit import locate, parsed, request_primary, span, unit
from omnisense.schema import (
    DetectedLanguage,
    EntitiesResult,
    Entity,
    InvalidInput,
    KeyPhrase,
    KeyPhrasesResult,
    LanguageResult,
    OmnisenseError,
    PayloadTooLarge,
    SentimentResult,
    SentimentScores,
    Task,
    TaskResult,
    TextRequest,
    Unsupported,
    UpstreamBadResponse,
    normalize_language,
)
from omnisense.schema.results import EntityType, SentimentLabel

MODEL = "azure-language"
API_VERSION = "2023-04-01"  # pinned on the client (``clients._language``): the version this module reads
TASKS = frozenset({Task.TEXT_SENTIMENT, Task.TEXT_ENTITIES, Task.TEXT_KEY_PHRASES, Task.TEXT_LANGUAGE})
METHODS = {
    Task.TEXT_SENTIMENT: "analyze_sentiment",
    Task.TEXT_ENTITIES: "recognize_entities",
    Task.TEXT_KEY_PHRASES: "extract_key_phrases",
    Task.TEXT_LANGUAGE: "detect_language",
}
MAX_CHARS = 5_120
ENTITY_TYPES = {
    "Person": "PERSON",
    "Location": "LOCATION",
    "Address": "LOCATION",
    "Organization": "ORGANIZATION",
    "DateTime": "DATE",
    "Quantity": "QUANTITY",
    "Event": "EVENT",
    "Product": "PRODUCT",
}


def to_vendor(task: Task, request: TextRequest, default_language: str = "en") -> dict[str, Any]:
    """The keyword arguments of the SDK method for ``task`` (documents included)."""
    if not request.text.strip():
        raise InvalidInput("the text is empty", field="text")
    if len(request.text) > MAX_CHARS:
        raise PayloadTooLarge(
            f"azure language takes at most {MAX_CHARS} characters, got {len(request.text)}", field="text"
        )
    kwargs: dict[str, Any] = {"documents": [{"id": "1", "text": request.text}]}
    if task is Task.TEXT_SENTIMENT:
        kwargs["show_opinion_mining"] = False
    if task is not Task.TEXT_LANGUAGE:
        kwargs["documents"][0]["language"] = request_primary(request.language, default_language)
    return kwargs


def document_error(results: dict[str, Any]) -> OmnisenseError | None:
    """The error of the first failed document of a 200 answer, if any."""
    errors = results.get("errors") or []
    if not errors:
        return None
    error = errors[0].get("error") or {}
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    inner = error.get("innererror") or {}
    if inner.get("code"):
        code, message = str(inner["code"]), str(inner.get("message") or message)
    if code == "UnsupportedLanguageCode":
        return Unsupported(f"azure language: {code}: {message}"[:500], field="language")
    mapped = error_for(200, code, message)
    if isinstance(mapped, Unsupported):
        return mapped
    return UpstreamBadResponse(f"azure language: error inside a 200: {code}: {message}"[:500])


def document(response: dict[str, Any]) -> dict[str, Any]:
    """The one document of an answer, raising the per-document error when there is one."""
    results = response["results"]
    failed = document_error(results)
    if failed is not None:
        raise failed
    docs = results["documents"]
    if not docs:
        raise UpstreamBadResponse("azure language answered no document and no error")
    doc: dict[str, Any] = docs[0]
    return doc


def from_vendor(task: Task, response: dict[str, Any], request: TextRequest) -> TaskResult:
    doc = document(response)
    if task is Task.TEXT_SENTIMENT:
        return sentiment_result(doc)
    if task is Task.TEXT_ENTITIES:
        return entities_result(doc, request.text)
    if task is Task.TEXT_KEY_PHRASES:
        return key_phrases_result(doc, request.text)
    return language_result(doc)


def sentiment_result(doc: dict[str, Any]) -> SentimentResult:
    label = str(doc["sentiment"]).lower()
    scores = doc["confidenceScores"]
    pos, neu, neg = unit(scores["positive"]), unit(scores["neutral"]), unit(scores["negative"])
    out = SentimentScores(positive=pos, negative=neg, neutral=neu, mixed=None)
    return SentimentResult(label=cast(SentimentLabel, label), scores=out)


def entities_result(doc: dict[str, Any], text: str) -> EntitiesResult:
    entities = []
    for item in doc["entities"]:
        begin = int(item["offset"])
        placed = span(text, item.get("text"), begin, begin + int(item["length"]))
        if placed is None:
            continue
        category = str(item["category"])
        vendor = f"{category}/{item['subcategory']}" if item.get("subcategory") else category
        kind = cast(EntityType, ENTITY_TYPES.get(category, "OTHER"))
        entities.append(
            Entity(
                text=placed[0],
                begin=placed[1],
                end=placed[2],
                confidence=unit(item["confidenceScore"]),
                type=kind,
                vendor_type=vendor,
            )
        )
    return EntitiesResult(entities=entities)


def key_phrases_result(doc: dict[str, Any], text: str) -> KeyPhrasesResult:
    phrases = []
    for phrase in doc["keyPhrases"]:
        placed = locate(text, str(phrase))
        if placed is not None and placed[0]:
            phrases.append(KeyPhrase(text=placed[0], begin=placed[1], end=placed[2], confidence=None))
    return KeyPhrasesResult(phrases=phrases)


def language_result(doc: dict[str, Any]) -> LanguageResult:
    found = doc["detectedLanguage"]
    code = str(found.get("iso6391Name") or "")
    try:
        tag = normalize_language(code.replace("_", "-"))
    except ValueError:
        return LanguageResult(languages=[])  # "(Unknown)"
    return LanguageResult(languages=[DetectedLanguage(tag, unit(found["confidenceScore"]))])


async def run(azure: AzureClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    kwargs = to_vendor(task, request, azure.config.default_language)
    documents = kwargs.pop("documents")
    response = await azure.call_json("language", METHODS[task], ctx, documents, **kwargs)
    result = parsed(azure.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
