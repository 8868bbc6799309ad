"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with the
status the ``openai`` SDK turns into its usual exception (``BadRequestError`` for input
the gateway refuses, ``NotFoundError`` for an unknown model, ``RateLimitError`` for a
rate limit or a budget, ``AuthenticationError``, ``PermissionDeniedError``, ...)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from gateway.server.problems import framework_error
from gateway.server.responses import AnswerResponse, trace_headers
from gateway.server.tasks import request_id_of
from gateway.trace import RequestTrace
from omnisense.schema import BudgetExceeded, InternalError, OmnisenseError

_encoder = msgspec.json.Encoder()
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_CODES = {401: "invalid_api_key", 403: "permission_denied", 413: "payload_too_large", 429: "rate_limit_exceeded"}


def error_body(err: OmnisenseError) -> tuple[int, bytes]:
    """The status and body of ``err`` in OpenAI's shape; 415 and 422 (input the gateway
    refuses) are 400 there, as OpenAI answers a request it cannot take."""
    status = 400 if err.status in (415, 422) else err.status
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = _CODES.get(status)
    if isinstance(err, BudgetExceeded):
        kind = code = "insufficient_quota"
    elif status == 404 and err.field == "model":
        code = "model_not_found"
    elif status >= 500:
        code = type(err).__name__
    body = {"error": {"message": err.detail, "type": kind, "param": err.field, "code": code}}
    return status, _encoder.encode(body)


def _headers(err: OmnisenseError, base: dict[str, str]) -> dict[str, str]:
    headers = dict(base)
    if err.retry_after_s and err.status in (429, 503):
        headers["Retry-After"] = str(max(1, round(err.retry_after_s)))
    return headers


def error_answer(
    err: OmnisenseError, trace: RequestTrace | None, request_id: str, extra: dict[str, str]
) -> AnswerResponse:
    status, body = error_body(err)
    base = {**(trace_headers(trace) if trace else {"X-Request-Id": request_id}), **extra}
    return AnswerResponse(body, "application/json", _headers(err, base), status)


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The exception handler of the dialect's plain routes (``/v1/models``)."""
    known = framework_error(exc, request)
    err, extra = known if known is not None else (InternalError("an internal error occurred"), {})
    status, body = error_body(err)
    headers = _headers(err, {"X-Request-Id": request_id_of(request), **extra})
    return Response(body, status_code=status, media_type="application/json", headers=headers)
