"""Decoding of base64 inputs (images, audio) and the shared result helpers."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import invalid, unsupported

IMAGE_FORMATS = ["jpeg", "png", "bmp", "gif", "tiff", "webp"]
MAX_IMAGE_PIXELS = 50_000_000
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_AUDIO_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    """An RGB image, already turned upright by its EXIF orientation."""

    image: Image.Image
    format: str

    @property
    def size(self) -> dict[str, int]:
        return {"width": self.image.width, "height": self.image.height}


def decode_base64(data: str, what: str, max_bytes: int) -> bytes:
    """Decode standard or URL-safe base64, tolerating a data: URL prefix."""
    if not isinstance(data, str) or not data.strip():
        raise invalid(f"{what} is empty")
    text = data.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    if len(text) * 3 // 4 > max_bytes:
        raise invalid(f"{what} is larger than {max_bytes} bytes")
    try:
        if "-" in text or "_" in text:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        else:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid(f"{what} is not valid base64: {exc}") from exc
    if not raw:
        raise invalid(f"{what} is empty")
    return raw


def decode_image(data: str) -> DecodedImage:
    """Decode a base64 image into an upright RGB PIL image, or raise invalid_input."""
    raw = decode_base64(data, "image", MAX_IMAGE_BYTES)
    try:
        opened = Image.open(io.BytesIO(raw))
        fmt = (opened.format or "").lower()
        if opened.width * opened.height > MAX_IMAGE_PIXELS:
            raise invalid(f"image has more than {MAX_IMAGE_PIXELS} pixels")
        opened.load()
        rgb = (ImageOps.exif_transpose(opened) or opened).convert("RGB")
    except UnidentifiedImageError as exc:
        raise invalid("image could not be decoded: not a known image format") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise invalid(f"image could not be decoded: {exc}") from exc
    if fmt not in IMAGE_FORMATS:
        raise unsupported(f"image format {fmt or 'unknown'!r} is not supported")
    if rgb.width < 1 or rgb.height < 1:
        raise invalid("image has no pixels")
    return DecodedImage(rgb, fmt)


def clamp01(value: float) -> float:
    """A float clamped into [0, 1], rounded to 4 decimals."""
    return round(min(1.0, max(0.0, float(value))), 4)


def box(left: float, top: float, width: float, height: float, w: int, h: int) -> dict[str, Any]:
    """A pixel box as fractions of the image size, clipped to the image."""
    x0 = min(max(left, 0.0), w)
    y0 = min(max(top, 0.0), h)
    x1 = min(max(left + width, 0.0), w)
    y1 = min(max(top + height, 0.0), h)
    return {
        "left": clamp01(x0 / w),
        "top": clamp01(y0 / h),
        "width": clamp01((x1 - x0) / w),
        "height": clamp01((y1 - y0) / h),
    }


def require_text(text: Any, max_chars: int) -> str:
    """The text itself, or invalid_input when it is empty, blank or too long."""
    if not isinstance(text, str) or not text.strip():
        raise invalid("text is empty")
    if len(text) > max_chars:
        raise invalid(f"text is longer than {max_chars} characters")
    return text
