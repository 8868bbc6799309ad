"""Pure helpers for turning a vendor's answer into the schema's conventions (DESIGN §2).

Confidences in [0, 1], boxes as fractions of the image size (origin top-left), offsets in
code points, languages as BCP-47. Each takes plain numbers, so any vendor's shape fits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omnisense.schema import (
    Box,
    ImageSize,
    InvalidInput,
    Media,
    PayloadTooLarge,
    Unsupported,
    normalize_language,
    primary,
)


def unit(value: Any) -> float:
    """Clip a ratio to [0, 1]: vendors overshoot the edge by float rounding, or on purpose
    (a face partly outside the frame)."""
    return min(1.0, max(0.0, float(value)))


def optional_unit(value: Any) -> float | None:
    """``unit`` of a confidence the vendor may leave out: None (absent) stays None."""
    return None if value is None else unit(value)


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the confidences given; None when none is (never a stand-in number)."""
    given = [v for v in values if v is not None]
    return sum(given) / len(given) if given else None


def percent(value: Any) -> float:
    """A 0-100 confidence as [0, 1]."""
    return unit(float(value) / 100.0)


def box_from_ratios(left: Any, top: Any, width: Any, height: Any) -> Box:
    """A box given as ratios of the image size, clipped to the image."""
    x0, y0 = unit(left), unit(top)
    x1, y1 = unit(float(left) + float(width)), unit(float(top) + float(height))
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def box_from_pixels(x: Any, y: Any, width: Any, height: Any, size: ImageSize) -> Box:
    """A pixel rectangle (origin top-left) as fractions of an image of ``size``."""
    w, h = float(size.width), float(size.height)
    return box_from_ratios(float(x) / w, float(y) / h, float(width) / w, float(height) / h)


def box_from_corners(points: Iterable[tuple[float, float]], size: ImageSize | None = None) -> Box:
    """The upright box around a polygon's corners: ratios, or pixels when ``size`` is given.

    Fits Google's ``vertices``/``normalizedVertices`` and Azure's 8-number ``boundingBox``."""
    xs, ys = zip(*points, strict=True)
    if size is not None:
        xs = tuple(x / size.width for x in xs)
        ys = tuple(y / size.height for y in ys)
    x0, y0 = unit(min(xs)), unit(min(ys))
    return Box(x0, y0, unit(max(xs)) - x0, unit(max(ys)) - y0)


def image_size(media: Media) -> ImageSize | None:
    if media.width and media.height:
        return ImageSize(media.width, media.height)
    return None


def checked_image(media: Media, service: str, formats: frozenset[str], max_bytes: int) -> bytes:
    """The image bytes to send, after a service's documented format and size limits (checked before the call)."""
    if not media.data:
        raise InvalidInput("the image is empty", field="image")
    if media.format not in formats:
        only = ", ".join(sorted(formats))
        raise Unsupported(f"{service} does not read {media.format or 'unknown'} images (only {only})", field="image")
    if media.size > max_bytes:
        raise PayloadTooLarge(f"{service} takes images up to {max_bytes} bytes, got {media.size}", field="image")
    return media.data


def utf8_limit(text: str, limit: int, service: str) -> None:
    """Enforce a service's UTF-8 byte limit before the call, with a clear error."""
    if not text.strip():
        raise InvalidInput("the text is empty", field="text")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadTooLarge(f"{service} takes at most {limit} bytes of UTF-8 text, got {size}", field="text")


def span(text: str, vendor_text: str | None, begin: int, end: int) -> tuple[str, int, int] | None:
    """Reconcile a vendor's span with the input: (text, begin, end) in code points, or None.

    The offsets are used when they match the input; otherwise the vendor's text is looked up
    nearest ``begin``. A span that cannot be placed in the input is dropped rather than
    returned with wrong offsets."""
    if 0 <= begin <= end <= len(text) and (vendor_text is None or text[begin:end] == vendor_text):
        return text[begin:end], begin, end
    if not vendor_text:
        return None
    return locate(text, vendor_text, near=begin)


def locate(text: str, phrase: str, near: int = 0) -> tuple[str, int, int] | None:
    """Where ``phrase`` occurs in ``text`` (the occurrence nearest ``near``), in code points.

    For vendors that return a phrase without its offsets (Azure key phrases)."""
    starts = []
    at = text.find(phrase)
    while at != -1:
        starts.append(at)
        at = text.find(phrase, at + 1)
    if not starts:
        lowered = text.lower().find(phrase.lower())
        return (text[lowered : lowered + len(phrase)], lowered, lowered + len(phrase)) if lowered != -1 else None
    best = min(starts, key=lambda s: abs(s - near))
    return phrase, best, best + len(phrase)


def request_language(language: str | None, default: str | None = None) -> str | None:
    """The request's language as normalized BCP-47 (``default`` when it names none)."""
    tag = language or default
    if not tag:
        return None
    try:
        return normalize_language(tag)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="language") from None


def request_primary(language: str | None, default: str) -> str:
    """The primary subtag of the request's language (``default`` when it names none)."""
    tag = request_language(language, default)
    assert tag is not None
    return primary(tag)
