"""Azure AI Content Safety (``azure-ai-contentsafety`` 1.0, API 2023-10-01): text.moderation
(``POST /contentsafety/text:analyze``) and, when ``vision_moderation: content_safety``,
vision.moderation (``POST /contentsafety/image:analyze``).

The answer is ``categoriesAnalysis[{category, severity}]`` for the four harm categories
Hate, SelfHarm, Sexual and Violence, with ``outputType: FourSeverityLevels`` (the default):
severity 0 (safe), 2 (low), 4 (medium), 6 (high).

Mapping:
- severity -> confidence through ``SEVERITY`` (the table in ``adapters/azure/README.md``):
  0 (safe) -> 0, 2 (low) -> 1/3, 4 (medium) -> 2/3, 6 (high) -> 1. The severity is a
  graded level, not a probability; the table keeps its order and its ends. A severity off
  the four-level scale is an ``UpstreamBadResponse``, never a guessed number.
- categories: Hate -> ``hate``, SelfHarm -> ``self_harm``, Sexual -> ``sexual``, Violence ->
  ``violence`` (text.moderation's fixed set; the vendor's name stays in ``vendor_category``).
- every analyzed category is returned (severity 0 as confidence 0), highest first; the text
  is ``flagged`` when any confidence reaches the schema's ``FLAGGED_AT`` (0.5), i.e. from
  severity 4 (medium), which is also Azure's own default filtering level.
- Azure has no insult, threat, profanity or toxicity category: an insult aimed at a group
  is Hate, a threat of harm Violence; the text is limited to 10,000 characters (the API's).
"""

from __future__ import annotations

import base64
from typing import Any

from adapters.azure.clients import AzureClients
from adapters.azure.common import VISION_FORMATS, analyzed_size, check_image, raw
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import (
    ImageRequest,
    InvalidInput,
    ModerationFlag,
    ModerationResult,
    PayloadTooLarge,
    Task,
    TextModerationFlag,
    TextModerationResult,
    TextRequest,
)
from omnisense.schema.results import ModerationCategory, by_confidence

MODEL = "azure-content-safety"
MAX_TEXT_CHARS = 10_000
MAX_IMAGE_BYTES = 4 * 1024 * 1024
IMAGE_FORMATS = VISION_FORMATS | {"tiff", "webp"}
# outputType FourSeverityLevels: Azure's documented levels -> confidence (README's table).
SEVERITY = {0: 0.0, 2: 1 / 3, 4: 2 / 3, 6: 1.0}
CATEGORIES: dict[str, ModerationCategory] = {
    "Hate": "hate",
    "SelfHarm": "self_harm",
    "Sexual": "sexual",
    "Violence": "violence",
}


def severity_confidence(severity: Any) -> float:
    """A four-level severity as its confidence in ``SEVERITY``; another value raises (a bad answer)."""
    level = int(severity)
    if level != severity or level not in SEVERITY:
        raise ValueError(f"severity {severity!r} is not one of Azure's four levels {sorted(SEVERITY)}")
    return SEVERITY[level]


def text_to_vendor(text: str) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("the text is empty", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadTooLarge(f"azure content safety takes at most {MAX_TEXT_CHARS} characters", field="text")
    return {"text": text, "outputType": "FourSeverityLevels"}


def text_result(response: dict[str, Any]) -> TextModerationResult:
    """text.moderation from a ``text:analyze`` answer."""
    flags = [
        TextModerationFlag(
            category=CATEGORIES.get(str(item["category"]), "other"),
            confidence=severity_confidence(item.get("severity") or 0),
            vendor_category=str(item["category"]),
        )
        for item in response["categoriesAnalysis"]
    ]
    return TextModerationResult.of(flags)


def image_to_vendor(request: ImageRequest) -> dict[str, Any]:
    data = check_image(request.image, IMAGE_FORMATS, MAX_IMAGE_BYTES, "azure content safety")
    return {"image": {"content": base64.b64encode(data).decode("ascii")}, "outputType": "FourSeverityLevels"}


def image_result(response: dict[str, Any], request: ImageRequest) -> ModerationResult:
    flags = [
        ModerationFlag(CATEGORIES.get(str(item["category"]), "other"), severity_confidence(item["severity"]))
        for item in response["categoriesAnalysis"]
        if int(item.get("severity") or 0) > 0
    ]
    flags.sort(key=by_confidence)
    return ModerationResult(flags=flags[: request.max_results], image=analyzed_size({}, request.image))


async def moderate_image(azure: AzureClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    body = image_to_vendor(request)
    response = await azure.call_json("content_safety", "analyze_image", ctx, body)
    result = parsed(azure.name, lambda: image_result(response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))


async def moderate_text(azure: AzureClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    response = await azure.call_json("content_safety", "analyze_text", ctx, text_to_vendor(request.text))
    result = parsed(azure.name, lambda: text_result(response))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
