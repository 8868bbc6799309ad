"""The response envelope every JSON answer shares, and the problem+json body."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import msgspec

from omnisense.schema.results import TaskResult

R = TypeVar("R")

Outcome = Literal["ok", "error", "timeout", "skipped", "cancelled"]


class Usage(msgspec.Struct, frozen=True):
    units: float
    unit: str
    cost_usd: float


class Attempt(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One try of one provider: what happened and how long it took."""

    provider: str
    outcome: Outcome
    latency_ms: float
    error_type: str | None = None
    detail: str | None = None
    hedged: bool = False


class Envelope(msgspec.Struct, Generic[R], kw_only=True, omit_defaults=True):
    request_id: str
    task: str
    provider: str
    model: str
    result: R
    usage: Usage
    latency_ms: float
    attempts: list[Attempt] = msgspec.field(default_factory=list)
    raw: Any = None
    cache: Literal["hit", "miss", "bypass"] | None = None  # set when the route caches answers


AnyEnvelope = Envelope[TaskResult]


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document with the gateway's extensions."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str
    field: str | None = None
    attempts: list[Attempt] = msgspec.field(default_factory=list)
