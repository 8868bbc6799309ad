"""Azure AI Translator: text.translate with ``azure-ai-translation-text`` 1.x.

The SDK is pinned to 1.x (``>=1.0.1,<2``): 1.x speaks the classic Translator v3.0 REST API
(``POST /translate?api-version=3.0&to=es[&from=en]`` with ``[{"text": ...}]``, answering
``[{"detectedLanguage": {"language", "score"}, "translations": [{"text", "to"}]}]``), the
generally available API every Translator resource and the disconnected container serve,
with examples for every operation in Azure's REST API specs. 2.x speaks a new API version
(2026-06-06) with a different body (``{"inputs": [{"text", "targets": [...]}]}``).

No source language means Translator's detection: the detected code comes back in
``detectedLanguage`` and is the result's ``source_language``. Codes are BCP-47-like
(``zh-Hans``, ``pt-PT``, ``fr-CA``, ``sr-Cyrl``) and pass through; ``pt-BR`` is Translator's
``pt`` and ``zh``/``zh-CN`` its ``zh-Hans``, ``zh-TW``/``zh-HK`` its ``zh-Hant``. A language
Translator lacks is answered with 400035/400036, mapped to ``Unsupported``. The text is
limited to 50,000 characters per request (checked before the call).

``probe`` translates one character (``.`` from English to Spanish): Translator's
``GET /languages`` needs no key, so it would call a provider with a wrong key healthy; a
one-character ``translate`` checks the key and the region and is billed as one character.
"""

from __future__ import annotations

from typing import Any

from adapters.azure.clients import AzureClients
from adapters.azure.common import raw
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed, request_language
from omnisense.schema import (
    InvalidInput,
    PayloadTooLarge,
    Task,
    TranslateRequest,
    TranslateResult,
    UpstreamBadResponse,
    normalize_language,
    primary,
)

MODEL = "azure-translator-3.0"
MAX_CHARS = 50_000
_TO_AZURE = {"pt-BR": "pt", "zh": "zh-Hans", "zh-CN": "zh-Hans", "zh-SG": "zh-Hans", "zh-TW": "zh-Hant"}
_TO_AZURE |= {"zh-HK": "zh-Hant", "zh-MO": "zh-Hant", "no": "nb", "tl": "fil"}
_VARIANTS = frozenset({"pt-PT", "fr-CA", "zh-Hans", "zh-Hant", "sr-Cyrl", "sr-Latn", "mn-Cyrl", "mn-Mong", "iu-Latn"})


def language_code(tag: str, field: str) -> str:
    """Translator's code for a BCP-47 tag: its own variants pass, others become the primary subtag."""
    norm = request_language(tag)
    assert norm is not None
    if norm in _TO_AZURE:
        return _TO_AZURE[norm]
    if norm in _VARIANTS or "-" not in norm:
        return norm
    return primary(norm)  # en-US -> en: Translator has no regional English


def to_vendor(request: TranslateRequest) -> dict[str, Any]:
    if not request.text.strip():
        raise InvalidInput("the text is empty", field="text")
    if len(request.text) > MAX_CHARS:
        raise PayloadTooLarge(f"azure translator takes at most {MAX_CHARS} characters", field="text")
    params: dict[str, Any] = {
        "body": [request.text],
        "to_language": [language_code(request.target_language, "target_language")],
    }
    if request.source_language:
        params["from_language"] = language_code(request.source_language, "source_language")
    return params


def from_vendor(response: list[dict[str, Any]], params: dict[str, Any]) -> TranslateResult:
    item = response[0]
    translations = item["translations"]
    if not translations:
        raise UpstreamBadResponse("azure translator answered no translation")
    first = translations[0]
    detected = (item.get("detectedLanguage") or {}).get("language")
    source = params.get("from_language") or detected
    if not source:
        raise UpstreamBadResponse("azure translator answered no detected source language")
    return TranslateResult(
        text=str(first["text"]),
        source_language=normalize_language(str(source)),
        target_language=normalize_language(str(first.get("to") or params["to_language"][0])),
    )


PROBE = {"body": ["."], "to_language": ["es"], "from_language": "en"}


async def probe(azure: AzureClients) -> str:
    """The health probe's call: a one-character translation, which checks the key; its detail line."""
    response = await azure.call_json("translator", "translate", None, probe=True, **PROBE)
    parsed(azure.name, lambda: from_vendor(response, PROBE))
    return "translator: one-character translate answered (key checked)"


async def run(azure: AzureClients, task: Task, request: TranslateRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(request)
    response = await azure.call_json("translator", "translate", ctx, **params)
    result = parsed(azure.name, lambda: from_vendor(response, params))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
