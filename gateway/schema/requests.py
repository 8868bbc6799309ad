"""Normalized requests: what a provider receives, whatever form the caller used.

The server decodes multipart, raw and JSON bodies into these; images and audio arrive
as ``Media`` whose ``format`` was sniffed from magic bytes, never from a file name.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Media(msgspec.Struct, frozen=True, kw_only=True):
    """Decoded image or audio bytes with what the gateway learned about them."""

    data: bytes
    format: str  # jpeg, png, webp, gif, bmp, tiff | wav, mp3, flac, ogg
    width: int | None = None  # images, in pixels
    height: int | None = None
    duration_s: float | None = None  # audio, when the container tells
    uri: str | None = None  # a provider-native reference (s3://...) instead of bytes

    @property
    def size(self) -> int:
        return len(self.data)


class RoutingHints(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-request routing hints, checked against what the caller's key may do."""

    provider: str | None = None
    policy: str | None = None
    max_cost_usd: float | None = None


class _Common(msgspec.Struct, frozen=True, kw_only=True):
    include_raw: bool = False
    routing: RoutingHints | None = None


class ImageRequest(_Common, frozen=True, kw_only=True):
    image: Media
    max_results: int = 20
    min_confidence: float = 0.0
    language: str | None = None  # OCR hint
    document: bool = False  # OCR: a dense document rather than a scene


class TextRequest(_Common, frozen=True, kw_only=True):
    text: str
    language: str | None = None


class TranslateRequest(_Common, frozen=True, kw_only=True):
    text: str
    target_language: str
    source_language: str | None = None


class SynthesizeRequest(_Common, frozen=True, kw_only=True):
    text: str
    voice: str | None = None
    language: str | None = None
    gender: str | None = None  # "female" | "male": a hint where no voice is named
    format: str = "wav"


class TranscribeRequest(_Common, frozen=True, kw_only=True):
    audio: Media
    language: str | None = None


TaskRequest = ImageRequest | TextRequest | TranslateRequest | SynthesizeRequest | TranscribeRequest


def request_language(request: TaskRequest) -> str | None:
    """The language a provider must support to serve ``request``, if any."""
    if isinstance(request, TranslateRequest):
        return request.source_language
    if isinstance(request, ImageRequest | TextRequest | SynthesizeRequest | TranscribeRequest):
        return request.language
    return None


def request_units(request: TaskRequest) -> float:
    """How many billing units a request is: images, characters or seconds of audio."""
    if isinstance(request, ImageRequest):
        return 1.0
    if isinstance(request, TranscribeRequest):
        return request.audio.duration_s or 0.0
    return float(len(request.text))


# --- JSON bodies on the wire ------------------------------------------------------------


class MediaRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``{"base64": "..."}`` or ``{"url": "https://..."}`` in a JSON body."""

    base64: str | None = None
    url: str | None = None


def media_field(request_type: type[msgspec.Struct]) -> str | None:
    """The name of the request's image or audio field, if it has one."""
    for info in msgspec.structs.fields(request_type):
        if info.type is Media:
            return info.name
    return None


_BODIES: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}


def body_type(request_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The JSON body of a request type: the same fields, a ``MediaRef`` for media, unknown fields refused.

    ``ImageRequest`` gives ``ImageBody``; the OpenAPI document and the server's decoder use it.
    """
    fields: list[tuple[str, Any, Any]] = []
    for info in msgspec.structs.fields(request_type):
        kind = MediaRef if info.type is Media else info.type
        if info.required:
            fields.append((info.name, kind, msgspec.NODEFAULT))
        elif info.default_factory is not msgspec.NODEFAULT:
            fields.append((info.name, kind, msgspec.field(default_factory=info.default_factory)))
        else:
            fields.append((info.name, kind, info.default))
    if request_type in _BODIES:
        return _BODIES[request_type]
    name = request_type.__name__.removesuffix("Request") + "Body"
    body = msgspec.defstruct(name, fields, kw_only=True, frozen=True, forbid_unknown_fields=True, module=__name__)
    return _BODIES.setdefault(request_type, body)
