"""Pure helpers the Google service modules share: polygons, raw answers, language codes."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from adapters.kit import box_from_corners, unit
from omnisense.schema import Box, ImageSize, InvalidInput, normalize_language


def score(value: Any) -> float:
    """A Google ``float`` (protobuf float32) as the decimal Google wrote, clipped to [0, 1]:
    ``0.98267895`` rather than float32's ``0.9826789498329163``."""
    return unit(f32(value))


def f32(value: Any) -> float:
    """The shortest decimal that is the same float32 as ``value``."""
    x = float(value)
    packed = struct.pack("<f", x)
    for digits in (6, 7, 8):
        candidate = float(f"{x:.{digits}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return x


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
    """The vendor's answer (a protobuf message) as its JSON, only when the request asks for it."""
    if not include:
        return None
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message)


def enum_name(message: Any, field: str) -> str:
    """The name of an enum field's value (``LEFT_EYE`` for 1), from the message's descriptor."""
    number = getattr(message, field)
    value = message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number.get(number)
    return str(value.name) if value is not None else str(number)


def bcp47(code: str) -> str:
    """A Google language code (``en``, ``en-us``, ``zh-Hant``, ``iw``) as normalized BCP-47."""
    aliases = {"iw": "he", "jw": "jv", "in": "id", "zh-cn": "zh-CN", "zh-tw": "zh-TW"}
    return normalize_language(aliases.get(code.lower(), code))


def nonempty(text: str, field: str = "text") -> str:
    if not text.strip():
        raise InvalidInput(f"the {field} is empty", field=field)
    return text
