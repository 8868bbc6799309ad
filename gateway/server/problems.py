"""The framework's own exceptions as the gateway's errors: one mapping, used everywhere.

litestar raises its ``HTTPException`` family while it routes and reads a request (405
for a wrong method, 400 for a broken multipart body, 413 for a body over its limit),
and its multipart parser lets a ``UnicodeDecodeError`` escape when a binary file is
sent as a plain form field. All of these are the caller's mistakes: they become the
matching ``OmnisenseError`` (so the body's ``status`` and ``type`` agree with the HTTP
status) with the headers the status needs (``Allow`` on 405). The app's exception
handler and the task handler's catch-all both call ``framework_error``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException

from omnisense.schema import (
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    OmnisenseError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnprocessableInput,
    UnsupportedMediaType,
)

_BY_STATUS: dict[int, type[OmnisenseError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: UnprocessableInput,
    429: RateLimited,
}
_PASSED_HEADERS = ("allow", "retry-after")
_DETAILS = {
    404: "no such endpoint; the API is listed at /schema/openapi.json",
    405: "this endpoint does not take {method}; the Allow header lists what it takes",
    413: "the body is over this endpoint's limit of {max_body} bytes",
}


def _facts(request: Request[Any, Any, Any] | None) -> dict[str, Any]:
    """What the detail templates may name: the method, the endpoint's body limit."""
    if request is None:
        return {"method": "this method", "max_body": "the gateway's"}
    try:
        max_body = request.route_handler.resolve_request_max_body_size()
    except Exception:  # no route matched (404, 405): there is no handler to ask
        max_body = None
    return {"method": request.method, "max_body": max_body or "the gateway's"}


NOT_UTF8_PART = (
    "a multipart field is not UTF-8 text: send files as file parts (with a filename in "
    "Content-Disposition), or the bytes as the raw body"
)


def framework_error(
    exc: BaseException, request: Request[Any, Any, Any] | None = None
) -> tuple[OmnisenseError, dict[str, str]] | None:
    """``exc`` as the gateway's error and the headers its answer needs; ``None`` if it is not the caller's fault."""
    if isinstance(exc, OmnisenseError):
        return exc, {}
    if isinstance(exc, UnicodeDecodeError):
        return InvalidInput(NOT_UTF8_PART), {}
    if not isinstance(exc, HTTPException) or not 400 <= exc.status_code < 500:
        return None
    cls = _BY_STATUS.get(exc.status_code, InvalidInput)
    template = _DETAILS.get(exc.status_code)
    detail = template.format(**_facts(request)) if template else str(exc.detail)
    headers = {
        name.title(): str(value) for name, value in (exc.headers or {}).items() if name.lower() in _PASSED_HEADERS
    }
    return cls(detail), headers


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]*)`")


def unprocessable(exc: msgspec.ValidationError, what: str) -> UnprocessableInput:
    """A msgspec validation error as a 422 whose ``field`` is the path msgspec names (``routing.max_cost_usd``)."""
    message = str(exc)
    match = _AT_PATH.search(message)
    path = match.group(1) if match else ""
    reason = message[: match.start()] if match else message
    unknown = _UNKNOWN.match(reason)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return UnprocessableInput(f"{what}: {path + ': ' if path else ''}{reason}", field=path or None)
