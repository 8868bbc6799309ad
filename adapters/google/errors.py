"""Map what the Google SDKs raise to the gateway's error tree (DESIGN §3; the table is in
``adapters/google/README.md``, "Errors").

``google.api_core`` raises an error answer as a ``GoogleAPICallError`` carrying ``code``
(the HTTP status), ``message``, ``reason`` (ErrorInfo) and the ``response``: the status
decides (``adapters.kit.error_for_status``), with Google's refinements in ``_api_error``
(an unusable API key is answered 400; a 404 is a Vertex endpoint or Translation location
that does not exist). An error inside a 200 (a ``google.rpc.Status``) is ``status_error``.
A 400 whose message says Google cannot serve this input's language (``UNSUPPORTED_400``) is
Unsupported, so the dispatcher falls back to the next candidate, as for Azure's
``UnsupportedLanguageCode``; any other 400 stays InvalidInput (the input is bad everywhere).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from adapters.kit.errors import Rule, by_class, error_for_status, retry_after
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
    wait = retry_after(getattr(getattr(exc, "response", None), "headers", None)) or None
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
    return error_for_status(status or 500, detail, provider="google", retry_after_s=wait)


@functools.cache
def _rules() -> tuple[Rule, ...]:
    """What the Google libraries raise besides an API error answer, most specific first."""
    import requests
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax
    from google.protobuf.json_format import ParseError

    return (
        (requests.Timeout, UpstreamTimeout, "timed out"),
        ((requests.ConnectionError, ax.TransportError), UpstreamUnavailable, "cannot connect"),
        (requests.RequestException, UpstreamUnavailable, "HTTP client error"),
        (ax.GoogleAuthError, UpstreamAuth, "credentials not usable"),
        (ParseError, UpstreamBadResponse, "malformed response"),
        (gx.GoogleAPIError, UpstreamUnavailable, None),
    )


def classify(exc: BaseException) -> OmnisenseError | None:
    """``mapped_errors`` hook: the gateway error for what a Google SDK raised, or None."""
    from google.api_core.exceptions import GoogleAPICallError

    if isinstance(exc, GoogleAPICallError):
        return _api_error(exc)
    return by_class(exc, "google", _rules())
