"""Pure translation between normalized requests/results and the model server's JSON.

The model server (``local_models/``) already answers in the normalized shapes of
DESIGN §2, so ``from_vendor`` is a typed decode into the task's result type (its row in
the task table; audio arrives as base64, which msgspec decodes into ``bytes``) that
re-checks every convention. Its routes mirror the task names.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from omnisense.schema import RESULT_TYPES, TABLE, ImageRequest, ImageSize, Media, Task, TaskRequest, TaskResult
from omnisense.schema.requests import request_fields

# The model server's route per task: ``/text/key_phrases`` for ``text.key_phrases``.
ENDPOINTS: dict[Task, str] = {task: "/" + task.value.replace(".", "/") for task in TABLE}
# Request fields the gateway applies itself; the model server never sees them.
GATEWAY_FIELDS = frozenset({"include_raw", "routing", "min_confidence", "stream"})


def to_vendor(request: TaskRequest) -> dict[str, Any]:
    """The request's own fields as JSON (media as base64); the model server ignores what it does not take."""
    body: dict[str, Any] = {}
    for info in request_fields(type(request)):
        value = getattr(request, info.name)
        if info.name in GATEWAY_FIELDS or value is None:
            continue
        body[info.name] = base64.b64encode(value.data).decode() if isinstance(value, Media) else value
    return body


def from_vendor(task: Task, body: bytes, request: TaskRequest) -> TaskResult:
    """Decode (and so validate) the model server's answer for ``task``."""
    result = msgspec.json.decode(body, type=RESULT_TYPES[task])
    if isinstance(request, ImageRequest) and getattr(result, "image", None) is None and request.image.width:
        size = ImageSize(request.image.width, request.image.height or 0)
        result = msgspec.structs.replace(result, image=size)
    return result
