"""Pure helpers the Google service modules share: polygons, raw answers, language codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.kit import box_from_corners
from gateway.schema import Box, ImageSize, InvalidInput, normalize_language


def vertices_box(vertices: Iterable[Any], size: ImageSize | None) -> Box | None:
    """The upright box around pixel ``vertices`` (``{x, y}``; a zero coordinate is omitted on
    the wire and reads as 0), as fractions of ``size``; None without vertices or size."""
    points = [(float(getattr(v, "x", 0) or 0), float(getattr(v, "y", 0) or 0)) for v in vertices]
    if not points or size is None:
        return None
    return box_from_corners(points, size)


def normalized_box(vertices: Iterable[Any]) -> Box | None:
    """The upright box around ``normalizedVertices`` (already fractions of the image)."""
    points = [(float(getattr(v, "x", 0) or 0), float(getattr(v, "y", 0) or 0)) for v in vertices]
    return box_from_corners(points) if points else None


def raw(message: Any, include: bool) -> Any:
    """The vendor's answer as JSON-ready data, only when the request asks for it."""
    if not include:
        return None
    return type(message).to_dict(message, preserving_proto_field_name=False)


def bcp47(code: str) -> str:
    """A Google language code (``en``, ``en-us``, ``zh-Hant``, ``iw``) as normalized BCP-47."""
    aliases = {"iw": "he", "jw": "jv", "in": "id", "zh-cn": "zh-CN", "zh-tw": "zh-TW"}
    return normalize_language(aliases.get(code.lower(), code))


def nonempty(text: str, field: str = "text") -> str:
    if not text.strip():
        raise InvalidInput(f"the {field} is empty", field=field)
    return text
