"""Pure helpers the Azure service modules share: image checks and limits, raw answers."""

from __future__ import annotations

from typing import Any

from adapters.kit import checked_image, image_size
from omnisense.schema import ImageSize, Media, PayloadTooLarge, Unsupported

# Computer Vision v3.2 (analyze and Read): JPEG, PNG, GIF, BMP (Read also TIFF, PDF);
# under 4 MB; between 50x50 and 10000x10000 pixels (analyze), 50x50 and 10000x10000 (Read).
VISION_FORMATS = frozenset({"jpeg", "png", "gif", "bmp"})
READ_FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "tiff", "pdf"})
VISION_MAX_BYTES = 4 * 1024 * 1024
READ_MAX_BYTES = 500 * 1024 * 1024  # S1 tier; the gateway's own upload limit is lower
MIN_SIDE = 50
MAX_SIDE = 10_000


def check_image(media: Media, formats: frozenset[str], max_bytes: int, service: str) -> bytes:
    """The bytes to send, after Azure's documented limits (checked before the call)."""
    if media.uri:
        raise Unsupported(f"{service} reads uploaded bytes, not {media.uri[:60]!r}", field="image")
    data = checked_image(media, service, formats, max_bytes)
    if media.width and media.height:
        if min(media.width, media.height) < MIN_SIDE:
            raise Unsupported(
                f"{service} needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {media.width}x{media.height}",
                field="image",
            )
        if max(media.width, media.height) > MAX_SIDE:
            raise PayloadTooLarge(f"{service} takes images up to {MAX_SIDE} pixels a side", field="image")
    return data


def analyzed_size(response: dict[str, Any], media: Media) -> ImageSize | None:
    """The image size Azure measured (``metadata``), else what the gateway sniffed."""
    meta = response.get("metadata") or {}
    if meta.get("width") and meta.get("height"):
        return ImageSize(int(meta["width"]), int(meta["height"]))
    return image_size(media)


def raw(response: Any, include: bool) -> Any:
    return response if include else None
