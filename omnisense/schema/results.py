"""Normalized results, one Struct per task (DESIGN §2).

Every Struct checks the conventions in ``__post_init__``, which msgspec runs both when
an adapter builds a result and when JSON is decoded into one: a confidence outside
[0, 1], a box outside the image, an unknown sentiment label or entity type raises
``ConventionError``. The dispatcher turns that into ``UpstreamBadResponse``, so an
adapter cannot hand a caller a box of 140 or a confidence of 99.

A confidence is the vendor's own number in [0, 1], or the vendor's own scale mapped
through a table its adapter's README shows, or ``None`` (null in JSON) when the vendor
gives none: never a constant standing in for a number. ``by_confidence`` sorts best
first with the unscored last.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from omnisense.schema.languages import normalize_language


class ConventionError(ValueError):
    """A result breaks a convention of the normalized schema."""


def _unit(name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ConventionError(f"{name} must be in [0, 1], got {value!r}")


def _language(name: str, value: str) -> None:
    try:
        normalize_language(value)
    except ValueError as exc:
        raise ConventionError(f"{name}: {exc}") from None


def by_confidence(item: Any) -> float:
    """A sort key: the highest confidence first, items without one (None) last."""
    confidence = item.confidence
    return 1.0 if confidence is None else -float(confidence)


class Result(msgspec.Struct, kw_only=True):
    """Base of all results."""


class Box(msgspec.Struct, frozen=True):
    """A rectangle as fractions of the image size, origin top-left."""

    left: float
    top: float
    width: float
    height: float

    def __post_init__(self) -> None:
        for name in ("left", "top", "width", "height"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # the name is formatted only for the error
                _unit(f"box.{name}", value)
        # A vendor's float rounding may overshoot the edge by a hair.
        if self.left + self.width > 1.0001 or self.top + self.height > 1.0001:
            raise ConventionError(f"box {self} extends past the image")


class ImageSize(msgspec.Struct, frozen=True):
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConventionError(f"image size must be positive, got {self.width}x{self.height}")


class Label(msgspec.Struct, frozen=True):
    name: str
    confidence: float | None

    def __post_init__(self) -> None:
        _unit("label.confidence", self.confidence)


class LabelsResult(Result):
    labels: list[Label]
    image: ImageSize | None = None


class DetectedObject(msgspec.Struct, frozen=True):
    name: str
    confidence: float | None
    box: Box

    def __post_init__(self) -> None:
        _unit("object.confidence", self.confidence)


class ObjectsResult(Result):
    objects: list[DetectedObject]
    image: ImageSize | None = None


class Landmark(msgspec.Struct, frozen=True):
    """A facial landmark (``left_eye``, ``nose`` ...) at fractions of the image size."""

    type: str
    x: float
    y: float

    def __post_init__(self) -> None:
        _unit("landmark.x", self.x)
        _unit("landmark.y", self.y)


class Face(msgspec.Struct, frozen=True):
    confidence: float | None
    box: Box
    landmarks: list[Landmark] | None = None

    def __post_init__(self) -> None:
        _unit("face.confidence", self.confidence)


class FacesResult(Result):
    faces: list[Face]
    image: ImageSize | None = None


class OcrLine(msgspec.Struct, frozen=True):
    text: str
    confidence: float | None
    box: Box | None = None

    def __post_init__(self) -> None:
        _unit("line.confidence", self.confidence)


class OcrResult(Result):
    text: str
    lines: list[OcrLine]
    image: ImageSize | None = None


class ModerationFlag(msgspec.Struct, frozen=True):
    category: str
    confidence: float | None

    def __post_init__(self) -> None:
        _unit("flag.confidence", self.confidence)


class ModerationResult(Result):
    flags: list[ModerationFlag]
    image: ImageSize | None = None


ModerationCategory = Literal[
    "toxicity", "insult", "threat", "profanity", "sexual", "hate", "violence", "self_harm", "other"
]
MODERATION_CATEGORIES: tuple[str, ...] = (
    "toxicity",
    "insult",
    "threat",
    "profanity",
    "sexual",
    "hate",
    "violence",
    "self_harm",
    "other",
)
FLAGGED_AT = 0.5  # a text is ``flagged`` when any category scores at least this


class TextModerationFlag(msgspec.Struct, frozen=True, kw_only=True):
    """One category's score; ``vendor_category`` is the provider's own label for it."""

    category: ModerationCategory
    confidence: float | None
    vendor_category: str | None = None

    def __post_init__(self) -> None:
        _unit("flag.confidence", self.confidence)
        if self.category not in MODERATION_CATEGORIES:
            raise ConventionError(f"moderation category must be one of {MODERATION_CATEGORIES}, got {self.category!r}")


class TextModerationResult(Result):
    """Scores per category, highest first; ``flagged`` when any reaches ``FLAGGED_AT`` (a
    category without a score never does)."""

    flagged: bool
    flags: list[TextModerationFlag]

    @classmethod
    def of(cls, flags: list[TextModerationFlag], threshold: float = FLAGGED_AT) -> TextModerationResult:
        ranked = sorted(flags, key=by_confidence)
        flagged = any(f.confidence is not None and f.confidence >= threshold for f in ranked)
        return cls(flagged=flagged, flags=ranked)


SentimentLabel = Literal["positive", "negative", "neutral", "mixed"]
SENTIMENT_LABELS: tuple[str, ...] = ("positive", "negative", "neutral", "mixed")


class SentimentScores(msgspec.Struct, frozen=True):
    """A confidence per label; null for a label the vendor gives no score for."""

    positive: float | None
    negative: float | None
    neutral: float | None
    mixed: float | None

    def __post_init__(self) -> None:
        for name in SENTIMENT_LABELS:
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:  # the name is formatted only for the error
                _unit(f"scores.{name}", value)


class SentimentResult(Result):
    label: SentimentLabel
    scores: SentimentScores

    def __post_init__(self) -> None:
        if self.label not in SENTIMENT_LABELS:
            raise ConventionError(f"sentiment label must be one of {SENTIMENT_LABELS}")


EntityType = Literal["PERSON", "LOCATION", "ORGANIZATION", "DATE", "QUANTITY", "EVENT", "PRODUCT", "OTHER"]
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "ORGANIZATION",
    "DATE",
    "QUANTITY",
    "EVENT",
    "PRODUCT",
    "OTHER",
)


class _Span(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of the input text; ``begin``/``end`` are Unicode code-point offsets."""

    text: str
    begin: int
    end: int
    confidence: float | None

    def __post_init__(self) -> None:
        _unit("confidence", self.confidence)
        if not 0 <= self.begin <= self.end:
            raise ConventionError(f"span offsets must satisfy 0 <= begin <= end, got {self.begin}, {self.end}")


class Entity(_Span, frozen=True, kw_only=True):
    type: EntityType
    vendor_type: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.type not in ENTITY_TYPES:
            raise ConventionError(f"entity type must be one of {ENTITY_TYPES}, got {self.type!r}")


class EntitiesResult(Result):
    entities: list[Entity]


class KeyPhrase(_Span, frozen=True, kw_only=True):
    pass


class KeyPhrasesResult(Result):
    phrases: list[KeyPhrase]


class DetectedLanguage(msgspec.Struct, frozen=True):
    code: str
    confidence: float | None

    def __post_init__(self) -> None:
        _unit("language.confidence", self.confidence)
        _language("language.code", self.code)


class LanguageResult(Result):
    languages: list[DetectedLanguage]


class TranslateResult(Result):
    text: str
    source_language: str
    target_language: str

    def __post_init__(self) -> None:
        _language("source_language", self.source_language)
        _language("target_language", self.target_language)


class SynthesizeResult(Result):
    """Synthesized speech. In the JSON envelope ``audio`` is base64."""

    audio: bytes
    format: str
    sample_rate: int | None = None
    voice: str | None = None

    @property
    def media_type(self) -> str:
        return AUDIO_MEDIA_TYPES.get(self.format, "application/octet-stream")


AUDIO_MEDIA_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "pcm": "audio/L16",
}


class Word(msgspec.Struct, frozen=True, omit_defaults=True):  # `speaker` only when diarized
    text: str
    start: float
    end: float
    confidence: float | None
    speaker: str | None = None  # diarization: the segment's speaker label

    def __post_init__(self) -> None:
        _unit("word.confidence", self.confidence)
        if not 0 <= self.start <= self.end:
            raise ConventionError(f"word times must satisfy 0 <= start <= end, got {self.start}, {self.end}")


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """One speaker's turn (diarization): ``speaker`` labels are ``S1``, ``S2``... in order of first turn."""

    start_s: float
    end_s: float
    speaker: str
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start_s <= self.end_s:
            raise ConventionError(f"segment times must satisfy 0 <= start_s <= end_s, got {self.start_s}, {self.end_s}")


class TranscribeResult(Result):
    text: str
    confidence: float | None
    words: list[Word] = msgspec.field(default_factory=list)
    language: str | None = None
    segments: list[Segment] | None = None  # only when the request asked for speakers

    def __post_init__(self) -> None:
        _unit("confidence", self.confidence)


class VideoInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway decoded from the video container: its real length, size and codec."""

    duration_s: float
    width: int | None = None
    height: int | None = None
    codec: str | None = None


def _span_times(what: str, start_s: float, end_s: float) -> None:
    if not 0 <= start_s <= end_s:
        raise ConventionError(f"{what} times must satisfy 0 <= start_s <= end_s, got {start_s}, {end_s}")


class VideoSegment(msgspec.Struct, frozen=True, kw_only=True):
    """One label over one stretch of the video, in seconds from its start."""

    name: str
    confidence: float | None
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        _unit("segment.confidence", self.confidence)
        _span_times("segment", self.start_s, self.end_s)


class VideoLabelsResult(Result):
    """``video.labels``: labels over time, best first (by confidence, then the earlier start)."""

    segments: list[VideoSegment]
    video: VideoInfo | None = None


class Shot(msgspec.Struct, frozen=True, kw_only=True):
    """One shot: from one cut to the next, in seconds from the start."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        _span_times("shot", self.start_s, self.end_s)


class VideoShotsResult(Result):
    """``video.shots``: the shots in order of time."""

    shots: list[Shot]
    video: VideoInfo | None = None


class ModeratedFrame(msgspec.Struct, frozen=True, kw_only=True):
    """One frame's moderation flag: the category as the provider's image moderation names it."""

    time_s: float
    category: str
    confidence: float | None

    def __post_init__(self) -> None:
        _unit("frame.confidence", self.confidence)
        if self.time_s < 0:
            raise ConventionError(f"frame time_s must be >= 0, got {self.time_s}")


class VideoModerationResult(Result):
    """``video.moderation``: flagged frames, the most confident first."""

    frames: list[ModeratedFrame]
    video: VideoInfo | None = None


TaskResult = (
    LabelsResult
    | ObjectsResult
    | FacesResult
    | OcrResult
    | ModerationResult
    | SentimentResult
    | EntitiesResult
    | KeyPhrasesResult
    | LanguageResult
    | TranslateResult
    | TextModerationResult
    | SynthesizeResult
    | TranscribeResult
    | VideoLabelsResult
    | VideoShotsResult
    | VideoModerationResult
)
