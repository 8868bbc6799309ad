"""Content addressing: one key per (policy, task, normalized parameters, input bytes, pinned provider).

The input's bytes enter as their SHA-256 (media) or as the text itself hashed with the rest;
routing hints other than the pinned provider (``max_cost_usd``) do not change the answer and
are left out, and so is nothing else: ``include_raw``, ``max_results``, the language, the
voice and format all change the answer and all are part of the key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from gateway.schema import Media, Task, TaskRequest


def _normalized(request: TaskRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in request.__struct_fields__:
        value = getattr(request, name)
        if name == "routing":
            continue
        if isinstance(value, Media):
            out[name] = {"sha256": hashlib.sha256(value.data).hexdigest(), "uri": value.uri}
        else:
            out[name] = msgspec.to_builtins(value)
    return out


def cache_key(policy: str, task: Task, request: TaskRequest, pinned: str | None) -> str:
    """A hex SHA-256 naming the answer ``request`` gets under ``policy`` (and ``pinned``)."""
    doc = {"v": 1, "policy": policy, "task": task.value, "pinned": pinned, "request": _normalized(request)}
    return hashlib.sha256(msgspec.json.encode(doc, order="sorted")).hexdigest()
