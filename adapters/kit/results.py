"""What the kit does to every provider's result, once, so no adapter has to."""

from __future__ import annotations

import msgspec

from omnisense.schema import ImageRequest, OcrResult, TaskRequest, TaskResult

# The list fields of vision results whose items carry a confidence.
_SCORED = ("labels", "objects", "faces", "flags", "lines")


def apply_min_confidence(result: TaskResult, request: TaskRequest) -> TaskResult:
    """Drop the items scored under the request's ``min_confidence`` (OCR text keeps the lines kept).

    The one rule for items the vendor gives no confidence (None): they are kept, since no
    number says they are under the floor. ``min_confidence`` None or 0 drops nothing.
    Vendors that take a threshold get it too (fewer bytes back); this is the one place that
    guarantees it, whatever the vendor did with it."""
    if not isinstance(request, ImageRequest) or not request.min_confidence:
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
