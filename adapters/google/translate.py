"""Cloud Translation v3: text.translate (``translateText``) and text.language (``detectLanguage``).

Both run under ``projects/{project}/locations/{location}`` from the provider's config
(``location: global`` by default). No source language in the request means Translation
detects it; the detected code comes back in ``detectedLanguageCode`` and is the result's
``source_language``. Codes are BCP-47 both ways (Google's ``iw``/``jw`` are normalized).
Text is limited to 30,000 code points per request (Google recommends at most 5,000;
larger requests are refused by the API), checked before the call.
"""

from __future__ import annotations

from typing import Any

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.google.common import bcp47, nonempty, raw, score
from adapters.kit import parsed
from omnisense.schema import (
    DetectedLanguage,
    InvalidInput,
    LanguageResult,
    PayloadTooLarge,
    Task,
    TextRequest,
    TranslateRequest,
    TranslateResult,
    normalize_language,
)
from omnisense.schema.results import by_confidence

MODEL = "cloud-translation-v3"
MAX_CHARS = 30_000


async def parent(google: GoogleClients, ctx: CallContext) -> str:
    """``projects/{project}/locations/{location}`` (the project resolved once, in the pool)."""
    project = google.known_project or await google.run(google.project_id, ctx=ctx)
    return f"projects/{project}/locations/{google.config.location}"


def _check(text: str) -> None:
    nonempty(text)
    if len(text) > MAX_CHARS:
        raise PayloadTooLarge(f"cloud translation takes at most {MAX_CHARS} characters, got {len(text)}", field="text")


def to_vendor(request: TranslateRequest, where: str) -> dict[str, Any]:
    _check(request.text)
    body: dict[str, Any] = {
        "parent": where,
        "contents": [request.text],
        "mime_type": "text/plain",
        "target_language_code": language_code(request.target_language, "target_language"),
    }
    if request.source_language:
        body["source_language_code"] = language_code(request.source_language, "source_language")
    return body


def language_code(tag: str, field: str) -> str:
    """A request's language as Translation's code (BCP-47), the bad one named by ``field``."""
    try:
        return normalize_language(tag)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None


def from_vendor(response: Any, request: TranslateRequest) -> TranslateResult:
    first = response.translations[0]
    source = str(first.detected_language_code or request.source_language or "")
    if not source:
        raise ValueError("no source language in the answer")
    return TranslateResult(
        text=str(first.translated_text),
        source_language=bcp47(source),
        target_language=bcp47(request.target_language),
    )


def detect_to_vendor(request: TextRequest, where: str) -> dict[str, Any]:
    _check(request.text)
    return {"parent": where, "content": request.text, "mime_type": "text/plain"}


def detect_from_vendor(response: Any) -> LanguageResult:
    found = [DetectedLanguage(bcp47(str(x.language_code)), score(x.confidence)) for x in response.languages]
    return LanguageResult(languages=sorted(found, key=by_confidence))


async def translate(google: GoogleClients, task: Task, request: TranslateRequest, ctx: CallContext) -> ProviderResult:
    where = await parent(google, ctx)
    response = await google.call("translate", "translate_text", to_vendor(request, where), ctx)
    result = parsed(google.name, lambda: from_vendor(response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))


async def detect(google: GoogleClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    where = await parent(google, ctx)
    response = await google.call("translate", "detect_language", detect_to_vendor(request, where), ctx)
    result = parsed(google.name, lambda: detect_from_vendor(response))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
