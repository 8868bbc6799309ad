"""How a task endpoint reads its request and writes its answer: the native REST dialect,
and the base that other dialects (``gateway.server.openai``) specialize.

``serve_task`` owns everything else (keys, scopes, rate limits, routing, budgets, the
cache, one log record, ``X-Request-Id``); a dialect only decodes the body into a
``Call``, may run more than one task request through the same dispatcher (``run``), and
renders the answer or the error in its own shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from gateway.server.inputs import decode_request
from gateway.server.quote import QUERY
from gateway.server.responses import AnswerResponse, envelope_response, problem_answer
from gateway.server.runtime import Runtime
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, InputKind, OmnisenseError, Task, TaskRequest, TaskResult, spec_of

# A video endpoint also reads ``webhook_url``: where a clip that becomes a job is announced.
VIDEO_QUERY = QUERY | {"webhook_url"}
RunOne = Callable[[Task, TaskRequest], Awaitable[Envelope[TaskResult]]]


@dataclass(frozen=True, slots=True)
class Call:
    """A decoded request: the task request that routing, scopes and the log read, the
    tasks it needs beyond its endpoint's own (each checked against the key), and what
    the dialect keeps for its answer."""

    request: TaskRequest
    also: tuple[Task, ...] = ()
    state: Any = None
    notes: list[str] = field(default_factory=list)  # for the record's decisions


class Dialect:
    """The native dialect: the task table's request bodies, the envelope, problem+json."""

    name: str | None = None  # noted in the record's decisions; None: native

    async def decode(
        self, task: Task, request: Request[Any, Any, Any], runtime: Runtime, headers: Mapping[str, str]
    ) -> Call:
        limits = runtime.config.limits
        reserved = VIDEO_QUERY if spec_of(task).input is InputKind.VIDEO else QUERY
        return Call(await decode_request(task, request, limits, runtime.fetcher, headers=headers, reserved=reserved))

    def run(self, task: Task, call: Call, run_one: RunOne) -> Awaitable[Any]:
        """The work of the call (native: its one task request); a dialect may run several."""
        return run_one(task, call.request)

    def answer(
        self, task: Task, answer: Any, call: Call, trace: RequestTrace, headers: Mapping[str, str]
    ) -> AnswerResponse:
        as_audio = spec_of(task).answers_audio and wants_audio(headers)
        return envelope_response(answer, trace, as_audio=as_audio)

    def problem(
        self, err: OmnisenseError, trace: RequestTrace | None, request_id: str, extra: dict[str, str]
    ) -> AnswerResponse:
        return problem_answer(err, trace, request_id, extra)


def wants_audio(headers: Mapping[str, str]) -> bool:
    accept = headers.get("accept", "")
    return "application/json" not in accept


NATIVE = Dialect()
