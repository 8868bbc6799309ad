"""Normalized requests: what a provider receives, whatever form the caller used.

The server decodes multipart, raw and JSON bodies into these; images and audio arrive
as ``Media`` whose ``format`` was sniffed from magic bytes, never from a file name.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

# Option constraints: one validation layer. msgspec enforces them wherever a request is
# decoded or converted (JSON, query string, form fields), and the OpenAPI document shows them.
MaxResults = Annotated[int, msgspec.Meta(ge=1, description="at most this many items (at least 1)")]
Confidence = Annotated[
    float,
    msgspec.Meta(
        ge=0.0,
        le=1.0,
        description="drop items scored under this, in [0, 1]; left out, each vendor's own default applies; 0 keeps"
        " every score; items the vendor gives no confidence (null) are always kept",
    ),
]
Language = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="a BCP-47 code: en, pt-BR",
    ),
]
Text = Annotated[str, msgspec.Meta(min_length=1, pattern=r"\S", description="the input text (not only white space)")]
Speakable = Annotated[
    str, msgspec.Meta(min_length=1, pattern=r"[^\W_]", description="the text to speak (at least one letter or digit)")
]
ObjectClasses = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]],
    msgspec.Meta(
        min_length=1,
        max_length=50,
        description="vision.objects: only objects of these classes (case-insensitive: person, face, car); a"
        " provider that declares its classes serves the request only if it detects every one of them",
    ),
]
SpeakerCount = Annotated[int, msgspec.Meta(ge=1, le=30, description="the expected number of speakers (1 to 30)")]
Speakers = Annotated[
    bool | SpeakerCount,
    msgspec.Meta(
        description="speech.transcribe: tell speakers apart (diarization): true, or the expected number of"
        " speakers; the result gains segments with a speaker each. Only providers that diarize serve it"
    ),
]
Stream = Annotated[
    bool,
    msgspec.Meta(
        description="speech.synthesize: send the audio while it is being produced (chunked transfer), the first"
        " bytes before the whole text is spoken; only providers that stream serve it. A WAV stream's header gives"
        " its sizes as 0xFFFFFFFF (unknown length). An error after the first byte cuts the connection short"
        " (no closing chunk): see docs/streaming.md"
    ),
]
Cost = Annotated[float, msgspec.Meta(ge=0.0, description="the most this request may cost, in USD")]
Name = Annotated[str, msgspec.Meta(min_length=1)]
MAX_FANOUT = 8
Providers = Annotated[
    list[Name],
    msgspec.Meta(
        min_length=2,
        max_length=MAX_FANOUT,
        description="fan-out: ask each of these providers at once (2 to 8, each once) and answer their consensus,"
        " every answer side by side and their agreement",
    ),
]


class Media(msgspec.Struct, frozen=True, kw_only=True):
    """Decoded image, audio or video bytes with what the gateway learned about them."""

    data: bytes
    format: str  # jpeg, png, webp, gif, bmp, tiff | wav, mp3, flac, ogg, webm, m4a | mp4, mov, webm, mkv
    width: int | None = None  # images and video, in pixels
    height: int | None = None
    duration_s: float | None = None  # audio and video: decoded from the stream's frames
    uri: str | None = None  # a provider-native reference (s3://..., gs://...) instead of bytes
    codec: str | None = None  # video: the video stream's codec (h264, vp9, ...)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def bucket(self) -> str | None:
        """``s3://bucket`` of an object reference ``s3://bucket/key`` (scheme and bucket, lower case)."""
        if self.uri is None:
            return None
        scheme, _, rest = self.uri.partition("://")
        return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


class RoutingHints(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-request routing hints, checked against what the caller's key may do."""

    provider: Name | None = None
    policy: Name | None = None
    max_cost_usd: Cost | None = None


class _Common(msgspec.Struct, frozen=True, kw_only=True):
    include_raw: bool = False
    routing: RoutingHints | None = None
    providers: Providers | None = None  # a fan-out (``gateway.fanout``); None: one provider answers


class ImageRequest(_Common, frozen=True, kw_only=True):
    image: Media
    max_results: MaxResults = 20
    # Drop items scored under this. None (not given): no floor of the gateway's own, each
    # vendor's default applies; 0: no floor at all. Items without a confidence are kept.
    min_confidence: Confidence | None = None
    language: Language | None = None  # OCR hint
    document: bool = False  # OCR: a dense document rather than a scene
    classes: ObjectClasses | None = None  # objects: only these classes; None: every class the provider finds


class TextRequest(_Common, frozen=True, kw_only=True):
    text: Text
    language: Language | None = None


class TranslateRequest(_Common, frozen=True, kw_only=True):
    text: Text
    target_language: Language
    source_language: Language | None = None


class SynthesizeRequest(_Common, frozen=True, kw_only=True):
    text: Speakable
    voice: Name | None = None
    language: Language | None = None
    gender: str | None = None  # "female" | "male": a hint where no voice is named
    format: str = "wav"
    stream: Stream = False  # send the audio while it is produced (chunked); only providers that stream serve it


class TranscribeRequest(_Common, frozen=True, kw_only=True):
    audio: Media
    language: Language | None = None
    speakers: Speakers | None = None  # diarization: true, or the expected number of speakers; None/false: off

    @property
    def diarize(self) -> bool:
        """Whether the caller asked for speakers told apart."""
        return self.speakers is not None and self.speakers is not False

    @property
    def speaker_count(self) -> int | None:
        """The expected number of speakers, when the caller gave one."""
        return None if isinstance(self.speakers, bool) else self.speakers


class VideoRequest(_Common, frozen=True, kw_only=True):
    media_ref: ClassVar[type[MediaRef]]  # set below: the JSON body's type for ``video``
    video: Media
    max_results: MaxResults = 50
    # Drop items scored under this (labels, moderation). None: each vendor's own default.
    min_confidence: Confidence | None = None


TaskRequest = ImageRequest | TextRequest | TranslateRequest | SynthesizeRequest | TranscribeRequest | VideoRequest


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
    if isinstance(request, VideoRequest):
        return request.video.duration_s or 0.0
    return float(len(request.text))


# --- JSON bodies on the wire ------------------------------------------------------------


class MediaRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``{"base64": "..."}`` or ``{"url": "https://..."}`` in a JSON body."""

    base64: str | None = None
    url: str | None = None


class VideoRef(MediaRef, frozen=True, forbid_unknown_fields=True):
    """A video's ``MediaRef``, which may also be ``{"uri": "s3://..." | "gs://..."}``: an object the
    provider reads itself, taken only where the provider block names its bucket
    (``gateway.server.object_refs``)."""

    uri: str | None = None


VideoRequest.media_ref = VideoRef

_FIELDS: dict[type[msgspec.Struct], tuple[msgspec.structs.FieldInfo, ...]] = {}


def request_fields(request_type: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    """``msgspec.structs.fields``, kept per type: it resolves type hints (~40 us) on every call."""
    found = _FIELDS.get(request_type)
    if found is None:
        found = _FIELDS[request_type] = msgspec.structs.fields(request_type)
    return found


def media_field(request_type: type[msgspec.Struct]) -> str | None:
    """The name of the request's image, audio or video field, if it has one."""
    for info in request_fields(request_type):
        if info.type is Media:
            return info.name
    return None


_BODIES: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}


def body_type(request_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The JSON body of a request type: the same fields, a ``MediaRef`` for media, unknown fields refused.

    ``ImageRequest`` gives ``ImageBody``; the OpenAPI document and the server's decoder use it.
    """
    fields: list[tuple[str, Any, Any]] = []
    ref = getattr(request_type, "media_ref", MediaRef)
    for info in request_fields(request_type):
        kind = ref if info.type is Media else info.type
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
