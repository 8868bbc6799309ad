"""Pure helpers the AWS service modules share: S3 URIs, Rekognition images, AWS boxes.

The vendor-neutral helpers (ratios, spans, languages, limits) come from ``adapters.kit``.
"""

from __future__ import annotations

from typing import Any

from adapters.kit import (
    box_from_ratios,
    checked_image,
    image_size,
    percent,
    request_language,
    span,
    unit,
    utf8_limit,
)
from omnisense.schema import Box, InvalidInput, Media, normalize_language

__all__ = [
    "bcp47",
    "box",
    "confidence",
    "image_param",
    "image_size",
    "parse_s3_uri",
    "raw",
    "request_language",
    "span",
    "unit",
    "utf8_limit",
]

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
    return {"Bytes": checked_image(media, "aws", formats, REKOGNITION_MAX_BYTES)}


confidence = percent  # AWS confidences are 0-100


def box(vendor: dict[str, Any]) -> Box:
    """A Rekognition/Textract ``BoundingBox`` (ratios) clipped to the image."""
    return box_from_ratios(vendor["Left"], vendor["Top"], vendor["Width"], vendor["Height"])


def bcp47(code: str) -> str:
    """An AWS language code (``en``, ``zh-TW``, ``en-US``) as normalized BCP-47."""
    return normalize_language(code)


def raw(response: dict[str, Any], include: bool) -> Any:
    return response if include else None
