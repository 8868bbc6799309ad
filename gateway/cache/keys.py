"""Content addressing: one key per (policy, task, normalized parameters, input bytes, pinned provider,
the providers the caller's key may use, the caller's tenant: its API key's id unless the route
shares its cache).

The input's bytes enter as their SHA-256 (media) or as the text itself hashed with the rest;
routing hints other than the pinned provider (``max_cost_usd``) do not change the answer and
are left out, and so is nothing else: ``include_raw``, ``max_results``, the language, the
voice and format all change the answer and all are part of the key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from omnisense.schema import Media, Task, TaskRequest


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


def cache_key(
    policy: str,
    task: Task,
    request: TaskRequest,
    pinned: str | None,
    allowed: frozenset[str] | None = None,
    *,
    route: list[str] | None = None,
    tenant: str | None = None,
) -> str:
    """A hex SHA-256 naming the answer ``request`` gets under ``policy`` (and ``pinned``).

    ``allowed`` (the providers the caller's key may use) is part of the key too, so that a
    key limited to some providers never gets an answer that another provider gave. ``route``
    (the route's pattern and candidates) too: a reload that changes them starts afresh.
    ``tenant`` (the caller's key id; None on a route with ``cache: {shared: true}``, or on a
    gateway without keys) keeps one tenant's answers from another."""
    doc = {
        "v": 2, "tenant": tenant, "policy": policy, "task": task.value, "pinned": pinned,
        "allowed": sorted(allowed) if allowed is not None else None, "route": route,
        "request": _normalized(request),
    }  # fmt: skip
    return hashlib.sha256(msgspec.json.encode(doc, order="sorted")).hexdigest()
