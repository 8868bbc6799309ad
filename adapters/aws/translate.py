"""Amazon Translate: text.translate with ``TranslateText``.

No source language means ``SourceLanguageCode="auto"`` (Translate detects it, with
Comprehend, at no extra charge to the caller); the detected code comes back in
``SourceLanguageCode``. Codes: Translate takes primary subtags plus a few regional
variants (``fr-CA``, ``pt-PT``, ``es-MX``, ``zh-TW``, ``fa-AF``); others are sent as
their primary subtag. Text is limited to 10,000 bytes of UTF-8 (checked before the call).
"""

from __future__ import annotations

from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import bcp47, raw, request_language, utf8_limit
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import Task, TranslateRequest, TranslateResult, Unsupported, primary

MODEL = "translate"
MAX_BYTES = 10_000
_LANGUAGES = (
    "af sq am ar hy az bn bs bg ca zh hr cs da fa nl en et tl fi fr ka de el gu ht ha he hi hu is id ga "
    "it ja kn kk ko lv lt mk ms ml mt mr mn no ps pl pt pa ro ru sr si sk sl so es sw sv ta te th tr uk "
    "ur uz vi cy"
)
LANGUAGES = frozenset(_LANGUAGES.split())
REGIONAL = frozenset({"fr-CA", "pt-PT", "es-MX", "zh-TW", "fa-AF"})
_ALIASES = {"nb": "no", "fil": "tl"}


def language_code(tag: str, field: str) -> str:
    """Translate's code for a BCP-47 tag, or ``Unsupported``."""
    norm = request_language(tag)
    assert norm is not None
    if norm.startswith("zh-Hant"):
        return "zh-TW"
    if norm in REGIONAL:
        return norm
    lang = _ALIASES.get(primary(norm), primary(norm))
    if lang not in LANGUAGES:
        raise Unsupported(f"translate does not know language {tag!r}", field=field)
    return lang


def to_vendor(request: TranslateRequest) -> dict[str, Any]:
    utf8_limit(request.text, MAX_BYTES, "translate")
    source = language_code(request.source_language, "source_language") if request.source_language else "auto"
    return {
        "Text": request.text,
        "SourceLanguageCode": source,
        "TargetLanguageCode": language_code(request.target_language, "target_language"),
    }


def from_vendor(response: dict[str, Any]) -> TranslateResult:
    return TranslateResult(
        text=str(response["TranslatedText"]),
        source_language=bcp47(str(response["SourceLanguageCode"])),
        target_language=bcp47(str(response["TargetLanguageCode"])),
    )


async def run(aws: AwsClients, task: Task, request: TranslateRequest, ctx: CallContext) -> ProviderResult:
    response = await aws.call("translate", "translate_text", to_vendor(request), ctx)
    result = parsed(aws.name, lambda: from_vendor(response))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
