"""Pure helpers the AWS service modules share: images, boxes, confidences, text spans."""

from __future__ import annotations

from typing import Any

from gateway.schema import (
    Box,
    ImageSize,
    InvalidInput,
    Media,
    PayloadTooLarge,
    Unsupported,
    normalize_language,
    primary,
)

REKOGNITION_FORMATS = frozenset({"jpeg", "png"})
REKOGNITION_MAX_BYTES = 5 * 1024 * 1024  # raw bytes; S3 objects may be up to 15 MB


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); anything else is invalid input."""
    if not uri.startswith("s3://"):
        raise InvalidInput(f"aws reads media from bytes or an s3:// URI, not {uri[:60]!r}", field="uri")
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key:
        raise InvalidInput(f"not an s3://bucket/key URI: {uri[:100]!r}", field="uri")
    return bucket, key


def image_param(media: Media, *, formats: frozenset[str] = REKOGNITION_FORMATS) -> dict[str, Any]:
    """Rekognition's and Textract's ``Image``/``Document``: bytes, or an S3 object."""
    if media.uri:
        bucket, key = parse_s3_uri(media.uri)
        return {"S3Object": {"Bucket": bucket, "Name": key}}
    if media.format not in formats:
        raise Unsupported(f"aws does not read {media.format or 'unknown'} images (only {', '.join(sorted(formats))})")
    if not media.data:
        raise InvalidInput("the image is empty", field="image")
    if media.size > REKOGNITION_MAX_BYTES:
        raise PayloadTooLarge(f"aws takes images up to {REKOGNITION_MAX_BYTES} bytes, got {media.size}", field="image")
    return {"Bytes": media.data}


def image_size(media: Media) -> ImageSize | None:
    if media.width and media.height:
        return ImageSize(media.width, media.height)
    return None


def unit(value: float) -> float:
    """Clip a ratio to [0, 1]: vendors overshoot the edge by float rounding, or on purpose
    (a face partly outside the frame)."""
    return min(1.0, max(0.0, float(value)))


def confidence(value: Any) -> float:
    """AWS 0-100 confidence -> [0, 1]."""
    return unit(float(value) / 100.0)


def box(vendor: dict[str, Any]) -> Box:
    """A Rekognition/Textract ``BoundingBox`` (ratios) clipped to the image."""
    left = unit(vendor["Left"])
    top = unit(vendor["Top"])
    right = unit(float(vendor["Left"]) + float(vendor["Width"]))
    bottom = unit(float(vendor["Top"]) + float(vendor["Height"]))
    return Box(left, top, max(0.0, right - left), max(0.0, bottom - top))


def utf8_limit(text: str, limit: int, service: str) -> None:
    """Enforce a service's UTF-8 byte limit before the call, with a clear error."""
    if not text.strip():
        raise InvalidInput("the text is empty", field="text")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadTooLarge(f"{service} takes at most {limit} bytes of UTF-8 text, got {size}", field="text")


def span(text: str, vendor_text: str | None, begin: int, end: int) -> tuple[str, int, int] | None:
    """Reconcile a vendor's span with the input: (text, begin, end) in code points, or None.

    Comprehend documents its offsets as code points (what Python indexes), so they are
    used as they are. Should a span not match (an offset convention change, or a fake's
    canned offsets), the vendor's text is looked up nearest ``begin``; a span that
    cannot be placed in the input is dropped rather than returned with wrong offsets.
    """
    if 0 <= begin <= end <= len(text) and (vendor_text is None or text[begin:end] == vendor_text):
        return text[begin:end], begin, end
    if not vendor_text:
        return None
    starts = []
    at = text.find(vendor_text)
    while at != -1:
        starts.append(at)
        at = text.find(vendor_text, at + 1)
    if not starts:
        return None
    best = min(starts, key=lambda s: abs(s - begin))
    return vendor_text, best, best + len(vendor_text)


def bcp47(code: str) -> str:
    """An AWS language code (``en``, ``zh-TW``, ``en-US``) as normalized BCP-47."""
    return normalize_language(code)


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
    tag = request_language(language, default)
    assert tag is not None
    return primary(tag)


def raw(response: dict[str, Any], include: bool) -> Any:
    return response if include else None
