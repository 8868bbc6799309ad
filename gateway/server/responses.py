"""Render envelopes, audio and problems, with the headers every answer carries."""

from __future__ import annotations

import msgspec
from litestar import Response

from gateway.schema import Envelope, OmnisenseError, Problem, SynthesizeResult, TaskResult
from gateway.trace import RequestTrace

_encoder = msgspec.json.Encoder()
PROBLEM_JSON = "application/problem+json"


def trace_headers(trace: RequestTrace) -> dict[str, str]:
    headers = {
        "X-Request-Id": trace.request_id,
        "Server-Timing": f"gateway;dur={trace.overhead_ms():.3f}, upstream;dur={trace.upstream_ms:.3f}",
    }
    if trace.provider:
        headers["X-Omnisense-Provider"] = trace.provider
    return headers


def envelope_response(envelope: Envelope[TaskResult], trace: RequestTrace, *, as_audio: bool) -> Response[bytes]:
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
        return Response(result.audio, status_code=200, media_type=result.media_type, headers=headers)
    return Response(_encoder.encode(envelope), status_code=200, media_type="application/json", headers=headers)


def problem_response(
    exc: OmnisenseError, trace: RequestTrace | None, request_id: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    problem = Problem(
        type=exc.type_uri,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        request_id=request_id,
        field=exc.field,
        attempts=list(trace.attempts) if trace else [],
    )
    headers = {**(trace_headers(trace) if trace else {"X-Request-Id": request_id}), **(headers or {})}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="omnisense"'
    if exc.retry_after_s and exc.status in (429, 503):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return Response(_encoder.encode(problem), status_code=exc.status, media_type=PROBLEM_JSON, headers=headers)
