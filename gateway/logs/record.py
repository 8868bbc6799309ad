"""The RequestLog record (DESIGN §6) and how a request's input and output are summarized.

The output summary is each task's row in the task table (``omnisense.schema.table``).
A record never holds a secret (the caller's key is represented by its id) nor a raw
payload: inputs are summarized by size, format, length and a sha256.
"""

from __future__ import annotations

import base64
import hashlib

import msgspec

from omnisense.schema import (
    Attempt,
    ImageRequest,
    Media,
    OutputSummary,
    TaskRequest,
    TranscribeRequest,
    VideoRequest,
    summarize_output,
)
from omnisense.schema.streaming import ProviderSeconds

__all__ = [
    "InputSummary",
    "OutputSummary",
    "PayloadSample",
    "RedactionSummary",
    "RequestLog",
    "ShadowResult",
    "StreamSummary",
    "sample_payload",
    "summarize_input",
    "summarize_output",
]


class InputSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    bytes: int = 0
    format: str | None = None
    characters: int | None = None
    audio_seconds: float | None = None
    video_seconds: float | None = None  # the decoded length (a provider-read object: none)
    language: str | None = None
    sha256: str | None = None


class ShadowResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    provider: str
    outcome: str
    latency_ms: float
    error_type: str | None = None
    output: OutputSummary | None = None
    agrees: bool | None = None  # with the served answer, by the task's metric (gateway.agreement)
    metric: str | None = None  # label | overlap | iou | wer | chars
    score: float | None = None  # the metric's value (1 = the same answer; for wer, 0 is)
    cost_usd: float = 0.0  # what the shadow call cost, charged to the caller's key when it has a budget


class RedactionSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What redaction removed (``redact:``, ``redact_output:``): counts per type, never a value.

    ``input``: removed before an untrusted provider saw the request (PERSON, EMAIL, PHONE,
    CARD, IBAN, NATIONAL_ID, ADDRESS, FACE, TEXT_REGION); ``output``: removed from the answer.
    ``outcome``: "ok", "unavailable" (the redactor failed: nothing untrusted was called) or
    "skipped_untrusted" (``on_redaction_error: skip_untrusted``)."""

    input: dict[str, int] = msgspec.field(default_factory=dict)
    output: dict[str, int] = msgspec.field(default_factory=dict)
    version: str | None = None  # the redactor's models and rules
    outcome: str = "ok"


class PayloadSample(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A request's input, kept only when the operator turns payload sampling on."""

    text: str | None = None
    media_base64: str | None = None  # the first bytes of an image or audio input
    truncated: bool = False


class StreamSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A live session's part of its record (``WS /v1/speech/transcribe/stream``)."""

    close_code: int  # 1000: the client sent end and got done; else CLOSE_CODES (499: the client went away)
    close_reason: str
    providers: list[ProviderSeconds] = msgspec.field(default_factory=list)  # seconds sent to each, and their cost
    failovers: int = 0  # provider streams that failed and were replaced mid-session
    first_partial_ms: float | None = None  # first audio received -> first event sent
    events: int = 0  # partial and final events sent


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
    ttfb_ms: float | None = None  # a streamed answer: from the request's arrival to its first byte of audio
    units: float = 0.0
    unit: str | None = None
    cost_usd: float = 0.0
    lost_cost_usd: float = 0.0  # calls sent but cancelled (hedges that lost): charged to the key, not served
    input: InputSummary = msgspec.field(default_factory=InputSummary)
    output: OutputSummary | None = None
    shadow: list[ShadowResult] = msgspec.field(default_factory=list)
    decisions: list[str] = msgspec.field(default_factory=list)
    payload: PayloadSample | None = None  # only with logs.payload_sample_rate > 0
    cache: str | None = None  # "hit" (answered from the response cache), "miss" or "bypass"
    # Where the served provider processed the request (``adapters.kit.regions``): its region
    # ("eu-west-1", "global", "undeclared") and that region's jurisdiction ("eu"; None: unknown).
    region: str | None = None
    jurisdiction: str | None = None
    stream: StreamSummary | None = None  # live sessions only
    redaction: RedactionSummary | None = None  # only when the route or key asks for redaction


def summarize_input(request: TaskRequest, *, with_hash: bool = True) -> InputSummary:
    if isinstance(request, VideoRequest):
        video = request.video
        digest = hashlib.sha256(video.data or (video.uri or "").encode()).hexdigest() if with_hash else None
        return InputSummary(bytes=video.size, format=video.format, video_seconds=video.duration_s, sha256=digest)
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


def media_of(request: ImageRequest | TranscribeRequest | VideoRequest) -> Media:
    if isinstance(request, ImageRequest):
        return request.image
    return request.audio if isinstance(request, TranscribeRequest) else request.video


def sample_payload(request: TaskRequest, max_chars: int) -> PayloadSample:
    """The input, cut to ``max_chars`` characters (text) or ``max_chars`` bytes (media, base64)."""
    if isinstance(request, ImageRequest | TranscribeRequest | VideoRequest):
        data = media_of(request).data
        return PayloadSample(media_base64=base64.b64encode(data[:max_chars]).decode(), truncated=len(data) > max_chars)
    text = request.text
    return PayloadSample(text=text[:max_chars], truncated=len(text) > max_chars)
