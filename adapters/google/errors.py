"""Map what the Google SDKs raise to the gateway's error tree (DESIGN §3).

Over REST a Google error is an HTTP status with the body
``{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED", "details": [...]}}``,
which ``google.api_core`` raises as ``GoogleAPICallError`` subclasses (``BadRequest``,
``Forbidden``, ``TooManyRequests``, ``ServiceUnavailable`` ...) carrying ``code`` (the HTTP
status), ``message``, ``reason`` (ErrorInfo) and the ``response``. The status decides the
class (``adapters.kit.error_for_status``) with Google's refinements:

- 400 with reason ``API_KEY_INVALID`` (an unusable API key is answered 400) -> UpstreamAuth;
- 400 whose message says Google cannot serve this input's language -> Unsupported, so the
  dispatcher falls back to the next candidate (as Azure's ``UnsupportedLanguageCode`` does).
  The gateway has already checked the code is well-formed BCP-47, so these mean "not this
  provider": Natural Language's "The language xx is not supported for ... analysis",
  "unsupported language" (pair), "... does not support ... language", Speech's "bad
  language code", Translation's "Target/Source language is invalid" (``UNSUPPORTED_400``);
- any other 400 ``INVALID_ARGUMENT`` -> InvalidInput (no fallback: the input is bad everywhere);
- 429 ``RESOURCE_EXHAUSTED`` -> UpstreamThrottled with the answer's ``Retry-After``;
- 404 (a Vertex endpoint or Translation location that does not exist) -> UpstreamBadResponse.

``requests`` timeouts -> UpstreamTimeout; connection failures -> UpstreamUnavailable; a body
that is not the documented JSON (protobuf ``ParseError``) -> UpstreamBadResponse; missing or
refused credentials (google-auth) -> UpstreamAuth.

An error inside a 200 (Vision's ``responses[i].error``, a ``google.rpc.Status`` whose
``code`` is a gRPC code) is an error with fallback, never an empty result: see
``status_error``.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.kit import error_for_status, parse_retry_after
from omnisense.schema import (
    InvalidInput,
    OmnisenseError,
    PayloadTooLarge,
    Unsupported,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

# A 400 that means "this provider cannot serve this input" rather than "the input is wrong".
UNSUPPORTED_400 = re.compile(
    r"language \S+ is not supported|not supported for (the )?language|unsupported language"
    r"|does not support (the )?(request )?languages?|bad language code|(target|source) language (code )?is invalid",
    re.IGNORECASE,
)
AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED", "ACCESS_TOKEN_EXPIRED"})

# gRPC status codes inside a 200 (google.rpc.Code) -> error class. INVALID_ARGUMENT (3) is
# "Bad image data" and the like for an image the gateway already sniffed as valid: another
# vendor may well read it, so it falls back (UpstreamBadResponse) rather than failing the request.
RPC_CODES: dict[int, type[OmnisenseError]] = {
    4: UpstreamTimeout,  # DEADLINE_EXCEEDED
    7: UpstreamAuth,  # PERMISSION_DENIED
    8: UpstreamThrottled,  # RESOURCE_EXHAUSTED
    13: UpstreamUnavailable,  # INTERNAL
    14: UpstreamUnavailable,  # UNAVAILABLE
    16: UpstreamAuth,  # UNAUTHENTICATED
}


def status_error(code: int, message: str, where: str = "google") -> OmnisenseError:
    """The error for a ``google.rpc.Status`` found inside a 200 answer (always with fallback)."""
    cls = RPC_CODES.get(int(code), UpstreamBadResponse)
    return cls(f"{where}: error inside a 200 answer (code {code}): {message}"[:500])


def _api_error(exc: Any) -> OmnisenseError:
    status = int(getattr(exc, "code", 0) or 0)
    message = str(getattr(exc, "message", "") or exc)
    reason = str(getattr(exc, "reason", "") or "")
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    retry_after = parse_retry_after(str(headers.get("Retry-After") or headers.get("retry-after") or "")) or None
    detail = f"{message} ({reason})" if reason else message
    if reason in AUTH_REASONS or "API key not valid" in message:
        return UpstreamAuth(f"google: HTTP {status}: {detail}"[:500])
    if status == 413:
        return PayloadTooLarge(f"google: {detail}"[:500])
    if status == 400 and UNSUPPORTED_400.search(message):
        return Unsupported(f"google: {detail}"[:500])
    if status == 400:
        return InvalidInput(f"google: {detail}"[:500])
    if status == 404:
        return UpstreamBadResponse(f"google: HTTP 404: {detail}"[:500])
    return error_for_status(status or 500, detail, provider="google", retry_after_s=retry_after)


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for what a Google SDK raised, or None."""
    import requests
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax
    from google.protobuf.json_format import ParseError

    if isinstance(exc, gx.GoogleAPICallError):
        return _api_error(exc)
    if isinstance(exc, requests.Timeout):
        return UpstreamTimeout(f"google: timed out: {exc}"[:500])
    if isinstance(exc, requests.ConnectionError | ax.TransportError):
        return UpstreamUnavailable(f"google: cannot connect: {exc}"[:500])
    if isinstance(exc, requests.RequestException):
        return UpstreamUnavailable(f"google: HTTP client error: {exc}"[:500])
    if isinstance(exc, ax.GoogleAuthError):
        return UpstreamAuth(f"google: credentials not usable: {exc}"[:500])
    if isinstance(exc, ParseError):
        return UpstreamBadResponse(f"google: malformed response: {exc}"[:500])
    if isinstance(exc, gx.GoogleAPIError):
        return UpstreamUnavailable(f"google: {type(exc).__name__}: {exc}"[:500])
    return None
