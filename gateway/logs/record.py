"""The RequestLog record (DESIGN §6) and how a request's input and output are summarized.

A record never holds a secret (the caller's key is represented by its id) nor a raw
payload: inputs are summarized by size, format, length and a sha256.
"""

from __future__ import annotations

import hashlib

import msgspec

from gateway.schema import (
    Attempt,
    EntitiesResult,
    FacesResult,
    ImageRequest,
    KeyPhrasesResult,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    SynthesizeResult,
    TaskRequest,
    TaskResult,
    TranscribeRequest,
    TranscribeResult,
    TranslateResult,
)


class InputSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    bytes: int = 0
    format: str | None = None
    characters: int | None = None
    audio_seconds: float | None = None
    language: str | None = None
    sha256: str | None = None


class OutputSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    top: str | None = None  # top label, sentiment label, detected language, ...
    confidence: float | None = None  # of ``top``
    items: int | None = None  # labels, faces, entities, words ...


class ShadowResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    provider: str
    outcome: str
    latency_ms: float
    error_type: str | None = None
    output: OutputSummary | None = None
    agrees: bool | None = None  # same top answer as the served provider


class RequestLog(msgspec.Struct, kw_only=True, omit_defaults=True):
    request_id: str
    time: float  # unix seconds when the request arrived
    task: str
    status: str  # "ok" | "error"
    http_status: int
    latency_ms: float
    key_id: str | None = None
    policy: str | None = None
    route: str | None = None
    strategy: str | None = None
    provider: str | None = None
    model: str | None = None
    error_type: str | None = None
    error_detail: str | None = None
    attempts: list[Attempt] = msgspec.field(default_factory=list)
    overhead_ms: float | None = None
    units: float = 0.0
    unit: str | None = None
    cost_usd: float = 0.0
    input: InputSummary = msgspec.field(default_factory=InputSummary)
    output: OutputSummary | None = None
    shadow: list[ShadowResult] = msgspec.field(default_factory=list)
    decisions: list[str] = msgspec.field(default_factory=list)


def summarize_input(request: TaskRequest, *, with_hash: bool = True) -> InputSummary:
    if isinstance(request, ImageRequest | TranscribeRequest):
        media = request.image if isinstance(request, ImageRequest) else request.audio
        return InputSummary(
            bytes=media.size,
            format=media.format,
            audio_seconds=media.duration_s,
            language=getattr(request, "language", None),
            sha256=hashlib.sha256(media.data).hexdigest() if with_hash else None,
        )
    text = request.text
    encoded = text.encode()
    return InputSummary(
        bytes=len(encoded),
        characters=len(text),
        language=getattr(request, "language", None) or getattr(request, "source_language", None),
        sha256=hashlib.sha256(encoded).hexdigest() if with_hash else None,
    )


def summarize_output(result: TaskResult) -> OutputSummary:
    if isinstance(result, LabelsResult):
        if not result.labels:
            return OutputSummary(items=0)
        best = result.labels[0]
        return OutputSummary(top=best.name, confidence=best.confidence, items=len(result.labels))
    if isinstance(result, ObjectsResult):
        return OutputSummary(top=result.objects[0].name if result.objects else None, items=len(result.objects))
    if isinstance(result, FacesResult):
        return OutputSummary(items=len(result.faces))
    if isinstance(result, OcrResult):
        return OutputSummary(items=len(result.lines))
    if isinstance(result, ModerationResult):
        return OutputSummary(top=result.flags[0].category if result.flags else None, items=len(result.flags))
    if isinstance(result, SentimentResult):
        return OutputSummary(top=result.label, confidence=getattr(result.scores, result.label))
    if isinstance(result, EntitiesResult):
        return OutputSummary(items=len(result.entities))
    if isinstance(result, KeyPhrasesResult):
        return OutputSummary(items=len(result.phrases))
    if isinstance(result, LanguageResult):
        if not result.languages:
            return OutputSummary(items=0)
        lang = result.languages[0]
        return OutputSummary(top=lang.code, confidence=lang.confidence, items=len(result.languages))
    if isinstance(result, TranslateResult):
        return OutputSummary(top=result.source_language)
    if isinstance(result, SynthesizeResult):
        return OutputSummary(items=len(result.audio))
    if isinstance(result, TranscribeResult):
        return OutputSummary(confidence=result.confidence, items=len(result.words))
    return OutputSummary()
