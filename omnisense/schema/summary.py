"""How one answer is summarized for the request log and the drift watch (DESIGN §6)."""

from __future__ import annotations

import msgspec


class OutputSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    top: str | None = None  # top label, sentiment label, detected language, ...
    confidence: float | None = None  # of ``top``
    items: int | None = None  # labels, faces, entities, words ...
