"""What the kit does to every provider's result, once, so no adapter has to."""

from __future__ import annotations

import msgspec

from omnisense.schema import ImageRequest, ObjectsResult, OcrResult, TaskRequest, TaskResult, VideoRequest

# The list fields of vision and video results whose items carry a confidence.
_SCORED = ("labels", "objects", "faces", "flags", "lines", "segments", "frames")


def apply_classes(result: TaskResult, request: TaskRequest) -> TaskResult:
    """Keep only the objects of the request's ``classes`` (names compared case-insensitively),
    whatever the vendor answered: the one place that guarantees the option for every provider."""
    if not isinstance(request, ImageRequest) or not request.classes or not isinstance(result, ObjectsResult):
        return result
    wanted = {c.strip().lower() for c in request.classes}
    kept = [o for o in result.objects if o.name.strip().lower() in wanted]
    return result if len(kept) == len(result.objects) else msgspec.structs.replace(result, objects=kept)


def apply_min_confidence(result: TaskResult, request: TaskRequest) -> TaskResult:
    """Drop the items scored under the request's ``min_confidence`` (OCR text keeps the lines kept).

    The one rule for items the vendor gives no confidence (None): they are kept, since no
    number says they are under the floor. ``min_confidence`` None or 0 drops nothing.
    Vendors that take a threshold get it too (fewer bytes back); this is the one place that
    guarantees it, whatever the vendor did with it."""
    if not isinstance(request, ImageRequest | VideoRequest) or not request.min_confidence:
        return result
    floor = request.min_confidence
    for field in _SCORED:
        items = getattr(result, field, None)
        if items is None:
            continue
        kept = [item for item in items if item.confidence is None or item.confidence >= floor]
        if len(kept) == len(items):
            return result
        if isinstance(result, OcrResult):
            return msgspec.structs.replace(result, lines=kept, text="\n".join(line.text for line in kept))
        return msgspec.structs.replace(result, **{field: kept})
    return result
