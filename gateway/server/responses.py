"""Render envelopes, audio and problems, with the headers every answer carries.

Whatever a task endpoint answers is an ``AnswerResponse``: a two-message ASGI app with
its headers encoded once, which the task route sends as is. A litestar ``Response`` would
be converted into an ``ASGIResponse`` (headers copied into a mutable header set, defaults
merged, cookies encoded) on every request, for headers known in full right here. The
app's exception handler, which litestar calls, gets a litestar ``Response`` for a problem
(``problem_response``); the task route sends the same problem as an ``AnswerResponse``
(``problem_answer``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response
from litestar.types import Receive, Scope, Send

from gateway.trace import RequestTrace
from omnisense.schema import Envelope, OmnisenseError, Problem, SynthesizeResult, TaskResult

_encoder = msgspec.json.Encoder()
PROBLEM_JSON = "application/problem+json"


def trace_headers(trace: RequestTrace) -> dict[str, str]:
    headers = {
        "X-Request-Id": trace.record.request_id,
        "Server-Timing": f"gateway;dur={trace.overhead_ms():.3f}, upstream;dur={trace.upstream_ms:.3f}",
    }
    if trace.record.provider:
        headers["X-Omnisense-Provider"] = trace.record.provider
    return headers


class AnswerResponse:
    """An ASGI app that sends one complete answer: status, encoded headers, body."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, body: bytes, media_type: str, headers: dict[str, str], status_code: int = 200) -> None:
        self.body = body
        self.status_code = status_code
        encoded = [(b"content-type", media_type.encode("latin-1")), (b"content-length", b"%d" % len(body))]
        encoded += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.headers = encoded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Any = {"type": "http.response.start", "status": self.status_code, "headers": self.headers}
        await send(start)
        body: Any = {"type": "http.response.body", "body": self.body, "more_body": False}
        await send(body)


def envelope_response(envelope: Envelope[TaskResult], trace: RequestTrace, *, as_audio: bool) -> AnswerResponse:
    headers = trace_headers(trace)
    if envelope.cache:
        headers["X-Omnisense-Cache"] = envelope.cache
    result = envelope.result
    if as_audio and isinstance(result, SynthesizeResult):
        headers.update(
            {
                "X-Omnisense-Model": envelope.model,
                "X-Omnisense-Cost-Usd": f"{envelope.usage.cost_usd:.8f}",
                "X-Omnisense-Units": f"{envelope.usage.units:g} {envelope.usage.unit}",
            }
        )
        return AnswerResponse(result.audio, result.media_type, headers)
    return AnswerResponse(_encoder.encode(envelope), "application/json", headers)


def problem_response(
    exc: OmnisenseError, trace: RequestTrace | None, request_id: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    body, all_headers = _problem(exc, trace, request_id, headers)
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=all_headers)


def problem_answer(
    exc: OmnisenseError, trace: RequestTrace | None, request_id: str, headers: dict[str, str] | None = None
) -> AnswerResponse:
    body, all_headers = _problem(exc, trace, request_id, headers)
    return AnswerResponse(body, PROBLEM_JSON, all_headers, exc.status)


def _problem(
    exc: OmnisenseError, trace: RequestTrace | None, request_id: str, headers: dict[str, str] | None
) -> tuple[bytes, dict[str, str]]:
    """A problem+json body and the headers its answer carries."""
    problem = Problem(
        type=exc.type_uri,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        request_id=request_id,
        field=exc.field,
        attempts=list(trace.record.attempts) if trace else [],
    )
    headers = {**(trace_headers(trace) if trace else {"X-Request-Id": request_id}), **(headers or {})}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="omnisense"'
    if exc.retry_after_s and exc.status in (429, 503):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return _encoder.encode(problem), headers
