"""The response envelope every JSON answer shares, and the problem+json body."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

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


CONSENSUS = (
    "A fan-out only (the request's `providers`, or its route's `fanout`): the answers merged by the task's"
    ' consensus rule, in the task\'s result shape (the same as `result`); `provider` is then "fanout"'
)
AGREEMENT = (
    "A fan-out only: the mean over the providers that answered of each answer's agreement with the consensus,"
    " from 0 to 1 (null when fewer than two answered)"
)
ANSWERS = "A fan-out only: every provider's answer side by side, with its usage, latency and error, if any"


class AnswerError(msgspec.Struct, frozen=True, kw_only=True):
    """Why one provider of a fan-out gave no answer: its problem's type, title, status and detail."""

    type: str
    title: str
    status: int
    detail: str


class Answer(msgspec.Struct, Generic[R], kw_only=True):
    """One provider's answer in a fan-out, side by side with the others (every field always present)."""

    provider: str
    model: str
    outcome: Outcome  # ok | error | timeout | skipped (its circuit was open)
    result: R | None
    usage: Usage | None  # what this call cost; null when it gave no answer
    latency_ms: float  # this provider's calls, retries included
    agreement: float | None  # with the consensus, in [0, 1] (1: the same answer); null when it gave none
    error: AnswerError | None


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
    # A fan-out only (``provider`` is then "fanout"): ``result`` is the consensus, named again here,
    # ``agreement`` the mean of the answers' agreement with it, ``answers`` every provider's.
    consensus: Annotated[R | None, msgspec.Meta(description=CONSENSUS)] = None
    agreement: Annotated[float | None, msgspec.Meta(description=AGREEMENT)] = None
    answers: Annotated[list[Answer[R]] | None, msgspec.Meta(description=ANSWERS)] = None


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
