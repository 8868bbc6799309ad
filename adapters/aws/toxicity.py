"""Amazon Comprehend ``DetectToxicContent``: text.moderation.

- Input: up to 10 text segments of at most 1 KB of UTF-8 each, 10 KB in all (API
  reference). The text is cut into segments of at most 1,000 bytes, at whitespace where
  there is some (at the byte limit when that would need more than 10); a text over 10,000
  bytes is ``PayloadTooLarge`` before the call (the declared ``max_bytes`` keeps the
  planner from sending it here unless the provider is pinned). Comprehend reads the
  segments in order as context and scores each one; a category's confidence is its highest
  score over the segments.
- Language: the API reference says English is the only supported language (the service
  model lists more codes), so a request in another language is ``Unsupported`` and the
  next provider may serve it; a request without a language is taken as English.
- Labels -> the schema's fixed categories (the vendor's name stays in ``vendor_category``):
  PROFANITY -> profanity, HATE_SPEECH -> hate, INSULT -> insult, HARASSMENT_OR_ABUSE ->
  insult (abuse aimed at a person), GRAPHIC -> violence (graphic depictions),
  VIOLENCE_OR_THREAT -> threat, SEXUAL -> sexual, anything new -> other; the overall
  ``Toxicity`` score -> toxicity (``vendor_category`` ``TOXICITY``).
- Scores are 0-1 already. ``flagged`` when any category reaches the schema's ``FLAGGED_AT``.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import raw, request_language, unit
from adapters.base import CallContext, ProviderResult
from adapters.kit import parsed
from omnisense.schema import (
    InvalidInput,
    PayloadTooLarge,
    Task,
    TextModerationFlag,
    TextModerationResult,
    TextRequest,
    Unsupported,
    primary,
)
from omnisense.schema.results import ModerationCategory

MODEL = "comprehend-toxicity"
LANGUAGES = frozenset({"en"})
SEGMENT_BYTES = 1_000
MAX_SEGMENTS = 10
MAX_BYTES = SEGMENT_BYTES * MAX_SEGMENTS
CATEGORIES: dict[str, ModerationCategory] = {
    "PROFANITY": "profanity",
    "HATE_SPEECH": "hate",
    "INSULT": "insult",
    "HARASSMENT_OR_ABUSE": "insult",
    "GRAPHIC": "violence",
    "VIOLENCE_OR_THREAT": "threat",
    "SEXUAL": "sexual",
}


def segments(text: str, limit: int = SEGMENT_BYTES, *, at_whitespace: bool = True) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-8 bytes, at whitespace where possible."""
    out: list[str] = []
    rest = text
    while rest:
        if len(rest.encode()) <= limit:
            out.append(rest)
            break
        cut = len(rest.encode()[:limit].decode(errors="ignore"))  # whole code points within the limit
        space = rest.rfind(" ", 0, cut) if at_whitespace else -1
        end = space + 1 if space > 0 else cut
        out.append(rest[:end])
        rest = rest[end:]
    return [s for s in out if s.strip()]


def to_vendor(text: str, language: str | None) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("the text is empty", field="text")
    tag = request_language(language, "en")
    assert tag is not None
    if primary(tag) not in LANGUAGES:
        raise Unsupported(f"comprehend toxicity detection takes English only, not {tag!r}", field="language")
    parts = segments(text)
    if len(parts) > MAX_SEGMENTS:  # cutting at whitespace wasted room: cut at the byte limit instead
        parts = segments(text, at_whitespace=False)
    if len(parts) > MAX_SEGMENTS:
        raise PayloadTooLarge(f"comprehend toxicity detection takes at most {MAX_BYTES} bytes of text", field="text")
    return {"TextSegments": [{"Text": part} for part in parts], "LanguageCode": "en"}


def from_vendor(response: dict[str, Any]) -> TextModerationResult:
    best: dict[str, float] = {}
    for item in response["ResultList"]:
        scores = [(str(label["Name"]), float(label["Score"])) for label in item.get("Labels") or ()]
        if item.get("Toxicity") is not None:
            scores.append(("TOXICITY", float(item["Toxicity"])))
        for name, score in scores:
            best[name] = max(best.get(name, 0.0), unit(score))
    flags = [
        TextModerationFlag(category=_category(name), confidence=score, vendor_category=name)
        for name, score in best.items()
    ]
    return TextModerationResult.of(flags)


def _category(name: str) -> ModerationCategory:
    if name == "TOXICITY":
        return "toxicity"
    return CATEGORIES.get(name, "other")


async def run(aws: AwsClients, task: Task, request: TextRequest, ctx: CallContext) -> ProviderResult:
    params = to_vendor(request.text, request.language)
    response = await aws.call("comprehend", "detect_toxic_content", params, ctx)
    result = parsed(aws.name, lambda: from_vendor(response))
    return ProviderResult(result=result, model=MODEL, raw=raw(response, request.include_raw))
